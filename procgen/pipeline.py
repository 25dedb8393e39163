"""The level pipeline: named stages, one context, one random stream per stage.

::

    seed ──SeedSequence──┬─ terrain ─── heights ──┐
                         ├─ erosion ─── heights ──┤ (draws nothing)
                         ├─ hydrology ─ Drainage ─┤ (draws nothing)
                         ├─ rivers ─┬─ shapes     ├─ list[River]
                         │          └─ sources    │
                         ├─ carve ───── heights ──┤ (draws nothing)
                         └─ biomes ──── biomes ───┘ (draws nothing)

Each stage is a plain function ``(context, inputs..., its config section, its stream) ->
output``. The :class:`Context` is built once, at the boundary (:func:`context`): it holds the
checked shape, cell size and seed, the one metres <-> cells conversion, and the stages'
:class:`numpy.random.SeedSequence` streams, spawned once from the root seed and handed on as
sequences (or Generators), never turned into integers and back. Child ``i`` of the root
sequence depends on ``i`` alone, so adding a stream never moves another.

:func:`run` runs the stages in order; a :class:`StageCache` lets a caller (the viewer) keep
terrain, erosion and drainage and rerun only the river stages when only the river generator
changes.

>>> from procgen.pipeline import context, run
>>> from procgen.level import LevelConfig
>>> ctx = context(seed=7, shape=(32, 32), cell_size=2000.0)
>>> out = run(ctx, LevelConfig.from_preset("islands"))
>>> out.height.shape, out.biomes.dtype
((32, 32), dtype('uint8'))
>>> ctx.cells(4000.0), ctx.metres(3)
(2.0, 6000.0)
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np

from . import _units, terrain as _terrain
from ._validate import DEFAULT_MAX_CELLS, check_cell_size, check_seed, check_shape
from .biomes import BiomesConfig, assign_biomes
from .erosion import ErosionConfig, erode
from .hydrology import Drainage, HydrologyConfig, drain
from .rivers import RiverGenerator, RiversConfig, carve_rivers, get_generator

__all__ = ["STAGES", "STREAMS", "Context", "context", "Result", "StageCache", "run",
           "terrain_stage", "erosion_stage", "hydrology_stage", "rivers_stage", "carve_stage",
           "biomes_stage"]

#: The stages, in the order :func:`run` runs them.
STAGES = ("terrain", "erosion", "hydrology", "rivers", "carve", "biomes")
#: Which child of the root SeedSequence each stage's stream is. The first four are the
#: order of the version-1 pipeline (so its levels are unchanged); carve and erosion came
#: later.
STREAMS = {"terrain": 0, "hydrology": 1, "rivers": 2, "biomes": 3, "carve": 4, "erosion": 5}
#: The rivers stream's children: shapes (what a shape generator samples), sources (where
#: shapes are placed), so changing ``count`` or the generator leaves the other untouched.
RIVER_STREAMS = ("shapes", "sources", "meanders")


@dataclass(frozen=True, eq=False)
class Context:
    """What every stage shares: grid, cell size, seed and streams, checked once.

    Build it with :func:`context`.

    Attributes
    ----------
    seed : int
        Root seed, 0..2**64-1.
    shape : (int, int)
        Grid ``(rows, cols)``.
    cell_size : float
        Metres per cell.
    streams : dict of str to numpy.random.SeedSequence
        Each stage's stream (see :data:`STREAMS`).
    """

    seed: int
    shape: tuple
    cell_size: float
    streams: dict = field(repr=False)

    def cells(self, metres):
        """Metres as cells of this grid."""
        return _units.cells(metres, self.cell_size)

    def metres(self, cells):
        """Cells of this grid as metres."""
        return _units.metres(cells, self.cell_size)

    def stream(self, stage: str) -> np.random.SeedSequence:
        """The SeedSequence of ``stage``."""
        return self.streams[stage]

    def rng(self, stage: str, part: str | None = None) -> np.random.Generator:
        """A fresh Generator on ``stage``'s stream (or its child ``part``, e.g. the rivers
        stage's ``'shapes'`` and ``'sources'``). The same call gives the same numbers."""
        seq = self.streams[stage]
        if part is not None:
            seq = _children(seq, RIVER_STREAMS)[part]
        return _generator(seq)


def _generator(seq: np.random.SeedSequence) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seq))


def stream_key(seq: np.random.SeedSequence) -> int:
    """The first 64-bit word of a stream: the integer key of the terrain kernels."""
    return int(seq.generate_state(1, np.uint64)[0])


def _children(seq: np.random.SeedSequence, names) -> dict:
    # The same children as seq.spawn(len(names)), without advancing seq's spawn counter, so
    # asking twice gives the same streams.
    return {name: np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, i),
                                         pool_size=seq.pool_size)
            for i, name in enumerate(names)}


def context(*, seed, shape, cell_size, max_cells=DEFAULT_MAX_CELLS) -> Context:
    """The checked context of one level: the boundary where inputs are validated.

    Parameters
    ----------
    seed : int
        Any 64-bit integer, -2**63..2**64-1 (negative seeds wrap modulo 2**64).
    shape : int or (int, int)
    cell_size : float
        Metres per cell.
    max_cells : int or None, optional
        Refuse grids larger than this (default 8192**2); None lifts the cap.
    """
    seed = check_seed("seed", seed)
    shape = check_shape("shape", shape, max_cells=max_cells)
    cell_size = check_cell_size(cell_size)
    root = np.random.SeedSequence(seed)
    streams = _children(root, sorted(STREAMS, key=STREAMS.get))
    return Context(seed=seed, shape=shape, cell_size=cell_size, streams=streams)


# -- the stages -------------------------------------------------------------------------------
def terrain_stage(ctx: Context, config: _terrain.TerrainConfig,
                  stream: np.random.SeedSequence) -> np.ndarray:
    """float32 heights in metres, sea level at 0.

    The noise kernels hash integer lattice coordinates with an integer key, so this is where
    the stream becomes one: its first 64-bit word (the key of every level since version 1).
    """
    key = stream_key(stream)
    return _terrain.heightmap(ctx.shape, config=config, cell_size=ctx.cell_size, seed=key,
                              max_cells=None)


def erosion_stage(ctx: Context, height: np.ndarray, config: ErosionConfig,
                  stream=None) -> np.ndarray:
    """The terrain worn by stream-power erosion (:mod:`procgen.erosion`; draws nothing), or
    the terrain itself where erosion is off (levels erode under uplift by default)."""
    return erode(height, config=config) if config.enabled else height


def hydrology_stage(ctx: Context, height: np.ndarray, config: HydrologyConfig,
                    stream=None) -> Drainage:
    """Depressions, lakes, flow and drainage of the terrain (draws nothing)."""
    return drain(height, cell_size=ctx.cell_size, config=config)


def _takes_sources(generator) -> bool:
    try:
        params = inspect.signature(generator.generate).parameters
    except (TypeError, ValueError):
        return False
    return "sources" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def rivers_stage(ctx: Context, drainage: Drainage, config: RiversConfig,
                 stream: np.random.SeedSequence, generator: RiverGenerator) -> list:
    """The generator's rivers, source first.

    The generator draws shapes from ``rng`` (the ``'shapes'`` child of ``stream``) and, when
    its ``generate`` takes a ``sources`` keyword, places them with the ``'sources'`` child;
    generators without it place with ``rng`` too.
    """
    parts = _children(stream, RIVER_STREAMS)
    rng = _generator(parts["shapes"])
    extra = {"sources": _generator(parts["sources"])} if _takes_sources(generator) else {}
    rivers = list(generator.generate(drainage, rng=rng, config=config, **extra))
    if generator.name == "flow" and config.meanders != "none":
        from .meanders import meander
        rivers = meander(rivers, drainage, config=config, stream=parts["meanders"])
    return rivers


def carve_stage(ctx: Context, drainage: Drainage, rivers: list, config: RiversConfig,
                stream=None) -> np.ndarray:
    """Heights with channels and valleys cut so every river flows downhill (draws nothing)."""
    return carve_rivers(drainage.height.copy(), rivers, cell_size=ctx.cell_size, config=config,
                        water=drainage.water)


def biomes_stage(ctx: Context, height: np.ndarray, drainage_or_water, rivers: list,
                 config: BiomesConfig, rivers_config: RiversConfig, stream=None,
                 *, lakes=None) -> np.ndarray:
    """uint8 biome classes of the carved level (draws nothing).

    ``drainage_or_water`` is the :class:`Drainage`, or the water mask with ``lakes`` given.
    """
    if isinstance(drainage_or_water, Drainage):
        water, lakes = drainage_or_water.water, drainage_or_water.lakes
    else:
        water = drainage_or_water
    return assign_biomes(height, cell_size=ctx.cell_size, water=water, lakes=lakes,
                         rivers=rivers, config=config, rivers_config=rivers_config)


# -- running them ------------------------------------------------------------------------------
@dataclass
class Result:
    """What :func:`run` produces: every stage's output."""

    config: object           # the LevelConfig, with the generator's name in config.rivers
    height: np.ndarray       # carved heights
    drainage: Drainage
    rivers: list
    biomes: np.ndarray


class StageCache:
    """Keeps the outputs of the terrain, erosion and hydrology stages of the last few grids.

    The key is everything they depend on (seed, shape, cell size, terrain, erosion and
    hydrology configs), so a hit gives exactly what rerunning them would.
    """

    def __init__(self, size: int = 2):
        self.size = size
        self._items: OrderedDict = OrderedDict()

    @staticmethod
    def key(ctx: Context, config) -> tuple:
        return (ctx.seed, ctx.shape, ctx.cell_size, config.terrain, config.erosion,
                config.hydrology)

    def __contains__(self, key) -> bool:
        return key in self._items

    def get(self, key):
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        return None

    def put(self, key, value) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


def resolve(config, rivers=None):
    """``(config, generator)``: the generator named by ``rivers`` (or by the config), and the
    config with that generator's name recorded in its rivers section."""
    generator = get_generator(config.rivers.generator if rivers is None else rivers)
    if generator.name != config.rivers.generator:
        config = replace(config, rivers=replace(config.rivers, generator=generator.name))
    return config, generator


def run(ctx: Context, config, *, rivers=None, cache: StageCache | None = None,
        on_stage=None) -> Result:
    """Run every stage in order.

    Parameters
    ----------
    ctx : Context
    config : LevelConfig
    rivers : str or RiverGenerator, optional
        Overrides ``config.rivers.generator``.
    cache : StageCache, optional
        Reuse (and keep) terrain, erosion and drainage.
    on_stage : callable, optional
        Called with each stage's name (:data:`STAGES`) just before it runs; stages taken
        from the cache are not announced. It may raise to stop the run.
    """
    config, generator = resolve(config, rivers)
    announce = on_stage or (lambda name: None)
    key = StageCache.key(ctx, config) if cache is not None else None
    drainage = cache.get(key) if cache is not None else None
    if drainage is None:
        announce("terrain")
        height = terrain_stage(ctx, config.terrain, ctx.stream("terrain"))
        announce("erosion")
        height = erosion_stage(ctx, height, config.erosion, ctx.stream("erosion"))
        announce("hydrology")
        drainage = hydrology_stage(ctx, height, config.hydrology, ctx.stream("hydrology"))
        if cache is not None:
            cache.put(key, drainage)
    announce("rivers")
    river_list = rivers_stage(ctx, drainage, config.rivers, ctx.stream("rivers"), generator)
    announce("carve")
    height = carve_stage(ctx, drainage, river_list, config.rivers, ctx.stream("carve"))
    announce("biomes")
    biomes = biomes_stage(ctx, height, drainage, river_list, config.biomes, config.rivers,
                          ctx.stream("biomes"))
    return Result(config=config, height=height, drainage=drainage, rivers=river_list,
                  biomes=biomes)
