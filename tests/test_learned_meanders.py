"""Learned meanders on the drainage network (meanders="learned:NAME", the torch-free runtime)."""

from dataclasses import replace

import numpy as np
import pytest

from procgen import generate_level
from procgen.cli import main
from procgen.level import LevelConfig
from procgen.paths import self_intersects, sinuosity
from procgen.rivers import river_cells
from tests.test_meanders import at_45, segment_angles
from tests.test_rivers import assert_rivers_flow_downhill

pytest.importorskip("learned.runtime")


def config(preset, meanders="learned:ar", **kw):
    cfg = LevelConfig.from_preset(preset)
    return replace(cfg, rivers=replace(cfg.rivers, meanders=meanders, **kw))


@pytest.mark.parametrize("preset, seed", [("lowlands", 3), ("continent", 7), ("highlands", 11)])
def test_learned_meanders_keep_every_rule_of_the_network(preset, seed):
    kw = dict(seed=seed, shape=256, cell_size=500.0)
    d8 = generate_level(**kw, config=config(preset, "none"))
    lv = generate_level(**kw, config=config(preset))
    assert len(lv.rivers) == len(d8.rivers) > 0
    for a, b in zip(d8.rivers, lv.rivers):
        np.testing.assert_array_equal(a.path[[0, -1]], b.path[[0, -1]])
        assert not self_intersects(b.path)
    assert at_45(segment_angles(lv)).mean() <= 0.15
    assert_rivers_flow_downhill(lv)
    ends = {(int(r.path[i][0]), int(r.path[i][1])) for r in lv.rivers for i in (0, -1)}
    near = {(r + dr, c + dc) for r, c in ends for dr in (-1, 0, 1) for dc in (-1, 0, 1)}
    owner = {}
    for k, r in enumerate(lv.rivers):
        for cell in map(tuple, river_cells(r, lv.shape)[0]):
            assert owner.setdefault(cell, k) == k or cell in near


def test_a_reach_shape_does_not_depend_on_its_batch():
    # To float32 rounding: the runtime's matrix products may block a batch differently.
    from learned.meanders import meander_source
    source = meander_source("ar")
    seqs = [np.random.SeedSequence(3, spawn_key=(k,)) for k in range(6)]
    s = np.array([1.05, 1.3, 1.6, 2.0, 1.2, 1.8])
    length = np.array([10.0, 40.0, 80.0, 300.0, 5.0, 120.0])
    all_six = source.shapes(s, length, seqs)
    alone = [source.shapes(s[i:i + 1], length[i:i + 1], seqs[i:i + 1])[0] for i in (0, 3, 5)]
    for i, one in zip((0, 3, 5), alone):
        np.testing.assert_allclose(one, all_six[i], rtol=0, atol=1e-5)


def test_asked_sinuosity_shows_in_the_shapes():
    from learned.meanders import meander_source
    source = meander_source("flow")
    n = 200
    seqs = [np.random.SeedSequence(11, spawn_key=(k,)) for k in range(2 * n)]
    lo = source.shapes(np.full(n, 1.1), np.full(n, 200.0), seqs[:n])
    hi = source.shapes(np.full(n, 2.0), np.full(n, 200.0), seqs[n:])
    assert np.median([sinuosity(p) for p in hi]) > np.median([sinuosity(p) for p in lo]) + 0.3


def test_a_missing_model_is_an_error_unless_a_fallback_is_asked(tmp_path, capsys):
    cfg = config("lowlands", "learned:nosuch")
    with pytest.raises(ValueError, match=r"meanders='learned:nosuch': .*nosuch"):
        generate_level(seed=1, shape=64, cell_size=2000.0, config=cfg)
    with pytest.warns(UserWarning, match="meanders_fallback"):
        generate_level(seed=1, shape=64, cell_size=2000.0,
                       config=config("lowlands", "learned:nosuch", meanders_fallback="curve"))
    assert main(["map", "--size", "64", "--meanders", "learned:nosuch",
                 "-o", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("procgen: error: --meanders") and err.count("\n") == 1


def test_map_with_learned_meanders(tmp_path):
    assert main(["map", "--size", "96", "--cell-size", "1000", "--preset", "lowlands",
                 "--meanders", "learned:ar", "-o", str(tmp_path / "m.png"),
                 "--level", str(tmp_path / "m.npz")]) == 0
