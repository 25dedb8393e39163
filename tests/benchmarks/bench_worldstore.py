"""Benchmark: a giant region of an endless world to Zarr on Dask, against a plain loop.

Exports ``--size`` x ``--size`` cells (default 16,384^2: 268 M cells, 1 GiB of float32 height)
of ``World(7, 'continent', cell_size=250)`` with chunks of 1,024^2 and the layers height,
water, biomes and rivers, twice, each in a fresh process with an empty landmass cache:

* **dask**: ``world.to_zarr(...)`` on Dask's local threaded scheduler (one thread per core);
* **loop**: a plain Python loop of ``world.region`` calls writing the same chunks to a Zarr
  store of the same layout, one after another.

It reports wall seconds, cells per second, the ratio dask / loop (the target: at least 0.7)
and each process's peak resident memory (VmHWM; the target: at most 1 GB, i.e. never the
whole array in memory), then checks that both stores hold the same bytes.

Run: ``python tests/benchmarks/bench_worldstore.py [--size 16384] [--chunks 1024]``.
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

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from procgen.world import World
mode, store, size, chunks = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
layers = ("height", "water", "biomes", "rivers")
world = World(7, preset="continent", cell_size=250.0)
region = (-size // 2, -size // 2, size, size)
start = time.perf_counter()
if mode == "dask":
    world.to_zarr(store, region=region, chunks=chunks, layers=layers)
else:
    import zarr
    from procgen.worldstore import LAYERS
    group = zarr.open_group(store, mode="w-")
    arrays = {{n: group.create_array(n, shape=(size, size), chunks=(chunks, chunks),
                                     dtype=LAYERS[n][0], fill_value=0) for n in layers}}
    for r0 in range(0, size, chunks):
        for c0 in range(0, size, chunks):
            level = world.region(region[0] + r0, region[1] + c0, (chunks, chunks))
            for n in layers:
                data = level.river_width() if n == "rivers" else getattr(level, n)
                arrays[n][r0:r0 + chunks, c0:c0 + chunks] = data
wall = time.perf_counter() - start
peak = 0
with open("/proc/self/status") as f:
    for line in f:
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) * 1024
print(json.dumps({{"wall": wall, "peak": peak}}))
"""


def run(mode: str, store: str, size: int, chunks: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(root=ROOT), mode, store,
                          str(size), str(chunks)], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        sys.exit(f"{mode} run failed: {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=16384)
    p.add_argument("--chunks", type=int, default=1024)
    args = p.parse_args(argv)
    if args.size % args.chunks:
        sys.exit("--size must be a multiple of --chunks")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"python {platform.python_version()}; {args.size}^2 cells in {args.chunks}^2 chunks")
    cells = args.size ** 2
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for mode in ("dask", "loop"):
            results[mode] = r = run(mode, os.path.join(tmp, f"{mode}.zarr"), args.size,
                                    args.chunks)
            print(f"{mode:<5} {r['wall']:8.1f} s   {cells / r['wall'] / 1e6:6.2f} M cells/s   "
                  f"peak memory {r['peak'] / 1e9:5.2f} GB"
                  + ("  (target <= 1 GB)" if mode == "dask" else ""))
        ratio = results["loop"]["wall"] / results["dask"]["wall"]
        print(f"throughput dask / loop: {ratio:.2f} (target >= 0.7)")
        import numpy as np
        import zarr
        a = zarr.open_group(os.path.join(tmp, "dask.zarr"), mode="r")
        b = zarr.open_group(os.path.join(tmp, "loop.zarr"), mode="r")
        same = True
        for name in ("height", "water", "biomes", "rivers"):
            for r0 in range(0, args.size, 4096):
                window = slice(r0, min(r0 + 4096, args.size))
                same &= bool(np.array_equal(a[name][window], b[name][window]))
        print("stores hold the same bytes" if same else "MISMATCH between the stores")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
