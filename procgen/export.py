"""Levels into games: tile maps, the Tiled map editor, GeoJSON rivers, engine heightmaps.

* :func:`to_tiles` maps every cell (biome, water, river, ford) to a tile id of a tileset you
  describe with a mapping (default :data:`DEFAULT_TILESET`, one tile per biome plus river
  and ford tiles).
* :func:`save_tiled` writes a map for the Tiled map editor (JSON map format, orthogonal):
  tile layers ``ground`` and ``rivers``, an object layer ``river_lines`` holding each river
  as a polyline with its properties, and a tileset image of colour swatches beside it.
* :func:`save_geojson` writes the rivers as a GeoJSON FeatureCollection of LineStrings.
* :func:`save_heightmap` writes a 16-bit PNG or RAW heightmap at an engine-legal size, a
  JSON sidecar with the vertical scale, and optional per-biome splat (weight) maps.

Every function here writes all its files or none: contents are built in memory first,
each file is written atomically (:func:`procgen._io.atomic_write`), and files already
written by a call that then fails are removed.

Coordinates
-----------
* Tiled: pixels, x to the east, y to the south, origin at the map's top-left corner; cell
  ``(row, col)`` is the tile whose centre is ``((col + 0.5) * tile_width,
  (row + 0.5) * tile_height)``.
* GeoJSON: metres in a local plane, **x = col * cell_size** (east) and
  **y = -row * cell_size** (north up, so rows run to negative y), origin at the centre of
  cell (0, 0). These are not longitude/latitude: RFC 7946 expects WGS 84, so tell your GIS
  the data is in a local projected (engineering) frame.
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

import enum
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._io import atomic_write, check_writable_target
from ._validate import check_enum, check_int
from .biomes import Biome

__all__ = ["TILE_KEYS", "DEFAULT_TILESET", "TILE_COLORS", "to_tiles", "tileset_image",
           "tiled_map", "save_tiled", "rivers_geojson", "save_geojson", "HeightmapFormat",
           "SplatLayout", "HeightmapExport", "biome_weights", "raw16_bytes", "save_heightmap",
           "TILED_VERSION", "TILED_JSON_VERSION"]

#: What a tileset must give a tile id for: every biome (by lower-case name) and the
#: ``'river'`` and ``'ford'`` tiles.
TILE_KEYS: tuple[str, ...] = tuple(b.label for b in Biome) + ("river", "ford")

#: Default tileset: tile id = Biome value (0..11), then river (12) and ford (13).
DEFAULT_TILESET: dict[str, int] = {key: i for i, key in enumerate(TILE_KEYS)}

#: Swatch colour of every tile key, for the generated tileset image.
TILE_COLORS: dict[str, tuple[int, int, int]] = {
    **{b.label: b.color for b in Biome}, "river": (40, 96, 200), "ford": (128, 176, 226)}

#: Tiled release and JSON format version written into maps (read by Tiled 1.10 and later).
TILED_VERSION = "1.10.2"
TILED_JSON_VERSION = "1.10"

_MAX_TILE_ID = 65535


# -- files: all or nothing -------------------------------------------------------------------
def _write_all(files) -> list[Path]:
    """Write ``[(path, bytes, option_name), ...]`` atomically, all or none."""
    targets = [check_writable_target(p, name=name) for p, _, name in files]
    if len({t.resolve() for t in targets}) != len(targets):
        raise ValueError("output paths collide: " + ", ".join(map(str, targets)))
    written = []
    try:
        for target, (_, data, name) in zip(targets, files):
            atomic_write(target, lambda f, data=data: f.write(data), name=name)
            written.append(target)
    except BaseException:
        for target in written:
            try:
                target.unlink()
            except FileNotFoundError:
                pass
        raise
    return written


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
        int32 ``(rows, cols)`` tile ids.

    Examples
    --------
    >>> from procgen import generate_level
    >>> from procgen.export import to_tiles, TILE_KEYS
    >>> lv = generate_level(seed=3, shape=32, cell_size=4000.0, preset="islands")
    >>> two = {k: (0 if k in ("ocean", "lake", "river") else 1) for k in TILE_KEYS}
    >>> t = to_tiles(lv, tileset=two, rivers=False)
    >>> bool(((t == 0) == lv.water).all())
    True
    """
    ids = _check_tileset(tileset)
    if not isinstance(rivers, (bool, np.bool_)):
        raise TypeError(f"rivers must be True or False, got {rivers!r}")
    ground, river_tiles = _layers(level, ids)
    if rivers:
        ground = np.where(river_tiles >= 0, river_tiles, ground).astype(np.int32)
    return ground


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


def tiled_map(level, *, tileset=None, tile_size: int = 16, image: str = "tiles.png",
              image_size=None, name: str = "procgen") -> dict:
    """The Tiled JSON map (a dict) of a level; :func:`save_tiled` writes it.

    Layout (Tiled JSON map format, orthogonal, fixed size, ``renderorder`` right-down):

    * tile layer ``ground`` (id 1): the biome tile of every cell;
    * tile layer ``rivers`` (id 2): river / ford tiles on river cells, 0 (empty) elsewhere;
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

    Examples
    --------
    >>> from procgen import generate_level
    >>> from procgen.export import tiled_map
    >>> lv = generate_level(seed=3, shape=(20, 30), cell_size=4000.0, preset="islands")
    >>> m = tiled_map(lv)
    >>> m["type"], m["orientation"], m["width"], m["height"], len(m["layers"][0]["data"])
    ('map', 'orthogonal', 30, 20, 600)
    """
    ids = _check_tileset(tileset)
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
        gids = np.where(local >= 0, local + firstgid, 0).astype(np.int64)
        return {"id": layer_id, "name": layer_name, "type": "tilelayer", "width": cols,
                "height": rows, "x": 0, "y": 0, "opacity": 1, "visible": True,
                "data": gids.ravel().tolist()}

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


def save_tiled(level, path, *, tileset=None, tile_size: int = 16, image=None) -> list[Path]:
    """Write a Tiled map (``.json`` or ``.tmj``) and, unless ``image`` is given, its
    tileset image ``<stem>_tiles.png`` beside it (see :func:`tiled_map`).

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
    doc = tiled_map(level, tileset=ids, tile_size=tile_size, image=ref, image_size=size)
    files.append((path, _json_bytes(doc), "path"))
    return _write_all(files)


# -- GeoJSON ---------------------------------------------------------------------------------
def rivers_geojson(level) -> dict:
    """The level's rivers as a GeoJSON FeatureCollection (RFC 7946 structure).

    One ``Feature`` per river, geometry ``LineString`` from source to mouth in local metres
    (``x = col * cell_size``, ``y = -row * cell_size``; see the module docstring), with
    properties ``index``, ``generator``, ``discharge_m3s``, ``order``, ``length_m``,
    ``width_source_m``, ``width_mouth_m`` and ``width_m`` (per vertex). The collection
    also carries a foreign member ``procgen`` with the seed, cell size and axis convention.

    Examples
    --------
    >>> from procgen import generate_level
    >>> from procgen.export import rivers_geojson
    >>> lv = generate_level(seed=3, shape=64, cell_size=2000.0)
    >>> fc = rivers_geojson(lv)
    >>> fc["type"], len(fc["features"]) == len(lv.rivers)
    ('FeatureCollection', True)
    """
    cs = float(level.cell_size)
    features = []
    for k, river in enumerate(level.rivers):
        coords = [[float(c * cs), float(-r * cs) + 0.0] for r, c in river.path]
        props = _river_properties(level, k, river)
        props["width_m"] = [float(w) for w in river.width]
        features.append({"type": "Feature", "id": k,
                         "geometry": {"type": "LineString", "coordinates": coords},
                         "properties": props})
    return {"type": "FeatureCollection", "features": features,
            "procgen": {"seed": str(int(level.seed)), "cell_size_m": cs,
                        "axes": "x = col * cell_size (east), y = -row * cell_size (north), "
                                "metres from the centre of cell (0, 0)"}}


def save_geojson(level, path) -> list[Path]:
    """Write :func:`rivers_geojson` to ``path`` (``.geojson`` or ``.json``), atomically.

    Examples
    --------
    >>> import tempfile, pathlib, json
    >>> from procgen import generate_level
    >>> from procgen.export import save_geojson
    >>> lv = generate_level(seed=3, shape=32, cell_size=2000.0)
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "rivers.geojson"
    >>> _ = save_geojson(lv, p)
    >>> json.loads(p.read_text())["type"]
    'FeatureCollection'
    """
    path = Path(path)
    if path.suffix.lower() not in (".geojson", ".json"):
        raise ValueError(f"path must end in .geojson or .json, got {str(path)!r}")
    return _write_all([(path, _json_bytes(rivers_geojson(level)), "path")])


# -- engine heightmaps -----------------------------------------------------------------------
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

    range: object
    size: tuple
    paths: tuple


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
    :func:`procgen.render.heightmap16` resamples heights (edge-aligned bilinear), so the
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
    from .render import heightmap16
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
                   engine=None, height_range=None, splat=SplatLayout.NONE) -> HeightmapExport:
    """Write an engine heightmap of the level, its JSON sidecar, and optional splat maps.

    Heights are converted by :func:`procgen.render.heightmap16`: resampled (edge-aligned
    bilinear) to ``size x size`` if given, then ``lo`` -> 0 and ``hi`` -> 65535.

    Files, all written or none:

    * ``path``: ``.png`` for ``PNG16``; ``.raw`` or ``.r16`` for ``RAW16`` (uint16
      little-endian, row-major, first row = north edge, no header).
    * ``<stem>.json``: size, byte order, orientation, ``height_range_m``,
      ``metres_per_step``, ``unreal_z_scale``, sample spacing and terrain extent in metres,
      and the splat files with the biome of each channel.
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
    engine : {'unity', 'unreal'} or procgen.render.Engine, optional
        Refuse sizes the engine cannot import (see :func:`procgen.render.legal_sizes`).
    height_range : (float, float), optional
        Metres mapped to 0 and 65535; default the level's min and max.
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
    """
    from .render import heightmap16, heightmap_range
    fmt = check_enum("format", format, HeightmapFormat)
    splat = check_enum("splat", splat, SplatLayout)
    path = Path(path)
    allowed = (".png",) if fmt is HeightmapFormat.PNG16 else (".raw", ".r16")
    if path.suffix.lower() not in allowed:
        raise ValueError(f"path must end in {' or '.join(allowed)} for format "
                         f"{fmt.value!r}, got {str(path)!r}")
    values = heightmap16(level.height, size=size, engine=engine, height_range=height_range)
    rng = heightmap_range(level.height, height_range=height_range)
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
        "height_range_m": [rng.lo, rng.hi],
        "metres_per_step": rng.metres_per_step,
        "unreal_z_scale": rng.unreal_z_scale,
        "sample_spacing_m": spacing,
        "terrain_size_m": [float(level.cell_size) * (rows - 1),
                           float(level.cell_size) * (cols - 1)],
        "engine": None if engine is None else check_enum("engine", engine,
                                                         _engine_enum()).value,
        "splat": {"layout": splat.value, "files": splat_info},
        "unity": "Import Raw: Depth 16 bit, Byte Order Windows, tick Flip Vertically; "
                 "terrain height = height_range_m[1] - height_range_m[0]",
    }
    sidecar_path = path.with_suffix(".json")
    files.insert(1, (sidecar_path, _json_bytes(sidecar), "path"))
    paths = _write_all(files)
    return HeightmapExport(range=rng, size=(n_rows, n_cols), paths=tuple(paths))


def _engine_enum():
    from .render import Engine
    return Engine
