"""`import procgen` must stay light: no torch, no pygame."""

import subprocess
import sys


def test_import_procgen_does_not_import_torch_or_pygame():
    code = ("import sys, procgen, procgen.noise, procgen.terrain, procgen.render, procgen.cli;"
            "bad = [m for m in ('torch', 'pygame') if m in sys.modules];"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
