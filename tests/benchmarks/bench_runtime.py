"""Benchmark: river samples per second of the numpy runtime against torch, per family.

For every shipped family (ar, flow, vae, gan, diffusion) and batch size (default 1, 12 = one
level's rivers, and 2,000), ``sample(n, seed=...)`` of ``learned.runtime`` is timed against
``sample(n, generator=...)`` of the torch model (``learned.pretrained``), with conditions
drawn from the training bank on both sides (y=None), end to end.

Each (side, family, batch) runs in a fresh child process: its first call is the cold start
(for the runtime with an empty ``NUMBA_CACHE_DIR``, so numba compiles the kernels the
family uses), then the best of the warm calls (at least ``--repeats``, and at least half a
second of them) is the warm speed. The
runtime is also started once more with the cache its cold run left ("cached": what a game's
second launch pays). Import times (``import learned.runtime`` vs ``import torch``) are the
best of three fresh interpreters. Both sides use the machine's default thread counts
(``--torch-threads 1`` pins torch to one thread, its best case for small batches when the
machine is busy; the runtime samples blocks of rivers on a thread per core, each on one
BLAS thread: ``RuntimeModel.BLOCK``).

Before timing, the script checks that runtime and torch agree from the same noise (flow, gan
and diffusion, whose torch samplers draw nothing but that noise for a given y) within 1e-5,
and exits 1 if they do not.

Run: ``python tests/benchmarks/bench_runtime.py [--families ar flow] [--batches 1 12 2000]
[--repeats 3] [--no-cold] [--json out.json]``. ``tests/test_runtime.py`` only checks that it
runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

FAMILIES = ["ar", "flow", "vae", "gan", "diffusion"]

_CHILD = r"""
import json, sys, time
side, name, n, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
threads = int(sys.argv[5])
if side == "runtime":
    from learned import runtime
    model = runtime.load(name)
    call = lambda i: model.sample(n, seed=i)
else:
    import torch
    if threads:
        torch.set_num_threads(threads)
    from learned import pretrained
    model = pretrained.load(name)
    gen = torch.Generator().manual_seed(0)
    call = lambda i: model.sample(n, generator=gen)
t = time.perf_counter(); call(0); cold = time.perf_counter() - t
# at least `repeats` warm calls and half a second of them: a call of a dozen rivers takes
# ~2 ms, and its first ten or so on a fresh process's threads are slower
best, i, until = float("inf"), 0, time.perf_counter() + 0.5
while i < repeats or time.perf_counter() < until:
    i += 1
    t = time.perf_counter(); call(i); best = min(best, time.perf_counter() - t)
print(json.dumps({"cold_s": cold, "warm_s": best}))
"""


def child(side, name, n, repeats, cache_dir, threads=0):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", _CHILD, side, name, str(n), str(repeats),
                          str(threads)],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode:
        raise SystemExit(f"{side} {name} n={n} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def import_time(module):
    best = float("inf")
    for _ in range(3):
        code = (f"import time; t = time.perf_counter(); import {module}; "
                "print(time.perf_counter() - t)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), check=True)
        best = min(best, float(out.stdout.strip()))
    return best


def check_agreement(families) -> bool:
    import torch

    from learned import pretrained, runtime

    y = {"sinuosity": 1.5, "length_km": 300.0}
    ok = True
    for name in families:
        if name not in ("flow", "gan", "diffusion"):
            continue
        rt = runtime.load(name)
        with torch.no_grad():
            ref = pretrained.load(name).sample(8, y, generator=torch.Generator().manual_seed(1),
                                               exact_sinuosity=False)
            # the torch sampler draws these arrays, in this order, from its generator
            gen = torch.Generator().manual_seed(1)
            noise = {k: (torch.randn if kind == "normal" else torch.rand)(s, generator=gen)
                     .numpy() for k, (kind, s) in rt.noise_shapes(8).items()}
        err = float(abs(rt.sample_from_noise(y, noise) - ref.numpy()).max())
        print(f"agreement {name}: max |runtime - torch| = {err:.2e}")
        ok &= err <= 1e-5
    return ok


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--families", nargs="+", default=FAMILIES, choices=FAMILIES)
    p.add_argument("--batches", nargs="+", type=int, default=[1, 12, 2000])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-cold", action="store_true", help="skip the cached-cache runtime runs")
    p.add_argument("--torch-threads", type=int, default=0,
                   help="torch.set_num_threads for the torch side (0: torch's default); 1 is "
                        "torch's best case for small batches on a busy machine")
    p.add_argument("--json", default=None, help="also write the numbers here")
    a = p.parse_args(argv)

    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}")
    if not check_agreement(a.families):
        print("runtime and torch disagree", file=sys.stderr)
        return 1
    imports = {"learned.runtime": import_time("learned.runtime"),
               "torch": import_time("torch")}
    print(f"import learned.runtime: {imports['learned.runtime']:.3f} s; "
          f"import torch: {imports['torch']:.3f} s")
    rows = []
    print(f"{'family':10s} {'batch':>6s} {'runtime samples/s':>18s} {'torch samples/s':>16s} "
          f"{'ratio':>6s} {'rt cold s':>10s} {'rt cached s':>11s} {'torch cold s':>12s}")
    for name in a.families:
        for n in a.batches:
            repeats = a.repeats if n < 1000 else max(1, min(a.repeats, 2))
            with tempfile.TemporaryDirectory() as cache:
                rt = child("runtime", name, n, repeats, cache)
                cached = None if a.no_cold else child("runtime", name, n, 0, cache)
            th = child("torch", name, n, repeats, tempfile.gettempdir(), a.torch_threads)
            row = {"family": name, "batch": n, "runtime_per_s": n / rt["warm_s"],
                   "torch_per_s": n / th["warm_s"], "runtime_cold_s": rt["cold_s"],
                   "runtime_cached_s": cached and cached["cold_s"], "torch_cold_s": th["cold_s"]}
            row["ratio"] = row["runtime_per_s"] / row["torch_per_s"]
            rows.append(row)
            cached_txt = "-" if cached is None else f"{cached['cold_s']:.3f}"
            print(f"{name:10s} {n:6d} {row['runtime_per_s']:18.1f} {row['torch_per_s']:16.1f} "
                  f"{row['ratio']:6.2f} {rt['cold_s']:10.3f} {cached_txt:>11s} "
                  f"{th['cold_s']:12.3f}", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"imports_s": imports, "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
