"""The treasure-hunt demo runs headless and its path finding is right."""

import math
import re
import subprocess
import sys

import numpy as np
from PIL import Image

from demos.treasure_hunt import main, shortest_walks, trace


def test_demo_prints_what_a_game_needs(tmp_path, capsys):
    png = tmp_path / "hunt.png"
    assert main(["--seed", "0", "--players", "3", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Level seed 0: 192x192 cells of 1000 m (continent)")
    assert re.search(r"Treasure at \(\d+, \d+\): -?\d+ m up, .+ in watershed \d+", out)
    walks = re.findall(r"Player \d at \(\d+, \d+\) \(.+\): walk ([\d.]+) km", out)
    assert len(walks) == 3 and all(float(w) > 0 for w in walks)
    assert len(re.findall(r"\d+ ford cells? on the way", out)) == 3
    with Image.open(png) as im:
        assert im.size == (768, 768)   # 4 pixels per cell


def test_shortest_walks_by_hand():
    open_ = np.ones((3, 3), bool)
    dist, prev = shortest_walks(open_, (0, 0))
    assert dist[2, 2] == 2 * math.sqrt(2) and dist[0, 2] == 2.0
    assert trace(prev, 3, (2, 2)) == [(0, 0), (1, 1), (2, 2)]
    wall = open_.copy(); wall[:, 1] = False
    dist, _ = shortest_walks(wall, (0, 0))
    assert np.isinf(dist[:, 2]).all() and dist[2, 0] == 2.0


def test_demo_runs_as_a_script_without_pygame():
    code = ("import sys; from demos.treasure_hunt import main; main(['--size', '64']); "
            "print('pygame' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().endswith("False")
