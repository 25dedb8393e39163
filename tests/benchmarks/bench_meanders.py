"""Benchmark: every target of the meanders issue (issue 20), measured in one seeded run.

Levels: ``--maps`` maps (default 24) of ``--size``² cells (512) at ``--cell-size`` m (500: a
256 km map), seed ``i`` with preset ``PRESETS[i % 5]`` (continent, islands, archipelago,
highlands, lowlands), each drawn with every meander source of ``--sources`` (default
``none,curve,learned:ar``) from the same terrain, eroded as levels erode it by default (:mod:`procgen.erosion`: 10
steps against rock uplift; ``--erosion STEPS`` and ``--erosion-mode`` change it as the CLI's
options do, ``--erosion 0`` turns it off). Per source it reports:

* **45°**: the fraction of river segments at an exact multiple of 45° (all segments, and those
  on dry land only: across a lake's surface a river keeps its D8 line). Target <= 5 %.
* **rivers >= 50 km**: how many (target >= 100 over 24 maps), and reaches (the stretches
  between the network's junctions, sources and mouths) of 50 km or more.
* **C2ST** (target <= 0.60): the project's classifier two-sample tests
  (:func:`learned._metrics.c2st`, boosted stumps on :func:`learned._metrics.features`, and
  :func:`learned._metrics.cnn_c2st`, the 1-D CNN on the angles; the evaluation protocol
  reports both and their maximum) of drawn rivers against the real rivers of World Data
  Bank II's test split (``learned.data.load_rivers('test')``, whole courses of 50 km or
  more). Drawn paths are put in km and smoothed and resampled exactly as the dataset was
  (:func:`learned._polylines.path_turns`, i.e. ``learned._wdb.smooth_resample`` to 64
  points). Three units of 50 km or more: whole rivers (source to mouth), reaches, and
  courses, the network joined as the dataset joined WDB II's segments (:func:`courses`: at a
  confluence the straightest arriving branch carries on, where a river carries on down the
  branch that drains more land); each against all test rivers and against test
  rivers matched in length (for each drawn one, the real one nearest in log length, without
  replacement: a 256 km map holds no 1,000 km river, and length alone should not decide the
  test). Each figure is the mean over ``--c2st-repeats`` draws of the real sample and folds;
  with n drawn rivers its standard error is about ``0.5 / sqrt(2 n)`` (0.03 at n = 150).
  Beyond about 30 maps the test split runs short of real rivers near each drawn one's
  length; ``--real all`` takes all 4,580 real rivers instead (the hand-written sources never
  saw them; the learned ones were fitted to the training split), e.g. ``--maps 96 --real
  all`` for a figure that moves less with the maps drawn.
* **crossings**: river pairs sharing a rasterised cell anywhere but at a junction (the
  junction cell and its 8 neighbours), and rivers whose polyline crosses itself. Target 0.
* **downhill**: rivers whose carved height rises along any rasterised cell, or that end on
  dry land off every other river (the Level contract, ``tests/test_rivers.py``). Target 0.
* **Hack's law**: ``L = c A**h`` fitted (least squares in log-log) over the main stems of
  all maps: rivers that end in the sea, a lake or the map edge, not on another river; ``A``
  the area (km²) drained at the last cell before the mouth (read back from the river's
  discharge), ``L`` the main stream's length (km) measured, as Hack did, to the drainage
  divide: the river's own length plus the longest D8 flow path from its source (the channel
  head, where enough area drains for a river to start) up to the divide. The fit on the
  rivers' own lengths (from the channel head) is printed beside it.
  Target h in 0.5-0.65 (Hack 1957: ``L = 1.4 A**0.6``).

Then **cost**: ``generate_level`` of a ``--cost-size``² continent (1024 at 500 m), best of
``--repeats`` (5) warm runs per source, the sources in turn, wall and process CPU time, and
each source's added time over ``'none'``. Target <= +30 %. On a shared machine the CPU
figure is the steadier; ``learned:ar``'s matrix products run on OpenBLAS threads, which a
busy machine slows far more than one thread (``OPENBLAS_NUM_THREADS=1`` shows the
difference).

``--quick`` shrinks everything (3 maps of 128², cost at 256², one repeat) to check that the
script runs; its figures mean nothing. ``--json PATH`` also writes the figures as JSON.
The C2ST needs torch (as ``learned.evaluate`` does); without it the script says so and
skips that row.

Run: ``python tests/benchmarks/bench_meanders.py [--maps 24] [--quick] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from numba import njit  # noqa: E402

from learned._wdb import stitch  # noqa: E402 - numpy only, no torch
from procgen import generate_level, pipeline  # noqa: E402
from procgen._kernels.hydrology import DC, DIST, DR  # noqa: E402
from procgen.erosion import ErosionConfig  # noqa: E402
from procgen.hydrology import drain  # noqa: E402
from procgen.level import LevelConfig  # noqa: E402
from procgen.paths import arc_length, self_intersects  # noqa: E402
from procgen.rivers import river_cells  # noqa: E402
from procgen.terrain import PRESETS  # noqa: E402

TARGETS = {"at_45_all": 0.05, "rivers_50km": 100, "c2st": 0.60, "cost": 0.30,
           "hack": (0.5, 0.65)}


def config_for(preset: str, meanders: str, erosion: ErosionConfig | None = None) -> LevelConfig:
    """The preset's level config with these meanders and erosion (default: the levels')."""
    cfg = LevelConfig.from_preset(preset, erosion=erosion or LevelConfig().erosion)
    return replace(cfg, rivers=replace(cfg.rivers, meanders=meanders))


def erosion_of(steps: int | None, mode: str | None) -> ErosionConfig:
    """The levels' default erosion with ``steps`` and ``mode`` where given."""
    erosion = LevelConfig().erosion
    return replace(erosion, **{k: v for k, v in (("steps", steps), ("mode", mode))
                               if v is not None})


def maps(n: int) -> list:
    """``(seed, preset)`` of each map: presets in turn."""
    names = list(PRESETS)
    return [(i, names[i % len(names)]) for i in range(n)]


# -- per-level measures ------------------------------------------------------------------------
def at_45(level) -> tuple:
    """(segments at an exact multiple of 45° among all, the same among dry segments, count)."""
    all_45 = dry_45 = n_all = n_dry = 0
    for r in level.rivers:
        seg = np.diff(r.path, axis=0)
        keep = np.hypot(seg[:, 0], seg[:, 1]) > 0
        cells = np.rint(r.path).astype(np.int64)
        wet = level.water[cells[:, 0], cells[:, 1]]
        dry = ~wet[:-1] & ~wet[1:]
        m = np.mod(np.degrees(np.arctan2(seg[:, 0], seg[:, 1])), 45.0)
        on = (np.isclose(m, 0.0, atol=1e-6) | np.isclose(m, 45.0, atol=1e-6)) & keep
        all_45 += int(on.sum())
        n_all += int(keep.sum())
        dry_45 += int((on & dry).sum())
        n_dry += int((keep & dry).sum())
    return all_45, n_all, dry_45, n_dry


def junction_cells(level) -> set:
    return {(int(round(p[0])), int(round(p[1]))) for r in level.rivers for p in r.path[[0, -1]]}


def crossings(level) -> tuple:
    """(river pairs sharing a cell away from junctions, rivers crossing themselves)."""
    near = {(r + dr, c + dc) for r, c in junction_cells(level)
            for dr in (-1, 0, 1) for dc in (-1, 0, 1)}
    owner: dict = {}
    pairs = set()
    for k, r in enumerate(level.rivers):
        for cell in map(tuple, river_cells(r, level.shape)[0].tolist()):
            j = owner.setdefault(cell, k)
            if j != k and cell not in near:
                pairs.add((min(j, k), max(j, k)))
    loops = sum(bool(self_intersects(r.path)) for r in level.rivers)
    return len(pairs), loops


def downhill_failures(level) -> int:
    """Rivers breaking the Level contract (see tests/test_rivers.py)."""
    nr, nc = level.shape
    courses = [river_cells(r, level.shape)[0] for r in level.rivers]
    owners: dict = {}
    for k, cells in enumerate(courses):
        for cell in map(tuple, cells.tolist()):
            owners.setdefault(cell, set()).add(k)
    bad = 0
    for k, (river, cells) in enumerate(zip(level.rivers, courses)):
        wet = level.water[cells[:, 0], cells[:, 1]]
        keep = ~wet
        if keep.any():
            keep[len(wet) - np.argmax(keep[::-1]):] = True
        h = level.height[cells[keep, 0], cells[keep, 1]]
        r, c = np.rint(river.path[-1]).astype(int)
        ends_well = (level.water[r, c] or r in (0, nr - 1) or c in (0, nc - 1)
                     or bool(owners.get((r, c), set()) - {k}))
        bad += int((np.diff(h) > 0).any() or not ends_well)
    return bad


def reaches(level, *, shortest: int = 2) -> list:
    """Every river cut at the network's ends (sources, mouths, junctions): the drawn
    stretches between junctions of at least ``shortest`` steps, each an (N, 2) path in
    cells."""
    ends = junction_cells(level)
    out = []
    for r in level.rivers:
        cells = np.rint(r.path).astype(np.int64)
        cuts = [i for i in range(1, len(cells) - 1)
                if (cells[i, 0], cells[i, 1]) in ends and np.allclose(r.path[i], cells[i])]
        bounds = [0, *cuts, len(cells) - 1]
        out.extend(r.path[a:b + 1] for a, b in zip(bounds[:-1], bounds[1:])
                   if b - a >= shortest)
    return out


#: How far from a confluence ``learned._wdb.stitch`` takes each branch's direction: its
#: default 0.02 degrees, in km.
STITCH_PROBE_KM = 0.02 * 111.195


def courses(level, cell_size: float) -> list:
    """The level's network joined into courses as the river dataset joined World Data Bank
    II's segments, by the same function (``learned._wdb.stitch``): at a confluence the
    arriving branch that continues straightest carries on and the other ends there (a River
    carries on down the branch that drains more land). Each an (N, 2) path in cells."""
    joined, _ = stitch(reaches(level, shortest=1),
                       probe_deg=STITCH_PROBE_KM / (cell_size / 1000.0))
    return joined


def main_stems(level, per_cell, upstream) -> list:
    """``(area km², length km, length to the divide km)`` of every river that does not end
    on another river. The area is the one its discharge was computed from (the cells drained
    at its last cell before the mouth, as the flow generator read them; ``per_cell``: the
    discharge of one cell), so meanders, which keep discharge, do not move it; the length to
    the divide adds ``upstream`` (:func:`upstream_km`) at the river's source cell."""
    cell_km2 = (level.cell_size / 1000.0) ** 2
    others = [set(map(tuple, np.rint(r.path).astype(np.int64).tolist())) for r in level.rivers]
    out = []
    for k, r in enumerate(level.rivers):
        last = tuple(np.rint(r.path[-1]).astype(np.int64).tolist())
        if any(last in cells for j, cells in enumerate(others) if j != k):
            continue
        area = r.discharge / per_cell * cell_km2
        km = float(arc_length(r.path)[-1]) * level.cell_size / 1000.0
        head = np.rint(r.path[0]).astype(np.int64)
        out.append((area, km, km + float(upstream[head[0], head[1]])))
    return out


@njit(cache=False)
def _longest_upstream(dirs, order, step, nc):
    up = np.zeros(dirs.size)
    for i in order:                                  # donors before the cells they drain to
        k = dirs[i]
        if k >= 0:
            j = i + DR[k] * nc + DC[k]
            up[j] = max(up[j], up[i] + step[k])
    return up


def upstream_km(drainage) -> np.ndarray:
    """Length (km) of the longest D8 flow path from each cell up to the drainage divide
    (0 on cells nothing drains into), on the drainage's ``directions``."""
    dirs = drainage.directions.ravel().astype(np.int64)
    # accumulation counts a cell and all its donors: every donor's is strictly smaller
    order = np.argsort(drainage.accumulation.ravel(), kind="stable")
    up = _longest_upstream(dirs, order, DIST * drainage.cell_size / 1000.0,
                           drainage.directions.shape[1])
    return up.reshape(drainage.directions.shape)


def hack_exponent(stems, *, to_divide=True) -> tuple:
    """(h, c) of ``L = c A**h`` by least squares in log-log, and the count; L measured to
    the divide (``to_divide``) or from the channel head."""
    a = np.array([s[0] for s in stems])
    length = np.array([s[2 if to_divide else 1] for s in stems])
    ok = (a > 0) & (length > 0)
    if ok.sum() < 3:
        return float("nan"), float("nan"), int(ok.sum())
    h, logc = np.polyfit(np.log(a[ok]), np.log(length[ok]), 1)
    return float(h), float(np.exp(logc)), int(ok.sum())


# -- C2ST --------------------------------------------------------------------------------------
def _torch_metrics():
    try:
        from learned import _metrics
        return _metrics
    except ImportError as exc:      # torch missing: learned._metrics needs it
        print(f"C2ST SKIPPED: {exc} (the C2ST needs torch, as learned.evaluate does)")
        return None


def real_rivers(which: str = "test"):
    """(turns, length km) of the real rivers: the test split, or all 4,580 (``'all'``)."""
    from learned.data import load_rivers
    parts = [load_rivers(s) for s in (("train", "val", "test") if which == "all" else ("test",))]
    return (np.concatenate([np.asarray(p.turns, np.float64) for p in parts]),
            np.concatenate([np.asarray(p.length_km, np.float64) for p in parts]))


def c2st_row(paths, cell_size, real, metrics, *, repeats: int, seed: int) -> dict:
    """C2ST (boosted stumps, CNN, their max) of drawn paths against real rivers, all and
    length-matched, each the mean over ``repeats`` draws."""
    from learned._polylines import path_turns
    if len(paths) < 10:
        return {"n": len(paths)}
    turns, _, km = path_turns(paths, cell_size=cell_size)
    fake = np.asarray(turns, np.float64)
    real_turns, real_km = real
    out = {"n": len(fake)}
    for kind in ("all", "matched"):
        gb, cnn = [], []
        for rep in range(repeats):
            rng = np.random.default_rng([seed, rep])
            if kind == "all":
                pick = rng.permutation(len(real_turns))[:len(fake)]
            else:
                free = np.ones(len(real_turns), bool)
                pick = []
                for i in rng.permutation(len(km)):
                    d = np.abs(np.log(real_km) - np.log(km[i]))
                    d[~free] = np.inf
                    # among the 5 nearest, one at random: repeats differ
                    near = np.argsort(d)[:5]
                    j = int(rng.choice(near[np.isfinite(d[near])]))
                    free[j] = False
                    pick.append(j)
                pick = np.array(pick)
            real_x = real_turns[pick]
            fake_x = fake[rng.permutation(len(fake))][:len(real_x)]
            gb.append(metrics.c2st(metrics.features(real_x), metrics.features(fake_x),
                                   rng=int(rng.integers(2 ** 31))))
            cnn.append(metrics.cnn_c2st(real_x, fake_x, rng=int(rng.integers(2 ** 31))))
        out[kind] = {"gb": float(np.mean(gb)), "cnn": float(np.mean(cnn)),
                     "max": float(max(np.mean(gb), np.mean(cnn))),
                     "gb_sd": float(np.std(gb)), "cnn_sd": float(np.std(cnn))}
    out["median_km"] = float(np.median(km))
    return out


# -- cost --------------------------------------------------------------------------------------
def cost(sources, *, size: int, cell_size: float, repeats: int,
         erosion: ErosionConfig | None = None) -> dict:
    """Best-of-``repeats`` wall and CPU (process) seconds of ``generate_level`` per source,
    the sources taken in turn within each repeat (so a busy spell on a shared machine
    falls on all of them)."""
    cfgs = {m: config_for("continent", m, erosion) for m in sources}
    for m in sources:
        generate_level(seed=1, shape=size, cell_size=cell_size, config=cfgs[m])   # warm (JIT)
    wall = {m: float("inf") for m in sources}
    cpu = dict(wall)
    for _ in range(repeats):
        for m in sources:
            t0, c0 = time.perf_counter(), time.process_time()
            generate_level(seed=1, shape=size, cell_size=cell_size, config=cfgs[m])
            wall[m] = min(wall[m], time.perf_counter() - t0)
            cpu[m] = min(cpu[m], time.process_time() - c0)
    return {"wall": wall, "cpu": cpu}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--maps", type=int, default=24)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--cell-size", type=float, default=500.0)
    p.add_argument("--sources", default="none,curve,learned:ar")
    p.add_argument("--cost-size", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--c2st-repeats", type=int, default=3)
    p.add_argument("--min-km", type=float, default=50.0)
    p.add_argument("--seed", type=int, default=0, help="seed of the C2ST's draws")
    p.add_argument("--real", choices=("test", "all"), default="test",
                   help="real rivers of the C2ST: the test split (default) or all splits")
    p.add_argument("--no-cost", action="store_true")
    p.add_argument("--erosion", type=int, default=None, metavar="STEPS",
                   help="erosion steps (default: the levels' 10; 0 turns erosion off)")
    p.add_argument("--erosion-mode", choices=("uplift", "wear"), default=None,
                   help="what erosion works against (default: the levels', uplift)")
    p.add_argument("--quick", action="store_true",
                   help="3 maps of 128², cost at 256², one repeat: checks that it runs")
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    if a.quick:
        a.maps, a.size, a.cost_size, a.repeats, a.c2st_repeats = 3, 128, 256, 1, 1
        a.min_km = 2.0
    sources = a.sources.split(",")
    erosion = erosion_of(a.erosion, a.erosion_mode)
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} cpus")
    print(f"{a.maps} maps of {a.size}^2 at {a.cell_size:g} m, presets in turn; sources "
          f"{', '.join(sources)}; erosion {erosion.steps} steps, {erosion.mode.value}")
    metrics = _torch_metrics()
    real = real_rivers(a.real) if metrics is not None else None
    figures: dict = {"args": vars(a), "sources": {}}
    stems_by = {m: [] for m in sources}
    acc_rows = {m: np.zeros(4, np.int64) for m in sources}
    counts = {m: {"rivers": 0, "rivers_50km": 0, "reaches_50km": 0, "courses_50km": 0,
                  "crossings": 0, "self_intersections": 0, "downhill_failures": 0}
              for m in sources}
    long_paths = {unit: {m: [] for m in sources} for unit in ("rivers", "reaches", "courses")}
    t0 = time.perf_counter()
    for seed, preset in maps(a.maps):
        ctx = pipeline.context(seed=seed, shape=a.size, cell_size=a.cell_size)
        base = config_for(preset, "none", erosion)
        height = pipeline.terrain_stage(ctx, base.terrain, ctx.stream("terrain"))
        height = pipeline.erosion_stage(ctx, height, base.erosion)
        drainage = drain(height, cell_size=a.cell_size, config=base.hydrology)
        per_cell = float(drainage.discharge(1.0))
        upstream = upstream_km(drainage)
        for m in sources:
            lv = generate_level(seed=seed, shape=a.size, cell_size=a.cell_size,
                                config=config_for(preset, m, erosion))
            acc_rows[m] += np.array(at_45(lv))
            c = counts[m]
            c["rivers"] += len(lv.rivers)
            for unit, paths in (("rivers", [r.path for r in lv.rivers]),
                                ("reaches", reaches(lv)),
                                ("courses", courses(lv, a.cell_size))):
                long_paths[unit][m] += [
                    q for q in paths
                    if float(arc_length(q)[-1]) * a.cell_size / 1000.0 >= a.min_km]
                c[f"{unit}_50km"] = len(long_paths[unit][m])
            x, loops = crossings(lv)
            c["crossings"] += x
            c["self_intersections"] += loops
            c["downhill_failures"] += downhill_failures(lv)
            stems_by[m] += main_stems(lv, per_cell, upstream)
    print(f"levels drawn and checked in {time.perf_counter() - t0:.1f} s")
    for m in sources:
        all_45, n_all, dry_45, n_dry = acc_rows[m]
        h, c, n = hack_exponent(stems_by[m])
        h_head, c_head, _ = hack_exponent(stems_by[m], to_divide=False)
        row = dict(counts[m], at_45_all=all_45 / max(n_all, 1), at_45_dry=dry_45 / max(n_dry, 1),
                   segments=int(n_all), hack_h=h, hack_c=c, main_stems=n,
                   hack_h_from_head=h_head, hack_c_from_head=c_head)
        if metrics is not None:
            for unit, paths in long_paths.items():
                row[f"c2st_{unit}"] = c2st_row(paths[m], a.cell_size, real, metrics,
                                               repeats=a.c2st_repeats, seed=a.seed)
        figures["sources"][m] = row
        print(f"\n== meanders={m}")
        print(f"  45°: {row['at_45_all']:.1%} of {n_all} segments ({row['at_45_dry']:.1%} of "
              f"those on dry land)   [target <= 5 %]")
        print(f"  rivers: {row['rivers']}, of {a.min_km:g} km or more: {row['rivers_50km']} "
              f"[target >= 100 over 24 maps]; reaches: {row['reaches_50km']}; courses: "
              f"{row['courses_50km']}")
        print(f"  crossings between rivers: {row['crossings']}, self-intersections: "
              f"{row['self_intersections']}   [target 0, 0]")
        print(f"  downhill/termination failures: {row['downhill_failures']}   [target 0]")
        print(f"  Hack: L = {c:.2f} A^{h:.3f} over {n} main stems, L to the divide   [target "
              f"h in 0.5-0.65]; from the channel head L = {c_head:.2f} A^{h_head:.3f}")
        pool = "test rivers" if a.real == "test" else "real rivers"
        for unit in long_paths:
            r = row.get(f"c2st_{unit}")
            if r is None:
                continue
            if "all" not in r:
                print(f"  C2ST {unit} >= {a.min_km:g} km: too few ({r['n']})")
                continue
            print(f"  C2ST {unit} >= {a.min_km:g} km (n = {r['n']}, median "
                  f"{r['median_km']:.0f} km): vs all {pool} gb {r['all']['gb']:.3f} "
                  f"cnn {r['all']['cnn']:.3f} max {r['all']['max']:.3f}; length-matched gb "
                  f"{r['matched']['gb']:.3f} cnn {r['matched']['cnn']:.3f} max "
                  f"{r['matched']['max']:.3f}   [target <= 0.60]")
    if not a.no_cost:
        t = cost(sources, size=a.cost_size, cell_size=a.cell_size, repeats=a.repeats,
                 erosion=erosion)
        figures["cost"] = t
        print(f"\n== cost: generate_level, {a.cost_size}^2 continent at {a.cell_size:g} m, "
              f"best of {a.repeats} (wall; CPU time of the process in brackets)")
        wall, cpu = t["wall"], t["cpu"]
        for m in sources:
            extra = (f" ({wall[m] / wall['none'] - 1:+.0%} over none; CPU "
                     f"{cpu[m] / cpu['none'] - 1:+.0%})   [target <= +30 %]"
                     if "none" in wall and m != "none" else "")
            print(f"  {m:12s} {wall[m]:.3f} s [{cpu[m]:.3f} s]{extra}")
        print(f"  load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus; "
              f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(figures, f, indent=1, default=float)
    return 0


if __name__ == "__main__":
    sys.exit(main())
