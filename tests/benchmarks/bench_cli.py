"""Benchmark: ``procgen map`` as a whole process, the very first run and every later one.

Times ``procgen map --seed 7 --size 1024 --preset continent -o tmp.png`` end to end, each run a
fresh process (the console script when it is installed beside this Python, else
``python -m procgen.cli``), all sharing one temporary ``NUMBA_CACHE_DIR``:

* **cold**: the cache is empty, so every kernel the map needs is compiled (the command
  prints its "compiling kernels, first run only" notice and, when the load average leaves
  a core idle, compiles the later stages in a helper process on it);
* **cold, one core**: the same with the process pinned to one CPU (``sched_setaffinity``),
  so there is no helper: what a one-core machine, or a fully loaded one, sees;
* **warm**: the cache holds every kernel (what every later run sees): best and median of
  ``--repeats`` runs.

Wall seconds and CPU seconds (user + system of the process and its children) are both
shown: on a shared machine wall time drifts with the load, CPU time much less.

Then where a warm run's time goes before any work: ``python -X importtime`` of
``procgen.cli`` alone (what ``procgen --help`` costs) and of the modules ``map`` imports,
with the largest top-level imports.

Run: ``python tests/benchmarks/bench_cli.py [--size 1024] [--repeats 3] [--no-cold]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def command() -> list[str]:
    """The console script beside this interpreter, else the module."""
    script = os.path.join(os.path.dirname(sys.executable), "procgen")
    return [script] if os.access(script, os.X_OK) else [sys.executable, "-m", "procgen.cli"]


def run_map(args, cache: str, out: str, *, one_core: bool = False):
    """One ``procgen map`` process: (wall s, cpu s, stderr)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    pin = (lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})) if one_core else None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([*command(), "map", "--seed", "7", "--size", str(args.size),
                           "--preset", "continent", "-o", out], env=env, cwd=ROOT,
                          capture_output=True, text=True, preexec_fn=pin)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"procgen map failed ({proc.returncode}): {proc.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stderr.strip()


def import_times(code: str) -> tuple[float, dict[str, float]]:
    """Total seconds of the imports ``code`` makes, and each module's cumulative seconds
    (itself and what it imported first), from ``python -X importtime``."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    total, each = 0.0, {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if not cumulative.strip().isdigit():
            continue
        each[name.strip()] = int(cumulative) / 1e6
        if not name.startswith("  "):  # top level: nested imports are inside it
            total += int(cumulative) / 1e6
    return total, each


def best_of(code: str, repeats: int) -> float:
    """Best wall seconds of a fresh interpreter running ``code``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True,
                       capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def first_kernel_call(cache: str) -> float:
    """Seconds of the first kernel call in a fresh process, the kernel already cached."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    timed = ("import time; from procgen.noise import fbm; t = time.perf_counter(); "
             "fbm((8, 8), scale=4.0, seed=1); print(time.perf_counter() - t)")
    best = float("inf")
    for _ in range(2):  # the first run may have to compile this small signature
        out = subprocess.run([sys.executable, "-c", timed], cwd=ROOT, env=env, check=True,
                             capture_output=True, text=True)
        best = min(best, float(out.stdout.strip().splitlines()[-1]))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="map size (default: 1024)")
    parser.add_argument("--repeats", type=int, default=3, help="warm runs (default: 3)")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold runs")
    args = parser.parse_args()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"procgen map --size {args.size}: {' '.join(command())}")
    print(f"{platform.python_implementation()} {platform.python_version()}, "
          f"{len(os.sched_getaffinity(0))} CPUs, load average {load:.2f} at the start")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "tmp.png")
        cache = os.path.join(tmp, "jit")
        if not args.no_cold:
            single = os.path.join(tmp, "jit-one-core")
            wall, cpu, err = run_map(args, single, out, one_core=True)
            rows.append(("cold, one core", wall, cpu, err))
            wall, cpu, err = run_map(args, cache, out)
            rows.append(("cold", wall, cpu, err))
        else:
            run_map(args, cache, out)  # fill the cache, untimed
        warm = [run_map(args, cache, out) for _ in range(args.repeats)]
        walls, cpus = [w for w, _, _ in warm], [c for _, c, _ in warm]
        rows.append((f"warm, best of {args.repeats}", min(walls), min(cpus), warm[0][2]))
        rows.append((f"warm, median of {args.repeats}", statistics.median(walls),
                     statistics.median(cpus), ""))
        kernel_s = first_kernel_call(cache)

    print()
    print("| run | wall s | CPU s | stderr |")
    print("|---|---|---|---|")
    for name, wall, cpu, err in rows:
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {err.replace('|', '/') or '(nothing)'} |")

    help_s = best_of("from procgen.cli import main\ntry:\n    main(['--help'])\n"
                     "except SystemExit:\n    pass", args.repeats)
    bare_s = best_of("pass", args.repeats)
    _, cli_only = import_times("import procgen.cli")
    map_total, for_map = import_times("import procgen.cli, procgen.level, procgen.render")
    print()
    print("| imports (python -X importtime; a module's figure includes what it imported "
          "first) | s |")
    print("|---|---|")
    print(f"| `import procgen.cli`: everything `procgen --help` imports | "
          f"{cli_only.get('procgen.cli', float('nan')):.3f} |")
    print(f"| what `map` imports before it works (procgen.cli, .level, .render) | "
          f"{map_total:.3f} |")
    for name in ("numpy", "numba", "PIL.Image", "procgen.level", "procgen.terrain",
                 "procgen.hydrology", "procgen.rivers", "procgen.biomes", "procgen.queries",
                 "procgen.render"):
        if name in for_map:
            print(f"| - {name} | {for_map[name]:.3f} |")
    print(f"| `procgen --help`, whole process (best of {args.repeats}) | {help_s:.3f} |")
    print(f"| `python -c pass`, whole process (best of {args.repeats}) | {bare_s:.3f} |")
    print(f"| first kernel call of a warm process (numba sets up its registries, loads "
          f"the cached kernel) | {kernel_s:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
