"""Level: generation pipeline, per-stage streams, the level file."""

import json
import zipfile

import numpy as np
import pytest

import procgen
from procgen import Level, LevelConfig, River, generate_level
from procgen.level import FORMAT_VERSION, STAGES, stage_seed
from procgen.erosion import erode
from procgen.hydrology import drain
from procgen.terrain import heightmap, preset


def test_generate_level_fields():
    lv = generate_level(seed=5, shape=(48, 64), cell_size=4000.0, preset="islands",
                        rivers="none")
    assert isinstance(lv, Level)
    assert lv.shape == (48, 64) and lv.height.dtype == np.float32
    assert lv.water.dtype == np.bool_ and lv.lakes.dtype == np.int32
    assert np.array_equal(lv.water, (lv.height <= 0) | (lv.lakes > 0))
    assert np.array_equal(lv.land, ~lv.water)
    assert lv.rivers == [] and lv.seed == 5 and lv.cell_size == 4000.0
    assert lv.config.terrain == preset("islands") and lv.config.rivers.generator == "none"


def test_same_seed_identical_arrays():
    a = generate_level(seed=123, shape=64, cell_size=4000.0)
    b = generate_level(seed=123, shape=64, cell_size=4000.0)
    assert np.array_equal(a.height, b.height) and np.array_equal(a.water, b.water)
    c = generate_level(seed=124, shape=64, cell_size=4000.0)
    assert not np.array_equal(a.height, c.height)


def test_terrain_uses_its_own_stream():
    # Without rivers the height is exactly the terrain stage's heightmap, eroded (erosion
    # draws nothing) and conditioned by the hydrology stage: later stages draw from other
    # children of the root SeedSequence.
    lv = generate_level(seed=77, shape=40, cell_size=6000.0, preset="lowlands", rivers="none")
    expect = erode(heightmap(40, config=preset("lowlands"), cell_size=6000.0,
                             seed=stage_seed(77, "terrain")), config=lv.config.erosion)
    assert lv.config.erosion.enabled
    assert np.array_equal(lv.height, drain(expect, cell_size=6000.0).height)
    seeds = {stage_seed(77, s) for s in STAGES}
    assert len(seeds) == len(STAGES)
    assert stage_seed(77, "terrain") == stage_seed(77, "terrain")


def test_preset_and_config_are_exclusive():
    with pytest.raises(ValueError, match="give preset or config, not both"):
        generate_level(seed=0, shape=8, preset="islands", config=LevelConfig())


@pytest.mark.parametrize("kwargs, match", [
    (dict(seed=2**64, shape=8), r"seed must be in -2\*\*63..2\*\*64-1 .*got 18446744073709551616"),
    (dict(seed=-2**63 - 1, shape=8), r"seed must be in -2\*\*63..2\*\*64-1"),
    (dict(seed=1.5, shape=8), "seed must be an integer"),
    (dict(seed=0, shape=0), r"shape\[0\] must be in 1..inf, got 0"),
    (dict(seed=0, shape=(10**6, 10**6)), "over the cap"),
    (dict(seed=0, shape=8, cell_size=float("nan")), "cell_size must be finite"),
    (dict(seed=0, shape=8, preset="moon"), "preset must be one of"),
    (dict(seed=0, shape=8, config="continent"), "config must be a LevelConfig"),
])
def test_bad_input(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        generate_level(**kwargs)


def _level_with_rivers():
    lv = generate_level(seed=9, shape=(30, 40), cell_size=5000.0, preset="continent")
    lv.rivers = [
        River(path=np.array([[1.0, 2.0], [3.5, 4.25], [9.0, 9.0]]), width=np.array([1, 2, 3.5]),
              generator="walker", discharge=12.5, order=2),
        River(path=np.array([[0.0, 0.0], [1.0, 1.0]]), width=np.array([0.5, 0.5]),
              generator="flow"),
    ]
    return lv


@pytest.mark.parametrize("compress", [False, True])
def test_save_load_round_trip_is_bit_identical(tmp_path, compress):
    lv = _level_with_rivers()
    path = tmp_path / "level.npz"
    lv.save(path, compress=compress)
    back = Level.load(path)
    assert back.height.tobytes() == lv.height.tobytes()
    assert back.water.tobytes() == lv.water.tobytes()
    assert back.config == lv.config and back.seed == lv.seed and back.cell_size == lv.cell_size
    assert len(back.rivers) == 2
    for a, b in zip(back.rivers, lv.rivers):
        assert a.path.tobytes() == b.path.tobytes() and a.width.tobytes() == b.width.tobytes()
        assert (a.generator, a.discharge, a.order) == (b.generator, b.discharge, b.order)
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left


def test_big_seed_round_trips(tmp_path):
    lv = generate_level(seed=2**64 - 1, shape=8, cell_size=5000.0)
    lv.save(tmp_path / "l.npz")
    assert Level.load(tmp_path / "l.npz").seed == 2**64 - 1


def _rewrite_header(src, dst, change):
    with np.load(src, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(arrays["header"].tobytes())
    change(header)
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(dst, **arrays)


def test_load_refuses_newer_versions_and_foreign_files(tmp_path):
    lv = generate_level(seed=1, shape=8, cell_size=5000.0)
    lv.save(tmp_path / "ok.npz")
    _rewrite_header(tmp_path / "ok.npz", tmp_path / "new.npz",
                    lambda h: h.update(version=FORMAT_VERSION + 1))
    with pytest.raises(ValueError, match="format version 3; this procgen reads versions 1..2"):
        Level.load(tmp_path / "new.npz")
    # River ids came with version 2: a version-1 file holding one is refused.
    lv2 = generate_level(seed=1, shape=8, cell_size=5000.0)
    lv2.rivers[:] = [River(path=[[0.0, 0.0], [1.0, 1.0]], width=[1.0, 1.0], generator="x",
                           id=5)]
    lv2.save(tmp_path / "ids.npz")
    assert [r.id for r in Level.load(tmp_path / "ids.npz").rivers] == [5]
    _rewrite_header(tmp_path / "ids.npz", tmp_path / "ids1.npz", lambda h: h.update(version=1))
    with pytest.raises(ValueError, match=r"rivers\[0\]"):
        Level.load(tmp_path / "ids1.npz")
    _rewrite_header(tmp_path / "ok.npz", tmp_path / "cfg.npz",
                    lambda h: h["config"]["terrain"].update(colour="red"))
    with pytest.raises(ValueError, match="unknown keys: colour"):
        Level.load(tmp_path / "cfg.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not a level file: missing"):
        Level.load(tmp_path / "other.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="not a readable level file"):
        Level.load(tmp_path / "junk.npz")
    with pytest.raises(FileNotFoundError, match="no level file"):
        Level.load(tmp_path / "missing.npz")


def test_load_never_unpickles(tmp_path):
    # An object array needs pickle; allow_pickle=False must refuse it.
    lv = generate_level(seed=1, shape=8, cell_size=5000.0)
    lv.save(tmp_path / "ok.npz")
    with np.load(tmp_path / "ok.npz") as data:
        arrays = {k: data[k] for k in data.files}
    arrays["height"] = np.array([object()], dtype=object)
    np.savez(tmp_path / "evil.npz", **arrays)
    with pytest.raises(ValueError):
        Level.load(tmp_path / "evil.npz")


def test_failed_save_leaves_nothing(tmp_path, monkeypatch):
    lv = generate_level(seed=1, shape=8, cell_size=5000.0)
    with pytest.raises(ValueError, match="does not exist"):
        lv.save(tmp_path / "missing" / "l.npz")

    def broken_savez(f, **arrays):
        f.write(b"PK half a zip")
        raise OSError("disk full")

    monkeypatch.setattr("procgen.level.np.savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        lv.save(tmp_path / "l.npz")
    assert list(tmp_path.iterdir()) == []


def test_saved_file_from_version_1_still_loads():
    # A level file written by format version 1, kept to catch format breaks.
    from pathlib import Path
    old = Path(__file__).parent / "data" / "level_v1.npz"
    lv = Level.load(old)
    assert lv.shape == (12, 16) and lv.seed == 42 and lv.cell_size == 8000.0
    assert isinstance(lv.config, LevelConfig) and lv.config.terrain.falloff.value == "edges"
    assert len(lv.rivers) == 1 and lv.rivers[0].generator == "walker"
    assert lv.rivers[0].path.shape == (3, 2)


def test_render_and_png(tmp_path):
    lv = generate_level(seed=2, shape=64, cell_size=4000.0)
    img = lv.render()
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    lv.save_png(tmp_path / "m.png")
    assert (tmp_path / "m.png").stat().st_size > 100


def test_river_record_checks():
    with pytest.raises(ValueError, match=r"path must have shape \(N, 2\)"):
        River(path=np.zeros((1, 2)), width=np.zeros(1), generator="x")
    with pytest.raises(ValueError, match=r"width must have shape \(2,\)"):
        River(path=np.zeros((2, 2)), width=np.zeros(3), generator="x")
    with pytest.raises(ValueError, match="generator must be a name of 1 to 256 characters"):
        River(path=np.zeros((2, 2)), width=np.zeros(2), generator="")


def test_version_attribute():
    assert isinstance(procgen.__version__, str)


# -- the biomes stage and the level file ---------------------------------------------------------
def test_biomes_are_saved_and_loaded(tmp_path):
    from procgen.biomes import BiomesConfig
    lv = generate_level(seed=4, shape=32, cell_size=4000.0, preset="islands")
    lv.save(tmp_path / "l.npz")
    back = Level.load(tmp_path / "l.npz")
    assert back.biomes.dtype == np.uint8 and back.biomes.tobytes() == lv.biomes.tobytes()
    assert back.config.biomes == lv.config.biomes == BiomesConfig()
    with np.load(tmp_path / "l.npz") as data:
        assert "biomes" in data.files


def test_level_file_without_biomes_still_loads_and_computes_them(tmp_path):
    from pathlib import Path
    from procgen.biomes import BiomesConfig, assign_biomes
    old = Level.load(Path(__file__).parent / "data" / "level_v1.npz")
    assert old.config.biomes == BiomesConfig()
    expect = assign_biomes(old.height, cell_size=old.cell_size, water=old.water, lakes=old.lakes,
                           rivers=old.rivers)
    assert old.biomes.dtype == np.uint8 and np.array_equal(old.biomes, expect)


def test_damaged_biomes_are_refused(tmp_path):
    lv = generate_level(seed=1, shape=8, cell_size=5000.0)
    lv.save(tmp_path / "ok.npz")
    with np.load(tmp_path / "ok.npz") as data:
        arrays = {k: data[k] for k in data.files}
    arrays["biomes"] = np.full((8, 8), 200, np.uint8)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="biomes array does not match the header"):
        Level.load(tmp_path / "bad.npz")
    with pytest.raises(ValueError, match=r"biomes must be a uint8 array of shape \(8, 8\)"):
        Level(config=lv.config, seed=1, cell_size=5000.0, height=lv.height, water=lv.water,
              lakes=lv.lakes, biomes=np.zeros((8, 8), np.int64))


def test_config_biomes_section_round_trips():
    from procgen.biomes import BiomesConfig
    cfg = LevelConfig(biomes=BiomesConfig(latitude_north=10.0, latitude_south=-10.0))
    assert LevelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(TypeError, match="biomes must be a BiomesConfig"):
        LevelConfig(biomes={"lapse_rate": 6.5})


def test_query_methods_are_thin_wrappers():
    lv = generate_level(seed=1, shape=32, cell_size=4000.0)
    from procgen import queries
    assert lv.height_at(3.2, 4.1) == queries.height_at(lv, 3.2, 4.1)
    assert lv.watersheds().count == queries.watersheds(lv).count
    assert np.array_equal(lv.walkable(), queries.walkable(lv))
    assert lv.biome_at(0, 0) == int(lv.biomes[0, 0])


# -- presets at every cell size ------------------------------------------------------------------
def _preset_grid():
    # Every preset x cell size x map size; the extreme cell sizes on 256-cell maps run by
    # default (about 2 s), the rest (about 6 s more, 2 cores) under the slow mark.
    from procgen.terrain import PRESETS
    for name in sorted(PRESETS):
        for cell_size in (100.0, 250.0, 500.0, 1000.0):
            for side in (256, 512):
                fast = side == 256 and cell_size in (100.0, 1000.0)
                yield pytest.param(name, cell_size, side, id=f"{name}-{cell_size:g}m-{side}",
                                   marks=[] if fast else [pytest.mark.slow])


@pytest.mark.parametrize("name, cell_size, side", list(_preset_grid()))
def test_every_preset_has_its_land_and_rivers_at_every_cell_size(name, cell_size, side):
    from .test_terrain import LAND_FRACTION
    lo, hi = LAND_FRACTION[name]
    for seed in (0, 1, 2):
        level = generate_level(seed=seed, shape=side, cell_size=cell_size, preset=name)
        land = float(np.mean(level.height > 0))
        assert lo <= land <= hi, f"seed {seed}: land fraction {land:.3f} outside [{lo}, {hi}]"
        assert len(level.rivers) >= 1, f"seed {seed}: no rivers"
        assert all(r.generator == "flow" for r in level.rivers)
        top = float(level.height.max())
        assert 100.0 < top < 9000.0, f"seed {seed}: highest point {top:.0f} m"


def test_presets_bring_their_river_thresholds():
    from procgen.level import PRESET_RIVERS
    from procgen.rivers import RiversConfig
    from procgen.terrain import PRESETS
    assert set(PRESET_RIVERS) == set(PRESETS)
    cfg = LevelConfig.from_preset("archipelago")
    assert cfg.rivers == PRESET_RIVERS["archipelago"] and cfg.terrain == preset("archipelago")
    assert cfg.rivers.min_area_cells(100.0) < RiversConfig().min_area_cells(100.0)
    mine = RiversConfig(min_area_km2=50.0, generator="walker")
    assert LevelConfig.from_preset("archipelago", rivers=mine).rivers is mine
    lv = generate_level(seed=1, shape=16, cell_size=5000.0, preset="islands", rivers="sine")
    assert lv.config.rivers.min_area_km2 == PRESET_RIVERS["islands"].min_area_km2
    assert lv.config.rivers.generator == "sine"


def test_files_from_before_cell_size_scaling_keep_absolute_lengths(tmp_path):
    from pathlib import Path
    old = Level.load(Path(__file__).parent / "data" / "level_v1.npz")
    assert old.config.terrain.reference_cell_size is None
    assert old.config.rivers.reference_cell_size is None
    lv = generate_level(seed=1, shape=8, cell_size=5000.0)
    lv.save(tmp_path / "new.npz")
    back = Level.load(tmp_path / "new.npz")
    assert back.config == lv.config and back.config.terrain.reference_cell_size == 500.0
