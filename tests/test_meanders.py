"""Meanders on the drainage network: curves instead of D8 staircases, in their valleys."""

from dataclasses import replace

import numpy as np
import pytest

from procgen import generate_level
from procgen.level import LevelConfig
from procgen.meanders import (MAX_SINUOSITY, MEANDERS, MIN_SINUOSITY, meander,
                              target_sinuosity)
from procgen.paths import self_intersects
from procgen.rivers import RiversConfig, river_cells
from tests.test_rivers import course_heights

CASES = [("continent", 7), ("lowlands", 3), ("highlands", 11), ("islands", 5),
         ("archipelago", 2)]


def config(preset, meanders="curve"):
    cfg = LevelConfig.from_preset(preset)
    return replace(cfg, rivers=replace(cfg.rivers, meanders=meanders))


@pytest.fixture(scope="module", params=CASES, ids=[p for p, _ in CASES])
def pair(request):
    preset, seed = request.param
    kw = dict(seed=seed, shape=256, cell_size=500.0)
    return (generate_level(**kw, config=config(preset, "none")),
            generate_level(**kw, config=config(preset)))


def segment_angles(level):
    """Directions (degrees) of the drawn segments: not those across a lake's surface."""
    out = []
    for r in level.rivers:
        cells = np.rint(r.path).astype(np.int64)
        dry = ~level.water[cells[:, 0], cells[:, 1]]
        segs = np.diff(r.path, axis=0)[dry[:-1] & dry[1:]]
        out.append(segs[np.hypot(segs[:, 0], segs[:, 1]) > 0])
    segs = np.concatenate(out)
    return np.degrees(np.arctan2(segs[:, 0], segs[:, 1]))


def at_45(angles):
    m = np.mod(angles, 45.0)
    return np.isclose(m, 0.0, atol=1e-6) | np.isclose(m, 45.0, atol=1e-6)


def test_the_network_keeps_its_ends_junctions_and_records(pair):
    d8, curved = pair
    assert len(d8.rivers) == len(curved.rivers) > 0
    for a, b in zip(d8.rivers, curved.rivers):
        np.testing.assert_array_equal(a.path[[0, -1]], b.path[[0, -1]])
        assert (a.discharge, a.order, a.generator) == (b.discharge, b.order, b.generator)
        # every junction of the D8 network is still a vertex of both rivers that meet there
    ends = {tuple(r.path[-1]) for r in d8.rivers}
    for a, b in zip(d8.rivers, curved.rivers):
        on_a = {tuple(p) for p in a.path} & ends
        on_b = {tuple(p) for p in b.path}
        assert on_a <= on_b


def test_few_segments_lie_on_the_grids_directions(pair):
    d8, curved = pair
    assert at_45(segment_angles(d8)).mean() == 1.0
    assert at_45(segment_angles(curved)).mean() <= 0.15


def test_no_river_crosses_itself_or_another_but_at_a_junction(pair):
    _, lv = pair
    ends = {(int(r.path[i][0]), int(r.path[i][1])) for r in lv.rivers for i in (0, -1)}
    near = {(r + dr, c + dc) for r, c in ends for dr in (-1, 0, 1) for dc in (-1, 0, 1)}
    owner = {}
    for k, r in enumerate(lv.rivers):
        assert not self_intersects(r.path)
        cells, _ = river_cells(r, lv.shape)
        for cell in map(tuple, cells):
            j = owner.setdefault(cell, k)
            assert j == k or cell in near, f"rivers {j} and {k} meet at {cell}"


def test_heights_never_rise_along_any_carved_cell_and_rivers_end_in_water_or_a_river(pair):
    _, lv = pair
    cells_of = [{tuple(c) for c in river_cells(r, lv.shape)[0]} for r in lv.rivers]
    for k, r in enumerate(lv.rivers):
        cells, _ = river_cells(r, lv.shape)
        assert (np.diff(course_heights(lv, cells)) <= 0).all()
        last = tuple(cells[-1])
        edge = last[0] in (0, lv.shape[0] - 1) or last[1] in (0, lv.shape[1] - 1)
        assert lv.water[last] or edge or any(last in c for j, c in enumerate(cells_of) if j != k)


def test_a_reach_depends_only_on_the_seed_and_its_ends():
    from procgen import pipeline
    from procgen.hydrology import drain
    ctx = pipeline.context(seed=5, shape=192, cell_size=500.0)
    cfg = config("lowlands")
    height = pipeline.terrain_stage(ctx, cfg.terrain, ctx.stream("terrain"))
    drainage = drain(height, cell_size=500.0)
    base = pipeline.rivers_stage(ctx, drainage, replace(cfg.rivers, meanders="none"),
                                 ctx.stream("rivers"), pipeline.get_generator("flow"))
    stream = pipeline._children(ctx.stream("rivers"), pipeline.RIVER_STREAMS)["meanders"]
    forward = meander(base, drainage, config=cfg.rivers, stream=stream)
    backward = meander(base[::-1], drainage, config=cfg.rivers, stream=stream)[::-1]
    assert len(base) > 5
    for a, b in zip(forward, backward):
        np.testing.assert_array_equal(a.path, b.path)


def test_sinuosity_falls_with_slope_and_with_discharge_at_one_slope():
    s = target_sinuosity([1e-4, 1e-3, 1e-2, 1e-1], [50.0] * 4)
    assert (np.diff(s) < 0).all()
    assert s[0] > MAX_SINUOSITY - 0.05 and s[-1] < MIN_SINUOSITY + 0.01
    # Leopold & Wolman: the braiding threshold slope falls as discharge grows
    assert target_sinuosity(0.003, 500.0) < target_sinuosity(0.003, 5.0)
    # halfway between the lowest and the highest at the threshold
    assert target_sinuosity(0.0125 * 20.0 ** -0.44, 20.0) == pytest.approx(
        (MIN_SINUOSITY + MAX_SINUOSITY) / 2)


def test_an_unknown_meander_source_lists_the_available_ones():
    with pytest.raises(ValueError, match=r"meanders must be one of 'none', 'curve' or "
                                         r"'PREFIX:NAME' .*, got 'wiggly'"):
        RiversConfig(meanders="wiggly")
    assert MEANDERS == ("none", "curve")
    cfg = config("lowlands", "nosuch:thing")
    with pytest.raises(ValueError, match=r"meanders='nosuch:thing': no meander source plug-in "
                                         r"'nosuch' is installed; the sources here are "
                                         r"'none', 'curve'"):
        generate_level(seed=1, shape=64, cell_size=2000.0, config=cfg)
    # a fallback is used only when asked for, and said
    cfg = replace(cfg, rivers=replace(cfg.rivers, meanders_fallback="curve"))
    with pytest.warns(UserWarning, match="drawing 'curve' as meanders_fallback asks"):
        lv = generate_level(seed=1, shape=64, cell_size=2000.0, config=cfg)
    same = generate_level(seed=1, shape=64, cell_size=2000.0, config=config("lowlands"))
    assert [r.path.tolist() for r in lv.rivers] == [r.path.tolist() for r in same.rivers]


@pytest.mark.parametrize("seed", range(5))
def test_meander_kernels_match_their_naive_twins(seed):
    from procgen._kernels import meanders as mk
    from tests import naive
    rng = np.random.default_rng(seed)
    # a D8 walk and a valley map around it: Voronoi owner 0 in a band, another river beyond
    steps = rng.integers(-1, 2, (40, 2))
    steps[:, 1] = 1
    cells = np.cumsum(np.vstack([[20, 2], steps]), axis=0).astype(np.int64)
    widths = np.linspace(5.0, 40.0, len(cells))
    key = np.uint64(rng.integers(2 ** 63))
    for jitter, passes, half in ((0.0, 3, 1), (0.3, 3, 1), (0.3, 2, 3)):
        got = mk.centreline(cells[:, 0].copy(), cells[:, 1].copy(), widths, jitter, key,
                            passes, half)
        want = naive.naive_centreline(cells[:, 0], cells[:, 1], widths, jitter, key, passes,
                                      half)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=0, atol=1e-9)
    cen, _, length = mk.centreline(cells[:, 0].copy(), cells[:, 1].copy(), widths, 0.0, key,
                                   3, 1)
    args = (length, 1.2, 0.6711, 10.0, rng.standard_normal(2000), 0.3, 1.7)
    px, py = mk.sine_profile(*args)
    for g, w in zip((px, py), naive.naive_sine_profile(*args, drift=mk.DRIFT)):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-9)
    voronoi = np.zeros((48, 48), np.int64)
    voronoi[:, 40:] = 1
    basin = np.full((48, 48), 7, np.int64)
    water = np.zeros((48, 48), bool)
    water[18:24, 10:14] = True
    args = (cen, length, px, py, 10, voronoi, basin, water, 0, 7)
    got = mk.place_profile(*args)
    want = naive.naive_place_profile(*args)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-9)
    assert not np.allclose(got[0], got[1])            # it does meander


@pytest.mark.parametrize("seed", range(3))
def test_clash_and_stretch_kernels_match_their_naive_twins(seed):
    from procgen._kernels import meanders as mk
    from procgen.paths import arc_length, resample
    from tests import naive
    rng = np.random.default_rng(seed)
    # random walks on a small grid: some cross others
    sizes = rng.integers(2, 30, 8)
    cells = np.vstack([np.clip(np.cumsum(rng.integers(-2, 3, (n, 2)), axis=0)
                               + rng.integers(8, 56, 2), 0, 63) for n in sizes]).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    near = rng.random((64, 64)) < 0.3
    got = mk.river_clashes(cells[:, 0].copy(), cells[:, 1].copy(), offsets, near)
    want = naive.naive_river_clashes(cells[:, 0], cells[:, 1], offsets, near)
    np.testing.assert_array_equal(got, want)
    assert want.any() and not want.all()
    # shapes stretched to their own counts equal resample() of each, scaled
    shapes = np.cumsum(rng.standard_normal((5, 12, 2)), axis=1)
    shapes[2, 3:6] = shapes[2, 3]                     # zero-length segments
    cum = np.ascontiguousarray(arc_length(shapes))
    counts = rng.integers(2, 40, 5).astype(np.int64)
    scale = rng.uniform(1.0, 50.0, 5)
    x, y = mk.stretch_shapes(shapes, cum, counts, scale)
    want = np.vstack([resample(s, n) * f for s, n, f in zip(shapes, counts, scale)])
    np.testing.assert_allclose(np.stack([x, y], axis=1), want, rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_self_crossing_kernel_matches_its_naive_twin(seed):
    from procgen._kernels import meanders as mk
    from tests import naive
    rng = np.random.default_rng(seed)
    curves = [np.cumsum(rng.integers(-1, 2, (n, 2)), axis=0).astype(np.float64)
              for n in rng.integers(2, 40, 30)]
    curves += [np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 0.5]]),      # folds back
               np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]]),
               np.array([[3.0, 3.0], [3.0, 3.0]])]
    offsets = np.cumsum([0] + [len(c) for c in curves]).astype(np.int64)
    got = mk.self_crossing(np.concatenate(curves), offsets)
    want = np.array([naive.naive_self_intersection_count(c) > 0 for c in curves])
    np.testing.assert_array_equal(got, want)
    assert want.any() and not want.all()


def test_reach_keys_and_draws_match_their_naive_twins():
    from procgen._kernels import meanders as mk
    from tests import naive
    ends = np.array([[0, 0, 0, 1], [0, 1, 0, 0], [1023, 5, 7, 1000], [3, 3, 3, 3]], np.int64)
    base = np.random.SeedSequence(9).generate_state(1, np.uint64)[0]
    keys = mk.reach_keys(base, ends)
    np.testing.assert_array_equal(keys, naive.naive_reach_keys(base, ends))
    assert len(set(keys.tolist())) == len(keys)           # swapped ends give another key
    for key in keys:
        for got, want in zip(mk.reach_draws(key, 3, 7), naive.naive_reach_draws(key, 3, 7)):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    u, z = mk.reach_draws(keys[0], 20000, 20000)
    assert 0.0 <= u.min() and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.01
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1.0) < 0.03


def test_reaches_that_touch_fall_back_one_level_at_a_time_and_only_they_do():
    """Levels: 0 curve, 1 centreline, 2 D8 cells. Reaches 0 and 1 touch at (4, 5) as curves
    and still at (5, 5) as centrelines, so both end on their D8 cells; reach 2's curve
    runs through (6, 5), on reach 1's D8 path, so it falls back to its centreline, which
    touches no one; reach 3 touches no one and keeps its curve."""
    from procgen.meanders import _reach_ends, _untangle
    from procgen.river import River

    def p(points):
        return np.array(points, np.float64)

    rivers = [River(path=p(q), width=np.ones(2, np.float32), generator="flow")
              for q in ([(2, 0), (2, 10)], [(6, 0), (6, 10)], [(9, 20), (9, 30)],
                        [(0, 40), (10, 40)])]
    curves = [p([(2, 0), (4, 5), (2, 10)]), p([(6, 0), (4, 5), (6, 10)]),
              p([(9, 20), (6, 5), (9, 30)]), p([(0, 40), (5, 38), (10, 40)])]
    centres = [p([(2, 0), (5, 5), (2, 10)]), p([(6, 0), (5, 5), (6, 10)]),
               p([(9, 20), (9, 25), (9, 30)]), p([(0, 40), (10, 40)])]
    candidates = [(a, b, r.path) for a, b, r in zip(curves, centres, rivers)]
    level = _untangle(candidates, np.zeros(4, np.int64), _reach_ends(rivers), (12, 42))
    assert level.tolist() == [2, 2, 1, 0]
    # reaches that touch no one keep the level they came with
    assert _untangle([candidates[0], candidates[2]], np.array([0, 1]),
                     _reach_ends([rivers[0], rivers[2]]), (12, 42)).tolist() == [0, 1]


def test_a_straight_d8_run_gets_a_centreline_that_is_not_dead_straight_with_its_ends_kept():
    """Smoothed alone, a straight run of cells stays exactly straight (zero turns, which
    real rivers all but never have); moved by up to CENTRE_JITTER first, it does not."""
    from procgen._kernels import meanders as mk
    from procgen.meanders import CENTRE_JITTER, CENTRE_SMOOTHING
    from procgen.paths import turning_angles

    rows = np.full(40, 5, np.int64)
    cols = np.arange(40, dtype=np.int64)
    widths = np.ones(40)
    key = np.uint64(12345)
    flat, _, _ = mk.centreline(rows, cols, widths, 0.0, key, *CENTRE_SMOOTHING)
    moved, _, _ = mk.centreline(rows, cols, widths, CENTRE_JITTER, key, *CENTRE_SMOOTHING)
    assert np.all(flat[:, 0] == 5.0)
    assert np.array_equal(moved[[0, -1]], flat[[0, -1]])          # junctions meet exactly
    turns = turning_angles(moved)
    assert np.mean(np.abs(turns) < 1e-6) < 0.05
    assert np.abs(moved[:, 0] - 5.0).max() < CENTRE_JITTER           # still on its cells
