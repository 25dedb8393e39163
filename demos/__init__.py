"""Demos: the pygame viewer and short, single-idea scripts (see demos/README.md).

* ``python -m demos.explore``: explore landscapes (also ``procgen view``)
* ``python -m demos.coin_flip``: the coin-flip river walker, step by step
* ``python -m demos.octaves``: fractal noise, one octave at a time
* ``python -m demos.tiny_game``: a character walking a Level, fording rivers

Importing ``demos`` imports neither pygame nor torch; each demo needs the ``viewer`` extra.
Each also runs headless: ``--frames N --screenshot PNG`` (``demos._cli``).
"""
