"""Benchmark: 6-octave fBm on a 2048x2048 grid against the noise libraries a user would pick.

Peers, all producing the same kind of field (6-octave gradient-noise fBm, persistence 0.5,
lacunarity 2) over the same grid, timed in this one process:

* ``noise.pnoise2`` called per pixel in a Python loop (what most tutorials do);
* ``opensimplex.noise2array``, one call per octave (numba-accelerated when numba is present);
* ``pyfastnoiselite`` (FastNoise Lite), ``gen_from_coords`` with FBm Perlin and OpenSimplex2.

procgen is timed warm (best of several runs), on all cores and, in a child process, with
``NUMBA_NUM_THREADS=1``. Cold start is reported twice: the very first call with an empty JIT
cache (compilation), and the first call of a fresh process whose cache is already on disk.

Run: ``python tests/benchmarks/bench_noise.py [--size 2048] [--scale 256]``. CI does not time it.
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

OCTAVES = 6


def best_of(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def time_procgen(size, scale, repeats):
    from procgen.noise import fbm
    return best_of(lambda: fbm((size, size), scale=scale, octaves=OCTAVES, seed=1), repeats)


def time_noise_loop(size, scale):
    import noise
    out = np.empty((size, size), np.float32)
    inv = 1.0 / scale
    t = time.perf_counter()
    for r in range(size):
        y = r * inv
        row = out[r]
        for c in range(size):
            row[c] = noise.pnoise2(c * inv, y, octaves=OCTAVES)
    return time.perf_counter() - t


def time_opensimplex(size, scale, repeats):
    import opensimplex
    gen = opensimplex.OpenSimplex(seed=1)
    xs = np.arange(size, dtype=np.float64) / scale

    def run():
        total = np.zeros((size, size))
        for k in range(OCTAVES):
            total += 0.5 ** k * gen.noise2array(xs * 2.0 ** k, xs * 2.0 ** k)
        return total

    run()  # first call compiles opensimplex's numba kernels
    return best_of(run, repeats)


def time_fastnoiselite(size, scale, repeats, noise_type):
    from pyfastnoiselite.pyfastnoiselite import FastNoiseLite, FractalType, NoiseType
    gen = FastNoiseLite(1)
    gen.noise_type = getattr(NoiseType, f"NoiseType_{noise_type}")
    gen.fractal_type = FractalType.FractalType_FBm
    gen.fractal_octaves = OCTAVES
    gen.frequency = 1.0 / scale
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32)
    coords = np.ascontiguousarray(np.stack([cols.ravel(), rows.ravel()]))
    return best_of(lambda: gen.gen_from_coords(coords), repeats)


def child(mode, size, scale, repeats):
    """Run one measurement in a fresh process (own thread count / JIT cache); seconds."""
    env = dict(os.environ)
    if mode == "one-thread":
        env["NUMBA_NUM_THREADS"] = "1"
    code = ("import sys, time, json; sys.path.insert(0, %r); t = time.perf_counter();"
            "from procgen.noise import fbm; fbm((%d, %d), scale=%r, octaves=%d, seed=1);"
            "first = time.perf_counter() - t;"
            "from tests.benchmarks.bench_noise import time_procgen;"
            "print(json.dumps([first, time_procgen(%d, %r, %d)]))"
            % (ROOT, size, size, scale, OCTAVES, size, scale, repeats))
    if mode == "compile":
        with tempfile.TemporaryDirectory() as cache:
            env["NUMBA_CACHE_DIR"] = cache
            out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                 capture_output=True, text=True)
    else:
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                             capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--scale", type=float, default=256.0,
                        help="first octave's lattice cell in pixels (256: 8 cells across)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-loop", action="store_true",
                        help="skip the slow per-pixel noise.pnoise2 loop")
    args = parser.parse_args()
    size, scale, rep = args.size, args.scale, args.repeats
    print(f"6-octave fBm, {size}x{size} grid, scale {scale:g} px, "
          f"{os.cpu_count()} cores, numba threads {os.environ.get('NUMBA_NUM_THREADS', 'all')}")

    compile_first, _ = child("compile", size, scale, 1)
    cached_first, procgen_all = child("cached", size, scale, rep)
    _, procgen_one = child("one-thread", size, scale, rep)
    rows = [("procgen fbm, all cores (warm)", procgen_all),
            ("procgen fbm, 1 thread (warm)", procgen_one)]
    rows.append(("pyfastnoiselite FBm Perlin", time_fastnoiselite(size, scale, rep, "Perlin")))
    rows.append(("pyfastnoiselite FBm OpenSimplex2",
                 time_fastnoiselite(size, scale, rep, "OpenSimplex2")))
    rows.append(("opensimplex noise2array x6", time_opensimplex(size, scale, max(1, rep // 2))))
    if not args.skip_loop:
        rows.append(("noise.pnoise2 per-pixel loop", time_noise_loop(size, scale)))

    npx = size * size
    print(f"\n{'implementation':36} {'seconds':>9} {'Mpx/s':>8} {'all-core x':>11} {'1-thread x':>11}")
    for name, sec in rows:
        print(f"{name:36} {sec:9.4f} {npx / sec / 1e6:8.1f} {sec / procgen_all:11.1f} "
              f"{sec / procgen_one:11.1f}")
    print("\n(x = peer time / procgen time: how many times faster procgen is)")
    print(f"cold start: first call with an empty JIT cache {compile_first:.2f} s "
          f"(numba compiles), first call with the cache on disk {cached_first:.2f} s")


if __name__ == "__main__":
    main()
