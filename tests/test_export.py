"""Exports: tile ids, Tiled JSON (read back by a reader written here), GeoJSON, engine
heightmaps (16-bit PNG and RAW), splat maps, and all-or-nothing writing."""

import json
import math

import numpy as np
import pytest
from PIL import Image

from procgen import generate_level
from procgen.biomes import Biome
from procgen.export import (DEFAULT_TILESET, TILE_COLORS, TILE_KEYS, biome_weights,
                            rivers_geojson, save_geojson, save_heightmap, save_tiled,
                            tiled_map, tileset_image, to_tiles)
from procgen.render import HeightmapRange, heightmap16


@pytest.fixture(scope="module")
def level():
    lv = generate_level(seed=1, shape=(40, 56), cell_size=4000.0, preset="continent")
    assert len(lv.rivers) >= 3 and lv.fords().any()
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
            data = layer["data"]
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
    assert t.dtype == np.int32
    assert np.array_equal(t, level.biomes.astype(np.int32))    # default: id = Biome value
    with_rivers = level.to_tiles()
    river, ford = level.river_mask(), level.fords()
    assert (with_rivers[ford] == DEFAULT_TILESET["ford"]).all()
    assert (with_rivers[river & ~ford] == DEFAULT_TILESET["river"]).all()
    assert np.array_equal(with_rivers[~river], t[~river])


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
    ({**DEFAULT_TILESET, "ford": 1.5}, r"tileset\['ford'\] must be an integer"),
    (["ocean"], "tileset must be a mapping"),
])
def test_bad_tilesets_are_named(level, tileset, match):
    with pytest.raises((ValueError, TypeError), match=match):
        to_tiles(level, tileset=tileset)


# -- Tiled -----------------------------------------------------------------------------------
def test_tiled_export_round_trips(level, tmp_path):
    written = save_tiled(level, tmp_path / "level.tmj", tile_size=8)
    assert [p.name for p in written] == ["level_tiles.png", "level.tmj"]
    doc, tiles, objects, tilesets = read_tiled(tmp_path / "level.tmj")
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
    assert set(m["layers"][1]["data"]) == {0}


def test_tileset_image_marks_unused_ids():
    ids = {k: 2 * i for i, k in enumerate(TILE_KEYS)}
    img = tileset_image(ids, tile_size=2, columns=8)
    assert img.shape == (8, 16, 3)                      # 27 ids in rows of 8
    assert (img[0:2, 2:4] == (255, 0, 255)).all()        # id 1 is unused


# -- GeoJSON ---------------------------------------------------------------------------------
def _check_geojson(doc):
    """RFC 7946 structure: FeatureCollection -> Features -> LineString geometries."""
    assert doc["type"] == "FeatureCollection" and isinstance(doc["features"], list)
    for f in doc["features"]:
        assert f["type"] == "Feature" and isinstance(f["properties"], dict)
        g = f["geometry"]
        assert g["type"] == "LineString" and len(g["coordinates"]) >= 2
        for pos in g["coordinates"]:
            assert len(pos) == 2 and all(isinstance(v, float) and math.isfinite(v) for v in pos)


def test_geojson_rivers(level, tmp_path):
    save_geojson(level, tmp_path / "rivers.geojson")
    doc = json.loads((tmp_path / "rivers.geojson").read_text())
    _check_geojson(doc)
    assert len(doc["features"]) == len(level.rivers)
    for f, river in zip(doc["features"], level.rivers):
        xy = np.array(f["geometry"]["coordinates"])
        assert np.allclose(xy[:, 0] / 4000.0, river.path[:, 1])     # x = col * cell_size
        assert np.allclose(-xy[:, 1] / 4000.0, river.path[:, 0])    # y = -row * cell_size
        assert f["properties"]["width_m"] == pytest.approx(river.width.tolist())
        assert f["properties"]["order"] == river.order
    assert doc == rivers_geojson(level)
    with pytest.raises(ValueError, match="path must end in .geojson or .json"):
        save_geojson(level, tmp_path / "rivers.kml")


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
    assert np.abs(_metres(sidecar, back) - square.height).max() <= step / 2 + 1e-6 * step


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
    from procgen import Level, LevelConfig
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
    assert set(np.unique(w)) == {0, 255}
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


def test_failed_export_leaves_nothing(square, tmp_path, monkeypatch):
    import procgen.export as ex
    real = ex.atomic_write
    calls = []

    def flaky(path, write, **kw):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(path, write, **kw)

    monkeypatch.setattr(ex, "atomic_write", flaky)
    with pytest.raises(OSError, match="disk full"):
        save_heightmap(square, tmp_path / "h.png", size=65, splat="rgba")
    assert list(tmp_path.iterdir()) == []
    calls.clear()
    monkeypatch.setattr(ex, "atomic_write", lambda *a, **k: (_ for _ in ()).throw(
        OSError("read-only")) if calls.append(1) or len(calls) == 2 else real(*a, **k))
    with pytest.raises(OSError, match="read-only"):
        save_tiled(square, tmp_path / "m.json")
    assert list(tmp_path.iterdir()) == []
