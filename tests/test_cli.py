"""The procgen command: maps, heightmaps, level files, and one-line errors."""

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
