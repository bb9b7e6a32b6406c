"""Plain Python that talks to Puter: the client, its errors, and what it reads and sends.

This wing never imports IPython, ipywidgets, markdown or nh3, nor anything of
:mod:`puter_magic.notebook`; a test proves it by importing it with those blocked.
"""
