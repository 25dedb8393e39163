"""Benchmark: river walker steps per second, cold and warm, all cores and one thread.

Each walker makes ``n`` walkers of ``steps`` steps (float64 ``(n, steps + 1, 2)`` output),
timed end to end: random number generation (numpy Generator, one thread), the numba kernel
that integrates the turns, and the allocation of the output. Walkers timed:

* ``coin_flip`` with ``p_left=0.5`` (packed random bits: 64 turns per 64-bit draw) and with
  ``p_left=0.3`` (one uint32 uniform per turn);
* ``persistent`` with ``persistence=0.8`` (uniforms) and ``0.5`` (bits);
* ``downhill`` on a 2048 x 2048 float32 grid, walkers starting at the centre (they cannot leave
  the grid in 1000 steps, so every step is paid for);
* ``sine_curve`` with heading noise (plain numpy, no kernel).

The peer a user would otherwise write is the vectorised numpy coin flip: draw the coins,
``cumsum`` the turns into headings, take ``cos``/``sin`` and ``cumsum`` again; it is timed in
this process against ``coin_flip`` as a ratio.

Every procgen measurement runs in a fresh child process: once with an empty
``NUMBA_CACHE_DIR`` (the first call compiles: cold start), once with the cache on disk (first
call loads it), and with ``NUMBA_NUM_THREADS=1``. Warm numbers are the best of ``--repeats``.

Run: ``python tests/benchmarks/bench_walkers.py [--n 20000] [--steps 1000]``. CI does not time
it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

CASES = ["coin_flip p=0.5", "coin_flip p=0.3", "persistent q=0.8", "persistent q=0.5",
         "downhill", "sine_curve"]


def best_of(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def make_call(case, n, steps):
    """A no-argument function running one benchmark case with a fixed seed."""
    from procgen import walkers as w
    if case == "coin_flip p=0.5":
        return lambda: w.coin_flip(n, steps, rng=1, max_points=None)
    if case == "coin_flip p=0.3":
        return lambda: w.coin_flip(n, steps, p_left=0.3, rng=1, max_points=None)
    if case == "persistent q=0.8":
        return lambda: w.persistent(n, steps, persistence=0.8, rng=1, max_points=None)
    if case == "persistent q=0.5":
        return lambda: w.persistent(n, steps, persistence=0.5, rng=1, max_points=None)
    if case == "downhill":
        size = 2048
        r, c = np.mgrid[0:size, 0:size].astype(np.float32)
        height = np.sin(r / 37.0) * 5 + np.cos(c / 23.0) * 5 - 0.01 * c
        heading = np.random.default_rng(0).uniform(-np.pi, np.pi, n)
        start = (size / 2, size / 2)
        return lambda: w.downhill(height, n, steps, start=start, heading=heading, bias=1.0,
                                  rng=1, max_points=None)
    if case == "sine_curve":
        return lambda: w.sine_curve(n, steps, wavelength=60.0, noise=0.1, rng=1,
                                    max_points=None)
    raise ValueError(case)


def measure_all(n, steps, repeats):
    """In this process: first-call and best warm seconds of every case."""
    result = {}
    for case in CASES:
        call = make_call(case, 2, 10)
        t = time.perf_counter()
        call()                                   # compiles (or loads) the kernel
        first = time.perf_counter() - t
        result[case] = [first, best_of(make_call(case, n, steps), repeats)]
    return result


def child(mode, n, steps, repeats):
    """Run :func:`measure_all` in a fresh process (own thread count / JIT cache)."""
    env = dict(os.environ)
    if mode == "one-thread":
        env["NUMBA_NUM_THREADS"] = "1"
    code = ("import sys, json; sys.path.insert(0, %r);"
            "from tests.benchmarks.bench_walkers import measure_all;"
            "print(json.dumps(measure_all(%d, %d, %d)))" % (ROOT, n, steps, repeats))
    if mode == "compile":
        with tempfile.TemporaryDirectory() as cache:
            env["NUMBA_CACHE_DIR"] = cache
            out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                 capture_output=True, text=True)
    else:
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                             capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def numpy_coin_flip(n, steps, *, step=1.0, turn=np.pi / 12, p_left=0.5, rng=None):
    """The peer: a vectorised numpy coin-flip walker (same output layout)."""
    rng = np.random.default_rng(rng)
    turns = np.where(rng.random((n, steps), dtype=np.float32) < p_left, turn, -turn)
    phi = np.cumsum(turns, axis=1)
    out = np.zeros((n, steps + 1, 2))
    np.cumsum(-step * np.sin(phi), axis=1, out=out[:, 1:, 0])
    np.cumsum(step * np.cos(phi), axis=1, out=out[:, 1:, 1])
    return out


def breakdown(n, steps, repeats):
    """Seconds spent drawing random numbers vs integrating, for coin_flip (this process)."""
    from procgen import walkers as w
    from procgen._kernels import walkers as wk
    w.coin_flip(2, 10, rng=0)
    w.coin_flip(2, 10, p_left=0.3, rng=0)
    rows = {}
    for p in (0.5, 0.3):
        gen = np.random.default_rng(1)
        draw = best_of(lambda: w._decisions(gen, n, steps, p), repeats)
        words, u, thr = w._decisions(gen, n, steps, p)
        cos_t, sin_t = w._turn_tables(steps, np.pi / 12)
        cos_h, sin_h, start = w._heading_start(n, 0.0, (0.0, 0.0))
        out = np.empty((n, steps + 1, 2))

        def integrate():
            wk.turn_walk(words, u, thr, False, cos_t, sin_t, cos_h, sin_h, 1.0, start, out)
        rows[p] = (draw, best_of(integrate, repeats))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="walkers per call")
    parser.add_argument("--steps", type=int, default=1000, help="steps per walker")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n, steps, rep = args.n, args.steps, args.repeats
    total = n * steps
    print(f"river walkers: {n} walkers x {steps} steps = {total / 1e6:.1f} M steps per call, "
          f"float64 output {n * (steps + 1) * 16 / 2**20:.0f} MiB; {os.cpu_count()} cores")

    compiled = child("compile", n, steps, 1)
    cached = child("cached", n, steps, rep)
    one = child("one-thread", n, steps, rep)

    print(f"\n{'walker':18} {'all cores':>12} {'1 thread':>12}   {'cold: compile':>13} "
          f"{'cache load':>10}")
    print(f"{'':18} {'M steps/s':>12} {'M steps/s':>12}   {'first call s':>13} {'s':>10}")
    for case in CASES:
        print(f"{case:18} {total / cached[case][1] / 1e6:12.1f} {total / one[case][1] / 1e6:12.1f}"
              f"   {compiled[case][0]:13.2f} {cached[case][0]:10.2f}")
    print("(cold columns: the first call, tiny problem, in a fresh process; compile = empty "
          "NUMBA_CACHE_DIR; the kernel is shared by coin_flip and persistent, so only the "
          "first of them compiles)")

    peer = best_of(lambda: numpy_coin_flip(n, steps, rng=1), max(1, rep // 2))
    ours = cached["coin_flip p=0.5"][1]
    print(f"\npeer: vectorised numpy coin flip {total / peer / 1e6:.1f} M steps/s; "
          f"coin_flip is {peer / ours:.1f}x faster (all cores), "
          f"{peer / one['coin_flip p=0.5'][1]:.1f}x (1 thread)")

    print("\ncoin_flip time split, this process (all cores):")
    for p, (draw, integ) in breakdown(n, steps, rep).items():
        print(f"  p_left={p}: draw {draw * 1e3:7.1f} ms ({total / draw / 1e6:8.0f} M steps/s), "
              f"integrate {integ * 1e3:7.1f} ms ({total / integ / 1e6:6.0f} M steps/s)")


if __name__ == "__main__":
    main()
