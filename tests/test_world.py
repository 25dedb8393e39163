"""Endless worlds: every window is the crop of any larger one, rivers honest and continuous.

One small world (256-cell landmasses, 2 km cells) and one large region of it that spans
several landmasses are shared by the tests; Hypothesis draws windows inside it (derandomized,
so CI sees the same windows every run).
"""

import hashlib
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procgen import Level
from tests.test_rivers import course_heights
from procgen.world import WORLD_PERIOD_TILES, World, WorldConfig

BIG_AT = (-300, -200)
BIG_SHAPE = (700, 700)
GENERATORS = ("flow", "walker")
HYPO = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def make_world(rivers="flow", **kw):
    return World(seed=3, preset="continent", cell_size=2000.0, rivers=rivers,
                 **{"tile": 256, **kw})


@pytest.fixture(scope="module", params=GENERATORS)
def world_and_big(request):
    world = make_world(request.param)
    return world, world.region(*BIG_AT, BIG_SHAPE)


def world_cells(level, at):
    """Every river cell of a region as (id, global row, global col)."""
    out = set()
    for r in level.rivers:
        for row, col in r.path.astype(np.int64):
            out.add((r.id, row + at[0], col + at[1]))
    return out


LAYERS = ("height", "water", "lakes", "biomes")


def assert_crop(big, small, r, c):
    h, w = small.shape
    for name in LAYERS:
        np.testing.assert_array_equal(getattr(big, name)[r:r + h, c:c + w],
                                      getattr(small, name), err_msg=name)
    np.testing.assert_array_equal(big.river_mask()[r:r + h, c:c + w], small.river_mask())
    np.testing.assert_array_equal(big.river_width()[r:r + h, c:c + w], small.river_width())
    # The rivers are the big region's rivers cut to the window: the same cells and ids.
    inside = {(i, row, col) for i, row, col in world_cells(big, (0, 0))
              if r <= row < r + h and c <= col < c + w}
    assert world_cells(small, (r, c)) == inside


@HYPO
@given(r=st.integers(0, BIG_SHAPE[0] - 1), c=st.integers(0, BIG_SHAPE[1] - 1),
       h=st.integers(1, 120), w=st.integers(1, 120))
def test_a_region_is_the_crop_of_a_larger_one_for_every_layer(world_and_big, r, c, h, w):
    world, big = world_and_big
    h, w = min(h, BIG_SHAPE[0] - r), min(w, BIG_SHAPE[1] - c)
    small = world.region(BIG_AT[0] + r, BIG_AT[1] + c, (h, w))
    assert_crop(big, small, r, c)


def test_the_big_region_spans_several_landmasses_with_rivers_and_lakes(world_and_big):
    world, big = world_and_big
    tiles = {world.landmass_of(BIG_AT[0] + r, BIG_AT[1] + c)
             for r in (0, BIG_SHAPE[0] - 1) for c in (0, BIG_SHAPE[1] - 1)}
    assert len(tiles) == 4
    assert len(big.rivers) > 20 and (big.lakes > 0).any() and (~big.water).mean() > 0.1


def test_rivers_flow_downhill_along_every_cell_and_end_in_water_on_a_river_or_the_border(
        world_and_big):
    world, big = world_and_big
    rows, cols = big.shape
    cells_by_id = {}
    for r in big.rivers:
        cells_by_id.setdefault(r.id, set()).update(map(tuple, r.path.astype(np.int64)))
    ends = 0
    for r in big.rivers:
        p = r.path.astype(np.int64)
        assert np.abs(np.diff(p, axis=0)).max(initial=0) <= 1       # 8-connected cells
        h = course_heights(big, p)
        assert (np.diff(h) <= 0).all(), "a river rises"
        last = tuple(p[-1])
        if last[0] in (0, rows - 1) or last[1] in (0, cols - 1):
            continue                                                # carries on outside
        ends += 1
        joins = any(last in cells for i, cells in cells_by_id.items() if i != r.id)
        assert big.water[last] or joins, f"river {r.id} ends on dry land at {last}"
    assert ends > 10


def test_rivers_continue_across_region_borders_under_the_same_id(world_and_big):
    world, big = world_and_big
    # Four quadrants of the big region, generated on their own, hold exactly its river
    # cells; and a piece that stops at a quadrant's border carries on in the next one.
    half = (BIG_SHAPE[0] // 2, BIG_SHAPE[1] // 2)
    quads = {}
    for qr in (0, half[0]):
        for qc in (0, half[1]):
            at = (BIG_AT[0] + qr, BIG_AT[1] + qc)
            quads[(qr, qc)] = world.region(*at, half)
    union = set()
    for (qr, qc), lv in quads.items():
        union |= world_cells(lv, (qr, qc))
    assert union == world_cells(big, (0, 0))
    crossings = 0
    for r in big.rivers:
        p = r.path.astype(np.int64)
        quad = (p[:, 0] >= half[0]) * 2 + (p[:, 1] >= half[1])
        for k in np.flatnonzero(np.diff(quad)):
            crossings += 1
            a, b = tuple(p[k]), tuple(p[k + 1])
            qa = (a[0] >= half[0]) * half[0], (a[1] >= half[1]) * half[1]
            qb = (b[0] >= half[0]) * half[0], (b[1] >= half[1]) * half[1]
            ends_a = [tuple(x + np.array(qa)) for s in quads[qa].rivers if s.id == r.id
                      for x in s.path[-1:].astype(np.int64)]
            starts_b = [tuple(x + np.array(qb)) for s in quads[qb].rivers if s.id == r.id
                        for x in s.path[:1].astype(np.int64)]
            assert a in ends_a and b in starts_b
    assert crossings > 0


def test_widths_come_from_the_whole_landmass_not_the_region(world_and_big):
    world, big = world_and_big
    # The widest river cell of the big region: a small window around it sees the same width.
    width = big.river_width()
    r, c = np.unravel_index(np.argmax(width), width.shape)
    small = world.region(BIG_AT[0] + r - 2, BIG_AT[1] + c - 2, (5, 5))
    assert small.river_width()[2, 2] == width[r, c] > 0


def test_far_regions_cost_what_near_ones_cost_and_wrap_after_the_period():
    world = make_world()
    for at in [(0, 0), (10 ** 12, -10 ** 12)]:
        world.region(*at, (64, 64))                  # landmasses drained once
    # Best of several, interleaved: a busy machine slows single runs, not the best one.
    times = {(0, 0): [], (10 ** 12, -10 ** 12): []}
    for _ in range(5):
        for at in times:
            t0 = time.perf_counter()
            world.region(*at, (64, 64))
            times[at].append(time.perf_counter() - t0)
    assert min(times[(10 ** 12, -10 ** 12)]) < 3 * min(times[(0, 0)]) + 0.02
    period = WORLD_PERIOD_TILES * world.world.tile
    a = world.region(5, 7, (32, 32))
    b = world.region(5 + period, 7 - 3 * period, (32, 32))
    np.testing.assert_array_equal(a.height, b.height)
    lo, hi = -2 ** 63, 2 ** 63 - 1
    for at in [(lo, lo), (hi - 15, hi - 15)]:
        assert world.region(*at, (16, 16)).shape == (16, 16)


def test_the_same_region_whatever_was_asked_first():
    a, b = make_world(), make_world()
    x, y = (40, 900, (48, 48)), (-500, 30, (48, 48))
    ax, ay = a.region(*x), a.region(*y)
    by, bx = b.region(*y), b.region(*x)
    for one, two in ((ax, bx), (ay, by)):
        for name in LAYERS:
            np.testing.assert_array_equal(getattr(one, name), getattr(two, name))
        assert [(r.id, r.path.tolist()) for r in one.rivers] == \
            [(r.id, r.path.tolist()) for r in two.rivers]


def region_digest(level) -> str:
    h = hashlib.sha256()
    for name in LAYERS:
        h.update(np.ascontiguousarray(getattr(level, name)).tobytes())
    for r in level.rivers:
        h.update(r.path.tobytes() + r.width.tobytes() + str(r.id).encode())
    return h.hexdigest()


@pytest.mark.slow
def test_same_bytes_across_processes_and_thread_counts():
    code = ("from procgen.world import World; from tests.test_world import region_digest; "
            "w = World(seed=3, preset='continent', cell_size=2000.0, tile=256); "
            "print(region_digest(w.region(-100, 50, (200, 300))))")
    here = region_digest(make_world().region(-100, 50, (200, 300)))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, cwd=root, timeout=300)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == here


def test_a_region_saves_and_loads_with_its_river_ids(tmp_path):
    level = make_world().region(0, 0, (128, 128))
    assert level.rivers and all(r.id is not None for r in level.rivers)
    back = Level.load(level.save(tmp_path / "region.npz"))
    assert [r.id for r in back.rivers] == [r.id for r in level.rivers]
    np.testing.assert_array_equal(back.lakes, level.lakes)


def test_learned_river_shapes_do_not_depend_on_which_region_asked_first():
    pytest.importorskip("learned.placement")
    try:
        a = make_world("learned:ar")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        pytest.skip(f"learned rivers unavailable: {exc}")
    b = make_world("learned:ar")
    x, y = (0, 0, (64, 64)), (-300, -300, (300, 300))
    ax, ay = a.region(*x), a.region(*y)
    by, bx = b.region(*y), b.region(*x)
    assert ay.rivers
    for one, two in ((ax, bx), (ay, by)):
        assert [(r.id, r.path.tolist()) for r in one.rivers] == \
            [(r.id, r.path.tolist()) for r in two.rivers]


def test_the_cache_is_bounded_and_states_its_size():
    world = make_world(cache=3)
    for k in range(6):
        world.region(k * 256 * 7, 0, (8, 8))
    assert len(world._cache) <= 3
    assert 0 < world.cache_bytes < 3 * 2_000_000


@pytest.mark.parametrize("kwargs, match", [
    ({"tile": 300}, "tile must be a power of two, got 300"),
    ({"tile": 128, "coarse": 16}, "tile must hold at least 16 coarse cells"),
    ({"cache": 0}, "cache must be"),
])
def test_bad_world_settings_are_refused_with_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_world(**kwargs)


@pytest.mark.parametrize("args, match", [
    ((0.5, 0, 8), "row must be an integer"),
    ((0, 2 ** 63, 8), "col must be"),
    ((0, 0, (0, 8)), "shape"),
    ((0, 0, (9000, 9000)), "shape"),
])
def test_bad_regions_are_refused_with_one_clear_error(args, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make_world().region(*args)


def test_world_config_defaults_state_the_cache_bound():
    cfg = WorldConfig()
    assert (cfg.tile, cfg.coarse, cfg.cache) == (1024, 8, 64)


# -- the kernels against their naive twins ---------------------------------------------------
def _random_rivers(rng, n_rivers, size):
    rows, cols, offsets = [], [], [0]
    for _ in range(n_rivers):
        r, c = rng.integers(0, size, 2)
        for _ in range(rng.integers(2, 12)):
            rows.append(r)
            cols.append(c)
            r = int(np.clip(r + rng.integers(-1, 2), 0, size - 1))
            c = int(np.clip(c + rng.integers(-1, 2), 0, size - 1))
        offsets.append(len(rows))
    return (np.array(rows, np.int64), np.array(cols, np.int64), np.array(offsets, np.int64))


@pytest.mark.parametrize("seed", range(4))
def test_relax_beds_matches_its_naive_twin(seed):
    from procgen._kernels.world import relax_beds
    from tests import naive
    rng = np.random.default_rng(seed)
    rows, cols, offsets = _random_rivers(rng, 4, 12)
    z = rng.uniform(0, 50, len(rows)).astype(np.float32)
    radius = rng.uniform(0.5, 4.0, len(rows))
    want = naive.naive_relax_beds(rows, cols, offsets, z, radius, 3.0)
    got = z.copy()
    passes = relax_beds(rows, cols, offsets, got, radius, 3.0, 12, 12, 1000)
    assert passes < 1000
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("origin", [(0, 0), (-5, 7), (20, -30)])
def test_carve_valleys_at_matches_its_naive_twin(origin):
    from procgen._kernels.world import carve_valleys_at
    from tests import naive
    rng = np.random.default_rng(1)
    height = rng.uniform(0, 100, (15, 18)).astype(np.float32)
    rows = rng.integers(-25, 40, 30)
    cols = rng.integers(-35, 45, 30)
    z = rng.uniform(-5, 60, 30).astype(np.float32)
    radius = rng.uniform(0.5, 6.0, 30)
    want = naive.naive_carve_valleys_at(height, *origin, rows, cols, z, radius, 2.5)
    got = height.copy()
    carve_valleys_at(got, *origin, rows, cols, z, radius, 2.5)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("radius", [1.0, 1.5, 2.0, 4.0, 5.7, 6.0])
def test_beach_dilation_equals_the_distance_transform(radius):
    from procgen.queries import distance_transform
    from procgen.world import _within
    mask = np.random.default_rng(int(radius * 10)).random((40, 55)) < 0.03
    np.testing.assert_array_equal(_within(mask, radius), distance_transform(mask) <= radius)
