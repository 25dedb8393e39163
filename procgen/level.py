"""Level, LevelConfig and generate_level(): the pipeline of stages, and the level file.

Stages run in a fixed order, each with its own config section and its own random stream
spawned from the root seed (``numpy.random.SeedSequence(seed).spawn``), so changing a later
stage leaves earlier ones bit-identical.

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
import typing
import zipfile
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path

import numpy as np

from . import queries as _q
from . import terrain as _terrain
from .biomes import Biome, BiomesConfig, assign_biomes
from .hydrology import HydrologyConfig, drain
from ._io import atomic_write
from ._validate import DEFAULT_MAX_CELLS, check_float, check_int, check_shape
from .river import River
from .rivers import RiversConfig, carve_rivers, get_generator

__all__ = ["LevelConfig", "Level", "generate_level", "STAGES", "stage_seed", "FORMAT_VERSION",
           "PRESET_RIVERS"]

#: Pipeline stages in order; each gets child ``i`` of the root SeedSequence.
STAGES = ("terrain", "hydrology", "rivers", "biomes")

#: Version of the level file format written by :meth:`Level.save`.
FORMAT_VERSION = 1
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
    """

    terrain: _terrain.TerrainConfig = field(default_factory=lambda: _terrain.preset("continent"))
    hydrology: HydrologyConfig = field(default_factory=HydrologyConfig)
    rivers: RiversConfig = field(default_factory=RiversConfig)
    biomes: BiomesConfig = field(default_factory=BiomesConfig)

    def __post_init__(self):
        for name, kind in (("terrain", _terrain.TerrainConfig), ("hydrology", HydrologyConfig),
                           ("rivers", RiversConfig), ("biomes", BiomesConfig)):
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


def _check_seed(seed) -> int:
    return check_int("seed", seed, lo=0, hi=(1 << 64) - 1)


def stage_seed(seed: int, stage: str) -> int:
    """The 64-bit seed of one stage, spawned from the level's root seed.

    Examples
    --------
    >>> from procgen.level import stage_seed
    >>> stage_seed(7, "terrain") != stage_seed(7, "rivers")
    True
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(map(repr, STAGES))}, got {stage!r}")
    child = np.random.SeedSequence(_check_seed(seed)).spawn(len(STAGES))[STAGES.index(stage)]
    return int(child.generate_state(1, np.uint64)[0])


@dataclass(eq=False)
class Level:
    """A generated level: heights, water, rivers, and what made them.

    Attributes
    ----------
    config : LevelConfig
        Settings of every stage.
    seed : int
        Root seed.
    cell_size : float
        Metres per cell.
    height : numpy.ndarray
        float32 ``(rows, cols)`` heights in metres, sea level at 0.
    water : numpy.ndarray
        bool ``(rows, cols)``: sea and lakes.
    lakes : numpy.ndarray
        int32 ``(rows, cols)`` lake labels, 0 off lakes, 1..K on the K lakes.
    rivers : list of River
        River courses, source first.
    biomes : numpy.ndarray
        uint8 ``(rows, cols)`` :class:`~procgen.biomes.Biome` values. Computed from the
        other arrays when not given (``None``).

    Notes
    -----
    The query methods (:meth:`height_at`, :meth:`distance_to_water`, :meth:`walkable`, ...)
    are thin wrappers of :mod:`procgen.queries`. Grids they derive are computed on first use
    and cached on this instance (never saved); they are recomputed when ``height``,
    ``water``, ``lakes``, ``rivers``, ``cell_size`` or ``config`` is *replaced*. After
    changing those arrays *in place*, call :meth:`clear_cache`. Cached grids are returned
    read-only; copy them to change them. ``biomes`` is an ordinary array set at
    construction; after changing the terrain or rivers, recompute it with
    :func:`procgen.biomes.assign_biomes` if it matters.
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
        if self.biomes is None:
            self.biomes = assign_biomes(self.height, cell_size=self.cell_size,
                                        water=self.water, lakes=self.lakes, rivers=self.rivers,
                                        config=self.config.biomes,
                                        rivers_config=self.config.rivers)
        else:
            b = np.asarray(self.biomes)
            if b.dtype != np.uint8 or b.shape != np.shape(self.height):
                raise ValueError(f"biomes must be a uint8 array of shape "
                                 f"{np.shape(self.height)}, got {b.dtype} {b.shape}")
            if b.size and int(b.max()) >= len(Biome):
                raise ValueError(f"biomes must hold Biome values 0..{len(Biome) - 1}, got "
                                 f"{int(b.max())}")
            self.biomes = b

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
        return _q.biome_at(self, row, col)

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
            "version": FORMAT_VERSION,
            "seed": int(self.seed),
            "cell_size": float(self.cell_size),
            "shape": list(self.shape),
            "config": self.config.to_dict(),
            "rivers": [{"generator": r.generator, "discharge": r.discharge, "order": r.order}
                       for r in self.rivers],
        }
        lengths = [len(r.path) for r in self.rivers]
        arrays = {
            "header": np.frombuffer(json.dumps(header, sort_keys=True).encode(), np.uint8),
            "height": np.ascontiguousarray(self.height, np.float32),
            "water": np.ascontiguousarray(self.water, np.bool_),
            "lakes": np.ascontiguousarray(self.lakes, np.int32),
            "biomes": np.ascontiguousarray(self.biomes, np.uint8),
            "river_offsets": np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int64),
            "river_path": (np.concatenate([r.path for r in self.rivers]) if self.rivers
                           else np.zeros((0, 2), np.float64)),
            "river_width": (np.concatenate([r.width for r in self.rivers]) if self.rivers
                            else np.zeros(0, np.float32)),
        }
        saver = np.savez_compressed if compress else np.savez
        return atomic_write(path, lambda f: saver(f, **arrays))

    @classmethod
    def load(cls, path) -> "Level":
        """Read a level written by :meth:`save`.

        Raises
        ------
        ValueError
            If the file is not a level file, is damaged, or has a newer format version.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"path: no level file at {str(path)!r}")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise ValueError(f"{str(path)!r} is not a readable level file: {exc}") from None
        need = {"header", "height", "water", "lakes", "river_offsets", "river_path",
                "river_width"}
        if not need <= arrays.keys():
            raise ValueError(f"{str(path)!r} is not a level file: missing "
                             f"{', '.join(sorted(need - arrays.keys()))}")
        try:
            header = json.loads(arrays["header"].tobytes().decode())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{str(path)!r} has a damaged header: {exc}") from None
        if not isinstance(header, dict) or header.get("format") != _FORMAT_NAME:
            raise ValueError(f"{str(path)!r} is not a {_FORMAT_NAME} file")
        version = header.get("version")
        if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
            raise ValueError(f"{str(path)!r} has format version {version!r}; this procgen reads "
                             f"versions 1..{FORMAT_VERSION} (upgrade procgen to read it)")
        height, water, lakes = arrays["height"], arrays["water"], arrays["lakes"]
        shape = tuple(header.get("shape", ()))
        if (height.dtype != np.float32 or water.dtype != np.bool_ or lakes.dtype != np.int32
                or not height.shape == water.shape == lakes.shape == shape):
            raise ValueError(f"{str(path)!r}: height/water/lakes arrays do not match the header")
        offsets, rpath, rwidth = arrays["river_offsets"], arrays["river_path"], arrays["river_width"]
        metas = header.get("rivers", [])
        if (offsets.shape != (len(metas) + 1,) or rpath.shape != (offsets[-1], 2)
                or rwidth.shape != (offsets[-1],)):
            raise ValueError(f"{str(path)!r}: river arrays do not match the header")
        rivers = [River(path=rpath[a:b], width=rwidth[a:b], **meta)
                  for a, b, meta in zip(offsets[:-1], offsets[1:], metas)]
        # Files written before the biomes stage existed have no "biomes" entry: compute it.
        biomes = arrays.get("biomes")
        if biomes is not None and (biomes.dtype != np.uint8 or biomes.shape != shape
                                   or (biomes.size and int(biomes.max()) >= len(Biome))):
            raise ValueError(f"{str(path)!r}: biomes array does not match the header")
        return cls(config=LevelConfig.from_dict(_upgrade_config(header["config"])),
                   seed=header["seed"],
                   cell_size=header["cell_size"], height=height, water=water, lakes=lakes,
                   rivers=rivers, biomes=biomes)


def generate_level(*, seed, shape, cell_size=DEFAULT_CELL_SIZE, preset=None, config=None,
                   rivers=None, max_cells=DEFAULT_MAX_CELLS) -> Level:
    """Generate a level: terrain, hydrology (lakes), rivers, carving, and biomes.

    Parameters
    ----------
    seed : int
        Root seed, 0 <= seed < 2**64. Same seed + config + version = identical arrays.
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
        Every river in it flows downhill: the height along its path never rises from source
        to mouth, and it ends in the sea, a lake, the map edge, or on another river.

    Examples
    --------
    >>> from procgen import generate_level
    >>> level = generate_level(seed=3, shape=(64, 96), preset="archipelago")
    >>> level.shape
    (64, 96)
    >>> bool(level.water.any())
    True
    """
    seed = _check_seed(seed)
    shape = check_shape("shape", shape, max_cells=max_cells)
    cell_size = check_float("cell_size", cell_size, lo=0.0, hi=1e6, lo_open=True)
    if preset is not None and config is not None:
        raise ValueError("give preset or config, not both")
    if config is None:
        config = LevelConfig.from_preset("continent" if preset is None else preset)
    elif not isinstance(config, LevelConfig):
        raise TypeError(f"config must be a LevelConfig, got {type(config).__name__}")
    generator = get_generator(config.rivers.generator if rivers is None else rivers)
    if generator.name != config.rivers.generator:
        config = replace(config, rivers=replace(config.rivers, generator=generator.name))

    terrain = _terrain.heightmap(shape, config=config.terrain, cell_size=cell_size,
                                 seed=stage_seed(seed, "terrain"), max_cells=None)
    drainage = drain(terrain, cell_size=cell_size, config=config.hydrology)
    rng = np.random.Generator(np.random.PCG64(stage_seed(seed, "rivers")))
    river_list = list(generator.generate(drainage, rng=rng, config=config.rivers))
    height = carve_rivers(drainage.height.copy(), river_list, cell_size=cell_size,
                          config=config.rivers)
    # The biomes stage draws no random numbers (its stream, stage_seed(seed, "biomes"), is
    # reserved), so it is a pure function of the carved level.
    biomes = assign_biomes(height, cell_size=cell_size, water=drainage.water,
                           lakes=drainage.lakes, rivers=river_list, config=config.biomes,
                           rivers_config=config.rivers)
    return Level(config=config, seed=seed, cell_size=cell_size, height=height,
                 water=drainage.water, lakes=drainage.lakes, rivers=river_list, biomes=biomes)


# -- config <-> plain dicts -------------------------------------------------------------------
def _upgrade_config(data):
    """Read a saved config as the version that wrote it meant it.

    Configs saved before lengths scaled with the cell size have every terrain and rivers key
    but ``reference_cell_size``; their lengths were absolute metres, which None now means.
    """
    if not isinstance(data, dict):
        return data
    data = dict(data)
    for section in ("terrain", "rivers"):
        part = data.get(section)
        if isinstance(part, dict) and part and "reference_cell_size" not in part:
            data[section] = {**part, "reference_cell_size": None}
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
