"""Terrain presets: heights in metres, sea level at 0, chunks, determinism, errors."""

from dataclasses import replace

import numpy as np
import pytest

from procgen.terrain import PRESETS, Falloff, TerrainConfig, heightmap, preset


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


def test_cell_size_zooms_the_same_world():
    # Halving cell_size samples the same landscape twice as densely.
    coarse = heightmap((32, 32), config=preset("lowlands"), cell_size=4000.0, seed=5)
    fine = heightmap((64, 64), config=preset("lowlands"), cell_size=2000.0, seed=5)
    agree = np.mean((coarse > 0) == (fine[::2, ::2] > 0))
    assert agree > 0.9


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
