"""Classic noise (pnoise2, pnoise3, snoise2): agreement with the ``noise`` package, kernels vs
naive twins, scalar/array and broadcasting behaviour, non-finite input, errors."""

import platform

import noise
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from procgen._classic import pnoise2, pnoise3, snoise2
from procgen._kernels import classic as ck

from . import naive

# noise is compiled for x86-64 with SSE and no FMA there; we emulate exactly that, so on this
# platform the results are not merely within 1e-5 but identical.
X86_64 = platform.machine().lower() in ("x86_64", "amd64")
TOLERANCE = 1e-5

TILINGS = [(None, None), (6.5, None), (None, 13.0), (9.25, 4.0)]


def _octave_kwargs(rng):
    return dict(octaves=int(rng.integers(1, 9)), persistence=float(rng.uniform(0.2, 0.9)),
                lacunarity=float(rng.uniform(1.5, 3.0)))


def _points(rng, dims, near=1500, far=300):
    """Coordinates in [-300, 300] plus some large ones (float64, rounded by both sides)."""
    return np.concatenate([rng.uniform(-300, 300, (dims, near)),
                           rng.uniform(-1e6, 1e6, (dims, far))], axis=1)


def _reference(fn, coords, **kwargs):
    return np.array([fn(*map(float, p), **kwargs) for p in zip(*coords)], dtype=np.float64)


def _assert_matches(ours, ref, record_property):
    assert ours.dtype == np.float32
    err = float(np.max(np.abs(ours.astype(np.float64) - ref)))
    record_property("max_abs_error", err)
    assert err <= TOLERANCE
    if X86_64:
        np.testing.assert_array_equal(ours, ref)


def _snoise_kwargs(repeatx, repeaty):
    """noise.snoise2 takes no None repeats: leave them out instead."""
    return {k: v for k, v in (("repeatx", repeatx), ("repeaty", repeaty)) if v is not None}


# --- agreement with noise 1.2.2 ------------------------------------------------------------

PNOISE2_REPEATS = [(1024, 1024), (7.5, 3.25), (16, 0.75), (1e6, 33.3), (2, 1024), (1.0, 5.5),
                   (255.5, 256), (40, 40)]
PNOISE3_REPEATS = [(1024, 1024, 1024), (7, 3, 16), (1, 2, 5), (255, 256, 1000), (33, 1024, 4),
                   (2**31 - 1, 8, 3), (16777217, 9, 10), (64, 64, 64)]
BASES = [0, 1, 0, 2, 17, 128, 254, 255]


@pytest.mark.parametrize("case", range(8))
def test_pnoise2_matches_noise(case, record_property):
    rng = np.random.default_rng([20, case])
    kwargs = _octave_kwargs(rng)
    kwargs.update(repeatx=PNOISE2_REPEATS[case][0], repeaty=PNOISE2_REPEATS[case][1],
                  base=BASES[case])
    x, y = _points(rng, 2)
    _assert_matches(pnoise2(x, y, **kwargs), _reference(noise.pnoise2, (x, y), **kwargs),
                    record_property)


@pytest.mark.parametrize("case", range(8))
def test_pnoise3_matches_noise(case, record_property):
    rng = np.random.default_rng([30, case])
    kwargs = _octave_kwargs(rng)
    rx, ry, rz = PNOISE3_REPEATS[case]
    kwargs.update(repeatx=rx, repeaty=ry, repeatz=rz, base=BASES[case])
    x, y, z = _points(rng, 3, near=1000, far=200)
    _assert_matches(pnoise3(x, y, z, **kwargs),
                    _reference(noise.pnoise3, (x, y, z), **kwargs), record_property)


@pytest.mark.parametrize("repeatx, repeaty", TILINGS)
@pytest.mark.parametrize("case", range(3))
def test_snoise2_matches_noise(case, repeatx, repeaty, record_property):
    rng = np.random.default_rng([40, case])
    kwargs = _octave_kwargs(rng)
    kwargs["base"] = [0.0, 3.7, -120.25][case]
    x, y = _points(rng, 2)
    ours = snoise2(x, y, repeatx=repeatx, repeaty=repeaty, **kwargs)
    ref = _reference(noise.snoise2, (x, y), **kwargs, **_snoise_kwargs(repeatx, repeaty))
    _assert_matches(ours, ref, record_property)


@pytest.mark.parametrize("base", [2, 3, 100, 200, 255])
def test_out_of_table_bases_match_noise(base, record_property):
    # noise reads past its 512-byte PERM for base >= 2; in its build those bytes are GRAD4's
    # float32 bytes, which PERM_EXT reproduces (see procgen._kernels.classic).
    rng = np.random.default_rng([50, base])
    x, y, z = _points(rng, 3, near=800, far=0)
    _assert_matches(pnoise2(x, y, octaves=2, base=base),
                    _reference(noise.pnoise2, (x, y), octaves=2, base=base), record_property)
    _assert_matches(pnoise3(x, y, z, base=base),
                    _reference(noise.pnoise3, (x, y, z), base=base), record_property)


def test_extreme_parameters_match_noise(record_property):
    # many octaves push x*freq past 2**31 and int(repeat*freq) past INT_MAX: exercises the
    # emulated x86 float->int conversion; also negative persistence and lacunarity < 1
    rng = np.random.default_rng(60)
    x, y, z = _points(rng, 3, near=300, far=100)
    for kwargs in (dict(octaves=30, persistence=0.9, lacunarity=3.0),
                   dict(octaves=6, persistence=-0.7, lacunarity=0.5)):
        _assert_matches(pnoise2(x, y, **kwargs), _reference(noise.pnoise2, (x, y), **kwargs),
                        record_property)
        _assert_matches(pnoise3(x, y, z, **kwargs),
                        _reference(noise.pnoise3, (x, y, z), **kwargs), record_property)
        _assert_matches(snoise2(x, y, repeatx=5.0, **kwargs),
                        _reference(noise.snoise2, (x, y), repeatx=5.0, **kwargs),
                        record_property)


finite = st.floats(-1e5, 1e5, allow_nan=False, width=32)


@settings(max_examples=60, deadline=None)
@given(x=finite, y=finite, octaves=st.integers(1, 8), tiling=st.sampled_from(TILINGS))
def test_single_points_match_noise(x, y, octaves, tiling):
    repeatx, repeaty = tiling
    assert abs(float(pnoise2(x, y, octaves=octaves)) - noise.pnoise2(x, y, octaves)) <= TOLERANCE
    ours = float(snoise2(x, y, octaves=octaves, repeatx=repeatx, repeaty=repeaty))
    ref = noise.snoise2(x, y, octaves, **_snoise_kwargs(repeatx, repeaty))
    assert abs(ours - ref) <= TOLERANCE


# --- kernels vs naive twins ----------------------------------------------------------------

def _naive(fn, coords, **kwargs):
    return np.array([fn(*p, **kwargs) for p in zip(*coords)], dtype=np.float32)


@pytest.mark.parametrize("case", range(3))
def test_kernels_match_naive_twins(case):
    rng = np.random.default_rng([70, case])
    kwargs = _octave_kwargs(rng)
    kwargs["octaves"] = min(kwargs["octaves"], 4)   # the twins are slow
    x, y, z = _points(rng, 3, near=40, far=10)
    np.testing.assert_array_equal(
        pnoise2(x, y, repeatx=7.5, base=BASES[case + 4], **kwargs),
        _naive(naive.naive_pnoise2, (x, y), repeatx=7.5, base=BASES[case + 4], **kwargs))
    np.testing.assert_array_equal(
        pnoise3(x, y, z, repeaty=9, base=BASES[case + 5], **kwargs),
        _naive(naive.naive_pnoise3, (x, y, z), repeaty=9, base=BASES[case + 5], **kwargs))
    for repeatx, repeaty in TILINGS:
        np.testing.assert_array_equal(
            snoise2(x, y, repeatx=repeatx, repeaty=repeaty, base=1.5, **kwargs),
            _naive(naive.naive_snoise2, (x, y), repeatx=repeatx, repeaty=repeaty, base=1.5,
                   **kwargs))


def test_point_kernels_match_array_kernels():
    rng = np.random.default_rng(80)
    x, y = rng.uniform(-50, 50, (2, 20)).astype(np.float32)
    f32 = np.float32
    out = np.empty(x.size, np.float32)
    ck.pnoise2_points(x, y, 3, f32(0.5), f32(2.0), f32(7.5), f32(1024), 5, out)
    scalar = [ck.pnoise2_point(a, b, 3, f32(0.5), f32(2.0), f32(7.5), f32(1024), 5)
              for a, b in zip(x, y)]
    np.testing.assert_array_equal(out, np.array(scalar, np.float32))


# --- scalars, arrays, broadcasting, dtypes, non-finite input ---------------------------------

def test_scalar_input_gives_0d_float32_equal_to_array_entry():
    xs, ys = np.array([0.5, -3.25, 120.0]), np.array([0.25, 7.5, -1.0])
    for fn, extra in ((pnoise2, ()), (snoise2, ()), (pnoise3, (0.75,))):
        arr = fn(xs, ys, *extra, octaves=3)
        for k in range(xs.size):
            one = fn(float(xs[k]), float(ys[k]), *extra, octaves=3)
            assert one.shape == () and one.dtype == np.float32
            assert one == arr[k]


def test_broadcasting_follows_numpy():
    cols = np.linspace(0.0, 10.0, 5)
    rows = np.linspace(-4.0, 4.0, 3)[:, None]
    grid = pnoise2(cols, rows, octaves=2)
    assert grid.shape == (3, 5)
    xx, yy = np.meshgrid(cols, rows[:, 0])
    np.testing.assert_array_equal(grid, pnoise2(xx, yy, octaves=2))
    assert pnoise3(cols, rows, 0.5).shape == (3, 5)
    assert pnoise3(cols[:, None, None], rows, 0.5).shape == (5, 3, 1)
    assert snoise2(cols, 2.0, repeatx=4.0).shape == (5,)
    assert snoise2(np.empty((0, 3)), 1.0).shape == (0, 3)


def test_input_dtypes_round_like_noise():
    ints = np.arange(-5, 5)
    np.testing.assert_array_equal(pnoise2(ints, 0.5), pnoise2(ints.astype(np.float64), 0.5))
    x64 = np.array([0.1, 1.0 / 3.0, 123.456789])
    np.testing.assert_array_equal(snoise2(x64, 0.2), snoise2(x64.astype(np.float32), 0.2))
    np.testing.assert_array_equal(pnoise2(x64, 0.2), [noise.pnoise2(v, 0.2) for v in x64])


def test_non_finite_coordinates_give_nan():
    x = np.array([np.nan, np.inf, -np.inf, 1e39, 0.5])
    for fn, extra in ((pnoise2, ()), (snoise2, ()), (pnoise3, (0.75,))):
        out = fn(x, 0.25, *extra, octaves=2)
        assert np.isnan(out[:4]).all()
        assert out[4] == fn(0.5, 0.25, *extra, octaves=2)
    assert np.isnan(snoise2(0.5, np.nan, repeatx=3.0))


def test_pnoise2_integer_repeat_tiles():
    x = np.arange(0, 64) / 8.0
    np.testing.assert_array_equal(pnoise2(x, 0.3, repeatx=8, octaves=3),
                                  pnoise2(x + 8.0, 0.3, repeatx=8, octaves=3))


def test_snoise2_flt_max_repeat_means_no_repeat():
    flt_max = float(np.finfo(np.float32).max)
    x = np.linspace(-3.0, 3.0, 7)
    np.testing.assert_array_equal(snoise2(x, 0.5, repeatx=flt_max), snoise2(x, 0.5))


# --- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fn, args, kwargs, exc, match", [
    (pnoise2, (0.5, 0.5), dict(octaves=0), ValueError, r"octaves must be in 1\.\.30, got 0"),
    (pnoise3, (0.5, 0.5, 0.5), dict(octaves=31), ValueError, r"octaves must be in 1\.\.30"),
    (snoise2, (0.5, 0.5), dict(octaves=2.0), TypeError, "octaves must be an integer"),
    (pnoise2, (0.5, 0.5), dict(persistence=float("nan")), ValueError,
     "persistence must be finite"),
    (snoise2, (0.5, 0.5), dict(lacunarity=float("inf")), ValueError,
     "lacunarity must be finite"),
    (pnoise2, (0.5, 0.5), dict(lacunarity="2"), TypeError, "lacunarity must be a real number"),
    (pnoise2, (0.5, 0.5), dict(repeatx=0), ValueError, r"repeatx must be in \(0, inf\]"),
    (pnoise2, (0.5, 0.5), dict(repeaty=-4.0), ValueError, r"repeaty must be in \(0, inf\]"),
    (pnoise2, (0.5, 0.5), dict(repeatx=1e39), ValueError, "repeatx must be within the float32"),
    (pnoise2, (0.5, 0.5), dict(repeatx=1e-50), ValueError, "repeatx must be at least"),
    (pnoise3, (0.5, 0.5, 0.5), dict(repeatx=2.5), TypeError, "repeatx must be an integer"),
    (pnoise3, (0.5, 0.5, 0.5), dict(repeatz=0), ValueError, r"repeatz must be in 1\.\."),
    (pnoise3, (0.5, 0.5, 0.5), dict(repeaty=2**31), ValueError, r"repeaty must be in 1\.\."),
    (pnoise2, (0.5, 0.5), dict(base=256), ValueError, r"base must be in 0\.\.255, got 256"),
    (pnoise3, (0.5, 0.5, 0.5), dict(base=-1), ValueError, r"base must be in 0\.\.255"),
    (pnoise2, (0.5, 0.5), dict(base=1.5), TypeError, "base must be an integer"),
    (snoise2, (0.5, 0.5), dict(base=float("nan")), ValueError, "base must be finite"),
    (snoise2, (0.5, 0.5), dict(repeaty=-1.0), ValueError, r"repeaty must be in \(0, inf\]"),
    (pnoise2, (np.zeros(3), np.zeros(4)), {}, ValueError, r"x \(3,\), y \(4,\)"),
    (snoise2, (np.array(["a"]), 0.5), {}, TypeError, "x must be real numbers"),
    (pnoise3, (0.5, 0.5, 1j), {}, TypeError, "z must be real numbers"),
])
def test_invalid_arguments_raise(fn, args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fn(*args, **kwargs)
