"""The single-idea demos: each runs headless for a few frames and shows what it says."""

import math
import os
import sys

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


#: Each demo headless: options, the window size it opens, and the least fraction of the
#: window not in its most common colour (coin-flip walkers are thin lines on a dark ground).
HEADLESS = [
    (coin_demo, ["--steps", "30", "--speed", "4"], (600, 960), 0.005),  # restarts mid-run
    (octave_demo, ["--size", "64", "--octaves", "4", "--scale", "32"],
     (64 + 44 + 16 + 28, 2 * 64 + 3 * 16), 0.3),
    (tiny_game, ["--auto"], (90 * 6 + 30, 140 * 6), 0.5),
]


def _png(path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGB"))


@pytest.mark.parametrize("demo, argv, shape, ink", HEADLESS)
def test_demo_runs_headless_and_saves_a_screenshot(demo, argv, shape, ink, tmp_path, capsys):
    shot = tmp_path / "shots" / "window.png"           # the folder is created
    assert demo.main([*argv, "--frames", "12", "--screenshot", str(shot)]) == 0
    assert capsys.readouterr().out == f"saved {shot}\n"
    img = _png(shot)
    assert img.shape == (*shape, 3)
    # non-trivial: many colours, and enough drawn beside the most common one
    colours, counts = np.unique(img.reshape(-1, 3), axis=0, return_counts=True)
    assert len(colours) > 50 and counts.max() < (1 - ink) * counts.sum()
    assert demo.__doc__ and len(demo.__doc__.splitlines()[0]) < 100
    # headless time is fixed per frame, so a run is reproducible pixel for pixel
    again = tmp_path / "again.png"
    assert demo.main([*argv, "--frames", "12", "--screenshot", str(again)]) == 0
    assert np.array_equal(_png(again), img)


def test_headless_frames_pick_what_is_shown(tmp_path):
    """Frames advance the demo, not the clock: four frames per octave, so frames 12 to 15
    show octave 4 and frame 16 octave 5."""
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert octave_demo.main(["--size", "32", "--octaves", "6", "--frames", "12",
                             "--screenshot", str(a)]) == 0
    assert octave_demo.main(["--size", "32", "--octaves", "6", "--frames", "15",
                             "--screenshot", str(b)]) == 0
    assert np.array_equal(_png(a), _png(b))
    assert octave_demo.main(["--size", "32", "--octaves", "6", "--frames", "16",
                             "--screenshot", str(b)]) == 0
    assert not np.array_equal(_png(a), _png(b))


@pytest.mark.parametrize("demo, argv, message", [
    (coin_demo, ["--walkers", "0"], "--walkers must be in 1..64, got 0"),
    (coin_demo, ["--turn", "200"], "--turn must be in [0, 180], got 200"),
    (octave_demo, ["--octaves", "0"], "--octaves must be in 1..30, got 0"),
    (octave_demo, ["--scale", "0"], "--scale must be in (0, inf], got 0"),
    (tiny_game, ["--preset", "moon"], "--preset must be one of continent"),
    (tiny_game, ["--frames", "0"], "--frames must be in 1..inf, got 0"),
    (coin_demo, ["--screenshot", "shot.jpg"], "--screenshot must be a .png path, got "
                                              "'shot.jpg'"),
    (octave_demo, ["--frames", "x"], "argument --frames: invalid int value: 'x'"),
])
def test_demo_bad_options_are_one_line_exit_2(demo, argv, message, capsys):
    assert demo.main([*argv, "--frames", "1"] if "--frames" not in argv else argv) == 2
    err = capsys.readouterr().err
    name = demo.__name__.split(".")[-1]
    assert err.count("\n") == 1 and err.startswith(f"{name}: error: ") and message in err


def test_demo_screenshot_into_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "f").write_text("a file")
    assert coin_demo.main(["--frames", "1", "--screenshot", str(tmp_path / "f" / "a.png")]) \
        == 2
    assert "coin_flip: error: --screenshot: " in capsys.readouterr().err


def test_demos_without_pygame_say_how_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pygame", None)   # as if pygame were not installed
    assert coin_demo.main(["--frames", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("coin_flip: error: the demos need pygame") and \
        'pip install -e ".[viewer]"' in err and "procgen-levels[" not in err


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


def test_headless_from_the_command_line_without_a_display(tmp_path):
    """`python -m demos.NAME --frames N --screenshot PNG` on a machine without a display:
    the SDL video driver defaults to dummy, no window is needed."""
    import subprocess
    from pathlib import Path

    if not sys.platform.startswith("linux"):
        pytest.skip("the dummy-driver default applies on Linux")
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    shot = tmp_path / "coin.png"
    proc = subprocess.run([sys.executable, "-m", "demos.coin_flip", "--frames", "3",
                           "--screenshot", str(shot)], capture_output=True, text=True,
                          env=env, cwd=Path(__file__).resolve().parent.parent, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"saved {shot}\n" and _png(shot).shape == (600, 960, 3)


def test_world_mosaic_pastes_regions_that_match_the_whole(tmp_path, capsys):
    from demos import world_mosaic
    out = tmp_path / "mosaic.png"
    code = world_mosaic.main(["--region", "48", "--grid", "2x3", "--cell-size", "2000",
                              "--at=-100,-60", "--borders", "--out", str(out)])
    assert code == 0, capsys.readouterr()
    assert "every layer matches" in capsys.readouterr().out
    from PIL import Image
    assert Image.open(out).size == (144, 96)


def test_meander_compare_writes_both_and_counts_grid_segments(tmp_path, capsys):
    from demos import meander_compare
    out = tmp_path / "m.png"
    assert meander_compare.main(["--size", "128", "--cell-size", "1000", "--window",
                                 "10,10,60", "--scale", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "D8 paths 100.0%" in text
    share = float(text.rsplit("meanders ", 1)[1].rstrip("%\n"))
    assert share < 15.0
    from PIL import Image
    assert Image.open(out).size == (2 * 120 + 6, 120)


def test_sinuosity_sweep_draws_each_family_at_each_request(tmp_path, capsys):
    from PIL import Image

    from demos import sinuosity_sweep

    out = tmp_path / "sweep.png"
    assert sinuosity_sweep.main(["--families", "ar,gan", "--targets", "1.2,2", "--per-cell",
                                 "2", "--cell", "60", "--out", str(out)]) == 0
    assert Image.open(out).size == (80 + 2 * 60, 22 + 2 * 60)
    rows = capsys.readouterr().out.splitlines()[2:]
    assert [r.split()[0] for r in rows] == ["ar", "gan"]
    for r in rows:                                  # "raw -> returned" per cell
        returned = [float(part.split()[0]) for part in r.split("->")[1:]]
        assert returned == [1.2, 2.0]
    assert sinuosity_sweep.main(["--targets", "0.5", "--out", str(out)]) == 2
