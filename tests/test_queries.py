"""Gameplay queries: hand-computed cases, kernels against their naive twins, caching."""

import math
import warnings

import numpy as np
import pytest

from procgen import Level, LevelConfig, River, generate_level
from procgen._kernels import queries as qk
from procgen.hydrology import fill_depressions, flow_directions
from procgen.rivers import RiversConfig
from procgen.queries import (DistanceUnit, RiverCrossing, SlopeUnit, SpawnPointsWarning,
                             cells_of, channel_depth, distance_transform)
from tests.naive import (naive_drain_outlets, naive_poisson_disc, naive_squared_edt)


def make_level(height, *, water=None, rivers=(), cell_size=10.0):
    h = np.asarray(height, np.float32)
    water = h <= 0 if water is None else np.asarray(water, bool)
    return Level(config=LevelConfig(), seed=0, cell_size=cell_size, height=h, water=water,
                 lakes=np.zeros(h.shape, np.int32), rivers=list(rivers))


@pytest.fixture(scope="module")
def plane():
    rows, cols = np.mgrid[0:4, 0:5]
    return make_level(3.0 * rows + 2.0 * cols + 1.0, cell_size=10.0)


# -- heights and slopes ----------------------------------------------------------------------
def test_height_at_is_bilinear(plane):
    assert plane.height_at(1.5, 2.25) == pytest.approx(3 * 1.5 + 2 * 2.25 + 1)
    assert isinstance(plane.height_at(1, 1), float)
    # Within half a cell of the edge the edge value is kept along that axis.
    assert plane.height_at(-0.5, 0.0) == pytest.approx(1.0)
    assert plane.height_at(3.49, 4.49) == pytest.approx(3 * 3 + 2 * 4 + 1)
    got = plane.height_at(np.array([[0.0, 1.0], [2.5, 3.0]]), np.array([[0.0, 0.5], [4.0, 1.0]]))
    assert got.shape == (2, 2)
    assert np.allclose(got, [[1.0, 5.0], [16.5, 12.0]])


def test_height_at_between_four_cells():
    lv = make_level([[1.0, 2.0], [3.0, 8.0]])
    # (1 + 2 + 3 + 8) / 4 at the middle; a quarter of the way: weights 9/16, 3/16, 3/16, 1/16
    assert lv.height_at(0.5, 0.5) == pytest.approx(3.5)
    assert lv.height_at(0.25, 0.25) == pytest.approx((9 * 1 + 3 * 2 + 3 * 3 + 1 * 8) / 16)


def test_slope_of_a_plane_is_exact_everywhere(plane):
    ratio = math.hypot(3.0, 2.0) / 10.0
    assert np.allclose(plane.slope(units="ratio"), ratio)
    assert np.allclose(plane.slope(), math.degrees(math.atan(ratio)))
    assert plane.slope_at(0.3, 3.9, units=SlopeUnit.RATIO) == pytest.approx(ratio)
    pts = plane.slope_at([0.0, 2.2], [4.4, 1.0])
    assert np.allclose(pts, math.degrees(math.atan(ratio)))


def test_slope_of_a_bump_by_hand():
    h = np.zeros((3, 3)); h[1, 1] = 10.0
    lv = make_level(h + 1.0, cell_size=10.0)
    s = lv.slope(units="ratio")
    assert s[1, 1] == 0.0                      # central differences: (1 - 1) / 20
    assert s[0, 1] == pytest.approx(1.0)       # one-sided at the edge: (11 - 1) / 10
    assert s[1, 0] == pytest.approx(1.0)
    assert s[0, 0] == 0.0
    assert lv.slope()[0, 1] == pytest.approx(45.0)
    # Halfway between (1, 1) and (0, 1): gradients interpolate linearly.
    assert lv.slope_at(0.5, 1.0, units="ratio") == pytest.approx(0.5)


@pytest.mark.parametrize("row, col, match", [
    (-0.6, 0.0, r"row must lie on the map, in \[-0.5, 3.5\), got -0.6"),
    (3.5, 0.0, r"row must lie on the map, in \[-0.5, 3.5\), got 3.5"),
    (0.0, float("nan"), r"col must lie on the map, in \[-0.5, 4.5\), got nan"),
    ([0, 1], [0, 1, 2], "row and col must have matching shapes"),
])
def test_points_off_the_map_are_refused(plane, row, col, match):
    with pytest.raises(ValueError, match=match):
        plane.height_at(row, col)


def test_bad_units_are_named(plane):
    with pytest.raises(ValueError, match="units must be one of 'degrees', 'ratio', got 'gradians'"):
        plane.slope(units="gradians")
    with pytest.raises(ValueError, match="units must be one of 'metres', 'cells'"):
        plane.distance_to_water(units="feet")
    with pytest.raises(TypeError, match="row must be a number"):
        plane.height_at("a", 1)


# -- water, rivers, land ---------------------------------------------------------------------
def _river_level():
    # 3 x 5 flat land at 5 m, sea in the last column, one river along row 1 into the sea.
    h = np.full((3, 5), 5.0); h[:, 4] = -1.0
    river = River(path=np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0], [1.0, 3.0], [1.0, 4.0]]),
                  width=np.array([4.0, 8.0, 12.0, 20.0, 20.0]), generator="hand")
    return make_level(h, rivers=[river], cell_size=100.0)


def test_is_water_land_river_and_cells():
    lv = _river_level()
    assert cells_of(0.49, 0.5) == (0, 1)
    assert lv.is_water(0, 4) is True and lv.is_land(0, 4) is False
    assert lv.is_water(0, 3.49) is False and lv.is_water(0, 3.5) is True
    assert lv.is_river(1, 2) is True and lv.is_river(0.4, 2) is False
    assert lv.is_river(1, 4) is False          # the mouth cell is sea, not river
    assert lv.is_land(1, 2) is True            # river cells are land
    assert lv.is_river(np.array([1, 1, 2]), np.array([0, 3, 3])).tolist() == [True, True, False]
    # river_cells gives each cell the width of the vertex its segment starts from.
    assert lv.river_width()[1].tolist() == [4.0, 4.0, 8.0, 12.0, 0.0]


def test_fords_by_hand():
    lv = _river_level()
    # depth = 0.3 * (w / 4) ** 0.8: 0.3, 0.522, 0.722, 1.08 m
    assert channel_depth(np.array([4.0, 8.0, 12.0])) == pytest.approx(
        [0.3, 0.3 * 4 ** 0.4, 0.3 * 9 ** 0.4])
    deep = RiversConfig(width_coefficient=2.0, depth_coefficient=0.6)
    assert channel_depth(np.array([4.0, -1.0]), config=deep).tolist() == [0.6 * 4 ** 0.4, 0.0]
    # cell widths 4, 4, 8, 12 m
    assert lv.fords()[1].tolist() == [True, True, True, False, False]   # width <= 10 m
    assert lv.fords(max_width=100.0, max_depth=0.75)[1].tolist() == [True, True, True, True,
                                                                      False]
    assert lv.fords(max_depth=0.5)[1].tolist() == [True, True, False, False, False]
    assert not lv.fords()[[0, 2]].any()
    with pytest.raises(ValueError, match="max_width must be in"):
        lv.fords(max_width=-1.0)


def test_walkable_by_hand():
    lv = _river_level()
    land = ~lv.water
    assert np.array_equal(lv.walkable(rivers="anywhere"), land)
    never = lv.walkable(rivers=RiverCrossing.NEVER)
    assert np.array_equal(never, land & ~lv.river_mask())
    fords = lv.walkable()
    assert fords[1].tolist() == [True, True, True, False, False]
    assert np.array_equal(fords[[0, 2]], land[[0, 2]])
    # A steep cell: 5 m -> 200 m across 100 m cells.
    h = lv.height.copy(); h[0, 0] = 200.0
    steep = make_level(h, rivers=lv.rivers, cell_size=100.0)
    assert steep.slope()[0, 0] > 45.0
    assert not steep.walkable(max_slope_deg=45.0)[0, 0]
    assert steep.walkable(max_slope_deg=90.0)[0, 0]
    with pytest.raises(ValueError, match=r"max_slope_deg must be in \[0, 90\], got 91"):
        lv.walkable(max_slope_deg=91)
    with pytest.raises(ValueError, match="rivers must be one of 'fords', 'never', 'anywhere'"):
        lv.walkable(rivers="swim")


# -- distance to water -----------------------------------------------------------------------
def test_distance_to_water_by_hand():
    h = np.full((3, 4), 10.0); h[0, 0] = -1.0
    lv = make_level(h, cell_size=50.0)
    expect = np.hypot(*np.mgrid[0:3, 0:4])
    assert np.allclose(lv.distance_to_water(units="cells"), expect)
    assert np.allclose(lv.distance_to_water(), expect * 50.0)
    assert np.allclose(lv.distance_to_water(units=DistanceUnit.METRES), expect * 50.0)


def test_distance_to_water_with_rivers():
    lv = _river_level()
    d = lv.distance_to_water(units="cells")
    assert d[1, 0] == 4.0 and d[0, 3] == 1.0
    dr = lv.distance_to_water(include_rivers=True, units="cells")
    assert dr[1, 0] == 0.0 and dr[0, 0] == 1.0 and dr[2, 1] == 1.0


def test_no_water_is_infinitely_far():
    lv = make_level(np.full((3, 3), 5.0))
    assert np.isinf(lv.distance_to_water()).all()


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (7, 11), (16, 13)])
@pytest.mark.parametrize("density", [0.0, 0.03, 0.3, 1.0])
def test_edt_kernel_matches_brute_force(shape, density):
    rng = np.random.default_rng(hash((shape, density)) % 2**32)
    mask = rng.random(shape) < density
    d2 = np.empty(shape); idx = np.empty(shape, np.int64)
    qk.squared_edt(mask, d2, idx)
    expect = naive_squared_edt(mask)
    assert np.array_equal(d2, expect)
    if mask.any():
        r, c = np.divmod(idx, shape[1])
        assert mask[r, c].all()
        rr, cc = np.indices(shape)
        assert np.array_equal((rr - r) ** 2 + (cc - c) ** 2, d2)
    else:
        assert (idx == -1).all()


def test_distance_transform_checks_input():
    with pytest.raises(ValueError, match="feature must be a non-empty 2-D bool array"):
        distance_transform(np.zeros((3, 3)))
    d, idx = distance_transform(np.eye(3, dtype=bool), nearest=True)
    assert d[0, 2] == pytest.approx(math.sqrt(2)) and idx[0, 1] in (0, 4)


# -- watersheds ------------------------------------------------------------------------------
def test_watersheds_by_hand():
    # Sea in the first and last column; a ridge at col 2 slopes to the west, col 3 east.
    h = np.tile(np.array([0.0, 1.0, 3.0, 2.0, 0.0]), (5, 1))
    lv = make_level(h)
    ws = lv.watersheds()
    assert ws.count == 10
    for r in range(5):
        assert ws.labels[r].tolist() == [0, 2 * r + 1, 2 * r + 1, 2 * r + 2, 0]
        assert ws.outlets[2 * r].tolist() == [r, 0] and ws.outlets[2 * r + 1].tolist() == [r, 4]
    assert lv.watershed_at(2, 2) == 5 and lv.watershed_at(2, 3) == 6
    assert lv.watershed_at(0, 0) == 0


def test_drain_outlets_matches_naive():
    lv = generate_level(seed=3, shape=48, cell_size=4000.0, preset="islands")
    filled = fill_depressions(lv.height, outlets=lv.water)
    d = flow_directions(filled, outlets=lv.water)
    out = np.empty(d.size, np.int64)
    assert qk.drain_outlets(d, out) == d.size
    assert np.array_equal(out, naive_drain_outlets(d))
    ws = lv.watersheds()
    # Every land cell's label is its outlet's; outlets are water or on the map edge.
    land = lv.land.ravel()
    outlets_flat = ws.outlets[:, 0] * d.shape[1] + ws.outlets[:, 1]
    assert np.array_equal(outlets_flat[ws.labels.ravel()[land] - 1], out[land])
    r, c = ws.outlets.T
    assert (lv.water[r, c] | (r == 0) | (c == 0) | (r == 47) | (c == 47)).all()


def test_drain_outlets_reports_a_cycle():
    d = np.array([[0, 4]], np.int8)           # east then west: a loop
    out = np.empty(2, np.int64)
    assert qk.drain_outlets(d, out) < 2


# -- spawn points ----------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2**63 + 5])
@pytest.mark.parametrize("radius", [1.0, 2.5, 6.0])
def test_poisson_kernel_matches_naive(seed, radius):
    valid = np.random.default_rng(seed % 1000).random((18, 23)) < 0.7
    valid[5:9, :] = False                       # two separate regions
    got = qk.poisson_disc(valid, radius, 30, np.uint64(seed))
    expect = naive_poisson_disc(valid, radius, 30, seed)
    assert got.shape == expect.shape
    assert np.allclose(got, expect, rtol=0, atol=1e-9)


def test_poisson_properties():
    valid = np.ones((40, 50), bool)
    valid[10:30, 20:30] = False
    radius = 3.0
    pts = qk.poisson_disc(valid, radius, 30, np.uint64(42))
    r, c = cells_of(pts[:, 0], pts[:, 1])
    assert valid[r, c].all()
    d = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    assert d.min() >= radius
    # Nearly maximal: every valid cell centre lies within radius + a cell diagonal.
    centres = np.argwhere(valid).astype(float)
    gap = np.hypot(*(centres[:, None, :] - pts[None, :, :]).transpose(2, 0, 1)).min(axis=1)
    assert gap.max() < radius + math.sqrt(2)
    assert len(qk.poisson_disc(np.zeros((5, 5), bool), 1.0, 30, np.uint64(1))) == 0


def test_spawn_points_on_a_level():
    lv = generate_level(seed=1, shape=64, cell_size=4000.0, preset="continent")
    pts = lv.spawn_points(10, min_spacing=12000.0, min_water_distance=8000.0, rng=3)
    assert pts.shape == (10, 2)
    r, c = cells_of(pts[:, 0], pts[:, 1])
    assert lv.land[r, c].all() and not lv.river_mask()[r, c].any()
    assert (lv.distance_to_water(include_rivers=True)[r, c] >= 8000.0).all()
    d = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1)) * lv.cell_size
    np.fill_diagonal(d, np.inf)
    assert d.min() >= 12000.0
    assert np.array_equal(pts, lv.spawn_points(10, min_spacing=12000.0,
                                               min_water_distance=8000.0, rng=3))
    again = lv.spawn_points(10, min_spacing=12000.0, rng=np.random.default_rng(3))
    assert again.shape == (10, 2)
    # `where` restricts; fewer points come back, with a warning, when there is no more room.
    only = np.zeros(lv.shape, bool); only[r[0], c[0]] = True
    with pytest.warns(SpawnPointsWarning, match="asked for 5 spawn points but only 1 fit"):
        one = lv.spawn_points(5, min_spacing=4000.0, where=only & lv.land, rng=0)
    assert one.shape == (1, 2) and cells_of(*one[0]) == (r[0], c[0])
    assert lv.spawn_points(0, min_spacing=4000.0).shape == (0, 2)


def test_spawn_points_say_when_fewer_fit(recwarn):
    lv = generate_level(seed=1, shape=64, cell_size=4000.0, preset="continent")
    with pytest.warns(SpawnPointsWarning) as caught:
        many = lv.spawn_points(1000, min_spacing=12000.0, min_water_distance=4000.0, rng=3)
    assert 0 < len(many) < 1000
    message = str(caught[0].message)
    allowed = int(((lv.distance_to_water(include_rivers=True) >= 4000.0) & lv.land
                   & ~lv.river_mask()).sum())
    assert message.startswith(f"asked for 1000 spawn points but only {len(many)} fit on the "
                              f"{allowed:,} allowed cells at min_spacing 12000 m; returning "
                              f"{len(many)}. For more, pass a smaller min_spacing or a "
                              f"smaller min_water_distance")
    # The warning points at the caller's line (here), not inside procgen.
    assert caught[0].filename == __file__
    # Asking for what fits is silent; so is asking for nothing.
    recwarn.clear()
    again = lv.spawn_points(len(many), min_spacing=12000.0, min_water_distance=4000.0, rng=3)
    assert len(again) == len(many) and len(recwarn) == 0
    # No allowed cell at all: an empty result, and the warning says so.
    with pytest.warns(SpawnPointsWarning, match="only 0 fit on the 0 allowed cells.*larger where"):
        none = lv.spawn_points(3, min_spacing=4000.0, where=np.zeros(lv.shape, bool))
    assert none.shape == (0, 2)
    # Games that need every point make it an error.
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpawnPointsWarning)
        with pytest.raises(SpawnPointsWarning):
            lv.spawn_points(1000, min_spacing=12000.0, rng=3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=-1, min_spacing=5000.0), "n must be in 0..inf, got -1"),
    (dict(n=3, min_spacing=100.0), r"min_spacing must be at least one cell \(4000 m\), got 100"),
    (dict(n=3, min_spacing=5000.0, min_water_distance=-1.0), "min_water_distance must be in"),
    (dict(n=3, min_spacing=5000.0, where=np.ones((2, 2), bool)), "where must be a bool array"),
    (dict(n=3, min_spacing=5000.0, rng="seed"), "rng must be a numpy.random.Generator"),
])
def test_spawn_points_bad_input(kwargs, match):
    lv = generate_level(seed=1, shape=16, cell_size=4000.0, rivers="none")
    n = kwargs.pop("n")
    with pytest.raises((ValueError, TypeError), match=match):
        lv.spawn_points(n, **kwargs)


# -- caching ---------------------------------------------------------------------------------
def test_derived_grids_are_cached_read_only_and_refreshed():
    lv = _river_level()
    a = lv.distance_to_water()
    assert lv.distance_to_water() is a
    assert not a.flags.writeable
    with pytest.raises(ValueError):
        a[0, 0] = 1.0
    lv.water = lv.water.copy(); lv.water[0, 0] = True          # replaced: recomputed
    assert lv.distance_to_water()[0, 0] == 0.0
    lv.water[2, 0] = True                                       # in place: stale until cleared
    assert lv.distance_to_water()[2, 0] > 0.0
    lv.clear_cache()
    assert lv.distance_to_water()[2, 0] == 0.0
    assert not lv.river_mask().flags.writeable
    lv.rivers = []
    assert not lv.river_mask().any()
