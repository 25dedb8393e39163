"""Benchmark: depression filling + D8 directions + accumulation on 2048x2048 terrain, vs pysheds.

Both sides do the same job on the same float32 terrain (converted to float64 for pysheds,
outside the timing): give every cell a D8 direction that leads off the map, then count the
cells draining through each cell. Each side runs its smallest pipeline that does that job:

* procgen: ``fill_depressions`` (Priority-Flood+epsilon, Barnes, Lehman & Mulla 2014: one pass
  fills the depressions *and* gives flats a gradient, so no cell is left flat), then
  ``flow_directions`` (D8 steepest descent) and ``flow_accumulation``.
* pysheds 0.5: ``fill_depressions`` (Priority-Flood, flat fill), ``resolve_flats`` (the
  gradients of Barnes, Lehman & Mulla 2015, needed because a flat fill leaves flats without a
  direction), ``flowdir`` (D8) and ``accumulation``. ``fill_pits`` is left out: it only fills
  one-cell pits, which ``fill_depressions`` fills anyway (the script checks that the fill is
  unchanged by it). pysheds' ``fill_depressions`` writes into its input, so every repeat gets
  a fresh copy, made outside the timing.

Warm times are the best of ``--repeats`` runs in this process. Cold start is measured per side
in fresh child processes: first with an empty ``NUMBA_CACHE_DIR`` (JIT compilation; pysheds
compiles all its kernels at import, procgen compiles on the first call), then again with the
cache that run left on disk. Each reports import and first call (at the benchmark size).

Agreement, checked after the timing (the script exits 1 if a check fails):

* fill: procgen raises every cell pysheds raises, to the same level plus its epsilon gradient;
* directions: identical wherever neither side changed a cell or its neighbours (same heights
  in, so D8 must agree, up to exact ties, which the two break in different orders); on filled
  depressions and flats they differ by design (two flat-resolution methods);
* accumulation: pysheds' accumulation over procgen's directions equals procgen's;
* cells left without a way down (off the map edge): procgen none; pysheds' count is reported.

pysheds is in the ``dev`` extra; if it is missing the script says so loudly and times procgen
alone (``--require-peers`` makes that an error). pysheds 0.5 calls ``np.in1d``, which numpy 2.4
removed; the script restores it as ``np.isin`` in its own process only, and says so.

Run: ``python tests/benchmarks/bench_hydrology.py [--size 2048] [--repeats 3] [--no-cold]``.
CI only checks that it runs (``tests/test_benchmarks.py``); it does not time it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

PEERS = {"pysheds": "pysheds==0.5"}   # import name -> requirement in the dev extra

# procgen D8 code k (0 = east, counter-clockwise) -> pysheds' default dirmap value
# (N, NE, E, SE, S, SW, W, NW = 64, 128, 1, 2, 4, 8, 16, 32); 0 = no direction in both.
TO_PYSHEDS = np.array([1, 128, 64, 32, 16, 8, 4, 2], np.int64)
PYSHEDS_DR = {64: -1, 128: -1, 1: 0, 2: 1, 4: 1, 8: 1, 16: 0, 32: -1}
PYSHEDS_DC = {64: 0, 128: 1, 1: 1, 2: 1, 4: 0, 8: -1, 16: -1, 32: -1}

PROCGEN_STAGES = ("fill", "flowdir", "accumulation")
PYSHEDS_STAGES = ("fill", "resolve_flats", "flowdir", "accumulation")


def terrain(size):
    from procgen.terrain import heightmap, preset
    return heightmap(size, config=preset("highlands"), cell_size=250.0, seed=3)


def missing_peers():
    """``{import name: requirement}`` of the peers that cannot be imported."""
    missing = {}
    for name, requirement in PEERS.items():
        try:
            __import__(name)
        except ImportError:
            missing[name] = requirement
    return missing


def _stamp(times, key, t0):
    t = time.perf_counter()
    times[key] = t - t0
    return t


def run_procgen(dem):
    """procgen's pipeline once: ``(seconds per stage, outputs)``."""
    from procgen.hydrology import fill_depressions, flow_accumulation, flow_directions
    times = {}
    t = time.perf_counter()
    filled = fill_depressions(dem)
    t = _stamp(times, "fill", t)
    directions = flow_directions(filled)
    t = _stamp(times, "flowdir", t)
    acc = flow_accumulation(directions)
    _stamp(times, "accumulation", t)
    times["total"] = sum(times[k] for k in PROCGEN_STAGES)
    return times, dict(filled=filled, directions=directions, accumulation=acc)


def _patch_numpy():
    if not hasattr(np, "in1d"):
        np.in1d = np.isin
        return True
    return False


def pysheds_setup(dem):
    """A pysheds Grid over ``dem`` (unit cells) and a maker of fresh float64 Rasters of it."""
    _patch_numpy()
    from affine import Affine
    from pysheds.grid import Grid
    from pysheds.sview import Raster, ViewFinder
    view = ViewFinder(affine=Affine(1.0, 0.0, 0.0, 0.0, -1.0, float(dem.shape[0])),
                      shape=dem.shape, nodata=np.float64(np.nan))
    dem64 = dem.astype(np.float64)
    return Grid(viewfinder=view), lambda: Raster(dem64.copy(), viewfinder=view)


def run_pysheds(grid, raster):
    """pysheds' smallest equivalent pipeline once on ``raster`` (which it overwrites)."""
    times = {}
    t = time.perf_counter()
    flooded = grid.fill_depressions(raster)
    t = _stamp(times, "fill", t)
    inflated = grid.resolve_flats(flooded)
    t = _stamp(times, "resolve_flats", t)
    fdir = grid.flowdir(inflated)
    t = _stamp(times, "flowdir", t)
    acc = grid.accumulation(fdir)
    _stamp(times, "accumulation", t)
    times["total"] = sum(times[k] for k in PYSHEDS_STAGES)
    return times, dict(filled=np.asarray(flooded), inflated=np.asarray(inflated),
                       directions=np.asarray(fdir), accumulation=np.asarray(acc))


def best_times(run, repeats):
    """Per-stage best over ``repeats`` calls of ``run() -> (times, outputs)``; last outputs."""
    best, out = {}, None
    for _ in range(repeats):
        times, out = run()
        for key, value in times.items():
            best[key] = min(best.get(key, np.inf), value)
    return best, out


def child_main(side, dem_path):
    """In a fresh process: seconds to import ``side`` and to run its pipeline the first time."""
    dem = np.load(dem_path)
    t = time.perf_counter()
    if side == "procgen":
        import procgen.hydrology  # noqa: F401
    else:
        _patch_numpy()
        import pysheds.grid  # noqa: F401
    imported = time.perf_counter() - t
    t = time.perf_counter()
    if side == "procgen":
        run_procgen(dem)
    else:
        grid, fresh = pysheds_setup(dem)
        run_pysheds(grid, fresh())
    print(json.dumps({"import": imported, "first": time.perf_counter() - t}))


def cold_start(side, dem):
    """``{"empty": {...}, "cached": {...}}``: two fresh processes sharing one JIT cache dir."""
    code = ("import sys; sys.path.insert(0, %r);"
            "from tests.benchmarks.bench_hydrology import child_main;"
            "child_main(%r, sys.argv[1])" % (ROOT, side))
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dem.npy")
        np.save(path, dem)
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(tmp, "numba"))
        for mode in ("empty", "cached"):
            out = subprocess.run([sys.executable, "-c", code, path], env=env,
                                 capture_output=True, text=True)
            if out.returncode:
                raise RuntimeError(f"{side} cold-start child failed:\n{out.stderr}")
            result[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _untouched(changed):
    """True where neither the cell nor any of its 8 neighbours is in ``changed``."""
    pad = np.pad(changed, 1, constant_values=False)
    nr, nc = changed.shape
    any_changed = np.zeros((nr, nc), np.bool_)
    for dr in (0, 1, 2):
        for dc in (0, 1, 2):
            any_changed |= pad[dr:dr + nr, dc:dc + nc]
    return ~any_changed


def _drop(dem, r, c, code):
    """D8 slope from ``(r, c)`` along pysheds' direction ``code`` (float64, as both compute)."""
    dr, dc = PYSHEDS_DR[int(code)], PYSHEDS_DC[int(code)]
    return (np.float64(dem[r, c]) - np.float64(dem[r + dr, c + dc])) / np.hypot(dr, dc)


def agreement(dem, ours, theirs, grid):
    """Compare the two sides' outputs; returns (lines to print, list of failed checks)."""
    from pysheds.sview import Raster, ViewFinder
    lines, failed = [], []
    interior = np.zeros(dem.shape, np.bool_)
    interior[1:-1, 1:-1] = True

    # Fill: pysheds' flat fill holds copies of float32 heights, so it is exact in float32.
    pg = ours["filled"]
    ps = theirs["filled"].astype(np.float32)
    raised_pg, raised_ps = pg > dem, ps > dem
    ok = bool(np.all(pg >= ps) and np.all(raised_pg[raised_ps]))
    lines.append(f"fill: procgen raises every cell pysheds raises ({int(raised_ps.sum())}), to "
                 f"at least its level: {ok}; it also lifts {int((raised_pg & ~raised_ps).sum())} "
                 f"flat cells by its epsilon gradient (at most {float(np.max(pg - ps)):.2g} m "
                 f"above pysheds' flat fill)")
    if not ok:
        failed.append("fill")
    pits_first = grid.fill_depressions(grid.fill_pits(pysheds_raster(grid, dem)))
    same_fill = np.array_equal(np.asarray(pits_first), theirs["filled"])
    lines.append(f"fill: pysheds' fill_pits before fill_depressions changes nothing: {same_fill}")
    if not same_fill:
        failed.append("fill_pits")

    # Directions: same heights around a cell -> same D8 choice, up to exact ties.
    d = ours["directions"]
    ours_code = np.where(d >= 0, TO_PYSHEDS[np.maximum(d, 0)], 0)
    their_code = np.where(theirs["directions"] > 0, theirs["directions"], 0)
    changed = (pg != dem) | (theirs["inflated"] != dem.astype(np.float64))
    same_heights = _untouched(changed)
    differ = np.argwhere(same_heights & (ours_code != their_code))
    ties = sum(1 for r, c in differ if ours_code[r, c] and their_code[r, c]
               and _drop(dem, r, c, ours_code[r, c]) == _drop(dem, r, c, their_code[r, c]))
    lines.append(f"directions, on the {same_heights.mean():.1%} of cells whose 3x3 neighbourhood "
                 f"neither side changed: {len(differ)} differ, {ties} of them exact ties")
    if len(differ) != ties:
        failed.append("directions")
    agree = np.mean(ours_code[interior] == their_code[interior])
    big = interior & (ours["accumulation"] >= 1000)
    agree_big = np.mean(ours_code[big] == their_code[big]) if big.any() else float("nan")
    lines.append(f"directions, all interior cells: {agree:.1%} the same ({agree_big:.1%} where "
                 f">= 1000 cells drain); flats are resolved differently by design")

    # Accumulation: pysheds over procgen's directions. pysheds leaves out an outlet's own
    # weight (a cell with no direction counts as nodata), so add it back there.
    view = ViewFinder(affine=grid.viewfinder.affine, shape=dem.shape, nodata=0)
    their_acc = np.asarray(grid.accumulation(Raster(ours_code, viewfinder=view), nodata_out=0))
    flows = d >= 0
    acc = ours["accumulation"]
    same_acc = bool(np.array_equal(their_acc[flows], acc[flows])
                    and np.array_equal(their_acc[~flows] + 1, acc[~flows]))
    lines.append(f"accumulation: pysheds' over procgen's directions is identical to procgen's: "
                 f"{same_acc}")
    if not same_acc:
        failed.append("accumulation")

    # Where water stops short of the map edge.
    stuck_pg = int(np.sum(interior & (d < 0)))
    stuck_ps = int(np.sum(interior & (theirs["directions"] <= 0)))
    lines.append(f"interior cells with no way down: procgen {stuck_pg}, pysheds {stuck_ps} "
                 f"(after resolve_flats; water reaching them stops there)")
    if stuck_pg:
        failed.append("procgen drains every cell")
    return lines, failed


def pysheds_raster(grid, dem):
    """A fresh float64 pysheds Raster of ``dem`` on ``grid``."""
    from pysheds.sview import Raster
    return Raster(dem.astype(np.float64), viewfinder=grid.viewfinder)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048, help="grid side, cells")
    parser.add_argument("--repeats", type=int, default=3, help="warm runs; the best is kept")
    parser.add_argument("--no-cold", action="store_true",
                        help="skip the cold-start child processes (they compile everything)")
    parser.add_argument("--require-peers", action="store_true",
                        help="exit 2 instead of timing procgen alone when a peer is missing")
    args = parser.parse_args(argv)

    print(f"hydrology: {args.size}x{args.size} 'highlands' terrain (float32), "
          f"{os.cpu_count()} cores, numpy {np.__version__}, Python {platform.python_version()}")
    missing = missing_peers()
    if missing:
        bar = "!" * 78
        print(f"\n{bar}\nMISSING PEERS: {', '.join(missing)} -> procgen is timed ALONE, nothing "
              f"is compared.\nInstall: pip install {' '.join(repr(r) for r in missing.values())}"
              f"  (or pip install -e '.[dev]')\n{bar}\n", flush=True)
        print(f"MISSING PEERS: {', '.join(missing)}", file=sys.stderr)
        if args.require_peers:
            return 2
    have_pysheds = "pysheds" not in missing
    if have_pysheds:
        import pysheds
        version = getattr(pysheds, "__version__", "?")
        patched = _patch_numpy()
        print(f"peer: pysheds {version}" + ("; patched np.in1d = np.isin for it (numpy 2.4 "
                                            "removed np.in1d)" if patched else ""))
    print("\nwhat each side runs (same job: a D8 direction for every cell, then cells drained):"
          "\n  procgen  fill_depressions (Priority-Flood+epsilon: fills and resolves flats in "
          "one pass)\n           -> flow_directions (D8) -> flow_accumulation"
          "\n  pysheds  fill_depressions (Priority-Flood, flat fill) -> resolve_flats (Barnes "
          "2015)\n           -> flowdir (D8) -> accumulation   (fill_pits left out: redundant)")

    dem = terrain(args.size)
    run_procgen(dem)                                        # compile / load, warm up
    ours, our_out = best_times(lambda: run_procgen(dem), args.repeats)
    theirs = their_out = grid = None
    if have_pysheds:
        grid, fresh = pysheds_setup(dem)
        run_pysheds(grid, fresh())
        theirs, their_out = best_times(lambda: run_pysheds(grid, fresh()), args.repeats)

    def cell(times, key):
        if times is None:
            return f"{'-':>11}"
        if key not in times:
            return f"{'(in fill)':>11}"
        return f"{times[key]:11.3f}"

    print(f"\nwarm: best of {args.repeats} in this process, seconds")
    print(f"{'stage':22}{'procgen':>11}{'pysheds':>11}")
    for key in ("fill", "resolve_flats", "flowdir", "accumulation", "total"):
        print(f"{key:22}{cell(ours, key)}{cell(theirs, key)}")
    if theirs:
        print(f"whole pipeline, warm: procgen {theirs['total'] / ours['total']:.1f}x faster "
              f"than pysheds")

    if not args.no_cold:
        sides = ["procgen"] + (["pysheds"] if have_pysheds else [])
        cold = {side: cold_start(side, dem) for side in sides}
        print("\ncold start: fresh processes, seconds to import + first pipeline call "
              "at this size")
        print(f"{'':22}" + "".join(f"{side:>22}" for side in sides))
        for mode, label in (("empty", "empty JIT cache"), ("cached", "JIT cache on disk")):
            row = "".join(f"{c[mode]['import']:7.2f} + {c[mode]['first']:6.2f} = "
                          f"{c[mode]['import'] + c[mode]['first']:5.1f}"
                          for c in cold.values())
            print(f"{label:22}{row}")
        if have_pysheds:
            first = {s: c["empty"]["import"] + c["empty"]["first"] for s, c in cold.items()}
            print(f"cold start, empty cache: procgen {first['pysheds'] / first['procgen']:.1f}x "
                  f"faster than pysheds")

    if not have_pysheds:
        return 0
    lines, failed = agreement(dem, our_out, their_out, grid)
    print("\nagreement:")
    for line in lines:
        print("  " + line)
    if failed:
        print(f"AGREEMENT CHECK FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
