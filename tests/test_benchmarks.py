"""The benchmark scripts keep running: each at a tiny size, its agreement checks on, no timing.

The scripts exit 1 when their two sides stop agreeing (e.g. pysheds' accumulation over
procgen's directions differs from procgen's), so running them is a test of more than syntax.
The cold-start runs compile every kernel with an empty JIT cache (pysheds compiles all of its
kernels at import: about a minute), so they are marked slow.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent / "benchmarks"
TINY_HYDROLOGY = ["--size", "64", "--repeats", "1"]
TINY_WALKERS = ["--n", "64", "--steps", "100", "--grid", "64", "--repeats", "1"]

needs_pysheds = pytest.mark.skipif(importlib.util.find_spec("pysheds") is None,
                                   reason="pysheds (a benchmark peer, in the dev extra) is "
                                          "not installed")


def run(script, *args, hide=()):
    """Run a benchmark script as ``__main__``, with the modules in ``hide`` unimportable."""
    code = ("import runpy, sys\n"
            f"for name in {list(hide)!r}: sys.modules[name] = None\n"
            f"sys.argv = [{str(BENCH / script)!r}] + {list(args)!r}\n"
            f"runpy.run_path(sys.argv[0], run_name='__main__')\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=900)


def check(result, code=0):
    assert result.returncode == code, result.stdout + result.stderr
    return result.stdout


@needs_pysheds
def test_hydrology_runs_and_agrees():
    out = check(run("bench_hydrology.py", *TINY_HYDROLOGY, "--no-cold", "--require-peers"))
    assert "MISSING" not in out
    assert "pysheds 0.5" in out
    assert "identical to procgen's: True" in out
    assert "procgen 0, pysheds" in out


def test_hydrology_says_loudly_when_pysheds_is_missing():
    result = run("bench_hydrology.py", *TINY_HYDROLOGY, "--no-cold", hide=["pysheds"])
    out = check(result)
    assert "MISSING PEERS: pysheds -> procgen is timed ALONE" in out
    assert "pysheds==0.5" in out
    assert "MISSING PEERS: pysheds" in result.stderr
    assert "agreement" not in out
    check(run("bench_hydrology.py", *TINY_HYDROLOGY, "--no-cold", "--require-peers",
              hide=["pysheds"]), code=2)


def test_walkers_runs_and_agrees():
    out = check(run("bench_walkers.py", *TINY_WALKERS, "--no-cold"))
    for name in ("numpy, floats", "numpy, packed bits", "numpy, packed bits + table"):
        assert name in out
    assert "agreement: same seed" in out


@pytest.mark.slow
@needs_pysheds
def test_hydrology_cold_start_runs():
    out = check(run("bench_hydrology.py", *TINY_HYDROLOGY))
    assert "empty JIT cache" in out and "JIT cache on disk" in out


@pytest.mark.slow
def test_walkers_cold_start_runs():
    out = check(run("bench_walkers.py", *TINY_WALKERS))
    assert "empty cache" in out and "cache on disk" in out


def test_world_benchmark_runs_and_its_regions_agree():
    out = check(run("bench_world.py", "--repeats", "1", "--tile", "256", "--cell-size", "2000",
                    "--sizes", "64"))
    assert "warm 64^2 at row=col=1e+12" in out and "MISMATCH" not in out


def test_worldstore_benchmark_runs_and_both_stores_agree():
    pytest.importorskip("zarr")
    pytest.importorskip("dask")
    out = check(run("bench_worldstore.py", "--size", "256", "--chunks", "128"))
    assert "stores hold the same bytes" in out


def test_meanders_benchmark_runs_and_reports_every_target():
    pytest.importorskip("torch")                  # its C2ST is learned's, which needs torch
    out = check(run("bench_meanders.py", "--quick"))
    for source in ("none", "curve", "learned:ar"):
        assert f"== meanders={source}" in out
    for target in ("45°:", "of 2 km or more:", "crossings between rivers:",
                   "downhill/termination failures: 0", "Hack: L =", "C2ST rivers >= 2 km",
                   "C2ST courses >= 2 km",
                   "== cost:"):
        assert target in out
    assert out.count("crossings between rivers: 0, self-intersections: 0") == 3


def test_erosion_benchmark_runs_and_agrees_with_fastscapelib():
    pytest.importorskip("fastscapelib")        # a benchmark peer, in the dev extra
    out = check(run("bench_erosion.py", "--size", "64", "--repeats", "1", "--level-size", "64",
                    "--no-cold", "--require-peers"))
    assert "fastscapelib 0.3.0" in out
    assert "agreement (one step, no depressions): 100.00% of cells" in out   # 64²: no ties
    assert "generate_level 64² continent" in out


def test_erosion_benchmark_says_when_fastscapelib_is_missing():
    out = check(run("bench_erosion.py", "--size", "64", "--repeats", "1", "--level-size", "64",
                    "--no-cold", hide=["fastscapelib"]))
    assert "PEER MISSING: fastscapelib (fastscapelib==0.3.0" in out and "agreement" not in out
    check(run("bench_erosion.py", "--size", "64", "--repeats", "1", "--no-cold",
              "--require-peers", hide=["fastscapelib"]), code=1)
