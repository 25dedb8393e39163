"""Learned layer: river models fitted to real river paths (World Data Bank II).

Kept light on purpose: importing ``learned`` (or ``learned.data``) imports no torch; the
modules that need it (``learned.pretrained``, ``learned.baselines``, ``learned.models``, ...)
import it themselves, through ``learned._torch``: without torch they raise
``ModuleNotFoundError`` naming the commands that install it (from a checkout,
``pip install -e ".[learned]"``; without a GPU, the CPU wheel from PyTorch's CPU index).

Games sample the shipped models without torch: :mod:`learned.runtime` (numpy and numba)
runs them from non-executable weight files, and ``rivers="learned:NAME"`` and
``meanders="learned:NAME"`` use it. ``learned.score(paths)`` rates how river-like any
polylines are (:mod:`learned.score`, torch); it is imported on first use, so ``import
learned`` stays free of torch.
"""


def __getattr__(name):
    if name == "score":                   # lazily: learned.score(paths) is callable
        import importlib
        return importlib.import_module(".score", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
