"""Levels into games and GIS: tile maps, the Tiled map editor, GeoJSON rivers, GeoTIFF
terrain, engine heightmaps (16-bit conversion, legal engine sizes, writing).

* :func:`to_tiles` maps every cell (biome, water, river, ford) to a uint16 tile id of a
  tileset you describe with a mapping (default :data:`DEFAULT_TILESET`, one tile per biome
  plus river and ford tiles).
* :func:`save_tiled` writes a map for the Tiled map editor (JSON map format, orthogonal):
  tile layers ``ground`` and ``rivers`` (zlib-compressed by default, see
  :class:`LayerFormat`), an object layer ``river_lines`` holding each river as a polyline
  with its properties, and a tileset image of colour swatches beside it.
* :func:`save_geojson` writes the rivers as an RFC 7946 GeoJSON FeatureCollection of
  LineStrings in longitude/latitude, and :func:`save_geotiff` the heights as a float32
  GeoTIFF placed the same way (:class:`GeoFrame`), so the two overlay in QGIS.
* :func:`save_heightmap` writes a 16-bit PNG or RAW heightmap at an engine-legal size, a
  JSON sidecar with the vertical scale, and optional per-biome splat (weight) maps.

Every function here writes all its files or none: contents are built in memory first, then
written to temporary files and renamed over the targets together
(:func:`procgen._io.atomic_write_many`), so a failed call leaves the old files as they were.

Coordinates
-----------
* Tiled: pixels, x to the east, y to the south, origin at the map's top-left corner; cell
  ``(row, col)`` is the tile whose centre is ``((col + 0.5) * tile_width,
  (row + 0.5) * tile_height)``.
* GeoJSON and GeoTIFF: WGS 84 longitude/latitude (EPSG:4326) in a local equirectangular
  frame whose centre, the centre of the map, lies at ``geo_origin = (lat, lon)``; see
  :class:`GeoFrame` for the formulas and their error. GeoJSON features also carry each
  vertex's ``row`` and ``col`` (metres east = ``col * cell_size``, south =
  ``row * cell_size``).
* Heightmaps: row-major, **first row = north edge** (row 0 of the level), first sample of
  each row = west edge.

>>> from procgen import generate_level
>>> from procgen.export import to_tiles, DEFAULT_TILESET
>>> level = generate_level(seed=7, shape=(24, 24), cell_size=4000.0, preset="islands")
>>> tiles = to_tiles(level)
>>> tiles.shape, int(tiles[0, 0]) == DEFAULT_TILESET["ocean"]
((24, 24), True)
"""

from __future__ import annotations

import base64
import enum
import gzip
import io
import json
import math
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._io import atomic_write_many
from ._validate import check_cell_size, check_enum, check_float, check_int, check_shape
from .biomes import Biome

__all__ = ["TILE_KEYS", "DEFAULT_TILESET", "TILE_COLORS", "to_tiles", "tileset_image",
           "LayerFormat", "tiled_map", "save_tiled", "GeoFrame", "rivers_geojson",
           "save_geojson", "geotiff_bytes", "save_geotiff", "HeightmapFormat", "SplatLayout",
           "HeightmapExport", "biome_weights", "raw16_bytes", "save_heightmap",
           "Engine", "ENGINE_SIZES", "legal_sizes", "check_engine_size", "HeightmapRange",
           "heightmap_range", "heightmap16",
           "TILED_VERSION", "TILED_JSON_VERSION"]

#: What a tileset must give a tile id for: every biome (by lower-case name) and the
#: ``'river'`` and ``'ford'`` tiles.
TILE_KEYS: tuple[str, ...] = tuple(b.label for b in Biome) + ("river", "ford")

#: Default tileset: tile id = Biome value (0..11), then river (12) and ford (13).
DEFAULT_TILESET: dict[str, int] = {key: i for i, key in enumerate(TILE_KEYS)}

#: Swatch colour of every tile key, for the generated tileset image.
TILE_COLORS: dict[str, tuple[int, int, int]] = {
    **{b.label: b.color for b in Biome}, "river": (40, 96, 200), "ford": (128, 176, 226)}

#: Tiled release and JSON format version written into maps. The maps use nothing newer than
#: Tiled 1.8: the tests open and re-export one with Tiled 1.8.2.
TILED_VERSION = "1.10.2"
TILED_JSON_VERSION = "1.10"

_MAX_TILE_ID = 65535


def _png_bytes(array: np.ndarray) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    arr = np.ascontiguousarray(array, array.dtype.newbyteorder("="))
    Image.fromarray(arr).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _json_bytes(obj) -> bytes:
    return (json.dumps(obj, indent=1, allow_nan=False) + "\n").encode()


# -- tiles -----------------------------------------------------------------------------------
def _check_tileset(tileset) -> dict[str, int]:
    if tileset is None:
        return dict(DEFAULT_TILESET)
    if not hasattr(tileset, "items"):
        raise TypeError(f"tileset must be a mapping of tile keys to tile ids, got "
                        f"{type(tileset).__name__}")
    out = {}
    for key, value in tileset.items():
        name = key.label if isinstance(key, Biome) else key
        if not isinstance(name, str) or name.lower() not in TILE_KEYS:
            raise ValueError(f"tileset key must be a Biome or one of {', '.join(TILE_KEYS)}; "
                             f"got {key!r}")
        out[name.lower()] = check_int(f"tileset[{name.lower()!r}]", value, lo=0,
                                      hi=_MAX_TILE_ID)
    missing = [k for k in TILE_KEYS if k not in out]
    if missing:
        raise ValueError(f"tileset is missing {', '.join(map(repr, missing))}; it must map "
                         f"every key of procgen.export.TILE_KEYS to a tile id")
    return out


def _layers(level, ids: dict[str, int]):
    """(ground, rivers): ground tile ids from biomes; river tile ids (-1 = no river)."""
    biome_lut = np.array([ids[b.label] for b in Biome], np.int32)
    ground = biome_lut[np.asarray(level.biomes)]
    rivers = np.full(ground.shape, -1, np.int32)
    rivers[level.river_mask()] = ids["river"]
    rivers[level.fords()] = ids["ford"]
    return ground, rivers


def to_tiles(level, *, tileset=None, rivers: bool = True) -> np.ndarray:
    """Tile id of every cell for a tileset described by a mapping.

    The ground tile comes from the cell's biome (:class:`~procgen.biomes.Biome`: ocean and
    lake are the water tiles; beach, desert, ... bare rock the land tiles); with ``rivers``,
    river cells take the ``'river'`` tile, and fords (:func:`procgen.queries.fords`, default
    limits) the ``'ford'`` tile.

    Parameters
    ----------
    level : Level
    tileset : mapping, optional
        Tile id (0..65535) for every key of :data:`TILE_KEYS`: each Biome (member or
        lower-case name) and ``'river'``, ``'ford'``. Several keys may share an id, e.g. a
        four-tile set ``{'ocean': 0, 'lake': 0, 'river': 0, 'ford': 1, 'beach': 1, ...}``.
        Default :data:`DEFAULT_TILESET`.
    rivers : bool, optional
        Put river and ford tiles on river cells (default True).

    Returns
    -------
    numpy.ndarray
        uint16 ``(rows, cols)`` tile ids (tile ids are 0..65535, as in tile map formats).

    Examples
    --------
    >>> from procgen import generate_level
    >>> from procgen.export import to_tiles, TILE_KEYS
    >>> lv = generate_level(seed=3, shape=32, cell_size=4000.0, preset="islands")
    >>> two = {k: (0 if k in ("ocean", "lake", "river") else 1) for k in TILE_KEYS}
    >>> t = to_tiles(lv, tileset=two, rivers=False)
    >>> t.dtype, bool(((t == 0) == lv.water).all())
    (dtype('uint16'), True)
    """
    ids = _check_tileset(tileset)
    if not isinstance(rivers, (bool, np.bool_)):
        raise TypeError(f"rivers must be True or False, got {rivers!r}")
    ground, river_tiles = _layers(level, ids)
    if rivers:
        ground = np.where(river_tiles >= 0, river_tiles, ground)
    # Every id was checked to lie in 0..65535, so the cast is exact.
    return ground.astype(np.uint16)


def _swatch_colours(ids: dict[str, int]) -> dict[int, tuple[int, int, int]]:
    colours = {}
    for key in TILE_KEYS:           # the first key mapped to an id gives its colour
        colours.setdefault(ids[key], TILE_COLORS[key])
    return colours


def tileset_image(tileset=None, *, tile_size: int = 16, columns: int = 16) -> np.ndarray:
    """A tileset image of flat colour swatches: tile ``i`` at column ``i % columns``,
    row ``i // columns``, coloured as the first key of :data:`TILE_KEYS` mapped to ``i``
    (:data:`TILE_COLORS`); ids no key uses are magenta.

    Returns
    -------
    numpy.ndarray
        uint8 RGB ``(rows * tile_size, min(count, columns) * tile_size, 3)`` with
        ``count = max id + 1``.

    Examples
    --------
    >>> from procgen.export import tileset_image
    >>> tileset_image(tile_size=8).shape          # 14 tiles in one row
    (8, 112, 3)
    """
    ids = _check_tileset(tileset)
    tile_size = check_int("tile_size", tile_size, lo=1, hi=1024)
    columns = check_int("columns", columns, lo=1, hi=4096)
    count = max(ids.values()) + 1
    cols = min(count, columns)
    rows = -(-count // cols)
    img = np.zeros((rows * tile_size, cols * tile_size, 3), np.uint8)
    img[...] = (255, 0, 255)
    for tile, rgb in _swatch_colours(ids).items():
        r, c = divmod(tile, cols)
        img[r * tile_size:(r + 1) * tile_size, c * tile_size:(c + 1) * tile_size] = rgb
    return img


def _prop(name, kind, value):
    return {"name": name, "type": kind, "value": value}


def _river_properties(level, k, river):
    seg = np.hypot(*np.diff(river.path, axis=0).T)
    return {
        "index": k,
        "generator": river.generator,
        "discharge_m3s": float(river.discharge),
        "order": int(river.order),
        "length_m": float(seg.sum() * level.cell_size),
        "width_source_m": float(river.width[0]),
        "width_mouth_m": float(river.width[-1]),
    }


class LayerFormat(enum.Enum):
    """How a Tiled map stores its tile layers' data (each cell's gid, row by row).

    * ``ZLIB``: ``"encoding": "base64", "compression": "zlib"``: the gids as little-endian
      uint32, zlib-compressed, base64 text. Small; the default.
    * ``GZIP``: the same with gzip compression (written with a zero timestamp, so the same
      level gives the same bytes).
    * ``CSV``: a plain JSON array of gids (Tiled's ``"encoding": "csv"``): easy to read
      with any JSON parser, but large: a 1024 x 1024 continent is 4.4 MB as CSV and
      0.30 MB with ``ZLIB`` (its layer data alone about 80 times smaller).

    Tiled reads all three (the tests re-export each with Tiled 1.8.2) and keeps the choice
    when it saves the map.
    """

    ZLIB = "zlib"
    GZIP = "gzip"
    CSV = "csv"


def _encode_gids(gids: np.ndarray, layer_format: LayerFormat) -> dict:
    """The ``data`` (and ``encoding``/``compression``) members of a tile layer."""
    if layer_format is LayerFormat.CSV:
        return {"encoding": "csv", "data": gids.ravel().tolist()}
    raw = np.ascontiguousarray(gids, dtype="<u4").tobytes()
    if layer_format is LayerFormat.ZLIB:
        packed = zlib.compress(raw, 9)
    else:
        packed = gzip.compress(raw, compresslevel=9, mtime=0)
    return {"encoding": "base64", "compression": layer_format.value,
            "data": base64.b64encode(packed).decode("ascii")}


def tiled_map(level, *, tileset=None, tile_size: int = 16, image: str = "tiles.png",
              image_size=None, name: str = "procgen",
              layer_format=LayerFormat.ZLIB) -> dict:
    """The Tiled JSON map (a dict) of a level; :func:`save_tiled` writes it.

    Layout (Tiled JSON map format, orthogonal, fixed size, ``renderorder`` right-down):

    * tile layer ``ground`` (id 1): the biome tile of every cell;
    * tile layer ``rivers`` (id 2): river / ford tiles on river cells, 0 (empty) elsewhere;
    * both tile layers store their gids as ``layer_format`` says (:class:`LayerFormat`);
    * object layer ``river_lines`` (id 3): one polyline object per river (source first,
      ``type`` ``"river"``) with properties ``index``, ``generator``, ``discharge_m3s``,
      ``order``, ``length_m``, ``width_source_m``, ``width_mouth_m``;
    * one embedded tileset, ``firstgid`` 1, so a cell's gid is its tile id + 1 and 0 means
      no tile; each tile carries a ``kind`` property naming its keys.

    Map properties: ``procgen_seed`` (string: seeds exceed Tiled's int range),
    ``cell_size_m``, ``procgen_config`` (the LevelConfig as JSON).

    Parameters
    ----------
    level : Level
    tileset : mapping, optional
        As for :func:`to_tiles`.
    tile_size : int, optional
        Tile width and height in pixels (default 16).
    image : str, optional
        Tileset image path as written in the map (relative to the map file).
    image_size : (int, int), optional
        ``(width, height)`` of that image in pixels; default: the size of
        :func:`tileset_image`.
    name : str, optional
        Tileset name.
    layer_format : {'zlib', 'gzip', 'csv'} or LayerFormat, optional
        How tile layer data is stored (default ``'zlib'``).

    Examples
    --------
    >>> import base64, zlib
    >>> import numpy as np
    >>> from procgen import generate_level
    >>> from procgen.export import tiled_map
    >>> lv = generate_level(seed=3, shape=(20, 30), cell_size=4000.0, preset="islands")
    >>> m = tiled_map(lv)
    >>> m["type"], m["orientation"], m["width"], m["height"]
    ('map', 'orthogonal', 30, 20)
    >>> ground = m["layers"][0]
    >>> ground["encoding"], ground["compression"]
    ('base64', 'zlib')
    >>> gids = np.frombuffer(zlib.decompress(base64.b64decode(ground["data"])), "<u4")
    >>> gids.shape, bool((gids.reshape(20, 30) == lv.to_tiles(rivers=False) + 1).all())
    ((600,), True)
    >>> len(tiled_map(lv, layer_format="csv")["layers"][0]["data"])
    600
    """
    ids = _check_tileset(tileset)
    layer_format = check_enum("layer_format", layer_format, LayerFormat)
    tile_size = check_int("tile_size", tile_size, lo=1, hi=1024)
    count = max(ids.values()) + 1
    if image_size is None:
        columns = min(count, 16)
        image_size = (columns * tile_size, -(-count // columns) * tile_size)
    img_w, img_h = (check_int("image_size[0]", image_size[0], lo=1),
                    check_int("image_size[1]", image_size[1], lo=1))
    columns = img_w // tile_size
    tilecount = columns * (img_h // tile_size)
    if tilecount < count:
        raise ValueError(f"the tileset image ({img_w}x{img_h} px) holds {tilecount} tiles of "
                         f"{tile_size}x{tile_size} px, but the tileset uses ids up to "
                         f"{count - 1}")
    rows, cols = level.shape
    ground, river_tiles = _layers(level, ids)
    firstgid = 1

    def tile_layer(layer_id, layer_name, local):
        gids = np.where(local >= 0, local + firstgid, 0).astype(np.uint32)
        return {"id": layer_id, "name": layer_name, "type": "tilelayer", "width": cols,
                "height": rows, "x": 0, "y": 0, "opacity": 1, "visible": True,
                **_encode_gids(gids, layer_format)}

    objects = []
    for k, river in enumerate(level.rivers):
        xs = (river.path[:, 1] + 0.5) * tile_size
        ys = (river.path[:, 0] + 0.5) * tile_size
        objects.append({
            "id": k + 1, "name": f"river {k + 1}", "type": "river",
            "x": float(xs[0]), "y": float(ys[0]), "width": 0, "height": 0, "rotation": 0,
            "visible": True,
            "polyline": [{"x": float(x - xs[0]), "y": float(y - ys[0])}
                         for x, y in zip(xs, ys)],
            "properties": [_prop(key, "int" if isinstance(v, int) else
                                 "float" if isinstance(v, float) else "string", v)
                           for key, v in _river_properties(level, k, river).items()],
        })
    kinds: dict[int, list[str]] = {}
    for key in TILE_KEYS:
        kinds.setdefault(ids[key], []).append(key)
    return {
        "type": "map",
        "version": TILED_JSON_VERSION,
        "tiledversion": TILED_VERSION,
        "orientation": "orthogonal",
        "renderorder": "right-down",
        "width": cols,
        "height": rows,
        "tilewidth": tile_size,
        "tileheight": tile_size,
        "infinite": False,
        "compressionlevel": -1,
        "nextlayerid": 4,
        "nextobjectid": len(objects) + 1,
        "properties": [_prop("procgen_seed", "string", str(int(level.seed))),
                       _prop("cell_size_m", "float", float(level.cell_size)),
                       _prop("procgen_config", "string",
                             json.dumps(level.config.to_dict(), sort_keys=True))],
        "tilesets": [{
            "firstgid": firstgid, "name": name, "tilewidth": tile_size,
            "tileheight": tile_size, "tilecount": tilecount, "columns": columns,
            "image": image, "imagewidth": img_w, "imageheight": img_h, "margin": 0,
            "spacing": 0,
            "tiles": [{"id": tile, "properties": [_prop("kind", "string", ",".join(keys))]}
                      for tile, keys in sorted(kinds.items())],
        }],
        "layers": [
            tile_layer(1, "ground", ground),
            tile_layer(2, "rivers", river_tiles),
            {"id": 3, "name": "river_lines", "type": "objectgroup", "draworder": "topdown",
             "x": 0, "y": 0, "opacity": 1, "visible": True, "objects": objects},
        ],
    }


def save_tiled(level, path, *, tileset=None, tile_size: int = 16, image=None,
               layer_format=LayerFormat.ZLIB) -> list[Path]:
    """Write a Tiled map (``.json`` or ``.tmj``) and, unless ``image`` is given, its
    tileset image ``<stem>_tiles.png`` beside it (see :func:`tiled_map`).

    Both files are new after the call, or (if it fails) both are as they were.

    Parameters
    ----------
    level : Level
    path : path-like
        The map file; ``.json`` or ``.tmj``.
    tileset : mapping, optional
        As for :func:`to_tiles`.
    tile_size : int, optional
        Pixels per tile side (default 16).
    image : path-like, optional
        Your own tileset image (existing file); the map references it by a path relative
        to the map's folder and nothing but the map is written. Default: write colour
        swatches (:func:`tileset_image`).
    layer_format : {'zlib', 'gzip', 'csv'} or LayerFormat, optional
        How tile layer data is stored (default ``'zlib'``, see :class:`LayerFormat`).

    Returns
    -------
    list of pathlib.Path
        The files written.

    Examples
    --------
    >>> import tempfile, pathlib, json
    >>> from procgen import generate_level
    >>> from procgen.export import save_tiled
    >>> lv = generate_level(seed=3, shape=16, cell_size=4000.0, preset="islands")
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> [p.name for p in save_tiled(lv, folder / "island.tmj")]
    ['island_tiles.png', 'island.tmj']
    >>> json.loads((folder / "island.tmj").read_text())["tilesets"][0]["image"]
    'island_tiles.png'
    """
    path = Path(path)
    if path.suffix.lower() not in (".json", ".tmj"):
        raise ValueError(f"path must end in .json or .tmj, got {str(path)!r}")
    ids = _check_tileset(tileset)
    tile_size = check_int("tile_size", tile_size, lo=1, hi=1024)
    layer_format = check_enum("layer_format", layer_format, LayerFormat)
    files = []
    if image is None:
        swatches = tileset_image(ids, tile_size=tile_size)
        png = path.with_name(f"{path.stem}_tiles.png")
        files.append((png, _png_bytes(swatches), "path"))
        ref, size = png.name, (swatches.shape[1], swatches.shape[0])
    else:
        from PIL import Image
        image = Path(image)
        if not image.is_file():
            raise ValueError(f"image: no tileset image at {str(image)!r}")
        with Image.open(image) as im:
            size = im.size
        folder = path.parent if str(path.parent) else Path(".")
        ref = Path(os.path.relpath(image.resolve(), folder.resolve())).as_posix()
    doc = tiled_map(level, tileset=ids, tile_size=tile_size, image=ref, image_size=size,
                    layer_format=layer_format)
    files.append((path, _tiled_json_bytes(doc), "path"))
    return atomic_write_many(files)


def _tiled_json_bytes(doc: dict) -> bytes:
    """Indented JSON, except that each CSV layer's gids, each polyline and each property
    list go on one line: indenting them puts every number on a line of its own, which
    triples the size of the file."""
    inline = []

    def mark(value):
        inline.append(json.dumps(value, separators=(",", ":"), allow_nan=False))
        return f"@@procgen-inline-{len(inline) - 1}@@"

    def walk(node):
        if isinstance(node, dict):
            return {k: mark(v) if k in ("polyline", "properties") or
                    (k == "data" and isinstance(v, list)) else walk(v)
                    for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    text = json.dumps(walk(doc), indent=1, allow_nan=False)
    text = re.sub(r'"@@procgen-inline-(\d+)@@"', lambda m: inline[int(m.group(1))], text)
    return (text + "\n").encode()


# -- longitude/latitude: GeoJSON and GeoTIFF ------------------------------------------------
#: WGS 84 ellipsoid: semi-major axis (metres) and flattening.
WGS84_A = 6378137.0
WGS84_F = 1.0 / 298.257223563


def _check_geo_origin(geo_origin) -> tuple[float, float]:
    if isinstance(geo_origin, (str, bytes)) or not hasattr(geo_origin, "__len__") \
            or len(geo_origin) != 2:
        raise ValueError(f"geo_origin must be a (latitude, longitude) pair of degrees, got "
                         f"{geo_origin!r}")
    lat = check_float("geo_origin latitude", geo_origin[0], lo=-90.0, hi=90.0,
                      lo_open=True, hi_open=True)
    lon = check_float("geo_origin longitude", geo_origin[1], lo=-180.0, hi=180.0)
    return lat, lon


@dataclass(frozen=True)
class GeoFrame:
    """Where a level lies on the Earth: WGS 84 longitude/latitude of its cells.

    The map's centre is placed at ``origin = (lat0, lon0)`` and the map is laid flat on the
    plane tangent there, north up (row 0 is the north edge), then mapped to degrees by the
    **equirectangular projection about the origin** with the WGS 84 ellipsoid's radii of
    curvature at ``lat0``, ``M`` (north-south) and ``N`` (east-west)::

        lat = lat0 - (row - (rows - 1) / 2) * cell_size / M            * 180 / pi
        lon = lon0 + (col - (cols - 1) / 2) * cell_size / (N cos lat0)  * 180 / pi

    Both are linear in ``row`` and ``col``, so the cells form a regular grid in degrees: a
    GeoTIFF in EPSG:4326 (:func:`save_geotiff`) holds them exactly, and rivers
    (:func:`rivers_geojson`) lie on the terrain's cells to within rounding.

    Error: on the ellipsoid, east-west distances are exact along the origin's parallel;
    ``d`` metres north or south of it they are off by about ``tan(lat0) * d / M`` (parallels
    shrink towards the poles; on the equator only ``d**2 / (2 M**2)`` remains): for
    ``d`` = 50 km that is 0.003 % at latitude 0, 0.29 % at 20, 0.79 % at 45 and 1.36 % at
    60; twice as much at 100 km. North-south distances are off by under 0.01 % within
    100 km (the meridian's curvature barely changes). So keep maps of a few hundred km,
    or accept a few per cent of stretch. Lengths in metres in the GeoJSON properties
    (``length_m``, widths) are exact: they come from the level's own grid.

    Attributes
    ----------
    shape : (int, int)
        The level's ``(rows, cols)``.
    cell_size : float
        Metres per cell.
    origin : (float, float)
        ``(latitude, longitude)`` in degrees of the map's centre; latitude in (-90, 90),
        longitude in [-180, 180]. Default (0, 0).

    Examples
    --------
    >>> from procgen.export import GeoFrame
    >>> f = GeoFrame((101, 201), 1000.0, origin=(45.0, 7.0))
    >>> lon, lat = f.lonlat(50, 100)                  # the centre cell
    >>> float(lon), float(lat)
    (7.0, 45.0)
    >>> [round(v, 4) for v in f.bounds]                # west, south, east, north edges
    [5.7254, 44.5456, 8.2746, 45.4544]
    >>> [round(float(v), 6) for v in f.rowcol(lon, lat)]
    [50.0, 100.0]
    """

    shape: tuple
    cell_size: float
    origin: tuple = field(default=(0.0, 0.0), kw_only=True)

    def __post_init__(self):
        try:
            rows, cols = self.shape
        except (TypeError, ValueError):
            raise ValueError(f"shape must be a (rows, cols) pair, got {self.shape!r}") from None
        shape = (check_int("shape[0]", rows, lo=1), check_int("shape[1]", cols, lo=1))
        cell = check_cell_size(self.cell_size)
        origin = _check_geo_origin(self.origin)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "cell_size", cell)
        object.__setattr__(self, "origin", origin)
        west, south, east, north = self.bounds
        if not (-90.0 < south and north < 90.0 and -180.0 <= west and east <= 180.0):
            raise ValueError(
                f"geo_origin {origin} puts the {shape[0]}x{shape[1]} map of {cell:g} m "
                f"cells at longitude {west:.4f}..{east:.4f}, latitude {south:.4f}..{north:.4f}; "
                f"it must lie within longitude -180..180 and latitude -90..90 (exclusive): "
                f"move geo_origin away from the antimeridian or the poles")

    @classmethod
    def of(cls, level, *, geo_origin=(0.0, 0.0)) -> "GeoFrame":
        """The frame of a :class:`~procgen.Level` with its centre at ``geo_origin``."""
        return cls(tuple(level.shape), float(level.cell_size), origin=geo_origin)

    @property
    def degrees_per_row(self) -> float:
        """Degrees of latitude per row (latitude falls as the row grows)."""
        lat0 = math.radians(self.origin[0])
        e2 = WGS84_F * (2.0 - WGS84_F)
        meridional = WGS84_A * (1.0 - e2) / (1.0 - e2 * math.sin(lat0) ** 2) ** 1.5
        return math.degrees(self.cell_size / meridional)

    @property
    def degrees_per_col(self) -> float:
        """Degrees of longitude per column."""
        lat0 = math.radians(self.origin[0])
        e2 = WGS84_F * (2.0 - WGS84_F)
        normal = WGS84_A / math.sqrt(1.0 - e2 * math.sin(lat0) ** 2)
        return math.degrees(self.cell_size / (normal * math.cos(lat0)))

    def lonlat(self, rows, cols):
        """``(lon, lat)`` in degrees of points given in cells (``row``, ``col`` floats;
        cell centres are whole numbers)."""
        rows_n, cols_n = self.shape
        lat = self.origin[0] - (np.asarray(rows, np.float64) - (rows_n - 1) / 2.0) \
            * self.degrees_per_row
        lon = self.origin[1] + (np.asarray(cols, np.float64) - (cols_n - 1) / 2.0) \
            * self.degrees_per_col
        return lon, lat

    def rowcol(self, lon, lat):
        """``(row, col)`` in cells of points given in degrees: the inverse of :meth:`lonlat`."""
        rows_n, cols_n = self.shape
        row = (rows_n - 1) / 2.0 - (np.asarray(lat, np.float64) - self.origin[0]) \
            / self.degrees_per_row
        col = (cols_n - 1) / 2.0 + (np.asarray(lon, np.float64) - self.origin[1]) \
            / self.degrees_per_col
        return row, col

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` degrees of the map's outer edges (cell edges,
        half a cell beyond the outermost cell centres)."""
        rows, cols = self.shape
        (west, east), (north, south) = self.lonlat([-0.5, rows - 0.5], [-0.5, cols - 0.5])
        return float(west), float(south), float(east), float(north)

    def describe(self) -> dict:
        """The frame as JSON-ready values (written into GeoJSON and sidecars)."""
        return {"geo_origin_lat_lon": list(self.origin),
                "origin_is": "the centre of the map",
                "projection": "equirectangular about geo_origin, WGS 84 radii of curvature "
                              "at its latitude (see procgen.export.GeoFrame)",
                "degrees_per_row": -self.degrees_per_row,
                "degrees_per_col": self.degrees_per_col,
                "bounds_west_south_east_north": list(self.bounds)}


def rivers_geojson(level, *, geo_origin=(0.0, 0.0)) -> dict:
    """The level's rivers as an RFC 7946 GeoJSON FeatureCollection.

    One ``Feature`` per river, geometry ``LineString`` from source to mouth in WGS 84
    longitude/latitude (:class:`GeoFrame`: the map's centre at ``geo_origin``), with
    properties ``index``, ``generator``, ``discharge_m3s``, ``order``, ``length_m``,
    ``width_source_m``, ``width_mouth_m`` and, per vertex, ``width_m``, ``row`` and ``col``
    (the level's own coordinates in cells: metres east of the map's west edge
    ``(col + 0.5) * cell_size``, south of its north edge ``(row + 0.5) * cell_size``).
    The collection carries a ``bbox`` (the whole map) and a foreign member ``procgen`` with
    the seed, cell size, shape and the frame (:meth:`GeoFrame.describe`).

    Parameters
    ----------
    level : Level
    geo_origin : (float, float), optional
        ``(latitude, longitude)`` in degrees of the map's centre (default ``(0, 0)``).

    Examples
    --------
    >>> from procgen import generate_level
    >>> from procgen.export import rivers_geojson
    >>> lv = generate_level(seed=3, shape=64, cell_size=2000.0)
    >>> fc = rivers_geojson(lv, geo_origin=(52.0, 5.0))
    >>> fc["type"], len(fc["features"]) == len(lv.rivers)
    ('FeatureCollection', True)
    >>> [round(v, 3) for v in fc["bbox"]]          # a 128 km square about 52 N, 5 E
    [4.068, 51.425, 5.932, 52.575]
    """
    frame = GeoFrame.of(level, geo_origin=geo_origin)
    features = []
    for k, river in enumerate(level.rivers):
        lon, lat = frame.lonlat(river.path[:, 0], river.path[:, 1])
        props = _river_properties(level, k, river)
        props["width_m"] = [float(w) for w in river.width]
        props["row"] = [float(r) for r in river.path[:, 0]]
        props["col"] = [float(c) for c in river.path[:, 1]]
        features.append({"type": "Feature", "id": k,
                         "geometry": {"type": "LineString",
                                      "coordinates": [[float(x), float(y)]
                                                      for x, y in zip(lon, lat)]},
                         "properties": props})
    return {"type": "FeatureCollection", "bbox": list(frame.bounds), "features": features,
            "procgen": {"seed": str(int(level.seed)), "cell_size_m": float(level.cell_size),
                        "shape": list(frame.shape), **frame.describe()}}


def save_geojson(level, path, *, geo_origin=(0.0, 0.0)) -> list[Path]:
    """Write :func:`rivers_geojson` to ``path`` (``.geojson`` or ``.json``), atomically.

    GIS tools (QGIS, GDAL's ``ogrinfo``) read it as WGS 84 longitude/latitude, in the same
    frame as :func:`save_geotiff` with the same ``geo_origin``.

    Examples
    --------
    >>> import tempfile, pathlib, json
    >>> from procgen import generate_level
    >>> from procgen.export import save_geojson
    >>> lv = generate_level(seed=3, shape=32, cell_size=2000.0)
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "rivers.geojson"
    >>> _ = save_geojson(lv, p, geo_origin=(-33.9, 18.4))
    >>> json.loads(p.read_text())["procgen"]["geo_origin_lat_lon"]
    [-33.9, 18.4]
    """
    path = Path(path)
    if path.suffix.lower() not in (".geojson", ".json"):
        raise ValueError(f"path must end in .geojson or .json, got {str(path)!r}")
    return atomic_write_many([(path, _json_bytes(rivers_geojson(level, geo_origin=geo_origin)),
                        "path")])


# GeoTIFF tags (GeoTIFF 1.0 / OGC 19-008r4) and GeoKey ids and values.
_MODEL_PIXEL_SCALE = 33550
_MODEL_TIEPOINT = 33922
_GEO_KEY_DIRECTORY = 34735
_GT_MODEL_TYPE, _MODEL_GEOGRAPHIC = 1024, 2
_GT_RASTER_TYPE, _RASTER_PIXEL_IS_AREA = 1025, 1
_GEOGRAPHIC_TYPE, _GCS_WGS_84 = 2048, 4326
_GEOG_ANGULAR_UNITS, _ANGULAR_DEGREE = 2054, 9102


def geotiff_bytes(level, *, geo_origin=(0.0, 0.0)) -> bytes:
    """The level's heights as a GeoTIFF file's bytes: float32 metres, one pixel per cell.

    Georeferenced in WGS 84 longitude/latitude (EPSG:4326, ``PixelIsArea``: each pixel
    covers its cell) by the :class:`GeoFrame` with the map's centre at ``geo_origin``, so
    it lines up exactly with :func:`rivers_geojson` given the same origin. Written with
    Pillow's TIFF writer, uncompressed (4 bytes per cell), little-endian, first row north.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from PIL import Image
    >>> from procgen import generate_level
    >>> from procgen.export import geotiff_bytes
    >>> lv = generate_level(seed=3, shape=(20, 30), cell_size=1000.0)
    >>> with Image.open(io.BytesIO(geotiff_bytes(lv, geo_origin=(60.0, 10.0)))) as im:
    ...     back, tags = np.asarray(im), im.tag_v2
    >>> back.dtype, bool((back == lv.height).all())
    (dtype('float32'), True)
    >>> [round(v, 4) for v in tags[33922][3:5]]    # west edge, north edge
    [9.7312, 60.0898]
    """
    from PIL import Image, TiffImagePlugin, TiffTags
    frame = GeoFrame.of(level, geo_origin=geo_origin)
    west, _, _, north = frame.bounds
    height = np.ascontiguousarray(level.height, dtype=np.float32)
    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    tags = {
        _MODEL_PIXEL_SCALE: ((frame.degrees_per_col, frame.degrees_per_row, 0.0),
                             TiffTags.DOUBLE),
        # Raster point (0, 0), the top-left corner of the top-left pixel, is (west, north).
        _MODEL_TIEPOINT: ((0.0, 0.0, 0.0, west, north, 0.0), TiffTags.DOUBLE),
        _GEO_KEY_DIRECTORY: ((1, 1, 0, 4,                   # version 1.1.0, 4 keys, sorted
                              _GT_MODEL_TYPE, 0, 1, _MODEL_GEOGRAPHIC,
                              _GT_RASTER_TYPE, 0, 1, _RASTER_PIXEL_IS_AREA,
                              _GEOGRAPHIC_TYPE, 0, 1, _GCS_WGS_84,
                              _GEOG_ANGULAR_UNITS, 0, 1, _ANGULAR_DEGREE), TiffTags.SHORT),
    }
    for tag, (value, kind) in tags.items():
        ifd[tag] = value
        ifd.tagtype[tag] = kind
    buf = io.BytesIO()
    Image.fromarray(height, mode="F").save(buf, format="TIFF", tiffinfo=ifd)
    return buf.getvalue()


def save_geotiff(level, path, *, geo_origin=(0.0, 0.0)) -> list[Path]:
    """Write the level's heights as a georeferenced float32 GeoTIFF (:func:`geotiff_bytes`)
    to ``path`` (``.tif`` or ``.tiff``), atomically.

    Open it in QGIS together with :func:`save_geojson`'s rivers (same ``geo_origin``): both
    are WGS 84 longitude/latitude and the rivers lie on their valleys.

    Parameters
    ----------
    level : Level
    path : path-like
    geo_origin : (float, float), optional
        ``(latitude, longitude)`` in degrees of the map's centre (default ``(0, 0)``).

    Returns
    -------
    list of pathlib.Path
        ``[path]``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from procgen import generate_level
    >>> from procgen.export import save_geotiff
    >>> lv = generate_level(seed=3, shape=32, cell_size=1000.0)
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "terrain.tif"
    >>> [q.name for q in save_geotiff(lv, p)], p.stat().st_size > 32 * 32 * 4
    (['terrain.tif'], True)
    """
    path = Path(path)
    if path.suffix.lower() not in (".tif", ".tiff"):
        raise ValueError(f"path must end in .tif or .tiff, got {str(path)!r}")
    return atomic_write_many([(path, geotiff_bytes(level, geo_origin=geo_origin), "path")])


# -- engine heightmaps -----------------------------------------------------------------------
class Engine(enum.Enum):
    """Game engines whose terrain heightmap sizes :func:`heightmap16` can check.

    Legal sizes (square, in samples per side; see :data:`ENGINE_SIZES`):

    * ``UNITY``: ``2**n + 1`` from 33 to 4097 -- Unity clamps
      ``TerrainData.heightmapResolution`` to one of 33, 65, 129, 257, 513, 1025, 2049 or
      4097 (Unity Scripting API, *TerrainData.heightmapResolution*).
    * ``UNREAL``: 127, 253, 505, 1009, 2017, 4033, 8129 -- the "Recommended Landscape Sizes"
      table of Epic's *Landscape Technical Guide* (Unreal Engine documentation); other sizes
      do not fill a whole number of landscape components.
    """

    UNITY = "unity"
    UNREAL = "unreal"


#: Legal square heightmap sizes per engine, ascending.
ENGINE_SIZES: dict[Engine, tuple[int, ...]] = {
    Engine.UNITY: (33, 65, 129, 257, 513, 1025, 2049, 4097),
    Engine.UNREAL: (127, 253, 505, 1009, 2017, 4033, 8129),
}


def legal_sizes(engine: Engine | str) -> tuple[int, ...]:
    """Legal square heightmap sizes for ``engine``, ascending.

    Parameters
    ----------
    engine : Engine or str
        An :class:`Engine` member or its value (``"unity"``, ``"unreal"``).

    Returns
    -------
    tuple of int

    Examples
    --------
    >>> legal_sizes("unity")
    (33, 65, 129, 257, 513, 1025, 2049, 4097)
    >>> legal_sizes(Engine.UNREAL)[:3]
    (127, 253, 505)
    """
    return ENGINE_SIZES[check_enum("engine", engine, Engine)]


def check_engine_size(engine: Engine | str, shape, *, what: str) -> None:
    """Raise ``ValueError`` unless ``shape`` is a square heightmap size legal for ``engine``.

    The one place engine sizes are checked: :func:`heightmap16`, :func:`save_heightmap` and
    the ``procgen`` command all call it.

    Parameters
    ----------
    engine : Engine or str
    shape : (int, int)
        Samples ``(rows, cols)`` of the heightmap.
    what : str
        What the message names, e.g. ``"size 1000"`` or ``"--size 96"``.

    Examples
    --------
    >>> check_engine_size("unity", (65, 65), what="size 65")
    >>> check_engine_size("unity", (1000, 1000), what="size 1000")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: size 1000 is not a legal unity heightmap size; legal sizes: ...; nearest legal size is 1025
    """
    engine = check_enum("engine", engine, Engine)
    rows, cols = shape
    sizes = ENGINE_SIZES[engine]
    if rows == cols and rows in sizes:
        return
    size = max(rows, cols)
    nearest = min(sizes, key=lambda s: (abs(s - size), s))
    raise ValueError(f"{what} is not a legal {engine.value} heightmap size; legal sizes: "
                     f"{', '.join(map(str, sizes))}; nearest legal size is {nearest}")


@dataclass(frozen=True)
class HeightmapRange:
    """The metres mapped onto a 16-bit heightmap: ``lo`` -> 0 and ``hi`` -> 65535.

    Record it next to the PNG: in Unity set the terrain height (``TerrainData.size.y``) to
    ``hi - lo`` and place the terrain at ``y = lo``; in Unreal use ``unreal_z_scale``.

    Examples
    --------
    >>> r = HeightmapRange(-100.0, 555.35)
    >>> round(r.metres_per_step, 6)
    0.01
    >>> r.to_metres(np.array([0, 65535])).tolist()
    [-100.0, 555.35]
    """

    lo: float
    hi: float

    @property
    def metres_per_step(self) -> float:
        """Height of one 16-bit step in metres (0 for a flat map)."""
        return (self.hi - self.lo) / 65535.0

    @property
    def unreal_z_scale(self) -> float:
        """Unreal Landscape Z scale for this range (at Z scale 100 the 16-bit range spans
        512 m, so Z scale = ``(hi - lo) * 100 / 512``)."""
        return (self.hi - self.lo) * 100.0 / 512.0

    def to_metres(self, values) -> np.ndarray:
        """Convert 16-bit heightmap values back to metres (float64)."""
        return self.lo + np.asarray(values, dtype=np.float64) * self.metres_per_step


def _check_height_range(height_range) -> tuple[float, float]:
    try:
        lo, hi = height_range
    except (TypeError, ValueError):
        raise ValueError(f"height_range must be a (lo, hi) pair of metres, "
                         f"got {height_range!r}") from None
    lo = check_float("height_range[0]", lo)
    hi = check_float("height_range[1]", hi)
    if not hi > lo:
        raise ValueError(f"height_range must have lo < hi, got ({lo:g}, {hi:g})")
    return lo, hi


def heightmap_range(height, *, height_range=None) -> HeightmapRange:
    """The metres range :func:`heightmap16` maps to 0..65535 for these arguments.

    Parameters
    ----------
    height : array_like, shape (H, W)
        Finite heights in metres.
    height_range : (float, float), optional
        Explicit ``(lo, hi)`` metres with ``lo < hi``; default ``(height.min(), height.max())``
        (resampling is bilinear, so it never leaves that range).

    Returns
    -------
    HeightmapRange

    Examples
    --------
    >>> heightmap_range(np.array([[-5.0, 20.0], [3.0, 7.0]]))
    HeightmapRange(lo=-5.0, hi=20.0)
    """
    from .render import _check_grid
    h = _check_grid("height", height, allow_nan=False)
    return _range_of(h, height_range)


def _range_of(h: np.ndarray, height_range) -> HeightmapRange:
    if height_range is None:
        return HeightmapRange(float(h.min()), float(h.max()))
    return HeightmapRange(*_check_height_range(height_range))


def _axis_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edge-aligned bilinear taps: output i samples input coordinate i*(n_in-1)/(n_out-1)."""
    if n_in == 1 or n_out == 1:
        zero = np.zeros(n_out, dtype=np.intp)
        return zero, zero, np.zeros(n_out)
    coord = np.arange(n_out, dtype=np.float64) * (n_in - 1) / (n_out - 1)
    i0 = np.minimum(np.floor(coord).astype(np.intp), n_in - 2)
    t = coord - i0  # exactly 0 at the first sample and 1 at the last
    return i0, i0 + 1, t


def _resample(h: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Separable edge-aligned bilinear resampling to ``(rows, cols)``, float64."""
    r0, r1, tr = _axis_weights(h.shape[0], rows)
    c0, c1, tc = _axis_weights(h.shape[1], cols)
    h = h.astype(np.float64, copy=False)
    # a*(1-t) + b*t (not a + t*(b-a)) so t = 0 and t = 1 reproduce the samples exactly.
    tmp = h[r0] * (1.0 - tr)[:, None] + h[r1] * tr[:, None]
    return tmp[:, c0] * (1.0 - tc) + tmp[:, c1] * tc


def heightmap16(height, *, size: int | None = None, engine: Engine | str | None = None,
                height_range=None) -> np.ndarray:
    """Convert heights to a 16-bit engine heightmap.

    Steps: (1) if ``size`` is given, resample to ``(size, size)`` by edge-aligned bilinear
    interpolation -- output sample ``i`` reads input coordinate ``i*(H-1)/(size-1)`` along
    rows and likewise along columns, so the four corners map exactly onto the corners; a
    non-square input is resampled along each axis independently (its aspect ratio is not
    kept, as engine terrains are square); (2) map metres linearly so ``lo`` -> 0 and
    ``hi`` -> 65535, round to nearest and clip.

    Parameters
    ----------
    height : array_like, shape (H, W)
        Finite heights in metres; NaN or inf raise ``ValueError``.
    size : int, optional
        Output side length, >= 2 (and at most 8192). Default: keep the input shape.
    engine : Engine or str, optional
        Require the output size to be legal for this engine (see :class:`Engine`);
        without ``size`` the input itself must be square and of a legal size.
    height_range : (float, float), optional
        ``(lo, hi)`` metres mapped to 0 and 65535; heights outside are clipped. Default:
        the input's ``(min, max)``; a flat input then maps to all zeros. Use
        :func:`heightmap_range` (or the ``range`` that :func:`save_heightmap` returns) to record
        the metres-per-step scale.

    Returns
    -------
    numpy.ndarray
        ``uint16`` array, ``(size, size)`` or the input shape.

    Raises
    ------
    ValueError
        E.g. ``size 1000 is not a legal unity heightmap size; legal sizes: 33, 65, ...,
        4097; nearest legal size is 1025``.

    Examples
    --------
    >>> h = np.array([[0.0, 10.0], [20.0, 30.0]], dtype=np.float32)
    >>> heightmap16(h).tolist()
    [[0, 21845], [43690, 65535]]
    >>> hm = heightmap16(h, size=33, engine="unity")
    >>> hm.shape, int(hm[0, 0]), int(hm[-1, -1]), int(hm[16, 16])
    ((33, 33), 0, 65535, 32768)
    """
    from .render import _check_grid
    h = _check_grid("height", height, allow_nan=False)
    if engine is not None:
        engine = check_enum("engine", engine, Engine)
    if size is not None:
        size = check_int("size", size, lo=2)
        check_shape("size", (size, size))
        if engine is not None:
            check_engine_size(engine, (size, size), what=f"size {size}")
    elif engine is not None:
        rows, cols = h.shape
        try:
            check_engine_size(engine, h.shape, what=f"height shape {rows}x{cols}")
        except ValueError as exc:
            raise ValueError(f"{exc} (pass size=... to resample)") from None
    scale = _range_of(h, height_range)
    if size is not None:
        values = _resample(h, size, size)
    else:
        values = h.astype(np.float64)
    if scale.hi == scale.lo:
        return np.zeros(values.shape, dtype=np.uint16)
    values -= scale.lo
    values *= 65535.0 / (scale.hi - scale.lo)
    np.rint(values, out=values)
    np.clip(values, 0.0, 65535.0, out=values)
    return values.astype(np.uint16)


class HeightmapFormat(enum.Enum):
    """Heightmap file formats.

    * ``PNG16``: 16-bit greyscale PNG (``.png``).
    * ``RAW16``: headerless unsigned 16-bit **little-endian**, row-major, first row = north
      edge (``.raw`` for Unity, ``.r16`` for Unreal).
    """

    PNG16 = "heightmap16"
    RAW16 = "raw16"


class SplatLayout(enum.Enum):
    """Per-biome weight (splat) maps written beside a heightmap.

    * ``NONE``: none.
    * ``GREY``: one 8-bit greyscale PNG per biome, ``<stem>_splat_<biome>.png``.
    * ``RGBA``: RGBA PNGs packing 4 biomes each in Biome order (R, G, B, A),
      ``<stem>_splat<k>.png`` holding biomes ``4k .. 4k+3``, like Unity's terrain control
      textures (one per 4 terrain layers).

    At every sample the weights of all biomes add up to exactly 255.
    """

    NONE = "none"
    GREY = "grey"
    RGBA = "rgba"


@dataclass(frozen=True)
class HeightmapExport:
    """What :func:`save_heightmap` wrote.

    Attributes
    ----------
    range : HeightmapRange
        Metres mapped to 0 and 65535.
    size : (int, int)
        Samples ``(rows, cols)``.
    paths : tuple of pathlib.Path
        Heightmap, sidecar JSON, then splat maps.
    """

    range: HeightmapRange
    size: tuple[int, int]
    paths: tuple[Path, ...]


def raw16_bytes(values) -> bytes:
    """Bytes of a uint16 grid as headerless RAW: little-endian, row-major.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.export import raw16_bytes
    >>> raw16_bytes(np.array([[1, 256]], np.uint16))
    b'\\x01\\x00\\x00\\x01'
    """
    v = np.asarray(values)
    if v.dtype != np.uint16 or v.ndim != 2:
        raise ValueError(f"values must be a 2-D uint16 array, got {v.dtype} {v.shape}")
    return np.ascontiguousarray(v, dtype="<u2").tobytes()


def biome_weights(level, *, size: int | None = None) -> np.ndarray:
    """Per-biome weights, uint8 ``(len(Biome), rows, cols)``, summing to 255 at each sample.

    Each biome's indicator grid (1 on its cells) is resampled exactly as
    :func:`heightmap16` resamples heights (edge-aligned bilinear), so the
    weights line up with the heightmap; rounding leftovers go to the heaviest biome.

    Examples
    --------
    >>> from procgen import generate_level
    >>> from procgen.export import biome_weights
    >>> lv = generate_level(seed=3, shape=32, cell_size=4000.0, preset="islands")
    >>> w = biome_weights(lv, size=33)
    >>> w.shape[1:], bool((w.sum(axis=0, dtype=int) == 255).all())
    ((33, 33), True)
    """
    biomes = np.asarray(level.biomes)
    layers = []
    for b in Biome:
        onehot = (biomes == b).astype(np.float32)
        if size is None:
            layers.append(onehot.astype(np.float64))
        else:
            layers.append(heightmap16(onehot, size=size, height_range=(0.0, 1.0))
                          / 65535.0)
    w = np.stack(layers)
    q = np.rint(w * 255.0)
    short = 255.0 - q.sum(axis=0)
    top = np.argmax(w, axis=0)
    np.add.at(q, (top, *np.indices(top.shape)), short)
    return np.clip(q, 0, 255).astype(np.uint8)


def save_heightmap(level, path, *, format=HeightmapFormat.PNG16, size: int | None = None,
                   engine=None, height_range=None, sea_floor: float | None = None,
                   splat=SplatLayout.NONE) -> HeightmapExport:
    """Write an engine heightmap of the level, its JSON sidecar, and optional splat maps.

    Heights are clamped to ``sea_floor`` if given, then converted by
    :func:`heightmap16`: resampled (edge-aligned bilinear) to
    ``size x size`` if given, then ``lo`` -> 0 and ``hi`` -> 65535.

    This is the one function that writes a heightmap together with the sidecar that says
    how to read it; code that writes heightmaps for users (the ``procgen`` command) calls it.

    Files, all written or none:

    * ``path``: ``.png`` for ``PNG16``; ``.raw`` or ``.r16`` for ``RAW16`` (uint16
      little-endian, row-major, first row = north edge, no header).
    * ``<stem>.json``: size, byte order, orientation, ``height_range_m``,
      ``metres_per_step``, ``unreal_z_scale``, ``sea_floor_m`` (null when not clamped),
      sample spacing and terrain extent in metres, and the splat files with the biome of
      each channel.
    * splat maps as ``splat`` says (:class:`SplatLayout`), same size and orientation.

    Importing:

    * **Unity** (Terrain Settings > Import Raw): Depth 16 bit, Width = Height = size (a
      2^n+1 size: use ``engine='unity'``), Byte Order **Windows** (little-endian). Unity
      puts the file's first row at the terrain's z = 0 (south) edge, so tick **Flip
      Vertically** to keep north at +z. Set the terrain height (size y) to
      ``hi - lo`` and place the terrain at y = ``lo``.
    * **Unreal** (Landscape > Import from File): ``.r16`` or ``.png``, 16-bit
      little-endian, first row at the top (-Y) edge; a recommended size
      (``engine='unreal'``); Z scale = ``unreal_z_scale``.

    Parameters
    ----------
    level : Level
    path : path-like
    format : {'heightmap16', 'raw16'} or HeightmapFormat, optional
    size : int, optional
        Output side length; default the level's shape (which must then be square for an
        engine).
    engine : {'unity', 'unreal'} or Engine, optional
        Refuse sizes the engine cannot import (see :func:`legal_sizes`).
    height_range : (float, float), optional
        Metres mapped to 0 and 65535; default the level's (clamped) min and max.
    sea_floor : float, optional
        Metres, <= 0 (sea level): heights below are raised to it before scaling, so the
        deep sea floor, which a game rarely shows, does not use up the 16 bits. E.g.
        ``-50.0`` on a 1024 x 1024 continent reaching down to -4001 m: unclamped the sea
        takes 57 % of the 65536 steps, clamped 1.6 %, and a step shrinks from 10.7 cm to
        4.7 cm. Default: no clamp.
    splat : {'none', 'grey', 'rgba'} or SplatLayout, optional

    Returns
    -------
    HeightmapExport

    Raises
    ------
    ValueError
        E.g. ``size 1000 is not a legal unity heightmap size; legal sizes: 33, 65, ...``;
        nothing is written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from procgen import generate_level
    >>> from procgen.export import save_heightmap
    >>> lv = generate_level(seed=3, shape=40, cell_size=4000.0, preset="islands")
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> out = save_heightmap(lv, folder / "terrain.r16", format="raw16", size=65,
    ...                      engine="unity")
    >>> raw = np.fromfile(folder / "terrain.r16", dtype="<u2").reshape(65, 65)
    >>> raw.shape, [p.name for p in out.paths]
    ((65, 65), ['terrain.r16', 'terrain.json'])
    >>> bool(abs(out.range.to_metres(raw[0, 0]) - lv.height[0, 0]) <= out.range.metres_per_step)
    True
    >>> clamped = save_heightmap(lv, folder / "sea.png", sea_floor=-50.0)
    >>> clamped.range.lo
    -50.0
    """
    fmt = check_enum("format", format, HeightmapFormat)
    splat = check_enum("splat", splat, SplatLayout)
    path = Path(path)
    allowed = (".png",) if fmt is HeightmapFormat.PNG16 else (".raw", ".r16")
    if path.suffix.lower() not in allowed:
        raise ValueError(f"path must end in {' or '.join(allowed)} for format "
                         f"{fmt.value!r}, got {str(path)!r}")
    height = level.height
    if sea_floor is not None:
        sea_floor = check_float("sea_floor", sea_floor, hi=0.0)
        # float64, so that the range's lower end is sea_floor itself, not its float32 twin.
        height = np.maximum(np.asarray(height, np.float64), sea_floor)
    values = heightmap16(height, size=size, engine=engine, height_range=height_range)
    scale = heightmap_range(height, height_range=height_range)
    n_rows, n_cols = values.shape
    data = _png_bytes(values) if fmt is HeightmapFormat.PNG16 else raw16_bytes(values)
    files = [(path, data, "path")]
    splat_info = []
    if splat is not SplatLayout.NONE:
        w = biome_weights(level, size=size)
        if splat is SplatLayout.GREY:
            for b in Biome:
                p = path.with_name(f"{path.stem}_splat_{b.label}.png")
                files.append((p, _png_bytes(w[int(b)]), "path"))
                splat_info.append({"file": p.name, "channels": [b.label]})
        else:
            for k in range(-(-len(Biome) // 4)):
                pack = np.zeros((4, n_rows, n_cols), np.uint8)
                names = [b.label for b in list(Biome)[4 * k:4 * k + 4]]
                pack[:len(names)] = w[4 * k:4 * k + len(names)]
                p = path.with_name(f"{path.stem}_splat{k}.png")
                files.append((p, _png_bytes(np.moveaxis(pack, 0, -1)), "path"))
                splat_info.append({"file": p.name, "channels": names + [None] * (4 - len(names))})
    rows, cols = level.shape
    spacing = [float(level.cell_size) * (rows - 1) / max(n_rows - 1, 1),
               float(level.cell_size) * (cols - 1) / max(n_cols - 1, 1)]
    sidecar = {
        "file": path.name,
        "format": fmt.value,
        "size": [n_rows, n_cols],
        "dtype": "uint16",
        "byte_order": "little-endian" if fmt is HeightmapFormat.RAW16 else "png (big-endian "
                      "samples, as the PNG standard defines)",
        "orientation": "row-major; first row = north edge, first column = west edge",
        "height_range_m": [scale.lo, scale.hi],
        "sea_floor_m": sea_floor,
        "metres_per_step": scale.metres_per_step,
        "unreal_z_scale": scale.unreal_z_scale,
        "sample_spacing_m": spacing,
        "terrain_size_m": [float(level.cell_size) * (rows - 1),
                           float(level.cell_size) * (cols - 1)],
        "engine": None if engine is None else check_enum("engine", engine, Engine).value,
        "splat": {"layout": splat.value, "files": splat_info},
        "unity": "Import Raw: Depth 16 bit, Byte Order Windows, tick Flip Vertically; "
                 "terrain height = height_range_m[1] - height_range_m[0]",
    }
    sidecar_path = path.with_suffix(".json")
    files.insert(1, (sidecar_path, _json_bytes(sidecar), "path"))
    paths = atomic_write_many(files)
    return HeightmapExport(range=scale, size=(n_rows, n_cols), paths=tuple(paths))

