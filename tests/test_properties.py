"""Properties that hold for every input Hypothesis draws, not only for the examples we thought of.

* ``generate_level``: finite float32 heights, every river downhill and ended in water, at the
  map edge or on another river, the same arrays for the same seed, and the rivers stage never
  touching the terrain's water;
* the level file: what ``Level.save`` writes, ``Level.load`` gives back bit for bit;
* exports read back: 16-bit PNG and RAW heightmaps within half a step of the heights, Tiled
  JSON against the map format, GeoJSON against RFC 7946, GeoTIFF equal to the heights;
* ``fbm``: a chunk equals the matching crop of a larger map exactly;
* the ``procgen`` command: whatever the arguments, status 0 or 2, and on 2 exactly one line
  ``procgen: error: ...``; never a traceback.

Every test is derandomized (the same examples on every run, no example database), so CI is
deterministic; shapes are small, so the module runs in well under a minute.
"""

import base64
import contextlib
import gzip
import io
import json
import math
import os
import re
import tempfile
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from procgen import Level, LevelConfig, River, generate_level
from procgen._validate import SEED_MAX, SEED_MIN
from procgen.biomes import Biome
from procgen.cli import main
from procgen.export import (GeoFrame, save_geojson, save_geotiff, save_heightmap, save_tiled,
                            to_tiles)
from procgen.noise import Fractal, fbm
from procgen.rivers import BUILTIN_GENERATORS, river_cells
from procgen.terrain import PRESETS
from tests.test_rivers import assert_rivers_flow_downhill

# derandomize: the same examples on every run; database=None: nothing remembered between
# runs, so a failure seen once is seen every time. Generation takes milliseconds, but the
# first example of a test may compile or load kernels.
PROPERTY = settings(deadline=None, derandomize=True, database=None, max_examples=100,
                    suppress_health_check=[HealthCheck.too_slow])

GENERATORS = tuple(BUILTIN_GENERATORS)


# -- levels --------------------------------------------------------------------------------------
def _sides(max_side):
    """Mostly maps big enough for rivers, sometimes degenerate ones (a row, a 2x2)."""
    side = st.integers(16, max_side)
    thin = st.integers(1, 4)
    return st.one_of(st.tuples(side, side), st.tuples(side, side), st.tuples(side, side),
                     st.tuples(thin, st.integers(1, max_side)),
                     st.tuples(st.integers(1, max_side), thin))


@st.composite
def level_requests(draw, max_side=40):
    """Keyword arguments of generate_level: any seed, small shapes, every preset and built-in
    generator, and river settings drawn wide enough that most small maps have rivers."""
    preset = draw(st.sampled_from(tuple(PRESETS)))
    generator = draw(st.sampled_from(GENERATORS))
    config = LevelConfig.from_preset(preset)
    terrain = replace(config.terrain, sea_threshold=draw(st.floats(-0.5, 0.1)))
    rivers = replace(config.rivers,
                     min_area_km2=draw(st.floats(0.5, 200.0)),
                     min_length_km=draw(st.floats(0.5, 10.0)),
                     count=draw(st.integers(0, 30)),
                     carve=draw(st.booleans()))
    return dict(seed=draw(st.integers(SEED_MIN, SEED_MAX)),
                shape=draw(_sides(max_side)),
                cell_size=draw(st.floats(50.0, 20000.0)),
                config=replace(config, terrain=terrain, rivers=rivers),
                rivers=generator)


def assert_same_level(a: Level, b: Level):
    """Bit-identical arrays (-0.0 and 0.0 differ here), equal records."""
    for name in ("height", "water", "lakes", "biomes"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), f"{name} differs"
    assert (a.seed, a.cell_size, a.config) == (b.seed, b.cell_size, b.config)
    assert len(a.rivers) == len(b.rivers)
    for k, (ra, rb) in enumerate(zip(a.rivers, b.rivers)):
        assert ra.path.tobytes() == rb.path.tobytes(), f"river {k} path"
        assert ra.width.tobytes() == rb.width.tobytes(), f"river {k} width"
        assert (ra.generator, ra.discharge, ra.order) == (rb.generator, rb.discharge, rb.order)


@settings(PROPERTY, max_examples=300)
@given(request=level_requests())
def test_generate_level_invariants(request):
    level = generate_level(**request)
    event(f"{'with' if level.rivers else 'without'} rivers")
    rows, cols = request["shape"]
    assert level.height.dtype == np.float32 and level.height.shape == (rows, cols)
    assert np.isfinite(level.height).all()
    assert level.water.dtype == np.bool_ and level.lakes.dtype == np.int32
    assert level.lakes.min() >= 0 and not (level.lakes > 0)[~level.water].any()
    assert level.biomes.dtype == np.uint8 and level.biomes.max() < len(Biome)
    assert 0 <= level.seed <= SEED_MAX and level.seed == request["seed"] % 2 ** 64
    name = request["rivers"]
    for river in level.rivers:
        assert river.generator == name
        assert np.isfinite(river.path).all() and (river.width >= 0).all()
        assert (river.path >= -0.5).all()
        assert (river.path[:, 0] < rows - 0.5).all() and (river.path[:, 1] < cols - 0.5).all()
    # The contract holds along the whole course, not only at the vertices: every cell the
    # polyline runs through (a shape generator's vertices can be cells apart).
    assert_rivers_flow_downhill(level)

    # Determinism, and one stream per stage: the rivers stage leaves the water as it was.
    assert_same_level(level, generate_level(**request))
    dry = generate_level(**{**request, "rivers": "none"})
    assert np.array_equal(dry.water, level.water) and np.array_equal(dry.lakes, level.lakes)


# -- the level file --------------------------------------------------------------------------
@PROPERTY
@given(request=level_requests(max_side=32), compress=st.booleans())
def test_generated_level_round_trips_through_its_file(request, compress):
    level = generate_level(**request)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "level.npz"
        level.save(path, compress=compress)
        assert_same_level(Level.load(path), level)


finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


@st.composite
def rivers_on(draw, shape):
    rows, cols = shape
    n = draw(st.integers(2, 6))
    path = np.column_stack([
        draw(arrays(np.float64, n, elements=st.floats(0.0, rows - 1.0))),
        draw(arrays(np.float64, n, elements=st.floats(0.0, cols - 1.0)))])
    width = draw(arrays(np.float32, n, elements=st.floats(0.0, 1e4, width=32)))
    # What Level.load accepts (see the report on order > 1000 and long names).
    return River(path=path, width=width,
                 generator=draw(st.text(min_size=1, max_size=20)),
                 discharge=draw(st.floats(0.0, 1e12)), order=draw(st.integers(0, 1000)))


@st.composite
def hand_made_levels(draw):
    """Levels built directly, with values no generator makes: huge, tiny and subnormal
    heights, -0.0, any lake labels and biome codes, rivers named in any script."""
    shape = (draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    height = draw(arrays(np.float32, shape, elements=finite32))
    lakes = draw(arrays(np.int32, shape, elements=st.integers(0, 2 ** 31 - 1)))
    return Level(config=LevelConfig.from_preset(draw(st.sampled_from(tuple(PRESETS)))),
                 seed=draw(st.integers(0, SEED_MAX)),
                 cell_size=draw(st.floats(1e-3, 1e6)),
                 height=height,
                 water=draw(arrays(np.bool_, shape)),
                 lakes=lakes,
                 rivers=draw(st.lists(rivers_on(shape), max_size=4)),
                 biomes=draw(arrays(np.uint8, shape, elements=st.integers(0, len(Biome) - 1))))


@PROPERTY
@given(level=hand_made_levels(), compress=st.booleans())
def test_any_level_round_trips_bit_for_bit(level, compress):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "level.npz"
        level.save(path, compress=compress)
        assert_same_level(Level.load(path), level)


# -- exports read back -----------------------------------------------------------------------
@PROPERTY
@given(request=level_requests(max_side=24), fmt=st.sampled_from(["heightmap16", "raw16"]),
       size=st.none() | st.integers(2, 40), sea_floor=st.none() | st.floats(-5000.0, 0.0))
def test_heightmaps_decode_within_half_a_step(request, fmt, size, sea_floor):
    level = generate_level(**request)
    suffix = ".png" if fmt == "heightmap16" else ".r16"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"h{suffix}"
        save_heightmap(level, path, format=fmt, size=size, sea_floor=sea_floor)
        sidecar = json.loads(path.with_suffix(".json").read_text())
        n_rows, n_cols = sidecar["size"]
        if fmt == "heightmap16":
            with Image.open(path) as im:
                assert im.mode.startswith("I;16") or im.mode == "I"
                values = np.asarray(im).astype(np.int64)
        else:
            raw = np.fromfile(path, dtype="<u2")
            assert raw.size == n_rows * n_cols
            values = raw.reshape(n_rows, n_cols).astype(np.int64)
    assert values.shape == ((n_rows, n_cols) if size is None else (size, size))
    assert values.shape == tuple(sidecar["size"]) and sidecar["format"] == fmt
    lo, hi = sidecar["height_range_m"]
    step = sidecar["metres_per_step"]
    assert step == pytest.approx((hi - lo) / 65535.0)
    expect = level.height.astype(np.float64)
    if sea_floor is not None:
        expect = np.maximum(expect, sea_floor)
        assert sidecar["sea_floor_m"] == sea_floor
    # The range is the (clamped) heights' own, to float32 rounding: a sea floor that is not
    # a float32 value comes back as its float32 twin (reported: save_heightmap means the
    # float64 sea floor itself, but render's grid check casts to float32).
    float32_rounding = 2.0 ** -23 * max(abs(lo), abs(hi), 1e-30)
    assert abs(lo - expect.min()) <= float32_rounding
    assert abs(hi - expect.max()) <= float32_rounding
    decoded = lo + values * step
    # Rounding to the nearest step: half a step, plus that rounding of metres.
    tolerance = step / 2 + float32_rounding
    if size is None:
        assert np.abs(decoded - expect).max() <= tolerance
    else:
        # Resampling is edge-aligned: the four corners are the level's corners.
        corners = np.ix_([0, -1], [0, -1])
        assert np.abs(decoded[corners] - expect[corners]).max() <= tolerance
    if hi > lo and size is None:
        assert values.min() == 0 and values.max() == 65535


def _decode_layer(layer: dict) -> np.ndarray:
    """A Tiled tile layer's gids (uint32, row-major), per the JSON map format."""
    encoding = layer.get("encoding", "csv")
    if encoding == "csv":
        assert isinstance(layer["data"], list) and "compression" not in layer
        return np.asarray(layer["data"], dtype=np.int64)
    assert encoding == "base64"
    packed = base64.b64decode(layer["data"], validate=True)
    unpack = {"zlib": zlib.decompress, "gzip": gzip.decompress, "": lambda b: b}
    raw = unpack[layer.get("compression", "")](packed)
    assert len(raw) % 4 == 0
    return np.frombuffer(raw, "<u4").astype(np.int64)


_PROPERTY_TYPES = {"string": str, "int": int, "float": (int, float), "bool": bool}


def _check_properties(props):
    assert isinstance(props, list)
    for p in props:
        assert set(p) == {"name", "type", "value"}, p
        assert isinstance(p["name"], str) and p["type"] in _PROPERTY_TYPES
        assert isinstance(p["value"], _PROPERTY_TYPES[p["type"]]), p
        if p["type"] == "float":
            assert math.isfinite(p["value"])


@PROPERTY
@given(request=level_requests(max_side=24), tile_size=st.integers(1, 48),
       layer_format=st.sampled_from(["zlib", "gzip", "csv"]),
       suffix=st.sampled_from([".json", ".tmj"]))
def test_tiled_map_against_the_format(request, tile_size, layer_format, suffix):
    level = generate_level(**request)
    rows, cols = level.shape
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"map{suffix}"
        save_tiled(level, path, tile_size=tile_size, layer_format=layer_format)
        doc = json.loads(path.read_text())
        (tileset,) = doc["tilesets"]
        with Image.open(path.parent / tileset["image"]) as im:
            image_size = im.size
    # The map object (Tiled JSON map format, orthogonal, fixed size).
    for key in ("type", "version", "tiledversion", "orientation", "renderorder", "width",
                "height", "tilewidth", "tileheight", "infinite", "layers", "tilesets",
                "nextlayerid", "nextobjectid", "compressionlevel"):
        assert key in doc, key
    assert doc["type"] == "map" and doc["orientation"] == "orthogonal"
    assert doc["renderorder"] in ("right-down", "right-up", "left-down", "left-up")
    assert (doc["width"], doc["height"]) == (cols, rows) and doc["infinite"] is False
    assert doc["tilewidth"] == doc["tileheight"] == tile_size
    _check_properties(doc["properties"])
    # The tileset: its image holds tilecount tiles, and every tile id it describes.
    for key in ("firstgid", "name", "tilewidth", "tileheight", "tilecount", "columns", "image",
                "imagewidth", "imageheight", "margin", "spacing"):
        assert key in tileset, key
    assert image_size == (tileset["imagewidth"], tileset["imageheight"])
    assert tileset["columns"] == tileset["imagewidth"] // tile_size
    assert tileset["tilecount"] == tileset["columns"] * (tileset["imageheight"] // tile_size)
    first, count = tileset["firstgid"], tileset["tilecount"]
    assert first >= 1
    for tile in tileset["tiles"]:
        assert 0 <= tile["id"] < count
        _check_properties(tile["properties"])
    # Layers: ids unique and below nextlayerid; tile layers decode to width*height gids,
    # each 0 (empty) or a tile of the tileset; the ground layer is the level's tiles.
    ids = [layer["id"] for layer in doc["layers"]]
    assert len(set(ids)) == len(ids) and max(ids) < doc["nextlayerid"]
    tile_layers = [layer for layer in doc["layers"] if layer["type"] == "tilelayer"]
    assert [layer["name"] for layer in tile_layers] == ["ground", "rivers"]
    for layer in tile_layers:
        assert (layer["width"], layer["height"]) == (cols, rows)
        assert layer["x"] == layer["y"] == 0 and 0 <= layer["opacity"] <= 1
        gids = _decode_layer(layer)
        assert gids.shape == (rows * cols,)
        assert ((gids == 0) | ((gids >= first) & (gids < first + count))).all()
    ground = _decode_layer(tile_layers[0]).reshape(rows, cols)
    assert np.array_equal(ground, to_tiles(level, rivers=False).astype(np.int64) + first)
    (objects_layer,) = [layer for layer in doc["layers"] if layer["type"] == "objectgroup"]
    objects = objects_layer["objects"]
    assert len(objects) == len(level.rivers)
    object_ids = [o["id"] for o in objects]
    assert len(set(object_ids)) == len(object_ids)
    assert all(0 < i < doc["nextobjectid"] for i in object_ids)
    width_px, height_px = cols * tile_size, rows * tile_size
    for obj, river in zip(objects, level.rivers):
        _check_properties(obj["properties"])
        points = obj["polyline"]
        assert len(points) == len(river.path) >= 2
        xs = np.array([obj["x"] + p["x"] for p in points])
        ys = np.array([obj["y"] + p["y"] for p in points])
        assert (xs >= 0).all() and (xs <= width_px).all()
        assert (ys >= 0).all() and (ys <= height_px).all()


def _positions_ok(coords, bbox):
    west, south, east, north = bbox
    for position in coords:
        assert len(position) == 2 and all(isinstance(v, float) for v in position)
        lon, lat = position
        assert -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0
        assert west <= lon <= east and south <= lat <= north


@PROPERTY
@given(request=level_requests(max_side=24),
       origin=st.tuples(st.floats(-80.0, 80.0), st.floats(-175.0, 175.0)))
def test_geojson_is_rfc_7946(request, origin):
    level = generate_level(**request)
    try:
        GeoFrame.of(level, geo_origin=origin)
    except ValueError as exc:
        # A map too wide for its latitude is refused, never wrapped round the globe.
        assert "geo_origin" in str(exc)
        assume(False)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rivers.geojson"
        save_geojson(level, path, geo_origin=origin)
        doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and isinstance(doc["features"], list)
    assert "crs" not in doc                                     # RFC 7946 4: WGS 84 only
    west, south, east, north = bbox = doc["bbox"]
    assert len(bbox) == 4 and west <= east and south <= north   # RFC 7946 5: no wrap here
    assert len(doc["features"]) == len(level.rivers)
    for feature, river in zip(doc["features"], level.rivers):
        assert feature["type"] == "Feature"
        assert isinstance(feature.get("id", 0), (str, int, float))
        assert feature["properties"] is None or isinstance(feature["properties"], dict)
        geometry = feature["geometry"]
        assert geometry["type"] == "LineString"
        assert len(geometry["coordinates"]) == len(river.path) >= 2   # RFC 7946 3.1.4
        _positions_ok(geometry["coordinates"], bbox)


@PROPERTY
@given(request=level_requests(max_side=24),
       origin=st.tuples(st.floats(-60.0, 60.0), st.floats(-170.0, 170.0)))
def test_geotiff_reads_back_equal_to_the_heights(request, origin):
    level = generate_level(**request)
    assume(_fits(level, origin))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "terrain.tif"
        save_geotiff(level, path, geo_origin=origin)
        with Image.open(path) as im:
            back = np.asarray(im)
            tags = dict(im.tag_v2)
    assert back.dtype == np.float32 and back.tobytes() == level.height.tobytes()
    west, _, _, north = GeoFrame.of(level, geo_origin=origin).bounds
    assert tags[33922][3:5] == pytest.approx((west, north), abs=1e-12)


def _fits(level, origin) -> bool:
    try:
        GeoFrame.of(level, geo_origin=origin)
    except ValueError:
        return False
    return True


# -- noise -----------------------------------------------------------------------------------
@st.composite
def fbm_settings(draw):
    octaves = draw(st.integers(1, 6))
    lacunarity = draw(st.floats(1.0, 3.0))
    # The finest octave's lattice cell must stay >= 1/16 of a cell (MAX_LATTICE_PER_CELL);
    # the margin keeps scale / lacunarity**(octaves - 1) there after rounding.
    finest = draw(st.floats(1.001 / 16.0, 8.0))
    warp = draw(st.sampled_from([0.0, 0.0, 3.5, 40.0]))
    return dict(scale=finest * lacunarity ** (octaves - 1), octaves=octaves,
                lacunarity=lacunarity, persistence=draw(st.floats(0.05, 1.0)),
                kind=draw(st.sampled_from(list(Fractal))), warp=warp,
                # the warp field has the same octaves, so the same limit
                warp_scale=draw(st.none() | st.floats(1.001 / 16.0, 8.0).map(
                    lambda f: f * lacunarity ** (octaves - 1))),
                seed=draw(st.integers(SEED_MIN, SEED_MAX)),
                period=draw(st.none() | st.tuples(st.integers(1, 64), st.integers(1, 64))))


@PROPERTY
@given(settings_=fbm_settings(),
       # fbm takes origins up to 2**52, where float64 still holds every whole cell.
       origin=st.tuples(st.integers(-2 ** 52, 2 ** 52 - 64), st.integers(-2 ** 52, 2 ** 52 - 64)),
       big=st.tuples(st.integers(1, 24), st.integers(1, 24)), data=st.data())
def test_fbm_chunk_equals_crop(settings_, origin, big, data):
    r0 = data.draw(st.integers(0, big[0] - 1))
    c0 = data.draw(st.integers(0, big[1] - 1))
    h = data.draw(st.integers(1, big[0] - r0))
    w = data.draw(st.integers(1, big[1] - c0))
    whole = fbm(big, origin=origin, **settings_)
    chunk = fbm((h, w), origin=(origin[0] + r0, origin[1] + c0), **settings_)
    assert chunk.dtype == np.float32
    assert chunk.tobytes() == whole[r0:r0 + h, c0:c0 + w].tobytes()
    assert np.isfinite(whole).all() and np.abs(whole).max() <= 1.0


# -- the procgen command ---------------------------------------------------------------------
def _text(strategy):
    return strategy.map(str)


_SIZES = st.integers(-2, 70).map(str) | st.tuples(st.integers(-1, 70), st.integers(-1, 70)).map(
    lambda wh: f"{wh[0]}x{wh[1]}")
_OUTPUTS = ["m.png", "h.png", "m.PNG", "map.jpg", "l.npz", "m.json", "m.tmj", "r.geojson",
            "r.json", "t.tif", "t.tiff", "h.raw", "h.r16", "out/m.png", "/no/such/folder/m.png",
            "nul\x00.png", "\u00fc.png", "\udcff.png", ".png", "a\nb.png"]
# What each option is given: mostly values of its own kind, in and out of range, so that
# requests get past argparse into the checks, generation and export.
OPTION_VALUES = {
    "--seed": _text(st.integers(SEED_MIN - 2, SEED_MAX + 2)),
    "--size": _SIZES,
    "--preset": st.sampled_from([*PRESETS, "moon", "Continent"]),
    "--rivers": st.sampled_from([*GENERATORS, "lava", "learned:flow", "learned:", "learned:../x",
                                 "learned:NoSuch"]),
    "--cell-size": _text(st.floats(1e-3, 2e6) | st.floats(-10.0, 10.0)),
    "--sea-level": _text(st.floats(-1.5, 1.5)),
    "--river-count": _text(st.integers(-2, 40)),
    "--river-threshold": _text(st.floats(-1.0, 1e4)),
    "-o": st.sampled_from(_OUTPUTS),
    "--output": st.sampled_from(_OUTPUTS),
    "--heightmap": st.sampled_from(_OUTPUTS),
    "--level": st.sampled_from(_OUTPUTS),
    "--heightmap-size": _text(st.integers(-1, 70)),
    "--engine": st.sampled_from(["unity", "unreal", "godot", "Unity"]),
    "--sea-floor": _text(st.floats(-1e4, 10.0)),
    "--format": st.sampled_from(["tiled", "geojson", "geotiff", "heightmap16", "raw16", "obj"]),
    "--tile-size": _text(st.integers(-1, 40)),
    "--layer-format": st.sampled_from(["zlib", "gzip", "csv", "base64"]),
    "--geo-origin": st.tuples(st.floats(-100.0, 100.0), st.floats(-200.0, 200.0)).map(
        lambda ll: f"{ll[0]},{ll[1]}"),
    "--splat": st.sampled_from(["none", "grey", "rgba", "cmyk"]),
}
MAP_OPTIONS = ["--seed", "--size", "--preset", "--rivers", "--cell-size", "--sea-level",
               "--river-count", "--river-threshold", "-o", "--output", "--no-shade",
               "--heightmap", "--heightmap-size", "--engine", "--sea-floor", "--level",
               "--max-cells", "-q", "--quiet", "--help"]
EXPORT_OPTIONS = MAP_OPTIONS + ["--format", "--tile-size", "--layer-format", "--geo-origin",
                                "--splat"]
NOT_OPTIONS = ["--nope", "-x", "--", "-", "--size=", "--seed=1", "--si", "--s"]
_EXPORT_TARGETS = {"tiled": "m.tmj", "geojson": "r.geojson", "geotiff": "t.tif",
                   "heightmap16": "h.png", "raw16": "h.r16"}

# Anything a user might type or mistype, for any option: numbers of every kind, words,
# sizes, paths, unicode and control text.
TOKENS = st.sampled_from([
    "0", "1", "2", "3", "7", "16", "33", "48", "64", "65", "-1", "-7", "0.5", "-0.5", "1.5",
    "1e3", "-1e3", "1e308", "1e-308", "1e400", "-0", "-0.0", "nan", "NaN", "inf", "-inf",
    str(2 ** 31), str(2 ** 63), str(2 ** 64), str(-2 ** 63 - 1), str(10 ** 30), "0x10",
    "1_000", "", " ", "ten", "64x32", "32x64", "8x8", "0x8", "8x0", "-8x8", "3x4x5", "x",
    "64X16", "１６", "٤٨", "continent", "moon", "flow", "walker", "none", "learned:flow",
    "unity", "godot", "tiled", "raw16", "obj", "csv", "grey", "52,5", "95,1", "north",
    "nan,nan", "89.99,0", *_OUTPUTS, "a\nb", "\u2028", "\t", "\u202e", "🙂", "-o", "--size",
    "--seed"])


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(["map"] * 5 + ["export"] * 5
                                   + ["nope", "", "--help", "-h", "MAP"]))
    options = EXPORT_OPTIONS if command == "export" else MAP_OPTIONS
    argv = [command] if command else []
    # Mostly start from a request that works, so that the drawn options (argparse keeps the
    # last of each) reach generation and export instead of all stopping at the default size.
    if draw(st.integers(0, 3)) and command in ("map", "export"):
        argv += ["--size", draw(st.sampled_from(["16", "24x8", "1"]))]
        if command == "export":
            fmt, out = draw(st.sampled_from(list(_EXPORT_TARGETS.items())))
            argv += ["--format", fmt, "-o", out]
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.integers(0, 19))
        if kind < 14:                                 # an option and a value of its kind
            option = draw(st.sampled_from([o for o in options if o in OPTION_VALUES]))
            argv += [option, draw(OPTION_VALUES[option])]
        elif kind < 16:                               # an option and any value
            argv += [draw(st.sampled_from(options)), draw(TOKENS)]
        elif kind < 18:                               # an option alone
            argv.append(draw(st.sampled_from(options + NOT_OPTIONS)))
        else:                                         # a stray value
            argv.append(draw(TOKENS))
    # Cells under about 1e-18 m overflow the hillshade and carving with RuntimeWarnings
    # (reported; generate_level's range, not the command's): keep to 1 mm and up.
    for option, value in zip(argv, argv[1:]):
        if option == "--cell-size":
            with contextlib.suppress(ValueError):
                assume(not 0.0 < float(value) < 1e-3)
    # Small maps only, so that the requests that succeed take milliseconds: argparse keeps
    # the last --max-cells (a drawn one is fuzzed by the cell cap's own test below).
    if command in ("map", "export"):
        argv += ["--max-cells", "4096"]
    return argv


def _run(argv):
    """main(argv) in this process: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exc:     # argparse: --help (0) and its own errors (2)
            status = exc.code
    return status, out.getvalue(), err.getvalue()


def _assert_one_line_or_success(argv, status, out, err):
    assert "Traceback" not in out + err, (argv, err)
    assert status in (0, 2), (argv, status, err)
    if status == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and err.endswith("\n"), (argv, err)
        assert lines[0].startswith("procgen: error: ") and len(lines[0]) > 16, (argv, err)
        # It names what was wrong: an option (or argparse's own words for the command line),
        # never only Python's ("embedded null byte").
        assert re.match(r"procgen: error: (argument |--|the following arguments are required"
                        r"|unrecognized arguments|ambiguous option)", lines[0]), (argv, err)
    else:
        from procgen.cli import COLD_START_NOTICE
        assert err in ("", COLD_START_NOTICE + "\n"), (argv, err)


@contextlib.contextmanager
def _in_empty_folder():
    """Run where relative paths land in a fresh folder that is removed afterwards."""
    before = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            yield Path(folder)
        finally:
            os.chdir(before)


@settings(PROPERTY, max_examples=1000)
@given(argv=command_lines())
def test_cli_fuzz_exit_0_or_one_line_and_status_2(argv):
    with _in_empty_folder() as folder:
        status, out, err = _run(argv)
        event(f"exit {status}")     # pytest --hypothesis-show-statistics: the mix of outcomes
        _assert_one_line_or_success(argv, status, out, err)
        if status == 2 and "--help" not in argv and "-h" not in argv:
            # Refused before any work: nothing written, not even a temporary file.
            assert list(folder.iterdir()) == [], (argv, err)


@settings(PROPERTY, max_examples=60)
@given(command=st.sampled_from(["map", "export"]),
       size=st.sampled_from(["1", "2", "8x1", "16", "0", "-4", "64x64", "100", "2x3x4"]),
       max_cells=st.sampled_from(["1", "2", "64", "256", "4096", "0", "-1", "", "nan", "1e3",
                                  str(2 ** 64), str(10 ** 40)]))
def test_cli_fuzz_cell_cap(command, size, max_cells):
    argv = [command, "--size", size, "--max-cells", max_cells, "-q"]
    if command == "export":
        argv += ["--format", "tiled", "-o", "m.json"]
    with _in_empty_folder():
        status, out, err = _run(argv)
    _assert_one_line_or_success(argv, status, out, err)
    if status == 0:
        rows, cols = (int(v) for v in (size.split("x") * 2)[:2])
        assert 1 <= rows * cols <= int(max_cells)
