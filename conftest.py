"""pytest's root settings: doctests of modules whose optional dependencies are missing are
not collected (their tests in ``tests/`` skip, saying why)."""

import importlib.util

collect_ignore = []
if importlib.util.find_spec("dask") is None or importlib.util.find_spec("zarr") is None:
    collect_ignore.append("procgen/worldstore.py")      # the scale extra: dask, zarr
