"""The torch ``Dataset`` of river turning angles (kept apart so ``learned.data`` needs no torch).

>>> from learned.data import RiverDataset
>>> ds = RiverDataset("val")
>>> x, y = ds[0]
>>> tuple(x.shape), tuple(y.shape), x.dtype
((62,), (2,), torch.float32)
"""

from __future__ import annotations

import numpy as np
from ._torch import torch
from torch.utils.data import Dataset

from . import _rivers as _data

__all__ = ["RiverDataset"]


class RiverDataset(Dataset):
    """``(turning angles (T-2,), y (2,))`` pairs of one split, float32 tensors.

    ``y`` is ``(sinuosity, log10 length_km)`` standardised with the train split's statistics
    (:func:`learned.data.encode_y`).

    Parameters
    ----------
    split : {'train', 'val', 'test', 'all'}, optional
        Default 'train'.
    path : path, optional
        Dataset file; default the shipped one.
    """

    def __init__(self, split: str = "train", *, path=None):
        self.rivers = _data.load_rivers(split, path=path)
        self.x = torch.from_numpy(np.array(self.rivers.turns, dtype=np.float32))   # (N, T-2)
        self.y = torch.from_numpy(np.array(self.rivers.y, dtype=np.float32))       # (N, 2)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The whole split at once: ``(x (N, T-2), y (N, 2))``."""
        return self.x, self.y
