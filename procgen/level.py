"""Level, LevelConfig and generate_level(), and the level file.

:func:`generate_level` runs the pipeline of :mod:`procgen.pipeline`: named stages in a fixed
order, each with its own config section and its own random stream spawned from the root seed
(``numpy.random.SeedSequence(seed)`` children), so changing a later stage leaves earlier ones
bit-identical. A :class:`Level` is a plain record of what the stages made.

Seeds across versions: the terrain and hydrology of a seed are what they were in the first
version of the file format. Rivers of shape generators (``'walker'``, ``'persistent'``,
``'sine'``, ``'downhill'``, learned ones) changed once, when the rivers stream was split
into a ``shapes`` and a ``sources`` stream (so that the shapes drawn no longer move the
sources). Flow rivers changed once, when they began to run on through lakes instead of ending at them
(the river that enters a lake carries on from its outlet; carving leaves the lake's surface
alone), so levels whose flow rivers meet a lake changed there (and their carving and biomes
with them), and again when they began to meander by default (``RiversConfig.meanders``;
files saved before read as ``meanders='none'``, which is what they hold), and when their
highest sinuosity fell from 1.9 to 1.45 (:data:`procgen.meanders.MAX_SINUOSITY`). The
erosion stage (:mod:`procgen.erosion`) came in off, and files saved before it existed read as
``ErosionConfig(steps=0)``, which is what they hold; since rock uplift joined it, levels
erode under uplift by default (``ErosionConfig.uplifted()``), and files that name an
erosion section without a ``mode`` read as ``'wear'``, the only mode there was. The file
format did not change for any of these, only what a seed draws.
``tests/data/levels`` pins today's levels.

>>> from procgen import generate_level
>>> level = generate_level(seed=7, shape=(5, 5), cell_size=20000.0, preset="islands",
...                        rivers="none")
>>> level.height.shape, level.height.dtype, level.rivers
((5, 5), dtype('float32'), [])

Game code asks the level questions (see :mod:`procgen.queries`):

>>> level = generate_level(seed=7, shape=(48, 48), cell_size=2000.0, preset="islands")
>>> level.is_water(0, 0), level.biome_at(0, 0)
(True, 0)
"""

from __future__ import annotations

import enum
import json
import numbers
import os
import struct
import tokenize
import typing
import zipfile
import zlib
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path

import numpy as np

from . import pipeline as _pipeline
from . import queries as _q
from . import terrain as _terrain
from .biomes import Biome, BiomesConfig
from .erosion import ErosionConfig
from .hydrology import HydrologyConfig
from ._io import atomic_write
from ._validate import (CELL_SIZE_MAX, CELL_SIZE_MIN, DEFAULT_MAX_CELLS, check_cell_size,
                        check_max_cells, check_seed, check_shape)
from . import river as river_mod
from .river import River
from .rivers import RiversConfig

__all__ = ["LevelConfig", "Level", "generate_level", "level_from", "STAGES", "stage_seed",
           "FORMAT_VERSION", "PRESET_RIVERS"]

#: Pipeline stages in order (see :mod:`procgen.pipeline`).
STAGES = _pipeline.STAGES

#: Newest version of the level file format :meth:`Level.save` writes (2: rivers may carry
#: an ``id``; a level whose rivers have none is written as version 1).
FORMAT_VERSION = 2
_FORMAT_NAME = "procgen-level"

DEFAULT_CELL_SIZE = 500.0

#: River thresholds that suit each terrain preset, in the units of :class:`RiversConfig`
#: (at 500 m per cell, scaled with the cell size like the terrain). Small landmasses drain
#: small areas, so maps of islands draw smaller streams than maps of a continent; without
#: this, most 256-cell archipelago maps would have no river at all.
PRESET_RIVERS: dict[str, RiversConfig] = {
    "continent": RiversConfig(),
    "islands": RiversConfig(min_area_km2=25.0, min_length_km=3.0),
    "archipelago": RiversConfig(min_area_km2=15.0, min_length_km=2.5),
    "highlands": RiversConfig(),
    "lowlands": RiversConfig(),
}


@dataclass(frozen=True)
class LevelConfig:
    """Settings of every stage of a level.

    Attributes
    ----------
    terrain : TerrainConfig
        The terrain stage (default: the ``continent`` preset).
    hydrology : HydrologyConfig
        Lakes and runoff.
    rivers : RiversConfig
        Which river generator and its settings (default: flow-based rivers).
    biomes : BiomesConfig
        Climate and biome classes (latitude range, lapse rate, moisture sources).
    erosion : ErosionConfig
        Stream-power erosion of the terrain, between the terrain and hydrology stages
        (default: against rock uplift, ``ErosionConfig.uplifted()``; ``ErosionConfig()``
        turns it off).
    """

    terrain: _terrain.TerrainConfig = field(default_factory=lambda: _terrain.preset("continent"))
    hydrology: HydrologyConfig = field(default_factory=HydrologyConfig)
    rivers: RiversConfig = field(default_factory=RiversConfig)
    biomes: BiomesConfig = field(default_factory=BiomesConfig)
    erosion: ErosionConfig = field(default_factory=ErosionConfig.uplifted)

    def __post_init__(self):
        for name, kind in (("terrain", _terrain.TerrainConfig), ("hydrology", HydrologyConfig),
                           ("rivers", RiversConfig), ("biomes", BiomesConfig),
                           ("erosion", ErosionConfig)):
            if not isinstance(getattr(self, name), kind):
                raise TypeError(f"{name} must be a {kind.__name__}, got "
                                f"{type(getattr(self, name)).__name__}")

    @classmethod
    def from_preset(cls, name: str, **sections) -> "LevelConfig":
        """Config whose terrain is the named preset (see :data:`procgen.terrain.PRESETS`)
        and whose rivers use that preset's thresholds (:data:`PRESET_RIVERS`); other
        sections, ``rivers`` included, may be given as keywords.

        Examples
        --------
        >>> from procgen import LevelConfig
        >>> cfg = LevelConfig.from_preset("archipelago")
        >>> cfg.rivers.min_area_km2, cfg.rivers.min_area_cells(100.0)
        (15.0, 60.0)
        """
        terrain = _terrain.preset(name)
        sections.setdefault("rivers", PRESET_RIVERS.get(name, RiversConfig()))
        return cls(terrain=terrain, **sections)

    def to_dict(self) -> dict:
        """Plain JSON-able dict (enums by value, nested configs as dicts)."""
        return _to_plain(self)

    @classmethod
    def from_dict(cls, data: dict) -> "LevelConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise, missing keys take defaults."""
        return _from_plain(cls, data, "config")


def stage_seed(seed: int, stage: str) -> int:
    """The 64-bit integer key of one stage's stream, for callers that need an integer
    (:func:`procgen.terrain.heightmap` takes the terrain's). The pipeline itself hands its
    stages :class:`numpy.random.SeedSequence` streams (:func:`procgen.pipeline.context`).

    ``seed`` is any 64-bit integer, -2**63..2**64-1; negative seeds wrap modulo 2**64.

    Examples
    --------
    >>> from procgen.level import stage_seed
    >>> stage_seed(7, "terrain") != stage_seed(7, "rivers")
    True
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(map(repr, STAGES))}, got {stage!r}")
    return _pipeline.stream_key(_pipeline.context(seed=seed, shape=1, cell_size=1.0).stream(stage))


@dataclass(eq=False)
class Level:
    """A generated level: heights, water, rivers, and what made them.

    Attributes
    ----------
    config : LevelConfig
        Settings of every stage.
    seed : int
        Root seed, 0..2**64-1.
    cell_size : float
        Metres per cell.
    height : numpy.ndarray
        float32 ``(rows, cols)`` heights in metres, sea level at 0.
    water : numpy.ndarray
        bool ``(rows, cols)``: sea and lakes.
    lakes : numpy.ndarray
        int32 ``(rows, cols)`` lake labels, 0 off lakes, 1..K on the K lakes (in a world
        region, :meth:`procgen.world.World.region`, the world's lake ids instead, the same
        in every region).
    rivers : list of River
        River courses, source first.
    biomes : numpy.ndarray or None
        uint8 ``(rows, cols)`` :class:`~procgen.biomes.Biome` values, as the biomes stage
        made them; None on a Level built without them (:meth:`with_biomes` computes them).

    Notes
    -----
    The query methods (:meth:`height_at`, :meth:`distance_to_water`, :meth:`walkable`, ...)
    are thin wrappers of :mod:`procgen.queries`. Grids they derive are computed on first use
    and cached on this instance (never saved); they are recomputed when ``height``,
    ``water``, ``lakes``, ``rivers``, ``cell_size`` or ``config`` is *replaced*. After
    changing those arrays *in place*, call :meth:`clear_cache`. Cached grids are returned
    read-only; copy them to change them. A Level is a plain record: building one runs no
    stage, and ``biomes`` is whatever was given; after changing the terrain or rivers,
    recompute it with :meth:`with_biomes` if it matters.
    """

    config: LevelConfig
    seed: int
    cell_size: float
    height: np.ndarray
    water: np.ndarray
    lakes: np.ndarray
    rivers: list = field(default_factory=list)
    biomes: np.ndarray | None = None
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        # the same rules Level.load applies, so that every Level saves to a file that loads
        self.seed = check_seed("seed", self.seed)
        self.cell_size = check_cell_size(self.cell_size)
        if self.biomes is not None:
            b = np.asarray(self.biomes)
            if b.dtype != np.uint8 or b.shape != np.shape(self.height):
                raise ValueError(f"biomes must be a uint8 array of shape "
                                 f"{np.shape(self.height)}, got {b.dtype} {b.shape}")
            if b.size and int(b.max()) >= len(Biome):
                raise ValueError(f"biomes must hold Biome values 0..{len(Biome) - 1}, got "
                                 f"{int(b.max())}")
            self.biomes = b

    def with_biomes(self) -> "Level":
        """This level with ``biomes`` computed by the biomes stage from its other arrays
        (a new Level; the arrays are shared, not copied).

        Examples
        --------
        >>> from procgen import generate_level, Level
        >>> lv = generate_level(seed=1, shape=16, cell_size=5000.0, preset="islands")
        >>> bare = Level(config=lv.config, seed=lv.seed, cell_size=lv.cell_size,
        ...              height=lv.height, water=lv.water, lakes=lv.lakes, rivers=lv.rivers)
        >>> bare.biomes is None, bool((bare.with_biomes().biomes == lv.biomes).all())
        (True, True)
        """
        ctx = _pipeline.context(seed=self.seed, shape=self.shape, cell_size=self.cell_size,
                                max_cells=None)
        biomes = _pipeline.biomes_stage(ctx, self.height, self.water, self.rivers,
                                        self.config.biomes, self.config.rivers,
                                        ctx.stream("biomes"), lakes=self.lakes)
        return replace(self, biomes=biomes)

    @property
    def shape(self) -> tuple[int, int]:
        """Grid shape ``(rows, cols)``."""
        return self.height.shape

    @property
    def land(self) -> np.ndarray:
        """bool ``(rows, cols)``: cells that are not water."""
        return ~self.water

    # -- gameplay queries (procgen.queries) -----------------------------------------------
    def height_at(self, row, col):
        """Height in metres at points, bilinear between cell centres; see
        :func:`procgen.queries.height_at`."""
        return _q.height_at(self, row, col)

    def slope_at(self, row, col, *, units="degrees"):
        """Slope at points in ``'degrees'`` or as a rise/run ``'ratio'``; see
        :func:`procgen.queries.slope_at`."""
        return _q.slope_at(self, row, col, units=units)

    def slope(self, *, units="degrees") -> np.ndarray:
        """Slope grid; see :func:`procgen.queries.slope`."""
        return _q.slope(self, units=units)

    def is_water(self, row, col):
        """True where a point is in the sea or a lake; see :func:`procgen.queries.is_water`."""
        return _q.is_water(self, row, col)

    def is_land(self, row, col):
        """True where a point is not in the sea or a lake (river cells are land)."""
        return _q.is_land(self, row, col)

    def is_river(self, row, col):
        """True where a point is in a river cell; see :func:`procgen.queries.is_river`."""
        return _q.is_river(self, row, col)

    def biome_at(self, row, col):
        """:class:`~procgen.biomes.Biome` value (int) at points."""
        self._need_biomes("biome_at")
        return _q.biome_at(self, row, col)

    def _need_biomes(self, what: str) -> None:
        if self.biomes is None:
            raise ValueError(f"{what} needs biomes, and this Level was built without them; "
                             f"use level.with_biomes() (generate_level and Level.load "
                             f"always fill them)")

    def river_mask(self) -> np.ndarray:
        """bool grid of river cells; see :func:`procgen.queries.river_mask`."""
        return _q.river_mask(self)

    def river_width(self) -> np.ndarray:
        """float32 grid of channel width (m) on river cells, 0 elsewhere."""
        return _q.river_width(self)

    def distance_to_water(self, *, include_rivers: bool = False, units="metres") -> np.ndarray:
        """Exact Euclidean distance to the nearest sea/lake (and river) cell; see
        :func:`procgen.queries.distance_to_water`."""
        return _q.distance_to_water(self, include_rivers=include_rivers, units=units)

    def fords(self, *, max_width: float = _q.FORD_MAX_WIDTH,
              max_depth: float = _q.FORD_MAX_DEPTH) -> np.ndarray:
        """bool grid of river cells narrow and shallow enough to wade; see
        :func:`procgen.queries.fords`."""
        return _q.fords(self, max_width=max_width, max_depth=max_depth)

    def walkable(self, max_slope_deg: float = 30.0, *, rivers="fords",
                 ford_max_width: float = _q.FORD_MAX_WIDTH,
                 ford_max_depth: float = _q.FORD_MAX_DEPTH) -> np.ndarray:
        """bool grid of cells a walker can stand on; see :func:`procgen.queries.walkable`."""
        return _q.walkable(self, max_slope_deg, rivers=rivers, ford_max_width=ford_max_width,
                           ford_max_depth=ford_max_depth)

    def watersheds(self) -> "_q.Watersheds":
        """Drainage basins, labelled by outlet; see :func:`procgen.queries.watersheds`."""
        return _q.watersheds(self)

    def watershed_at(self, row, col):
        """Watershed label (int, 0 on water) at points."""
        return _q.watershed_at(self, row, col)

    def spawn_points(self, n: int, *, min_spacing: float, min_water_distance: float = 0.0,
                     include_rivers: bool = True, where=None, tries: int = 30, rng=None):
        """Up to ``n`` Poisson-disc points on dry land; see
        :func:`procgen.queries.spawn_points`."""
        return _q.spawn_points(self, n, min_spacing=min_spacing,
                               min_water_distance=min_water_distance,
                               include_rivers=include_rivers, where=where, tries=tries,
                               rng=rng)

    def clear_cache(self) -> None:
        """Forget cached derived grids (after changing arrays in place)."""
        _q.clear_cache(self)

    def to_tiles(self, *, tileset=None, rivers: bool = True) -> np.ndarray:
        """Tile id of every cell for a tileset; see :func:`procgen.export.to_tiles`."""
        from .export import to_tiles
        self._need_biomes("to_tiles")
        return to_tiles(self, tileset=tileset, rivers=rivers)

    def render(self, **options) -> np.ndarray:
        """Render as a uint8 RGB image; options go to :func:`procgen.render.render_map`."""
        from .render import render_map
        return render_map(self.height, cell_size=self.cell_size, water=self.water,
                          rivers=self.rivers, **options)

    def save_png(self, path, **options) -> Path:
        """Render and write a PNG atomically (see :meth:`render`)."""
        from .render import save_png
        return save_png(self.render(**options), path)

    # -- the level file -------------------------------------------------------------------
    def save(self, path, *, compress: bool = False) -> Path:
        """Write the level to one ``.npz`` file, atomically, with a JSON header.

        Arrays are stored bit-for-bit; nothing is pickled, so :meth:`load` never runs code
        from the file.

        Examples
        --------
        >>> import tempfile, pathlib, numpy as np
        >>> from procgen import generate_level, Level
        >>> lv = generate_level(seed=1, shape=16, cell_size=5000.0, preset="islands")
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "level.npz"
        >>> _ = lv.save(p)
        >>> np.array_equal(Level.load(p).height, lv.height)
        True
        """
        header = {
            "format": _FORMAT_NAME,
            # Version 2 added river ids (world regions); files without them stay version 1,
            # readable by every procgen.
            "version": 2 if any(r.id is not None for r in self.rivers) else 1,
            "seed": int(self.seed),
            "cell_size": float(self.cell_size),
            "shape": list(self.shape),
            "config": self.config.to_dict(),
            "rivers": [{"generator": r.generator, "discharge": r.discharge, "order": r.order,
                        **({} if r.id is None else {"id": int(r.id)})}
                       for r in self.rivers],
        }
        lengths = [len(r.path) for r in self.rivers]
        arrays = {
            "header": np.frombuffer(json.dumps(header, sort_keys=True).encode(), np.uint8),
            "height": np.ascontiguousarray(self.height, np.float32),
            "water": np.ascontiguousarray(self.water, np.bool_),
            "lakes": np.ascontiguousarray(self.lakes, np.int32),
            **({} if self.biomes is None
               else {"biomes": np.ascontiguousarray(self.biomes, np.uint8)}),
            "river_offsets": np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int64),
            "river_path": (np.concatenate([r.path for r in self.rivers]) if self.rivers
                           else np.zeros((0, 2), np.float64)),
            "river_width": (np.concatenate([r.width for r in self.rivers]) if self.rivers
                            else np.zeros(0, np.float32)),
        }
        saver = np.savez_compressed if compress else np.savez
        return atomic_write(path, lambda f: saver(f, **arrays))

    @classmethod
    def load(cls, path, *, max_cells=DEFAULT_MAX_CELLS) -> "Level":
        """Read a level written by :meth:`save`, trusting nothing in the file.

        Loading runs no code from the file (no pickle; the header is JSON) and reads no
        array data before the file's zip directory, the ``.npy`` header of every array
        (name, dtype, shape) and the JSON header have all been checked: each field has its
        type and range, each array its dtype and a shape that agrees with the header, and
        no array over the cap (``max_cells``) is read. Then heights must be finite, lake
        labels non-negative, biomes known classes and rivers valid :class:`River` records.

        Parameters
        ----------
        path : str or os.PathLike
            A ``.npz`` file written by :meth:`save`.
        max_cells : int or None, optional
            Refuse levels with more than this many cells (default 8192**2, the same cap as
            :func:`generate_level`), and the header and river arrays over this many values
            or 8192**2, whichever is more; None lifts the cap.

        Raises
        ------
        FileNotFoundError
            If ``path`` is not a regular file.
        ValueError
            If the file is not a level file, is damaged, holds anything else, is over the
            cap, or has a newer format version; the message names the field or array, the
            value found and what is allowed.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from procgen import Level
        >>> junk = pathlib.Path(tempfile.mkdtemp()) / "junk.npz"
        >>> _ = junk.write_bytes(b"not a zip")
        >>> Level.load(junk)                                        # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: '...junk.npz' is not a readable level file: not a zip archive ...
        """
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
        max_cells = check_max_cells("max_cells", max_cells)
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"path: no level file at {str(path)!r}")
        where = repr(str(path))
        header, arrays = _read_level_file(path, where, max_cells)
        offsets = arrays["river_offsets"]
        rivers = []
        for k, (a, b, meta) in enumerate(zip(offsets[:-1], offsets[1:], header["rivers"])):
            try:
                rivers.append(River(path=arrays["river_path"][a:b],
                                    width=arrays["river_width"][a:b], **meta))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{where}: river {k}: {exc}") from None
        level = cls(config=header["config"], seed=header["seed"],
                    cell_size=header["cell_size"], height=arrays["height"],
                    water=arrays["water"], lakes=arrays["lakes"], rivers=rivers,
                    biomes=arrays.get("biomes"))
        # Files written before the biomes stage existed have none: run it.
        return level if level.biomes is not None else level.with_biomes()


def generate_level(*, seed, shape, cell_size=DEFAULT_CELL_SIZE, preset=None, config=None,
                   rivers=None, max_cells=DEFAULT_MAX_CELLS) -> Level:
    """Generate a level: terrain, hydrology (lakes), rivers, carving, and biomes.

    Parameters
    ----------
    seed : int
        Root seed: any 64-bit integer, -2**63..2**64-1 (negative seeds wrap modulo 2**64, so
        -1 is 2**64 - 1; the Level keeps the wrapped value). Same seed + config + version =
        identical arrays.
    shape : int or (int, int)
        Grid size ``(rows, cols)``; an int means square.
    cell_size : float, optional
        Metres per cell (default 500). Presets and river thresholds keep their size in
        cells, so this sets the level's real extent, not what it shows: a continent on
        512 cells is 51 km across at 100 m and 512 km at 1 km (heights shrink below 500 m;
        see :mod:`procgen.terrain`).
    preset : str, optional
        A terrain preset name (``'continent'`` when neither ``preset`` nor ``config`` is given);
        the rivers take that preset's thresholds (:data:`PRESET_RIVERS`).
    config : LevelConfig, optional
        Full settings; give this or ``preset``, not both.
    rivers : str or RiverGenerator, optional
        River generator, overriding ``config.rivers.generator``: ``'flow'``, ``'walker'``,
        ``'persistent'``, ``'sine'``, ``'downhill'``, ``'none'``, ``'learned:NAME'``, or any
        object with ``.name`` and ``.generate(drainage, *, rng, config)``.
    max_cells : int or None, optional
        Refuse grids larger than this (default 8192**2); None lifts the cap.

    Returns
    -------
    Level
        Every river in it flows downhill: the height along every cell of its path never rises
        from source to mouth (across a lake it runs on the water's surface), and it ends in
        the sea, a lake, the map edge, or on another river.

    Examples
    --------
    >>> from procgen import generate_level
    >>> level = generate_level(seed=3, shape=(64, 96), preset="archipelago")
    >>> level.shape
    (64, 96)
    >>> bool(level.water.any())
    True
    """
    ctx = _pipeline.context(seed=seed, shape=shape, cell_size=cell_size, max_cells=max_cells)
    out = _pipeline.run(ctx, config_of(preset, config), rivers=rivers)
    return level_from(ctx, out)


def config_of(preset=None, config=None) -> LevelConfig:
    """The LevelConfig a ``preset`` name or a ``config`` names (give one at most; neither:
    ``'continent'``)."""
    if preset is not None and config is not None:
        raise ValueError("give preset or config, not both")
    if config is None:
        return LevelConfig.from_preset("continent" if preset is None else preset)
    if not isinstance(config, LevelConfig):
        raise TypeError(f"config must be a LevelConfig, got {type(config).__name__}")
    return config


def level_from(ctx: "_pipeline.Context", out: "_pipeline.Result") -> Level:
    """The Level of a pipeline run."""
    return Level(config=out.config, seed=ctx.seed, cell_size=ctx.cell_size, height=out.height,
                 water=out.drainage.water, lakes=out.drainage.lakes, rivers=out.rivers,
                 biomes=out.biomes)


# -- reading level files ---------------------------------------------------------------------
# Every array a level file may hold, and its dtype. "biomes" is absent from files written
# before the biomes stage existed (it is then computed).
_ARRAY_DTYPES = {
    "header": np.dtype(np.uint8), "height": np.dtype(np.float32), "water": np.dtype(np.bool_),
    "lakes": np.dtype(np.int32), "biomes": np.dtype(np.uint8),
    "river_offsets": np.dtype(np.int64), "river_path": np.dtype(np.float64),
    "river_width": np.dtype(np.float32),
}
_OPTIONAL_ARRAYS = {"biomes"}
_GRIDS = {"height", "water", "lakes", "biomes"}
_HEADER_FIELDS = ("format", "version", "seed", "cell_size", "shape", "config", "rivers")
_RIVER_FIELDS = {"generator", "discharge", "order", "id"}
# Longest .npy header read (numpy's own default), and the largest zip directory parsed at all:
# a level's eight entries take about 700 bytes. Smaller directories are parsed, so that an
# unknown entry is refused by name.
_NPY_HEADER_MAX = 10_000
_ZIP_ENTRIES_MAX = 64
_ZIP_DIRECTORY_MAX = 1 << 16


def _read_level_file(path: Path, where: str, max_cells: int | None):
    """The checked header (seed, cell_size, config as objects) and arrays of a level file."""
    def refuse(message):
        return ValueError(f"{where}: {message}")

    try:
        with open(path, "rb") as fp:
            _check_zip_directory_size(fp, os.fstat(fp.fileno()).st_size, where)
            with zipfile.ZipFile(fp) as zf:
                members = _check_members(zf, where, max_cells)
                raw = _read_member(zf, members["header"], where)
                header = _check_header(raw, where, max_cells)
                _check_shapes(members, header, where)
                arrays = {name: _read_member(zf, m, where) for name, m in members.items()
                          if name != "header"}
    except (zipfile.BadZipFile, zlib.error, EOFError, struct.error) as exc:
        raise ValueError(f"{where} is not a readable level file: damaged ({exc})") from None
    except OSError as exc:
        raise ValueError(f"{where} is not a readable level file: {exc}") from None

    height, lakes, offsets = arrays["height"], arrays["lakes"], arrays["river_offsets"]
    bad = int(np.count_nonzero(~np.isfinite(height)))
    if bad:
        raise refuse(f"height holds {bad:,} NaN or infinite values; heights must be finite "
                     f"metres")
    if lakes.size and int(lakes.min()) < 0:
        raise refuse(f"lakes must hold labels >= 0, got {int(lakes.min())}")
    biomes = arrays.get("biomes")
    if biomes is not None and biomes.size and int(biomes.max()) >= len(Biome):
        raise refuse(f"biomes array does not match the header: values must be Biome codes "
                     f"0..{len(Biome) - 1}, got {int(biomes.max())}")
    if len(offsets) and (offsets[0] != 0 or offsets[-1] != len(arrays["river_path"])
                         or np.any(np.diff(offsets) < 2)):
        raise refuse(f"river_offsets must rise from 0 to {len(arrays['river_path'])} by at "
                     f"least 2 per river (each river has 2 or more vertices), got "
                     f"{_short(offsets)}")
    return header, arrays


def _check_zip_directory_size(fp, size: int, where: str) -> None:
    """Refuse archives whose central directory is larger than a level file's, before
    :mod:`zipfile` parses it (it builds an object per entry, whatever their number)."""
    not_zip = ValueError(f"{where} is not a readable level file: not a zip archive (a level "
                         f"file is the .npz that Level.save writes)")
    tail_len = min(size, 22 + 0xFFFF)           # end record plus the longest zip comment
    fp.seek(size - tail_len)
    tail = fp.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise not_zip
    entries, directory = struct.unpack_from("<HL", tail, at + 10)
    locator = at - 20
    if locator >= 0 and tail[locator:locator + 4] == b"PK\x06\x07":
        # A zip64 end record (files over 4 GiB) overrides the counts of the classic one.
        (record,) = struct.unpack_from("<Q", tail, locator + 8)
        fp.seek(record)
        zip64 = fp.read(56)
        if len(zip64) < 56 or zip64[:4] != b"PK\x06\x06":
            raise not_zip
        entries, directory = struct.unpack_from("<QQ", zip64, 32)
    if entries > _ZIP_ENTRIES_MAX or directory > _ZIP_DIRECTORY_MAX:
        raise ValueError(f"{where} is not a level file: its zip directory lists {entries:,} "
                         f"entries in {directory:,} bytes; a level file has at most "
                         f"{len(_ARRAY_DTYPES)} ({', '.join(_ARRAY_DTYPES)})")


def _check_members(zf: zipfile.ZipFile, where: str, max_cells: int | None) -> dict:
    """Name -> (ZipInfo, shape) of each array, checked from the zip directory and each
    member's .npy header alone (no array data is read)."""
    infos = zf.infolist()
    names = [i.filename for i in infos]
    present = {n[:-4] for n in names if n.endswith(".npy")}
    missing = sorted(set(_ARRAY_DTYPES) - _OPTIONAL_ARRAYS - present)
    if missing:
        raise ValueError(f"{where} is not a level file: missing {', '.join(missing)}")
    for name in names:
        if not name.endswith(".npy") or name[:-4] not in _ARRAY_DTYPES or names.count(name) > 1:
            raise ValueError(f"{where} is not a level file: it holds {name!r}"
                             f"{' twice' if names.count(name) > 1 else ''}; a level file holds "
                             f"one each of {', '.join(n + '.npy' for n in _ARRAY_DTYPES)}")
    members = {}
    for info in infos:
        name = info.filename[:-4]
        if info.flag_bits & 0x1:
            raise ValueError(f"{where}: {name} is encrypted; level files are not")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ValueError(f"{where}: {name} uses zip compression method "
                             f"{info.compress_type}; allowed: stored (0) or deflated (8)")
        with zf.open(info) as f:
            try:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(
                        f, max_header_size=_NPY_HEADER_MAX)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(
                        f, max_header_size=_NPY_HEADER_MAX)
                else:
                    raise ValueError(f".npy format version {version}; allowed: 1.0 or 2.0")
            except (ValueError, TypeError, SyntaxError, RecursionError,
                    tokenize.TokenError) as exc:
                # numpy parses the .npy header as a Python literal (never evaluates it);
                # these are the ways that parse fails.
                raise ValueError(f"{where}: {name} is not a readable array: "
                                 f"{str(exc).splitlines()[0]}") from None
            start = f.tell()
        want = _ARRAY_DTYPES[name]
        if dtype != want or fortran:
            raise ValueError(f"{where}: {name} must be a C-ordered {want} array, got "
                             f"{'Fortran-ordered ' if fortran else ''}{dtype}")
        count = int(np.prod(shape, dtype=object))
        # Grids are held to the cap itself; the header and river arrays, which a tiny map
        # can have more of than cells, to the default cap at least.
        cap = max_cells if name in _GRIDS or max_cells is None else max(max_cells,
                                                                         DEFAULT_MAX_CELLS)
        if cap is not None and count > cap:
            raise ValueError(f"{where}: {name} has shape {shape}, {count:,} values, over the "
                             f"cap of {cap:,}; pass max_cells=None (or a larger cap) to "
                             f"load it")
        if info.file_size != start + count * want.itemsize:
            raise ValueError(f"{where}: {name} is damaged: its header says shape {shape} "
                             f"({count * want.itemsize:,} bytes) but the entry holds "
                             f"{info.file_size - start:,}")
        members[name] = (info, tuple(shape))
    return members


def _read_member(zf: zipfile.ZipFile, member, where: str) -> np.ndarray:
    info, _ = member
    with zf.open(info) as f:
        try:
            return np.lib.format.read_array(f, allow_pickle=False,
                                            max_header_size=_NPY_HEADER_MAX)
        except ValueError as exc:        # data cut short of what the header promised
            raise ValueError(f"{where} is not a readable level file: damaged "
                             f"({info.filename}: {exc})") from None


def _check_header(raw: np.ndarray, where: str, max_cells: int | None) -> dict:
    """The JSON header, every field checked; seed, cell_size, shape and config converted."""
    def refuse(field_name, rule, value):
        return ValueError(f"{where}: header field {field_name!r} must be {rule}, got "
                          f"{_short(value)}")

    if raw.ndim != 1:
        raise ValueError(f"{where}: header must be a 1-D uint8 array, got shape {raw.shape}")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{where} has a damaged header: not JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != _FORMAT_NAME:
        raise ValueError(f"{where} is not a {_FORMAT_NAME} file: its header has no "
                         f"'format': {_FORMAT_NAME!r}")
    version = header.get("version")
    if (isinstance(version, bool) or not isinstance(version, int)
            or not 1 <= version <= FORMAT_VERSION):
        raise ValueError(f"{where} has format version {_short(version)}; this procgen reads "
                         f"versions 1..{FORMAT_VERSION} (upgrade procgen to read a newer one)")
    missing = [k for k in _HEADER_FIELDS if k not in header]
    unknown = sorted(set(header) - set(_HEADER_FIELDS))
    if missing or unknown:
        what = "; ".join(part for part in (
            missing and f"missing {', '.join(map(repr, missing))}",
            unknown and f"unknown {', '.join(map(repr, unknown))}") if part)
        raise ValueError(f"{where}: header fields: {what}; a level header has exactly "
                         f"{', '.join(map(repr, _HEADER_FIELDS))}")
    out = dict(header)
    try:
        out["seed"] = check_seed("seed", header["seed"])
    except (TypeError, ValueError):
        raise refuse("seed", "an integer in -2**63..2**64-1", header["seed"]) from None
    try:
        out["cell_size"] = check_cell_size(header["cell_size"])
    except (TypeError, ValueError):
        raise refuse("cell_size", f"a number of metres in [{CELL_SIZE_MIN:g}, "
                                  f"{CELL_SIZE_MAX:g}]", header["cell_size"]) from None
    shape = header["shape"]
    if not (isinstance(shape, list) and len(shape) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)):
        raise refuse("shape", "[rows, cols], two integers >= 1", shape)
    try:
        out["shape"] = check_shape("header field 'shape'", shape, max_cells=max_cells)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    rivers = header["rivers"]
    if not isinstance(rivers, list):
        raise refuse("rivers", "a list of river records", rivers)
    for k, meta in enumerate(rivers):
        at = f"rivers[{k}]"
        allowed = _RIVER_FIELDS if header["version"] >= 2 else _RIVER_FIELDS - {"id"}
        if not isinstance(meta, dict) or "generator" not in meta or set(meta) - allowed:
            optional = ("'discharge', 'order' and 'id'" if "id" in allowed
                        else "'discharge' and 'order'")
            raise refuse(at, f"a record with 'generator' and optionally {optional}, nothing "
                             f"else", meta)
        gen = meta["generator"]
        if not isinstance(gen, str) or not 0 < len(gen) <= river_mod.MAX_NAME:
            raise refuse(f"{at}.generator", f"a name of 1 to {river_mod.MAX_NAME} characters",
                         gen)
        q = meta.get("discharge", 0.0)
        if isinstance(q, bool) or not isinstance(q, numbers.Real) or not 0.0 <= q < float("inf"):
            raise refuse(f"{at}.discharge", "a finite number >= 0", q)
        order = meta.get("order", 1)
        if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= river_mod.MAX_ORDER:
            raise refuse(f"{at}.order", f"an integer in 0..{river_mod.MAX_ORDER}", order)
        rid = meta.get("id")
        if rid is not None and (isinstance(rid, bool) or not isinstance(rid, int)
                                or not -2 ** 63 <= rid < 2 ** 63):
            raise refuse(f"{at}.id", "an integer in -2**63..2**63-1", rid)
    try:
        out["config"] = LevelConfig.from_dict(_upgrade_config(header["config"]))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where}: header field 'config' is not a valid LevelConfig: "
                         f"{exc}") from None
    return out


def _check_shapes(members: dict, header: dict, where: str) -> None:
    """Each array's shape, from its .npy header, against the JSON header."""
    n = len(header["rivers"])
    vertices = members["river_path"][1][0] if len(members["river_path"][1]) == 2 else -1
    want = {"height": header["shape"], "water": header["shape"], "lakes": header["shape"],
            "biomes": header["shape"], "river_offsets": (n + 1,), "river_path": (vertices, 2),
            "river_width": (vertices,)}
    for name in (n for n in want if n in members):
        shape = members[name][1]
        if shape != tuple(want[name]):
            expect = "(N, 2)" if name == "river_path" and vertices < 0 else tuple(want[name])
            raise ValueError(f"{where}: {name} must have shape {expect} to match the header, "
                             f"got {shape}")


def _short(value, limit: int = 80) -> str:
    text = repr(value.tolist() if isinstance(value, np.ndarray) else value)
    return text if len(text) <= limit else text[:limit - 5] + " ...]"


# -- config <-> plain dicts -------------------------------------------------------------------
def _upgrade_config(data):
    """Read a saved config as the version that wrote it meant it.

    Configs saved before lengths scaled with the cell size have every terrain and rivers key
    but ``reference_cell_size``; their lengths were absolute metres, which None now means.
    Rivers sections saved before meanders existed drew D8 paths: ``meanders='none'``.
    Configs saved before the erosion stage existed were not eroded: ``steps=0``; erosion
    sections saved before its modes existed wore the terrain: ``mode='wear'``.
    """
    if not isinstance(data, dict):
        return data
    data = dict(data)
    for section in ("terrain", "rivers"):
        part = data.get(section)
        if isinstance(part, dict) and part and "reference_cell_size" not in part:
            data[section] = {**part, "reference_cell_size": None}
    rivers = data.get("rivers")
    if isinstance(rivers, dict) and rivers and "meanders" not in rivers:
        data["rivers"] = {**rivers, "meanders": "none"}
    erosion = data.get("erosion")
    if "erosion" not in data:
        data["erosion"] = {"steps": 0}
    elif isinstance(erosion, dict) and "mode" not in erosion:
        data["erosion"] = {**erosion, "mode": "wear"}
    return data


def _to_plain(obj):
    if is_dataclass(obj):
        return {f.name: _to_plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (tuple, list)):
        return [_to_plain(v) for v in obj]
    return obj


def _from_plain(cls, data, where: str):
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    kwargs = {}
    for name, value in data.items():
        hint = hints[name]
        if isinstance(hint, type) and is_dataclass(hint):
            value = _from_plain(hint, value, f"{where}.{name}")
        elif isinstance(hint, type) and issubclass(hint, enum.Enum):
            value = hint(value)
        kwargs[name] = value
    return cls(**kwargs)
