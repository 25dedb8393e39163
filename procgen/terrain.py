"""Landscapes in metres: presets, continents, mountains and sea level.

A height field is built from three noise fields, all pure functions of global cell
coordinates (so chunks of a world match crops of the whole):

* the *base* field decides land and sea and carries the broad relief; an optional *falloff*
  pulls it down towards the world's edges (one continent) or away from its centre;
* a *mask* field says where mountain ranges are;
* a *ridged* field gives those ranges their crests.

Heights are float32 metres with sea level at 0. Noise scales are in metres, so a larger grid
at the same ``cell_size`` shows more world, and a smaller ``cell_size`` shows the same world in
more detail: octaves whose lattice cell would be under two grid cells are skipped, since at
that ``cell_size`` they could only alias.

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

from .noise import Fractal, NoiseConfig, fbm
from ._validate import DEFAULT_MAX_CELLS, check_enum, check_float, check_shape

__all__ = ["Falloff", "TerrainConfig", "PRESETS", "preset", "heightmap"]


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
        Height in metres of the broad relief where the base field is highest. Default 900.
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
    """

    base: NoiseConfig = NoiseConfig(scale=400_000.0, octaves=10, persistence=0.5)
    sea_threshold: float = 0.0
    falloff: Falloff = Falloff.NONE
    falloff_strength: float = 0.0
    land_height: float = 900.0
    sea_depth: float = 4000.0
    shelf_width: float = 0.15
    mountains: NoiseConfig = NoiseConfig(scale=80_000.0, octaves=8, persistence=0.5,
                                         kind=Fractal.RIDGED)
    mountain_mask: NoiseConfig = NoiseConfig(scale=200_000.0, octaves=3)
    mountain_cover: float = 0.3
    mountain_height: float = 2500.0

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


def _with_scale(cfg: NoiseConfig, scale: float, **kw) -> NoiseConfig:
    return replace(cfg, scale=scale, **kw)


_D = TerrainConfig()

#: Named presets a designer would recognise; each is just a :class:`TerrainConfig`.
PRESETS: dict[str, TerrainConfig] = {
    # One large landmass with coastal plains and a few ranges, sea all round.
    "continent": replace(_D, base=_with_scale(_D.base, 250_000.0), sea_threshold=0.0,
                         falloff=Falloff.EDGES, falloff_strength=1.2),
    # A handful of mid-sized islands in open sea.
    "islands": replace(_D, base=_with_scale(_D.base, 160_000.0), sea_threshold=0.12,
                       falloff=Falloff.EDGES, falloff_strength=0.6, land_height=600.0,
                       mountain_height=1500.0, mountains=_with_scale(_D.mountains, 60_000.0)),
    # Scores of small islands and reefs over a shallow shelf.
    "archipelago": replace(_D, base=_with_scale(_D.base, 60_000.0, persistence=0.55),
                           sea_threshold=0.18, land_height=250.0, sea_depth=1200.0,
                           shelf_width=0.4, mountain_cover=0.1, mountain_height=400.0,
                           mountains=_with_scale(_D.mountains, 30_000.0)),
    # Mostly land: high plateaus cut by long mountain ranges, little sea.
    "highlands": replace(_D, sea_threshold=-0.45, land_height=1600.0, mountain_cover=0.6,
                         mountain_height=3500.0, mountains=_with_scale(_D.mountains, 150_000.0)),
    # Low, rolling country with a long coast: river and farmland country.
    "lowlands": replace(_D, base=_with_scale(_D.base, 300_000.0, persistence=0.45),
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


def _in_cells(cfg: NoiseConfig, cell_size: float) -> NoiseConfig:
    scale = cfg.scale / cell_size
    resolvable = 1
    if scale > _FINEST_OCTAVE_CELLS and cfg.lacunarity > 1.0:
        resolvable = int(np.floor(np.log(scale / _FINEST_OCTAVE_CELLS) / np.log(cfg.lacunarity))) + 1
    return replace(cfg, scale=scale, octaves=max(1, min(cfg.octaves, resolvable)),
                   warp=cfg.warp / cell_size,
                   warp_scale=None if cfg.warp_scale is None else cfg.warp_scale / cell_size)


def _field_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0])


def _smoothstep(lo, hi, x):
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# Base-field distance above the coastline at which the broad relief reaches land_height
# (fBm's spread is about 0.2, so higher values are rare).
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
        Metres per cell, in (0, 1e6].
    seed : int
        Seed of the terrain stage (any 64-bit integer).
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
    cell_size = check_float("cell_size", cell_size, lo=0.0, hi=1e6, lo_open=True)
    world_shape = shape if world_shape is None else check_shape("world_shape", world_shape,
                                                                max_cells=None)
    cfg = config

    base = fbm(shape, config=_in_cells(cfg.base, cell_size), seed=_field_seed(seed, 0),
               origin=origin, max_cells=None)
    if cfg.falloff is Falloff.EDGES and cfg.falloff_strength > 0:
        # Raise the middle and sink the rim by the same profile, so a landmass forms whatever
        # the base field happens to average over this world.
        rim = _edge_falloff(shape, origin, world_shape)
        base += np.float32(cfg.falloff_strength) * (np.float32(_FALLOFF_PIVOT) - rim)
    e = base - np.float32(cfg.sea_threshold)

    height = np.empty(shape, np.float32)
    land = e > 0
    # Land: broad relief rises with the base field, concave near the coast for plains.
    relief = np.clip(e * np.float32(1.0 / _RELIEF_SPAN), 0.0, 1.0)
    height[:] = np.float32(cfg.land_height) * relief ** np.float32(1.5)
    if cfg.mountain_height > 0 and cfg.mountain_cover > 0:
        mask = fbm(shape, config=_in_cells(cfg.mountain_mask, cell_size),
                   seed=_field_seed(seed, 1), origin=origin, max_cells=None)
        # Mask values above this threshold are mountain country; fBm is roughly symmetric
        # with spread ~0.25, so cover maps to a threshold through its normal quantile.
        threshold = np.float32(0.25 * NormalDist().inv_cdf(min(max(1.0 - cfg.mountain_cover, 1e-6), 1 - 1e-6)))
        strength = _smoothstep(threshold - 0.05, threshold + 0.15, mask)
        ridges = fbm(shape, config=_in_cells(cfg.mountains, cell_size),
                     seed=_field_seed(seed, 2), origin=origin, max_cells=None)
        crest = np.clip((ridges + np.float32(1.0)) * np.float32(0.5), 0.0, 1.0)
        coast = _smoothstep(0.0, 0.08, e)  # ranges do not rise straight out of the sea
        height += np.float32(cfg.mountain_height) * strength * crest ** np.float32(2.0) * coast
    # Sea: continental shelf then a steep slope to the abyss.
    depth = _smoothstep(0.0, cfg.shelf_width, -e)
    sea_floor = -np.float32(cfg.sea_depth) * depth - np.float32(1.0)
    np.copyto(height, sea_floor, where=~land)
    # Land cells stay strictly above sea level so the mask and the height agree.
    np.maximum(height, np.float32(0.5), out=height, where=land)
    return height.astype(np.float32, copy=False)

