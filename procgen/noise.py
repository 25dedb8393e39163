"""Gradient noise: seeded fractal terrain noise, domain warping, tiling, and `noise` twins.

Two families live here:

* ``fbm`` / ``fbm_points``: a fast, seeded 2-D gradient noise for terrain. Any 64-bit seed;
  fractal kinds fBm, ridged and billow; domain warping; grid sampling with an ``origin`` so that
  chunk ``(i, j)`` equals the matching crop of a larger map exactly; periodic (tileable) output.
  The values are bounded by [-1, 1].
* ``pnoise2``, ``pnoise3``, ``snoise2``: reproduce the ``noise`` package (1.2.2) on numpy arrays.

>>> import numpy as np
>>> from procgen.noise import fbm
>>> grid = fbm((5, 5), scale=4.0, octaves=3, seed=7)
>>> grid.shape, grid.dtype
((5, 5), dtype('float32'))
>>> bool(np.all(np.abs(grid) <= 1.0))
True
>>> big = fbm((64, 64), scale=16.0, seed=7)
>>> chunk = fbm((16, 16), scale=16.0, seed=7, origin=(32, 48))
>>> bool(np.array_equal(chunk, big[32:48, 48:64]))
True
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from ._classic import pnoise2, pnoise3, snoise2
from ._kernels import noise as _nk
from ._validate import (DEFAULT_MAX_CELLS, check_enum, check_float, check_int, check_seed,
                        check_shape)

__all__ = ["Fractal", "NoiseConfig", "fbm", "fbm_points", "pnoise2", "pnoise3", "snoise2",
           "MAX_LATTICE_PER_CELL"]

_MASK64 = (1 << 64) - 1

#: Most lattice cells the finest octave may have per grid cell (a lattice cell of at least
#: 1/16 of a grid cell). Finer octaves could only alias, and the grid kernel's work and
#: tables grow with the lattice cells along a row: ``scale=1e-4`` once ran for minutes and
#: filled 12 GB. So ``scale / lacunarity**(octaves - 1)`` must be at least 1/16.
MAX_LATTICE_PER_CELL = 16

# Column-table entries (octaves x lattice cells along a row) one grid-kernel call may build:
# each costs 16 bytes, plus 16 bytes in every worker thread. Wider requests (long strips)
# are drawn in column strips, which gives bit-identical values: every value is a function
# of its global coordinate alone.
_TABLE_ENTRIES = 1 << 21


class Fractal(enum.Enum):
    """How octaves are combined.

    FBM
        Plain fractional Brownian motion: the weighted sum of octaves.
    RIDGED
        Each octave folded to ``2 * (1 - |n|)**2 - 1``: sharp crests where the noise crosses
        zero, for mountain ranges.
    BILLOW
        Each octave folded to ``2 * |n| - 1``: rounded lumps, for hills and clouds.
    """

    FBM = "fbm"
    RIDGED = "ridged"
    BILLOW = "billow"


_KIND_CODE = {Fractal.FBM: _nk.FBM, Fractal.RIDGED: _nk.RIDGED, Fractal.BILLOW: _nk.BILLOW}


@dataclass(frozen=True)
class NoiseConfig:
    """Settings of one fractal noise field (see :func:`fbm` for each field's meaning).

    Attributes
    ----------
    scale : float
        Size of the first octave's lattice cell, in grid cells. Default 256.
    octaves : int
        Number of octaves, 1..30. Default 6.
    persistence : float
        Amplitude ratio between successive octaves, in (0, 1]. Default 0.5.
    lacunarity : float
        Frequency ratio between successive octaves, in [1, 8]. Default 2.0.
    kind : Fractal
        fBm, ridged or billow. Default fBm.
    warp : float
        Domain-warp strength in grid cells (0 disables). Default 0.
    warp_scale : float or None
        Lattice cell size of the warp field in grid cells; None means ``scale``.
    """

    scale: float = 256.0
    octaves: int = 6
    persistence: float = 0.5
    lacunarity: float = 2.0
    kind: Fractal = Fractal.FBM
    warp: float = 0.0
    warp_scale: float | None = None

    def __post_init__(self):
        check_float("scale", self.scale, lo=0.0, lo_open=True)
        check_int("octaves", self.octaves, lo=1, hi=30)
        check_float("persistence", self.persistence, lo=0.0, hi=1.0, lo_open=True)
        check_float("lacunarity", self.lacunarity, lo=1.0, hi=8.0)
        object.__setattr__(self, "kind", check_enum("kind", self.kind, Fractal))
        check_float("warp", self.warp, lo=0.0)
        if self.warp_scale is not None:
            check_float("warp_scale", self.warp_scale, lo=0.0, lo_open=True)


def _splitmix64(x: int) -> int:
    # Steele, Lea & Flood (2014), "Fast splittable pseudorandom number generators".
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _check_lattice(cfg: "NoiseConfig", name: str) -> None:
    """Refuse settings whose finest octave is more than MAX_LATTICE_PER_CELL times finer
    than the grid, naming ``name`` (the parameter that set ``cfg.scale``)."""
    scale = cfg.scale
    growth = cfg.lacunarity ** (cfg.octaves - 1)
    finest = growth / scale                     # lattice cells per grid cell, last octave
    if finest > MAX_LATTICE_PER_CELL:
        most = 0                                # octaves that would fit (30 at most)
        while most < cfg.octaves and cfg.lacunarity ** most / scale <= MAX_LATTICE_PER_CELL:
            most += 1
        fewer = f" (or at most octaves={most})" if 0 < most < cfg.octaves else ""
        raise ValueError(
            f"{name}={scale:g} is too fine: with octaves={cfg.octaves} and lacunarity="
            f"{cfg.lacunarity:g} the finest octave has {finest:.3g} lattice cells per grid "
            f"cell, over the limit of {MAX_LATTICE_PER_CELL}; {name} must be at least "
            f"{growth / MAX_LATTICE_PER_CELL:g} here{fewer}")


def _octave_tables(seed: int, stream: int, octaves: int, persistence: float,
                   lacunarity: float, kind: Fractal):
    """Keys, offsets and normalised amplitudes for each octave of one noise stream."""
    root = _splitmix64(_splitmix64(seed) ^ _splitmix64(stream + 1))
    keys = np.empty(octaves, np.uint64)
    off_r = np.empty(octaves)
    off_c = np.empty(octaves)
    for k in range(octaves):
        key = _splitmix64(root + k)
        keys[k] = key
        # Sub-cell offsets keep the lattices of different octaves from lining up (where
        # every octave would be zero at once).
        off_r[k] = (_splitmix64(key) >> 11) * 2.0**-53
        off_c[k] = (_splitmix64(key ^ 0x5555555555555555) >> 11) * 2.0**-53
    amps = persistence ** np.arange(octaves, dtype=np.float64)
    amps = (amps / amps.sum()).astype(np.float32)
    return keys, off_r, off_c, amps


def _frequencies(scale: float, octaves: int, lacunarity: float, period):
    """Lattice frequency per octave (lattice cells per grid cell) and lattice periods."""
    freqs = lacunarity ** np.arange(octaves, dtype=np.float64) / scale
    periods = np.zeros((2, octaves), np.int64)
    if period is None:
        return freqs, freqs.copy(), periods
    rows_freqs = np.empty(octaves)
    cols_freqs = np.empty(octaves)
    for axis, (length, out) in enumerate(zip(period, (rows_freqs, cols_freqs))):
        # A whole number of lattice cells per period at every octave: round each octave's
        # cell count, so the actual frequency can differ from lacunarity**k / scale slightly.
        cells = np.maximum(1, np.rint(length * freqs)).astype(np.int64)
        out[:] = cells / length
        periods[axis] = cells
    return rows_freqs, cols_freqs, periods


def _check_period(period, shape):
    if period is None or period is False:
        return None
    if period is True:
        return shape
    try:
        pr, pc = period
    except (TypeError, ValueError):
        raise ValueError(f"period must be None, True or a (rows, cols) pair, got {period!r}") from None
    return check_int("period[0]", pr, lo=1), check_int("period[1]", pc, lo=1)


def _check_origin(origin):
    try:
        r, c = origin
    except (TypeError, ValueError):
        raise ValueError(f"origin must be a (row, col) pair of ints, got {origin!r}") from None
    lim = 1 << 52  # float64 represents every integer cell coordinate below this exactly
    return check_int("origin[0]", r, lo=-lim, hi=lim), check_int("origin[1]", c, lo=-lim, hi=lim)


def _field_grid(shape, origin, cfg: NoiseConfig, seed: int, stream: int, period):
    keys, off_r, off_c, amps = _octave_tables(seed, stream, cfg.octaves, cfg.persistence,
                                              cfg.lacunarity, cfg.kind)
    fr, fc, periods = _frequencies(cfg.scale, cfg.octaves, cfg.lacunarity, period)
    nrows, ncols = shape
    out = np.empty(shape, np.float32)
    # Per column, every octave holds a fade weight and up to ceil(freq) + 1 lattice cells.
    per_col = cfg.octaves * (2.0 + np.ceil(fc.max()))
    width = max(1, min(ncols, int(_TABLE_ENTRIES // per_col)))
    for c0 in range(0, ncols, width):
        c1 = min(ncols, c0 + width)
        strip = out if width == ncols else np.empty((nrows, c1 - c0), np.float32)
        _nk.fractal_grid(float(origin[0]), float(origin[1] + c0), nrows, c1 - c0, keys,
                         fr, fc, off_r, off_c, amps, periods[0], periods[1],
                         _KIND_CODE[cfg.kind], _nk.GRAD_ROW, _nk.GRAD_COL, strip)
        if strip is not out:
            out[:, c0:c1] = strip
    return out


def _field_points(rows, cols, cfg: NoiseConfig, seed: int, stream: int, period):
    keys, off_r, off_c, amps = _octave_tables(seed, stream, cfg.octaves, cfg.persistence,
                                              cfg.lacunarity, cfg.kind)
    fr, fc, periods = _frequencies(cfg.scale, cfg.octaves, cfg.lacunarity, period)
    rows = np.ascontiguousarray(rows, dtype=np.float64).ravel()
    cols = np.ascontiguousarray(cols, dtype=np.float64).ravel()
    out = np.empty(rows.shape, np.float32)
    _nk.fractal_points(rows, cols, keys, fr, fc, off_r, off_c, amps,
                       periods[0], periods[1], _KIND_CODE[cfg.kind],
                       _nk.GRAD_ROW, _nk.GRAD_COL, out)
    return out


def _resolve_config(config, scale, octaves, persistence, lacunarity, kind, warp, warp_scale):
    if config is not None:
        if not isinstance(config, NoiseConfig):
            raise TypeError(f"config must be a NoiseConfig, got {type(config).__name__}")
        return config
    if scale is None:
        raise TypeError("scale is required (the first octave's lattice cell size in grid cells)")
    return NoiseConfig(scale=scale, octaves=octaves, persistence=persistence,
                       lacunarity=lacunarity, kind=kind, warp=warp, warp_scale=warp_scale)


def fbm(shape, *, scale=None, octaves=6, persistence=0.5, lacunarity=2.0, seed=0,
        origin=(0, 0), kind="fbm", warp=0.0, warp_scale=None, period=None, config=None,
        max_cells=DEFAULT_MAX_CELLS):
    """Sample seeded fractal gradient noise on a grid.

    ``out[r, c]`` is the noise at global cell ``(origin[0] + r, origin[1] + c)``, a pure function
    of that coordinate, the seed and the settings: a chunk equals the matching crop of a larger
    map exactly, so worlds can be generated piecewise without seams.

    Parameters
    ----------
    shape : int or (int, int)
        Grid size ``(rows, cols)``; an int means square.
    scale : float
        Lattice cell size of the first octave, in grid cells (larger = smoother). Required
        unless ``config`` is given.
    octaves : int, optional
        Number of octaves, 1..30.
    persistence : float, optional
        Amplitude ratio between successive octaves, in (0, 1].
    lacunarity : float, optional
        Frequency ratio between successive octaves, in [1, 8].
    seed : int, optional
        Any 64-bit integer, -2**63..2**64-1 (negative values wrap modulo 2**64).
    origin : (int, int), optional
        Global cell coordinate of ``out[0, 0]``.
    kind : {'fbm', 'ridged', 'billow'} or Fractal, optional
        How octaves are combined (see :class:`Fractal`).
    warp : float, optional
        Domain-warp strength in grid cells: the field is sampled at the point displaced by
        ``warp`` times two further fBm fields (Quilez, "Domain warping", 2002). 0 disables.
    warp_scale : float, optional
        Lattice cell size of the warp fields; defaults to ``scale``.
    period : None, True or (int, int), optional
        Make the noise periodic with this period in cells (``True`` = ``shape``), so the output
        tiles seamlessly. Each octave's frequency is rounded to a whole number of lattice
        cells per period.
    config : NoiseConfig, optional
        All of ``scale`` .. ``warp_scale`` at once; when given, those keywords are ignored.
    max_cells : int or None, optional
        Refuse grids larger than this many cells (default 8192**2); None lifts the cap.

    Returns
    -------
    numpy.ndarray
        float32 array of ``shape``, values in [-1, 1].

    Raises
    ------
    ValueError
        If the finest octave's lattice cell, ``scale / lacunarity**(octaves - 1)`` (and the
        same with ``warp_scale``), is under 1/16 of a grid cell
        (:data:`MAX_LATTICE_PER_CELL`): such octaves could only alias, and their cost grows
        with the lattice, not the grid.

    Examples
    --------
    >>> from procgen.noise import fbm
    >>> tile = fbm((32, 32), scale=8.0, seed=3, period=True)
    >>> import numpy as np
    >>> wide = fbm((32, 64), scale=8.0, seed=3, period=(32, 32))
    >>> bool(np.array_equal(wide[:, :32], wide[:, 32:]))
    True
    """
    shape = check_shape("shape", shape, max_cells=max_cells)
    cfg = _resolve_config(config, scale, octaves, persistence, lacunarity, kind, warp, warp_scale)
    seed = check_seed("seed", seed)
    origin = _check_origin(origin)
    period = _check_period(period, shape)
    _check_lattice(cfg, "scale")
    if cfg.warp == 0.0:
        return _field_grid(shape, origin, cfg, seed, 0, period)
    warp_cfg = NoiseConfig(scale=cfg.warp_scale or cfg.scale, octaves=cfg.octaves,
                           persistence=cfg.persistence, lacunarity=cfg.lacunarity)
    _check_lattice(warp_cfg, "scale" if cfg.warp_scale is None else "warp_scale")
    rows = np.arange(origin[0], origin[0] + shape[0], dtype=np.float64)[:, None]
    cols = np.arange(origin[1], origin[1] + shape[1], dtype=np.float64)[None, :]
    dr = _field_grid(shape, origin, warp_cfg, seed, 1, period)
    dc = _field_grid(shape, origin, warp_cfg, seed, 2, period)
    rows = rows + cfg.warp * dr.astype(np.float64)
    cols = cols + cfg.warp * dc.astype(np.float64)
    return _field_points(rows, cols, cfg, seed, 0, period).reshape(shape)


def fbm_points(rows, cols, *, scale=None, octaves=6, persistence=0.5, lacunarity=2.0, seed=0,
               kind="fbm", period=None, config=None):
    """Sample the same noise as :func:`fbm` at arbitrary points.

    ``fbm_points(r, c, ...)`` at whole-cell coordinates matches ``fbm(...)[r, c]`` to float32
    rounding (about 1e-6); the grid version is faster because it shares work along rows.
    Domain warping is not applied here (warp the coordinates yourself).

    Parameters
    ----------
    rows, cols : array_like
        Point coordinates in grid cells (float), broadcast together.
    scale, octaves, persistence, lacunarity, seed, kind, config
        As in :func:`fbm`.
    period : None or (int, int), optional
        Period in cells along rows and columns (``True`` is not accepted here: there is no
        shape to copy).

    Returns
    -------
    numpy.ndarray
        float32 array of the broadcast shape, values in [-1, 1]. NaN coordinates raise, and
        so does a ``scale`` too fine for :func:`fbm`.

    Examples
    --------
    >>> from procgen.noise import fbm, fbm_points
    >>> grid = fbm((8, 8), scale=4.0, seed=1)
    >>> point = fbm_points(3, 5, scale=4.0, seed=1)
    >>> bool(abs(float(point) - float(grid[3, 5])) < 1e-5)
    True
    """
    cfg = _resolve_config(config, scale, octaves, persistence, lacunarity, kind, 0.0, None)
    seed = check_seed("seed", seed)
    _check_lattice(cfg, "scale")
    if period is True:
        raise ValueError("period must be None or a (rows, cols) pair for fbm_points, got True")
    period = _check_period(period, None)
    rows, cols = np.broadcast_arrays(np.asarray(rows, dtype=np.float64),
                                     np.asarray(cols, dtype=np.float64))
    if not (np.all(np.isfinite(rows)) and np.all(np.isfinite(cols))):
        raise ValueError("rows and cols must be finite; got NaN or inf")
    shape = rows.shape
    out = _field_points(rows.ravel(), cols.ravel(), cfg, seed, 0, period)
    return out.reshape(shape)
