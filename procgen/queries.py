"""Gameplay queries on a :class:`~procgen.Level`: what game code asks of a map.

Heights and slopes at any point, water and rivers under a point, the distance to the nearest
water, where a unit may walk, where rivers can be forded, which watershed a cell drains to,
and spawn points spread over dry land. The :class:`~procgen.Level` methods of the same names
call these functions; derived grids are computed on first use and cached on the Level
instance (not in its file).

Conventions
-----------
* A **point** is ``(row, col)`` in cell units, floats allowed; cell ``(r, c)`` has its centre
  at ``(r, c)`` and covers ``[r - 0.5, r + 0.5) x [c - 0.5, c + 0.5)``, so a point lies in
  cell ``(floor(row + 0.5), floor(col + 0.5))``. Points must lie on the map:
  ``-0.5 <= row < rows - 0.5`` and likewise for ``col``. Functions taking points accept
  scalars (and return a Python scalar) or arrays of any matching shape (and return arrays).
* **Water** is the sea and lakes (``level.water``). **River cells** are the cells a river's
  polyline runs through (:func:`procgen.rivers.river_cells`) that are not sea or lake; they
  count as land.
* **Slope** comes from central differences of the height grid (one-sided on the map edge),
  interpolated bilinearly between cell centres; ``'ratio'`` is rise over run (``tan`` of
  the angle; 1.0 is 45 degrees) and ``'degrees'`` the angle from horizontal.

>>> import numpy as np
>>> from procgen import generate_level
>>> level = generate_level(seed=5, shape=(48, 48), cell_size=2000.0, preset="islands")
>>> float(level.height_at(10, 10)) == float(level.height[10, 10])
True
>>> level.is_water(0, 0), level.is_land(0, 0)
(True, False)
>>> spawns = level.spawn_points(5, min_spacing=8000.0, min_water_distance=2000.0, rng=1)
>>> cells = tuple(np.floor(spawns + 0.5).astype(int).T)
>>> len(spawns), bool(np.all(level.distance_to_water()[cells] >= 2000.0))
(5, True)
"""

from __future__ import annotations

import enum
import numbers
import os
import sys
import warnings
from dataclasses import dataclass

import numpy as np

from ._kernels import queries as _qk
from ._units import cells
from .rivers import channel_depth  # noqa: F401 - part of this module's API (fords)
from ._validate import check_enum, check_float, check_int

__all__ = ["SlopeUnit", "DistanceUnit", "RiverCrossing", "Watersheds", "FORD_MAX_WIDTH",
           "FORD_MAX_DEPTH", "distance_transform", "height_at", "slope_at", "slope",
           "is_water", "is_river", "is_land", "biome_at", "river_mask", "river_width",
           "channel_depth", "distance_to_water", "fords", "walkable", "watersheds",
           "watershed_at", "spawn_points", "SpawnPointsWarning", "cells_of", "clear_cache"]


class SlopeUnit(enum.Enum):
    """How slopes are expressed.

    * ``DEGREES``: the angle from horizontal, 0..90.
    * ``RATIO``: rise over run (metres up per metre across), ``tan`` of the angle.
    """

    DEGREES = "degrees"
    RATIO = "ratio"


class DistanceUnit(enum.Enum):
    """Units of a distance: ``METRES`` or ``CELLS`` (one cell = ``level.cell_size`` metres)."""

    METRES = "metres"
    CELLS = "cells"


class RiverCrossing(enum.Enum):
    """Where :func:`walkable` lets a walker cross river cells.

    * ``FORDS``: only at fords (:func:`fords`), the default.
    * ``NEVER``: river cells are never walkable.
    * ``ANYWHERE``: rivers are ignored (bridges everywhere).
    """

    FORDS = "fords"
    NEVER = "never"
    ANYWHERE = "anywhere"


#: Default widest channel (metres) a ford allows.
FORD_MAX_WIDTH = 10.0
#: Default deepest channel (metres) a ford allows: about thigh deep.
FORD_MAX_DEPTH = 0.7


@dataclass(frozen=True, eq=False)
class Watersheds:
    """Drainage basins of a level: every land cell labelled by the outlet its water reaches.

    Attributes
    ----------
    labels : numpy.ndarray
        int32 ``(rows, cols)``: 0 on water (sea and lakes), ``1..K`` on land; cells with
        the same label drain to the same outlet.
    outlets : numpy.ndarray
        int64 ``(K, 2)``: ``outlets[k - 1]`` is the ``(row, col)`` of label ``k``'s outlet,
        the first sea or lake cell its water reaches, or a land cell on the map edge where
        it leaves the map. Labels are numbered by outlet in row-major order.
    """

    labels: np.ndarray
    outlets: np.ndarray

    @property
    def count(self) -> int:
        """K, the number of watersheds."""
        return int(self.outlets.shape[0])


# -- caching ---------------------------------------------------------------------------------
def _token(level):
    return (level.height, level.water, level.lakes, level.rivers, level.cell_size,
            level.config, *level.rivers)


def _cached(level, key, compute):
    """``compute()`` once per Level and key; recomputed if the Level's arrays, river list,
    cell size or config are replaced (not if they are changed in place: see
    :func:`clear_cache`). Arrays come back read-only."""
    cache = level.__dict__.setdefault("_cache", {})
    token = _token(level)
    hit = cache.get(key)
    if hit is not None and len(hit[0]) == len(token) and all(
            a is b for a, b in zip(hit[0], token)):
        return hit[1]
    value = compute()
    for item in (value if isinstance(value, tuple) else (value,)):
        if isinstance(item, np.ndarray):
            item.flags.writeable = False
    cache[key] = (token, value)
    return value


def clear_cache(level) -> None:
    """Forget a Level's cached derived grids (call after changing its arrays in place)."""
    level.__dict__.get("_cache", {}).clear()


# -- points ----------------------------------------------------------------------------------
def _points(level, rows, cols):
    r = np.asarray(rows)
    c = np.asarray(cols)
    for name, v, given in (("row", r, rows), ("col", c, cols)):
        if v.dtype == np.bool_ or v.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be a number or an array of numbers, got {given!r}")
    try:
        r, c = np.broadcast_arrays(r.astype(np.float64), c.astype(np.float64))
    except ValueError:
        raise ValueError(f"row and col must have matching shapes, got {np.shape(rows)} and "
                         f"{np.shape(cols)}") from None
    nr, nc = level.height.shape
    for name, v, n in (("row", r, nr), ("col", c, nc)):
        bad = ~((v >= -0.5) & (v < n - 0.5))     # also catches NaN
        if bad.any():
            raise ValueError(f"{name} must lie on the map, in [-0.5, {n - 0.5:g}), got "
                             f"{float(v[bad].flat[0])!r}")
    return r, c, r.ndim == 0


def cells_of(rows, cols):
    """The cell ``(floor(row + 0.5), floor(col + 0.5))`` that holds each point, as int64.

    Examples
    --------
    >>> from procgen.queries import cells_of
    >>> cells_of([0.49, 0.5, 2.0], [-0.5, 1.2, 3.7])
    (array([0, 1, 2]), array([0, 1, 4]))
    """
    return (np.floor(np.asarray(rows, np.float64) + 0.5).astype(np.int64),
            np.floor(np.asarray(cols, np.float64) + 0.5).astype(np.int64))


def _out(value, scalar, kind=float):
    return kind(value) if scalar else value


def _bilinear(grid, r, c):
    """Bilinear interpolation between cell centres; points within half a cell of the
    edge take the edge row/column's value along that axis."""
    nr, nc = grid.shape
    r = np.clip(r, 0.0, nr - 1.0)
    c = np.clip(c, 0.0, nc - 1.0)
    r0 = np.minimum(np.floor(r).astype(np.int64), max(nr - 2, 0))
    c0 = np.minimum(np.floor(c).astype(np.int64), max(nc - 2, 0))
    r1 = np.minimum(r0 + 1, nr - 1)
    c1 = np.minimum(c0 + 1, nc - 1)
    tr = r - r0
    tc = c - c0
    g = grid.astype(np.float64, copy=False)
    top = g[r0, c0] * (1.0 - tc) + g[r0, c1] * tc
    bottom = g[r1, c0] * (1.0 - tc) + g[r1, c1] * tc
    return top * (1.0 - tr) + bottom * tr


# -- distance transform ----------------------------------------------------------------------
def distance_transform(feature, *, nearest: bool = False):
    """Exact Euclidean distance, in cells, from every cell to the nearest ``True`` cell.

    Felzenszwalb & Huttenlocher (2012): two passes of a 1-D squared distance transform (the
    lower envelope of parabolas), down the columns then along the rows; linear time, and
    exact (no chamfer approximation).

    Parameters
    ----------
    feature : array_like of bool, shape (R, C)
        The cells to measure to.
    nearest : bool, optional
        Also return the flat index ``row * C + col`` of the nearest feature cell (ties go to
        one of them); -1 where there is no feature cell.

    Returns
    -------
    distance : numpy.ndarray
        float64 ``(R, C)``; 0 on feature cells; ``inf`` everywhere if there is none.
    index : numpy.ndarray
        int64 ``(R, C)``, only with ``nearest=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.queries import distance_transform
    >>> m = np.zeros((3, 4), bool); m[0, 0] = True
    >>> distance_transform(m).round(3).tolist()
    [[0.0, 1.0, 2.0, 3.0], [1.0, 1.414, 2.236, 3.162], [2.0, 2.236, 2.828, 3.606]]
    """
    mask = np.asarray(feature)
    if mask.dtype != np.bool_ or mask.ndim != 2 or 0 in mask.shape:
        raise ValueError(f"feature must be a non-empty 2-D bool array, got {mask.dtype} "
                         f"with shape {mask.shape}")
    d2 = np.empty(mask.shape, np.float64)
    idx = np.empty(mask.shape, np.int64)
    _qk.squared_edt(np.ascontiguousarray(mask), d2, idx)
    dist = np.sqrt(d2)
    return (dist, idx) if nearest else dist


# -- heights and slopes ----------------------------------------------------------------------
def height_at(level, rows, cols):
    """Height in metres at points, interpolated bilinearly between cell centres.

    Examples
    --------
    >>> from procgen import generate_level
    >>> lv = generate_level(seed=1, shape=8, cell_size=5000.0, rivers="none")
    >>> h = lv.height.astype(float)
    >>> bool(abs(lv.height_at(2.5, 3) - (h[2, 3] + h[3, 3]) / 2) < 1e-9)
    True
    """
    r, c, scalar = _points(level, rows, cols)
    return _out(_bilinear(level.height, r, c), scalar)


def _gradient_of(height, cell_size):
    """(dz/drow, dz/dcol) per metre: central differences, one-sided on the map edge."""
    h = np.asarray(height, np.float64)
    grads = []
    for axis in (0, 1):
        if h.shape[axis] < 2:
            grads.append(np.zeros_like(h))
        else:
            grads.append(np.gradient(h, float(cell_size), axis=axis))
    return tuple(grads)


def _gradient(level):
    return _cached(level, "gradient", lambda: _gradient_of(level.height, level.cell_size))


def _convert_slope(ratio, units):
    units = check_enum("units", units, SlopeUnit)
    return np.degrees(np.arctan(ratio)) if units is SlopeUnit.DEGREES else ratio


def slope(level, *, units=SlopeUnit.DEGREES) -> np.ndarray:
    """Slope of every cell (float64 grid), from central differences of the heights.

    Parameters
    ----------
    units : {'degrees', 'ratio'} or SlopeUnit, optional
        Angle from horizontal, or rise over run.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen import generate_level
    >>> lv = generate_level(seed=1, shape=8, cell_size=5000.0, rivers="none")
    >>> s = lv.slope(units="ratio")
    >>> bool(np.allclose(np.degrees(np.arctan(s)), lv.slope()))
    True
    """
    units = check_enum("units", units, SlopeUnit)

    def compute():
        gy, gx = _gradient(level)
        return np.hypot(gy, gx)

    ratio = _cached(level, "slope_ratio", compute)
    return ratio if units is SlopeUnit.RATIO else _cached(
        level, "slope_degrees", lambda: np.degrees(np.arctan(ratio)))


def slope_at(level, rows, cols, *, units=SlopeUnit.DEGREES):
    """Slope at points: the height gradient (central differences at cell centres,
    interpolated bilinearly between them), as an angle or as rise over run.

    On a plane ``h = a * row + b * col`` this is exactly ``hypot(a, b) / cell_size`` as a
    ratio, everywhere.

    Parameters
    ----------
    rows, cols : float or array_like
    units : {'degrees', 'ratio'} or SlopeUnit, optional

    Examples
    --------
    >>> from procgen import generate_level
    >>> lv = generate_level(seed=1, shape=8, cell_size=5000.0, rivers="none")
    >>> 0.0 <= lv.slope_at(3.2, 4.7) < 90.0
    True
    """
    units = check_enum("units", units, SlopeUnit)
    r, c, scalar = _points(level, rows, cols)
    gy, gx = _gradient(level)
    ratio = np.hypot(_bilinear(gy, r, c), _bilinear(gx, r, c))
    return _out(_convert_slope(ratio, units), scalar)


# -- water, rivers, land ---------------------------------------------------------------------
def is_water(level, rows, cols):
    """True where a point lies in a sea or lake cell (rivers are not counted: see
    :func:`is_river`)."""
    r, c, scalar = _points(level, rows, cols)
    return _out(level.water[cells_of(r, c)], scalar, bool)


def is_land(level, rows, cols):
    """True where a point lies in a cell that is not sea or lake (river cells are land)."""
    r, c, scalar = _points(level, rows, cols)
    return _out(~level.water[cells_of(r, c)], scalar, bool)


def is_river(level, rows, cols):
    """True where a point lies in a river cell (see :func:`river_mask`)."""
    r, c, scalar = _points(level, rows, cols)
    return _out(river_mask(level)[cells_of(r, c)], scalar, bool)


def biome_at(level, rows, cols):
    """The :class:`~procgen.biomes.Biome` value (int) of the cell holding each point."""
    r, c, scalar = _points(level, rows, cols)
    return _out(level.biomes[cells_of(r, c)], scalar, int)


def _rasterise_rivers(rivers, shape, water):
    """(mask, width): river cells off ``water`` and the widest channel (metres) in each."""
    from .rivers import river_cells
    width = np.zeros(shape, np.float32)
    mask = np.zeros(shape, np.bool_)
    for river in rivers:
        cells, w = river_cells(river, shape)
        np.maximum.at(width, (cells[:, 0], cells[:, 1]), w)
        mask[cells[:, 0], cells[:, 1]] = True
    mask &= ~water
    width[~mask] = 0.0
    return mask, width


def _river_width(level):
    return _cached(level, "river_width",
                   lambda: _rasterise_rivers(level.rivers, level.height.shape, level.water))


def river_mask(level) -> np.ndarray:
    """bool grid of river cells: cells a river's polyline runs through (Bresenham lines
    between its vertices' cells), minus sea and lake cells."""
    return _river_width(level)[0]


def river_width(level) -> np.ndarray:
    """float32 grid of channel width in metres: the widest river through each river cell,
    0 elsewhere."""
    return _river_width(level)[1]


def fords(level, *, max_width: float = FORD_MAX_WIDTH,
          max_depth: float = FORD_MAX_DEPTH) -> np.ndarray:
    """River cells shallow and narrow enough to wade across.

    A ford is a river cell whose channel (the widest river through it) is at most
    ``max_width`` metres wide and at most ``max_depth`` metres deep, the depth following
    from the width by the level's hydraulic geometry (:func:`channel_depth` with the
    level's ``config.rivers`` coefficients). Headwaters are fords; big rivers are not.

    Parameters
    ----------
    max_width : float, optional
        Metres, default :data:`FORD_MAX_WIDTH` (10).
    max_depth : float, optional
        Metres, default :data:`FORD_MAX_DEPTH` (0.7).

    Returns
    -------
    numpy.ndarray
        bool ``(rows, cols)``, a subset of :func:`river_mask`.

    Examples
    --------
    >>> from procgen import generate_level
    >>> lv = generate_level(seed=3, shape=64, cell_size=2000.0)
    >>> f = lv.fords()
    >>> bool((f <= lv.river_mask()).all())
    True
    """
    max_width = check_float("max_width", max_width, lo=0.0)
    max_depth = check_float("max_depth", max_depth, lo=0.0)
    mask, width = _river_width(level)
    depth = channel_depth(width, config=level.config.rivers)
    return mask & (width <= max_width) & (depth <= max_depth)


def _check_units(units) -> DistanceUnit:
    return check_enum("units", units, DistanceUnit)


def distance_to_water(level, *, include_rivers: bool = False,
                      units=DistanceUnit.METRES) -> np.ndarray:
    """Exact Euclidean distance from every cell centre to the nearest water cell centre.

    Parameters
    ----------
    include_rivers : bool, optional
        Count river cells as water too (default: sea and lakes only).
    units : {'metres', 'cells'} or DistanceUnit, optional

    Returns
    -------
    numpy.ndarray
        float64 ``(rows, cols)``, 0 on water, ``inf`` everywhere on a map without water.
        Read-only (cached); copy it to change it.

    Examples
    --------
    >>> from procgen import generate_level
    >>> lv = generate_level(seed=2, shape=32, cell_size=1000.0, preset="islands")
    >>> d = lv.distance_to_water(units="cells")
    >>> bool((d[lv.water] == 0).all() and (d[lv.land] >= 1).all())
    True
    """
    if not isinstance(include_rivers, (bool, np.bool_)):
        raise TypeError(f"include_rivers must be True or False, got {include_rivers!r}")
    units = _check_units(units)

    def cells():
        mask = level.water | river_mask(level) if include_rivers else level.water
        return distance_transform(mask)

    d = _cached(level, ("distance_to_water", bool(include_rivers)), cells)
    if units is DistanceUnit.CELLS:
        return d
    return _cached(level, ("distance_to_water_m", bool(include_rivers)),
                   lambda: d * float(level.cell_size))


def walkable(level, max_slope_deg: float = 30.0, *, rivers=RiverCrossing.FORDS,
             ford_max_width: float = FORD_MAX_WIDTH,
             ford_max_depth: float = FORD_MAX_DEPTH) -> np.ndarray:
    """Cells a walker can stand on: land no steeper than ``max_slope_deg``, with river
    cells walkable only as ``rivers`` allows.

    Parameters
    ----------
    max_slope_deg : float, optional
        Steepest walkable slope, degrees in [0, 90] (default 30), compared with
        :func:`slope` at the cell centre.
    rivers : {'fords', 'never', 'anywhere'} or RiverCrossing, optional
        River cells are walkable only at fords (default), never, or everywhere.
    ford_max_width, ford_max_depth : float, optional
        Ford limits in metres, as for :func:`fords`.

    Returns
    -------
    numpy.ndarray
        bool ``(rows, cols)``.

    Examples
    --------
    >>> from procgen import generate_level
    >>> lv = generate_level(seed=3, shape=64, cell_size=2000.0)
    >>> w = lv.walkable(max_slope_deg=20.0)
    >>> bool((w <= lv.land).all())
    True
    """
    max_slope_deg = check_float("max_slope_deg", max_slope_deg, lo=0.0, hi=90.0)
    rivers = check_enum("rivers", rivers, RiverCrossing)
    ok = ~level.water & (slope(level, units=SlopeUnit.DEGREES) <= max_slope_deg)
    if rivers is RiverCrossing.NEVER:
        ok &= ~river_mask(level)
    elif rivers is RiverCrossing.FORDS:
        ok &= ~river_mask(level) | fords(level, max_width=ford_max_width,
                                         max_depth=ford_max_depth)
    return ok


# -- watersheds ------------------------------------------------------------------------------
def watersheds(level) -> Watersheds:
    """Label every land cell by the outlet its water drains to.

    Flow follows D8 steepest descent (:func:`procgen.hydrology.flow_directions`) on the
    level's height after :func:`procgen.hydrology.fill_depressions`, with the sea and lakes
    as outlets; each land cell is followed downstream to the first water cell (or the map
    edge cell where the water leaves the map), and cells that end at the same outlet share
    a label.

    Returns
    -------
    Watersheds

    Examples
    --------
    >>> from procgen import generate_level
    >>> lv = generate_level(seed=3, shape=64, cell_size=2000.0)
    >>> ws = lv.watersheds()
    >>> bool((ws.labels[lv.water] == 0).all() and (ws.labels[lv.land] > 0).all())
    True
    """
    def compute():
        from .hydrology import fill_depressions, flow_directions
        filled = fill_depressions(level.height, outlets=level.water)
        directions = flow_directions(filled, outlets=level.water)
        out = np.empty(directions.size, np.int64)
        done = _qk.drain_outlets(directions, out)
        if done != directions.size:  # pragma: no cover - a filled surface has no cycles
            raise RuntimeError("flow directions contain a cycle")
        land = ~level.water.ravel()
        ends = np.unique(out[land])
        labels = np.zeros(directions.size, np.int32)
        labels[land] = np.searchsorted(ends, out[land]) + 1
        nc = directions.shape[1]
        outlets = np.stack([ends // nc, ends % nc], axis=1).astype(np.int64)
        return labels.reshape(directions.shape), outlets

    labels, outlets = _cached(level, "watersheds", compute)
    return Watersheds(labels=labels, outlets=outlets)


def watershed_at(level, rows, cols):
    """The :func:`watersheds` label (int, 0 on water) of the cell holding each point."""
    r, c, scalar = _points(level, rows, cols)
    return _out(watersheds(level).labels[cells_of(r, c)], scalar, int)


# -- spawn points ----------------------------------------------------------------------------
class SpawnPointsWarning(UserWarning):
    """:func:`spawn_points` found room for fewer points than asked for.

    The points that fit are still returned. Make it an error where a game cannot go on
    with fewer: ``warnings.simplefilter("error", SpawnPointsWarning)``.
    """


def _caller_stacklevel() -> int:
    """Stack level of the first frame outside procgen, so that a warning names the line
    that called procgen (through Level methods or not)."""
    here = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(here):
        frame, level = frame.f_back, level + 1
    return level


def spawn_points(level, n: int, *, min_spacing: float, min_water_distance: float = 0.0,
                 include_rivers: bool = True, where=None, tries: int = 30, rng=None):
    """Up to ``n`` random points on dry land, at least ``min_spacing`` metres apart.

    Poisson-disc sampling (Bridson 2007) over the allowed cells fills the whole map (every
    island, see :func:`procgen._kernels.queries.poisson_disc`); ``n`` of those samples are
    then drawn at random, so the points are spread over all the allowed land rather than
    clustered where sampling began. A point is allowed when its cell is land, not a river
    cell (unless ``include_rivers=False``), at least ``min_water_distance`` metres from water
    (cell centre to cell centre, :func:`distance_to_water` with ``include_rivers``), and
    True in ``where``.

    When the allowed land has no room for ``n`` points (at ``min_spacing``), the points
    that fit come back and a :class:`SpawnPointsWarning` says how many of how many, and
    which options to loosen. A warning, not an error: "as many as fit" is a common request
    (a treasure hunt for up to 8 players), and the caller sees ``len(points) < n``; turn
    it into an error with ``warnings.simplefilter("error", SpawnPointsWarning)``.

    Parameters
    ----------
    n : int
        How many points, >= 0.
    min_spacing : float
        Metres, at least one cell (``level.cell_size``).
    min_water_distance : float, optional
        Metres from the nearest water, default 0.
    include_rivers : bool, optional
        Treat rivers as water (default True): no spawns on rivers, and
        ``min_water_distance`` is kept from them too.
    where : numpy.ndarray of bool, optional
        Further restriction, e.g. ``level.walkable()``.
    tries : int, optional
        Bridson's k, candidates per active sample (default 30).
    rng : {numpy.random.Generator, int}, optional
        Random source; an int seeds a new Generator (same seed, same points). Default: fresh
        entropy.

    Returns
    -------
    numpy.ndarray
        float64 ``(m, 2)`` points ``(row, col)``, ``m <= n``, in random order.

    Warns
    -----
    SpawnPointsWarning
        When ``m < n``: e.g. ``asked for 1000 spawn points but only 37 fit on the 5,129
        allowed cells at min_spacing 5000 m; ...``.

    Examples
    --------
    >>> from procgen import generate_level
    >>> from procgen.queries import cells_of
    >>> lv = generate_level(seed=5, shape=64, cell_size=1000.0, preset="islands")
    >>> pts = lv.spawn_points(8, min_spacing=5000.0, min_water_distance=1500.0, rng=7)
    >>> len(pts), bool(lv.is_land(pts[:, 0], pts[:, 1]).all())
    (8, True)
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     many = lv.spawn_points(1000, min_spacing=5000.0, rng=7)
    >>> len(many) < 1000, caught[0].category.__name__
    (True, 'SpawnPointsWarning')
    """
    n = check_int("n", n, lo=0)
    cell_size = float(level.cell_size)
    min_spacing = check_float("min_spacing", min_spacing, lo=0.0, lo_open=True)
    if min_spacing < cell_size:
        raise ValueError(f"min_spacing must be at least one cell ({cell_size:g} m), got "
                         f"{min_spacing:g}")
    min_water_distance = check_float("min_water_distance", min_water_distance, lo=0.0)
    tries = check_int("tries", tries, lo=1, hi=10_000)
    if not isinstance(include_rivers, (bool, np.bool_)):
        raise TypeError(f"include_rivers must be True or False, got {include_rivers!r}")
    if rng is not None and not isinstance(rng, (np.random.Generator, numbers.Integral)):
        raise TypeError(f"rng must be a numpy.random.Generator, an int or None, got "
                        f"{type(rng).__name__}")
    gen = np.random.default_rng(rng)
    valid = ~level.water
    if include_rivers:
        valid = valid & ~river_mask(level)
    if min_water_distance > 0:
        valid &= distance_to_water(level, include_rivers=bool(include_rivers)) >= min_water_distance
    if where is not None:
        w = np.asarray(where)
        if w.dtype != np.bool_ or w.shape != level.height.shape:
            raise ValueError(f"where must be a bool array of shape {level.height.shape}, got "
                             f"{w.dtype} {w.shape}")
        valid &= w
    if n == 0:
        return np.zeros((0, 2), np.float64)
    if not valid.any():
        samples = np.zeros((0, 2), np.float64)
    else:
        seed = gen.integers(0, 2 ** 64, dtype=np.uint64)
        samples = _qk.poisson_disc(np.ascontiguousarray(valid), cells(min_spacing, cell_size),
                                   tries, np.uint64(seed))
        if len(samples) > n:
            samples = samples[gen.choice(len(samples), size=n, replace=False)]
        else:
            samples = samples[gen.permutation(len(samples))]
    if len(samples) < n:
        loosen = ["a smaller min_spacing"]
        if min_water_distance > 0:
            loosen.append("a smaller min_water_distance")
        if where is not None:
            loosen.append("a larger where")
        warnings.warn(
            f"asked for {n} spawn points but only {len(samples)} fit on the "
            f"{int(valid.sum()):,} allowed cells at min_spacing {min_spacing:g} m; returning "
            f"{len(samples)}. For more, pass {', '.join(loosen[:-1])}"
            f"{' or ' if len(loosen) > 1 else ''}{loosen[-1]}",
            SpawnPointsWarning, stacklevel=_caller_stacklevel())
    return samples
