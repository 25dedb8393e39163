"""Seeded fractal gradient noise: kernels vs naive twins, chunks, tiling, determinism, errors."""

import numpy as np
import pytest

from procgen._kernels import noise as gk
from procgen.noise import Fractal, NoiseConfig, fbm, fbm_points
from procgen.noise import _frequencies, _octave_tables

from . import naive


def _tables(seed, octaves, scale, period=None, kind=Fractal.FBM):
    keys, off_r, off_c, amps = _octave_tables(seed, 0, octaves, 0.5, 2.0, kind)
    fr, fc, periods = _frequencies(scale, octaves, 2.0, period)
    return keys, fr, fc, off_r, off_c, amps, periods


@pytest.mark.parametrize("kind", list(Fractal))
@pytest.mark.parametrize("period", [None, (12, 20)])
def test_grid_and_point_kernels_match_naive_twin(kind, period):
    keys, fr, fc, off_r, off_c, amps, periods = _tables(11, 4, 5.0, period)
    code = {Fractal.FBM: gk.FBM, Fractal.RIDGED: gk.RIDGED, Fractal.BILLOW: gk.BILLOW}[kind]
    row0, col0, nr, nc = -7.0, 1e6, 9, 13  # negative rows and a far-away column origin
    grid = np.empty((nr, nc), np.float32)
    gk.fractal_grid(row0, col0, nr, nc, keys, fr, fc, off_r, off_c, amps, periods[0],
                    periods[1], code, gk.GRAD_ROW, gk.GRAD_COL, grid)
    rows, cols = np.meshgrid(np.arange(nr) + row0, np.arange(nc) + col0, indexing="ij")
    pts = np.empty(nr * nc, np.float32)
    gk.fractal_points(rows.ravel(), cols.ravel(), keys, fr, fc, off_r, off_c, amps,
                      periods[0], periods[1], code, gk.GRAD_ROW, gk.GRAD_COL, pts)
    twin = np.array([[naive.naive_fractal(r, c, keys, fr, fc, off_r, off_c, amps, periods[0],
                                          periods[1], code)
                      for c in np.arange(nc) + col0] for r in np.arange(nr) + row0])
    np.testing.assert_allclose(grid, twin, atol=2e-6)
    np.testing.assert_allclose(pts.reshape(nr, nc), twin, atol=2e-6)


def test_lattice_hash_matches_twin():
    rng = np.random.default_rng(0)
    for i, j in rng.integers(-2**40, 2**40, size=(200, 2)):
        key = np.uint64(rng.integers(0, 2**63)) * np.uint64(2) + np.uint64(1)
        assert gk.lattice_hash(int(i), int(j), key) == naive.naive_lattice_hash(int(i), int(j), key)


def test_noise_is_zero_mean_bounded_and_not_constant():
    a = fbm((256, 256), scale=16.0, seed=5)
    assert a.dtype == np.float32 and a.shape == (256, 256)
    assert np.all(np.abs(a) <= 1.0)
    assert 0.1 < a.std() < 0.4
    assert abs(a.mean()) < 0.05


def test_single_octave_bound_is_tight():
    # sqrt(2)-scaled Perlin noise reaches close to its bound of 1 somewhere, never beyond.
    a = fbm((512, 512), scale=6.0, octaves=1, seed=2)
    assert 0.75 < np.abs(a).max() <= 1.0


@pytest.mark.parametrize("kind", list(Fractal))
@pytest.mark.parametrize("warp", [0.0, 12.0])
def test_chunks_equal_crops_of_the_big_map(kind, warp):
    big = fbm((96, 128), scale=20.0, seed=9, kind=kind, warp=warp, origin=(-32, 1000))
    for r0, c0, h, w in [(0, 0, 32, 32), (32, 64, 64, 64), (17, 3, 5, 101)]:
        chunk = fbm((h, w), scale=20.0, seed=9, kind=kind, warp=warp,
                    origin=(-32 + r0, 1000 + c0))
        assert np.array_equal(chunk, big[r0:r0 + h, c0:c0 + w])


@pytest.mark.parametrize("kind", list(Fractal))
def test_periodic_output_tiles(kind):
    tile = fbm((48, 80), scale=13.0, seed=4, kind=kind, period=True)
    wide = fbm((96, 160), scale=13.0, seed=4, kind=kind, period=(48, 80))
    assert np.array_equal(wide[:48, :80], tile)
    assert np.array_equal(wide[48:, :80], tile)
    assert np.array_equal(wide[:48, 80:], tile)
    warped = fbm((96, 160), scale=13.0, seed=4, kind=kind, period=(48, 80), warp=6.0)
    assert np.array_equal(warped[:48, :80], warped[48:, 80:])


def test_points_match_grid():
    grid = fbm((40, 50), scale=7.0, seed=3, origin=(5, -20), kind="ridged")
    r, c = np.mgrid[5:45, -20:30]
    pts = fbm_points(r, c, scale=7.0, seed=3, kind="ridged")
    np.testing.assert_allclose(pts, grid, atol=2e-6)


def test_same_seed_same_array_different_seed_different():
    a = fbm((64, 64), scale=10.0, seed=2**64 - 1)
    assert np.array_equal(a, fbm((64, 64), scale=10.0, seed=2**64 - 1))
    assert np.array_equal(a, fbm((64, 64), scale=10.0, seed=-1))  # wraps modulo 2**64
    assert not np.array_equal(a, fbm((64, 64), scale=10.0, seed=2**64 - 2))


def test_seeds_beyond_256_are_distinct():
    # Unlike permutation-table noise, seeds are not limited to 256 bases.
    a = fbm((32, 32), scale=8.0, seed=1)
    assert not np.array_equal(a, fbm((32, 32), scale=8.0, seed=257))
    assert not np.array_equal(a, fbm((32, 32), scale=8.0, seed=1 + 2**40))


def test_config_equals_keywords():
    cfg = NoiseConfig(scale=9.0, octaves=3, persistence=0.6, lacunarity=2.5, kind="billow")
    assert cfg.kind is Fractal.BILLOW
    a = fbm((20, 30), config=cfg, seed=1)
    b = fbm((20, 30), scale=9.0, octaves=3, persistence=0.6, lacunarity=2.5, kind="billow", seed=1)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("kwargs, match", [
    (dict(scale=0.0), r"scale must be in \(0, inf\], got 0"),
    (dict(scale=float("nan")), "scale must be finite, got nan"),
    (dict(scale=4.0, octaves=0), "octaves must be in 1..30, got 0"),
    (dict(scale=4.0, octaves=2.5), "octaves must be an integer"),
    (dict(scale=4.0, persistence=1.5), "persistence must be in"),
    (dict(scale=4.0, lacunarity=float("inf")), "lacunarity must be finite"),
    (dict(scale=4.0, kind="wavy"), "kind must be one of 'fbm', 'ridged', 'billow', got 'wavy'"),
    (dict(scale=4.0, seed=2**64), "seed must be in"),
    (dict(scale=4.0, origin=(0,)), r"origin must be a \(row, col\) pair"),
    (dict(scale=4.0, period=(0, 4)), r"period\[0\] must be in 1..inf, got 0"),
    (dict(scale=4.0, warp=-1.0), "warp must be in"),
    (dict(), "scale is required"),
])
def test_bad_input_names_the_parameter(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        fbm((8, 8), **kwargs)


@pytest.mark.parametrize("shape, match", [
    (0, r"shape\[0\] must be in 1..inf, got 0"),
    ((4, -3), r"shape\[1\] must be in 1..inf, got -3"),
    ((100_000, 100_000), "over the cap"),
    ("big", "shape must be an int or a"),
])
def test_bad_shapes(shape, match):
    with pytest.raises(ValueError, match=match):
        fbm(shape, scale=4.0)


def test_memory_cap_can_be_lifted():
    a = fbm((3, 5), scale=4.0, max_cells=None)
    assert a.shape == (3, 5)
    with pytest.raises(ValueError, match="over the cap of 10"):
        fbm((3, 5), scale=4.0, max_cells=10)


def test_points_reject_nan():
    with pytest.raises(ValueError, match="rows and cols must be finite"):
        fbm_points([0.0, np.nan], [1.0, 2.0], scale=4.0)


def test_output_does_not_depend_on_thread_count():
    import hashlib
    import os
    import subprocess
    import sys
    code = ("import hashlib; from procgen.noise import fbm;"
            "a = fbm((300, 200), scale=17.0, seed=5, kind='ridged', warp=4.0);"
            "print(hashlib.sha256(a.tobytes()).hexdigest())")
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    one = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    here = fbm((300, 200), scale=17.0, seed=5, kind="ridged", warp=4.0)
    assert one == hashlib.sha256(here.tobytes()).hexdigest()
