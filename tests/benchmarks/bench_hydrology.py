"""Benchmark: fill + flow directions + accumulation on 2048x2048 fractal terrain, vs pysheds.

pysheds (0.5) is the library a Python user would reach for: its ``fill_depressions`` (after
``fill_pits``), ``resolve_flats``, ``flowdir`` and ``accumulation`` make the same pipeline.
Both run in this one process on the same terrain; procgen is timed warm (best of several
runs), and its cold start (JIT compilation with an empty cache) is measured in a child process.

Agreement is reported two ways: pysheds' accumulation over procgen's own flow directions
(same directions in, so the accumulations should be identical), and how often the two
pipelines pick the same direction on their own (they resolve flats differently).

pysheds 0.5 calls ``np.in1d``, which numpy 2.4 removed; this script restores it as
``np.isin`` in its own process only, and says so when it does.

Run: ``python tests/benchmarks/bench_hydrology.py [--size 2048]``. CI does not time it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)

# procgen D8 code k -> pysheds' default dirmap value (N, NE, E, SE, S, SW, W, NW =
# 64, 128, 1, 2, 4, 8, 16, 32).
TO_PYSHEDS = np.array([1, 128, 64, 32, 16, 8, 4, 2], np.int64)


def terrain(size):
    from procgen.terrain import heightmap, preset
    return heightmap(size, config=preset("highlands"), cell_size=250.0, seed=3)


def procgen_pipeline(dem):
    from procgen.hydrology import fill_depressions, flow_accumulation, flow_directions
    filled = fill_depressions(dem)
    directions = flow_directions(filled)
    return filled, directions, flow_accumulation(directions)


def time_procgen(dem, repeats):
    from procgen.hydrology import fill_depressions, flow_accumulation, flow_directions
    best = {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        filled = fill_depressions(dem)
        t1 = time.perf_counter()
        directions = flow_directions(filled)
        t2 = time.perf_counter()
        flow_accumulation(directions)
        t3 = time.perf_counter()
        for key, value in (("fill", t1 - t0), ("flowdir", t2 - t1), ("accumulation", t3 - t2),
                           ("total", t3 - t0)):
            best[key] = min(best.get(key, np.inf), value)
    return best


def pysheds_grid(dem):
    if not hasattr(np, "in1d"):
        np.in1d = np.isin
        print("note: patched np.in1d = np.isin for pysheds (removed in numpy 2.4)")
    from affine import Affine
    from pysheds.grid import Grid
    from pysheds.sview import Raster, ViewFinder
    view = ViewFinder(affine=Affine(1.0, 0.0, 0.0, 0.0, -1.0, float(dem.shape[0])),
                      shape=dem.shape, nodata=np.float64(np.nan))
    raster = Raster(dem.astype(np.float64), viewfinder=view)
    return Grid(viewfinder=view), raster


def time_pysheds(dem, repeats):
    grid, raster = pysheds_grid(dem)
    best, out = {}, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        flooded = grid.fill_depressions(grid.fill_pits(raster))
        t1 = time.perf_counter()
        inflated = grid.resolve_flats(flooded)
        t2 = time.perf_counter()
        fdir = grid.flowdir(inflated)
        t3 = time.perf_counter()
        acc = grid.accumulation(fdir)
        t4 = time.perf_counter()
        for key, value in (("fill", t1 - t0), ("resolve_flats", t2 - t1), ("flowdir", t3 - t2),
                           ("accumulation", t4 - t3), ("total", t4 - t0)):
            best[key] = min(best.get(key, np.inf), value)
        out = (grid, np.asarray(fdir), np.asarray(acc))
    return best, out


def cold_start(size):
    code = ("import sys, time; sys.path.insert(0, %r);"
            "from tests.benchmarks.bench_hydrology import terrain, procgen_pipeline;"
            "dem = terrain(%d); t = time.perf_counter(); procgen_pipeline(dem);"
            "print(time.perf_counter() - t)" % (ROOT, size))
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        first = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                               capture_output=True, text=True)
    return float(first.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    dem = terrain(args.size)
    print(f"{args.size}x{args.size} 'highlands' terrain, {os.cpu_count()} cores")
    compile_first = cold_start(args.size)
    filled, directions, acc = procgen_pipeline(dem)  # warm up in this process
    ours = time_procgen(dem, args.repeats)
    try:
        theirs, (grid, fdir, pyacc) = time_pysheds(dem, args.repeats)
    except Exception as exc:  # pysheds missing or broken: report ours alone
        print(f"pysheds could not run: {exc!r}")
        theirs = None

    print(f"\n{'stage':16} {'procgen s':>10} {'pysheds s':>10}")
    for key in ("fill", "resolve_flats", "flowdir", "accumulation", "total"):
        p = ours.get(key, 0.0)
        q = theirs.get(key, float("nan")) if theirs else float("nan")
        print(f"{key:16} {p:10.3f} {q:10.3f}")
    print(f"\nprocgen cold start (JIT compile, empty cache): {compile_first:.2f} s; "
          f"warm total {ours['total']:.3f} s")
    if theirs:
        print(f"speed-up, whole pipeline: {theirs['total'] / ours['total']:.1f}x")
        # Same directions in -> same accumulation out?
        ours_as_pysheds = np.where(directions >= 0, TO_PYSHEDS[np.maximum(directions, 0)], 0)
        grid_same, raster = pysheds_grid(dem)
        from pysheds.sview import Raster, ViewFinder
        view = ViewFinder(affine=raster.viewfinder.affine, shape=dem.shape, nodata=0)
        fd = Raster(ours_as_pysheds.astype(np.int64), viewfinder=view)
        their_acc = np.asarray(grid_same.accumulation(fd, nodata_out=0))
        # pysheds leaves out an outlet cell's own weight (its direction is nodata).
        flows = directions >= 0
        same = (np.array_equal(their_acc[flows], acc[flows])
                and np.array_equal(their_acc[~flows] + 1, acc[~flows]))
        print(f"pysheds accumulation over procgen's directions: identical={same} "
              f"(outlets compared with their own cell added, which pysheds leaves out)")
        their_dirs = np.asarray(fdir)
        inner = (slice(1, -1), slice(1, -1))
        agree = np.mean(their_dirs[inner] == ours_as_pysheds[inner])
        big = acc[inner] >= 1000
        agree_big = np.mean(their_dirs[inner][big] == ours_as_pysheds[inner][big])
        print(f"own directions agree on {agree:.1%} of interior cells "
              f"({agree_big:.1%} where >= 1000 cells drain); they resolve flats differently")


if __name__ == "__main__":
    main()
