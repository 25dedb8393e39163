"""Benchmark: river walker steps per second, cold and warm, all cores and one thread.

Each walker makes ``n`` walkers of ``steps`` steps (float64 ``(n, steps + 1, 2)`` output),
timed end to end: random number generation (numpy Generator, one thread), the numba kernel
that integrates the turns, and the allocation of the output. Walkers timed:

* ``coin_flip`` with ``p_left=0.5`` (packed random bits: 64 turns per 64-bit draw) and with
  ``p_left=0.3`` (one uint32 uniform per turn);
* ``persistent`` with ``persistence=0.8`` (uniforms) and ``0.5`` (bits);
* ``downhill`` on a ``--grid`` x ``--grid`` float32 grid (default 2048), walkers starting at the
  centre (with the defaults they cannot leave the grid, so every step is paid for);
* ``sine_curve`` with heading noise (plain numpy, no kernel).

The peer a user would otherwise write is a vectorised numpy coin flip: draw the coins,
``cumsum`` the turns into headings, take ``cos``/``sin`` and ``cumsum`` again. It is timed in
this process, against ``coin_flip(p_left=0.5)``, in three versions, each given more of
procgen's own tricks:

* ``floats``: one float32 uniform per step, compared with ``p_left`` (what most code does);
* ``packed bits``: the very draws ``coin_flip`` makes (one uint64 per 64 steps,
  ``rng.integers``) unpacked with ``np.unpackbits``; float headings, ``sin``/``cos`` per step;
* ``packed bits + table``: the same bits, integer headings (``cumsum`` of +-1) and a
  ``cos``/``sin`` table looked up with ``np.take``, as the kernel does: no trigonometry per step.

The two packed-bit peers must reproduce ``coin_flip``'s rivers from the same seed (the table
version bit for bit); the script checks this and exits 1 if they do not.

Every procgen measurement runs in a fresh child process, all sharing one temporary
``NUMBA_CACHE_DIR``: first with the cache empty (the first call compiles: cold start), then with
what that run left on disk (the first call loads it), then with ``NUMBA_NUM_THREADS=1``. Warm
numbers are the best of ``--repeats``. numpy is the only peer, so none can be missing.

Run: ``python tests/benchmarks/bench_walkers.py [--n 20000] [--steps 1000] [--no-cold]``.
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

CASES = ["coin_flip p=0.5", "coin_flip p=0.3", "persistent q=0.8", "persistent q=0.5",
         "downhill", "sine_curve"]
TURN = np.pi / 12


def best_of(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def make_call(case, n, steps, grid):
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
        r, c = np.mgrid[0:grid, 0:grid].astype(np.float32)
        height = np.sin(r / 37.0) * 5 + np.cos(c / 23.0) * 5 - 0.01 * c
        heading = np.random.default_rng(0).uniform(-np.pi, np.pi, n)
        start = (grid / 2, grid / 2)
        return lambda: w.downhill(height, n, steps, start=start, heading=heading, bias=1.0,
                                  rng=1, max_points=None)
    if case == "sine_curve":
        return lambda: w.sine_curve(n, steps, wavelength=60.0, noise=0.1, rng=1,
                                    max_points=None)
    raise ValueError(case)


def measure_all(n, steps, repeats, grid, warm=True):
    """In this process: ``{case: [first-call s, best warm s or None]}``.

    The first call is a tiny problem, so it measures compiling (or loading) the kernel.
    """
    result = {}
    for case in CASES:
        call = make_call(case, 2, 10, grid)
        t = time.perf_counter()
        call()
        first = time.perf_counter() - t
        result[case] = [first, best_of(make_call(case, n, steps, grid), repeats) if warm
                        else None]
    return result


def child(args, cache, *, warm=True, threads=None):
    """Run :func:`measure_all` in a fresh process with its own JIT cache and thread count."""
    env = dict(os.environ)
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = cache
    if threads is not None:
        env["NUMBA_NUM_THREADS"] = str(threads)
    code = ("import sys, json; sys.path.insert(0, %r);"
            "from tests.benchmarks.bench_walkers import measure_all;"
            "print(json.dumps(measure_all(%d, %d, %d, %d, %r)))"
            % (ROOT, args.n, args.steps, args.repeats, args.grid, warm))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"benchmark child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# The numpy peers. Same output layout and frame as procgen.walkers: heading phi from east,
# counter-clockwise; a step moves (drow, dcol) = (-sin phi, cos phi) * step; start (0, 0).

def numpy_floats(n, steps, *, step=1.0, turn=TURN, p_left=0.5, rng=None):
    """numpy peer: one float32 uniform per step, float headings, sin/cos per step."""
    rng = np.random.default_rng(rng)
    turns = np.where(rng.random((n, steps), dtype=np.float32) < p_left, turn, -turn)
    phi = np.cumsum(turns, axis=1)
    out = np.zeros((n, steps + 1, 2))
    np.cumsum(-step * np.sin(phi), axis=1, out=out[:, 1:, 0])
    np.cumsum(step * np.cos(phi), axis=1, out=out[:, 1:, 1])
    return out


def _packed_bits(rng, n, steps):
    """``coin_flip``'s draws for ``p_left=0.5``, unpacked: (n, steps) uint8, 1 = left."""
    words = rng.integers(0, 2 ** 64, size=(n, (steps + 63) // 64), dtype=np.uint64)
    return np.unpackbits(words.astype("<u8").view(np.uint8), axis=1, count=steps,
                         bitorder="little")


def numpy_bits(n, steps, *, step=1.0, turn=TURN, rng=None):
    """numpy peer: packed random bits (64 steps per uint64), float headings, sin/cos per step."""
    rng = np.random.default_rng(rng)
    phi = _packed_bits(rng, n, steps).astype(np.float64)
    phi *= 2 * turn
    phi -= turn
    np.cumsum(phi, axis=1, out=phi)
    out = np.empty((n, steps + 1, 2))
    out[:, 0] = 0.0
    drow = np.sin(phi)
    drow *= -step
    np.cumsum(drow, axis=1, out=out[:, 1:, 0])
    np.cos(phi, out=phi)
    phi *= step
    np.cumsum(phi, axis=1, out=out[:, 1:, 1])
    return out


def numpy_bits_table(n, steps, *, step=1.0, turn=TURN, rng=None):
    """numpy peer: packed bits, integer headings and a cos/sin table (no trig per step)."""
    rng = np.random.default_rng(rng)
    k = _packed_bits(rng, n, steps).astype(np.int16 if steps < 2 ** 15 else np.int32)
    k *= 2
    k -= 1                                       # +1 left, -1 right
    np.cumsum(k, axis=1, out=k)
    k += steps                                   # table index of heading k * turn
    angle = np.arange(-steps, steps + 1) * turn
    drow_t, dcol_t = -step * np.sin(angle), step * np.cos(angle)
    out = np.empty((n, steps + 1, 2))
    out[:, 0] = 0.0
    np.cumsum(np.take(drow_t, k), axis=1, out=out[:, 1:, 0])
    np.cumsum(np.take(dcol_t, k), axis=1, out=out[:, 1:, 1])
    return out


PEERS = [("numpy, floats", numpy_floats),
         ("numpy, packed bits", numpy_bits),
         ("numpy, packed bits + table", numpy_bits_table)]


def agreement(n, steps):
    """Max |difference| in cells between each packed-bit peer and ``coin_flip``, same seed."""
    from procgen.walkers import coin_flip
    ours = coin_flip(n, steps, turn=TURN, rng=1, max_points=None)
    return {name: float(np.max(np.abs(fn(n, steps, rng=1) - ours)))
            for name, fn in PEERS[1:]}


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
        cos_t, sin_t = w._turn_tables(steps, TURN)
        cos_h, sin_h, start = w._heading_start(n, 0.0, (0.0, 0.0))
        out = np.empty((n, steps + 1, 2))

        def integrate():
            wk.turn_walk(words, u, thr, False, cos_t, sin_t, cos_h, sin_h, 1.0, start, out)
        rows[p] = (draw, best_of(integrate, repeats))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="walkers per call")
    parser.add_argument("--steps", type=int, default=1000, help="steps per walker")
    parser.add_argument("--grid", type=int, default=2048, help="downhill grid side, cells")
    parser.add_argument("--repeats", type=int, default=5, help="warm runs; the best is kept")
    parser.add_argument("--no-cold", action="store_true",
                        help="skip the empty-cache child process (it compiles every kernel)")
    args = parser.parse_args(argv)
    n, steps, rep = args.n, args.steps, args.repeats
    total = n * steps
    print(f"river walkers: {n} walkers x {steps} steps = {total / 1e6:.1f} M steps per call, "
          f"float64 output {n * (steps + 1) * 16 / 2**20:.0f} MiB; {os.cpu_count()} cores, "
          f"numpy {np.__version__}, Python {platform.python_version()}")
    print("peers: numpy alone (always present): " + "; ".join(name for name, _ in PEERS))

    with tempfile.TemporaryDirectory() as cache:
        compiled = None if args.no_cold else child(args, cache, warm=False)
        cached = child(args, None if args.no_cold else cache)
        one = child(args, None if args.no_cold else cache, threads=1)

    print(f"\nwarm: best of {rep}, fresh process per column")
    print(f"{'walker':18} {'all cores':>12} {'1 thread':>12}")
    print(f"{'':18} {'M steps/s':>12} {'M steps/s':>12}")
    for case in CASES:
        print(f"{case:18} {total / cached[case][1] / 1e6:12.1f} "
              f"{total / one[case][1] / 1e6:12.1f}")

    if compiled is not None:
        print("\ncold start: first call (2 walkers x 10 steps) in a fresh process, seconds")
        print(f"{'walker':18} {'empty cache':>12} {'cache on disk':>14}")
        for case in CASES:
            print(f"{case:18} {compiled[case][0]:12.2f} {cached[case][0]:14.2f}")
        print("(the kernel is shared by coin_flip and persistent, so only the first of them "
              "compiles; sine_curve has no kernel)")

    ours, ours_one = cached["coin_flip p=0.5"][1], one["coin_flip p=0.5"][1]
    print(f"\npeers: vectorised numpy coin flip (one thread), against coin_flip p=0.5, "
          f"best of {max(1, rep // 2)}")
    print(f"{'':28} {'':>10} {'peer time / procgen time':>26}")
    print(f"{'peer':28} {'M steps/s':>10} {'all cores':>12} {'1 thread':>12}")
    for name, fn in PEERS:
        peer = best_of(lambda: fn(n, steps, rng=1), max(1, rep // 2))
        print(f"{name:28} {total / peer / 1e6:10.1f} {peer / ours:11.1f}x "
              f"{peer / ours_one:11.1f}x")

    check_n = min(n, 2000)
    diffs = agreement(check_n, steps)
    print(f"\nagreement: same seed, {check_n} walkers: max |peer - coin_flip| = "
          + ", ".join(f"{d:.1e} cells ({name})" for name, d in diffs.items()))
    failed = [name for name, d in diffs.items() if not d <= 1e-9 * steps]

    print("\ncoin_flip time split, this process (all cores):")
    for p, (draw, integ) in breakdown(n, steps, rep).items():
        print(f"  p_left={p}: draw {draw * 1e3:7.1f} ms ({total / draw / 1e6:8.0f} M steps/s), "
              f"integrate {integ * 1e3:7.1f} ms ({total / integ / 1e6:6.0f} M steps/s)")
    if failed:
        print(f"AGREEMENT CHECK FAILED: {', '.join(failed)} do not reproduce coin_flip")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
