"""The classroom: a teacher's rules for a notebook, applied where each request is about to be sent.

:mod:`.policy` reads the rules (the notebook's metadata, the site file), :mod:`.gate` admits or
refuses each request against them, :mod:`.tutor` is tutor mode, :mod:`.log` the teacher's log and
the replies' output metadata, and :mod:`.handout` the ``puter-classroom`` command. ``%load_ext``
reads the rules with :mod:`.policy` alone; the gate loads with the first magic that asks.
"""
