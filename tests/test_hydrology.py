"""Hydrology kernels against naive twins, and the drainage invariants."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from procgen.hydrology import (DC, DR, fill_depressions, flow_accumulation, flow_directions,
                               label_lakes)
from procgen.terrain import heightmap, preset

from . import naive


def _assert_drains(filled, outlets):
    """Every cell that is not a drain has a strictly lower neighbour."""
    drains = naive.naive_flood_seeds(filled, outlets)
    nr, nc = filled.shape
    for r in range(nr):
        for c in range(nc):
            if drains[r, c] or np.isnan(filled[r, c]):
                continue
            lower = [filled[rr, cc] < filled[r, c]
                     for _, rr, cc in naive._neighbours(r, c, nr, nc)]
            assert any(lower), f"cell ({r}, {c}) has no lower neighbour"


def _check_fill(dem, outlets=None):
    outlets = np.zeros(dem.shape, bool) if outlets is None else outlets
    filled = fill_depressions(dem, outlets=outlets)
    spill = naive.naive_priority_flood_epsilon(dem, outlets)
    ok = ~np.isnan(dem)
    assert np.array_equal(np.isnan(filled), np.isnan(dem))
    assert np.all(filled[ok] >= dem[ok])
    assert np.all(filled[ok] >= spill[ok])
    # The epsilon gradient adds a few float32 steps per cell of a flat, no more.
    np.testing.assert_allclose(filled[ok], spill[ok], rtol=1e-4, atol=1e-3)
    _assert_drains(filled, outlets)
    return filled


CASES = {
    "flat": np.zeros((7, 9), np.float32),
    "plateau": np.pad(np.full((4, 5), 3.0, np.float32), 2, constant_values=1.0),
    "pit": np.array([[5, 5, 5, 5], [5, 1, 2, 5], [5, 3, 4, 0]], np.float32),
    "nested pits": np.array([[9, 9, 9, 9, 9, 9],
                             [9, 1, 5, 2, 3, 9],
                             [9, 4, 5, 0, 3, 9],
                             [9, 9, 9, 9, 6, 9]], np.float32),
    "nan hole drains": np.array([[9, 9, 9, 9, 9],
                                 [9, 4, 4, 4, 9],
                                 [9, 4, np.nan, 4, 9],
                                 [9, 4, 4, 4, 9],
                                 [9, 9, 9, 9, 9]], np.float32),
    "one row": np.array([[3, 1, 2, 0, 5]], np.float32),
    "one cell": np.array([[2.0]], np.float32),
    "negative": -np.abs(np.arange(30, dtype=np.float32).reshape(5, 6) - 14.5),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fill_matches_spill_levels_and_drains(name):
    filled = _check_fill(CASES[name])
    directions = flow_directions(filled)
    assert np.array_equal(directions, naive.naive_d8_directions(filled, np.zeros(filled.shape, bool)))
    acc = flow_accumulation(directions)
    assert np.array_equal(acc, naive.naive_accumulate(directions, np.ones(filled.shape)))


def test_nan_hole_is_a_drain():
    filled = fill_depressions(CASES["nan hole drains"])
    assert np.isnan(filled[2, 2])
    assert filled[1, 1] == 4.0  # drains into the no-data hole, so nothing is raised


def test_outlets_drain_like_the_sea():
    dem = np.full((5, 5), 10.0, np.float32)
    dem[2, 2] = -5.0
    sea = dem < 0
    filled = _check_fill(dem, sea)
    assert filled[2, 2] == -5.0
    d = flow_directions(filled, outlets=sea)
    assert d[2, 2] == -1
    r, c = 1, 1
    assert (r + DR[d[r, c]], c + DC[d[r, c]]) == (2, 2)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 9), st.integers(1, 9)),
              elements=st.integers(-3, 6).map(float)))
def test_random_small_dems(dem):
    # Small integer heights make flats, plateaus and nested pits common.
    filled = _check_fill(dem)
    d = flow_directions(filled)
    assert np.array_equal(d, naive.naive_d8_directions(filled, np.zeros(dem.shape, bool)))
    w = np.arange(dem.size, dtype=np.float64).reshape(dem.shape)
    assert np.allclose(flow_accumulation(d, w), naive.naive_accumulate(d, w))


def test_fractal_terrain_against_twins():
    dem = heightmap((40, 48), config=preset("highlands"), cell_size=2000.0, seed=4)
    dem[10:14, 20:23] = np.nan
    sea = dem < 0
    filled = _check_fill(dem, sea)
    d = flow_directions(filled, outlets=sea)
    assert np.array_equal(d, naive.naive_d8_directions(filled, sea))
    rain = np.linspace(0.5, 2.0, dem.size).reshape(dem.shape)
    np.testing.assert_allclose(flow_accumulation(d, rain), naive.naive_accumulate(d, rain))


def test_accumulation_conserves_mass():
    dem = heightmap((128, 128), config=preset("continent"), cell_size=4000.0, seed=1)
    sea = dem <= 0
    d = flow_directions(fill_depressions(dem, outlets=sea), outlets=sea)
    acc = flow_accumulation(d)
    # Every cell ends in exactly one outlet, so outlets' totals add up to the cell count.
    assert acc[d == -1].sum() == dem.size


def test_cycle_is_refused():
    with pytest.raises(ValueError, match="cycle"):
        flow_accumulation(np.array([[0, 4]], np.int8))


@pytest.mark.parametrize("directions, match", [
    (np.array([[0, 0]], np.int8), "point off the grid"),
    (np.array([[9]], np.int8), "codes -1..7"),
    (np.zeros((2, 2), np.int64), "int8"),
])
def test_bad_directions(directions, match):
    with pytest.raises(ValueError, match=match):
        flow_accumulation(directions)


def test_bad_heights():
    with pytest.raises(ValueError, match="height must be a non-empty 2-D array"):
        fill_depressions(np.zeros(5))
    with pytest.raises(ValueError, match="must not contain inf"):
        fill_depressions(np.array([[1.0, np.inf]]))
    with pytest.raises(ValueError, match="outlets must be a bool array of shape"):
        fill_depressions(np.zeros((2, 2)), outlets=np.zeros((3, 3), bool))
    with pytest.raises(ValueError, match="weights must have shape"):
        flow_accumulation(np.full((2, 2), -1, np.int8), weights=np.ones(3))


def test_lakes_are_filled_depressions():
    dem = CASES["nested pits"]
    filled = fill_depressions(dem)
    labels, count = label_lakes(dem, filled, min_depth=0.01)
    assert count == 1  # the two pits merge under one spill level (5)
    assert set(np.unique(labels[labels > 0])) == {1}
    assert labels[1, 1] == 1 and labels[2, 3] == 1 and labels[0, 0] == 0


# -- labelling, Strahler order, river tracing and carving kernels against their twins ---------
from procgen._kernels import hydrology as hk  # noqa: E402
from procgen._kernels import rivers as rk  # noqa: E402
from procgen._kernels.raster import polyline_cells  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 12), st.integers(1, 12))))
def test_label_components_matches_bfs(mask):
    labels = np.zeros(mask.shape, np.int32)
    count = hk.label_components(mask, labels)
    twin, twin_count = naive.naive_label_components(mask)
    assert count == twin_count
    assert np.array_equal(labels, twin)  # both number components in scan order


@pytest.mark.parametrize("seed", range(4))
def test_strahler_matches_definition(seed):
    dem = heightmap((40, 40), config=preset("highlands"), cell_size=3000.0, seed=seed)
    d = flow_directions(fill_depressions(dem))
    acc = flow_accumulation(d)
    network = acc >= 4
    down = rk.downstream_index(d)
    got = rk.strahler(down, rk.topological_order(down), network.ravel()).reshape(dem.shape)
    assert np.array_equal(got, naive.naive_strahler(d, network))
    assert got.max() >= 2


def test_extract_rivers_traces_the_network():
    dem = heightmap((48, 48), config=preset("lowlands"), cell_size=3000.0, seed=2)
    sea = dem <= 0
    d = flow_directions(fill_depressions(dem, outlets=sea), outlets=sea)
    acc = flow_accumulation(d)
    cells, offsets = rk.extract_rivers(d, acc.ravel(), 6.0, sea, 2)
    network = (acc >= 6) & ~sea
    covered = np.zeros(dem.size, bool)
    for a, b in zip(offsets[:-1], offsets[1:]):
        river = cells[a:b]
        assert network.ravel()[river[0]]
        for i, j in zip(river[:-1], river[1:]):  # each step follows the flow direction
            k = d.ravel()[i]
            assert j == i + hk.DR[k] * 48 + hk.DC[k]
        covered[river[:-1]] = True
        last = river[-1]
        assert sea.ravel()[last] or d.ravel()[last] == -1 or network.ravel()[last]
    # Every network cell that flows on starts a step of exactly one river.
    assert covered[network.ravel() & (d.ravel() != -1)].all()


def test_enforce_descent_matches_twin():
    rng = np.random.default_rng(0)
    h = rng.uniform(0, 10, (12, 12)).astype(np.float32)
    rivers = [[(0, c) for c in range(12)] + [(r, 11) for r in range(1, 12)],
              [(11, c) for c in range(12)], [(r, 5) for r in range(12)]]
    cells = np.array([r * 12 + c for river in rivers for r, c in river], np.int64)
    offsets = np.cumsum([0] + [len(r) for r in rivers]).astype(np.int64)
    got = h.copy()
    rk.enforce_descent(got, cells, offsets, 100)
    assert np.array_equal(got, naive.naive_enforce_descent(h, rivers))


def test_carve_valleys_matches_twin():
    rng = np.random.default_rng(1)
    h = rng.uniform(50, 60, (15, 17)).astype(np.float32)
    cells = [(3, 4), (7, 8), (14, 16), (0, 0)]
    bed = np.array([40.0, 30.0, 20.0, 45.0], np.float32)
    radius = np.array([2.5, 1.0, 3.2, 0.0], np.float32)
    got = h.copy()
    rk.carve_valleys(got, np.array([r * 17 + c for r, c in cells], np.int64), bed, radius,
                     np.float32(4.0))
    np.testing.assert_array_equal(got, naive.naive_carve_valleys(h, cells, bed, radius, 4.0))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-20, 20), st.integers(-20, 20)), min_size=1, max_size=8))
def test_polyline_cells_are_8_connected_and_visit_every_vertex(vertices):
    v = np.array(vertices, np.int64)
    cells, segment = polyline_cells(v[:, 0].copy(), v[:, 1].copy())
    steps = np.abs(np.diff(cells, axis=0))
    assert np.all(steps.max(axis=1, initial=1) == 1) if len(cells) > 1 else True
    expected = 1 + sum(max(abs(a[0] - b[0]), abs(a[1] - b[1])) for a, b in zip(v[:-1], v[1:]))
    assert len(cells) == expected
    # Vertices appear in order, at the cumulative Chebyshev distances.
    at = np.concatenate([[0], np.cumsum(np.abs(np.diff(v, axis=0)).max(axis=1))]).astype(int)
    assert np.array_equal(cells[at], v)
    assert np.all(np.diff(segment) >= 0)
