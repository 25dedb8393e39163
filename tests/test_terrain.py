"""Terrain presets: heights in metres, sea level at 0, chunks, determinism, errors."""

from dataclasses import replace

import numpy as np
import pytest

from procgen.terrain import PRESETS, Falloff, TerrainConfig, heightmap, preset

#: Each preset's stated land fraction (share of cells above sea level), as the table in
#: procgen.terrain's docstring gives it; tests/test_level.py checks levels keep to it.
LAND_FRACTION = {
    "continent": (0.12, 0.45),
    "islands": (0.08, 0.30),
    "archipelago": (0.08, 0.30),
    "highlands": (0.85, 1.00),
    "lowlands": (0.50, 0.95),
}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_make_land_and_sea_in_metres(name):
    h = heightmap((160, 160), config=preset(name), cell_size=3200.0, seed=11)
    assert h.dtype == np.float32 and h.shape == (160, 160)
    assert np.all(np.isfinite(h))
    land = (h > 0).mean()
    assert land > 0.02, f"{name}: land fraction {land:.3f}"
    assert h.max() > 50.0  # metres, not noise units
    if name != "highlands":
        assert h.min() < -50.0
    assert h.max() < 20_000 and h.min() > -20_000
    assert not np.any(h == 0.0)  # nothing sits exactly on the coastline


def test_presets_differ_in_character():
    def land_fraction(name):
        return float(np.mean([(heightmap((96, 96), config=preset(name), cell_size=5000.0,
                                          seed=s) > 0).mean() for s in range(4)]))
    assert land_fraction("highlands") > 0.7
    assert land_fraction("archipelago") < 0.35
    assert land_fraction("islands") < land_fraction("continent") < land_fraction("highlands")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_chunks_of_a_world_equal_crops(name):
    kw = dict(config=preset(name), cell_size=4000.0, seed=3)
    world = heightmap((96, 128), **kw)
    chunk = heightmap((40, 50), origin=(30, 70), world_shape=(96, 128), **kw)
    assert np.array_equal(chunk, world[30:70, 70:120])


def test_fixed_world_cell_size_zooms_the_same_world():
    # With absolute lengths, halving cell_size samples the same landscape twice as densely.
    world = replace(preset("lowlands"), reference_cell_size=None)
    coarse = heightmap((32, 32), config=world, cell_size=4000.0, seed=5)
    fine = heightmap((64, 64), config=world, cell_size=2000.0, seed=5)
    agree = np.mean((coarse > 0) == (fine[::2, ::2] > 0))
    assert agree > 0.9


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_keeps_its_size_in_cells_at_every_cell_size(name):
    # Lengths scale with the cell size: the same coastline in cells at 100 m and 1 km; heights
    # are the same from the reference cell size up and shrink by sqrt(cell_size / 500) below.
    cfg = preset(name)
    h = {c: heightmap((96, 96), config=cfg, cell_size=c, seed=4) for c in (100.0, 500.0, 1000.0)}
    assert np.array_equal(h[500.0], h[1000.0])
    assert np.array_equal(h[100.0] > 0, h[500.0] > 0)
    f = cfg.height_scale(100.0)
    assert f == pytest.approx(0.2 ** 0.5)
    # Not exactly f * h: land is kept at >= 0.5 m and the sea floor starts 1 m down.
    assert np.allclose(h[100.0], h[500.0] * f, rtol=1e-5, atol=1.0)


def test_height_scale_follows_relief_exponent():
    cfg = preset("continent")
    assert cfg.height_scale(500.0) == cfg.height_scale(4000.0) == 1.0
    assert replace(cfg, relief_exponent=1.0).height_scale(125.0) == pytest.approx(0.25)
    assert replace(cfg, relief_exponent=0.0).height_scale(125.0) == 1.0
    assert replace(cfg, reference_cell_size=None).height_scale(10.0) == 1.0


@pytest.mark.parametrize("cell_size", [100.0, 250.0, 1000.0])
def test_fixed_at_draws_the_preset_then_zooms_into_it(cell_size):
    cfg = preset("islands")
    world = cfg.fixed_at(cell_size)
    assert world.reference_cell_size is None and world.fixed_at(50.0) is world
    drawn = heightmap((80, 80), config=cfg, cell_size=cell_size, seed=2)
    fixed = heightmap((80, 80), config=world, cell_size=cell_size, seed=2)
    # The same field up to the rounding of scales that were divided and multiplied.
    assert np.allclose(fixed, drawn, rtol=1e-4, atol=0.05)
    assert np.mean((fixed > 0) == (drawn > 0)) > 0.999
    finer = heightmap((160, 160), config=world, cell_size=cell_size / 2, seed=2)
    assert np.mean((finer[::2, ::2] > 0) == (drawn > 0)) > 0.95
    with pytest.raises(ValueError, match=r"cell_size must be in \[0\.001, 1e\+06\], got -1"):
        cfg.fixed_at(-1.0)


def test_preset_table_is_in_the_module_docs():
    import procgen.terrain as terrain
    assert set(LAND_FRACTION) == set(PRESETS)
    for name, (lo, hi) in LAND_FRACTION.items():
        assert f"{name:<15}{lo:.2f} -- {hi:.2f}" in terrain.__doc__, name


def test_same_seed_same_heights():
    a = heightmap((64, 64), config=preset("continent"), cell_size=8000.0, seed=1)
    b = heightmap((64, 64), config=preset("continent"), cell_size=8000.0, seed=1)
    c = heightmap((64, 64), config=preset("continent"), cell_size=8000.0, seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_edges_falloff_makes_a_sea_rim():
    cfg = replace(preset("continent"), falloff_strength=2.0)
    h = heightmap((128, 128), config=cfg, cell_size=4000.0, seed=8)
    rim = np.concatenate([h[0], h[-1], h[:, 0], h[:, -1]])
    assert np.all(rim < 0)
    assert (h[32:96, 32:96] > 0).mean() > 0.5


def test_preset_errors():
    with pytest.raises(ValueError, match="preset must be one of 'continent'.*got 'mars'"):
        preset("mars")


@pytest.mark.parametrize("kwargs, match", [
    (dict(sea_threshold=2.0), r"sea_threshold must be in \[-1, 1\], got 2"),
    (dict(falloff="radial"), "falloff must be one of 'none', 'edges', got 'radial'"),
    (dict(land_height=float("nan")), "land_height must be finite"),
    (dict(mountain_cover=-0.1), "mountain_cover must be in"),
    (dict(base=3), "base must be a NoiseConfig"),
    (dict(reference_cell_size=0.0), r"reference_cell_size must be in \(0, 1e\+06\], got 0"),
    (dict(relief_exponent=1.5), r"relief_exponent must be in \[0, 1\], got 1.5"),
])
def test_config_errors(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        TerrainConfig(**kwargs)


def test_falloff_accepts_strings():
    assert TerrainConfig(falloff="edges").falloff is Falloff.EDGES


@pytest.mark.parametrize("cell_size", [0.0, -5.0, float("inf"), 1e7])
def test_cell_size_errors(cell_size):
    with pytest.raises(ValueError, match="cell_size must be"):
        heightmap((8, 8), config=preset("continent"), cell_size=cell_size, seed=0)
