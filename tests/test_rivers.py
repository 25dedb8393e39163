"""Rivers in Levels: every generator's rivers flow downhill and end in water or at the edge."""

from dataclasses import replace

import numpy as np
import pytest

from procgen import Level, River, generate_level
from procgen.erosion import erode
from procgen.hydrology import drain
from procgen.level import LevelConfig, stage_seed
from procgen.rivers import (BUILTIN_GENERATORS, RiverGenerator, RiversConfig, carve_rivers,
                            get_generator, river_cells)
from procgen.terrain import heightmap, preset

GENERATORS = [name for name in BUILTIN_GENERATORS if name != "none"]


def course_heights(level: Level, cells: np.ndarray) -> np.ndarray:
    """Heights along a river's cells, less the cells where it crosses a lake on its surface
    (water it leaves again); the water it ends in stays."""
    wet = level.water[cells[:, 0], cells[:, 1]]
    keep = ~wet
    if keep.any():
        keep[len(wet) - np.argmax(keep[::-1]):] = True
    return level.height[cells[keep, 0], cells[keep, 1]]


def assert_rivers_flow_downhill(level: Level):
    """The Level contract: heights never rise from source to mouth along every cell a river
    runs through (across a lake it runs on the water: its cells there are skipped), and it
    ends in the sea, a lake, at the map edge, or on another river."""
    nr, nc = level.shape
    owners = {}
    courses = [river_cells(river, level.shape)[0] for river in level.rivers]
    for k, cells in enumerate(courses):
        for cell in map(tuple, cells):
            owners.setdefault(cell, set()).add(k)
    for k, (river, cells) in enumerate(zip(level.rivers, courses)):
        h = course_heights(level, cells)
        rises = np.flatnonzero(np.diff(h) > 0)
        assert rises.size == 0, (f"{river.generator} river {k} rises at cell {rises[:3]}: "
                                 f"{h[rises[0]]} -> {h[rises[0] + 1]}")
        cells = np.rint(river.path).astype(int)
        r, c = cells[-1]
        ends_well = (level.water[r, c] or r in (0, nr - 1) or c in (0, nc - 1)
                     or bool(owners.get((r, c), set()) - {k}))
        assert ends_well, f"{river.generator} river {k} ends on dry land at ({r}, {c})"


@pytest.mark.parametrize("generator", GENERATORS)
@pytest.mark.parametrize("name", ["continent", "islands", "highlands", "lowlands", "archipelago"])
def test_every_generator_flows_downhill(generator, name):
    for seed in (1, 2):
        level = generate_level(seed=seed, shape=(96, 128), cell_size=2500.0, preset=name,
                               rivers=generator)
        assert all(r.generator == generator for r in level.rivers)
        assert_rivers_flow_downhill(level)


@pytest.mark.parametrize("generator", ["walker", "sine"])
def test_shape_generators_on_tiny_islands(generator):
    # Few land cells, most of them in the lower half by height: the source draw must not ask
    # for more candidates than have a non-zero weight (it crashed in numpy's choice before).
    for seed in range(8):
        level = generate_level(seed=seed, shape=48, cell_size=5000.0, preset="islands",
                               rivers=generator)
        assert_rivers_flow_downhill(level)


@pytest.mark.slow
@pytest.mark.parametrize("generator", GENERATORS)
def test_downhill_invariant_over_many_seeds(generator):
    for seed in range(20):
        name = ["continent", "islands", "highlands", "lowlands", "archipelago"][seed % 5]
        level = generate_level(seed=1000 + seed, shape=(128, 128), cell_size=2000.0,
                               preset=name, rivers=generator)
        assert_rivers_flow_downhill(level)


def test_flow_rivers_form_a_tree_with_orders_and_widths():
    # the network itself, on its D8 cells (meanders redraw its reaches: test_meanders.py)
    cfg = LevelConfig.from_preset("continent", rivers=RiversConfig(min_area_km2=100.0,
                                                                   meanders="none"))
    level = generate_level(seed=4, shape=(256, 256), cell_size=1000.0, config=cfg)
    rivers = level.rivers
    assert len(rivers) > 5
    assert max(r.order for r in rivers) >= 2
    for r in rivers:
        assert np.all(np.diff(r.width[:-1]) >= 0)  # discharge grows downstream
        steps = np.abs(np.diff(r.path, axis=0))
        assert np.all(steps.max(axis=1) == 1)      # D8 steps between cell centres
    # Each cell of the network belongs to one river; shared cells are only junction ends.
    owner = {}
    for k, r in enumerate(rivers):
        for cell in map(tuple, r.path[:-1].astype(int)):
            assert cell not in owner, "two rivers share a non-junction cell"
            owner[cell] = k


def test_more_area_fewer_rivers():
    def count(area):
        cfg = LevelConfig.from_preset("continent", rivers=RiversConfig(min_area_km2=area))
        return len(generate_level(seed=4, shape=128, cell_size=2000.0, config=cfg).rivers)
    assert count(25.0) > count(400.0)


def test_changing_rivers_leaves_terrain_and_lakes_identical():
    a = generate_level(seed=9, shape=96, cell_size=3000.0, rivers="flow")
    b = generate_level(seed=9, shape=96, cell_size=3000.0, rivers="walker")
    assert np.array_equal(a.water, b.water) and np.array_equal(a.lakes, b.lakes)
    terrain = erode(heightmap(96, config=preset("continent"), cell_size=3000.0,
                              seed=stage_seed(9, "terrain")), config=a.config.erosion)
    # Away from every river's valley the heights are the eroded, conditioned terrain in both.
    base = drain(terrain, cell_size=3000.0).height
    far = np.ones(a.shape, bool)
    for lv in (a, b):
        for r in lv.rivers:
            cells, _ = river_cells(r, lv.shape)
            for dr in range(-3, 4):
                for dc in range(-3, 4):
                    far[np.clip(cells[:, 0] + dr, 0, 95), np.clip(cells[:, 1] + dc, 0, 95)] = False
    assert far.mean() > 0.3
    assert np.array_equal(a.height[far], base[far]) and np.array_equal(b.height[far], base[far])


def test_thresholds_are_cells_at_the_reference_cell_size():
    cfg = RiversConfig(min_area_km2=100.0, min_length_km=4.0)
    for cell_size in (100.0, 500.0, 1000.0):
        assert cfg.min_area_cells(cell_size) == 400.0 and cfg.min_length_cells(cell_size) == 8
    fixed = RiversConfig(min_area_km2=100.0, min_length_km=4.0, reference_cell_size=None)
    assert fixed.min_area_cells(1000.0) == 100.0 and fixed.min_area_cells(100.0) == 10_000.0
    assert fixed.min_length_cells(1000.0) == 4 and fixed.min_length_cells(4000.0) == 2
    with pytest.raises(ValueError, match=r"reference_cell_size must be in \(0, 1e\+06\], got -5"):
        RiversConfig(reference_cell_size=-5.0)
    with pytest.raises(ValueError, match=r"cell_size must be in \[0\.001, 1e\+06\], got 0"):
        cfg.min_area_cells(0.0)


def test_same_network_at_every_cell_size_from_the_reference_up():
    # The terrain and the thresholds are the same in cells at 500 m and 1 km, so the rivers
    # run through the same cells; a channel drains four times the area, so it is twice as wide.
    # (Meanders are left out: they follow slope and discharge, which do change.)
    cfg = LevelConfig.from_preset("islands")
    cfg = replace(cfg, rivers=replace(cfg.rivers, meanders="none"))
    a = generate_level(seed=1, shape=256, cell_size=500.0, config=cfg)
    b = generate_level(seed=1, shape=256, cell_size=1000.0, config=cfg)
    assert len(a.rivers) == len(b.rivers) > 0
    for ra, rb in zip(a.rivers, b.rivers):
        assert np.array_equal(ra.path, rb.path) and ra.order == rb.order
        assert np.allclose(rb.width, 2.0 * ra.width, rtol=1e-5)


def test_same_seed_same_rivers():
    for generator in GENERATORS:
        a = generate_level(seed=3, shape=96, cell_size=3000.0, rivers=generator)
        b = generate_level(seed=3, shape=96, cell_size=3000.0, rivers=generator)
        assert len(a.rivers) == len(b.rivers)
        for ra, rb in zip(a.rivers, b.rivers):
            assert np.array_equal(ra.path, rb.path) and np.array_equal(ra.width, rb.width)
        assert np.array_equal(a.height, b.height)


class Straight:
    """A custom generator through the protocol: straight rivers from peaks to the sea."""

    name = "straight"

    def generate(self, drainage, *, rng, config):
        nr, nc = drainage.water.shape
        r, c = divmod(int(np.argmax(drainage.height)), nc)
        return [River(path=np.array([[r, c], [r, 0.0]]), width=np.array([1.0, 5.0]),
                      generator=self.name)]


def test_custom_generator_object_is_carved_downhill():
    gen = Straight()
    assert isinstance(gen, RiverGenerator)
    level = generate_level(seed=5, shape=(64, 80), cell_size=4000.0, preset="highlands",
                           rivers=gen)
    assert level.config.rivers.generator == "straight"
    assert len(level.rivers) == 1
    assert_rivers_flow_downhill(level)


def test_carving_settles_crossing_rivers():
    h = np.tile(np.linspace(100, 10, 20, dtype=np.float32), (20, 1))  # slopes down to the east
    rivers = [River(path=np.array([[0.0, 19.0], [19.0, 0.0]]), width=np.ones(2), generator="a"),
              River(path=np.array([[19.0, 19.0], [0.0, 0.0]]), width=np.ones(2), generator="b")]
    carve_rivers(h, rivers, cell_size=100.0, config=RiversConfig())
    for river in rivers:
        cells, _ = river_cells(river, h.shape)
        assert np.all(np.diff(h[cells[:, 0], cells[:, 1]]) <= 0)


def test_unknown_generator_and_missing_torch_messages():
    with pytest.raises(ValueError, match="rivers must be one of 'flow', 'walker'.*got 'lava'"):
        get_generator("lava")
    with pytest.raises(TypeError, match="rivers must be a generator name"):
        get_generator(42)


def test_rivers_round_trip_through_the_level_file(tmp_path):
    level = generate_level(seed=6, shape=128, cell_size=2000.0, rivers="sine")
    level.save(tmp_path / "l.npz")
    back = Level.load(tmp_path / "l.npz")
    assert len(back.rivers) == len(level.rivers) > 0
    assert back.config.rivers.generator == "sine"
    assert np.array_equal(back.height, level.height) and np.array_equal(back.lakes, level.lakes)


def test_render_draws_rivers():
    level = generate_level(seed=6, shape=256, cell_size=2000.0)
    assert level.rivers
    with_rivers = level.render()
    level.rivers = []
    assert not np.array_equal(with_rivers, level.render())


@pytest.mark.slow
def test_rivers_run_on_through_lakes_so_networks_hold_long_rivers():
    # Issue target: at least 100 rivers of 50 km or more over 24 maps of 512^2 cells at 500 m,
    # mixed presets (2 when lakes ended rivers; 146 now).
    presets = ["continent", "islands", "archipelago", "highlands", "lowlands", "continent"]
    long_rivers = 0
    for seed in range(24):
        level = generate_level(seed=seed, shape=512, cell_size=500.0,
                               preset=presets[seed % 6])
        long_rivers += sum(r.length_cells * 0.5 >= 50.0 for r in level.rivers)
    assert long_rivers >= 100
