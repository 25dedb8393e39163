"""Any polyline -> the river representation (turning angles and the condition y), numpy only.

The preprocessing :func:`learned.score.score` and the EBM's walker negatives share: a path in
cells or metres is smoothed and resampled exactly as the dataset's rivers were
(``learned._wdb.smooth_resample``), then read as turning angles, its sinuosity and its length.
"""

from __future__ import annotations

import math

import numpy as np

from procgen import paths as _paths

from . import _rivers as _data
from . import _wdb

__all__ = ["path_turns", "MAX_SINUOSITY", "N_POINTS"]

#: Sinuosity given to a path whose resampled shape ends where it starts (no chord), and the
#: cap of every path's sinuosity: the dataset keeps no river above it.
MAX_SINUOSITY = 10.0
#: Points per path after resampling (as the dataset).
N_POINTS = _data.N_POINTS


def _check_path(i: int, p) -> np.ndarray:
    """One polyline as a finite (N, 2) float64 array with N >= 3 and positive length."""
    try:
        a = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"paths[{i}] must be an (N, 2) array of numbers, got "
                         f"{type(p).__name__}") from None
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"paths[{i}] must have shape (N, 2), got {a.shape}")
    if len(a) < 3:
        raise ValueError(f"paths[{i}] must have at least 3 points, got {len(a)}")
    bad = ~np.isfinite(a).all(axis=1)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"paths[{i}] must be finite, got {a[k].tolist()} at point {k}")
    keep = np.ones(len(a), dtype=bool)
    keep[1:] = np.any(np.diff(a, axis=0) != 0.0, axis=1)         # repeated points: once
    a = a[keep]
    if len(a) < 2:
        raise ValueError(f"paths[{i}] must have a positive length, got {len(keep)} points "
                         f"all at {a[0].tolist()}")
    return a


def _as_paths(paths) -> list:
    """A list of polylines: ``paths`` is a sequence of (N_i, 2) arrays or one (N, 2) array."""
    if isinstance(paths, np.ndarray) and paths.ndim == 2:
        return [paths]
    if isinstance(paths, np.ndarray) and paths.ndim == 3:
        return list(paths)
    try:
        items = list(paths)
    except TypeError:
        raise ValueError(f"paths must be a sequence of (N, 2) arrays, got "
                         f"{type(paths).__name__}") from None
    if items and np.ndim(items[0]) == 1:          # one path given as a list of points
        return [paths]
    return items


def path_turns(paths, *, cell_size=None, n_points: int = N_POINTS
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Polylines -> what the models see: ``(turns (B, 62), sinuosity (B,), length_km (B,))``.

    Each path is put in km (``cell_size`` metres per cell; None: the path is in metres),
    smoothed and resampled as the dataset's rivers were (:func:`learned._wdb.smooth_resample`),
    and turned into turning angles. A path that already is what resampling makes, ``n_points``
    points at equal steps (a dataset river, a model's sample placed on a map), is taken as it
    is: smoothing it again would blur it twice. Sinuosity is that of the resampled shape (arc length over
    chord of its 63 equal steps, as the dataset's y), capped at :data:`MAX_SINUOSITY` (a
    closed path, which has no chord, gets exactly that); length is the arc length of the
    path as given.

    Examples
    --------
    >>> import numpy as np
    >>> square = [[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]]        # closed, in cells
    >>> turns, sin, km = path_turns([square], cell_size=1000.0)
    >>> turns.shape, float(sin[0]), float(km[0])
    ((1, 62), 10.0, 40.0)
    """
    items = _as_paths(paths)
    if len(items) == 0:
        raise ValueError("paths must hold at least one path, got an empty sequence")
    if cell_size is None:
        to_km = 1e-3
    else:
        if isinstance(cell_size, bool) or not (isinstance(cell_size, (int, float, np.number))
                                               and math.isfinite(cell_size) and cell_size > 0):
            raise ValueError(f"cell_size must be a finite number of metres > 0, got "
                             f"{cell_size!r}")
        to_km = float(cell_size) * 1e-3
    turns, sin, length = [], [], []
    for i, p in enumerate(items):
        km = _check_path(i, p) * to_km
        arc = float(_paths.arc_length(km)[-1])
        step = np.hypot(*np.diff(km, axis=0).T)
        if len(km) == n_points and step.max() - step.min() <= 1e-6 * step.mean():
            pts = km          # already the representation (a dataset river, a sample)
        else:
            pts = _wdb.smooth_resample(km, n_points)
        t = _paths.turning_angles(pts)
        if not np.all(np.isfinite(t)):
            raise ValueError(f"paths[{i}] has no direction after resampling (length {arc:g} "
                             "km); give it distinct points")
        shape = _paths.angles_to_path(t)
        chord = float(np.hypot(*(shape[-1] - shape[0])))
        s = (len(t) + 1) / chord if chord > 0 else math.inf
        turns.append(t)
        sin.append(min(max(s, 1.0), MAX_SINUOSITY))
        length.append(arc)
    return (np.asarray(turns, np.float32), np.asarray(sin, np.float64),
            np.asarray(length, np.float64))
