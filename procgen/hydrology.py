"""Hydrology: depression filling, flow directions, flow accumulation, lakes, rivers, carving.

The pipeline a river network needs, on float32 ``[row, col]`` grids::

    filled = fill_depressions(height, outlets=sea)        # every cell drains somewhere
    directions = flow_directions(filled, outlets=sea)     # D8 steepest descent, int8 codes
    area = flow_accumulation(directions)                  # cells drained through each cell

D8 codes point to ``(row + DR[k], col + DC[k])`` with ``DR``/``DC`` below (0 = east, then
counter-clockwise as seen on a north-up map: 1 north-east, 2 north, ... 7 south-east);
-1 marks an outlet (map edge, sea, no-data).

>>> import numpy as np
>>> from procgen.hydrology import fill_depressions, flow_directions, flow_accumulation
>>> h = np.array([[5, 5, 5, 5],
...               [5, 1, 2, 5],
...               [5, 3, 4, 0]], np.float32)   # a pit at (1, 1) spilling over (1, 2)
>>> filled = fill_depressions(h)
>>> bool(2.0 < filled[1, 1] < 2.001)
True
>>> directions = flow_directions(filled)
>>> directions.tolist()
[[7, 6, 6, 5], [0, 0, 7, 6], [1, 2, 0, -1]]
>>> flow_accumulation(directions).tolist()
[[1.0, 1.0, 1.0, 1.0], [1.0, 6.0, 9.0, 1.0], [1.0, 1.0, 1.0, 12.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._kernels import hydrology as _hk
from ._units import area_cells
from ._validate import check_cell_size, check_float, check_int, check_max_cells

__all__ = ["DR", "DC", "fill_depressions", "flow_directions", "flow_accumulation",
           "label_lakes", "HydrologyConfig", "Drainage", "drain"]

DR = _hk.DR
DC = _hk.DC


def _check_grid(name: str, value, *, allow_nan: bool = True) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if np.isinf(arr).any():
        raise ValueError(f"{name} must not contain inf (use NaN for no-data)")
    if not allow_nan and np.isnan(arr).any():
        raise ValueError(f"{name} must not contain NaN")
    return arr


def _check_mask(name: str, value, shape) -> np.ndarray:
    if value is None:
        return np.zeros(shape, np.bool_)
    mask = np.asarray(value)
    if mask.shape != shape or mask.dtype != np.bool_:
        raise ValueError(f"{name} must be a bool array of shape {shape}, got "
                         f"{mask.dtype} {mask.shape}")
    return np.ascontiguousarray(mask)


def fill_depressions(height, *, outlets=None) -> np.ndarray:
    """Raise every depression to its spill level, plus a float32 epsilon gradient.

    Priority-Flood+epsilon (Barnes, Lehman & Mulla 2014): the result is the lowest surface
    with no pits, nudged up by one float32 step (``numpy.nextafter``) per cell across flats
    and filled depressions, so that **every cell has a strictly lower neighbour** on a path to
    an outlet: flow directions never meet a flat.

    Parameters
    ----------
    height : array_like, shape (R, C)
        Heights (converted to float32). NaN marks no-data: kept as NaN and treated as a drain
        (its neighbours are outlets, like the map edge).
    outlets : numpy.ndarray of bool, shape (R, C), optional
        Further cells that drain away by definition, e.g. the sea. The map edge always drains.

    Returns
    -------
    numpy.ndarray
        float32 filled heights, ``>= height`` everywhere.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.hydrology import fill_depressions
    >>> h = np.array([[3, 3, 3], [3, 1, 3], [3, 2, 3]], np.float32)
    >>> f = fill_depressions(h)
    >>> bool(f[1, 1] > 2.0 and f[1, 1] < 2.001)   # raised just above its spill level (2)
    True
    """
    dem = _check_grid("height", height)
    seeds = _check_mask("outlets", outlets, dem.shape)
    out = np.empty_like(dem)
    _hk.priority_flood_epsilon(dem, seeds, out)
    return out


def flow_directions(filled, *, outlets=None) -> np.ndarray:
    """D8 steepest-descent direction of every cell (O'Callaghan & Mark 1984).

    Parameters
    ----------
    filled : array_like, shape (R, C)
        A depression-free surface (see :func:`fill_depressions`).
    outlets : numpy.ndarray of bool, shape (R, C), optional
        Cells that do not flow on (sea): they get -1.

    Returns
    -------
    numpy.ndarray
        int8 codes 0..7 (see the module docstring), -1 where no neighbour is strictly lower.
        The slope to a diagonal neighbour is its drop divided by sqrt(2); exact ties go to the
        lowest code.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.hydrology import flow_directions
    >>> flow_directions(np.array([[2, 1, 0]], np.float32)).tolist()
    [[0, 0, -1]]
    """
    dem = _check_grid("filled", filled)
    seeds = _check_mask("outlets", outlets, dem.shape)
    out = np.empty(dem.shape, np.int8)
    _hk.d8_directions(dem, seeds, out)
    return out


def _check_directions(directions) -> np.ndarray:
    d = np.asarray(directions)
    if d.ndim != 2 or d.dtype != np.int8:
        raise ValueError(f"directions must be a 2-D int8 array of D8 codes, got {d.dtype} "
                         f"with shape {d.shape}")
    if d.size and (d.min() < -1 or d.max() > 7):
        raise ValueError(f"directions must hold codes -1..7, got values "
                         f"{int(d.min())}..{int(d.max())}")
    d = np.ascontiguousarray(d)
    nr, nc = d.shape
    # Only border cells can point off the grid: check those, not the whole array.
    border = [(0, c) for c in range(nc)] + [(nr - 1, c) for c in range(nc)]
    border += [(r, 0) for r in range(nr)] + [(r, nc - 1) for r in range(nr)]
    rows, cols = np.array(border, np.int64).T
    k = d[rows, cols].astype(np.int64)
    tr, tc = rows + DR[np.maximum(k, 0)], cols + DC[np.maximum(k, 0)]
    off = (k >= 0) & ((tr < 0) | (tr >= nr) | (tc < 0) | (tc >= nc))
    if off.any():
        raise ValueError(f"directions point off the grid at (row, col) = "
                         f"({rows[off][0]}, {cols[off][0]}); edge cells must flow inward or be -1")
    return d


def flow_accumulation(directions, weights=None) -> np.ndarray:
    """Sum of ``weights`` over each cell and every cell upstream of it.

    Parameters
    ----------
    directions : numpy.ndarray of int8, shape (R, C)
        D8 codes from :func:`flow_directions`.
    weights : array_like, shape (R, C), optional
        Per-cell contribution, e.g. rainfall; default 1 (the result counts cells).

    Returns
    -------
    numpy.ndarray
        float64 accumulation of shape (R, C).

    Raises
    ------
    ValueError
        If the directions contain a cycle (they cannot come from a filled surface).

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.hydrology import flow_accumulation
    >>> flow_accumulation(np.array([[0, 0, -1]], np.int8)).tolist()
    [[1.0, 2.0, 3.0]]
    """
    d = _check_directions(directions)
    if weights is None:
        w = np.ones(d.size, np.float64)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != d.shape:
            raise ValueError(f"weights must have shape {d.shape}, got {w.shape}")
        if not np.all(np.isfinite(w)):
            raise ValueError("weights must be finite")
        w = np.ascontiguousarray(w).ravel()
    out = np.empty(d.size, np.float64)
    done = _hk.accumulate(d, w, out)
    if done != d.size:
        raise ValueError(f"directions contain a cycle: {d.size - done} cells never drain")
    return out.reshape(d.shape)


def label_lakes(height, filled, *, min_depth=0.0):
    """Label the filled depressions (lakes) of a surface.

    Parameters
    ----------
    height, filled : numpy.ndarray, shape (R, C)
        Original and filled surfaces (float32).
    min_depth : float, optional
        Cells filled by more than this (metres) count as lake; the epsilon gradient alone
        never makes a lake.

    Returns
    -------
    labels : numpy.ndarray of int32
        0 off lakes, 1..K on the K lakes (8-connected).
    count : int
        K.
    """
    mask = (filled - height) > max(float(min_depth), 0.0)
    labels = np.zeros(mask.shape, np.int32)
    count = _hk.label_components(np.ascontiguousarray(mask), labels)
    return labels, int(count)


SECONDS_PER_YEAR = 365.25 * 24 * 3600


@dataclass(frozen=True)
class HydrologyConfig:
    """Settings of the hydrology stage.

    Attributes
    ----------
    lake_min_depth : float
        Metres a depression must be filled by to hold a lake; shallower pits are filled in
        and drain across. Default 2.
    lake_max_area_km2 : float
        Largest lake that fills to its brim and overflows. A basin that would hold a larger
        lake keeps only a terminal lake of this area in its lowest ground, which the basin
        drains into and which has no outflow (like the Caspian or the Great Salt Lake).
        Default 3000 km^2.
    runoff : float
        Metres of water per year that reach the rivers from each cell (precipitation less
        evaporation); sets discharge in m^3/s. Default 0.3 (about the global mean).
    """

    lake_min_depth: float = 2.0
    lake_max_area_km2: float = 3000.0
    runoff: float = 0.3

    def __post_init__(self):
        check_float("lake_min_depth", self.lake_min_depth, lo=0.0, hi=10_000.0)
        check_float("lake_max_area_km2", self.lake_max_area_km2, lo=0.0, lo_open=True)
        check_float("runoff", self.runoff, lo=0.0, hi=20.0, lo_open=True)


@dataclass(eq=False)
class Drainage:
    """Where water goes on a landscape: the result of the hydrology stage.

    Attributes
    ----------
    height : numpy.ndarray
        float32 conditioned heights: lakes keep their beds, every other depression is filled
        (with the epsilon gradient), so following ``directions`` never climbs.
    filled : numpy.ndarray
        float32 fully filled surface (lakes at their spill level).
    directions : numpy.ndarray
        int8 D8 codes on ``filled``; -1 at outlets (sea, map edge).
    accumulation : numpy.ndarray
        float64 cells drained through each cell (itself included).
    sea, lakes : numpy.ndarray
        bool sea mask (height <= 0) and int32 lake labels (0 = no lake).
    cell_size : float
        Metres per cell of the grid this drainage describes (a record, like
        ``Level.cell_size``: river generators, which receive only the drainage, read it; the
        pipeline's stages take the context's).
    runoff : float
        Metres per year of runoff, for discharge.
    """

    height: np.ndarray
    filled: np.ndarray
    directions: np.ndarray
    accumulation: np.ndarray
    sea: np.ndarray
    lakes: np.ndarray
    cell_size: float
    runoff: float

    @property
    def water(self) -> np.ndarray:
        """bool: sea or lake."""
        return self.sea | (self.lakes > 0)

    def discharge(self, cells_drained):
        """Mean discharge in m^3/s of a channel draining ``cells_drained`` cells."""
        return (np.asarray(cells_drained, dtype=np.float64) * self.cell_size ** 2
                * self.runoff / SECONDS_PER_YEAR)

    def flow_path(self, row: int, col: int, *, max_cells: int | None = None) -> np.ndarray:
        """Cells from ``(row, col)`` downstream to the first water cell or outlet, inclusive,
        at most ``max_cells`` of them (None: the grid's cell count, which every path fits).

        Returns an ``(M, 2)`` int64 array of ``(row, col)``.
        """
        nr, nc = self.directions.shape
        row = check_int("row", row, lo=0, hi=nr - 1)
        col = check_int("col", col, lo=0, hi=nc - 1)
        max_cells = check_max_cells("max_cells", max_cells)
        return _hk.flow_path(self.directions, self.water, row * nc + col,
                             nr * nc if max_cells is None else min(max_cells, nr * nc))


def _terminal_lakes(dem, lakes, count, max_cells):
    """The lowest ``max_cells`` cells of every lake that would be larger than that."""
    terminal = np.zeros(dem.shape, np.bool_)
    if count == 0:
        return terminal
    sizes = np.bincount(lakes.ravel(), minlength=count + 1)
    for label in np.flatnonzero(sizes > max_cells):
        if label == 0:
            continue
        cells = np.flatnonzero(lakes.ravel() == label)
        lowest = cells[np.argsort(dem.ravel()[cells], kind="stable")[:max_cells]]
        terminal.ravel()[lowest] = True
    return terminal


def drain(height, *, cell_size: float, config: HydrologyConfig = HydrologyConfig()) -> Drainage:
    """Run the hydrology stage on a terrain: fill, route, accumulate, find lakes.

    The sea (cells at or below 0 m) is the outlet; depressions on land fill up to their
    spill level, and those deeper than ``config.lake_min_depth`` become lakes.

    Parameters
    ----------
    height : array_like, shape (R, C)
        Terrain heights in metres, sea level 0 (NaN = no-data, drains like the edge).
    cell_size : float
        Metres per cell.
    config : HydrologyConfig, optional

    Returns
    -------
    Drainage

    Examples
    --------
    >>> from procgen.terrain import heightmap, preset
    >>> from procgen.hydrology import drain
    >>> h = heightmap((64, 64), config=preset("lowlands"), cell_size=2000.0, seed=1)
    >>> d = drain(h, cell_size=2000.0)
    >>> int(d.accumulation[d.directions == -1].sum()) == h.size   # all water ends somewhere
    True
    """
    dem = _check_grid("height", height)
    cell_size = check_cell_size(cell_size)
    if not isinstance(config, HydrologyConfig):
        raise TypeError(f"config must be a HydrologyConfig, got {type(config).__name__}")
    sea = dem <= 0
    filled = fill_depressions(dem, outlets=sea)
    lakes, count = label_lakes(dem, filled, min_depth=config.lake_min_depth)
    # No lake holds more cells than the grid: clamping keeps a huge area (1e308 km^2 passes
    # the config's check) from overflowing the conversion to int.
    max_lake_cells = min(area_cells(config.lake_max_area_km2, cell_size), float(dem.size))
    terminal = _terminal_lakes(dem, lakes, count, max(1, int(max_lake_cells)))
    outlets = sea
    if terminal.any():
        # Terminal lakes swallow their basins' water: refill with them as outlets.
        outlets = sea | terminal
        filled = fill_depressions(dem, outlets=outlets)
        lakes = np.zeros(dem.shape, np.int32)
        _hk.label_components((filled - dem > config.lake_min_depth) | terminal, lakes)
    lakes[sea] = 0
    # Keep lake beds; everywhere else take the filled surface, so every land cell drains.
    conditioned = np.where(lakes > 0, dem, filled)
    directions = flow_directions(filled, outlets=outlets)
    accumulation = flow_accumulation(directions)
    return Drainage(height=conditioned, filled=filled, directions=directions,
                    accumulation=accumulation, sea=sea, lakes=lakes, cell_size=cell_size,
                    runoff=config.runoff)
