"""The river record every generator emits and every consumer reads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import check_float, check_int

__all__ = ["River"]

#: Bounds a level file can hold (checked here too, so that every River saves to a file that
#: loads): Strahler orders of real networks stay below 13; generator names are labels.
MAX_ORDER = 1000
MAX_NAME = 256


@dataclass(frozen=True, eq=False)
class River:
    """One river course on a Level, source first.

    Attributes
    ----------
    path : numpy.ndarray
        ``(N, 2)`` float64 polyline of ``(row, col)`` cell coordinates, N >= 2, source first.
    width : numpy.ndarray
        ``(N,)`` float32 width in metres at each vertex.
    generator : str
        Name of what made it, e.g. ``'flow'``, ``'walker'`` or ``'learned:flow'``.
    discharge : float
        Discharge at the mouth, in the generator's units (m^3/s for the built-in ones),
        finite and >= 0.
    order : int
        Strahler order (1 for a headwater stream), >= 0.
    id : int or None
        The river's identity in an endless world (:class:`procgen.world.World`): every piece
        of one world river, in whatever region, carries the same id, in -2**63..2**63-1.
        None (default) on a level's own rivers.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen import River
    >>> r = River(path=np.array([[0.0, 0.0], [3.0, 4.0]]), width=np.array([2.0, 5.0]),
    ...           generator="walker")
    >>> round(r.length_cells, 1)
    5.0
    """

    path: np.ndarray
    width: np.ndarray
    generator: str
    discharge: float = 0.0
    order: int = 1
    id: int | None = None

    def __post_init__(self):
        path = np.ascontiguousarray(self.path, dtype=np.float64)
        width = np.ascontiguousarray(self.width, dtype=np.float32)
        if path.ndim != 2 or path.shape[1] != 2 or path.shape[0] < 2:
            raise ValueError(f"path must have shape (N, 2) with N >= 2, got {path.shape}")
        if width.shape != (path.shape[0],):
            raise ValueError(f"width must have shape ({path.shape[0]},), got {width.shape}")
        if not (np.all(np.isfinite(path)) and np.all(np.isfinite(width))):
            raise ValueError("path and width must be finite")
        if np.any(width < 0):
            raise ValueError("width must be non-negative")
        if not isinstance(self.generator, str) or not 0 < len(self.generator) <= MAX_NAME:
            raise ValueError(f"generator must be a name of 1 to {MAX_NAME} characters, got "
                             f"{self.generator!r}")
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "width", width)
        object.__setattr__(self, "discharge", check_float("discharge", self.discharge, lo=0.0))
        object.__setattr__(self, "order", check_int("order", self.order, lo=0, hi=MAX_ORDER))
        if self.id is not None:
            object.__setattr__(self, "id", check_int("id", self.id, lo=-2 ** 63, hi=2 ** 63 - 1))

    @property
    def length_cells(self) -> float:
        """Length of the polyline in cells."""
        return float(np.sum(np.hypot(*np.diff(self.path, axis=0).T)))
