"""Polyline geometry: kernels vs naive twins, exact cases, round trips, metrics, errors."""

import numpy as np
import pytest

from procgen import paths as P
from procgen.paths import (angles_to_path, arc_length, canonical, heading_autocorrelation,
                           meander_wavelength, place, resample, self_intersection_count,
                           self_intersects, sinuosity, turning_angles)

from . import naive

SQUARE = np.array([[0.0, 0.0], [0.0, 1.0], [-1.0, 1.0], [-1.0, 0.0], [0.0, 0.0]])  # E, N, W, S


def _random_paths(rng, b, n, scale=1.0):
    return np.cumsum(rng.normal(scale=scale, size=(b, n, 2)), axis=1)


# --- arc length and resampling ---------------------------------------------------------------

def test_arc_length_single_and_batch():
    p = np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 4.0], [3.0, 5.0]])
    np.testing.assert_array_equal(arc_length(p), [0.0, 5.0, 5.0, 6.0])
    batch = np.stack([p, 2 * p])
    np.testing.assert_array_equal(arc_length(batch), [[0, 5, 5, 6], [0, 10, 10, 12]])


def test_resample_matches_naive_twin_with_zero_length_segments():
    rng = np.random.default_rng(0)
    paths = _random_paths(rng, 6, 30)
    paths[:, 5] = paths[:, 4]             # zero-length segments, one of them doubled
    paths[:, 17] = paths[:, 16] = paths[:, 15]
    for m in (2, 3, 29, 101):
        got = resample(paths, m)
        assert got.shape == (6, m, 2)
        for b in range(6):
            np.testing.assert_allclose(got[b], naive.naive_resample(paths[b], m), atol=1e-12)
            np.testing.assert_allclose(resample(paths[b], m), got[b], atol=0)


def test_resample_keeps_endpoints_exactly_and_spaces_evenly():
    rng = np.random.default_rng(1)
    paths = _random_paths(rng, 4, 50)
    out = resample(paths, 77)
    np.testing.assert_array_equal(out[:, 0], paths[:, 0])
    np.testing.assert_array_equal(out[:, -1], paths[:, -1])
    # along a straight line the spacing is exactly even
    line = np.array([[1.0, 2.0], [1.5, 3.0], [4.0, 8.0]])
    gaps = np.diff(arc_length(resample(line, 11)))
    np.testing.assert_allclose(gaps, gaps[0], rtol=1e-12)
    # around the unit square with corners on samples, every gap is 1/4
    sq = resample(SQUARE, 17)
    np.testing.assert_allclose(np.hypot(*np.diff(sq, axis=0).T), 0.25, rtol=1e-12)
    np.testing.assert_allclose(sq[::4], SQUARE, atol=1e-15)


def test_resample_of_a_point_path_repeats_the_point():
    p = np.array([[2.0, 3.0], [2.0, 3.0], [2.0, 3.0]])
    np.testing.assert_array_equal(resample(p, 5), np.tile([2.0, 3.0], (5, 1)))


# --- turning angles --------------------------------------------------------------------------

def test_square_turns_left_by_right_angles():
    np.testing.assert_allclose(turning_angles(SQUARE), [np.pi / 2] * 3, rtol=1e-15)
    # walked the other way round (clockwise on the map) it turns right
    np.testing.assert_allclose(turning_angles(SQUARE[::-1]), [-np.pi / 2] * 3, rtol=1e-15)


def test_turning_angle_sign_follows_the_map_convention():
    east_then_north = np.array([[5.0, 5.0], [5.0, 6.0], [4.0, 6.0]])  # north = row - 1
    assert turning_angles(east_then_north)[0] == pytest.approx(np.pi / 2)
    east_then_south = np.array([[5.0, 5.0], [5.0, 6.0], [6.0, 6.0]])
    assert turning_angles(east_then_south)[0] == pytest.approx(-np.pi / 2)


def test_reversal_is_plus_pi_and_range_is_half_open():
    back = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    assert turning_angles(back)[0] == np.pi
    rng = np.random.default_rng(2)
    t = turning_angles(_random_paths(rng, 50, 40))
    assert t.shape == (50, 38)
    assert np.all(t > -np.pi) and np.all(t <= np.pi)


def test_straight_line_has_zero_turns():
    line = np.linspace([0.0, 0.0], [-3.0, 7.0], 9)
    np.testing.assert_allclose(turning_angles(line), 0.0, atol=1e-12)


@pytest.mark.parametrize("step", [1.0, 0.37])
def test_angles_to_path_round_trip(step):
    rng = np.random.default_rng(3)
    t = rng.uniform(-np.pi + 1e-6, np.pi - 1e-6, size=(20, 254))
    heading = rng.uniform(-10, 10, size=20)
    start = rng.normal(size=(20, 2)) * 100
    p = angles_to_path(t, step=step, heading=heading, start=start)
    assert p.shape == (20, 256, 2)
    np.testing.assert_array_equal(p[:, 0], start)
    np.testing.assert_allclose(np.hypot(*np.moveaxis(np.diff(p, axis=1), -1, 0)), step,
                               rtol=1e-12)
    np.testing.assert_allclose(turning_angles(p), t, atol=1e-9)
    # the first segment points along the heading
    d = p[:, 1] - p[:, 0]
    np.testing.assert_allclose(np.arctan2(-d[:, 0], d[:, 1]),
                               np.angle(np.exp(1j * heading)), atol=1e-12)
    # single path agrees with the batch
    np.testing.assert_allclose(angles_to_path(t[3], step=step, heading=heading[3],
                                              start=start[3]), p[3], atol=0)


def test_angles_to_path_with_no_turns_is_one_segment():
    np.testing.assert_allclose(angles_to_path([], heading=np.pi / 2), [[0, 0], [-1, 0]],
                               atol=1e-15)


# --- canonical frame and placement ------------------------------------------------------------

def test_canonical_frame_axes():
    # chord due east: left of it is north (row decreasing) = +y
    p = np.array([[0.0, 0.0], [-1.0, 1.0], [0.0, 2.0]])
    np.testing.assert_allclose(canonical(p), [[0, 0], [0.5, 0.5], [1, 0]], atol=1e-15)
    # a chord due south, bulging east: left of "south" is east, so +y again
    q = np.array([[0.0, 0.0], [2.0, 2.0], [4.0, 0.0]])
    np.testing.assert_allclose(canonical(q), [[0, 0], [0.5, 0.5], [1, 0]], atol=1e-15)


def test_canonical_place_round_trip_and_invariants():
    rng = np.random.default_rng(4)
    paths = _random_paths(rng, 10, 64, scale=3.0)
    c = canonical(paths)
    np.testing.assert_array_equal(c[:, 0], 0.0)
    np.testing.assert_array_equal(c[:, -1], np.tile([1.0, 0.0], (10, 1)))
    back = place(c, paths[:, 0], paths[:, -1])
    np.testing.assert_allclose(back, paths, atol=1e-10)
    # rotation and scale leave turning angles and sinuosity alone
    np.testing.assert_allclose(turning_angles(c), turning_angles(paths), atol=1e-9)
    np.testing.assert_allclose(sinuosity(c), sinuosity(paths), rtol=1e-12)
    # and a single canonical shape placed on many chords broadcasts
    many = place(c[0], paths[:, 0], paths[:, -1])
    assert many.shape == paths.shape
    np.testing.assert_allclose(many[:, -1], paths[:, -1], atol=1e-10)


def test_canonical_of_closed_path_is_nan():
    assert np.all(np.isnan(canonical(SQUARE)))
    open_square = SQUARE + np.array([[0.0, 0.0]] * 4 + [[0.0, 3.0]])
    batch = canonical(np.stack([SQUARE, open_square]))
    assert np.all(np.isnan(batch[0])) and np.all(np.isfinite(batch[1]))


# --- sinuosity, wavelength, autocorrelation ------------------------------------------------

def test_sinuosity_cases():
    assert sinuosity(np.linspace([0, 0], [5, -2], 7)) == pytest.approx(1.0, abs=1e-14)
    assert sinuosity(SQUARE) == np.inf
    assert np.isnan(sinuosity([[1.0, 1.0], [1.0, 1.0]]))
    assert sinuosity(SQUARE[:4]) == pytest.approx(3.0)
    np.testing.assert_allclose(sinuosity(np.stack([SQUARE[:4], SQUARE[1:]])),
                               [3.0, 3.0])
    np.testing.assert_allclose(sinuosity(np.stack([SQUARE[:3], SQUARE[1:4]])),
                               [np.sqrt(2.0), np.sqrt(2.0)])


def _sine_path(wavelength_steps, n_steps, omega=1.0, step=1.0, phase=0.3):
    s = (np.arange(n_steps) + 0.5) * step
    theta = omega * np.sin(2 * np.pi * s / (wavelength_steps * step) + phase)
    return angles_to_path(np.diff(theta), step=step, heading=theta[0])


@pytest.mark.parametrize("wave,steps", [(37.0, 600), (64.0, 256), (100.0, 1000), (23.5, 200)])
def test_meander_wavelength_recovers_sine_generated_curve(wave, steps):
    for step in (1.0, 2.5):
        got = meander_wavelength(_sine_path(wave, steps, step=step))
        assert got == pytest.approx(wave * step, rel=0.03)


def test_meander_wavelength_batch_and_undefined_cases():
    batch = np.stack([_sine_path(40.0, 400), _sine_path(25.0, 400)])
    np.testing.assert_allclose(meander_wavelength(batch), [40.0, 25.0], rtol=0.03)
    assert np.isnan(meander_wavelength(np.linspace([0, 0], [0, 30], 31)))
    circle = angles_to_path(np.full(60, 0.1))                # constant curvature
    assert np.isnan(meander_wavelength(circle))
    assert np.isnan(meander_wavelength([[0, 0], [0, 1], [1, 1], [1, 2], [2, 2]]))  # K = 3
    # resampling a path of uneven steps gives the same answer as the evenly stepped one
    p = _sine_path(50.0, 500)
    uneven = np.concatenate([p[:1], np.repeat(p[1:], 2, axis=0)])
    assert meander_wavelength(uneven, n_samples=500) == pytest.approx(
        meander_wavelength(p), rel=1e-3)


def test_heading_autocorrelation_cases():
    zigzag = angles_to_path(np.tile([0.4, -0.4], 100))
    ac = heading_autocorrelation(zigzag, 4)
    np.testing.assert_allclose(ac, [-1, 1, -1, 1], atol=0.03)
    # white turning angles: near zero at every lag
    rng = np.random.default_rng(5)
    white = angles_to_path(rng.normal(0, 0.3, size=(200, 254)))
    assert np.abs(heading_autocorrelation(white, 5).mean(axis=0)).max() < 0.02
    assert np.all(np.isnan(heading_autocorrelation(np.linspace([0, 0], [0, 9], 10), 3)))
    assert heading_autocorrelation(white, 3).shape == (200, 3)


# --- self-intersection ---------------------------------------------------------------------

def test_exact_intersection_cases():
    assert not self_intersects(np.linspace([0, 0], [3, 9], 10))
    assert self_intersection_count(np.linspace([0, 0], [3, 9], 10)) == 0
    eight = np.array([[0.0, 0.0], [2.0, 2.0], [2.0, 0.0], [0.0, 2.0]])
    assert self_intersects(eight) and self_intersection_count(eight) == 1
    assert self_intersection_count(SQUARE) == 1                 # back at the start
    assert not self_intersects(SQUARE[:4])
    assert self_intersects([[0, 0], [0, 2], [0, 1]])            # folds straight back
    assert not self_intersects([[0, 0], [0, 1], [0, 1], [0, 2]])  # duplicates are merged
    touch = np.array([[0.0, 0.0], [0.0, 4.0], [2.0, 4.0], [2.0, 2.0], [0.0, 2.0]])
    assert self_intersection_count(touch) == 1                  # ends on an earlier segment
    assert not self_intersects(touch[:4])
    # a lemniscate of Gerono (figure eight) crosses itself once, at the centre
    t = np.linspace(-np.pi / 2, 1.4 * np.pi, 400)
    lem = np.stack([np.sin(t), np.sin(2 * t) / 2], axis=1)
    assert self_intersection_count(lem) == 1


def test_self_intersection_matches_exact_naive_twin_on_lattice_walks():
    # right-angle lattice walks: integer points, many touching and collinear pairs
    rng = np.random.default_rng(6)
    turns = rng.choice([-np.pi / 2, 0.0, np.pi / 2], size=(30, 30))
    lattice = np.rint(angles_to_path(turns, heading=np.pi / 2 * rng.integers(0, 4, 30)))
    got = self_intersection_count(lattice)
    twin = [naive.naive_self_intersection_count(p) for p in lattice]
    np.testing.assert_array_equal(got, twin)
    assert len(set(twin)) > 3                                   # the cases were not trivial
    np.testing.assert_array_equal(self_intersects(lattice), np.array(twin) > 0)


def test_self_intersection_matches_naive_twin_on_random_float_paths():
    rng = np.random.default_rng(7)
    paths = _random_paths(rng, 20, 25)
    got = self_intersection_count(paths)
    np.testing.assert_array_equal(got, [naive.naive_self_intersection_count(p) for p in paths])
    assert self_intersects(paths).dtype == bool


def _brute_force_count(p):
    """All non-adjacent pairs at once in numpy (float orientation signs, no sweep)."""
    a, b = p[:-1], p[1:]
    i, j = np.triu_indices(len(a), k=2)

    def orient(p0, p1, q):
        v = ((p1[..., 0] - p0[..., 0]) * (q[..., 1] - p0[..., 1])
             - (p1[..., 1] - p0[..., 1]) * (q[..., 0] - p0[..., 0]))
        return np.sign(v)

    def within(p0, p1, q):
        return np.all((np.minimum(p0, p1) <= q) & (q <= np.maximum(p0, p1)), axis=-1)

    ai, bi, aj, bj = a[i], b[i], a[j], b[j]
    o1, o2, o3, o4 = orient(ai, bi, aj), orient(ai, bi, bj), orient(aj, bj, ai), orient(aj, bj, bi)
    meet = ((o1 * o2 < 0) & (o3 * o4 < 0)) | ((o1 == 0) & within(ai, bi, aj)) \
        | ((o2 == 0) & within(ai, bi, bj)) | ((o3 == 0) & within(aj, bj, ai)) \
        | ((o4 == 0) & within(aj, bj, bi))
    return int(meet.sum())


@pytest.mark.parametrize("sigma", [0.02, 0.3])
def test_sweep_matches_brute_force_on_long_paths(sigma):
    rng = np.random.default_rng(8)
    p = angles_to_path(rng.normal(0, sigma, size=1498))   # 1500 points: gentle or tangled
    count = self_intersection_count(p)
    assert count == _brute_force_count(p)
    assert self_intersects(p) == (count > 0)
    loop = angles_to_path(np.full(401, 2 * np.pi / 200))   # goes round twice
    assert self_intersects(loop)


# --- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.zeros((5, 3)), np.zeros(5), np.zeros((1, 2)),
                                 np.zeros((2, 2, 2, 2))])
def test_path_shape_errors(bad):
    with pytest.raises(ValueError, match="path must have shape"):
        turning_angles(bad)


def test_argument_errors_name_the_parameter():
    p = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 2.0], [2.0, 2.0], [2.0, 3.0]])
    with pytest.raises(ValueError, match="path must be finite"):
        sinuosity([[0.0, 0.0], [np.nan, 1.0]])
    with pytest.raises(ValueError, match="n must be in 2..inf, got 1"):
        resample(p, 1)
    with pytest.raises(TypeError, match="n must be an integer"):
        resample(p, 2.5)
    with pytest.raises(ValueError, match="step must be in"):
        angles_to_path([0.1], step=0.0)
    with pytest.raises(ValueError, match="heading .* must match the batch"):
        angles_to_path(np.zeros((3, 4)), heading=np.zeros(2))
    with pytest.raises(ValueError, match="turns must be finite"):
        angles_to_path([np.inf])
    with pytest.raises(ValueError, match="max_lag must be in 1..3, got 4"):
        heading_autocorrelation(p, 4)
    with pytest.raises(ValueError, match="pad must be in 1..64"):
        meander_wavelength(p, pad=0)
    with pytest.raises(ValueError, match="n_samples must be in 3..inf"):
        meander_wavelength(p, n_samples=2)
    with pytest.raises(ValueError, match="start_rc and end_rc must be"):
        place(p, (0.0,), (1.0, 1.0))
    assert P.STRAIGHT_RMS > 0


def test_scale_to_sinuosity_reaches_every_target_and_keeps_the_pattern():
    rng = np.random.default_rng(4)
    turns = rng.normal(0.0, 0.3, (300, 62))
    target = rng.uniform(1.0, 3.0, 300)
    target[:5] = 1.0                                                  # straight exactly
    scaled = P.scale_to_sinuosity(turns, target)
    reached = P.sinuosity(angles_to_path(scaled))
    assert np.abs(reached - target).max() <= 2e-6 * target.max()
    factor = scaled / turns                                           # one factor per path
    assert np.allclose(factor, factor[:, :1]) and (factor[:, 0] >= 0).all()
    # the factor is the one nearest 1: a path already at its target is unchanged
    own = P.sinuosity(angles_to_path(turns))
    assert np.allclose(P.scale_to_sinuosity(turns, own), turns, rtol=1e-5, atol=1e-9)


def test_scale_to_sinuosity_edge_cases_and_bad_input():
    assert np.array_equal(P.scale_to_sinuosity(np.zeros(8), 2.0), np.zeros(8))
    one = P.scale_to_sinuosity([0.1, -0.2, 0.3], 1.2)
    assert one.shape == (3,) and abs(P.sinuosity(angles_to_path(one)) - 1.2) < 1e-5
    for bad in (0.5, np.nan, [1.2, 1.3]):
        with pytest.raises(ValueError, match="target"):
            P.scale_to_sinuosity(np.zeros((3, 4)), bad)
    with pytest.raises(ValueError, match="turns"):
        P.scale_to_sinuosity([np.inf, 0.0], 1.1)
