"""Stream-power erosion: the kernel against its naive twin, the stage's guarantees, bad input."""

import numpy as np
import pytest

from procgen import generate_level
from procgen._kernels import erosion as _ek
from procgen._kernels import rivers as _rk
from procgen.erosion import MIN_LAND, ErosionConfig, ErosionMode, erode
from procgen.hydrology import fill_depressions, flow_accumulation, flow_directions
from procgen.level import LevelConfig
from procgen.terrain import heightmap, preset

from . import naive


def _routed(h):
    sea = h <= 0
    return sea, flow_directions(fill_depressions(h, outlets=sea), outlets=sea)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("channel_area", [1.0, 6.0])
def test_step_matches_its_naive_twin(seed, channel_area):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(3, 14)), int(rng.integers(3, 14)))
    h = (rng.random(shape) * 40 - 5).astype(np.float32)
    h[rng.random(shape) < 0.05] = np.nan
    sea, directions = _routed(h)
    floor = np.where(sea, h, np.minimum(h, 1.0)).astype(np.float32)
    k_dt = float(rng.uniform(0.1, 5.0))
    fast = h.copy()
    order = _rk.topological_order(_rk.downstream_index(directions))
    assert len(order) == h.size
    _ek.stream_power_step(fast, directions, order, flow_accumulation(directions).ravel(), floor,
                          k_dt, channel_area)
    slow = naive.naive_stream_power_step(h, directions, floor, k_dt, channel_area)
    np.testing.assert_array_equal(fast, slow)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("channel_area", [1.0, 6.0])
def test_uplift_step_matches_its_naive_twin(seed, channel_area):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(3, 14)), int(rng.integers(3, 14)))
    h = (rng.random(shape) * 40 - 5).astype(np.float32)
    h[rng.random(shape) < 0.05] = np.nan
    sea, directions = _routed(h)
    floor = np.where(sea, h, np.minimum(h, 1.0)).astype(np.float32)
    rise = (rng.random(shape) * 3).astype(np.float32)
    k_dt = float(rng.uniform(0.1, 5.0))
    fast = h.copy()
    _ek.uplift_step(fast, directions, rise, floor, k_dt, channel_area)
    slow = naive.naive_uplift_step(h, directions, rise, floor, k_dt, channel_area)
    np.testing.assert_array_equal(fast, slow)
    # every routed cell ends strictly above its receiver: the next surface has no pits
    rows, cols = np.nonzero(directions >= 0)
    k = directions[rows, cols]
    step = np.array(naive._D8)[k]
    below = fast[rows + step[:, 0], cols + step[:, 1]]
    assert (fast[rows, cols] > below).all()


def _terrain(name="highlands", side=96):
    return heightmap((side, side), config=preset(name), cell_size=1000.0, seed=3)


def test_channels_are_cut_and_the_rest_is_kept():
    h = _terrain()
    cfg = ErosionConfig(steps=1, strength=4.0, channel_cells=30)
    worn = erode(h, config=cfg)
    sea, directions = _routed(h)
    area = flow_accumulation(directions)
    hillslope = (area < cfg.channel_cells) & ~sea
    assert np.array_equal(worn[hillslope], h[hillslope])       # one step: routing as above
    assert np.array_equal(worn[sea], h[sea])
    channel = (area >= cfg.channel_cells) & ~sea
    assert (worn[channel] < h[channel] - 1.0).mean() > 0.5     # most channels cut
    assert worn.max() == h.max()
    assert (worn[~sea] >= np.minimum(h[~sea], MIN_LAND)).all()  # land stays land


def test_more_erosion_cuts_deeper_and_the_input_is_untouched():
    h = _terrain()
    before = h.copy()
    weak = erode(h, config=ErosionConfig(steps=2, strength=1.0))
    strong = erode(h, config=ErosionConfig(steps=2, strength=10.0))
    assert np.array_equal(h, before)
    land = h > 0
    assert strong[land].sum() < weak[land].sum() < h[land].sum()
    assert np.array_equal(erode(h, config=ErosionConfig(steps=2, strength=10.0)), strong)


def test_erosion_off_returns_the_terrain_and_nan_stays_nan():
    h = _terrain(side=40)
    assert np.array_equal(erode(h, config=ErosionConfig()), h)
    assert np.array_equal(erode(h, config=ErosionConfig(steps=2, strength=0.0)), h)
    h[5:9, 5:9] = np.nan
    worn = erode(h, config=ErosionConfig(steps=2, channel_cells=5))
    assert np.array_equal(np.isnan(worn), np.isnan(h))


def test_erosion_lengthens_the_river_network():
    # The point of the stage (tests/benchmarks/bench_meanders.py measures Hack's law over 24
    # maps): deeper valleys, fewer lakes ending in a pit, longer rivers.
    def total_km(erosion):
        cfg = LevelConfig.from_preset("highlands", erosion=erosion)
        total = 0.0
        for seed in range(3):
            lv = generate_level(seed=seed, shape=128, cell_size=500.0, config=cfg)
            total += sum(float(np.hypot(*np.diff(r.path, axis=0).T).sum()) for r in lv.rivers)
        return total
    assert total_km(ErosionConfig(steps=2)) > total_km(ErosionConfig())


def test_levels_erode_under_uplift_unless_told_not_to():
    cfg = LevelConfig.from_preset("continent")
    default = generate_level(seed=1, shape=64, cell_size=1000.0, config=cfg)
    off = generate_level(seed=1, shape=64, cell_size=1000.0,
                         config=LevelConfig.from_preset("continent", erosion=ErosionConfig()))
    assert default.config.erosion == LevelConfig().erosion == ErosionConfig.uplifted()
    assert not ErosionConfig().enabled
    assert not np.array_equal(default.height, off.height)
    land = off.height > 0
    assert np.array_equal(default.height > 0, land)             # the coast stays put


def _pit_cells(h):
    """Land cells a depression fill would raise: the lakes that cut drainage short."""
    sea = h <= 0
    return int((fill_depressions(h, outlets=sea) > h)[~sea].sum())


@pytest.mark.parametrize("name", ["highlands", "continent", "lowlands"])
def test_uplift_drains_the_land_and_keeps_its_heights(name):
    h = _terrain(name)
    before = h.copy()
    drained = ErosionConfig.uplifted(depressions_kept=0.0)
    up = erode(h, config=drained)
    assert np.array_equal(h, before)
    sea = h <= 0
    assert np.array_equal(up[sea], h[sea])                          # the sea and coast kept
    assert np.array_equal(np.sort(up[~sea]), np.sort(h[~sea]))      # the same heights, moved
    assert not np.array_equal(up, h)
    # The noise terrain's depressions are gone: only cells whose heights tie remain in one.
    assert _pit_cells(up) <= min(0.002 * (~sea).sum(), _pit_cells(h) / 4)
    assert np.array_equal(erode(h, config=drained), up)


def test_uplift_keeps_lakes_where_the_noise_had_its_depressions():
    h = _terrain("highlands")
    land = h > 0
    drained = erode(h, config=ErosionConfig.uplifted(depressions_kept=0.0))
    half = erode(h, config=ErosionConfig.uplifted(depressions_kept=0.5))
    lakes = erode(h, config=ErosionConfig.uplifted())
    deep = (fill_depressions(h, outlets=~land) - h >= 0.01) & land
    # only the depressions' cells are lowered, the more the more is kept
    assert np.array_equal(lakes[~deep], drained[~deep])
    assert (lakes[deep] <= half[deep]).all() and (half[deep] <= drained[deep]).all()
    assert (lakes[deep] < drained[deep]).mean() > 0.9
    assert _pit_cells(drained) < _pit_cells(half) < _pit_cells(lakes) < _pit_cells(h)
    assert (lakes[land] >= np.minimum(h[land], MIN_LAND)).all()     # land stays land


def test_uplift_follows_the_terrain_as_much_as_asked():
    # At 1 the uplift is laid out as the heights: the high ground stays high ground.
    h = _terrain("continent")
    land = h > 0
    corr = [np.corrcoef(h[land], erode(h, config=ErosionConfig.uplifted(
        uplift_follows_terrain=share))[land])[0, 1] for share in (0.0, 0.5, 1.0)]
    assert corr[0] + 0.1 < corr[1] < corr[2] - 0.1
    assert corr[2] > 0.85


def test_uplift_keeps_no_data_and_an_all_sea_map():
    h = _terrain("continent", side=48)
    h[5:9, 5:9] = np.nan
    up = erode(h, config=ErosionConfig.uplifted(steps=3))
    assert np.array_equal(np.isnan(up), np.isnan(h))
    sea = -np.ones((8, 8), np.float32)
    assert np.array_equal(erode(sea, config=ErosionConfig.uplifted()), sea)


def test_channel_cells_default_to_the_mode():
    assert ErosionConfig().channel_area == 100.0
    assert ErosionConfig.uplifted().channel_area == 1.0
    assert ErosionConfig.uplifted(channel_cells=30).channel_area == 30.0
    assert ErosionConfig(mode="uplift").mode is ErosionMode.UPLIFT


@pytest.mark.parametrize("field, value, allowed", [
    ("steps", -1, "0"), ("steps", 1.5, "integer"), ("strength", float("nan"), "strength"),
    ("strength", -0.1, "0"), ("channel_cells", 0.5, "1"), ("mode", "sideways", "'uplift'"),
    ("uplift_follows_terrain", 1.5, "1"), ("depressions_kept", -0.5, "0"),
])
def test_bad_settings_name_the_parameter(field, value, allowed):
    with pytest.raises((ValueError, TypeError), match=field) as info:
        ErosionConfig(**{field: value})
    assert allowed in str(info.value)


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="ErosionConfig"):
        erode(np.zeros((4, 4)), config={"steps": 1})
    with pytest.raises(ValueError, match="height"):
        erode(np.zeros(4))
    with pytest.raises(TypeError, match="erosion must be a ErosionConfig"):
        LevelConfig(erosion={"steps": 1})
