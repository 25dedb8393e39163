"""Hostile values and files (issue 14, items 4-6): runaway requests fail fast, names cannot
leave their folder, one seed rule, and Level.load checks everything before reading data.

Every refusal names the bad value and what is allowed; the ones the issue timed must come in
well under a second, before any array is allocated.
"""

import io
import json
import struct
import sys
import time
import types
import zipfile

import numpy as np
import pytest

from procgen import Level, generate_level, noise
from procgen.hydrology import drain
from procgen.noise import MAX_LATTICE_PER_CELL, fbm, fbm_points
from procgen.river import River
from procgen.rivers import get_generator
from procgen.terrain import heightmap, preset


def _fast(call, exc, match, *, limit=1.0):
    """``call()`` raises ``exc`` matching ``match`` within ``limit`` seconds."""
    t0 = time.perf_counter()
    with pytest.raises(exc, match=match):
        call()
    elapsed = time.perf_counter() - t0
    assert elapsed < limit, f"took {elapsed:.2f} s"


# -- 4. runaway requests -------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1e-4, 1e-10, 1e-300])
def test_tiny_scale_fails_fast_naming_scale(scale):
    _fast(lambda: fbm(256, scale=scale), ValueError,
          rf"scale={scale:g} is too fine: .* over the limit of 16; scale must be at least 2 here")


@pytest.mark.parametrize("kwargs, match", [
    # Legal octaves, default scale: 2**29 / 256 lattice cells per grid cell.
    (dict(scale=256.0, octaves=30), r"scale must be at least 3\.35544e\+07 here "
                                    r"\(or at most octaves=13\)"),
    (dict(scale=256.0, octaves=30, lacunarity=8.0), "finest octave has 6.04e"),
    (dict(scale=1e5, warp=5.0, warp_scale=1e-3), r"warp_scale=0\.001 is too fine"),
])
def test_too_many_octaves_or_fine_warp_fail_fast(kwargs, match):
    _fast(lambda: fbm(64, **kwargs), ValueError, match)


def test_fbm_points_has_the_same_limit():
    with pytest.raises(ValueError, match=r"scale=0\.01 is too fine"):
        fbm_points(0.0, 0.0, scale=0.01, octaves=1)
    assert np.isfinite(fbm_points(0.0, 0.0, scale=1.0 / MAX_LATTICE_PER_CELL, octaves=1))


def test_the_finest_legal_lattice_is_drawn():
    # 16 lattice cells per grid cell is allowed, one step past it is not.
    assert fbm((4, 4), scale=2.0, octaves=6).shape == (4, 4)
    with pytest.raises(ValueError, match=r"or at most octaves=6"):
        fbm((4, 4), scale=2.0, octaves=7)


def test_wide_strips_are_drawn_in_pieces_with_identical_values(monkeypatch):
    kwargs = dict(scale=3.0, octaves=4, seed=11, origin=(-7, 123), kind="ridged")
    whole = fbm((9, 700), **kwargs)
    periodic = fbm((9, 700), period=(9, 350), warp=2.0, **kwargs)
    calls = []
    real = noise._nk.fractal_grid
    monkeypatch.setattr(noise._nk, "fractal_grid", lambda *a: calls.append(a[3]) or real(*a))
    monkeypatch.setattr(noise, "_TABLE_ENTRIES", 1000)
    assert np.array_equal(fbm((9, 700), **kwargs), whole)
    assert len(calls) > 5 and sum(calls) == 700 and max(calls) < 700
    assert np.array_equal(fbm((9, 700), period=(9, 350), warp=2.0, **kwargs), periodic)


def test_terrain_names_the_config_field_in_metres():
    from dataclasses import replace
    from procgen.noise import NoiseConfig
    tiny = replace(preset("continent"), base=NoiseConfig(scale=1.0))
    _fast(lambda: heightmap(64, config=tiny, cell_size=500.0, seed=1), ValueError,
          r"config\.base\.scale must be at least 31\.25 m at 500 m per cell .* got 1 m")
    zoomed_out = preset("continent").fixed_at(500.0)
    with pytest.raises(ValueError, match=r"config\.mountains\.scale must be at least 62500 m"):
        heightmap(8, config=zoomed_out, cell_size=1e6, seed=1)
    subnormal = replace(preset("continent"), reference_cell_size=5e-324)
    with pytest.raises(ValueError, match=r"config\.base\.scale must be a finite number of cells"):
        heightmap(8, config=subnormal, cell_size=500.0, seed=1)


def test_absurd_config_values_do_not_overflow():
    from procgen.hydrology import HydrologyConfig
    from procgen.rivers import RiversConfig
    h = heightmap(24, config=preset("islands"), cell_size=2000.0, seed=3)
    assert drain(h, cell_size=2000.0, config=HydrologyConfig(lake_max_area_km2=1e308)).lakes.shape
    with pytest.raises(ValueError, match=r"cell_size must be in \[0\.001, 1e\+06\], got 1e-300"):
        drain(h, cell_size=1e-300)      # below 1 mm squared areas underflow: refused
    cfg = RiversConfig(min_length_km=1e308)
    assert cfg.min_length_cells(500.0) == 2**62
    assert RiversConfig(reference_cell_size=5e-324).min_area_cells(500.0) == float("inf")


# -- 5. names and values -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../../../../elsewhere/ok", "/abs/path", "flow.pt", "Flow",
                                  "a-b", "", "x" * 65, "flow\n", "fl ow", "./flow"])
def test_learned_names_are_plain(name, monkeypatch):
    # Checked before torch or the learned layer is imported: poison both to prove it.
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ValueError, match=r"rivers='learned:.*': the model name must be a plain "
                                         r"name: a lower-case letter"):
        get_generator(f"learned:{name}")


def test_a_plain_learned_name_reaches_the_learned_layer(monkeypatch):
    made = []

    class FakeLearned:
        def __init__(self, name):
            made.append(name)
            self.name = f"learned:{name}"

        def generate(self, drainage, *, rng, config):
            return []

    monkeypatch.setitem(sys.modules, "learned.placement",
                        types.SimpleNamespace(LearnedRivers=FakeLearned,
                                              river_generator=FakeLearned))
    assert get_generator("learned:flow_v2").name == "learned:flow_v2" and made == ["flow_v2"]


def test_one_seed_rule_everywhere():
    cfg = preset("islands")
    for lo, hi in ((-1, 2**64 - 1), (-2**63, 2**63)):
        assert np.array_equal(fbm(16, scale=8.0, seed=lo), fbm(16, scale=8.0, seed=hi))
        assert np.array_equal(heightmap(16, config=cfg, cell_size=2000.0, seed=lo),
                              heightmap(16, config=cfg, cell_size=2000.0, seed=hi))
    level = generate_level(seed=-1, shape=8, cell_size=5000.0, rivers="none")
    assert level.seed == 2**64 - 1
    assert np.array_equal(level.height, generate_level(seed=2**64 - 1, shape=8, cell_size=5000.0,
                                                       rivers="none").height)
    rule = r"seed must be in -2\*\*63\.\.2\*\*64-1 \(negative seeds wrap modulo 2\*\*64\)"
    for call in (lambda s: fbm(8, scale=4.0, seed=s),
                 lambda s: heightmap(8, config=cfg, cell_size=2000.0, seed=s),
                 lambda s: generate_level(seed=s, shape=8)):
        for bad in (2**64, -2**63 - 1):
            with pytest.raises(ValueError, match=rule):
                call(bad)
        with pytest.raises(TypeError, match=r"seed must be an integer in -2\*\*63\.\.2\*\*64-1"):
            call("7")


@pytest.mark.parametrize("max_cells, error, match", [
    ("x", TypeError, r"max_cells must be None \(no cap\) or an integer >= 1, got 'x'"),
    (-1, ValueError, r"max_cells must be None \(no cap\) or an integer >= 1, got -1"),
    (0, ValueError, "got 0"),
    (1.5, TypeError, "got 1.5"),
    (True, TypeError, "got True"),
])
def test_max_cells_is_checked(max_cells, error, match):
    for call in (lambda: fbm(8, scale=4.0, max_cells=max_cells),
                 lambda: heightmap(8, config=preset("islands"), cell_size=2000.0, seed=1,
                                   max_cells=max_cells),
                 lambda: generate_level(seed=1, shape=8, max_cells=max_cells)):
        with pytest.raises(error, match=match):
            call()


@pytest.mark.parametrize("shape", ["64", b"64", "6x4", ("8", 8)])
def test_shape_strings_are_refused_whole(shape):
    with pytest.raises((ValueError, TypeError), match=r"shape(\[0\])? must be an int"):
        fbm(shape, scale=4.0)
    if isinstance(shape, (str, bytes)):
        with pytest.raises(ValueError, match=r"shape must be an int or a \(rows, cols\) pair of "
                                             rf"ints, got {shape!r}"):
            generate_level(seed=1, shape=shape)


def test_flow_path_and_river_records_check_their_values():
    d = drain(heightmap(16, config=preset("islands"), cell_size=2000.0, seed=1), cell_size=2000.0)
    with pytest.raises(TypeError, match="row must be an integer, got 'x'"):
        d.flow_path("x", 0)
    with pytest.raises(ValueError, match=r"col must be in 0\.\.15, got 16"):
        d.flow_path(0, 16)
    with pytest.raises(ValueError, match="max_cells must be None"):
        d.flow_path(0, 0, max_cells=0)
    assert len(d.flow_path(0, 0, max_cells=10**12)) >= 1
    path, width = np.zeros((2, 2)), np.ones(2)
    with pytest.raises(TypeError, match="discharge must be a real number, got 'x'"):
        River(path=path, width=width, generator="flow", discharge="x")
    with pytest.raises(ValueError, match=r"discharge must be in \[0, inf\], got -1"):
        River(path=path, width=width, generator="flow", discharge=-1.0)
    with pytest.raises(TypeError, match="order must be an integer, got 1.5"):
        River(path=path, width=width, generator="flow", order=1.5)


# -- 6. Level.load trusts nothing ----------------------------------------------------------------
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("levels") / "ok.npz"
    lv = generate_level(seed=1, shape=(8, 12), cell_size=5000.0, preset="islands",
                        rivers="none")
    rivers = [River(path=np.array([[1.0, 2.0], [3.5, 4.25], [7.0, 9.0]]),
                    width=np.array([1.0, 2.0, 3.5]), generator="walker", discharge=12.5),
              River(path=np.array([[0.0, 0.0], [1.0, 1.0]]), width=np.array([0.5, 0.5]),
                    generator="flow", order=2)]
    Level(config=lv.config, seed=lv.seed, cell_size=lv.cell_size, height=lv.height,
          water=lv.water, lakes=lv.lakes, rivers=rivers).save(path)
    return path


def _arrays(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _header(arrays):
    return json.loads(arrays["header"].tobytes())


def _write(path, arrays, header=None):
    if header is not None:
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(path, **arrays)
    return path


def _with_header(saved, tmp_path, change):
    arrays = _arrays(saved)
    header = _header(arrays)
    change(header)
    return _write(tmp_path / "bad.npz", arrays, header)


def test_the_saved_level_loads(saved):
    assert Level.load(saved).shape == (8, 12)


@pytest.mark.parametrize("change, match", [
    (lambda h: [h.pop(k) for k in ("config", "seed", "cell_size")],
     r"header fields: missing 'seed', 'cell_size', 'config'; a level header has exactly "
     r"'format', 'version', 'seed', 'cell_size', 'shape', 'config', 'rivers'"),
    (lambda h: h.update(colour="red"), r"header fields: unknown 'colour'"),
    (lambda h: h.update(seed="abc"),
     r"header field 'seed' must be an integer in -2\*\*63\.\.2\*\*64-1, got 'abc'"),
    (lambda h: h.update(seed=2**64), r"header field 'seed' .* got 18446744073709551616"),
    (lambda h: h.update(seed=1.0), r"header field 'seed' .* got 1\.0"),
    (lambda h: h.update(cell_size=-1),
     r"header field 'cell_size' must be a number of metres in \[0\.001, 1e\+06\], got -1"),
    (lambda h: h.update(cell_size=float("nan")), r"header field 'cell_size' .* got nan"),
    (lambda h: h.update(cell_size="5000"), r"header field 'cell_size' .* got '5000'"),
    (lambda h: h.update(version=True), r"has format version True; this procgen reads "
                                       r"versions 1\.\.2"),
    (lambda h: h.update(version="1"), r"has format version '1'"),
    (lambda h: h.update(shape=[8, "12"]),
     r"header field 'shape' must be \[rows, cols\], two integers >= 1, got \[8, '12'\]"),
    (lambda h: h.update(shape=[8, 12, 1]), r"header field 'shape' must be \[rows, cols\]"),
    (lambda h: h.update(shape=[12, 8]), r"height must have shape \(12, 8\) to match the "
                                        r"header, got \(8, 12\)"),
    (lambda h: h.update(rivers="none"),
     r"header field 'rivers' must be a list of river records, got 'none'"),
    (lambda h: h["rivers"][0].update(colour="red"),
     r"header field 'rivers\[0\]' must be a record with 'generator' and optionally "
     r"'discharge' and 'order', nothing else"),
    (lambda h: h["rivers"][0].update(order=-1),
     r"header field 'rivers\[0\]\.order' must be an integer in 0\.\.1000, got -1"),
    (lambda h: h["rivers"][0].update(discharge=float("inf")),
     r"header field 'rivers\[0\]\.discharge' must be a finite number >= 0, got inf"),
    (lambda h: h["rivers"][0].update(generator=""),
     r"header field 'rivers\[0\]\.generator' must be a name of 1 to 256 characters"),
    (lambda h: h["rivers"].pop(), r"river_offsets must have shape \(\d+,\) to match the header"),
    (lambda h: h.update(config=[]),
     r"header field 'config' is not a valid LevelConfig: config must be a mapping, got list"),
    (lambda h: h["config"]["terrain"]["base"].update(octaves=99),
     r"header field 'config' is not a valid LevelConfig: octaves must be in 1\.\.30, got 99"),
    (lambda h: h.update(format="other"), r"is not a procgen-level file"),
])
def test_bad_header_fields_are_named(saved, tmp_path, change, match):
    bad = _with_header(saved, tmp_path, change)
    _fast(lambda: Level.load(bad), ValueError, match)


@pytest.mark.parametrize("name, value, match", [
    ("height", np.full((8, 12), np.nan, np.float32),
     r"height holds 96 NaN or infinite values; heights must be finite metres"),
    ("height", np.zeros((8, 12), np.float64),
     r"height must be a C-ordered float32 array, got float64"),
    ("height", np.asfortranarray(np.zeros((8, 12), np.float32)),
     r"height must be a C-ordered float32 array, got Fortran-ordered float32"),
    ("height", np.zeros((8, 12), ">f4"), r"height must be a C-ordered float32 array, got >f4"),
    ("height", np.array([object()] * 96, dtype=object).reshape(8, 12),
     r"height must be a C-ordered float32 array, got object"),
    ("lakes", np.full((8, 12), -3, np.int32), r"lakes must hold labels >= 0, got -3"),
    ("water", np.zeros((8, 12), np.uint8), r"water must be a C-ordered bool array, got uint8"),
    ("biomes", np.full((8, 12), 200, np.uint8),
     r"biomes array does not match the header: values must be Biome codes 0\.\.\d+, got 200"),
    ("river_offsets", None, r"river_offsets must rise from 0 to \d+ by at least 2 per river"),
    ("river_path", np.zeros((3, 3)), r"river_path must have shape \(3, 2\) to match the "
                                     r"header, got \(3, 3\)"),
    ("river_path", np.zeros(10), r"river_path must have shape \(N, 2\) to match"),
    ("river_width", np.zeros(1, np.float32), r"river_width must have shape \(\d+,\) to match"),
    ("header", np.zeros((2, 2), np.uint8), r"header must be a 1-D uint8 array, got shape"),
    ("header", np.frombuffer(b"[" * 100_000, np.uint8), r"has a damaged header: not JSON"),
    ("header", np.frombuffer(b"\xff\xfe", np.uint8), r"has a damaged header: not JSON"),
])
def test_bad_arrays_are_named(saved, tmp_path, name, value, match):
    arrays = _arrays(saved)
    if value is None:                   # reversed offsets: a river with negative length
        value = arrays[name][::-1].copy()
    arrays[name] = value
    bad = _write(tmp_path / "bad.npz", arrays)
    _fast(lambda: Level.load(bad), ValueError, match)


def test_a_river_with_bad_vertices_is_named(saved, tmp_path):
    arrays = _arrays(saved)
    arrays["river_width"] = np.full_like(arrays["river_width"], -1.0)
    bad = _write(tmp_path / "bad.npz", arrays)
    with pytest.raises(ValueError, match=r"river 0: width must be non-negative"):
        Level.load(bad)


@pytest.mark.parametrize("content", [
    b"",
    b"not a zip at all",
    np.random.default_rng(1).bytes(5000),
    b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }" + b" " * 60,
])
def test_non_zip_files_are_refused_as_such(tmp_path, content):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(content)
    _fast(lambda: Level.load(bad), ValueError,
          r"is not a readable level file: not a zip archive \(a level file is the \.npz that "
          r"Level\.save writes\)")


def test_an_npy_file_is_refused_as_not_a_zip(tmp_path):
    np.save(tmp_path / "level.npy", np.zeros(3))
    with pytest.raises(ValueError, match="not a zip archive"):
        Level.load(tmp_path / "level.npy")


def _npy_header(descr, shape):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue()


def test_an_unknown_huge_array_is_refused_unread(saved, tmp_path):
    # 40000x40000 float32 claimed by the .npy header alone: nothing is allocated or read.
    bad = tmp_path / "big.npz"
    bad.write_bytes(saved.read_bytes())
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr("big.npy", _npy_header("<f4", (40000, 40000)))
    _fast(lambda: Level.load(bad), ValueError,
          r"is not a level file: it holds 'big\.npy'; a level file holds one each of "
          r"header\.npy, height\.npy")


def test_a_huge_grid_is_refused_before_reading(saved, tmp_path):
    arrays = _arrays(saved)
    del arrays["height"]
    bad = _write(tmp_path / "big.npz", arrays)
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr("height.npy", _npy_header("<f4", (40000, 40000)))
    _fast(lambda: Level.load(bad), ValueError,
          r"height has shape \(40000, 40000\), 1,600,000,000 values, over the cap of "
          r"67,108,864; pass max_cells=None \(or a larger cap\) to load it")
    # With the cap lifted, the directory still says the entry is too short for its shape.
    _fast(lambda: Level.load(bad, max_cells=None), ValueError,
          r"height is damaged: its header says shape \(40000, 40000\) \(6,400,000,000 bytes\) "
          r"but the entry holds 0")


def test_the_cap_is_the_generation_cap(saved):
    with pytest.raises(ValueError, match=r"height has shape \(8, 12\), 96 values, over the cap "
                                         r"of 95"):
        Level.load(saved, max_cells=95)
    assert Level.load(saved, max_cells=96).shape == (8, 12)
    with pytest.raises(ValueError, match=r"max_cells must be None \(no cap\) or an integer"):
        Level.load(saved, max_cells=-1)


def test_many_entries_are_refused_before_zipfile_parses_them(tmp_path):
    bad = tmp_path / "many.npz"
    with zipfile.ZipFile(bad, "w") as zf:
        for k in range(3000):
            zf.writestr(f"e{k}.npy", b"")
    _fast(lambda: Level.load(bad), ValueError,
          r"its zip directory lists 3,000 entries in [\d,]+ bytes; a level file has at most 8")


def test_zip64_files_load_and_their_end_record_is_checked(saved, tmp_path, monkeypatch):
    # Force zip64 end records (as in files over 4 GiB) on a small level.
    lv = Level.load(saved)
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)
    good = lv.save(tmp_path / "z64.npz")
    monkeypatch.undo()
    data = good.read_bytes()
    assert b"PK\x06\x06" in data
    assert np.array_equal(Level.load(good).height, lv.height)
    at = data.rfind(b"PK\x06\x06")
    for offset, value, match in ((32, 10**6, "lists 1,000,000 entries"),
                                 (40, 10**8, "in 100,000,000 bytes")):
        forged = bytearray(data)
        forged[at + offset:at + offset + 8] = struct.pack("<Q", value)
        bad = tmp_path / "forged.npz"
        bad.write_bytes(bytes(forged))
        _fast(lambda: Level.load(bad), ValueError, match)


def test_damaged_data_is_reported_as_damaged(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    at = data.find(b"height.npy") + 200     # inside the stored height data
    data[at] ^= 0xFF
    bad = tmp_path / "flipped.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"is not a readable level file: damaged \(Bad CRC-32"):
        Level.load(bad)


def test_other_compression_and_duplicates_are_refused(saved, tmp_path):
    arrays = _arrays(saved)
    bz = tmp_path / "bz.npz"
    with zipfile.ZipFile(bz, "w", compression=zipfile.ZIP_BZIP2) as zf:
        for name, value in arrays.items():
            buf = io.BytesIO()
            np.save(buf, value)
            zf.writestr(f"{name}.npy", buf.getvalue())
    with pytest.raises(ValueError, match=r"header uses zip compression method 12; allowed: "
                                         r"stored \(0\) or deflated \(8\)"):
        Level.load(bz)
    dup = tmp_path / "dup.npz"
    dup.write_bytes(saved.read_bytes())
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(dup, "a") as zf:
        buf = io.BytesIO()
        np.save(buf, arrays["height"])
        zf.writestr("height.npy", buf.getvalue())
    with pytest.raises(ValueError, match=r"it holds 'height\.npy' twice"):
        Level.load(dup)


def test_bad_npy_headers_are_named(saved, tmp_path):
    arrays = _arrays(saved)
    del arrays["lakes"]
    bad = _write(tmp_path / "bad.npz", arrays)
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr("lakes.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': __import__('os')}\n")
    with pytest.raises(ValueError, match=r"lakes is not a readable array"):
        Level.load(bad)


def test_path_must_be_a_path(saved):
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got int"):
        Level.load(3)
    with pytest.raises(FileNotFoundError, match="no level file"):
        Level.load(saved.parent)
