"""The procgen command: maps, heightmaps, level files, and one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from procgen import Level
from procgen.cli import main


def test_map_writes_png_heightmap_and_level(tmp_path, capsys):
    out, hm, lv = tmp_path / "map.png", tmp_path / "h.png", tmp_path / "l.npz"
    rc = main(["map", "--seed", "7", "--size", "96", "--preset", "islands", "--cell-size",
               "4000", "-o", str(out), "--heightmap", str(hm), "--heightmap-size", "129",
               "--engine", "unity", "--level", str(lv)])
    assert rc == 0
    assert "wrote" in capsys.readouterr().out
    img = np.asarray(Image.open(out))
    assert img.shape == (96, 96, 3) and len(np.unique(img.reshape(-1, 3), axis=0)) > 50
    h16 = np.asarray(Image.open(hm))
    assert h16.shape == (129, 129) and h16.min() == 0 and h16.max() > 60000
    level = Level.load(lv)
    assert level.seed == 7 and level.shape == (96, 96)


def test_same_seed_same_png(tmp_path):
    for name in ("a.png", "b.png"):
        assert main(["map", "--seed", "3", "--size", "64", "-q", "-o", str(tmp_path / name)]) == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


@pytest.mark.parametrize("args, message", [
    (["--seed", "-4"], "seed must be in 0..18446744073709551615, got -4"),
    (["--size", "0"], "--size must be >= 1, got 0"),
    (["--size", "100000"], "--size 100000 makes 10,000,000,000 cells, over --max-cells"),
    (["--preset", "moon"], "preset must be one of 'continent'"),
    (["--cell-size", "nan"], "cell_size must be finite, got nan"),
    (["-o", "map.jpg"], "--output must be a .png path, got 'map.jpg'"),
    (["-o", "/no/such/folder/map.png"], "--output: folder '/no/such/folder' does not exist"),
    (["--heightmap", "h.png", "--heightmap-size", "1000", "--engine", "unity"],
     "--heightmap-size 1000 is not a legal unity heightmap size; legal sizes: 33, 65"),
    (["--engine", "unreal"], "--heightmap-size and --engine need --heightmap PATH"),
    (["--size", "ten"], "argument --size: invalid int value: 'ten'"),
    (["--engine", "godot"], "argument --engine: invalid choice: 'godot'"),
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
    assert list(tmp_path.iterdir()) == []


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["map", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for option in ("--seed", "--size", "--preset", "--cell-size", "--output", "--no-shade",
                   "--heightmap", "--heightmap-size", "--engine", "--level", "--max-cells",
                   "--quiet", "continent", "islands", "archipelago", "highlands", "lowlands"):
        assert option in text


def test_console_module_runs_as_a_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "procgen.cli", "map", "--size", "bad"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("procgen: error:")


# -- procgen export -----------------------------------------------------------------------------
GEN = ["--seed", "1", "--size", "40", "--preset", "continent", "--cell-size", "4000"]


def test_export_tiled_and_geojson(tmp_path, capsys):
    assert main(["export", "--format", "tiled", "-o", str(tmp_path / "m.tmj"), "--tile-size",
                 "8", *GEN]) == 0
    assert "wrote" in capsys.readouterr().out
    doc = json.loads((tmp_path / "m.tmj").read_text())
    assert doc["type"] == "map" and doc["width"] == 40 and doc["tilewidth"] == 8
    assert (tmp_path / "m_tiles.png").is_file()
    assert main(["export", "--format", "geojson", "-q", "-o", str(tmp_path / "r.geojson"),
                 *GEN]) == 0
    fc = json.loads((tmp_path / "r.geojson").read_text())
    assert fc["type"] == "FeatureCollection" and fc["features"]
    assert capsys.readouterr().out == ""


def test_export_heightmaps(tmp_path):
    assert main(["export", "--format", "heightmap16", "-q", "-o", str(tmp_path / "h.png"),
                 "--heightmap-size", "65", "--engine", "unity", "--splat", "rgba", *GEN]) == 0
    assert np.asarray(Image.open(tmp_path / "h.png")).shape == (65, 65)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "h.json", "h.png", "h_splat0.png", "h_splat1.png", "h_splat2.png"]
    assert main(["export", "--format", "raw16", "-q", "-o", str(tmp_path / "t.r16"),
                 "--heightmap-size", "127", "--engine", "unreal", *GEN]) == 0
    raw = np.fromfile(tmp_path / "t.r16", "<u2")
    assert raw.size == 127 * 127 and raw.min() == 0 and raw.max() > 60000


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
    (["--format", "geojson", "-o", "r.json", "--level", "l.npz", "--seed", "3"],
     "--level FILE exports a saved level; drop --seed"),
    (["--format", "geojson", "-o", "r.json", "--level", "missing.npz"],
     "--level: no level file at 'missing.npz'"),
    (["--format", "raw16", "-o", "h.raw", "--heightmap-size", "1000", "--engine", "unity"],
     "--heightmap-size 1000 is not a legal unity heightmap size; legal sizes: 33, 65"),
    (["--format", "raw16", "-o", "h.raw", "--size", "96", "--engine", "unity"],
     "--size 96 is not a legal unity heightmap size (legal sizes: 33, 65"),
    (["--format", "heightmap16", "-o", "h.png", "--heightmap-size", "1"],
     "--heightmap-size must be >= 2, got 1"),
    (["--format", "tiled", "-o", "m.json", "--seed", "-4"],
     "seed must be in 0..18446744073709551615, got -4"),
    (["--format", "tiled", "-o", "m.json", "--size", "0"], "--size must be >= 1, got 0"),
    (["--format", "tiled", "-o", "m.json", "--size", "100000"],
     "--size 100000 makes 10,000,000,000 cells, over --max-cells"),
    (["--format", "tiled", "-o", "m.json", "--preset", "moon"],
     "preset must be one of 'continent'"),
    (["--format", "tiled", "-o", "m.json", "--cell-size", "nan"],
     "cell_size must be finite, got nan"),
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
    assert "is 40x40, not a legal unity heightmap size" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.npz", "l.npz", "m.png"]


def test_export_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    text = capsys.readouterr().out
    for option in ("--format", "--output", "--level", "--seed", "--size", "--preset",
                   "--rivers", "--cell-size", "--tile-size", "--heightmap-size", "--engine",
                   "--splat", "--max-cells", "--quiet", "tiled", "geojson", "heightmap16",
                   "raw16"):
        assert option in text
