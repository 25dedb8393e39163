"""Biomes: temperature, moisture, the Whittaker table, the stage in the pipeline, drawing."""

import math
from dataclasses import replace

import numpy as np
import pytest

from procgen import Level, LevelConfig, River, generate_level
from procgen.biomes import (BIOME_COLORS, Biome, BiomesConfig, assign_biomes, classify,
                            latitudes, legend, moisture, temperature)
from procgen.render import render_biomes
from tests.naive import naive_classify


def test_latitudes_run_from_north_to_south():
    cfg = BiomesConfig(latitude_north=60.0, latitude_south=20.0)
    assert latitudes(5, config=cfg).tolist() == [60.0, 50.0, 40.0, 30.0, 20.0]
    assert latitudes(1, config=cfg).tolist() == [40.0]


def test_temperature_by_hand():
    cfg = BiomesConfig(latitude_north=60.0, latitude_south=0.0, equator_temperature=30.0,
                       pole_temperature=-10.0)
    h = np.array([[0.0, 2000.0], [-300.0, 1000.0]])
    t = temperature(h, config=cfg)
    # row 0 at 60 degrees: -10 + 40 * cos(60) = 10; row 1 at the equator: 30
    assert t[0, 0] == pytest.approx(10.0)
    assert t[0, 1] == pytest.approx(10.0 - 13.0)          # 6.5 K per km
    assert t[1, 0] == pytest.approx(30.0)                 # below sea level: sea-level value
    assert t[1, 1] == pytest.approx(23.5)
    assert temperature(h, config=replace(cfg, lapse_rate=0.0))[0, 1] == pytest.approx(10.0)


def test_moisture_by_hand():
    cfg = BiomesConfig(base_moisture=0.2, sea_moisture=0.5, sea_reach_km=1.0,
                       lake_moisture=0.0, river_moisture=0.8, river_reach_km=2.0,
                       river_half_discharge=4.0)
    sea = np.array([[True, False, False]])
    none = np.zeros((1, 3), bool)
    m = moisture(sea=sea, lakes=none, river_width=np.zeros((1, 3)), cell_size=1000.0,
                 config=cfg)
    expect = [1 - 0.8 * (1 - 0.5 * math.exp(-d)) for d in (0, 1, 2)]
    assert m[0] == pytest.approx(expect)
    # A river 8 m wide carries Q = (8 / 4)**2 = 4 m^3/s: strength 0.8 * 4 / (4 + 4) = 0.4.
    width = np.array([[0.0, 0.0, 8.0]])
    m = moisture(sea=none, lakes=none, river_width=width, cell_size=1000.0, config=cfg)
    expect = [1 - 0.8 * (1 - 0.4 * math.exp(-d / 2)) for d in (2, 1, 0)]
    assert m[0] == pytest.approx(expect)
    # Sources combine as independent chances and never pass 1.
    both = moisture(sea=sea, lakes=none, river_width=width, cell_size=1000.0, config=cfg)
    assert (both >= m).all() and (both <= 1).all()


def test_lakes_and_bigger_rivers_are_wetter():
    none = np.zeros((1, 5), bool)
    lake = none.copy(); lake[0, 0] = True
    m_lake = moisture(sea=none, lakes=lake, river_width=np.zeros((1, 5)), cell_size=500.0)
    assert np.all(np.diff(m_lake[0]) < 0)
    small = np.zeros((1, 5)); small[0, 0] = 4.0
    big = np.zeros((1, 5)); big[0, 0] = 40.0
    args = dict(sea=none, lakes=none, cell_size=500.0)
    assert (moisture(river_width=big, **args) > moisture(river_width=small, **args)).all()


# One (temperature, moisture, mask) case per class: every member is reachable.
CASES = {
    Biome.OCEAN: (15.0, 0.5, "sea"), Biome.LAKE: (15.0, 0.5, "lakes"),
    Biome.BEACH: (15.0, 0.5, "beach"), Biome.BARE_ROCK: (15.0, 0.5, "steep"),
    Biome.SNOW: (-9.0, 0.9, None), Biome.TUNDRA: (-5.0, 0.9, None),
    Biome.TAIGA: (0.0, 0.5, None), Biome.DESERT: (25.0, 0.1, None),
    Biome.GRASSLAND: (10.0, 0.3, None), Biome.SHRUBLAND: (10.0, 0.45, None),
    Biome.TEMPERATE_FOREST: (10.0, 0.6, None), Biome.RAINFOREST: (25.0, 0.9, None),
}


@pytest.mark.parametrize("biome", list(Biome))
def test_every_biome_is_reachable(biome):
    t, m, mask_name = CASES[biome]
    masks = {k: np.zeros((1, 1), bool) for k in ("sea", "lakes", "beach", "steep")}
    if mask_name:
        masks[mask_name][0, 0] = True
    out = classify(np.array([[t]]), np.array([[m]]), **masks)
    assert out.dtype == np.uint8 and Biome(int(out[0, 0])) is biome


def test_classify_matches_naive_table():
    rng = np.random.default_rng(0)
    shape = (40, 50)
    temp = rng.uniform(-15, 35, shape)
    temp[0, :12] = [-8, -2, 5, 20, -8.0001, -2.0001, 4.9999, 19.9999, 0, 0, 10, 25]
    moist = rng.uniform(0, 1, shape)
    moist[1, :8] = [0.2, 0.25, 0.3, 0.35, 0.5, 0.6, 0.8, 0.0]
    masks = [rng.random(shape) < p for p in (0.1, 0.05, 0.05, 0.05)]
    got = classify(temp, moist, sea=masks[0], lakes=masks[1], beach=masks[2], steep=masks[3])
    assert np.array_equal(got, naive_classify(temp, moist, *masks))


@pytest.mark.parametrize("biome", list(Biome))
def test_biomes_print_as_names_and_count_as_ints(biome):
    assert str(biome) == biome.name and f"{biome}" == biome.name
    assert f"{biome:>20}" == biome.name.rjust(20) and f"{biome!s:<3}" == biome.name
    assert f"{biome:d}" == str(biome.value) and f"{biome:03d}" == f"{biome.value:03d}"
    assert "%d" % biome == str(biome.value) and "%s" % biome == biome.name
    assert biome == biome.value and int(biome) + 1 == biome.value + 1
    assert Biome(biome.value) is biome and repr(biome) == f"<Biome.{biome.name}: {biome.value}>"
    assert np.array([biome], np.uint8)[0] == biome.value


def test_legend_and_colours():
    rows = legend()
    assert [r[0] for r in rows] == list(range(len(Biome))) and len(rows) == 12
    assert len({r[2] for r in rows}) == len(rows)           # distinct colours
    assert Biome.TEMPERATE_FOREST.label == "temperate_forest"
    assert Biome.SNOW.color == BIOME_COLORS[Biome.SNOW]


@pytest.mark.parametrize("kwargs, match", [
    (dict(latitude_north=10.0, latitude_south=20.0), "latitude_south must be <= latitude_north"),
    (dict(latitude_north=95.0), r"latitude_north must be in \[-90, 90\], got 95"),
    (dict(base_moisture=1.5), r"base_moisture must be in \[0, 1\], got 1.5"),
    (dict(sea_reach_km=0.0), r"sea_reach_km must be in \(0, inf\], got 0"),
    (dict(lapse_rate=float("nan")), "lapse_rate must be finite"),
])
def test_config_checks(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BiomesConfig(**kwargs)


def test_biomes_stage_in_generate_level():
    a = generate_level(seed=11, shape=64, cell_size=4000.0, preset="continent")
    b = generate_level(seed=11, shape=64, cell_size=4000.0, preset="continent")
    assert a.biomes.dtype == np.uint8 and a.biomes.shape == a.shape
    assert np.array_equal(a.biomes, b.biomes)
    sea = a.water & (a.lakes == 0)
    assert (a.biomes[sea] == Biome.OCEAN).all()
    assert (a.biomes[a.lakes > 0] == Biome.LAKE).all()
    assert not np.isin(a.biomes[a.land], [Biome.OCEAN, Biome.LAKE]).any()
    assert len(np.unique(a.biomes)) >= 5
    # A colder climate: same terrain bit for bit, more snow and tundra.
    cold = replace(a.config, biomes=BiomesConfig(latitude_north=80.0, latitude_south=70.0))
    c = generate_level(seed=11, shape=64, cell_size=4000.0, config=cold)
    assert np.array_equal(c.height, a.height)
    frozen = np.isin(c.biomes, [Biome.SNOW, Biome.TUNDRA]).sum()
    assert frozen > np.isin(a.biomes, [Biome.SNOW, Biome.TUNDRA]).sum()


def test_rivers_make_their_banks_wetter():
    h = np.full((9, 9), 100.0, np.float32)
    river = River(path=np.array([[0.0, 4.0], [8.0, 4.0]]), width=np.array([30.0, 30.0]),
                  generator="hand")
    dry = Level(config=LevelConfig(), seed=0, cell_size=500.0, height=h,
                water=np.zeros(h.shape, bool), lakes=np.zeros(h.shape, np.int32)).with_biomes()
    wet = Level(config=LevelConfig(), seed=0, cell_size=500.0, height=h,
                water=np.zeros(h.shape, bool), lakes=np.zeros(h.shape, np.int32),
                rivers=[river]).with_biomes()
    assert len(np.unique(dry.biomes)) == 1
    assert (wet.biomes[:, 3] != dry.biomes[:, 3]).all()


def test_steep_land_is_bare_rock_and_low_coast_is_beach():
    h = np.full((6, 6), 5.0, np.float32)
    h[:, 0] = -10.0
    h[3:, 4:] = 3000.0                                    # a cliff
    lv = Level(config=LevelConfig(), seed=0, cell_size=100.0, height=h, water=h <= 0,
               lakes=np.zeros(h.shape, np.int32)).with_biomes()
    assert (lv.biomes[:, 1] == Biome.BEACH).all()
    assert Biome.BARE_ROCK in lv.biomes


def test_assign_biomes_checks_config():
    with pytest.raises(TypeError, match="config must be a BiomesConfig"):
        assign_biomes(np.zeros((2, 2)), cell_size=1.0, water=np.zeros((2, 2), bool),
                      lakes=np.zeros((2, 2), int), config={"lapse_rate": 6.5})


def test_render_biomes():
    lv = generate_level(seed=1, shape=64, cell_size=4000.0, preset="continent")
    flat = render_biomes(lv, shade=False, rivers=False)
    lut = np.array([b.color for b in Biome], np.uint8)
    assert np.array_equal(flat, lut[lv.biomes])
    drawn = render_biomes(lv, shade=True, rivers=True)
    assert drawn.shape == (64, 64, 3) and drawn.dtype == np.uint8
    assert (drawn[lv.river_mask()] == (40, 96, 200)).all()
    assert np.array_equal(drawn[lv.water & ~lv.river_mask()], flat[lv.water & ~lv.river_mask()])
