"""Landscapes in metres: presets, continents, mountains and sea level.

A height field is built from three noise fields, all pure functions of global cell
coordinates (so chunks of a world match crops of the whole):

* the *base* field decides land and sea and carries the broad relief; an optional *falloff*
  pulls it down towards the world's edges (one continent) or away from its centre;
* a *mask* field says where mountain ranges are;
* a *ridged* field gives those ranges their crests.

Heights are float32 metres with sea level at 0.

Lengths scale with the cell size
--------------------------------
A :class:`TerrainConfig`'s lengths (noise scales, warps) and heights are given *at its*
``reference_cell_size``: 500 m, the default cell size of :func:`procgen.generate_level`. At
another ``cell_size`` every length is multiplied by ``cell_size / reference_cell_size``, so
the landscape keeps its size in cells: a preset draws a whole continent (or archipelago,
...) on a 512-cell map whether a cell is 100 m or 1 km, with the same coastline in cells.
On finer grids than the reference the landscape is then smaller, and heights shrink with it
by ``(cell_size / reference_cell_size) ** relief_exponent`` (square root by default), as real
landscapes do, so slopes stay walkable instead of growing fivefold; on coarser grids heights
stay as given, since real relief stops growing with extent beyond a few hundred kilometres.
Rivers follow the same rule (:class:`procgen.rivers.RiversConfig`), so a map's river network
barely changes with the cell size; widths, depths and discharge, which depend on the real
catchment area in km^2, do.

Heights remain a pure function of global cell coordinates, seed, config and cell size (and,
with a falloff, of ``world_shape``, which is given explicitly), so chunks still equal crops.

With ``reference_cell_size=None`` lengths and heights are absolute metres instead: the world
is fixed, a larger grid at the same ``cell_size`` shows more of it and a smaller
``cell_size`` shows the same world in more detail (octaves whose lattice cell would be
under two grid cells are skipped, since they could only alias). :meth:`TerrainConfig.fixed_at`
turns a preset into such a fixed world, e.g. to zoom into the continent a 1 km map shows.

Presets
-------
Each preset states the land fraction (share of cells above sea level) of the maps it draws.
Over 60 seeds, every 256x256 and 512x512 map kept to these ranges (the land mask does not
depend on the cell size); the tests check them, and that each map has a river, at 100, 250,
500 and 1000 m per cell. Maps much smaller than 256 cells see too little of the landscape
to keep to them. Highest points are at 500 m per cell and above, over those seeds.

=============  =============  ================  ==========================================
preset         land fraction  highest point     character
=============  =============  ================  ==========================================
continent      0.12 -- 0.45   300 -- 3,100 m    one landmass, coastal plains, a few ranges
islands        0.08 -- 0.30   650 -- 1,700 m    a handful of mid-sized islands in open sea
archipelago    0.08 -- 0.30   120 -- 500 m      scores of small islands over a shallow shelf
highlands      0.85 -- 1.00   3,600 -- 4,900 m  high plateaus and long ranges, little sea
lowlands       0.50 -- 0.95   200 -- 1,000 m    low rolling country with a long coast
=============  =============  ================  ==========================================

>>> from procgen.terrain import heightmap, preset
>>> h = heightmap((5, 5), config=preset("islands"), cell_size=2000.0, seed=7)
>>> h.shape, h.dtype
((5, 5), dtype('float32'))
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from statistics import NormalDist

import numpy as np

from .noise import MAX_LATTICE_PER_CELL, Fractal, NoiseConfig, fbm, fbm_points
from ._validate import (DEFAULT_MAX_CELLS, check_cell_size, check_enum, check_float, check_seed,
                        check_shape)

__all__ = ["Falloff", "TerrainConfig", "PRESETS", "preset", "heightmap", "heights_at"]


class Falloff(enum.Enum):
    """How the base field is shaped by the world's extent.

    NONE
        Endless terrain: no dependence on the world's size (infinite worlds).
    EDGES
        Land fades out towards every edge: one landmass surrounded by sea.
    """

    NONE = "none"
    EDGES = "edges"


@dataclass(frozen=True)
class TerrainConfig:
    """Settings of the terrain stage. Lengths are metres, heights metres above sea level.

    Attributes
    ----------
    base : NoiseConfig
        Land/sea field; its ``scale`` (and ``warp``, ``warp_scale``) are in metres.
    sea_threshold : float
        Base-field value at the coastline, in [-1, 1]: higher means more sea.
    falloff : Falloff
        Shaping by the world's extent (``Falloff.EDGES`` for a single landmass).
    falloff_strength : float
        Base-field units by which the falloff lifts the world's middle (by 0.3 times this)
        and sinks its rim (by 0.7 times this), in [0, 4].
    land_height : float
        Height in metres that the broad relief approaches where the base field is highest.
        Default 900.
    sea_depth : float
        Depth in metres of the deep ocean. Default 4000.
    shelf_width : float
        Base-field distance over which the sea floor drops from the coast to ``sea_depth``.
    mountains : NoiseConfig
        Ridged field giving mountain crests; ``scale`` in metres.
    mountain_mask : NoiseConfig
        Field choosing where ranges are; ``scale`` in metres.
    mountain_cover : float
        Roughly the fraction of land under mountain ranges, in [0, 1].
    mountain_height : float
        Extra height in metres of the highest crests. Default 2500.
    reference_cell_size : float or None
        Cell size in metres at which the lengths and heights above hold, in (0, 1e6]; at
        another ``cell_size`` lengths are multiplied by ``cell_size / reference_cell_size``,
        so the landscape keeps its size in cells, and heights as ``relief_exponent`` says.
        Default 500. None: lengths and heights are absolute metres (a fixed world that
        ``cell_size`` zooms into; see :meth:`fixed_at`).
    relief_exponent : float
        At cell sizes under ``reference_cell_size``, heights and depths are multiplied by
        ``(cell_size / reference_cell_size) ** relief_exponent``, in [0, 1]: 0 keeps them,
        1 keeps slopes. Default 0.5, so a landscape five times smaller is about 2.2 times
        lower, as real ones are, instead of five times steeper. Above the reference cell
        size heights stay as given: real relief stops growing with extent beyond a few
        hundred kilometres.
    """

    base: NoiseConfig = NoiseConfig(scale=100_000.0, octaves=10, persistence=0.5)
    sea_threshold: float = 0.0
    falloff: Falloff = Falloff.NONE
    falloff_strength: float = 0.0
    land_height: float = 900.0
    sea_depth: float = 4000.0
    shelf_width: float = 0.15
    mountains: NoiseConfig = NoiseConfig(scale=40_000.0, octaves=8, persistence=0.5,
                                         kind=Fractal.RIDGED)
    mountain_mask: NoiseConfig = NoiseConfig(scale=100_000.0, octaves=3)
    mountain_cover: float = 0.3
    mountain_height: float = 2500.0
    reference_cell_size: float | None = 500.0
    relief_exponent: float = 0.5

    def __post_init__(self):
        for name in ("base", "mountains", "mountain_mask"):
            if not isinstance(getattr(self, name), NoiseConfig):
                raise TypeError(f"{name} must be a NoiseConfig, got {getattr(self, name)!r}")
        check_float("sea_threshold", self.sea_threshold, lo=-1.0, hi=1.0)
        object.__setattr__(self, "falloff", check_enum("falloff", self.falloff, Falloff))
        check_float("falloff_strength", self.falloff_strength, lo=0.0, hi=4.0)
        check_float("land_height", self.land_height, lo=0.0, hi=20_000.0)
        check_float("sea_depth", self.sea_depth, lo=0.0, hi=20_000.0)
        check_float("shelf_width", self.shelf_width, lo=0.0, hi=2.0, lo_open=True)
        check_float("mountain_cover", self.mountain_cover, lo=0.0, hi=1.0)
        check_float("mountain_height", self.mountain_height, lo=0.0, hi=20_000.0)
        if self.reference_cell_size is not None:
            check_float("reference_cell_size", self.reference_cell_size, lo=0.0, hi=1e6,
                        lo_open=True)
        check_float("relief_exponent", self.relief_exponent, lo=0.0, hi=1.0)

    def height_scale(self, cell_size: float) -> float:
        """Factor applied to ``land_height``, ``mountain_height`` and ``sea_depth`` at
        ``cell_size`` (1 when ``reference_cell_size`` is None or ``cell_size`` is at least it).

        Examples
        --------
        >>> from procgen.terrain import preset
        >>> [round(preset("continent").height_scale(c), 3) for c in (100.0, 500.0, 1000.0)]
        [0.447, 1.0, 1.0]
        """
        cell_size = check_cell_size(cell_size)
        if self.reference_cell_size is None or cell_size >= self.reference_cell_size:
            return 1.0
        return (cell_size / self.reference_cell_size) ** self.relief_exponent

    def fixed_at(self, cell_size: float) -> "TerrainConfig":
        """This config's landscape at ``cell_size``, with its lengths fixed in metres.

        The result has ``reference_cell_size=None``, and lengths and heights scaled for
        ``cell_size``: there it draws (up to rounding) what this config draws, and at other
        cell sizes it samples the same world more or less densely instead of drawing the
        landscape anew.

        Parameters
        ----------
        cell_size : float
            Metres per cell at which to fix the landscape, in [0.001, 1e6].

        Examples
        --------
        >>> import numpy as np
        >>> from procgen.terrain import heightmap, preset
        >>> world = preset("lowlands").fixed_at(1000.0)     # lowlands as a 1 km map shows them
        >>> world.base.scale, world.reference_cell_size
        (120000.0, None)
        >>> coarse = heightmap((64, 64), config=world, cell_size=1000.0, seed=5)
        >>> drawn = heightmap((64, 64), config=preset("lowlands"), cell_size=1000.0, seed=5)
        >>> bool(np.allclose(coarse, drawn, atol=0.01))
        True
        >>> fine = heightmap((128, 128), config=world, cell_size=500.0, seed=5)  # zoom in
        >>> bool(np.mean((coarse > 0) == (fine[::2, ::2] > 0)) > 0.9)
        True
        """
        cell_size = check_cell_size(cell_size)
        if self.reference_cell_size is None:
            return self
        k = cell_size / self.reference_cell_size
        lift = self.height_scale(cell_size)
        return replace(self, base=_scaled(self.base, k), mountains=_scaled(self.mountains, k),
                       mountain_mask=_scaled(self.mountain_mask, k), reference_cell_size=None,
                       land_height=self.land_height * lift, sea_depth=self.sea_depth * lift,
                       mountain_height=self.mountain_height * lift)


def _scaled(cfg: NoiseConfig, k: float) -> NoiseConfig:
    return replace(cfg, scale=cfg.scale * k, warp=cfg.warp * k,
                   warp_scale=None if cfg.warp_scale is None else cfg.warp_scale * k)


def _with_scale(cfg: NoiseConfig, scale: float, **kw) -> NoiseConfig:
    return replace(cfg, scale=scale, **kw)


_D = TerrainConfig()

#: Named presets a designer would recognise; each is just a :class:`TerrainConfig`. Their
#: lengths hold at 500 m per cell and scale with the cell size (see the module notes); they
#: are chosen so that a 256x256 map already holds the whole character of the preset (first
#: octaves of 50 to 200 cells), which the land-fraction table above states.
PRESETS: dict[str, TerrainConfig] = {
    # One large landmass with coastal plains and a few ranges, sea all round.
    "continent": replace(_D, falloff=Falloff.EDGES, falloff_strength=1.8),
    # A handful of mid-sized islands in open sea.
    "islands": replace(_D, base=_with_scale(_D.base, 30_000.0), sea_threshold=0.1,
                       falloff=Falloff.EDGES, falloff_strength=0.5, land_height=600.0,
                       mountain_height=1500.0, mountains=_with_scale(_D.mountains, 30_000.0),
                       mountain_mask=_with_scale(_D.mountain_mask, 60_000.0)),
    # Scores of small islands and reefs over a shallow shelf.
    "archipelago": replace(_D, base=_with_scale(_D.base, 25_000.0, persistence=0.55),
                           sea_threshold=0.16, land_height=250.0, sea_depth=1200.0,
                           shelf_width=0.4, mountain_cover=0.1, mountain_height=400.0,
                           mountains=_with_scale(_D.mountains, 15_000.0),
                           mountain_mask=_with_scale(_D.mountain_mask, 60_000.0)),
    # Mostly land: high plateaus cut by long mountain ranges, little sea.
    "highlands": replace(_D, sea_threshold=-0.35, land_height=1600.0, mountain_cover=0.6,
                         mountain_height=3500.0, mountains=_with_scale(_D.mountains, 50_000.0)),
    # Low, rolling country with a long coast: river and farmland country.
    "lowlands": replace(_D, base=_with_scale(_D.base, 60_000.0, persistence=0.45),
                        sea_threshold=-0.1, land_height=300.0, mountain_cover=0.08,
                        mountain_height=900.0, shelf_width=0.3),
}


def preset(name: str) -> TerrainConfig:
    """Return the :class:`TerrainConfig` of a named preset.

    Parameters
    ----------
    name : str
        One of ``PRESETS`` (``'continent'``, ``'islands'``, ``'archipelago'``,
        ``'highlands'``, ``'lowlands'``).

    Examples
    --------
    >>> from procgen.terrain import preset
    >>> preset("continent").falloff
    <Falloff.EDGES: 'edges'>
    """
    if not isinstance(name, str) or name not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(map(repr, PRESETS))}, got {name!r}")
    return PRESETS[name]


# Octaves whose lattice cell is smaller than this many grid cells only alias: skip them.
_FINEST_OCTAVE_CELLS = 2.0


def _in_cells(cfg: NoiseConfig, metres_per_cell: float, name: str) -> NoiseConfig:
    """``cfg`` (config field ``name``, lengths in metres) with lengths in cells and only the
    octaves the grid resolves; refuses lengths :func:`fbm` would not draw."""
    lengths = {"scale": cfg.scale}
    if cfg.warp_scale is not None and cfg.warp > 0:
        lengths["warp_scale"] = cfg.warp_scale
    for param, length in lengths.items():
        if not np.isfinite(length / metres_per_cell):
            raise ValueError(f"config.{name}.{param} must be a finite number of cells, got "
                             f"{length:g} m at {metres_per_cell:g} m per cell")
    scale = cfg.scale / metres_per_cell
    octaves = 1
    if scale > _FINEST_OCTAVE_CELLS and cfg.lacunarity > 1.0:
        resolvable = int(np.floor(np.log(scale / _FINEST_OCTAVE_CELLS) / np.log(cfg.lacunarity))) + 1
        octaves = max(1, min(cfg.octaves, resolvable))
    # Only a first octave under 1/16 cell (or a fine warp lattice) can fail here: the
    # octaves kept above are at least 2 cells.
    least = cfg.lacunarity ** (octaves - 1) / MAX_LATTICE_PER_CELL * metres_per_cell
    for param, length in lengths.items():
        if length < least:
            raise ValueError(
                f"config.{name}.{param} must be at least {least:g} m at {metres_per_cell:g} m "
                f"per cell (a lattice of at most {MAX_LATTICE_PER_CELL} cells per grid cell), "
                f"got {length:g} m")
    return replace(cfg, scale=scale, octaves=octaves, warp=cfg.warp / metres_per_cell,
                   warp_scale=None if cfg.warp_scale is None else cfg.warp_scale / metres_per_cell)


def _has_mountains(cfg: TerrainConfig) -> bool:
    return cfg.mountain_height > 0 and cfg.mountain_cover > 0


def _field_seed(seed: int, index: int) -> int:
    """Integer key of noise field ``index`` (0 base, 1 mountain mask, 2 ridges) of the terrain
    keyed ``seed``.

    The noise kernels hash lattice coordinates with an integer key (splitmix64), and
    :func:`heightmap` is a pure function of an integer seed and global cell coordinates (so
    that chunks of one map agree), so keys stay integers here; the pipeline hands the
    terrain stage a SeedSequence and turns it into an integer once
    (:func:`procgen.pipeline.terrain_stage`). The hash is the one levels have always used
    (``tests/data/levels`` pins it).
    """
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0])


def _smoothstep(lo, hi, x):
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# Base-field distance above the coastline over which the broad relief rises: there it is
# tanh(1) ** 1.5 = 0.66 of land_height, which it approaches further inland (fBm's spread is
# about 0.2, so only a falloff lifts the base field much beyond this).
_RELIEF_SPAN = 0.45

# Fraction of the way to the rim (in squared distance) where the falloff neither raises nor sinks.
_FALLOFF_PIVOT = 0.3


def _edge_falloff(shape, origin, world_shape):
    """0 in the middle of the world, 1 at its edges (squared, rounded-square distance)."""
    rows = (np.arange(origin[0], origin[0] + shape[0], dtype=np.float32) + 0.5) / world_shape[0]
    cols = (np.arange(origin[1], origin[1] + shape[1], dtype=np.float32) + 0.5) / world_shape[1]
    dr = np.abs(2.0 * rows - 1.0)[:, None]
    dc = np.abs(2.0 * cols - 1.0)[None, :]
    # An L4 norm: rounder than a square, fuller than a circle, so land reaches the corners less.
    d = (dr ** 4 + dc ** 4) ** 0.25
    return np.clip(d, 0.0, 1.0) ** 2


def heightmap(shape, *, config: TerrainConfig, cell_size: float, seed: int, origin=(0, 0),
              world_shape=None, max_cells=DEFAULT_MAX_CELLS) -> np.ndarray:
    """Generate terrain heights in metres.

    Parameters
    ----------
    shape : int or (int, int)
        Grid size ``(rows, cols)``.
    config : TerrainConfig
        The terrain settings (see :func:`preset`).
    cell_size : float
        Metres per cell, in [0.001, 1e6]. With the config's ``reference_cell_size`` set, lengths
        scale with it, so the landscape keeps its size in cells (and its heights shrink on
        grids finer than the reference; see the module notes); with None, it sets how
        densely a fixed world is sampled.
    seed : int
        Seed of the terrain stage: any 64-bit integer, -2**63..2**64-1 (negative seeds wrap
        modulo 2**64).
    origin : (int, int), optional
        Global cell of ``out[0, 0]``; chunks of one world use the same ``world_shape``.
    world_shape : (int, int), optional
        Extent of the whole world in cells, used by the falloff; defaults to ``shape``.
    max_cells : int or None, optional
        Refuse grids larger than this (default 8192**2); None lifts the cap.

    Returns
    -------
    numpy.ndarray
        float32 heights of ``shape`` in metres, sea level at 0.

    Raises
    ------
    ValueError
        If a noise field's ``scale`` (or ``warp_scale``) in cells is so small that its
        lattice would have more than 16 cells per grid cell
        (:data:`procgen.noise.MAX_LATTICE_PER_CELL`); octaves finer than 2 grid cells are
        skipped, so only a first octave that small is refused.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.terrain import heightmap, preset
    >>> world = heightmap((64, 64), config=preset("continent"), cell_size=4000.0, seed=1)
    >>> chunk = heightmap((32, 32), config=preset("continent"), cell_size=4000.0, seed=1,
    ...                   origin=(32, 0), world_shape=(64, 64))
    >>> bool(np.array_equal(chunk, world[32:, :32]))
    True
    """
    shape = check_shape("shape", shape, max_cells=max_cells)
    if not isinstance(config, TerrainConfig):
        raise TypeError(f"config must be a TerrainConfig, got {type(config).__name__}")
    cell_size = check_cell_size(cell_size)
    seed = check_seed("seed", seed)
    world_shape = shape if world_shape is None else check_shape("world_shape", world_shape,
                                                                max_cells=None)
    fields, lifts = _field_plan(config, cell_size)

    def sample(name, index):
        return fbm(shape, config=fields[name], seed=_field_seed(seed, index), origin=origin,
                   max_cells=None)

    base = sample("base", 0)
    if config.falloff is Falloff.EDGES and config.falloff_strength > 0:
        # Raise the middle and sink the rim by the same profile, so a landmass forms whatever
        # the base field happens to average over this world.
        rim = _edge_falloff(shape, origin, world_shape)
        base += np.float32(config.falloff_strength) * (np.float32(_FALLOFF_PIVOT) - rim)
    return _compose(config, base, lambda: sample("mountain_mask", 1),
                    lambda: sample("mountains", 2), lifts)


def _field_plan(cfg: TerrainConfig, cell_size: float):
    """The noise fields a config draws, with lengths in cells, and its lifted heights
    ``(land_height, mountain_height, sea_depth)`` at ``cell_size``."""
    # Lengths are metres at the reference cell size: dividing by it (not by cell_size) puts
    # them in cells, so the landscape is the same in cells at every cell_size; only the
    # heights scale, by one factor.
    unit = cell_size if cfg.reference_cell_size is None else cfg.reference_cell_size
    drawn = ("base", "mountain_mask", "mountains") if _has_mountains(cfg) else ("base",)
    fields = {name: _in_cells(getattr(cfg, name), unit, name) for name in drawn}
    lift = cfg.height_scale(cell_size)
    lifts = tuple(np.float32(h * lift) for h in (cfg.land_height, cfg.mountain_height,
                                                 cfg.sea_depth))
    return fields, lifts


def heights_at(rows, cols, *, config: TerrainConfig, cell_size: float, seed: int,
               base_shift=None) -> np.ndarray:
    """Terrain heights at single cells: what :func:`heightmap` (without a falloff) gives
    there, to float32 rounding (the noise is summed point by point, not along rows).

    For sparse samples of a large world (a coarse grid, the cells along a river) without
    drawing the grid around them.

    Parameters
    ----------
    rows, cols : array_like of int
        Global cell coordinates, broadcast together.
    config, cell_size, seed
        As for :func:`heightmap`; the config's falloff is not applied.
    base_shift : array_like of float, optional
        Added to the base field at each point before the coastline is drawn (a caller's own
        falloff).

    Returns
    -------
    numpy.ndarray
        float32 heights, the broadcast shape.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.terrain import heightmap, heights_at, preset
    >>> cfg = preset("lowlands")
    >>> grid = heightmap((16, 16), config=cfg, cell_size=1000.0, seed=2)
    >>> at = heights_at([3, 9], [4, 12], config=cfg, cell_size=1000.0, seed=2)
    >>> bool(np.allclose(at, grid[[3, 9], [4, 12]], atol=1e-2))
    True
    """
    if not isinstance(config, TerrainConfig):
        raise TypeError(f"config must be a TerrainConfig, got {type(config).__name__}")
    cell_size = check_cell_size(cell_size)
    seed = check_seed("seed", seed)
    rows, cols = np.broadcast_arrays(np.asarray(rows, np.float64), np.asarray(cols, np.float64))
    fields, lifts = _field_plan(config, cell_size)

    def sample(name, index):
        cfg = fields[name]
        if cfg.warp:
            raise ValueError(f"config.{name}.warp must be 0 for point sampling, got {cfg.warp:g}")
        return fbm_points(rows, cols, config=cfg, seed=_field_seed(seed, index))

    base = sample("base", 0)
    if base_shift is not None:
        base = base + np.asarray(base_shift, np.float32)
    return _compose(config, base, lambda: sample("mountain_mask", 1),
                    lambda: sample("mountains", 2), lifts)


def _compose(cfg: TerrainConfig, base, mask_of, ridges_of, lifts) -> np.ndarray:
    """Heights from the base field (falloff applied) and, when the config has mountains,
    the mask and ridge fields (``mask_of()``, ``ridges_of()``: drawn only then)."""
    land_height, mountain_height, sea_depth = lifts
    e = base - np.float32(cfg.sea_threshold)
    height = np.empty(e.shape, np.float32)
    land = e > 0
    # Land: broad relief rises with the base field, concave near the coast for plains. tanh,
    # not a clip: where a falloff lifts a landmass's middle, a clip left a dead-flat plateau
    # on which rivers ran in straight parallel lines.
    relief = np.tanh(np.maximum(e, np.float32(0.0)) * np.float32(1.0 / _RELIEF_SPAN))
    height[:] = land_height * relief ** np.float32(1.5)
    if _has_mountains(cfg):
        mask = mask_of()
        # Mask values above this threshold are mountain country; fBm is roughly symmetric
        # with spread ~0.25, so cover maps to a threshold through its normal quantile.
        threshold = np.float32(0.25 * NormalDist().inv_cdf(min(max(1.0 - cfg.mountain_cover, 1e-6), 1 - 1e-6)))
        strength = _smoothstep(threshold - 0.05, threshold + 0.15, mask)
        ridges = ridges_of()
        crest = np.clip((ridges + np.float32(1.0)) * np.float32(0.5), 0.0, 1.0)
        coast = _smoothstep(0.0, 0.08, e)  # ranges do not rise straight out of the sea
        height += mountain_height * strength * crest ** np.float32(2.0) * coast
    # Sea: continental shelf then a steep slope to the abyss.
    depth = _smoothstep(0.0, cfg.shelf_width, -e)
    sea_floor = -sea_depth * depth - np.float32(1.0)
    np.copyto(height, sea_floor, where=~land)
    # Land cells stay strictly above sea level so the mask and the height agree.
    np.maximum(height, np.float32(0.5), out=height, where=land)
    return height.astype(np.float32, copy=False)

