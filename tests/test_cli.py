"""The procgen command: maps, heightmaps, level files, one-line errors, and the first run."""

import io
import json
import os
import re
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from procgen import Level, LevelConfig, generate_level
from procgen import cli
from procgen.cli import main


def test_map_writes_png_heightmap_sidecar_and_level(tmp_path, capsys):
    out, hm, lv = tmp_path / "map.png", tmp_path / "h.png", tmp_path / "l.npz"
    rc = main(["map", "--seed", "7", "--size", "96", "--preset", "islands", "--cell-size",
               "4000", "-o", str(out), "--heightmap", str(hm), "--heightmap-size", "129",
               "--engine", "unity", "--level", str(lv)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert printed.startswith("wrote ") and printed.count("\n") == 1
    assert "HeightmapRange" not in printed
    assert "16-bit 129x129, 0 = " in printed and " m, 65535 = " in printed
    assert str(tmp_path / "h.json") in printed
    img = np.asarray(Image.open(out))
    assert img.shape == (96, 96, 3) and len(np.unique(img.reshape(-1, 3), axis=0)) > 50
    h16 = np.asarray(Image.open(hm))
    assert h16.shape == (129, 129) and h16.min() == 0 and h16.max() > 60000
    level = Level.load(lv)
    assert level.seed == 7 and level.shape == (96, 96)
    sidecar = json.loads((tmp_path / "h.json").read_text())
    assert sidecar["file"] == "h.png" and sidecar["size"] == [129, 129]
    assert sidecar["engine"] == "unity"
    lo, hi = sidecar["height_range_m"]
    assert lo == pytest.approx(float(level.height.min()))
    assert hi == pytest.approx(float(level.height.max()))


def test_same_seed_same_png(tmp_path):
    for name in ("a.png", "b.png"):
        assert main(["map", "--seed", "3", "--size", "64", "-q", "-o", str(tmp_path / name)]) == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_size_is_width_by_height(tmp_path):
    out, hm, lv = tmp_path / "m.png", tmp_path / "h.png", tmp_path / "l.npz"
    assert main(["map", "-q", "--seed", "2", "--size", "96x40", "--cell-size", "4000", "-o",
                 str(out), "--heightmap", str(hm), "--level", str(lv)]) == 0
    assert Image.open(out).size == (96, 40)        # PIL sizes are (width, height)
    assert Image.open(hm).size == (96, 40)
    assert Level.load(lv).shape == (40, 96)        # (rows, cols)
    same = generate_level(seed=2, shape=(40, 96), cell_size=4000.0)
    assert np.array_equal(Level.load(lv).height, same.height)


def _cli_level(tmp_path, *options):
    path = tmp_path / "cli.npz"
    assert main(["map", "-q", "--seed", "5", "--size", "80", "--cell-size", "2000", "-o",
                 str(tmp_path / "m.png"), "--level", str(path), *options]) == 0
    return Level.load(path)


def _library_level(*, terrain=None, rivers=None, generator="flow", preset="continent"):
    config = LevelConfig.from_preset(preset)
    config = replace(config, terrain=replace(config.terrain, **(terrain or {})),
                     rivers=replace(config.rivers, **(rivers or {})))
    return generate_level(seed=5, shape=80, cell_size=2000.0, config=config, rivers=generator)


def test_settings_options_match_the_library(tmp_path):
    """Each option sets exactly the config field it documents."""
    for options, library in [
        (["--sea-level", "0.2"], _library_level(terrain={"sea_threshold": 0.2})),
        (["--river-threshold", "20"], _library_level(rivers={"min_area_km2": 20.0})),
        (["--rivers", "walker", "--river-count", "3"],
         _library_level(rivers={"count": 3}, generator="walker")),
    ]:
        level = _cli_level(tmp_path, *options)
        assert np.array_equal(level.height, library.height), options
        assert level.config == library.config, options


def test_settings_options_change_the_map(tmp_path):
    base = _cli_level(tmp_path)
    wetter = _cli_level(tmp_path, "--sea-level", "0.3")
    assert wetter.water.mean() > base.water.mean()
    more = _cli_level(tmp_path, "--river-threshold", "10")
    assert len(more.rivers) > len(base.rivers)
    few = _cli_level(tmp_path, "--rivers", "sine", "--river-count", "2")
    assert 1 <= len(few.rivers) <= 2 and {r.generator for r in few.rivers} == {"sine"}


def test_sea_floor_clamps_the_heightmap(tmp_path, capsys):
    hm = tmp_path / "h.png"
    assert main(["map", "--seed", "1", "--size", "64", "--cell-size", "4000", "-o",
                 str(tmp_path / "m.png"), "--heightmap", str(hm), "--sea-floor", "-50"]) == 0
    assert "0 = -50.0 m" in capsys.readouterr().out
    sidecar = json.loads((tmp_path / "h.json").read_text())
    assert sidecar["height_range_m"][0] == -50.0 and sidecar["sea_floor_m"] == -50.0


# -- one-line errors naming the option ------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--seed", str(2 ** 64)], "--seed must be in "),
    (["--seed", str(2 ** 64)], f"got {2 ** 64}"),
    (["--seed", "x"], "argument --seed: invalid int value: 'x'"),
    (["--size", "0"], "--size must be >= 1, got 0"),
    (["--size", "64x0"], "--size must be >= 1, got 64x0"),
    (["--size", "ten"], "argument --size: must be N or WIDTHxHEIGHT in cells (e.g. 1024 or "
                        "1024x512), got 'ten'"),
    (["--size", "3x4x5"], "argument --size: must be N or WIDTHxHEIGHT"),
    (["--size", "100000"], "--size 100000 makes 10,000,000,000 cells, over --max-cells"),
    (["--size", "300x200", "--max-cells", "1000"],
     "--size 300x200 makes 60,000 cells, over --max-cells 1,000; raise --max-cells"),
    (["--max-cells", "0"], "--max-cells must be >= 1, got 0"),
    (["--preset", "moon"], "--preset must be one of 'continent'"),
    (["--rivers", "lava"], "--rivers must be one of 'flow', 'walker'"),
    (["--cell-size", "nan"], "--cell-size must be finite, got nan"),
    (["--cell-size", "0"], "--cell-size must be in [0.001, 1e+06], got 0"),
    (["--sea-level", "1.5"], "--sea-level must be in [-1, 1], got 1.5"),
    (["--river-count", "3"], "--river-count applies to the walker, persistent, sine, downhill "
                             "and learned:NAME generators, not --rivers flow"),
    (["--rivers", "walker", "--river-count", "-1"], "--river-count must be in 0..10000, got -1"),
    (["--rivers", "sine", "--river-threshold", "50"],
     "--river-threshold applies to --rivers flow only, not --rivers sine"),
    (["--river-threshold", "0"], "--river-threshold must be in (0, inf], got 0"),
    (["-o", "map.jpg"], "--output must be a .png path, got 'map.jpg'"),
    (["-o", "/no/such/folder/map.png"], "--output: folder '/no/such/folder' does not exist"),
    (["--heightmap", "h.raw"], "--heightmap must be a .png path, got 'h.raw'"),
    (["-o", "same.png", "--heightmap", "same.png"],
     "--output and --heightmap are the same file 'same.png'; give each its own path"),
    (["--heightmap", "h.png", "--level", "h.json"],
     "--heightmap's sidecar and --level are the same file 'h.json'"),
    (["-o", "m.png", "--level", "m.png"], "--output and --level are the same file 'm.png'"),
    (["--level", "/no/such/folder/l.npz"], "--level: folder '/no/such/folder' does not exist"),
    (["--heightmap", "h.png", "--heightmap-size", "1000", "--engine", "unity"],
     "--heightmap-size 1000 is not a legal unity heightmap size; legal sizes: 33, 65"),
    (["--heightmap", "h.png", "--heightmap-size", "1"], "--heightmap-size must be >= 2, got 1"),
    (["--heightmap", "h.png", "--engine", "unity"],
     "--size 32 is not a legal unity heightmap size; legal sizes: 33, 65, 129, 257, 513, 1025, "
     "2049, 4097; nearest legal size is 33; pass --heightmap-size N to resample"),
    (["--engine", "unreal"], "--engine needs --heightmap PATH"),
    (["--heightmap-size", "65", "--sea-floor", "-5"],
     "--heightmap-size, --sea-floor need --heightmap PATH"),
    (["--engine", "godot"], "argument --engine: invalid choice: 'godot'"),
    (["--heightmap", "h.png", "--sea-floor", "10"], "--sea-floor must be in [-inf, 0], got 10"),
])
def test_bad_input_one_line_and_no_output(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    try:
        rc = main(["map", "--size", "32", *args])
    except SystemExit as exc:  # argparse's own errors
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("procgen: error: ")
    assert message in err
    # The option first, never the Python parameter behind it (cell_size, sea_threshold).
    assert re.match(r"procgen: error: (argument )?--", err)
    assert not re.search(r"\b[a-z]+_[a-z0-9_]+\b", err)
    assert list(tmp_path.iterdir()) == []


def test_learned_generator_errors_name_the_option(tmp_path, capsys):
    rc = main(["map", "--size", "32", "--rivers", "learned:no-such-model", "-o",
               str(tmp_path / "m.png")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("procgen: error: --rivers") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["map", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for option in ("--seed", "--size", "WIDTHxHEIGHT", "--preset", "--cell-size", "--output",
                   "--no-shade", "--heightmap", "--heightmap-size", "--engine", "--sea-floor",
                   "--sea-level", "--rivers", "--river-count", "--river-threshold", "--level",
                   "--max-cells", "--quiet", "continent", "islands", "archipelago",
                   "highlands", "lowlands", "sidecar"):
        assert option in text
    assert "(default: None)" not in text and "(default: 1024)" in text


def test_console_module_runs_as_a_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "procgen.cli", "map", "--size", "bad"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("procgen: error:")


# -- procgen view: found through an entry point, never imported by name ------------------------
class _FakeEntryPoint:
    name = "view"

    def __init__(self, target):
        self.target = target

    def load(self):
        return self.target


def test_view_runs_the_registered_command_as_procgen_view(monkeypatch):
    calls = []

    def viewer(argv, *, prog):
        calls.append((argv, prog))
        return 0

    monkeypatch.setattr("importlib.metadata.entry_points",
                        lambda group: [_FakeEntryPoint(viewer)] if group == cli.COMMANDS_GROUP
                        else [])
    assert main(["view", "--seed", "3"]) == 0
    assert calls == [(["--seed", "3"], "procgen view")]


def test_view_without_a_registered_viewer_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setattr("importlib.metadata.entry_points", lambda group: [])
    assert main(["view"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install -e ".[viewer]"' in err


def test_view_help_names_procgen_view(capsys):
    from importlib.metadata import entry_points
    if not [ep for ep in entry_points(group=cli.COMMANDS_GROUP) if ep.name == "view"]:
        pytest.skip("the viewer's 'view' entry point is not installed (pip install -e .)")
    pytest.importorskip("pygame")
    assert main(["view", "--help"]) == 0
    text = capsys.readouterr().out
    assert "procgen view" in text and "python -m demos.explore" not in text


# -- the first run: a notice while kernels compile, nothing once they are cached --------------
@pytest.fixture
def cold(monkeypatch):
    """Pretend the JIT cache is empty, without a helper process."""
    from procgen import _jitcache
    monkeypatch.setattr(_jitcache, "is_cold", lambda: True)
    monkeypatch.setattr(cli, "_spare_cpu", lambda: False)


def test_cold_start_notice_once_on_stderr(cold, tmp_path, capsys):
    assert main(["map", "--size", "32", "-o", str(tmp_path / "m.png")]) == 0
    captured = capsys.readouterr()
    assert captured.err == cli.COLD_START_NOTICE + "\n"
    assert captured.out.startswith("wrote ")
    assert main(["export", "--format", "geojson", "--size", "32", "-o",
                 str(tmp_path / "r.geojson")]) == 0
    assert capsys.readouterr().err == cli.COLD_START_NOTICE + "\n"


def test_cold_start_notice_quiet_and_warm(cold, tmp_path, capsys, monkeypatch):
    assert main(["map", "--size", "32", "-q", "-o", str(tmp_path / "m.png")]) == 0
    assert capsys.readouterr() == ("", "")
    from procgen import _jitcache
    monkeypatch.setattr(_jitcache, "is_cold", lambda: False)
    assert main(["map", "--size", "32", "-o", str(tmp_path / "m.png")]) == 0
    assert capsys.readouterr().err == ""


def test_no_notice_before_an_input_error(cold, tmp_path, capsys):
    assert main(["map", "--size", "32", "--preset", "moon", "-o", str(tmp_path / "m.png")]) == 2
    assert cli.COLD_START_NOTICE not in capsys.readouterr().err


def test_cold_start_helper_compiles_backwards_and_is_stopped(monkeypatch, tmp_path):
    from procgen import _jitcache
    started = []

    class FakeHelper:
        def __init__(self, command, **kwargs):
            started.append(command)
            self.stopped = self.waited = False

        def poll(self):
            return None

        def terminate(self):
            self.stopped = True

        def wait(self):
            self.waited = True

    monkeypatch.setattr(_jitcache, "is_cold", lambda: True)
    monkeypatch.setattr(cli, "_spare_cpu", lambda: True)
    monkeypatch.setattr(cli.subprocess, "Popen", FakeHelper)
    with cli._ColdStart("walker", quiet=True) as cold_start:
        pass
    (command,) = started
    assert command[0] == sys.executable
    assert "compile_level_kernels('walker', reverse=True)" in command[-1]
    assert cold_start.helper.stopped and cold_start.helper.waited


def test_no_helper_without_a_spare_core(monkeypatch):
    from procgen import _jitcache
    monkeypatch.setattr(_jitcache, "is_cold", lambda: True)
    monkeypatch.setattr(cli, "_cpu_count", lambda: 2)
    monkeypatch.setattr(cli.os, "getloadavg", lambda: (1.5, 1.0, 1.0))
    assert not cli._spare_cpu()
    monkeypatch.setattr(cli.os, "getloadavg", lambda: (0.2, 1.0, 1.0))
    assert cli._spare_cpu()
    monkeypatch.setattr(cli, "_cpu_count", lambda: 1)
    assert not cli._spare_cpu()


def test_kernel_signatures_are_what_a_level_compiles():
    """The helper compiles exactly the specialisations generate_level then uses."""
    import importlib

    from numba.core.registry import CPUDispatcher

    from procgen._kernels.signatures import RIVERS, compile_level_kernels, level_kernels

    def signatures():
        found = {}
        for module in {m for m, _, _ in level_kernels("walker") + level_kernels("downhill")
                       + level_kernels("flow")}:
            mod = importlib.import_module(f"procgen._kernels.{module}")
            for name, obj in vars(mod).items():
                if isinstance(obj, CPUDispatcher):
                    found[(module, name)] = set(obj.signatures)
        return found

    for rivers in RIVERS:
        compile_level_kernels(rivers)
        before = signatures()
        generate_level(seed=3, shape=(48, 40), cell_size=2000.0, rivers=rivers)
        after = signatures()
        new = {k: after[k] - before[k] for k in after if after[k] - before[k]}
        assert not new, f"--rivers {rivers} compiled signatures not in the list: {new}"


@pytest.mark.slow
def test_first_run_says_it_compiles_and_later_runs_do_not(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "jit"))
    runs = []
    for name in ("cold.png", "warm.png"):
        runs.append(subprocess.run(
            [sys.executable, "-m", "procgen.cli", "map", "--seed", "4", "--size", "64",
             "--cell-size", "4000", "--river-threshold", "1", "-o", str(tmp_path / name)],
            env=env, capture_output=True, text=True, timeout=600))
    cold_run, warm_run = runs
    assert cold_run.returncode == 0 and warm_run.returncode == 0
    assert cold_run.stderr == cli.COLD_START_NOTICE + "\n"
    assert warm_run.stderr == ""
    assert (tmp_path / "cold.png").read_bytes() == (tmp_path / "warm.png").read_bytes()
    # every kernel of the level is in the cache (compiled here or by the helper)
    from procgen._kernels.signatures import level_kernels
    names = {p.name.split("-")[0] for p in (tmp_path / "jit").rglob("*.nbi")}
    assert {f"{m}.{k}" for m, k, _ in level_kernels("flow")} <= names


# -- procgen export -----------------------------------------------------------------------------
GEN = ["--seed", "1", "--size", "40", "--preset", "continent", "--cell-size", "4000"]


def test_export_tiled_and_geojson(tmp_path, capsys):
    assert main(["export", "--format", "tiled", "-o", str(tmp_path / "m.tmj"), "--tile-size",
                 "8", *GEN]) == 0
    assert "wrote" in capsys.readouterr().out
    doc = json.loads((tmp_path / "m.tmj").read_text())
    assert doc["type"] == "map" and doc["width"] == 40 and doc["tilewidth"] == 8
    assert (tmp_path / "m_tiles.png").is_file()
    # a 40-cell map is small for rivers: lower the threshold so there are some to export
    assert main(["export", "--format", "geojson", "-q", "-o", str(tmp_path / "r.geojson"),
                 *GEN, "--river-threshold", "1"]) == 0
    fc = json.loads((tmp_path / "r.geojson").read_text())
    assert fc["type"] == "FeatureCollection" and fc["features"]
    assert capsys.readouterr().out == ""


def test_export_heightmaps(tmp_path, capsys):
    assert main(["export", "--format", "heightmap16", "-q", "-o", str(tmp_path / "h.png"),
                 "--heightmap-size", "65", "--engine", "unity", "--splat", "rgba", *GEN]) == 0
    assert np.asarray(Image.open(tmp_path / "h.png")).shape == (65, 65)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "h.json", "h.png", "h_splat0.png", "h_splat1.png", "h_splat2.png"]
    assert main(["export", "--format", "raw16", "-o", str(tmp_path / "t.r16"),
                 "--heightmap-size", "127", "--engine", "unreal", "--sea-floor", "-30",
                 *GEN]) == 0
    assert "16-bit 127x127, 0 = -30.0 m" in capsys.readouterr().out
    raw = np.fromfile(tmp_path / "t.r16", "<u2")
    assert raw.size == 127 * 127 and raw.min() == 0 and raw.max() > 60000
    assert json.loads((tmp_path / "t.json").read_text())["sea_floor_m"] == -30.0


def test_export_shares_the_generation_options(tmp_path):
    """export and map build the same level from the same options."""
    options = ["--seed", "6", "--size", "72x48", "--cell-size", "3000", "--sea-level", "0.1",
               "--rivers", "walker", "--river-count", "4"]
    assert main(["map", "-q", "-o", str(tmp_path / "m.png"), "--level",
                 str(tmp_path / "l.npz"), *options]) == 0
    assert main(["export", "-q", "--format", "tiled", "-o", str(tmp_path / "a.json"),
                 *options]) == 0
    assert main(["export", "-q", "--format", "tiled", "-o", str(tmp_path / "b.json"),
                 "--level", str(tmp_path / "l.npz")]) == 0
    a, b = (json.loads((tmp_path / n).read_text()) for n in ("a.json", "b.json"))
    assert a["width"] == 72 and a["height"] == 48
    a["tilesets"][0].pop("image")
    b["tilesets"][0].pop("image")
    assert a == b


def test_export_a_saved_level_matches_generating_it(tmp_path):
    lv = tmp_path / "l.npz"
    assert main(["map", "-q", "-o", str(tmp_path / "m.png"), "--level", str(lv), *GEN]) == 0
    assert main(["export", "--format", "tiled", "-q", "-o", str(tmp_path / "a.json"),
                 "--level", str(lv)]) == 0
    assert main(["export", "--format", "tiled", "-q", "-o", str(tmp_path / "b.json"), *GEN]) == 0
    a, b = (json.loads((tmp_path / n).read_text()) for n in ("a.json", "b.json"))
    a["tilesets"][0].pop("image"); b["tilesets"][0].pop("image")
    assert a == b
    assert main(["export", "--format", "raw16", "-q", "-o", str(tmp_path / "x.raw"),
                 "--level", str(lv), "--heightmap-size", "33", "--engine", "unity"]) == 0


@pytest.mark.parametrize("args, message", [
    (["-o", "m.json"], "the following arguments are required: --format"),
    (["--format", "obj", "-o", "m.obj"], "argument --format: invalid choice: 'obj'"),
    (["--format", "tiled", "-o", "m.png"],
     "--output must be a .json or .tmj path for --format tiled, got 'm.png'"),
    (["--format", "raw16", "-o", "m.png"],
     "--output must be a .raw or .r16 path for --format raw16, got 'm.png'"),
    (["--format", "tiled", "-o", "/no/such/folder/m.json"],
     "--output: folder '/no/such/folder' does not exist"),
    (["--format", "geojson", "-o", "r.geojson", "--tile-size", "8"],
     "--tile-size only applies to --format tiled"),
    (["--format", "tiled", "-o", "m.json", "--tile-size", "0"],
     "--tile-size must be in 1..1024, got 0"),
    (["--format", "tiled", "-o", "m.json", "--engine", "unity", "--splat", "grey"],
     "--engine, --splat only apply to --format heightmap16 or raw16"),
    (["--format", "geojson", "-o", "r.json", "--sea-floor", "-5"],
     "--sea-floor only applies to --format heightmap16 or raw16"),
    (["--format", "geojson", "-o", "r.json", "--level", "l.npz", "--seed", "3"],
     "--level FILE exports a saved level; drop --seed"),
    (["--format", "geojson", "-o", "r.json", "--level", "l.npz", "--sea-level", "0.1",
      "--river-threshold", "3"],
     "--level FILE exports a saved level; drop --sea-level, --river-threshold"),
    (["--format", "geojson", "-o", "r.json", "--level", "missing.npz"],
     "--level: no level file at 'missing.npz'"),
    (["--format", "raw16", "-o", "h.raw", "--heightmap-size", "1000", "--engine", "unity"],
     "--heightmap-size 1000 is not a legal unity heightmap size; legal sizes: 33, 65"),
    (["--format", "raw16", "-o", "h.raw", "--size", "96", "--engine", "unity"],
     "--size 96 is not a legal unity heightmap size; legal sizes: 33, 65"),
    (["--format", "raw16", "-o", "h.raw", "--size", "65x33", "--engine", "unity"],
     "--size 65x33 is not a legal unity heightmap size"),
    (["--format", "heightmap16", "-o", "h.png", "--heightmap-size", "1"],
     "--heightmap-size must be >= 2, got 1"),
    (["--format", "heightmap16", "-o", "h.png", "--sea-floor", "3"],
     "--sea-floor must be in [-inf, 0], got 3"),
    (["--format", "tiled", "-o", "m.json", "--seed", str(2 ** 64)], "--seed must be in "),
    (["--format", "tiled", "-o", "m.json", "--size", "0"], "--size must be >= 1, got 0"),
    (["--format", "tiled", "-o", "m.json", "--size", "100000"],
     "--size 100000 makes 10,000,000,000 cells, over --max-cells"),
    (["--format", "tiled", "-o", "m.json", "--preset", "moon"],
     "--preset must be one of 'continent'"),
    (["--format", "tiled", "-o", "m.json", "--rivers", "lava"], "--rivers must be one of"),
    (["--format", "tiled", "-o", "m.json", "--cell-size", "nan"],
     "--cell-size must be finite, got nan"),
    (["--format", "tiled", "-o", "m.json", "--sea-level", "-2"],
     "--sea-level must be in [-1, 1], got -2"),
    (["--format", "tiled", "-o", "m.json", "--rivers", "walker", "--river-count", "20000"],
     "--river-count must be in 0..10000, got 20000"),
    (["--format", "tiled", "-o", "m.json", "--river-threshold", "-1"],
     "--river-threshold must be in (0, inf], got -1"),
])
def test_export_bad_input_one_line_and_no_output(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    try:
        rc = main(["export", "--size", "32", *args] if "--level" not in args
                  else ["export", *args])
    except SystemExit as exc:
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("procgen: error: ")
    assert message in err
    assert list(tmp_path.iterdir()) == []


def test_export_refuses_damaged_or_illegal_saved_levels(tmp_path, capsys):
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    assert main(["export", "--format", "geojson", "-o", str(tmp_path / "r.json"),
                 "--level", str(tmp_path / "junk.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("procgen: error: --level: ") and "not a readable level file" in err
    assert main(["map", "-q", "-o", str(tmp_path / "m.png"), "--level", str(tmp_path / "l.npz"),
                 *GEN]) == 0
    assert main(["export", "--format", "raw16", "-o", str(tmp_path / "h.raw"), "--level",
                 str(tmp_path / "l.npz"), "--engine", "unity"]) == 2
    err = capsys.readouterr().err
    assert "l.npz' of 40x40 is not a legal unity heightmap size" in err and err.count("\n") == 1
    assert "nearest legal size is 33; pass --heightmap-size N to resample" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.npz", "l.npz", "m.png"]


def test_export_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    text = capsys.readouterr().out
    for option in ("--format", "--output", "--level", "--seed", "--size", "--preset",
                   "--rivers", "--cell-size", "--sea-level", "--river-count",
                   "--river-threshold", "--tile-size", "--heightmap-size", "--engine",
                   "--sea-floor", "--splat", "--max-cells", "--quiet", "tiled", "geojson",
                   "heightmap16", "raw16"):
        assert option in text


def test_export_geojson_and_geotiff_about_a_geo_origin(tmp_path, capsys):
    from procgen.export import GeoFrame

    opts = ["--seed", "3", "--size", "64", "--preset", "islands", "--cell-size", "1000"]
    gj, tif = tmp_path / "r.geojson", tmp_path / "t.tif"
    assert main(["export", "--format", "geojson", "-o", str(gj), "--geo-origin", "52,5",
                 *opts]) == 0
    assert main(["export", "--format", "geotiff", "-o", str(tif), "--geo-origin", "52,5",
                 *opts]) == 0
    doc = json.loads(gj.read_text())
    west, south, east, north = GeoFrame((64, 64), 1000.0, origin=(52.0, 5.0)).bounds
    for feature in doc["features"]:
        lon, lat = np.array(feature["geometry"]["coordinates"]).T
        assert west <= lon.min() and lon.max() <= east and south <= lat.min() <= north
    assert tif.read_bytes()[:4] in (b"II*\x00", b"MM\x00*")
    capsys.readouterr()


@pytest.mark.parametrize("fmt,layer_format,marker", [("tiled", "csv", "\"data\":["),
                                                      ("tiled", None, "\"compression\":")])
def test_export_tiled_layer_format(tmp_path, fmt, layer_format, marker):
    out = tmp_path / "m.tmj"
    extra = [] if layer_format is None else ["--layer-format", layer_format]
    assert main(["export", "--format", fmt, "-o", str(out), "-q", *GEN, *extra]) == 0
    assert marker in out.read_text().replace(" ", "").replace("\n", "")


@pytest.mark.parametrize("args,message", [
    (["--format", "tiled", "-o", "m.tmj", "--geo-origin", "1,1"],
     "--geo-origin only applies to --format geojson or geotiff"),
    (["--format", "geojson", "-o", "m.geojson", "--layer-format", "csv"],
     "--layer-format only applies to --format tiled"),
    (["--format", "geojson", "-o", "m.geojson", "--geo-origin", "95,1"],
     "--geo-origin: latitude must be in (-90, 90)"),
    (["--format", "geojson", "-o", "m.geojson", "--geo-origin", "north"],
     "--geo-origin: must be LAT,LON"),
    (["--format", "geojson", "-o", "m.geojson", "--geo-origin", "89.9,1", "--size", "64",
      "--cell-size", "100000"], "--geo-origin"),
])
def test_geo_and_layer_options_are_checked(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    try:
        rc = main(["export", *args])
    except SystemExit as exc:   # argparse's own checks (the --geo-origin type)
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not list(tmp_path.iterdir())


# -- memory, and never a traceback --------------------------------------------------------------
def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    return lines[0]


@pytest.fixture
def no_generation(monkeypatch):
    """Fail the test if a level is generated: refusals must come before any work."""
    import procgen.level

    def forbidden(**kwargs):
        raise AssertionError("generate_level ran")
    monkeypatch.setattr(procgen.level, "generate_level", forbidden)


def test_the_issue_command_says_what_memory_it_needs():
    """Issue 14.4: this printed a 22-line MemoryError traceback."""
    proc = subprocess.run([sys.executable, "-m", "procgen.cli", "map", "--size", "200000",
                           "--max-cells", "40000000000"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert re.fullmatch(r"procgen: error: --size 200000 needs about 4,800 GB of memory, "
                        r"[\d.,]+ GB is available; at most about --size \d+ fits\n",
                        proc.stderr), proc.stderr


@pytest.mark.parametrize("command", ["map", "export"])
def test_too_big_for_memory_is_refused_up_front(command, monkeypatch, tmp_path, capsys,
                                                no_generation):
    monkeypatch.setattr(cli, "_available_memory", lambda: 2_000_000_000)
    out = ["-o", str(tmp_path / "m.png")] if command == "map" else \
        ["--format", "tiled", "-o", str(tmp_path / "m.json")]
    assert main([command, "--size", "6000x5000", "--max-cells", str(10 ** 9), *out]) == 2
    line = _one_error_line(capsys)
    side = int(re.fullmatch(r"procgen: error: --size 6000x5000 needs about 3.8 GB of memory, "
                            r"2.0 GB is available; at most about --size (\d+) fits", line)[1])
    # The hint is the largest square map the estimate lets through.
    assert cli._memory_needed(side * side, 0, False) <= 2_000_000_000
    assert cli._memory_needed((side + 1) ** 2, 0, False) > 2_000_000_000
    assert list(tmp_path.iterdir()) == []


def test_heightmap_and_splat_memory_are_counted(monkeypatch, tmp_path, capsys, no_generation):
    monkeypatch.setattr(cli, "_available_memory", lambda: 1_000_000_000)
    assert main(["export", "--format", "raw16", "-o", str(tmp_path / "h.raw"), "--size", "64",
                 "--heightmap-size", "4097", "--splat", "grey"]) == 2
    line = _one_error_line(capsys)
    assert line == ("procgen: error: --size 64 with --heightmap-size 4097 and --splat grey "
                    "needs about 7.4 GB of memory, 1.0 GB is available; use a smaller "
                    "--heightmap-size or drop --splat")
    # Without the splat maps the same heightmap fits.
    monkeypatch.undo()
    monkeypatch.setattr(cli, "_available_memory", lambda: 1_000_000_000)
    assert main(["export", "--format", "raw16", "-q", "-o", str(tmp_path / "h.raw"), "--size",
                 "64", "--heightmap-size", "65"]) == 0


def test_a_saved_level_is_checked_for_its_heightmap(monkeypatch, tmp_path, capsys):
    lv = tmp_path / "l.npz"
    generate_level(seed=1, shape=(24, 40), cell_size=4000.0).save(lv)
    monkeypatch.setattr(cli, "_available_memory", lambda: 400_000_000)
    assert main(["export", "--format", "heightmap16", "-o", str(tmp_path / "h.png"),
                 "--level", str(lv), "--heightmap-size", "4097"]) == 2
    line = _one_error_line(capsys)
    assert line.startswith(f"procgen: error: --level {str(lv)!r} (40x24) with "
                           f"--heightmap-size 4097 needs about 0.7 GB of memory, 0.4 GB is "
                           f"available; use a smaller --heightmap-size")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l.npz"]


def test_unknown_available_memory_skips_the_check(monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "_available_memory", lambda: None)
    assert main(["map", "-q", "--size", "16", "-o", str(tmp_path / "m.png")]) == 0


def test_available_memory_is_read_from_the_system():
    available = cli._available_memory()
    if not sys.platform.startswith("linux"):
        pytest.skip("MemAvailable is Linux's")
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert 0 < available <= total


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_a_cgroup_limit_lowers_the_available_memory(tmp_path, version):
    root = tmp_path / "cgroup"
    if version == "v2":
        group = root / "box"
        files = {"memory.max": "1000000\n", "memory.current": "600000\n",
                 "memory.stat": "anon 400000\ninactive_file 100000\nactive_file 100000\n"}
        membership = "0::/box\n"
    else:
        group = root / "memory" / "box"
        files = {"memory.limit_in_bytes": "1000000\n", "memory.usage_in_bytes": "600000\n",
                 "memory.stat": "cache 200000\ntotal_inactive_file 100000\n"}
        membership = "4:memory:/box\n3:cpuset:/\n"
    group.mkdir(parents=True)
    for name, text in files.items():
        (group / name).write_text(text)
    (tmp_path / "cgroup_file").write_text(membership)
    # limit - (usage - reclaimable page cache)
    assert cli._cgroup_available(tmp_path / "cgroup_file", root) == 1_000_000 - 500_000
    unlimited = "max\n" if version == "v2" else "9223372036854771712\n"
    (group / ("memory.max" if version == "v2" else "memory.limit_in_bytes")).write_text(unlimited)
    assert cli._cgroup_available(tmp_path / "cgroup_file", root) is None
    assert cli._cgroup_available(tmp_path / "missing", root) is None


@pytest.mark.parametrize("message", ["Unable to allocate 149. GiB for an array with shape "
                                     "(200000, 200000) and data type float32", ""])
def test_running_out_of_memory_midway_is_one_line_and_status_1(monkeypatch, tmp_path, capsys,
                                                               message):
    import procgen.pipeline

    def drain(*args, **kwargs):
        raise MemoryError(message)
    monkeypatch.setattr(procgen.pipeline, "drain", drain)
    monkeypatch.setattr(cli, "_available_memory", lambda: 8_000_000_000)
    assert main(["map", "--size", "64", "-o", str(tmp_path / "m.png")]) == 1
    line = _one_error_line(capsys)
    detail = f" ({message})" if message else ""
    assert line == (f"procgen: error: ran out of memory{detail}; the run needs about 0.2 GB "
                    f"and 8.0 GB was available when it started; free some memory or ask for "
                    f"a smaller --size")
    assert list(tmp_path.iterdir()) == []


def test_running_out_of_memory_while_writing_an_export(monkeypatch, tmp_path, capsys):
    from procgen import export

    def save_geojson(*args, **kwargs):
        raise MemoryError()
    monkeypatch.setattr(export, "save_geojson", save_geojson)
    monkeypatch.setattr(cli, "_available_memory", lambda: None)
    assert main(["export", "--format", "geojson", "-o", str(tmp_path / "r.geojson"), "--size",
                 "16"]) == 1
    assert _one_error_line(capsys) == ("procgen: error: ran out of memory; the run needs "
                                       "about 0.2 GB; free some memory or ask for a smaller "
                                       "--size")


def test_a_bug_is_one_line_and_status_1_unless_debugging(monkeypatch, tmp_path, capsys):
    import procgen.pipeline

    def drain(*args, **kwargs):
        raise RuntimeError("carving did not settle\nsecond line")
    monkeypatch.setattr(procgen.pipeline, "drain", drain)
    monkeypatch.delenv("PROCGEN_DEBUG", raising=False)
    argv = ["map", "--size", "16", "-o", str(tmp_path / "m.png")]
    assert main(argv) == 1
    line = capsys.readouterr().err
    assert line.count("\n") == 1 and "Traceback" not in line
    assert line.startswith("procgen: internal error: RuntimeError: carving did not settle (a "
                           "bug: please report it")
    monkeypatch.setenv("PROCGEN_DEBUG", "1")
    with pytest.raises(RuntimeError, match="carving did not settle"):
        main(argv)


def test_interrupt_is_status_130_without_a_traceback(monkeypatch, tmp_path, capsys):
    import procgen.pipeline

    def drain(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(procgen.pipeline, "drain", drain)
    assert main(["map", "--size", "16", "-o", str(tmp_path / "m.png")]) == 130
    assert capsys.readouterr().err == "procgen: interrupted\n"


@pytest.mark.parametrize("args, message", [
    (["-o", "nul\0.png"], "argument -o/--output: must be a file path (not empty, no NUL "
                          "characters), got 'nul\\x00.png'"),
    (["--level", ""], "argument --level: must be a file path (not empty, no NUL characters), "
                      "got ''"),
    (["--heightmap", ""], "argument --heightmap: must be a file path"),
    (["a\nb", "\t"], "unrecognized arguments: a\\nb \\t"),
    (["--preset", "moon\u2028"], "--preset must be one of 'continent'"),
])
def test_odd_text_gives_one_escaped_line(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    try:
        rc = main(["map", "--size", "16", *args])
    except SystemExit as exc:
        rc = exc.code
    assert rc == 2
    line = _one_error_line(capsys)
    assert line.startswith("procgen: error: ") and message in line
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_names_its_option(monkeypatch, tmp_path, capsys):
    from procgen import _io

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(_io.os, "replace", no_space)
    assert main(["map", "-q", "--size", "16", "-o", str(tmp_path / "m.png")]) == 2
    assert _one_error_line(capsys) == (f"procgen: error: --output: cannot write "
                                       f"{str(tmp_path / 'm.png')!r}: No space left on device")
    assert main(["export", "-q", "--format", "tiled", "--size", "16", "-o",
                 str(tmp_path / "m.json")]) == 2
    assert _one_error_line(capsys).startswith("procgen: error: --output: cannot write ")


def test_success_lines_survive_odd_paths_and_closed_pipes(monkeypatch):
    # A strict ASCII stdout cannot print a surrogate-escaped file name: it is escaped.
    buffer = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(buffer, encoding="ascii"))
    cli._say("wrote \udcff.png")
    sys.stdout.flush()
    assert buffer.getvalue() == b"wrote \\udcff.png\n"

    class ClosedPipe(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            raise io.UnsupportedOperation("no file descriptor")
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    cli._say("wrote m.png")     # the reader went away: not an error


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_memory_estimate_covers_a_real_run(tmp_path):
    """The estimate against the peak RSS of a real 1024^2 map with heightmap and level file:
    at least what the run used, and not more than twice it (a refusal must be believable)."""
    # Compile first into a cache of this test's own, with the same outputs (the heightmap has
    # kernels of its own): the first run's peak is the compiler's, not the map's.
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "jit")}
    subprocess.run([sys.executable, "-m", "procgen.cli", "map", "-q", "--size", "1024", "-o",
                    str(tmp_path / "warm.png"), "--heightmap", str(tmp_path / "wh.png"),
                    "--level", str(tmp_path / "wl.npz")], check=True, timeout=600, env=env)
    # The peak of this process alone, not of any compile helper it starts: VmHWM, which exec
    # resets (ru_maxrss keeps the forking parent's high-water mark, here pytest's with torch).
    code = ("import re, sys; from procgen.cli import main; "
            f"rc = main(['map', '-q', '--size', '1024', '-o', {str(tmp_path / 'm.png')!r}, "
            f"'--heightmap', {str(tmp_path / 'h.png')!r}, '--level', "
            f"{str(tmp_path / 'l.npz')!r}]); "
            "print(re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read())[1]); "
            "sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr
    peak = int(proc.stdout.split()[-1]) * 1024
    estimate = cli._memory_needed(1024 * 1024, 1024 * 1024, False)
    assert peak <= estimate <= 2 * peak, (peak, estimate)


def test_a_reader_that_goes_away_is_not_an_error(tmp_path):
    """``procgen map ... | head -c0``: the map is written; no error, no 'Exception ignored'."""
    proc = subprocess.Popen([sys.executable, "-m", "procgen.cli", "map", "--size", "16", "-o",
                             str(tmp_path / "m.png")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()             # before the command prints its line
    err = proc.stderr.read()
    assert proc.wait(timeout=600) == 0
    assert err in (b"", (cli.COLD_START_NOTICE + "\n").encode())
    assert (tmp_path / "m.png").is_file()


def test_running_out_of_memory_loading_a_level(monkeypatch, tmp_path, capsys):
    lv = tmp_path / "l.npz"
    generate_level(seed=1, shape=16, cell_size=4000.0).save(lv)

    def load(*args, **kwargs):
        raise MemoryError()
    monkeypatch.setattr(Level, "load", load)
    assert main(["export", "--format", "raw16", "-o", str(tmp_path / "h.raw"), "--level",
                 str(lv)]) == 1
    assert _one_error_line(capsys) == ("procgen: error: ran out of memory; free some memory "
                                       "or ask for a smaller --heightmap-size")


def test_map_world_at_is_the_worlds_region(tmp_path, capsys):
    from procgen.world import World
    lv = tmp_path / "w.npz"
    rc = main(["map", "--world", "--at=-1000000000000,300", "--size", "80x60", "--seed", "9",
               "--cell-size", "2000", "-o", str(tmp_path / "w.png"), "--level", str(lv)])
    assert rc == 0
    want = World(9, cell_size=2000.0).region(-10 ** 12, 300, (60, 80))
    got = Level.load(lv)
    np.testing.assert_array_equal(got.height, want.height)
    np.testing.assert_array_equal(got.biomes, want.biomes)
    assert [r.id for r in got.rivers] == [r.id for r in want.rivers]


@pytest.mark.parametrize("args, message", [
    (["--at", "1,2"], "--at needs --world"),
    (["--world", "--at", "1,x"], "argument --at: must be ROW,COL"),
    (["--world", f"--at={2 ** 63},0"], "--at must be two 64-bit integers"),
])
def test_world_options_errors_are_one_line(tmp_path, capsys, args, message):
    try:
        rc = main(["map", *args, "-o", str(tmp_path / "x.png")])
    except SystemExit as exc:  # argparse's own errors
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_meanders_option_draws_curves_and_is_flow_only(tmp_path, capsys):
    lv = tmp_path / "m.npz"
    assert main(["map", "--size", "128", "--cell-size", "1000", "--preset", "lowlands",
                 "--meanders", "curve", "-o", str(tmp_path / "m.png"), "--level", str(lv)]) == 0
    level = Level.load(lv)
    assert level.config.rivers.meanders == "curve"
    assert any(not np.allclose(r.path, np.rint(r.path)) for r in level.rivers)
    assert main(["map", "--rivers", "walker", "--meanders", "curve",
                 "-o", str(tmp_path / "x.png")]) == 2
    assert "--meanders applies to --rivers flow only" in capsys.readouterr().err


def test_erosion_options_set_the_level_s_erosion_and_are_for_levels_only(tmp_path, capsys):
    from procgen.erosion import ErosionConfig
    levels = {name: tmp_path / f"{name}.npz" for name in ("default", "off", "wear")}
    for name, extra in (("default", []), ("off", ["--erosion", "0"]),
                        ("wear", ["--erosion", "2", "--erosion-mode", "wear"])):
        assert main(["map", "--size", "96", "--preset", "highlands", *extra,
                     "-o", str(tmp_path / "e.png"), "--level", str(levels[name])]) == 0
    default, off, wear = (Level.load(levels[n]) for n in ("default", "off", "wear"))
    assert default.config.erosion == ErosionConfig.uplifted()
    assert off.config.erosion == ErosionConfig.uplifted(steps=0)
    assert wear.config.erosion == ErosionConfig.uplifted(steps=2, mode="wear")
    assert not off.config.erosion.enabled
    assert not np.array_equal(default.height, off.height)
    assert not np.array_equal(wear.height, off.height)
    for args, message in ((["--erosion", "200"], "--erosion must be in 0..100, got 200"),
                          (["--erosion", "2", "--world"], "--erosion applies to levels"),
                          (["--erosion-mode", "wear", "--world"],
                           "--erosion-mode applies to levels")):
        assert main(["map", *args, "-o", str(tmp_path / "x.png")]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1


def test_sinuosity_option_is_what_learned_rivers_get(tmp_path, capsys):
    from procgen.paths import sinuosity

    lv = tmp_path / "s.npz"
    assert main(["map", "--size", "128", "--cell-size", "2000", "--rivers", "learned:ar",
                 "--sinuosity", "1.7", "-o", str(tmp_path / "s.png"), "--level", str(lv)]) == 0
    level = Level.load(lv)
    assert level.config.rivers.sinuosity == 1.7 and level.rivers
    assert np.median([sinuosity(r.path) for r in level.rivers]) == pytest.approx(1.7, abs=0.05)
    for args, message in ((["--rivers", "flow", "--sinuosity", "1.5"],
                           "--sinuosity applies to the learned:NAME generators"),
                          (["--rivers", "learned:ar", "--sinuosity", "0.9"],
                           "--sinuosity must be in [1, 10], got 0.9")):
        assert main(["map", *args, "-o", str(tmp_path / "x.png")]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
