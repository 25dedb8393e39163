"""Where the shipped assets live: ``assets/`` beside the packages in a source checkout, or
``<prefix>/share/procgen-levels/`` after a non-editable ``pip install .`` (setup.cfg's
``data_files`` copy the dataset and the weights there)."""

from __future__ import annotations

import site
import sys
from pathlib import Path

__all__ = ["asset_dir"]

_CHECKOUT = Path(__file__).resolve().parent.parent / "assets"


def asset_dir(kind: str) -> Path:
    """The folder of one kind of asset (``"rivers"`` or ``"models"``): the first that exists
    of the checkout's, the environment's and the user's; the checkout's if none does.

    >>> asset_dir("models").name
    'models'
    """
    prefixes = [sys.prefix, getattr(site, "USER_BASE", None)]
    candidates = [_CHECKOUT / kind] + [Path(p) / "share" / "procgen-levels" / kind
                                       for p in prefixes if p]
    return next((c for c in candidates if c.is_dir()), candidates[0])
