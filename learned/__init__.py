"""Learned layer: river models fitted to real river paths (World Data Bank II).

Kept light on purpose: importing ``learned`` (or ``learned.data``) imports no torch; the
modules that need it (``learned.baselines``, ``learned.models``, ...) import it themselves.
"""
