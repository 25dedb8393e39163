"""The README stays true: every code block runs as written and does what its text says, and CI
runs its test command."""

import contextlib
import io
import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def _block(marker):
    """The one Python block that contains ``marker``."""
    found = [b for b in _blocks("python") if marker in b]
    assert len(found) == 1, f"{len(found)} README python blocks contain {marker!r}"
    return found[0]


def _run(code, tmp_path, monkeypatch):
    """Run a block as pasted into a fresh interpreter session; its namespace and output."""
    monkeypatch.chdir(tmp_path)
    namespace, out = {"__name__": "__readme__"}, io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), namespace)
    return namespace, out.getvalue()


def test_every_python_block_is_checked_below():
    markers = ['preset="islands")', 'rivers="sine")', 'pretrained.load("flow")',
               "level.to_tiles()", 'runtime.load("ar")', "procgen.World("]
    assert len(_blocks("python")) == len(markers)
    for m in markers:
        _block(m)


def test_game_code_block(tmp_path, monkeypatch):
    ns, _ = _run(_block('preset="islands")'), tmp_path, monkeypatch)
    level, same = ns["level"], ns["same"]
    assert level.shape == (512, 512) and level.height.dtype == np.float32
    assert level.height[ns["spawn"]] == level.height.max()
    assert ns["swimmable"].dtype == bool and 0 < ns["swimmable"].mean() < 1
    for name in ("height", "water", "lakes", "biomes"):
        assert np.array_equal(getattr(level, name), getattr(same, name)), name
    assert [r.path.tobytes() for r in level.rivers] == [r.path.tobytes() for r in same.rivers]
    assert (tmp_path / "islands_42.png").stat().st_size > 0


def test_world_block(tmp_path, monkeypatch):
    ns, out = _run(_block("procgen.World("), tmp_path, monkeypatch)
    here, there = ns["here"], ns["there"]
    assert here.shape == (256, 384) and there.shape == (256, 256)
    assert ns["river"].id is not None and len(here.rivers) > 5 and here.lakes.max() > 0
    assert (~here.water).mean() > 0.2


def test_runtime_block(tmp_path, monkeypatch):
    ns, _ = _run(_block('runtime.load("ar")'), tmp_path, monkeypatch)
    assert ns["turns"].shape == (12, 62) and ns["turns"].dtype == np.float32
    assert ns["lp"].shape == (12,) and np.all(np.isfinite(ns["lp"]))


def test_rivers_block(tmp_path, monkeypatch):
    ns, out = _run(_block('rivers="sine")'), tmp_path, monkeypatch)
    rivers = ns["level"].rivers
    assert rivers and {r.generator for r in rivers} == {"sine"}
    assert len(out.splitlines()) == len(rivers)
    for r in rivers:   # "every river flows downhill": the carved height never rises
        rows, cols = np.round(r.path).astype(int).T
        h = ns["level"].height[np.clip(rows, 0, 511), np.clip(cols, 0, 511)]
        assert np.all(np.diff(h) <= 1e-3)


def test_learned_block_prints_the_tables_nll(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    block = _block('pretrained.load("flow")')
    ns, out = _run(block, tmp_path, monkeypatch)
    assert {r.generator for r in ns["level"].rivers} == {"learned:vae"}
    assert tuple(ns["turns"].shape) == (4, 62)
    table = re.search(r"^\| flow \| ([\d.]+) \|", README, flags=re.M).group(1)
    claimed = re.search(r"# ([\d.]+), as in the table", block).group(1)
    assert out.strip() == claimed == table


def test_games_block(tmp_path, monkeypatch):
    from procgen import Biome

    ns, out = _run(_block("level.to_tiles()"), tmp_path, monkeypatch)
    level = ns["level"]
    assert ns["tiles"].dtype == np.uint16 and ns["tiles"].shape == level.shape
    assert isinstance(ns["biome"], Biome) and len(ns["players"]) == 4
    name, n_rivers = out.split()
    assert name == ns["biome"].name and int(n_rivers) == len(level.rivers) > 0
    assert 0.12 <= (~level.water).mean() <= 0.45      # the continent preset's stated range
    tmj = json.loads((tmp_path / "level.tmj").read_text())
    assert tmj["width"] == 512 and all(layer.get("compression") == "zlib"
                                       for layer in tmj["layers"] if "data" in layer)
    rivers = json.loads((tmp_path / "rivers.geojson").read_text())["features"]
    assert len(rivers) == len(level.rivers)
    lon, lat = np.concatenate([f["geometry"]["coordinates"] for f in rivers]).T
    assert np.all(np.abs(lat - 52.0) < 0.5) and np.all(np.abs(lon - 5.0) < 0.5)
    assert (tmp_path / "terrain.tif").stat().st_size > 512 * 512 * 4
    assert (tmp_path / "terrain.r16").stat().st_size == 513 * 513 * 2
    assert json.loads((tmp_path / "terrain.json").read_text())["sea_floor_m"] == -50.0


@pytest.mark.slow
def test_the_command_block_runs(tmp_path, monkeypatch):
    from procgen.cli import main

    block = README[README.index("## The command"):].split("```")[1]
    commands = [shlex.split(c) for c in block.replace("\\\n", " ").strip().splitlines()]
    monkeypatch.chdir(tmp_path)
    for argv in commands:
        assert argv[0] == "procgen"
        assert main(argv[1:]) == 0, argv
    for name in ("map.png", "height16.png", "height16.json", "level.npz", "terrain.r16",
                 "terrain.json"):
        assert (tmp_path / name).stat().st_size > 0, name


def test_ci_runs_the_readme_test_command():
    commands = [b.strip() for b in _blocks("bash")]
    assert len(commands) == 2
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text()
    assert commands[0].startswith("pip install . && procgen map")
