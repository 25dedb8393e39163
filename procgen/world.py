"""Endless worlds: any window of an unbounded map, exact, with rivers that cross every border.

::

    world = World(seed=7, preset="continent", cell_size=250.0, rivers="flow")
    level = world.region(row, col, (rows, cols))   # cells [row:row+rows, col:col+cols]

Design
------
Rivers are global (the water at a cell depends on land far upstream), so an endless map
needs a unit of drainage that is finite and found from any cell alone. Here it is the
*landmass*: the world is cut into square tiles of ``WorldConfig.tile`` cells, and each tile
holds one landmass (the preset's terrain, shaped by a falloff to deep sea at the tile's rim,
its centre and extent jittered per tile), so no water crosses from one tile to another.

1. **Coarse, once per landmass (cached).** The terrain is sampled at one cell in every
   ``coarse`` x ``coarse`` block (the exact fine heights there, all octaves), drained with
   the ordinary hydrology stage, and the world's river generator runs on that drainage (any
   generator: ``'flow'``, ``'walker'``, ``'learned:NAME'``...), with the landmass's own
   random stream. Widths come from the discharge of the whole landmass, i.e. of everything
   upstream. The rivers are smoothed (corner cutting that keeps junctions and ends), drawn
   onto the fine grid as 8-connected cells, trimmed where they reach the sea or a lake, and
   given beds: the running minimum of the terrain less the channel depth, then lowered
   (:func:`procgen._kernels.world.relax_beds`) until no bed lies above another river's
   valley. This is the cached *coarse data*: 0.4-0.6 MB per landmass at the defaults.
2. **Fine, per region (nothing cached).** Heights are the terrain noise at the region's
   cells (a pure function of global coordinates), cut by the valleys of the river cells near
   the region; lakes are the coarse lakes' water level against the fine terrain; biomes use
   the landmass's latitude span, its coarse moisture (interpolated) and local tests (beach:
   distance to the sea within a bounded reach; bare rock: slope), each evaluated on a margin
   wide enough that no cell of the region depends on where the region ends.

So every layer of a region is a function of global cell coordinates and cached landmass data
alone: ``world.region(r, c, (h, w))`` equals the matching crop of any larger region, bit
for bit, and a region far away costs what one at the origin costs. River cells are exactly
their beds, so heights never rise along a river; each ends in the sea, a lake, or on the
river it joins (and in a region, at the region's border where it carries on, under the same
``id`` in the next region).

Coordinates are any 64-bit integers. The world repeats after ``2**30`` landmasses along
each axis (2**40 cells at the default tile: 270 million km at 250 m per cell), where a
landmass's rim of deep sea meets the opposite one.

Compared with :func:`procgen.generate_level`: rivers are drained at the coarse resolution
(a 2 km grid at 250 m per cell with the default ``coarse=8``), so headwaters shorter than a
few coarse cells are not drawn, and lakes are those of the coarse drainage.

>>> from procgen.world import World
>>> world = World(seed=7, preset="continent", cell_size=1000.0, tile=256)
>>> big = world.region(100, 100, (40, 40))
>>> small = world.region(110, 120, (16, 16))
>>> bool((big.height[10:26, 20:36] == small.height).all())
True
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np

from . import pipeline as _pipeline
from ._kernels import world as _wk
from ._kernels.raster import polyline_cells
from ._units import cells as to_cells, metres
from ._validate import (DEFAULT_MAX_CELLS, check_int, check_max_cells, check_shape)
from .biomes import BiomesConfig, classify, moisture
from .hydrology import drain
from .level import DEFAULT_CELL_SIZE, Level, config_of
from .river import River
from .rivers import channel_depth
from .terrain import Falloff, heights_at
from .noise import fbm

__all__ = ["WorldConfig", "World", "WORLD_PERIOD_TILES"]

#: Landmasses along each axis before the world repeats.
WORLD_PERIOD_TILES = 1 << 30
_INT64 = (-(1 << 63), (1 << 63) - 1)
# Valley half-widths are capped (cells), which bounds how far outside a region the river
# cells that shape it can lie.
_MAX_RADIUS = 8.0
# Beds lie at least this far (m) below the terrain, so that point-sampled terrain (used for
# the beds) and grid-sampled terrain (used for regions), which agree to ~1e-6 relative, can
# never put a river cell above its bed.
_MIN_DEPTH = 0.5
# The tile's rim where the sea is forced, as a fraction of the tile: rivers and valleys stay
# clear of it, so no landmass touches another.
_RIM = 0.02
# Over this fraction of the tile next to its rim the falloff sinks the land smoothly.
_RIM_RAMP = 0.12
_CHAIKIN_ROUNDS = 3


@dataclass(frozen=True)
class WorldConfig:
    """Settings of the world stage: how the endless map is cut into landmasses.

    Attributes
    ----------
    tile : int
        Side of one landmass's square tile, in cells: a power of two in 128..8192, and at
        least 16 coarse cells. Default 1024 (256 km at 250 m per cell).
    coarse : int
        Side of the block of cells drained as one coarse cell: a power of two in 1..64,
        dividing ``tile``. Default 8.
    cache : int
        Landmasses whose coarse data are kept (least recently used go first), 1..100000.
        Each takes about ``(tile / coarse)**2 * 20`` bytes plus 24 bytes per river cell
        (0.4-0.6 MB at the defaults), so the default 64 bounds the cache near 40 MB.
    falloff_strength : float
        How strongly each tile's middle is raised and its rim sunk (as
        ``TerrainConfig.falloff_strength``), in (0, 4]. Default 1.8.
    jitter : float
        How far a landmass's centre wanders from its tile's centre, as a fraction of the
        tile, in [0, 0.2]. Default 0.1. Each landmass is also an ellipse of its own
        (half-axes 0.65 to 1 of the tile's half) and size (0.7 to 1.6 times
        ``landmass_size``), so that the tiles show less.
    landmass_size : float
        Where the falloff turns from lifting to sinking, as the squared distance from the
        landmass's centre to its tile's rim, in (0, 1): larger makes larger landmasses.
        Default 0.5.
    """

    tile: int = 1024
    coarse: int = 8
    cache: int = 64
    falloff_strength: float = 1.8
    jitter: float = 0.1
    landmass_size: float = 0.5

    def __post_init__(self):
        from ._validate import check_float
        check_int("tile", self.tile, lo=128, hi=8192)
        check_int("coarse", self.coarse, lo=1, hi=64)
        for name in ("tile", "coarse"):
            v = getattr(self, name)
            if v & (v - 1):
                raise ValueError(f"{name} must be a power of two, got {v}")
        if self.tile // self.coarse < 16:
            raise ValueError(f"tile must hold at least 16 coarse cells, got tile={self.tile} "
                             f"and coarse={self.coarse} ({self.tile // self.coarse})")
        check_int("cache", self.cache, lo=1, hi=100_000)
        check_float("falloff_strength", self.falloff_strength, lo=0.0, hi=4.0, lo_open=True)
        check_float("jitter", self.jitter, lo=0.0, hi=0.2)
        check_float("landmass_size", self.landmass_size, lo=0.0, hi=1.0, lo_open=True,
                    hi_open=True)


@dataclass(frozen=True, eq=False)
class _Landmass:
    """The cached coarse data of one tile (local cells: 0..tile-1 from the tile's corner)."""

    lakes: np.ndarray          # (n, n) int32 coarse lake labels, 0 off lakes
    lake_level: np.ndarray     # (K + 1,) float32 water level of each label
    lake_ids: np.ndarray       # (K + 1,) int32 global lake ids (0 for label 0)
    moisture: np.ndarray       # (n, n) float32 coarse moisture
    rows: np.ndarray           # (M,) int64 river cells, rivers back to back, source first
    cols: np.ndarray
    offsets: np.ndarray        # (K' + 1,) int64
    z: np.ndarray              # (M,) float32 bed heights (the carved height of the cell)
    width: np.ndarray          # (M,) float32 channel widths, metres
    radius: np.ndarray         # (M,) float64 valley half-widths, cells
    meta: tuple                # per river: (id, generator, discharge, order)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.lakes, self.lake_level, self.lake_ids,
                                      self.moisture, self.rows, self.cols, self.offsets,
                                      self.z, self.width, self.radius))


def _rebuild(seed, cell_size, config, rivers, world, max_cells) -> "World":
    return World(seed, cell_size=cell_size, config=config, rivers=rivers, world=world,
                 max_cells=max_cells)


def _hash64(*parts: int) -> int:
    """A 64-bit mix of non-negative integers (SeedSequence's hash, which is stable)."""
    return int(np.random.SeedSequence(list(parts)).generate_state(1, np.uint64)[0])


class World:
    """An endless map: landmasses in sea, each drained once, any window generated on demand.

    Parameters
    ----------
    seed : int
        Any 64-bit integer, -2**63..2**64-1 (negative seeds wrap modulo 2**64).
    preset : str, optional
        Terrain preset of every landmass (default ``'continent'``); or give ``config``.
    cell_size : float, optional
        Metres per cell (default 500), in [0.001, 1e6].
    rivers : str or RiverGenerator, optional
        The river generator, as for :func:`procgen.generate_level` (default the config's,
        ``'flow'``); it runs on each landmass's coarse drainage.
    config : LevelConfig, optional
        Terrain, hydrology, rivers and biomes settings; its terrain falloff is replaced by
        the world's own (one landmass per tile).
    tile, coarse, cache : int, optional
        Override the :class:`WorldConfig` fields of ``world`` (the default config).
    world : WorldConfig, optional
    max_cells : int or None, optional
        Largest region :meth:`region` makes (default 8192**2); None lifts the cap.

    Examples
    --------
    >>> from procgen.world import World
    >>> world = World(seed=1, preset="islands", cell_size=2000.0, tile=128)
    >>> level = world.region(-10**12, 3 * 10**12, (32, 48))
    >>> level.shape
    (32, 48)
    """

    def __init__(self, seed, preset=None, cell_size=DEFAULT_CELL_SIZE, rivers=None, *,
                 config=None, tile=None, coarse=None, cache=None, world=None,
                 max_cells=DEFAULT_MAX_CELLS):
        config = config_of(preset, config)
        world = WorldConfig() if world is None else world
        if not isinstance(world, WorldConfig):
            raise TypeError(f"world must be a WorldConfig, got {type(world).__name__}")
        overrides = {k: v for k, v in (("tile", tile), ("coarse", coarse), ("cache", cache))
                     if v is not None}
        self.world = replace(world, **overrides) if overrides else world
        self._ctx = _pipeline.context(seed=seed, shape=1, cell_size=cell_size)
        self.max_cells = check_max_cells("max_cells", max_cells)
        config, self._generator = _pipeline.resolve(config, rivers)
        # The world draws its own falloff per tile; the preset's is off.
        self._terrain = replace(config.terrain, falloff=Falloff.NONE, falloff_strength=0.0)
        self.config = config
        self._key = _pipeline.stream_key(self._ctx.stream("terrain"))
        rc = config.rivers
        ref = rc.reference_cell_size
        # The generator sees a grid of coarse cells; its thresholds keep their size in fine
        # cells (reference lengths grow with the block) or stay absolute. Its paths are
        # smoothed on the fine grid (meanders are not drawn at the coarse scale).
        self._coarse_rivers = replace(rc, meanders="none", reference_cell_size=(
            None if ref is None else ref * self.world.coarse))
        self._cache: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._draining: dict = {}
        self._spec = (self._ctx.seed, cell_size, config, self.world, max_cells)

    def __reduce__(self):
        # Rebuilt from its settings (in another process, e.g. a Dask worker): the landmass
        # cache and lock stay behind. A river generator given as an object travels by name.
        seed, cell_size, config, world, max_cells = self._spec
        return (_rebuild, (seed, cell_size, config, self.rivers_name, world, max_cells))

    @property
    def rivers_name(self) -> str:
        """The river generator's name (``'flow'``, ``'learned:ar'``...)."""
        return self._generator.name

    # -- public ------------------------------------------------------------------------------
    @property
    def seed(self) -> int:
        return self._ctx.seed

    @property
    def cell_size(self) -> float:
        return self._ctx.cell_size

    @property
    def cache_bytes(self) -> int:
        """Bytes held by the cached landmasses now."""
        with self._lock:
            return sum(lm.nbytes for lm in self._cache.values())

    def region(self, row, col, shape) -> Level:
        """The Level of cells ``[row:row + rows, col:col + cols]`` of the endless map.

        Parameters
        ----------
        row, col : int
            Global cell of the region's top-left corner: any 64-bit integers.
        shape : int or (int, int)
            ``(rows, cols)``; an int means square. Refused beyond ``max_cells``.

        Returns
        -------
        Level
            Heights (carved), water, lakes (global lake ids, stable across regions), rivers
            (the pieces of the world's rivers inside the region, each carrying its river's
            ``id``; a river that leaves and re-enters gives several pieces) and biomes.

        Examples
        --------
        >>> from procgen.world import World
        >>> world = World(seed=3, cell_size=1000.0, tile=256)
        >>> lv = world.region(0, 0, 64)
        >>> lv.shape, lv.height.dtype
        ((64, 64), dtype('float32'))
        """
        row = check_int("row", row, lo=_INT64[0], hi=_INT64[1])
        col = check_int("col", col, lo=_INT64[0], hi=_INT64[1])
        shape = check_shape("shape", shape, max_cells=self.max_cells)
        return self._region(row, col, shape)

    def to_zarr(self, store, *, region, **options) -> dict:
        """Write ``region = (row, col, rows, cols)`` to a Zarr store, chunk by chunk and
        resumably; the options (``chunks``, ``layers``, ``client``, ``progress``,
        ``max_cells``) are :func:`procgen.worldstore.to_zarr`'s. Needs the ``scale`` extra."""
        from . import worldstore
        return worldstore.to_zarr(self, store, region=region, **options)

    def landmass_of(self, row, col) -> tuple[int, int]:
        """``(tile_row, tile_col)`` of the landmass holding global cell ``(row, col)``."""
        row = check_int("row", row, lo=_INT64[0], hi=_INT64[1])
        col = check_int("col", col, lo=_INT64[0], hi=_INT64[1])
        t = self.world.tile
        return (row // t) % WORLD_PERIOD_TILES, (col // t) % WORLD_PERIOD_TILES

    # -- fine terrain ------------------------------------------------------------------------
    def _shift(self, tr: int, tc: int, lr, lc) -> np.ndarray:
        """The falloff added to the base field at local cells of tile (tr, tc)."""
        w = self.world
        jr, jc, sr, sc, pivot = self._jitter(tr, tc)
        u = (np.asarray(lr, np.float32) + np.float32(0.5)) / np.float32(w.tile)
        v = (np.asarray(lc, np.float32) + np.float32(0.5)) / np.float32(w.tile)
        dr = np.float32(2.0) * (u - jr) / sr
        dc = np.float32(2.0) * (v - jc) / sc
        d2 = np.minimum(dr * dr + dc * dc, np.float32(1.0))
        shift = np.float32(w.falloff_strength) * (pivot - d2)
        edge = np.minimum(np.minimum(u, np.float32(1.0) - u), np.minimum(v, np.float32(1.0) - v))
        # Sink the rim smoothly (a coast that meets it curves away instead of being cut
        # straight), and make the outermost cells deep sea whatever the noise says: no land
        # reaches a tile's edge.
        t = np.clip(edge / np.float32(_RIM_RAMP), np.float32(0.0), np.float32(1.0))
        shift = shift - np.float32(6.0) * (np.float32(1.0) - t * t * (np.float32(3.0) - 2 * t))
        return np.where(edge < np.float32(_RIM), np.float32(-8.0), shift).astype(np.float32)

    def _jitter(self, tr: int, tc: int):
        """Tile (tr, tc)'s landmass: centre (row, col, as fractions of the tile), half-axes
        (fractions of half the tile: elongated landmasses) and size (the falloff's pivot)."""
        h = _hash64(self.seed, 0x776F726C64, tr, tc)          # "world"
        parts = [((h >> (12 * k)) & 0xFFF) / 4095.0 for k in range(5)]
        j = self.world.jitter
        return (np.float32(0.5 + j * (2 * parts[0] - 1)), np.float32(0.5 + j * (2 * parts[1] - 1)),
                np.float32(0.65 + 0.35 * parts[2]), np.float32(0.65 + 0.35 * parts[3]),
                np.float32(self.world.landmass_size * (0.7 + 0.9 * parts[4])))

    def _uncarved(self, row: int, col: int, nr: int, nc: int) -> np.ndarray:
        """Uncarved heights of global cells [row:row+nr, col:col+nc].

        The noise is one call per field over the whole window (a cell's value does not
        depend on the window: chunks equal crops), split only where the world's period
        wraps the coordinates; the falloff is added per tile.
        """
        from .terrain import _compose, _field_plan, _field_seed
        t = self.world.tile
        period = WORLD_PERIOD_TILES * t
        fields, lifts = _field_plan(self._terrain, self.cell_size)

        def sample(name, index):
            out = np.empty((nr, nc), np.float32)
            for r_off, r_red, r_len in _runs(row, nr, period):
                for c_off, c_red, c_len in _runs(col, nc, period):
                    out[r_off:r_off + r_len, c_off:c_off + c_len] = fbm(
                        (r_len, c_len), config=fields[name], origin=(r_red, c_red),
                        seed=_field_seed(self._key, index), max_cells=None)
            return out

        base = sample("base", 0)
        for gr0 in range(row - row % t, row + nr, t):
            a0, a1 = max(gr0, row), min(gr0 + t, row + nr)
            lr = np.arange(a0 - gr0, a1 - gr0)[:, None]
            for gc0 in range(col - col % t, col + nc, t):
                b0, b1 = max(gc0, col), min(gc0 + t, col + nc)
                lc = np.arange(b0 - gc0, b1 - gc0)[None, :]
                base[a0 - row:a1 - row, b0 - col:b1 - col] += self._shift(
                    (gr0 // t) % WORLD_PERIOD_TILES, (gc0 // t) % WORLD_PERIOD_TILES, lr, lc)
        return _compose(self._terrain, base, lambda: sample("mountain_mask", 1),
                        lambda: sample("mountains", 2), lifts)

    def _heights_at(self, tr, tc, lr, lc) -> np.ndarray:
        """Uncarved heights at local cells of tile (tr, tc), point by point."""
        r0, c0 = (_reduced(k * self.world.tile, WORLD_PERIOD_TILES * self.world.tile)
                  for k in (tr, tc))
        return heights_at(r0 + np.asarray(lr), c0 + np.asarray(lc), config=self._terrain,
                          cell_size=self.cell_size, seed=self._key,
                          base_shift=self._shift(tr, tc, lr, lc))

    # -- coarse data -------------------------------------------------------------------------
    def _landmass(self, tr: int, tc: int) -> _Landmass:
        key = (tr, tc)
        with self._lock:
            lm = self._cache.get(key)
            if lm is not None:
                self._cache.move_to_end(key)
                return lm
            # One thread drains a landmass; others asking meanwhile wait for it.
            draining = self._draining.setdefault(key, threading.Lock())
        with draining:
            with self._lock:
                lm = self._cache.get(key)
            if lm is None:
                lm = self._drain_landmass(tr, tc)
                with self._lock:
                    self._cache[key] = lm
                    self._cache.move_to_end(key)
                    while len(self._cache) > self.world.cache:
                        self._cache.popitem(last=False)
        with self._lock:
            self._draining.pop(key, None)
        return lm

    def _drain_landmass(self, tr: int, tc: int) -> _Landmass:
        w = self.world
        f, n = w.coarse, w.tile // w.coarse
        centre = np.arange(n) * f + f // 2
        h = self._heights_at(tr, tc, centre[:, None], centre[None, :])
        coarse_size = self.cell_size * f
        ctx = _pipeline.context(seed=self.seed, shape=(n, n), cell_size=coarse_size,
                                max_cells=None)
        drainage = drain(h, cell_size=coarse_size, config=self.config.hydrology)
        stream = np.random.SeedSequence(self.seed, spawn_key=(_pipeline.STREAMS["rivers"], 1 << 32,
                                                              tr, tc))
        coarse_rivers = _pipeline.rivers_stage(ctx, drainage, self._coarse_rivers, stream,
                                               self._generator)
        lakes = drainage.lakes.astype(np.int32)
        count = int(lakes.max()) if lakes.size else 0
        level = np.full(count + 1, -np.inf, np.float32)
        np.maximum.at(level, lakes.ravel(), drainage.filled.ravel().astype(np.float32))
        level[0] = -np.inf
        ids = np.zeros(count + 1, np.int32)
        for k in range(1, count + 1):
            ids[k] = 1 + _hash64(self.seed, 0x6C616B65, tr, tc, k) % (2 ** 31 - 2)  # "lake"
        from .queries import _rasterise_rivers
        _, coarse_width = _rasterise_rivers(coarse_rivers, (n, n), drainage.water)
        moist = moisture(sea=drainage.sea, lakes=lakes > 0, river_width=coarse_width,
                         cell_size=coarse_size, config=self.config.biomes,
                         width_coefficient=self.config.rivers.width_coefficient)
        lm = _Landmass(lakes=lakes, lake_level=level, lake_ids=ids,
                       moisture=moist.astype(np.float32), rows=np.zeros(0, np.int64),
                       cols=np.zeros(0, np.int64), offsets=np.zeros(1, np.int64),
                       z=np.zeros(0, np.float32), width=np.zeros(0, np.float32),
                       radius=np.zeros(0), meta=())
        return self._fine_rivers(tr, tc, coarse_rivers, drainage.water, lm)

    def _fine_rivers(self, tr, tc, coarse_rivers, coarse_water, lm: _Landmass) -> _Landmass:
        """Draw the coarse rivers on the fine grid and give them beds."""
        w = self.world
        f, t = w.coarse, w.tile
        ends = {tuple(p) for r in coarse_rivers for p in (r.path[0], r.path[-1])}
        n = lm.lakes.shape[0]
        drawn = []
        for river in coarse_rivers:
            pins = np.array([tuple(p) in ends for p in river.path])
            path, width = _smooth(river.path * f + f // 2, river.width.astype(np.float64), pins)
            # A generator may end a river anywhere in a water cell; its sample (the one
            # fine cell whose height the coarse grid holds) is surely water: end there.
            mouth = np.clip(np.rint(river.path[-1]).astype(np.int64), 0, n - 1)
            if coarse_water[mouth[0], mouth[1]]:
                tip = mouth * f + f // 2
                if not np.array_equal(np.rint(path[-1]), tip):
                    path = np.vstack([path, tip])
                    width = np.r_[width, width[-1]]
            vc = np.rint(path).astype(np.int64)
            np.clip(vc, 0, t - 1, out=vc)
            cells, seg = polyline_cells(vc[:, 0].copy(), vc[:, 1].copy())
            drawn.append((cells, width[seg].astype(np.float32)))
        if not drawn:
            return lm
        # One point evaluation for every cell of every river (each call has a fixed cost).
        every = np.concatenate([cells for cells, _ in drawn])
        h_every = self._heights_at(tr, tc, every[:, 0], every[:, 1])
        wet_every = (h_every <= 0) | (self._lake_labels(lm, every[:, 0], every[:, 1],
                                                        h_every) > 0)
        all_rows, all_cols, all_w, all_h, offsets, meta = [], [], [], [], [0], []
        start = 0
        for k, (cells, cw) in enumerate(drawn):
            sl = slice(start, start + len(cells))
            start += len(cells)
            keep = _dry_span(wet_every[sl])
            if keep is None:
                continue
            a, b = keep
            all_rows.append(cells[a:b, 0])
            all_cols.append(cells[a:b, 1])
            all_w.append(cw[a:b])
            # Across a lake the river runs on the water: its bed carries over from one shore
            # to the next instead of following the lake floor (which would cut the outlet
            # down to it).
            h_run = h_every[sl][a:b].copy()
            h_run[wet_every[sl][a:b]] = np.inf
            h_run[-1] = h_every[sl][b - 1]
            all_h.append(h_run)
            offsets.append(offsets[-1] + b - a)
            river = coarse_rivers[k]
            rid = _hash64(self.seed, 0x7269766572, tr, tc, k) >> 1   # "river"; fits int64
            meta.append((rid, river.generator, river.discharge, river.order))
        if not meta:
            return lm
        rows, cols = np.concatenate(all_rows), np.concatenate(all_cols)
        width, h = np.concatenate(all_w), np.concatenate(all_h)
        offsets = np.asarray(offsets, np.int64)
        depth = np.maximum(channel_depth(width, config=self.config.rivers), _MIN_DEPTH)
        z = (h - depth).astype(np.float32)
        for a, b in zip(offsets[:-1], offsets[1:]):
            z[a:b] = np.minimum.accumulate(z[a:b])
        radius = np.minimum(1.0 + to_cells(width.astype(np.float64), self.cell_size), _MAX_RADIUS)
        slope = float(metres(self.config.rivers.valley_slope, self.cell_size))
        _wk.relax_beds(rows, cols, offsets, z, radius, slope, t, t, 1000)
        return replace(lm, rows=rows, cols=cols, offsets=offsets, z=z, width=width,
                       radius=radius, meta=tuple(meta))

    def _lake_labels(self, lm: _Landmass, lr, lc, h) -> np.ndarray:
        """Coarse lake label of local cells: a lake of one of the four coarse samples around
        the cell whose water level is above the cell's terrain (first of them wins)."""
        f = self.world.coarse
        n = lm.lakes.shape[0]
        lr = np.asarray(lr, np.int64)
        lc = np.asarray(lc, np.int64)
        i0 = np.clip((lr - f // 2) // f, 0, n - 1)
        j0 = np.clip((lc - f // 2) // f, 0, n - 1)
        out = np.zeros(np.broadcast(lr, lc).shape, np.int32)
        for di in (0, 1):
            for dj in (0, 1):
                lab = lm.lakes[np.minimum(i0 + di, n - 1), np.minimum(j0 + dj, n - 1)]
                hit = (out == 0) & (lab > 0) & (h < lm.lake_level[lab])
                out = np.where(hit, lab, out)
        return out

    def _moisture_at(self, lm: _Landmass, lr, lc) -> np.ndarray:
        """Coarse moisture, bilinear between the coarse samples around each cell."""
        f = self.world.coarse
        n = lm.moisture.shape[0]
        fr = np.clip((np.asarray(lr, np.float64) - f // 2) / f, 0, n - 1)
        fc = np.clip((np.asarray(lc, np.float64) - f // 2) / f, 0, n - 1)
        i0 = np.minimum(np.floor(fr).astype(np.int64), n - 2)
        j0 = np.minimum(np.floor(fc).astype(np.int64), n - 2)
        a, b = fr - i0, fc - j0
        m = lm.moisture
        return ((1 - a) * ((1 - b) * m[i0, j0] + b * m[i0, j0 + 1])
                + a * ((1 - b) * m[i0 + 1, j0] + b * m[i0 + 1, j0 + 1]))

    # -- a region ----------------------------------------------------------------------------
    def _region(self, row: int, col: int, shape) -> Level:
        w = self.world
        t = w.tile
        cfg = self.config.biomes
        nr, nc = shape
        # Margin: the beach reach for the distance to the sea, and one cell for slopes, whose
        # heights need every valley that reaches them (from river cells up to _MAX_RADIUS
        # further out, in the tiles of the padded window grown by that much).
        beach_cells = int(np.ceil(to_cells(max(cfg.beach_width_m, 1.5 * self.cell_size),
                                           self.cell_size)))
        pad = beach_cells + 2
        reach = pad + int(np.ceil(_MAX_RADIUS)) + 1
        pr0, pc0 = row - pad, col - pad
        pnr, pnc = nr + 2 * pad, nc + 2 * pad
        h0 = self._uncarved(pr0, pc0, pnr, pnc)
        lakes = np.zeros((pnr, pnc), np.int32)
        moist = np.empty((pnr, pnc), np.float64)
        lat = np.empty(pnr, np.float64)
        for gr0 in range(pr0 - pr0 % t, pr0 + pnr, t):
            a0, a1 = max(gr0, pr0), min(gr0 + t, pr0 + pnr)
            tr = (gr0 // t) % WORLD_PERIOD_TILES
            lr = np.arange(a0 - gr0, a1 - gr0)
            lat[a0 - pr0:a1 - pr0] = cfg.latitude_north + (
                cfg.latitude_south - cfg.latitude_north) * lr / (t - 1)
            for gc0 in range(pc0 - pc0 % t, pc0 + pnc, t):
                b0, b1 = max(gc0, pc0), min(gc0 + t, pc0 + pnc)
                tc = (gc0 // t) % WORLD_PERIOD_TILES
                lc = np.arange(b0 - gc0, b1 - gc0)
                lm = self._landmass(tr, tc)
                win = (slice(a0 - pr0, a1 - pr0), slice(b0 - pc0, b1 - pc0))
                labels = self._lake_labels(lm, lr[:, None], lc[None, :], h0[win])
                lakes[win] = lm.lake_ids[labels]
                moist[win] = self._moisture_at(lm, lr[:, None], lc[None, :])
        height = h0.copy()
        slope = float(metres(self.config.rivers.valley_slope, self.cell_size))
        pieces = []
        for gr0 in range(row - reach - (row - reach) % t, row + nr + reach, t):
            for gc0 in range(col - reach - (col - reach) % t, col + nc + reach, t):
                lm = self._landmass((gr0 // t) % WORLD_PERIOD_TILES,
                                    (gc0 // t) % WORLD_PERIOD_TILES)
                pieces.append((lm, gr0 - pr0, gc0 - pc0))
                if len(lm.rows):
                    _wk.carve_valleys_at(height, pr0 - gr0, pc0 - gc0, lm.rows, lm.cols, lm.z,
                                         lm.radius, slope)
        sea = h0 <= 0
        lake = lakes > 0
        water = sea | lake
        biomes = self._biomes(height, sea, lake, water, lat, moist, pad)
        inner = (slice(pad, pad + nr), slice(pad, pad + nc))
        rivers = []
        for lm, dr, dc in pieces:
            rivers.extend(_clip_rivers(lm, dr - pad, dc - pad, nr, nc))
        return Level(config=self.config, seed=self.seed, cell_size=self.cell_size,
                     height=np.ascontiguousarray(height[inner]),
                     water=np.ascontiguousarray(water[inner]),
                     lakes=np.ascontiguousarray(lakes[inner]), rivers=rivers,
                     biomes=np.ascontiguousarray(biomes[inner]))

    def _biomes(self, height, sea, lake, water, lat, moist_land, pad) -> np.ndarray:
        from .queries import _gradient_of, distance_transform
        cfg = self.config.biomes
        t0 = cfg.pole_temperature + (cfg.equator_temperature - cfg.pole_temperature) * np.cos(
            np.radians(lat))
        h = height.astype(np.float64)
        temp = t0[:, None] - cfg.lapse_rate * np.maximum(h, 0.0) / 1000.0
        land = ~water
        gy, gx = _gradient_of(h, self.cell_size)
        steep = land & (np.degrees(np.arctan(np.hypot(gy, gx))) > cfg.rock_slope_deg)
        reach = max(cfg.beach_width_m, 1.5 * self.cell_size)
        beach = np.zeros(h.shape, np.bool_)
        if sea.any():
            radius = to_cells(reach, self.cell_size)
            if radius <= 6.0:   # a few shifted copies beat a distance transform
                near = _within(sea, radius)
            else:
                near = metres(distance_transform(sea), self.cell_size) <= reach
            beach = land & near & (h <= cfg.beach_max_height)
        return classify(temp, moist_land, sea=sea, lakes=lake, beach=beach, steep=steep)


def _within(mask: np.ndarray, radius: float) -> np.ndarray:
    """Cells within Euclidean distance ``radius`` (cells) of a True cell of ``mask``: the
    mask dilated by a disc, exactly what ``distance_transform(mask) <= radius`` gives."""
    out = mask.copy()
    n = int(np.floor(radius))
    rows, cols = mask.shape
    for dr in range(-n, n + 1):
        for dc in range(-n, n + 1):
            if (dr or dc) and dr * dr + dc * dc <= radius * radius:
                out[max(dr, 0):rows + min(dr, 0), max(dc, 0):cols + min(dc, 0)] |= \
                    mask[max(-dr, 0):rows + min(-dr, 0), max(-dc, 0):cols + min(-dc, 0)]
    return out


def _reduced(cell: int, period: int) -> int:
    """A global cell coordinate in the world's reduced coordinates, [-period/2, period/2)."""
    return (cell + period // 2) % period - period // 2


def _runs(start: int, n: int, period: int):
    """``(offset, reduced start, length)`` of the runs of [start, start + n) in the world's
    reduced coordinates, [-period/2, period/2): the seam lies half a period from the origin,
    so windows near it are one run."""
    off = 0
    while off < n:
        red = _reduced(start + off, period)
        length = min(n - off, period // 2 - red)
        yield off, red, length
        off += length


def _smooth(path, width, pins):
    """Chaikin corner cutting (Chaikin 1974), ``_CHAIKIN_ROUNDS`` times, between pinned
    vertices (ends and junctions), which stay where they are."""
    idx = np.flatnonzero(pins)
    if len(idx) == 0 or idx[0] != 0:
        idx = np.r_[0, idx]
    if idx[-1] != len(path) - 1:
        idx = np.r_[idx, len(path) - 1]
    out_p, out_w = [path[:1]], [width[:1]]
    for a, b in zip(idx[:-1], idx[1:]):
        p, q = path[a:b + 1], width[a:b + 1]
        for _ in range(_CHAIKIN_ROUNDS):
            if len(p) < 3:
                break
            p0, p1 = p[:-1], p[1:]
            q0, q1 = q[:-1], q[1:]
            cut_p = np.empty((2 * len(p0), 2))
            cut_p[0::2] = 0.75 * p0 + 0.25 * p1
            cut_p[1::2] = 0.25 * p0 + 0.75 * p1
            cut_q = np.empty(2 * len(q0))
            cut_q[0::2] = 0.75 * q0 + 0.25 * q1
            cut_q[1::2] = 0.25 * q0 + 0.75 * q1
            p = np.concatenate([p[:1], cut_p[1:-1], p[-1:]])
            q = np.concatenate([q[:1], cut_q[1:-1], q[-1:]])
        out_p.append(p[1:])
        out_w.append(q[1:])
    return np.concatenate(out_p), np.concatenate(out_w)


def _dry_span(wet: np.ndarray):
    """``(a, b)``: the river's cells without its leading water (it may leave a lake: the
    last lake cell is kept as its source) and its trailing water (the first water cell is
    kept as its mouth); None when fewer than two cells remain."""
    dry = np.flatnonzero(~wet)
    if len(dry) == 0:
        return None
    a = max(int(dry[0]) - 1, 0)
    b = min(int(dry[-1]) + 2, len(wet))
    return (a, b) if b - a >= 2 else None


def _clip_rivers(lm: _Landmass, dr: int, dc: int, nr: int, nc: int) -> list:
    """The pieces of a landmass's rivers in a region whose cell (0, 0) is the landmass's
    local cell ``(-dr, -dc)``: runs of consecutive cells inside it."""
    out = []
    if not len(lm.rows):
        return out
    rows = lm.rows + dr
    cols = lm.cols + dc
    inside = (rows >= 0) & (rows < nr) & (cols >= 0) & (cols < nc)
    for k, (a, b) in enumerate(zip(lm.offsets[:-1], lm.offsets[1:])):
        ins = inside[a:b]
        if not ins.any():
            continue
        rid, gen, discharge, order = lm.meta[k]
        edges = np.flatnonzero(np.diff(np.r_[0, ins.astype(np.int8), 0]))
        for s, e in zip(edges[0::2], edges[1::2]):
            sl = slice(a + s, a + e)
            path = np.stack([rows[sl], cols[sl]], axis=1).astype(np.float64)
            width = lm.width[sl]
            # A level draws the cell a river enters with the width of the vertex before it
            # (procgen.rivers.river_cells); a piece entering from outside repeats its first
            # cell with that width, so its cells get exactly the widths the world's do.
            if s > 0 and lm.width[a + s - 1] != width[0]:
                path = np.vstack([path[:1], path])
                width = np.r_[lm.width[a + s - 1], width]
            if len(path) == 1:   # one cell: a River needs two vertices
                path, width = np.repeat(path, 2, axis=0), np.repeat(width, 2)
            out.append(River(path=path, width=width, generator=gen, discharge=discharge,
                             order=order, id=rid))
    return out
