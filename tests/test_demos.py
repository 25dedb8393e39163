"""The single-idea demos: each runs headless for a few frames and shows what it says."""

import math
import os

import numpy as np
import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
pytest.importorskip("pygame")

import procgen  # noqa: E402
from procgen import Level, LevelConfig, River  # noqa: E402
from procgen.noise import fbm  # noqa: E402
from procgen.walkers import coin_flip  # noqa: E402

from demos import coin_flip as coin_demo  # noqa: E402
from demos import octaves as octave_demo  # noqa: E402
from demos import tiny_game  # noqa: E402


@pytest.mark.parametrize("demo, argv", [
    (coin_demo, ["--steps", "30", "--speed", "4"]),   # restarts with a new seed mid-run
    (octave_demo, ["--size", "64", "--octaves", "4", "--scale", "32"]),
    (tiny_game, ["--auto"]),
])
def test_demo_runs_headless(demo, argv):
    assert demo.main(argv, frames=12) == 0
    assert demo.__doc__ and len(demo.__doc__.splitlines()[0]) < 100


@pytest.mark.parametrize("demo, argv", [
    (coin_demo, ["--walkers", "0"]), (octave_demo, ["--octaves", "0"]),
    (tiny_game, ["--preset", "moon"]),
])
def test_demo_bad_options_exit_2(demo, argv, capsys):
    assert demo.main(argv, frames=1) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_coin_flip_demo_draws_exactly_the_library_walk():
    turn = math.radians(18)
    ours = coin_demo.walk(5, 4, 150, turn=turn)
    assert np.array_equal(ours, coin_flip(4, 150, turn=turn, rng=5))
    # Each step turns by exactly +-turn: the coin decides which.
    heading = np.arctan2(-np.diff(ours[..., 0]), np.diff(ours[..., 1]))
    turns = np.angle(np.exp(1j * np.diff(heading)))
    assert np.allclose(np.abs(turns), turn)


def test_octave_stack_adds_octaves_one_at_a_time():
    stack = octave_demo.octave_stack((48, 48), octaves=5, scale=24.0, seed=2)
    assert len(stack) == 5
    for k, field in enumerate(stack, 1):
        assert np.array_equal(field, fbm((48, 48), scale=24.0, octaves=k, seed=2))
    added = [np.abs(b - a).mean() for a, b in zip(stack, stack[1:])]
    assert all(a > 0 for a in added)
    assert added[-1] < added[0]  # each octave adds finer, weaker detail


def _toy_level():
    """5 x 6 cells of 100 m: deep sea in column 0, shallow sea in column 1, land beyond,
    a narrow river down column 3 and a wide one across row 4; a lake at (1, 5)."""
    h = np.full((5, 6), 50.0, np.float32)
    h[:, 0] = -10.0
    h[:, 1] = -1.0
    h[1, 5] = 40.0
    water = h < 0
    water[1, 5] = True
    lakes = np.zeros((5, 6), np.int32)
    lakes[1, 5] = 1
    narrow = River(path=np.array([[0.0, 3.0], [3.0, 3.0]]), width=np.array([5.0, 8.0]),
                   generator="test")
    wide = River(path=np.array([[4.0, 2.0], [4.0, 5.0]]), width=np.array([60.0, 60.0]),
                 generator="test")
    return Level(config=LevelConfig(), seed=0, cell_size=100.0, height=h, water=water,
                 lakes=lakes, rivers=[narrow, wide])


def test_tiny_game_classifies_fords_and_blocks():
    level = _toy_level()
    kinds = tiny_game.classify(level)
    L, F, B = tiny_game.LAND, tiny_game.FORD, tiny_game.BLOCKED
    assert (kinds[:, 0] == B).all()                 # 10 m deep: blocked
    assert (kinds[:, 1] == F).all()                 # 1 m deep: wade across
    assert (kinds[0:4, 3] == F).all()               # narrow river: ford
    assert (kinds[4, 2:6] == B).all()               # 60 m wide river: blocked
    assert kinds[1, 5] == F                         # a one-cell lake is all shore
    assert kinds[2, 2] == L and kinds[0, 4] == L
    depth = tiny_game.water_depth(level)
    assert depth[0, 0] == 10.0 and depth[0, 1] == 1.0 and depth[0, 2] == 0.0
    assert tiny_game.river_width(level)[4, 3] == 60.0
    assert tiny_game.try_move((2, 2), (0, -1), kinds) == (2, 1)   # into shallow water
    assert tiny_game.try_move((2, 1), (0, -1), kinds) == (2, 1)   # not into deep water
    assert tiny_game.try_move((3, 2), (1, 0), kinds) == (3, 2)    # not into the wide river
    assert tiny_game.try_move((0, 0), (-1, 0), kinds) == (0, 0)   # not off the map
    assert tiny_game.spawn(kinds) == (2, 2)


def test_tiny_game_walker_never_enters_blocked_cells():
    level = procgen.generate_level(seed=7, shape=(90, 140), cell_size=2000.0,
                                   preset="lowlands")
    kinds = tiny_game.classify(level)
    assert (kinds == tiny_game.FORD).any() and (kinds == tiny_game.BLOCKED).any()
    pos = tiny_game.spawn(kinds)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(3000):
        pos = tiny_game.wander(pos, kinds, rng)
        assert kinds[pos] != tiny_game.BLOCKED
        seen.add(pos)
    assert len(seen) > 50
