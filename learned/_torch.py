"""torch for the parts of ``learned`` that need it, or an error that says how to install it.

Every torch-needing module of ``learned`` imports torch through here (``from ._torch import
torch``), so that without torch ``from learned import pretrained`` (or ``baselines``,
``models``, ``train``, ...) fails with the commands that fix it rather than a bare
``No module named 'torch'``: a ``ModuleNotFoundError`` (an ``ImportError``) with
``name='torch'`` and :data:`INSTALL_HINT`. This module itself imports without torch, so
code that only wants the hint (the viewer) can read it.

>>> from learned._torch import TORCH_PIN, INSTALL_HINT
>>> TORCH_PIN
'torch==2.13.0'
>>> 'pip install -e ".[learned]"' in INSTALL_HINT
True
"""

from __future__ import annotations

import sys

__all__ = ["TORCH_PIN", "CPU_INDEX", "INSTALL_HINT", "missing_torch_error"]

#: The torch that the ``learned`` extra pins (setup.cfg; a test keeps the two equal).
TORCH_PIN = "torch==2.13.0"
#: PyTorch's index of CPU-only wheels (the default Linux wheels bundle CUDA, gigabytes).
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
#: What to run. The project is on no package index, so the extra is installed from a
#: checkout, never as ``procgen-levels[learned]``.
INSTALL_HINT = (f'from a checkout run `pip install -e ".[learned]"` (or `pip install '
                f'".[learned]"`); on a machine without a GPU, first get the CPU wheel from '
                f"PyTorch's CPU index: `pip install {TORCH_PIN} --index-url {CPU_INDEX}`")


def missing_torch_error(what: str = "the learned layer") -> ModuleNotFoundError:
    """The error raised when ``what`` needs torch and torch is not installed.

    >>> err = missing_torch_error("learned.pretrained")
    >>> err.name, str(err).split(":")[0]
    ('torch', 'learned.pretrained needs torch, which is not installed')
    """
    return ModuleNotFoundError(f"{what} needs torch, which is not installed: {INSTALL_HINT}",
                               name="torch")


def __getattr__(name: str):
    # ``from ._torch import torch`` lands here: torch is imported on first use, and this
    # module stays importable without it.
    if name != "torch":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        import torch
    except ModuleNotFoundError as exc:
        if exc.name != "torch":      # torch present but broken: keep its own error
            raise
        # The importing module's frame: no Python frame lies between it and this call.
        what = sys._getframe(1).f_globals.get("__name__", "the learned layer")
        raise missing_torch_error(what) from None
    globals()["torch"] = torch
    return torch
