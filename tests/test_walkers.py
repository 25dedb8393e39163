"""River walkers: kernels vs naive twins, determinism, statistics, geometry, errors."""

import numba
import numpy as np
import pytest

from procgen.paths import (heading_autocorrelation, meander_wavelength, sinuosity,
                           turning_angles)
from procgen.walkers import (DEFAULT_MAX_POINTS, Walker, WalkerConfig, coin_flip, downhill,
                             persistent, sine_curve, walk)

from . import naive


def _unpacked_bits(seed, n, steps):
    """The turn bits coin_flip draws for p_left == 0.5: bit j % 64 of word j // 64."""
    words = np.random.default_rng(seed).integers(0, 2**64, size=(n, (steps + 63) // 64),
                                                 dtype=np.uint64)
    bits = np.unpackbits(words.astype("<u8").view(np.uint8), axis=1, bitorder="little")
    return bits[:, :steps].astype(bool)


def _uniform_u32(seed, n, steps):
    return np.random.default_rng(seed).integers(0, 2**32, size=(n, steps), dtype=np.uint32)


HEADINGS = np.array([0.0, 1.0, -2.5, np.pi])
STARTS = np.array([[0.0, 0.0], [10.0, -3.0], [-7.5, 2.0], [1e3, 1e3]])


# --- kernels vs naive twins --------------------------------------------------------------------

@pytest.mark.parametrize("steps", [1, 63, 64, 65, 150])
def test_coin_flip_fast_path_matches_twin(steps):
    got = coin_flip(4, steps, step=0.7, turn=0.3, heading=HEADINGS, start=STARTS, rng=11)
    left = _unpacked_bits(11, 4, steps)
    twin = naive.naive_walk(left, 0.3, 0.7, HEADINGS, STARTS)
    np.testing.assert_allclose(got, twin, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("p_left", [0.0, 0.3, 0.5000001, 1.0])
def test_coin_flip_general_path_matches_twin(p_left):
    got = coin_flip(4, 90, turn=0.4, p_left=p_left, heading=HEADINGS, start=STARTS, rng=12)
    threshold = min(round(p_left * 2**32), 2**32)
    left = _uniform_u32(12, 4, 90).astype(np.uint64) < threshold
    np.testing.assert_allclose(got, naive.naive_walk(left, 0.4, 1.0, HEADINGS, STARTS),
                               rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("persistence", [0.5, 0.0, 0.85, 1.0])
def test_persistent_matches_twin(persistence):
    got = persistent(4, 130, turn=0.25, persistence=persistence, heading=HEADINGS,
                     start=STARTS, rng=13)
    if persistence == 0.5:
        bits = _unpacked_bits(13, 4, 130)
        first, keep = bits[:, 0], bits
    else:
        u = _uniform_u32(13, 4, 130).astype(np.uint64)
        first, keep = u[:, 0] < 2**31, u < round(persistence * 2**32)
    left = naive.naive_persistent_turns(first, keep)
    np.testing.assert_allclose(got, naive.naive_walk(left, 0.25, 1.0, HEADINGS, STARTS),
                               rtol=1e-12, atol=1e-9)


def _bumpy_grid():
    r, c = np.mgrid[0:30, 0:40]
    return (np.sin(r / 4.0) * 3 + np.cos(c / 5.0) * 2 - 0.1 * c).astype(np.float32)


def test_downhill_matches_twin_including_grid_exit():
    h = _bumpy_grid()
    starts = np.array([[15.0, 2.0], [1.0, 1.0], [28.5, 38.0], [10.0, 20.0]])
    got = downhill(h, 4, 120, start=starts, heading=HEADINGS, turn=0.3, bias=2.0, step=0.8,
                   rng=14)
    u = np.random.default_rng(14).random((4, 120))
    twin = naive.naive_downhill(h, u, 2.0, 0.3, 0.8, HEADINGS, starts)
    np.testing.assert_allclose(got, twin, rtol=1e-12, atol=1e-9)
    assert np.any(np.all(got[:, -1] == got[:, -2], axis=1))    # some walker left and held


def test_bilinear_matches_twin():
    from procgen._kernels.walkers import bilinear
    h = _bumpy_grid()
    rng = np.random.default_rng(15)
    for r, c in rng.uniform(-3, 45, size=(50, 2)):
        assert bilinear(h, r, c) == pytest.approx(naive.naive_bilinear(h, r, c), abs=1e-12)
    assert bilinear(h, 3.0, 7.0) == h[3, 7]


# --- determinism --------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(Walker))
def test_same_seed_same_array_and_different_seed_differs(kind):
    cfg = WalkerConfig(kind=kind, noise=0.1)
    height = _bumpy_grid() if kind is Walker.DOWNHILL else None
    start = (15.0, 20.0) if kind is Walker.DOWNHILL else (0.0, 0.0)
    a = walk(50, 80, config=cfg, height=height, start=start, rng=21)
    b = walk(50, 80, config=cfg, height=height, start=start, rng=np.random.default_rng(21))
    c = walk(50, 80, config=cfg, height=height, start=start, rng=22)
    assert a.shape == (50, 81, 2) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("fn,kw", [(coin_flip, {}), (coin_flip, {"p_left": 0.4}),
                                   (persistent, {}), (persistent, {"persistence": 0.5})])
def test_result_does_not_depend_on_thread_count(fn, kw):
    many = fn(257, 300, rng=5, **kw)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = fn(257, 300, rng=5, **kw)
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(many, one)


def test_downhill_does_not_depend_on_thread_count():
    h = _bumpy_grid()
    many = downhill(h, 65, 100, start=(15.0, 20.0), rng=6)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = downhill(h, 65, 100, start=(15.0, 20.0), rng=6)
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(many, one)


def test_generator_is_advanced_not_reset():
    gen = np.random.default_rng(3)
    assert not np.array_equal(coin_flip(2, 50, rng=gen), coin_flip(2, 50, rng=gen))


# --- statistics and geometry ---------------------------------------------------------------

@pytest.mark.parametrize("p_left", [0.5, 0.3])
def test_coin_flip_turns_and_left_fraction(p_left):
    n, steps, turn = 400, 500, 0.2
    t = turning_angles(coin_flip(n, steps, turn=turn, p_left=p_left, rng=31))
    # every turn between segments is exactly +-turn (the first turn happens before step 1)
    np.testing.assert_allclose(np.abs(t), turn, atol=1e-9)
    lefts = np.mean(t > 0)
    m = t.size
    assert abs(lefts - p_left) < 5 * np.sqrt(p_left * (1 - p_left) / m)
    assert abs(t.mean() - turn * (2 * p_left - 1)) < 5 * 2 * turn * np.sqrt(
        p_left * (1 - p_left) / m)


def test_straight_walker_without_turns():
    p = coin_flip(3, 40, turn=0.0, step=0.25, heading=np.pi / 2, start=(5.0, 1.0), rng=1)
    np.testing.assert_allclose(p[:, -1], [[5.0 - 10.0, 1.0]] * 3, atol=1e-12)
    assert sinuosity(p) == pytest.approx([1.0] * 3)
    gaps = np.hypot(*np.moveaxis(np.diff(p, axis=1), -1, 0))
    np.testing.assert_allclose(gaps, 0.25, rtol=1e-12)


def test_first_step_turns_before_moving():
    right = coin_flip(1, 1, turn=np.pi / 2, p_left=0.0, rng=0)[0]
    left = coin_flip(1, 1, turn=np.pi / 2, p_left=1.0, rng=0)[0]
    np.testing.assert_allclose(right[1], [1.0, 0.0], atol=1e-15)   # south
    np.testing.assert_allclose(left[1], [-1.0, 0.0], atol=1e-15)   # north


@pytest.mark.parametrize("persistence", [0.8, 0.3])
def test_persistent_turn_autocorrelation_is_geometric(persistence):
    # +-turn directions of a symmetric two-state chain: corr at lag k = (2q - 1)**k
    p = persistent(300, 400, turn=0.1, persistence=persistence, rng=32)
    ac = heading_autocorrelation(p, 3).mean(axis=0)
    rho = 2 * persistence - 1
    np.testing.assert_allclose(ac, [rho, rho**2, rho**3], atol=0.02)


def test_downhill_follows_the_slope_and_bias_zero_is_a_coin():
    slope = np.tile(np.arange(60.0, 0.0, -1.0), (40, 1)).astype(np.float32)  # falls eastward
    start = (20.0, 30.0)
    biased = downhill(slope, 200, 40, start=start, heading=np.pi / 2, bias=10.0, rng=33)
    # a northward start turns towards the east (lower) side
    assert np.mean(biased[:, -1, 1] - start[1]) > 10.0
    fair = downhill(slope, 400, 40, start=start, heading=np.pi / 2, bias=0.0, rng=33)
    t = turning_angles(fair)
    t = t[t != 0]                                          # turns before leaving the grid
    assert abs(np.mean(t > 0) - 0.5) < 5 * np.sqrt(0.25 / t.size)
    uphill = downhill(slope, 200, 40, start=start, heading=np.pi / 2, bias=-10.0, rng=33)
    assert np.mean(uphill[:, -1, 1] - start[1]) < -10.0


def test_downhill_stays_on_the_grid_and_holds_after_leaving():
    h = np.zeros((10, 12), np.float32)
    p = downhill(h, 100, 60, start=(5.0, 6.0), rng=34)
    assert np.all((p[..., 0] >= 0) & (p[..., 0] <= 9) & (p[..., 1] >= 0) & (p[..., 1] <= 11))
    moved = np.any(np.diff(p, axis=1) != 0, axis=2)
    # once a walker stops it never moves again
    for row in moved:
        stop = np.argmin(row) if not row.all() else len(row)
        assert not row[stop:].any()
    assert not moved[:, -1].any()                          # 60 steps leave a 10x12 grid


def test_sine_curve_geometry():
    p = sine_curve(1, 2000, omega=1.2, wavelength=80.0, step=0.5)[0]
    assert meander_wavelength(p) == pytest.approx(80.0, rel=0.03)
    # sinuosity of whole wavelengths tends to 1 / J0(omega); J0 by quadrature
    x = np.linspace(0, np.pi, 20001)
    j0 = np.trapezoid(np.cos(1.2 * np.sin(x)), x) / np.pi
    whole = p[: 1 + int(4 * 80.0 / 0.5)]
    assert sinuosity(whole) == pytest.approx(1 / j0, rel=1e-3)
    # the heading never departs from the mean direction by more than omega
    d = np.diff(p, axis=0)
    assert np.abs(np.arctan2(-d[:, 0], d[:, 1])).max() <= 1.2 + 1e-12


def test_sine_curve_noise_heading_phase_and_start():
    quiet = sine_curve(3, 200, wavelength=40.0, heading=np.pi / 2, start=(100.0, 50.0))
    np.testing.assert_array_equal(quiet[0], quiet[2])
    np.testing.assert_array_equal(quiet[:, 0], [[100.0, 50.0]] * 3)
    assert quiet[0, -1, 0] < 100.0 - 100.0                   # mean direction north
    noisy = sine_curve(3, 200, wavelength=40.0, noise=0.2, rng=1)
    assert not np.array_equal(noisy[0], noisy[1])
    shifted = sine_curve(2, 200, wavelength=40.0, phase=np.array([0.0, np.pi]))
    np.testing.assert_allclose(shifted[0, :, 0], -shifted[1, :, 0], atol=1e-9)  # mirrored


def test_per_walker_heading_and_start():
    headings = np.array([0.0, np.pi / 2, np.pi, -np.pi / 2])
    starts = np.arange(8.0).reshape(4, 2)
    p = coin_flip(4, 1, turn=0.0, heading=headings, start=starts, rng=0)
    np.testing.assert_allclose(p[:, 1] - starts, [[0, 1], [-1, 0], [0, -1], [1, 0]],
                               atol=1e-15)


# --- config and errors ----------------------------------------------------------------------

def test_walker_config_accepts_names_and_rejects_bad_values():
    assert WalkerConfig(kind="sine").kind is Walker.SINE
    with pytest.raises(ValueError, match="kind must be one of"):
        WalkerConfig(kind="zigzag")
    with pytest.raises(ValueError, match="persistence must be in"):
        WalkerConfig(persistence=1.5)
    with pytest.raises(ValueError, match="height is required"):
        walk(2, 3, config=WalkerConfig(kind="downhill"))
    with pytest.raises(ValueError, match="height is only used by the downhill walker"):
        walk(2, 3, height=np.zeros((3, 3)))
    with pytest.raises(TypeError, match="config must be a WalkerConfig"):
        walk(2, 3, config={"kind": "sine"})


@pytest.mark.parametrize("kw,match", [
    ({"n": 0}, "n must be in 1..inf, got 0"),
    ({"steps": 0}, "steps must be in 1..inf, got 0"),
    ({"n": 2.0}, "n must be an integer"),
    ({"step": -1.0}, r"step must be in \(0, inf\], got -1"),
    ({"step": np.inf}, "step must be finite"),
    ({"turn": 4.0}, r"turn must be in \[0, 3.14159\], got 4"),
    ({"turn": np.nan}, "turn must be finite"),
    ({"p_left": 1.5}, r"p_left must be in \[0, 1\], got 1.5"),
    ({"heading": np.zeros(3)}, r"heading must be a float or an \(2,\) array"),
    ({"start": (1.0, 2.0, 3.0)}, r"start must be a \(row, col\) pair"),
    ({"start": (np.nan, 0.0)}, "start must be finite"),
    ({"rng": "seed"}, "rng must be an integer"),
    ({"rng": -1}, "rng must be in 0..inf"),
])
def test_coin_flip_errors_name_the_parameter(kw, match):
    args = {"n": 2, "steps": 5, **kw}
    n, steps = args.pop("n"), args.pop("steps")
    with pytest.raises((ValueError, TypeError), match=match):
        coin_flip(n, steps, **args)


def test_memory_cap():
    with pytest.raises(ValueError, match="over the cap max_points"):
        coin_flip(2**14, 2**14)
    with pytest.raises(ValueError, match="over the cap max_points=100"):
        sine_curve(10, 10, max_points=100)
    assert coin_flip(10, 9, max_points=100, rng=0).shape == (10, 10, 2)
    assert DEFAULT_MAX_POINTS == 2**28


def test_other_walker_errors():
    with pytest.raises(ValueError, match="persistence must be in"):
        persistent(2, 5, persistence=-0.1)
    with pytest.raises(ValueError, match="start must lie inside the grid"):
        downhill(np.zeros((5, 5)), 2, 5, start=(6.0, 1.0))
    with pytest.raises(ValueError, match="height must be finite"):
        downhill(np.full((5, 5), np.nan), 2, 5, start=(1.0, 1.0))
    with pytest.raises(ValueError, match="height must be a non-empty 2-D grid"):
        downhill(np.zeros(5), 2, 5, start=(1.0, 1.0))
    with pytest.raises(ValueError, match="bias must be finite"):
        downhill(np.zeros((5, 5)), 2, 5, start=(1.0, 1.0), bias=np.inf)
    with pytest.raises(ValueError, match="wavelength must be in"):
        sine_curve(2, 5, wavelength=0.0)
    with pytest.raises(ValueError, match="omega must be in"):
        sine_curve(2, 5, omega=4.0)
    with pytest.raises(ValueError, match="noise must be in"):
        sine_curve(2, 5, noise=-1.0)
    with pytest.raises(ValueError, match="phase must be"):
        sine_curve(2, 5, phase=np.zeros(3))
