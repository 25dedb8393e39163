"""Exports: tile ids, Tiled JSON (read back by a reader written here and by Tiled itself),
GeoJSON and GeoTIFF (read back by GDAL), engine heightmaps (16-bit PNG and RAW), splat maps,
and all-or-nothing writing."""

import base64
import gzip
import json
import math
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import pytest
from PIL import Image

from procgen import Level, LevelConfig, River, generate_level
from procgen.biomes import Biome
from procgen.export import (DEFAULT_TILESET, ENGINE_SIZES, TILE_COLORS, TILE_KEYS, Engine,
                            GeoFrame, HeightmapRange, LayerFormat, biome_weights,
                            check_engine_size, geotiff_bytes, heightmap16, heightmap_range,
                            legal_sizes, rivers_geojson, save_geojson, save_geotiff,
                            save_heightmap, save_tiled, tiled_map, tileset_image, to_tiles)


def _coast_level(rows=40, cols=56, cell_size=4000.0):
    """Land falling eastwards to a deep sea, with three rivers from narrow (fords) to wide.

    Built by hand, not generated, so the exports are tested on rivers whatever the river
    generators make of small maps.
    """
    r = np.arange(rows, dtype=np.float32)[:, None]
    c = np.arange(cols, dtype=np.float32)[None, :]
    coast = 40
    height = np.where(c < coast, (coast - c) * 25.0 + 30.0 * np.sin(r / 4.0) + 5.0,
                      -(c - coast + 1) * 400.0).astype(np.float32)
    rivers = []
    for k, row0 in enumerate((8.0, 20.0, 31.0)):
        cols_k = np.linspace(1.0 + 3 * k, coast - 0.6, 40)
        path = np.stack([row0 + 2.5 * np.sin(cols_k / (3.0 + k)), cols_k], axis=1)
        width = np.linspace(2.0, 8.0 + 30.0 * k, len(path)).astype(np.float32)
        rivers.append(River(path=path, width=width, generator="hand", discharge=10.0 * (k + 1),
                            order=k + 1))
    return Level(config=LevelConfig(), seed=1, cell_size=cell_size, height=height,
                 water=height < 0, lakes=np.zeros(height.shape, np.int32),
                 rivers=rivers).with_biomes()


@pytest.fixture(scope="module")
def level():
    lv = _coast_level()
    assert len(lv.rivers) == 3 and lv.fords().any() and (lv.river_mask() & ~lv.fords()).any()
    return lv


@pytest.fixture(scope="module")
def square():
    return generate_level(seed=2, shape=48, cell_size=4000.0, preset="islands")


# -- a Tiled JSON reader, from the format documentation --------------------------------------
_FLIP_FLAGS = 0xF0000000
_PROPERTY_TYPES = {"string": str, "int": int, "float": (int, float), "bool": bool,
                   "color": str, "file": str, "object": int, "class": dict}


def _check_properties(props):
    assert isinstance(props, list)
    out = {}
    for p in props:
        assert set(p) == {"name", "type", "value"}
        assert isinstance(p["name"], str) and p["type"] in _PROPERTY_TYPES
        assert isinstance(p["value"], _PROPERTY_TYPES[p["type"]])
        assert not (p["type"] == "int" and isinstance(p["value"], bool))
        out[p["name"]] = p["value"]
    return out


def decode_tiled_data(layer):
    """A JSON tile layer's gids as a list, for every encoding the format documents."""
    encoding = layer.get("encoding", "csv")
    if encoding == "csv":
        assert "compression" not in layer or layer["compression"] == ""
        return layer["data"]
    assert encoding == "base64" and isinstance(layer["data"], str)
    raw = base64.b64decode(layer["data"], validate=True)
    compression = layer.get("compression", "")
    if compression == "zlib":
        raw = zlib.decompress(raw)
    elif compression == "gzip":
        raw = gzip.decompress(raw)
    else:
        assert compression == "", compression
    return np.frombuffer(raw, "<u4").astype(int).tolist()


def read_tiled(path):
    """Read a Tiled JSON map, checking the documented structure on the way.

    Returns (map, tile layers {name: (rows, cols) array of (tileset index, local id), -1 if
    empty}, objects {layer name: [dict]}, tilesets).
    """
    doc = json.loads(path.read_text())
    required = {"type": str, "version": (str, int, float), "tiledversion": str,
                "orientation": str, "renderorder": str, "width": int, "height": int,
                "tilewidth": int, "tileheight": int, "infinite": bool, "nextlayerid": int,
                "nextobjectid": int, "layers": list, "tilesets": list}
    for key, kind in required.items():
        assert key in doc, f"map lacks {key}"
        assert isinstance(doc[key], kind), key
    assert doc["type"] == "map" and doc["orientation"] == "orthogonal"
    assert doc["renderorder"] in ("right-down", "right-up", "left-down", "left-up")
    assert doc["infinite"] is False
    _check_properties(doc.get("properties", []))
    tilesets = doc["tilesets"]
    assert tilesets and tilesets[0]["firstgid"] == 1
    ranges = []
    for ts in tilesets:
        if "source" in ts:
            assert set(ts) == {"firstgid", "source"}
            continue
        for key in ("firstgid", "name", "tilewidth", "tileheight", "tilecount", "columns",
                    "image", "imagewidth", "imageheight"):
            assert key in ts, f"tileset lacks {key}"
        assert ts["columns"] == ts["imagewidth"] // ts["tilewidth"]
        assert ts["tilecount"] == ts["columns"] * (ts["imageheight"] // ts["tileheight"])
        assert (path.parent / ts["image"]).is_file()
        for tile in ts.get("tiles", []):
            assert 0 <= tile["id"] < ts["tilecount"]
            _check_properties(tile.get("properties", []))
        ranges.append((ts["firstgid"], ts["firstgid"] + ts["tilecount"]))
    assert all(a[1] <= b[0] for a, b in zip(ranges, ranges[1:]))
    layer_ids, object_ids = set(), set()
    tiles, objects = {}, {}
    w, h = doc["width"], doc["height"]
    for layer in doc["layers"]:
        for key in ("id", "name", "type", "opacity", "visible", "x", "y"):
            assert key in layer, f"layer lacks {key}"
        assert layer["id"] not in layer_ids and 0 < layer["id"] < doc["nextlayerid"]
        layer_ids.add(layer["id"])
        assert layer["x"] == 0 and layer["y"] == 0 and 0 <= layer["opacity"] <= 1
        if layer["type"] == "tilelayer":
            assert layer["width"] == w and layer["height"] == h
            data = decode_tiled_data(layer)
            assert isinstance(data, list) and len(data) == w * h
            local = np.full(w * h, -1, np.int64)
            for i, gid in enumerate(data):
                assert isinstance(gid, int) and gid >= 0
                gid &= ~_FLIP_FLAGS
                if gid == 0:
                    continue
                first = max(a for a, b in ranges if a <= gid)
                assert gid < dict(ranges)[first], f"gid {gid} outside every tileset"
                local[i] = gid - first
            tiles[layer["name"]] = local.reshape(h, w)
        elif layer["type"] == "objectgroup":
            assert layer.get("draworder", "topdown") in ("topdown", "index")
            objects[layer["name"]] = []
            for obj in layer["objects"]:
                for key in ("id", "name", "type", "x", "y", "width", "height", "rotation",
                            "visible"):
                    assert key in obj, f"object lacks {key}"
                assert obj["id"] not in object_ids and 0 < obj["id"] < doc["nextobjectid"]
                object_ids.add(obj["id"])
                line = obj["polyline"]
                assert len(line) >= 2 and line[0] == {"x": 0, "y": 0}
                xy = np.array([[p["x"] + obj["x"], p["y"] + obj["y"]] for p in line])
                objects[layer["name"]].append({"xy": xy,
                                               "properties": _check_properties(obj["properties"])})
        else:
            raise AssertionError(f"unexpected layer type {layer['type']}")
    return doc, tiles, objects, tilesets


# -- tiles -----------------------------------------------------------------------------------
def test_to_tiles_default_and_rivers(level):
    t = to_tiles(level, rivers=False)
    assert t.dtype == np.uint16
    assert np.array_equal(t, level.biomes)                  # default: id = Biome value
    with_rivers = level.to_tiles()
    assert with_rivers.dtype == np.uint16
    river, ford = level.river_mask(), level.fords()
    assert (with_rivers[ford] == DEFAULT_TILESET["ford"]).all()
    assert (with_rivers[river & ~ford] == DEFAULT_TILESET["river"]).all()
    assert np.array_equal(with_rivers[~river], t[~river])


def test_to_tiles_keeps_the_largest_ids(level):
    top = {k: 65535 - i for i, k in enumerate(TILE_KEYS)}
    t = to_tiles(level)
    big = to_tiles(level, tileset=top)
    assert big.dtype == np.uint16
    assert np.array_equal(big.astype(np.int64), 65535 - t.astype(np.int64))


def test_custom_tileset_accepts_biome_members_and_names(level):
    four = {b: (0 if b in (Biome.OCEAN, Biome.LAKE) else 1) for b in Biome}
    four.update(river=2, ford=3)
    t = to_tiles(level, tileset=four)
    assert set(np.unique(t)) <= {0, 1, 2, 3}
    assert np.array_equal(t == 0, level.water)
    assert np.array_equal(t == 2, level.river_mask() & ~level.fords())


@pytest.mark.parametrize("tileset, match", [
    ({"ocean": 0}, "tileset is missing 'lake', 'beach'"),
    ({**DEFAULT_TILESET, "volcano": 3}, "tileset key must be a Biome or one of ocean, lake"),
    ({**DEFAULT_TILESET, "river": -1}, r"tileset\['river'\] must be in 0..65535, got -1"),
    ({**DEFAULT_TILESET, "river": 65536}, r"tileset\['river'\] must be in 0..65535, got 65536"),
    ({**DEFAULT_TILESET, "ford": 1.5}, r"tileset\['ford'\] must be an integer"),
    (["ocean"], "tileset must be a mapping"),
])
def test_bad_tilesets_are_named(level, tileset, match):
    with pytest.raises((ValueError, TypeError), match=match):
        to_tiles(level, tileset=tileset)


# -- Tiled -----------------------------------------------------------------------------------
@pytest.mark.parametrize("layer_format", list(LayerFormat))
def test_tiled_export_round_trips(level, tmp_path, layer_format):
    written = save_tiled(level, tmp_path / "level.tmj", tile_size=8, layer_format=layer_format)
    assert [p.name for p in written] == ["level_tiles.png", "level.tmj"]
    doc, tiles, objects, tilesets = read_tiled(tmp_path / "level.tmj")
    ground_layer = doc["layers"][0]
    if layer_format is LayerFormat.CSV:
        assert isinstance(ground_layer["data"], list)
    else:
        assert (ground_layer["encoding"], ground_layer["compression"]) == \
            ("base64", layer_format.value)
    assert (doc["width"], doc["height"], doc["tilewidth"]) == (56, 40, 8)
    assert np.array_equal(tiles["ground"], to_tiles(level, rivers=False))
    river_layer = tiles["rivers"]
    assert np.array_equal(river_layer >= 0, level.river_mask())
    combined = np.where(river_layer >= 0, river_layer, tiles["ground"])
    assert np.array_equal(combined, level.to_tiles())
    lines = objects["river_lines"]
    assert len(lines) == len(level.rivers)
    for obj, river in zip(lines, level.rivers):
        rc = obj["xy"][:, ::-1] / 8 - 0.5                  # pixels -> (row, col)
        assert np.allclose(rc, river.path)
        props = obj["properties"]
        assert props["generator"] == river.generator and props["order"] == river.order
        assert props["discharge_m3s"] == pytest.approx(river.discharge)
        assert props["length_m"] == pytest.approx(river.length_cells * level.cell_size)
    props = _check_properties(doc["properties"])
    assert props["procgen_seed"] == "1" and props["cell_size_m"] == 4000.0
    assert json.loads(props["procgen_config"]) == level.config.to_dict()
    kinds = {t["id"]: t["properties"][0]["value"] for t in tilesets[0]["tiles"]}
    assert kinds[DEFAULT_TILESET["ford"]] == "ford"


def test_tiled_layer_formats_size_and_determinism(tmp_path):
    big = _coast_level(rows=200, cols=200, cell_size=500.0)
    sizes = {}
    for fmt in LayerFormat:
        save_tiled(big, tmp_path / f"{fmt.value}.tmj", layer_format=fmt)
        sizes[fmt] = (tmp_path / f"{fmt.value}.tmj").stat().st_size
    # 80,000 gids: about 160 kB as CSV; compressed, the river polylines dominate the file.
    assert sizes[LayerFormat.CSV] > 2 * 200 * 200 * 2
    assert sizes[LayerFormat.ZLIB] < sizes[LayerFormat.CSV] / 5
    assert sizes[LayerFormat.GZIP] < sizes[LayerFormat.CSV] / 5
    csv_ground = json.dumps(tiled_map(big, layer_format="csv")["layers"][0]["data"])
    assert len(tiled_map(big)["layers"][0]["data"]) < len(csv_ground) / 50
    # gzip carries a timestamp: written as 0, so the same level gives the same bytes.
    (tmp_path / "again").mkdir()
    save_tiled(big, tmp_path / "again" / "gzip.tmj", layer_format="gzip")
    assert (tmp_path / "again" / "gzip.tmj").read_bytes() == \
        (tmp_path / "gzip.tmj").read_bytes()
    # CSV gids stay on one line per layer instead of one line per gid.
    text = (tmp_path / "csv.tmj").read_text()
    assert text.count("\n") < 2000 < big.height.size
    assert tiled_map(big)["layers"][0]["compression"] == "zlib"        # the default


def test_bad_layer_format_is_named(level, tmp_path):
    with pytest.raises(ValueError, match="layer_format must be one of 'zlib', 'gzip', 'csv', "
                                         "got 'zstd'"):
        save_tiled(level, tmp_path / "m.tmj", layer_format="zstd")
    assert list(tmp_path.iterdir()) == []


def _tmx_layers(path):
    """Tile layers of a TMX file as {name: (rows, cols) gid array}, for every encoding."""
    root = ET.parse(path).getroot()
    w, h = int(root.get("width")), int(root.get("height"))
    layers = {}
    for layer in root.iter("layer"):
        data = layer.find("data")
        encoding, compression = data.get("encoding"), data.get("compression")
        if encoding == "csv":
            gids = [int(v) for v in data.text.replace("\n", "").split(",")]
        elif encoding == "base64":
            raw = base64.b64decode(data.text.strip())
            raw = {"zlib": zlib.decompress, "gzip": gzip.decompress,
                   None: lambda b: b}[compression](raw)
            gids = np.frombuffer(raw, "<u4").tolist()
        else:                                  # XML <tile gid=".."/> elements
            gids = [int(t.get("gid", 0)) for t in data.iter("tile")]
        layers[layer.get("name")] = np.array(gids, np.int64).reshape(h, w)
    return root, layers


@pytest.mark.skipif(shutil.which("tiled") is None,
                    reason="the Tiled map editor (`tiled`, e.g. apt-get install tiled) is not "
                           "on PATH")
@pytest.mark.parametrize("layer_format", list(LayerFormat))
def test_tiled_itself_opens_and_re_exports_the_map(level, tmp_path, layer_format):
    save_tiled(level, tmp_path / "map.tmj", layer_format=layer_format)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(tmp_path))
    done = subprocess.run(["tiled", "--export-map", "tmx", "map.tmj", "out.tmx"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    root, layers = _tmx_layers(tmp_path / "out.tmx")
    assert (int(root.get("width")), int(root.get("height"))) == (56, 40)
    assert list(layers) == ["ground", "rivers"]
    assert np.array_equal(layers["ground"], to_tiles(level, rivers=False).astype(np.int64) + 1)
    rivers = layers["rivers"]
    assert np.array_equal(rivers > 0, level.river_mask())
    assert np.array_equal(np.where(rivers > 0, rivers - 1, to_tiles(level, rivers=False)),
                          level.to_tiles())
    polylines = root.findall("./objectgroup[@name='river_lines']/object/polyline")
    assert len(polylines) == len(level.rivers)
    tileset = root.find("tileset")
    assert tileset.find("image").get("source") == "map_tiles.png"


def test_tileset_png_matches_the_tileset(level, tmp_path):
    save_tiled(level, tmp_path / "m.json", tile_size=4)
    doc = json.loads((tmp_path / "m.json").read_text())
    ts = doc["tilesets"][0]
    with Image.open(tmp_path / ts["image"]) as im:
        assert im.size == (ts["imagewidth"], ts["imageheight"]) and im.mode == "RGB"
        img = np.asarray(im)
    for key, tile in DEFAULT_TILESET.items():
        r, c = divmod(tile, ts["columns"])
        swatch = img[r * 4:(r + 1) * 4, c * 4:(c + 1) * 4]
        assert (swatch == TILE_COLORS[key]).all(), key


def test_tiled_with_your_own_image(level, tmp_path):
    (tmp_path / "art").mkdir()
    Image.fromarray(np.zeros((32, 64, 3), np.uint8)).save(tmp_path / "art" / "set.png")
    (tmp_path / "maps").mkdir()
    eight = {k: i % 8 for i, k in enumerate(TILE_KEYS)}
    written = save_tiled(level, tmp_path / "maps" / "m.json", tile_size=16, tileset=eight,
                         image=tmp_path / "art" / "set.png")
    assert [p.name for p in written] == ["m.json"]
    doc, *_ = read_tiled(tmp_path / "maps" / "m.json")
    ts = doc["tilesets"][0]
    assert ts["image"] == "../art/set.png" and ts["tilecount"] == 8 and ts["columns"] == 4
    with pytest.raises(ValueError, match=r"tileset image \(32x16 px\) holds 2 tiles of 16x16 "
                                         "px, but the tileset uses ids up to 13"):
        save_tiled(level, tmp_path / "maps" / "n.json", tile_size=16,
                   image=_tiny_image(tmp_path))
    assert not (tmp_path / "maps" / "n.json").exists()


def _tiny_image(tmp_path):
    Image.fromarray(np.zeros((16, 32, 3), np.uint8)).save(tmp_path / "tiny.png")
    return tmp_path / "tiny.png"


def test_tiled_map_without_rivers():
    lv = generate_level(seed=1, shape=16, cell_size=4000.0, rivers="none")
    m = tiled_map(lv)
    assert m["layers"][2]["objects"] == [] and m["nextobjectid"] == 1
    assert set(decode_tiled_data(m["layers"][1])) == {0}
    assert set(tiled_map(lv, layer_format="csv")["layers"][1]["data"]) == {0}


def test_tileset_image_marks_unused_ids():
    ids = {k: 2 * i for i, k in enumerate(TILE_KEYS)}
    img = tileset_image(ids, tile_size=2, columns=8)
    assert img.shape == (8, 16, 3)                      # 27 ids in rows of 8
    assert (img[0:2, 2:4] == (255, 0, 255)).all()        # id 1 is unused


# -- longitude/latitude ----------------------------------------------------------------------
def _check_geojson(doc):
    """RFC 7946 structure: FeatureCollection -> Features -> LineString geometries, positions
    [longitude, latitude] in degrees."""
    assert doc["type"] == "FeatureCollection" and isinstance(doc["features"], list)
    assert "crs" not in doc                              # RFC 7946 removed it: WGS 84 only
    for f in doc["features"]:
        assert f["type"] == "Feature" and isinstance(f["properties"], dict)
        g = f["geometry"]
        assert g["type"] == "LineString" and len(g["coordinates"]) >= 2
        for pos in g["coordinates"]:
            assert len(pos) == 2 and all(isinstance(v, float) and math.isfinite(v) for v in pos)
            assert -180 <= pos[0] <= 180 and -90 <= pos[1] <= 90


def test_geo_frame_by_hand():
    # On the equator a degree of longitude is 2 pi a / 360 metres of the WGS 84 ellipsoid.
    f = GeoFrame((3, 5), 1000.0)
    degree_m = 2 * math.pi * 6378137.0 / 360.0
    assert f.degrees_per_col == pytest.approx(1000.0 / degree_m, rel=1e-12)
    lon, lat = f.lonlat([0, 1, 2], [0, 2, 4])
    assert lon.tolist() == pytest.approx([-2 * f.degrees_per_col, 0.0, 2 * f.degrees_per_col])
    assert lat.tolist() == pytest.approx([f.degrees_per_row, 0.0, -f.degrees_per_row])
    assert f.bounds == pytest.approx((-2.5 * f.degrees_per_col, -1.5 * f.degrees_per_row,
                                      2.5 * f.degrees_per_col, 1.5 * f.degrees_per_row))
    g = GeoFrame((64, 80), 250.0, origin=(-41.3, 174.8))
    rr, cc = np.meshgrid(np.linspace(-0.5, 63.5, 7), np.linspace(-0.5, 79.5, 9))
    back = g.rowcol(*g.lonlat(rr, cc))
    assert np.allclose(back[0], rr, atol=1e-9) and np.allclose(back[1], cc, atol=1e-9)


@pytest.mark.parametrize("lat0", [0.0, 20.0, 45.0, 60.0])
def test_geo_frame_error_is_as_documented(lat0):
    # Parallels are circles of radius N(lat) cos(lat) on the ellipsoid, so the true length
    # of the map's north edge follows exactly from its longitude span.
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    frame = GeoFrame((801, 101), 250.0, origin=(lat0, 10.0))     # 100 km north of centre
    west, _, east, north = frame.bounds
    phi = math.radians(north)
    radius = a / math.sqrt(1 - e2 * math.sin(phi) ** 2) * math.cos(phi)
    true_m = math.radians(east - west) * radius
    error = abs(true_m / (101 * 250.0) - 1)
    d, m = 400.5 * 250.0, 6367e3
    documented = math.tan(math.radians(lat0)) * d / m + d ** 2 / (2 * m ** 2)
    assert error == pytest.approx(documented, rel=0.05)
    assert error < 0.03


@pytest.mark.parametrize("origin, match", [
    ((95.0, 0.0), r"geo_origin latitude must be in \(-90, 90\), got 95"),
    ((0.0, 200.0), r"geo_origin longitude must be in \[-180, 180\], got 200"),
    ("52,5", r"geo_origin must be a \(latitude, longitude\) pair"),
    ((1.0, 2.0, 3.0), r"geo_origin must be a \(latitude, longitude\) pair"),
    ((0.0, 179.9), r"puts the 40x56 map of 4000 m cells at longitude 178.8.*move geo_origin"),
    ((89.5, 0.0), r"latitude 88.7838..90.2162; it must lie within"),
])
def test_bad_geo_origins_are_named(level, tmp_path, origin, match):
    with pytest.raises((ValueError, TypeError), match=match):
        save_geojson(level, tmp_path / "r.geojson", geo_origin=origin)
    with pytest.raises((ValueError, TypeError), match=match):
        save_geotiff(level, tmp_path / "h.tif", geo_origin=origin)
    assert list(tmp_path.iterdir()) == []


def test_geojson_rivers(level, tmp_path):
    save_geojson(level, tmp_path / "rivers.geojson", geo_origin=(52.0, 5.0))
    doc = json.loads((tmp_path / "rivers.geojson").read_text())
    _check_geojson(doc)
    frame = GeoFrame.of(level, geo_origin=(52.0, 5.0))
    assert doc["bbox"] == pytest.approx(list(frame.bounds))
    assert len(doc["features"]) == len(level.rivers)
    for f, river in zip(doc["features"], level.rivers):
        lonlat = np.array(f["geometry"]["coordinates"])
        assert np.allclose(lonlat, np.stack(frame.lonlat(*river.path.T), axis=1),
                           rtol=0, atol=1e-12)
        # The metre frame stays: row and col per vertex, and back from degrees.
        assert f["properties"]["row"] == river.path[:, 0].tolist()
        assert f["properties"]["col"] == river.path[:, 1].tolist()
        back = np.stack(frame.rowcol(lonlat[:, 0], lonlat[:, 1]), axis=1)
        assert np.allclose(back, river.path, atol=1e-8)
        assert f["properties"]["width_m"] == pytest.approx(river.width.tolist())
        assert f["properties"]["order"] == river.order
    meta = doc["procgen"]
    assert meta["geo_origin_lat_lon"] == [52.0, 5.0] and meta["shape"] == [40, 56]
    assert meta["cell_size_m"] == 4000.0
    assert doc == json.loads(json.dumps(rivers_geojson(level, geo_origin=(52.0, 5.0))))
    with pytest.raises(ValueError, match="path must end in .geojson or .json"):
        save_geojson(level, tmp_path / "rivers.kml")


def test_geojson_centre_is_the_origin():
    lv = _coast_level(rows=41, cols=57)
    fc = rivers_geojson(lv, geo_origin=(10.0, 20.0))
    west, south, east, north = fc["bbox"]
    assert (west + east) / 2 == pytest.approx(20.0, abs=1e-12)
    assert (south + north) / 2 == pytest.approx(10.0, abs=1e-12)
    # The map is 57 * 4 km wide and 41 * 4 km tall about that centre.
    assert (north - south) * 111e3 == pytest.approx(41 * 4000.0, rel=0.01)
    assert (east - west) * 111e3 * math.cos(math.radians(10.0)) == \
        pytest.approx(57 * 4000.0, rel=0.01)


def _gdal_tool(name):
    return pytest.mark.skipif(shutil.which(name) is None,
                              reason=f"GDAL's `{name}` is not on PATH (apt-get install "
                                     f"gdal-bin)")


@_gdal_tool("ogrinfo")
def test_ogrinfo_reads_degrees(level, tmp_path):
    save_geojson(level, tmp_path / "rivers.geojson", geo_origin=(52.0, 5.0))
    out = subprocess.run(["ogrinfo", "-al", "-so", str(tmp_path / "rivers.geojson")],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert "Feature Count: 3" in out
    assert 'GEOGCRS["WGS 84"' in out or 'GEOGCS["WGS 84"' in out
    found = re.search(r"Extent: \(([-\d.]+), ([-\d.]+)\) - \(([-\d.]+), ([-\d.]+)\)", out)
    extent = [float(v) for v in found.groups()]
    lon, lat = GeoFrame.of(level, geo_origin=(52.0, 5.0)).lonlat(
        *np.concatenate([r.path for r in level.rivers]).T)
    assert extent == pytest.approx([lon.min(), lat.min(), lon.max(), lat.max()], abs=1e-6)
    # Degrees within the map about (52 N, 5 E), not metres.
    west, south, east, north = GeoFrame.of(level, geo_origin=(52.0, 5.0)).bounds
    assert 3.3 < west < extent[0] < extent[2] < east < 6.7
    assert 51.2 < south < extent[1] < extent[3] < north < 52.8


def test_geotiff_holds_the_heights(level, tmp_path):
    written = save_geotiff(level, tmp_path / "h.tif", geo_origin=(52.0, 5.0))
    assert written == [tmp_path / "h.tif"]
    frame = GeoFrame.of(level, geo_origin=(52.0, 5.0))
    with Image.open(tmp_path / "h.tif") as im:
        back, tags = np.asarray(im), dict(im.tag_v2)
    assert back.dtype == np.float32 and np.array_equal(back, level.height)
    assert tags[33550] == pytest.approx((frame.degrees_per_col, frame.degrees_per_row, 0.0))
    west, _, _, north = frame.bounds
    assert tags[33922] == pytest.approx((0.0, 0.0, 0.0, west, north, 0.0))
    assert tags[34735] == (1, 1, 0, 4, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326,
                           2054, 0, 1, 9102)
    assert geotiff_bytes(level, geo_origin=(52.0, 5.0)) == (tmp_path / "h.tif").read_bytes()
    with pytest.raises(ValueError, match="path must end in .tif or .tiff"):
        save_geotiff(level, tmp_path / "h.png")


@_gdal_tool("gdalinfo")
@_gdal_tool("gdal_translate")
def test_gdal_reads_the_geotiff_where_the_geojson_is(level, tmp_path):
    origin = (-33.9, 18.4)
    save_geotiff(level, tmp_path / "h.tif", geo_origin=origin)
    info = json.loads(subprocess.run(["gdalinfo", "-json", str(tmp_path / "h.tif")],
                                     capture_output=True, text=True, timeout=60,
                                     check=True).stdout)
    assert info["size"] == [56, 40]
    assert 'ID["EPSG",4326]' in info["coordinateSystem"]["wkt"]
    assert info["metadata"][""]["AREA_OR_POINT"] == "Area"
    assert info["bands"][0]["type"] == "Float32"
    frame = GeoFrame.of(level, geo_origin=origin)
    west, south, east, north = frame.bounds
    corners = info["cornerCoordinates"]
    # gdalinfo prints corners to 7 decimals; the transform below has full precision.
    assert corners["upperLeft"] == pytest.approx([west, north], abs=1e-7)
    assert corners["lowerRight"] == pytest.approx([east, south], abs=1e-7)
    assert corners["center"] == pytest.approx([origin[1], origin[0]], abs=1e-7)
    # Every river vertex of the GeoJSON lands at its (row, col) through GDAL's transform.
    x0, dx, _, y0, _, dy = info["geoTransform"]
    for feature in rivers_geojson(level, geo_origin=origin)["features"]:
        lonlat = np.array(feature["geometry"]["coordinates"])
        col = (lonlat[:, 0] - x0) / dx - 0.5               # pixel centres at +0.5
        row = (lonlat[:, 1] - y0) / dy - 0.5
        assert np.allclose(row, feature["properties"]["row"], atol=1e-6)
        assert np.allclose(col, feature["properties"]["col"], atol=1e-6)
    # Values and pixel-centre coordinates as GDAL reads them.
    subprocess.run(["gdal_translate", "-q", "-of", "XYZ", "h.tif", "h.xyz"], cwd=tmp_path,
                   check=True, timeout=60)
    xyz = np.loadtxt(tmp_path / "h.xyz").reshape(40, 56, 3)
    rows, cols = np.indices((40, 56))
    lon, lat = frame.lonlat(rows, cols)
    assert np.allclose(xyz[..., 0], lon, atol=1e-9) and np.allclose(xyz[..., 1], lat, atol=1e-9)
    assert np.allclose(xyz[..., 2], level.height, rtol=1e-6, atol=1e-4)


@_gdal_tool("gdal_rasterize")
def test_gdal_burns_the_rivers_onto_their_cells(level, tmp_path):
    # GDAL draws the GeoJSON onto the GeoTIFF's grid: every river vertex's cell is burnt.
    origin = (47.0, -122.0)
    save_geojson(level, tmp_path / "r.geojson", geo_origin=origin)
    west, south, east, north = GeoFrame.of(level, geo_origin=origin).bounds
    subprocess.run(["gdal_rasterize", "-q", "-burn", "1", "-at", "-ot", "Byte", "-init", "0",
                    "-te", *map(repr, (west, south, east, north)), "-ts", "56", "40",
                    "r.geojson", "burnt.tif"], cwd=tmp_path, check=True, timeout=60)
    with Image.open(tmp_path / "burnt.tif") as im:
        burnt = np.asarray(im).astype(bool)
    cells = np.floor(np.concatenate([r.path for r in level.rivers]) + 0.5).astype(int)
    assert burnt[cells[:, 0], cells[:, 1]].all()
    assert burnt.sum() <= 3 * len(np.unique(cells, axis=0))       # and not much else


# -- engine heightmaps -----------------------------------------------------------------------
def _metres(sidecar, values):
    lo, hi = sidecar["height_range_m"]
    return HeightmapRange(lo, hi).to_metres(values)


def test_png16_reloads_within_one_step(square, tmp_path):
    out = save_heightmap(square, tmp_path / "h.png")
    assert [p.name for p in out.paths] == ["h.png", "h.json"]
    with Image.open(tmp_path / "h.png") as im:
        back = np.asarray(im)
    assert back.dtype == np.uint16 and back.shape == (48, 48)
    sidecar = json.loads((tmp_path / "h.json").read_text())
    step = sidecar["metres_per_step"]
    assert step == pytest.approx(out.range.metres_per_step)
    assert sidecar["sea_floor_m"] is None
    assert np.abs(_metres(sidecar, back) - square.height).max() <= step / 2 + 1e-6 * step


def test_sea_floor_clamps_before_scaling(level, tmp_path):
    full = save_heightmap(level, tmp_path / "full.png")
    out = save_heightmap(level, tmp_path / "sea.r16", format="raw16", sea_floor=-50.0)
    assert (full.range.lo, full.range.hi) == (float(level.height.min()),
                                             float(level.height.max()))
    assert (out.range.lo, out.range.hi) == (-50.0, float(level.height.max()))
    sidecar = json.loads((tmp_path / "sea.json").read_text())
    assert sidecar["sea_floor_m"] == -50.0 and sidecar["height_range_m"][0] == -50.0
    raw = np.fromfile(tmp_path / "sea.r16", "<u2").reshape(level.shape)
    metres = _metres(sidecar, raw)
    step = out.range.metres_per_step
    expect = np.maximum(level.height, -50.0)
    assert np.abs(metres - expect).max() <= step / 2 + 1e-6
    assert (raw[level.height <= -50.0] == 0).all()
    # The sea used most of the 16 bits; clamped, land gets them.
    below_sea = lambda r: -r.lo / (r.hi - r.lo)                     # noqa: E731
    assert below_sea(full.range) > 0.85 and below_sea(out.range) < 0.05
    assert full.range.metres_per_step / step > 6


@pytest.mark.parametrize("sea_floor, match", [
    (5.0, r"sea_floor must be in \[-inf, 0\], got 5"),
    (float("nan"), "sea_floor must be finite, got nan"),
    ("deep", "sea_floor must be a real number, got 'deep'"),
])
def test_bad_sea_floor_is_named(level, tmp_path, sea_floor, match):
    with pytest.raises((ValueError, TypeError), match=match):
        save_heightmap(level, tmp_path / "h.png", sea_floor=sea_floor)
    assert list(tmp_path.iterdir()) == []


def test_resampled_heightmap_agrees_with_height_at(square, tmp_path):
    # Edge-aligned resampling samples row i at i * (H - 1) / (size - 1): height_at there.
    out = save_heightmap(square, tmp_path / "h.png", size=65, engine="unity")
    with Image.open(tmp_path / "h.png") as im:
        back = np.asarray(im)
    assert back.shape == (65, 65)
    coords = np.arange(65) * 47 / 64
    rr, cc = np.meshgrid(coords, coords, indexing="ij")
    expect = square.height_at(rr, cc)
    step = out.range.metres_per_step
    assert np.abs(out.range.to_metres(back) - expect).max() <= step / 2 + 1e-3


def test_raw16_is_little_endian_north_first(square, tmp_path):
    out = save_heightmap(square, tmp_path / "t.r16", format="raw16", size=129,
                         engine="unity")
    data = (tmp_path / "t.r16").read_bytes()
    assert len(data) == 129 * 129 * 2
    expect = heightmap16(square.height, size=129)
    raw = np.frombuffer(data, "<u2").reshape(129, 129)
    assert np.array_equal(raw, expect)
    assert data[:2] == int(expect[0, 0]).to_bytes(2, "little")
    sidecar = json.loads((tmp_path / "t.json").read_text())
    assert sidecar["byte_order"] == "little-endian" and sidecar["size"] == [129, 129]
    assert sidecar["orientation"].startswith("row-major; first row = north edge")
    assert sidecar["sample_spacing_m"] == pytest.approx([4000.0 * 47 / 128] * 2)
    assert out.size == (129, 129)
    save_heightmap(square, tmp_path / "u.raw", format="raw16", size=127, engine="unreal")
    assert (tmp_path / "u.raw").stat().st_size == 127 * 127 * 2


def test_raw_rows_run_north_to_south(tmp_path):
    h = np.repeat(np.arange(33, dtype=np.float32)[:, None], 33, axis=1)   # rises southwards
    lv = Level(config=LevelConfig(), seed=0, cell_size=10.0, height=h,
               water=np.zeros(h.shape, bool), lakes=np.zeros(h.shape, np.int32))
    save_heightmap(lv, tmp_path / "ramp.raw", format="raw16", engine="unity")
    raw = np.fromfile(tmp_path / "ramp.raw", "<u2").reshape(33, 33)
    assert (raw[0] == 0).all() and (raw[-1] == 65535).all()


@pytest.mark.parametrize("kwargs, match", [
    (dict(size=1000, engine="unity"), "size 1000 is not a legal unity heightmap size; legal "
                                      "sizes: 33, 65, 129"),
    (dict(size=1025, engine="unreal"), "size 1025 is not a legal unreal heightmap size"),
    (dict(engine="unity"), "height shape 48x48 is not a legal unity heightmap size"),
    (dict(size=65, engine="godot"), "engine must be one of 'unity', 'unreal'"),
    (dict(format="tiff"), "format must be one of 'heightmap16', 'raw16'"),
    (dict(splat="cmyk"), "splat must be one of 'none', 'grey', 'rgba'"),
])
def test_illegal_sizes_are_refused_and_nothing_written(square, tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        save_heightmap(square, tmp_path / "h.png", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_heightmap_path_suffix(square, tmp_path):
    with pytest.raises(ValueError, match="path must end in .raw or .r16 for format 'raw16'"):
        save_heightmap(square, tmp_path / "h.png", format="raw16")


def test_biome_weights_sum_to_255(square):
    w = biome_weights(square)
    assert w.shape == (len(Biome), 48, 48)
    assert np.array_equal(np.argmax(w, axis=0), square.biomes)
    assert set(np.unique(w)) <= {0, 255}
    r = biome_weights(square, size=65)
    assert (r.sum(axis=0, dtype=np.int64) == 255).all()
    assert (r[0, 0, 0] == 255) == (square.biomes[0, 0] == Biome.OCEAN)


def test_splat_maps_grey_and_rgba(square, tmp_path):
    out = save_heightmap(square, tmp_path / "g.png", size=65, engine="unity", splat="grey")
    names = [p.name for p in out.paths]
    assert names[:2] == ["g.png", "g.json"] and len(names) == 2 + len(Biome)
    total = np.zeros((65, 65), np.int64)
    for b in Biome:
        with Image.open(tmp_path / f"g_splat_{b.label}.png") as im:
            assert im.mode == "L" and im.size == (65, 65)
            total += np.asarray(im)
    assert (total == 255).all()
    out = save_heightmap(square, tmp_path / "c.r16", format="raw16", size=65, splat="rgba")
    packs = [p for p in out.paths if "splat" in p.name]
    assert [p.name for p in packs] == ["c_splat0.png", "c_splat1.png", "c_splat2.png"]
    total = np.zeros((65, 65), np.int64)
    for p in packs:
        with Image.open(p) as im:
            assert im.mode == "RGBA"
            total += np.asarray(im).astype(np.int64).sum(axis=2)
    assert (total == 255).all()
    sidecar = json.loads((tmp_path / "c.json").read_text())
    assert sidecar["splat"]["files"][0]["channels"] == ["ocean", "lake", "beach", "desert"]


# -- all files or none -----------------------------------------------------------------------
def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _fail_on_call(monkeypatch, module, name, k, error):
    """Make ``module.name`` raise ``error`` on its k-th call (1-based), else behave."""
    real = getattr(module, name)
    calls = []

    def flaky(*args, **kwargs):
        calls.append(args)
        if len(calls) == k:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, flaky)
    return calls


def test_failed_second_write_keeps_the_old_files(level, tmp_path, monkeypatch):
    import procgen._io as io_module
    save_tiled(level, tmp_path / "m.tmj", tile_size=8)
    save_heightmap(level, tmp_path / "h.png")
    before = _snapshot(tmp_path)
    _fail_on_call(monkeypatch, io_module, "_write_temp", 2, OSError("disk full"))
    with pytest.raises(OSError, match="disk full"):
        save_tiled(level, tmp_path / "m.tmj", tile_size=4)        # image written, map fails
    _fail_on_call(monkeypatch, io_module, "_write_temp", 2, OSError("disk full"))
    with pytest.raises(OSError, match="disk full"):
        save_heightmap(level, tmp_path / "h.png", sea_floor=-10.0)
    assert _snapshot(tmp_path) == before                  # old files intact, no temporaries


def test_failed_rename_restores_the_old_files(level, tmp_path, monkeypatch):
    save_heightmap(level, tmp_path / "h.png", splat="rgba")
    before = _snapshot(tmp_path)
    # The second rename fails: the heightmap, already replaced, gets its old bytes back.
    calls = _fail_on_call(monkeypatch, os, "replace", 2, OSError("rename refused"))
    with pytest.raises(OSError, match="rename refused"):
        save_heightmap(level, tmp_path / "h.png", splat="rgba", sea_floor=-10.0)
    assert len(calls) >= 3                                 # two renames, then the restore
    monkeypatch.undo()
    assert _snapshot(tmp_path) == before


def test_failed_export_of_new_files_leaves_nothing(level, tmp_path, monkeypatch):
    _fail_on_call(monkeypatch, os, "replace", 3, OSError("rename refused"))
    with pytest.raises(OSError, match="rename refused"):
        save_heightmap(level, tmp_path / "h.png", size=65, splat="rgba")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
    import procgen._io as io_module
    _fail_on_call(monkeypatch, io_module, "_write_temp", 2, OSError("read-only"))
    with pytest.raises(OSError, match="read-only"):
        save_tiled(level, tmp_path / "m.json")
    assert list(tmp_path.iterdir()) == []


def test_colliding_outputs_are_refused(level, tmp_path):
    from procgen._io import atomic_write_many
    with pytest.raises(ValueError, match="output paths collide"):
        atomic_write_many([(tmp_path / "a", b"1", "path"), (tmp_path / "." / "a", b"2", "x")])
    with pytest.raises(ValueError, match="sidecar: folder .* does not exist"):
        atomic_write_many([(tmp_path / "a", b"1", "path"),
                           (tmp_path / "missing" / "b", b"2", "sidecar")])
    assert list(tmp_path.iterdir()) == []


# -- 16-bit conversion and legal engine sizes ------------------------------------------------

def test_engine_members_and_sizes():
    assert {e.value for e in Engine} == {"unity", "unreal"}
    assert legal_sizes(Engine.UNITY) == tuple(2 ** n + 1 for n in range(5, 13))
    assert legal_sizes("unreal") == (127, 253, 505, 1009, 2017, 4033, 8129)
    assert set(ENGINE_SIZES) == set(Engine)
    with pytest.raises(ValueError, match="engine must be one of 'unity', 'unreal', got 'godot'"):
        legal_sizes("godot")


def test_heightmap16_min_max_and_corners():
    rng = np.random.default_rng(7)
    h = np.clip(rng.normal(0, 300, (50, 70)), -900, 900).astype(np.float32)
    h[0, 0], h[0, -1], h[-1, 0], h[-1, -1] = -1000.0, 10.0, 20.0, 2000.0
    full = heightmap16(h)
    assert full.dtype == np.uint16 and full.shape == (50, 70)
    assert full.min() == 0 and full.max() == 65535
    assert full[0, 0] == 0 and full[-1, -1] == 65535
    hm = heightmap16(h, size=33)
    assert hm.shape == (33, 33)                                  # each axis resampled to size
    for (r, c), (R, C) in zip([(0, 0), (0, -1), (-1, 0), (-1, -1)],
                              [(0, 0), (0, -1), (-1, 0), (-1, -1)]):
        assert hm[r, c] == full[R, C]
    assert hm[0, 0] == 0 and hm[-1, -1] == 65535


def test_heightmap16_resample_is_edge_aligned_bilinear():
    # a plane resamples to the plane sampled at i*(H-1)/(size-1)
    rows, cols = np.mgrid[0:5, 0:9].astype(np.float64)
    plane = (3.0 * rows + cols).astype(np.float32)               # 0 .. 20
    hm = heightmap16(plane, size=17, height_range=(0.0, 65535.0 / 1000.0))
    i = np.arange(17)
    expect = 3.0 * (i * 4 / 16)[:, None] + (i * 8 / 16)[None, :]
    np.testing.assert_array_equal(hm, np.rint(expect * 1000.0).astype(np.uint16))
    assert np.array_equal(heightmap16(plane, size=2), heightmap16(plane[[0, -1]][:, [0, -1]]))


def test_heightmap16_same_size_is_identity():
    h = np.random.default_rng(0).random((33, 33)).astype(np.float32)
    np.testing.assert_array_equal(heightmap16(h, size=33), heightmap16(h))


def test_heightmap16_height_range_and_flat():
    h = np.array([[-10.0, 0.0], [50.0, 200.0]], np.float32)
    hm = heightmap16(h, height_range=(0.0, 100.0))
    assert hm.tolist() == [[0, 0], [32768, 65535]]               # clipped outside the range
    assert heightmap_range(h) == HeightmapRange(-10.0, 200.0)
    assert heightmap_range(h, height_range=(0, 100)) == HeightmapRange(0.0, 100.0)
    assert heightmap16(np.full((3, 3), 5.0)).tolist() == [[0] * 3] * 3
    with pytest.raises(ValueError, match="height_range must have lo < hi"):
        heightmap16(h, height_range=(5.0, 5.0))
    with pytest.raises(ValueError, match=r"height_range\[1\] must be finite"):
        heightmap16(h, height_range=(0.0, np.inf))
    with pytest.raises(ValueError, match="height_range must be a \\(lo, hi\\) pair"):
        heightmap16(h, height_range=5.0)


def test_heightmap_range_scale():
    r = HeightmapRange(-100.0, 555.35)
    assert r.metres_per_step == pytest.approx(0.01)
    assert r.unreal_z_scale == pytest.approx(655.35 * 100 / 512)
    assert r.to_metres([0, 65535]).tolist() == pytest.approx([-100.0, 555.35])


def test_heightmap16_rejects_nan_and_bad_size():
    with pytest.raises(ValueError, match="height contains NaN"):
        heightmap16(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="size must be in 2..inf, got 1"):
        heightmap16(np.zeros((3, 3)), size=1)
    with pytest.raises(TypeError, match="size must be an integer"):
        heightmap16(np.zeros((3, 3)), size=33.0)
    with pytest.raises(ValueError, match="size 9000x9000 .* over the cap"):
        heightmap16(np.zeros((3, 3)), size=9000)


@pytest.mark.parametrize("engine", list(Engine))
def test_legal_sizes_accepted(engine):
    h = np.array([[0.0, 1.0], [2.0, 3.0]], np.float32)
    for size in legal_sizes(engine):
        if size > 1100:   # keep the test fast; larger sizes go through the same check
            continue
        hm = heightmap16(h, size=size, engine=engine)
        assert hm.shape == (size, size) and hm[0, 0] == 0 and hm[-1, -1] == 65535
    assert heightmap16(h, size=legal_sizes(engine)[0], engine=engine.value).shape[0] == legal_sizes(engine)[0]


@pytest.mark.parametrize("engine", list(Engine))
def test_illegal_sizes_rejected(engine):
    h = np.zeros((4, 4), np.float32)
    sizes = legal_sizes(engine)
    for legal in sizes:
        for bad in (legal - 1, legal + 1):
            nearest = min(sizes, key=lambda s: (abs(s - bad), s))
            with pytest.raises(ValueError, match=(
                    rf"^size {bad} is not a legal {engine.value} heightmap size; legal sizes: "
                    rf"{', '.join(map(str, sizes))}; nearest legal size is {nearest}$")):
                heightmap16(h, size=bad, engine=engine)


@pytest.mark.parametrize("engine, bad, nearest", [
    (Engine.UNITY, 1000, 1025), (Engine.UNREAL, 1000, 1009),
    (Engine.UNITY, 2, 33), (Engine.UNREAL, 9000 // 2, 4033),
])
def test_illegal_size_message_suggests_nearest(engine, bad, nearest):
    with pytest.raises(ValueError, match=rf"size {bad} is not a legal {engine.value} .*nearest legal size is {nearest}"):
        heightmap16(np.zeros((3, 3)), size=bad, engine=engine)


@pytest.mark.parametrize("engine", list(Engine))
def test_engine_without_size_checks_input_shape(engine):
    n = legal_sizes(engine)[0]
    assert heightmap16(np.zeros((n, n)), engine=engine).shape == (n, n)
    with pytest.raises(ValueError, match=rf"height shape {n}x{n + 1} is not a legal {engine.value} .*pass size="):
        heightmap16(np.zeros((n, n + 1)), engine=engine)


def test_png16_is_true_16_bit_and_round_trips(tmp_path):
    n = 65      # 65 -> 129: input sample i lands exactly on output 2i
    r, c = np.mgrid[0:n, 0:n].astype(np.float64)
    h = (3000.0 * np.exp(-((r - n / 2) ** 2 + (c - n / 2) ** 2) / (2 * (n / 5) ** 2)) - 1500.0
         + 150.0 * np.sin(r * 0.31) * np.cos(c * 0.23)).astype(np.float32)
    lv = Level(config=LevelConfig(), seed=0, cell_size=10.0, height=h,
               water=np.zeros(h.shape, bool), lakes=np.zeros(h.shape, np.int32))
    target = tmp_path / "terrain.png"
    used = save_heightmap(lv, target, size=129, engine=Engine.UNITY).range
    assert used == HeightmapRange(float(h.min()), float(h.max()))
    raw = target.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR"
    assert raw[24] == 16 and raw[25] == 0                         # bit depth 16, greyscale
    with Image.open(target) as im:
        assert im.mode == "I;16" and im.size == (129, 129)
        back = np.asarray(im)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, heightmap16(h, size=129, engine="unity"))
    assert back.min() == 0 and back.max() == 65535
    np.testing.assert_array_equal(back[::2, ::2], heightmap16(h))
    np.testing.assert_allclose(used.to_metres(back[[0, -1], [0, -1]]), h[[0, -1], [0, -1]],
                               atol=used.metres_per_step)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["terrain.json", "terrain.png"]


def test_missing_folder_is_named(square, tmp_path):
    target = tmp_path / "missing" / "terrain.png"
    with pytest.raises(ValueError, match="path: folder .* does not exist"):
        save_heightmap(square, target)
    assert not target.parent.exists()


@pytest.mark.parametrize("engine", list(Engine))
def test_check_engine_size(engine):
    n = legal_sizes(engine)[0]
    check_engine_size(engine, (n, n), what="x")
    check_engine_size(engine.value, (n, n), what="x")
    with pytest.raises(ValueError, match=rf"^map {n}x{n + 1} is not a legal {engine.value} "
                                         rf"heightmap size; .*nearest legal size is {n}$"):
        check_engine_size(engine, (n, n + 1), what=f"map {n}x{n + 1}")
