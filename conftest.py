"""pytest's root settings: doctests of modules whose optional dependencies are missing are
not collected (their tests in ``tests/`` skip, saying why). The learned layer's doctests
need torch (the ``learned`` and ``dev`` extras install it); without it only the modules
that never import torch are collected."""

import importlib.util
from pathlib import Path

collect_ignore = []
if importlib.util.find_spec("dask") is None or importlib.util.find_spec("zarr") is None:
    collect_ignore.append("procgen/worldstore.py")      # the scale extra: dask, zarr
if importlib.util.find_spec("torch") is None:                # the learned extra
    # the modules that import, and whose examples run, without torch
    _NO_TORCH = {"__init__.py", "_assets.py", "_polylines.py", "_progress.py", "_rivers.py",
                 "_wdb.py", "data.py", "meanders.py", "placement.py"}
    _learned = Path(__file__).resolve().parent / "learned"
    collect_ignore += [str(p.relative_to(_learned.parent)) for p in _learned.glob("*.py")
                       if p.name not in _NO_TORCH]
    collect_ignore += ["learned/models"]
