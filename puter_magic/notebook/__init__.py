"""What a notebook shows and remembers: the magics, their flows, and the displays.

The only wing that knows IPython. It uses :mod:`puter_magic.api`; nothing below uses it.
"""
