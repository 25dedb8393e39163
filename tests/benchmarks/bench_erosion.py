"""Benchmark: stream-power erosion steps, procgen against fastscapelib, and its share of a level.

fastscapelib (the C++ library behind FastScape, Braun & Willett 2013's O(n) implicit scheme,
with Python bindings) is what a user would pick to erode a heightmap. Both sides do the same
job on the same float64 terrain, a highlands heightmap lifted so that every cell is land,
in a one-cell border of sea at 0 m, the base level:

* procgen: ``erode(h, ErosionConfig(steps=S, strength=K, channel_cells=1))`` (each step:
  Priority-Flood+epsilon fill, D8 steepest descent, drained area, a topological order, then
  the kernel's implicit update);
* fastscapelib 0.3: per step ``FlowGraph.update_routes`` (single-flow router, Priority-Flood
  sink resolver), ``accumulate``, ``SPLEroder.erode`` (area exponent 0.5, slope exponent 1,
  ``k_coef = K / S``, unit cells, dt = 1), and the subtraction. Its fixed-value border is
  procgen's sea.

Warm times: the best of ``--repeats`` runs in this process. Cold start (procgen only; the
peer is compiled ahead of time): a fresh child process with an empty ``NUMBA_CACHE_DIR``
(JIT compilation), then again with the cache that run left.

Agreement, checked after the timing (exit 1 if it fails): one step on a surface without
depressions or flats (a cone rising 10 m a cell from a 10 km plinth above the sea border,
plus terrain at a tenth of its relief, so that hardly any cell's steepest way down is a tie
and procgen's floor, land stays land, never binds), where both sides route the same way;
at least 99.5 % of cells must agree within 1e-5 of their height (procgen works in float32;
both sides get the float32 heights, whose quantisation still leaves a few exact ties
between two ways down, which the two break differently, and a cell routed another way
changes every cell upstream of it: 100 % at 256², 99.9 % at 1024²). On
depressions and flats the two differ by design: procgen's pits fill with what is worn above
them, fastscapelib's do not erode, and the two break ties on the filled flats differently.

Uplift (the levels' default, ``ErosionConfig.uplifted()``: ``--uplift-steps`` steps at
strength 100): procgen's ``erode`` against fastscapelib's usual landscape-evolution loop on
the same terrain, per step the same uplift added to every land cell, then routes, area and
``SPLEroder``. The two do not give the same heights: procgen fills a depression at once
(fastscapelib's pits do not erode), routes later steps without a sink resolver (its steps
leave no pits), and hands the noise terrain's heights back by rank at the end; the timing
compares the same number of uplift-and-erosion steps of the same size.

Then the stage's share of ``generate_level`` on a ``--level-size``² continent: erosion of
``--steps`` and ``--strength`` (wear) and the levels' default (uplift), each against none;
best of ``--repeats``.

Run: ``python tests/benchmarks/bench_erosion.py [--size 1024] [--steps 2] [--uplift-steps 10]
[--repeats 5] [--no-cold]``. CI only checks that it runs (``tests/test_benchmarks.py``); it
does not time it. fastscapelib is in the ``dev`` extra; without it the script says so and
times procgen alone (``--require-peers`` makes that an error).
"""

from __future__ import annotations

import argparse
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

PEERS = {"fastscapelib": "fastscapelib==0.3.0"}


def terrain(size):
    """A highlands heightmap lifted so that every cell is at least 1 m above the sea, in a
    one-cell border of sea (0 m): the base level of both sides."""
    from procgen.terrain import heightmap, preset
    h = heightmap(size, config=preset("highlands"), cell_size=250.0, seed=3)
    h = (h - h.min() + 1.0).astype(np.float64)
    h[[0, -1], :] = 0.0
    h[:, [0, -1]] = 0.0
    return h


def smooth(size):
    """A surface without depressions or flats: a cone rising 10 m a cell from a 10 km plinth
    above a sea border, plus the terrain at a tenth of its relief (under 10 m a cell, so the
    cone always leads down)."""
    h = terrain(size)
    r, c = np.indices(h.shape)
    border = np.minimum(np.minimum(r, c), np.minimum(size - 1 - r, size - 1 - c))
    relief = h[border > 0]
    wiggle = (h - relief.min()) / max(np.ptp(relief), 1e-9)        # 0..1 on land
    cone = 1e4 + 10.0 * border + 9.0 * wiggle
    cone[border == 0] = 0.0
    return cone


def run_procgen(h, steps, strength):
    from procgen.erosion import ErosionConfig, erode
    return erode(h, config=ErosionConfig(steps=steps, strength=strength,
                                         channel_cells=1.0)).astype(np.float64)


def run_fastscapelib(h, steps, strength):
    import fastscapelib as fs
    grid = fs.RasterGrid(list(h.shape), [1.0, 1.0], fs.NodeStatus.FIXED_VALUE)
    graph = fs.FlowGraph(grid, [fs.SingleFlowRouter(), fs.PFloodSinkResolver()])
    eroder = fs.SPLEroder(graph, k_coef=strength / steps, area_exp=0.5, slope_exp=1.0)
    z = h.copy()
    for _ in range(steps):
        graph.update_routes(z)
        area = graph.accumulate(1.0)
        z = z - eroder.erode(z, area, 1.0)
    return z


def run_procgen_uplift(h, steps):
    from procgen.erosion import ErosionConfig, erode
    return erode(h, config=ErosionConfig.uplifted(steps=steps)).astype(np.float64)


def run_fastscapelib_uplift(h, steps):
    """fastscapelib's loop for what ``ErosionConfig.uplifted(steps=steps)`` does: the same
    rise per step (half uniform, half as the heights) on land, routes, area, erosion."""
    import fastscapelib as fs
    from procgen.erosion import ErosionConfig
    cfg = ErosionConfig.uplifted(steps=steps)
    grid = fs.RasterGrid(list(h.shape), [1.0, 1.0], fs.NodeStatus.FIXED_VALUE)
    graph = fs.FlowGraph(grid, [fs.SingleFlowRouter(), fs.PFloodSinkResolver()])
    eroder = fs.SPLEroder(graph, k_coef=cfg.strength / steps, area_exp=0.5, slope_exp=1.0)
    land = h > 0
    top = h[land].max()
    share = cfg.uplift_follows_terrain
    rise = np.where(land, (1.0 - share) * top + share * h, 0.0) / steps
    z = h.copy()
    for _ in range(steps):
        z = z + rise
        graph.update_routes(z)
        area = graph.accumulate(1.0)
        z = z - eroder.erode(z, area, 1.0)
    return z


def best(run, repeats):
    times = []
    out = None
    for _ in range(repeats):
        t = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t)
    return min(times), out


def cold_start(size, steps, strength):
    """Seconds of import + first erode in fresh processes: empty JIT cache, then warm cache."""
    code = ("import sys, time; t0 = time.perf_counter(); "
            "sys.path.insert(0, sys.argv[1]); "
            "from tests.benchmarks.bench_erosion import terrain, run_procgen; "
            "h = terrain(int(sys.argv[2])); t1 = time.perf_counter(); "
            "run_procgen(h, int(sys.argv[3]), float(sys.argv[4])); "
            "print(t1 - t0, time.perf_counter() - t1)")
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("empty cache", "warm cache"):
            res = subprocess.run([sys.executable, "-c", code, ROOT, str(size), str(steps),
                                  str(strength)], env=env, capture_output=True, text=True)
            if res.returncode:
                raise RuntimeError(f"cold-start child failed:\n{res.stderr}")
            out[label] = tuple(float(v) for v in res.stdout.split())
    return out


def level_share(size, steps, strength, repeats):
    """Best seconds of ``generate_level`` with no erosion, with wear and with the default."""
    from procgen import generate_level
    from procgen.erosion import ErosionConfig
    from procgen.level import LevelConfig
    configs = {name: LevelConfig.from_preset("continent", erosion=erosion) for name, erosion in
               (("none", ErosionConfig()),
                ("wear", ErosionConfig(steps=steps, strength=strength)),
                ("uplift", LevelConfig().erosion))}
    for cfg in configs.values():
        generate_level(seed=0, shape=size, cell_size=500.0, config=cfg)       # compile
    return {name: best(lambda: generate_level(seed=0, shape=size, cell_size=500.0, config=cfg),
                       repeats)[0] for name, cfg in configs.items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--strength", type=float, default=8.0)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--uplift-steps", type=int, default=10)
    p.add_argument("--level-size", type=int, default=1024)
    p.add_argument("--no-cold", action="store_true", help="skip the cold-start child processes")
    p.add_argument("--require-peers", action="store_true",
                   help="fail instead of timing procgen alone when a peer is missing")
    a = p.parse_args(argv)
    import numba
    print(f"python {platform.python_version()}, numpy {np.__version__}, numba "
          f"{numba.__version__}, {os.cpu_count()} CPUs, numba threads "
          f"{numba.get_num_threads()}; {a.size}² cells, {a.steps} steps, K t {a.strength}")
    try:
        import fastscapelib
        peer = fastscapelib.__version__
    except ImportError:
        peer = None
        msg = f"PEER MISSING: fastscapelib ({PEERS['fastscapelib']}, in the dev extra)"
        if a.require_peers:
            print(msg + "; --require-peers set")
            return 1
        print(msg + "; timing procgen alone")
    h = terrain(a.size)
    run_procgen(h, a.steps, a.strength)                                       # compile
    t_ours, _ = best(lambda: run_procgen(h, a.steps, a.strength), a.repeats)
    print(f"procgen erode: {t_ours * 1000:.1f} ms warm ({t_ours / a.steps * 1000:.1f} ms "
          f"a step)")
    status = 0
    if peer is not None:
        t_peer, _ = best(lambda: run_fastscapelib(h, a.steps, a.strength), a.repeats)
        print(f"fastscapelib {peer}: {t_peer * 1000:.1f} ms warm; procgen is "
              f"{t_peer / t_ours:.2f}x as fast")
        cone = smooth(a.size).astype(np.float32).astype(np.float64)    # procgen's input
        ours, theirs = run_procgen(cone, 1, a.strength), run_fastscapelib(cone, 1, a.strength)
        diff = np.abs(ours - theirs)
        agree = float(np.mean(diff <= 1e-5 * np.maximum(np.abs(theirs), 1.0)))
        print(f"agreement (one step, no depressions): {agree:.2%} of cells within 1e-5 "
              f"(largest difference {diff.max():.3g} m)")
        if agree < 0.995:
            print("AGREEMENT FAILED: under 99.5 % of cells agree")
            status = 1
    run_procgen_uplift(h, a.uplift_steps)                                     # compile
    t_up, _ = best(lambda: run_procgen_uplift(h, a.uplift_steps), a.repeats)
    print(f"procgen erode under uplift, {a.uplift_steps} steps: {t_up * 1000:.1f} ms warm "
          f"({t_up / a.uplift_steps * 1000:.1f} ms a step)")
    if peer is not None:
        t_peer, _ = best(lambda: run_fastscapelib_uplift(h, a.uplift_steps), a.repeats)
        print(f"fastscapelib {peer}, the same uplift and steps: {t_peer * 1000:.1f} ms warm; "
              f"procgen is {t_peer / t_up:.2f}x as fast")
    if not a.no_cold:
        for label, (imp, first) in cold_start(a.size, a.steps, a.strength).items():
            print(f"cold start, {label}: import + terrain {imp:.2f} s, first erode {first:.2f} s")
    t = level_share(a.level_size, a.steps, a.strength, a.repeats)
    print(f"generate_level {a.level_size}² continent: {t['none']:.3f} s without erosion; "
          f"{t['wear']:.3f} s with {a.steps} steps of wear (+{t['wear'] / t['none'] - 1:.0%}); "
          f"{t['uplift']:.3f} s with the default uplift (+{t['uplift'] / t['none'] - 1:.0%})")
    return status


if __name__ == "__main__":
    sys.exit(main())
