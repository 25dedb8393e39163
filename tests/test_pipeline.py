"""The pipeline of named stages: stored levels, streams, the stage cache, the registry.

``tests/data/levels`` holds levels saved by this package. ``continent_flow`` was saved before
the pipeline existed, so it pins that same seeds give the same levels across that change (its
flow rivers on their D8 cells, ``meanders='none'``, which its file's config means); the
shape-generator levels were saved again when the rivers stream was split into shapes and
sources, ``archipelago_flow`` when flow rivers began to run on through lakes, and
``lowlands_meanders`` pins the default, meandering flow rivers; the shape-generator files were
written again then too, for their config's new ``meanders`` key alone (arrays unchanged; see
the notes in :mod:`procgen.level`), and ``lowlands_meanders`` again when the meanders' highest
sinuosity fell from 1.9 to 1.45. All of these predate the erosion stage, which their files'
configs read as off (``ErosionConfig(steps=0)``, the default); ``continent_eroded`` pins a
level with it on. Both meandering files were written again when a reach that touches another
began to fall back alone, the centrelines got their jitter (``CENTRE_JITTER``) and the
meanders' phase drift rose from 1.0 to 1.6, and again when the centrelines' smoothing
(``CENTRE_SMOOTHING``) fell from 3 moving averages over 5 cells to 3 over 3. When levels
began to erode under uplift by default, these specs named their erosion as their files hold
it (off, or ``continent_eroded``'s 2 steps of wear), so none was rewritten;
``highlands_uplifted`` pins that default. The three meandering files (``lowlands_meanders``,
``continent_eroded``, ``highlands_uplifted``) were written again when the sinuosity of the
steepest reaches fell from 1.1 to 1.02 (``MIN_SINUOSITY``). Rewrite them only for a
documented change: ``python tests/test_pipeline.py NAME ...``.
"""

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from procgen import pipeline, rivers as rivers_mod
from procgen.erosion import ErosionConfig
from procgen.level import (FORMAT_VERSION, Level, LevelConfig, generate_level, level_from,
                           stage_seed)

LEVELS = Path(__file__).resolve().parent / "data" / "levels"


def _uneroded(preset, **erosion):
    """A preset's config without erosion (as before the erosion stage)."""
    return LevelConfig.from_preset(preset, erosion=ErosionConfig(**erosion))


def _d8(preset):
    """A preset's config with flow rivers on their D8 cells (as before meanders)."""
    cfg = _uneroded(preset)
    return replace(cfg, rivers=replace(cfg.rivers, meanders="none"))


SPECS = {
    "continent_flow": dict(seed=2, shape=96, config=_d8("continent")),
    "archipelago_flow": dict(seed=4, shape=96, config=_d8("archipelago")),
    # saved again after the erosion stage came, so its file names its channel_cells
    "lowlands_meanders": dict(seed=6, shape=96,
                              config=_uneroded("lowlands", channel_cells=100.0)),
    "islands_walker": dict(seed=12, shape=64, config=_uneroded("islands"), rivers="walker"),
    "lowlands_sine": dict(seed=13, shape=(48, 64), config=_uneroded("lowlands"),
                          rivers="sine"),
    "highlands_downhill": dict(seed=14, shape=48, config=_uneroded("highlands"),
                               rivers="downhill"),
    "continent_eroded": dict(seed=7, shape=96,
                             config=LevelConfig.from_preset(
                                 "continent",
                                 erosion=ErosionConfig(steps=2, channel_cells=100.0))),
    "highlands_uplifted": dict(seed=8, shape=96, preset="highlands"),
}


def assert_same(a: Level, b: Level):
    assert (a.seed, a.cell_size, a.shape) == (b.seed, b.cell_size, b.shape)
    assert a.config == b.config
    for name in ("height", "water", "lakes", "biomes"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert len(a.rivers) == len(b.rivers)
    for r, s in zip(a.rivers, b.rivers):
        assert np.array_equal(r.path, s.path) and np.array_equal(r.width, s.width)
        assert (r.generator, r.discharge, r.order) == (s.generator, s.discharge, s.order)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_same_seed_gives_the_stored_level(name):
    assert_same(generate_level(**SPECS[name]), Level.load(LEVELS / f"{name}.npz"))


def test_stored_levels_have_rivers_and_are_version_1_which_is_still_written(tmp_path):
    # Version 2 only added river ids (world regions); a level without them is still written
    # as version 1, byte for byte what the stored files hold.
    import json
    assert FORMAT_VERSION == 2
    for name in SPECS:
        with np.load(LEVELS / f"{name}.npz") as data:
            assert json.loads(data["header"].tobytes())["version"] == 1
        level = Level.load(LEVELS / f"{name}.npz")
        assert level.rivers, name
        with np.load(level.save(tmp_path / f"{name}.npz")) as data:
            assert json.loads(data["header"].tobytes())["version"] == 1


def test_the_stages_run_in_order_and_the_cache_skips_terrain_erosion_and_hydrology():
    ctx = pipeline.context(seed=5, shape=48, cell_size=1000.0)
    cfg = LevelConfig.from_preset("islands")
    seen = []
    cache = pipeline.StageCache()
    first = pipeline.run(ctx, cfg, cache=cache, on_stage=seen.append)
    assert seen == list(pipeline.STAGES) == ["terrain", "erosion", "hydrology", "rivers",
                                             "carve", "biomes"]
    seen.clear()
    again = pipeline.run(ctx, cfg, rivers="walker", cache=cache, on_stage=seen.append)
    assert seen == ["rivers", "carve", "biomes"]
    assert again.drainage is first.drainage
    ref = generate_level(seed=5, shape=48, cell_size=1000.0, preset="islands", rivers="walker")
    assert_same(level_from(ctx, again), ref)


def test_streams_are_spawned_children_of_the_root_seed():
    ctx = pipeline.context(seed=77, shape=4, cell_size=1.0)
    kids = np.random.SeedSequence(77).spawn(len(pipeline.STREAMS))
    for stage, i in pipeline.STREAMS.items():
        assert ctx.stream(stage).spawn_key == kids[i].spawn_key
        assert stage_seed(77, stage) == int(kids[i].generate_state(1, np.uint64)[0])
    # the same call gives the same numbers; shapes and sources differ
    assert ctx.rng("rivers", "shapes").random() == ctx.rng("rivers", "shapes").random()
    assert ctx.rng("rivers", "shapes").random() != ctx.rng("rivers", "sources").random()


def test_context_checks_once_and_converts_metres():
    ctx = pipeline.context(seed=-1, shape=(3, 5), cell_size=250.0)
    assert (ctx.seed, ctx.shape) == (2 ** 64 - 1, (3, 5))
    assert ctx.cells(1000.0) == 4.0 and ctx.metres(4) == 1000.0
    with pytest.raises(ValueError, match="cell_size"):
        pipeline.context(seed=1, shape=3, cell_size=0.0)


def test_the_shapes_drawn_leave_the_sources_alone():
    """Shapes and sources draw from their own streams: other shapes, the same sources. (The
    count does move them: it sets how far apart sources must be.)"""
    cfg = LevelConfig.from_preset("islands")
    starts, lengths = {}, {}
    for generator in ("walker", "persistent", "sine", "downhill"):
        lv = generate_level(seed=12, shape=64, config=replace(
            cfg, rivers=replace(cfg.rivers, generator=generator, count=6)))
        starts[generator] = sorted(tuple(r.path[0]) for r in lv.rivers)
        lengths[generator] = sorted(len(r.path) for r in lv.rivers)
    assert len(starts["walker"]) == 6
    assert all(s == starts["walker"] for s in starts.values())
    assert len({tuple(v) for v in lengths.values()}) > 1        # the shapes did differ


def test_level_is_a_plain_record():
    lv = generate_level(seed=1, shape=16, cell_size=5000.0, preset="islands")
    bare = Level(config=lv.config, seed=lv.seed, cell_size=lv.cell_size, height=lv.height,
                 water=lv.water, lakes=lv.lakes, rivers=lv.rivers)
    assert bare.biomes is None
    with pytest.raises(ValueError, match=r"biome_at needs biomes.*with_biomes\(\)"):
        bare.biome_at(0, 0)
    assert np.array_equal(bare.with_biomes().biomes, lv.biomes)
    assert bare.with_biomes().biome_at(0, 0) == lv.biome_at(0, 0)


def test_a_level_without_biomes_saves_and_loads_with_them(tmp_path):
    lv = generate_level(seed=1, shape=16, cell_size=5000.0, preset="islands")
    bare = replace(lv, biomes=None)
    bare.save(tmp_path / "a.npz")
    with np.load(tmp_path / "a.npz") as data:
        assert "biomes" not in data.files
    assert np.array_equal(Level.load(tmp_path / "a.npz").biomes, lv.biomes)


# -- the registry -------------------------------------------------------------------------------
class _EP:
    def __init__(self, name, target):
        self.name, self.value, self._target = name, f"fake:{name}", target

    def load(self):
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def test_prefixed_names_come_from_entry_points(monkeypatch):
    made = []

    def factory(name):
        made.append(name)
        return rivers_mod.ShapeRivers(f"toy:{name}", lambda n, rng: np.tile(
            np.stack([np.linspace(0, 1, 20), np.zeros(20)], 1), (n, 1, 1)))

    monkeypatch.setattr(rivers_mod, "_entry_points", lambda: [_EP("toy", factory)])
    assert rivers_mod.plugin_prefixes() == ["toy"]
    lv = generate_level(seed=12, shape=64, preset="islands", rivers="toy:straight")
    assert made == ["straight"] and lv.config.rivers.generator == "toy:straight"
    assert {r.generator for r in lv.rivers} == {"toy:straight"}
    with pytest.raises(ValueError, match="no river generator plug-in 'nope'.*'toy'"):
        rivers_mod.get_generator("nope:x")


def test_a_broken_plugin_is_named(monkeypatch):
    monkeypatch.setattr(rivers_mod, "_entry_points",
                        lambda: [_EP("toy", AttributeError("no attribute 'make'"))])
    with pytest.raises(ValueError, match=r"rivers='toy:x'.*entry point 'fake:toy' is broken"):
        rivers_mod.get_generator("toy:x")
    monkeypatch.setattr(rivers_mod, "_entry_points", lambda: [_EP("toy", lambda name: 42)])
    with pytest.raises(TypeError, match=r"returned int, not an object with \.name"):
        rivers_mod.get_generator("toy:x")


def test_a_plugin_that_needs_torch_says_so(monkeypatch):
    missing = ModuleNotFoundError("No module named 'torch'; pip install torch", name="torch")
    monkeypatch.setattr(rivers_mod, "_entry_points", lambda: [_EP("learned", missing)])
    with pytest.raises(ModuleNotFoundError, match=r"^rivers='learned:flow': No module"):
        rivers_mod.get_generator("learned:flow")


def test_procgen_never_names_the_learned_package_in_an_import():
    root = Path(rivers_mod.__file__).parent
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert "import learned" not in text and "from learned" not in text, path


if __name__ == "__main__":     # rewrite stored levels: python tests/test_pipeline.py NAME ...
    for name in sys.argv[1:] or SPECS:
        generate_level(**SPECS[name]).save(LEVELS / f"{name}.npz", compress=True)
        print("wrote", name)
