"""Benchmark: regions of an endless world, near and far, warm and with new landmasses.

For ``World(seed, preset, cell_size=250, rivers='flow')`` at the default tile (1024 cells) and
coarse block (8 cells), this reports, each the best and median of ``--repeats`` runs:

* **first call** of the process: a 256x256 region with an empty landmass cache (JIT kernels
  loaded from the cache; a truly cold first run also compiles them, see bench_cli.py);
* **warm**: regions of 256x256 and 1024x1024 cells whose landmasses are cached, at the
  origin and at row = col = 10**12 (the targets: 256^2 <= 40 ms, 1024^2 <= 0.5 s);
* **new landmasses**: a region in a part of the world never visited (every landmass it
  touches drained first): what the first window of a new area costs;
* the same-work comparison with Dendry (Gaillard et al., I3D 2019), whose paper reports
  about 10 s for a 512x512 grid with its river network on 4 CPU cores: a 512x512 region with
  its rivers, landmasses drained as part of the time;
* the cache's bytes per landmass, from ``World.cache_bytes``;
* with ``--viewer``: the ``procgen view --world`` window (headless, worker process, no frame
  cap) panning right at 900 px/s for ``--seconds``: frames per second and the slowest frames,
  while the chunks it pans into are made in the background.

Exactness is checked as it runs (a region equals the crop of a larger one; far regions equal
their near twin one period away), so the script exits 1 if speed came from a wrong answer.

Run: ``python tests/benchmarks/bench_world.py [--repeats 5] [--preset continent]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from procgen.world import WORLD_PERIOD_TILES, World  # noqa: E402

FAR = 10 ** 12
DENDRY_512_S = 10.0    # Gaillard et al. 2019: a 512^2 grid with its network, 4 cores


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def line(name: str, times: list[float], target: float | None = None) -> str:
    best, med = min(times), statistics.median(times)
    verdict = "" if target is None else ("  ok" if best <= target else f"  OVER {target:g} s")
    return f"{name:<44} best {best * 1000:8.1f} ms   median {med * 1000:8.1f} ms{verdict}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--preset", default="continent")
    p.add_argument("--cell-size", type=float, default=250.0)
    p.add_argument("--tile", type=int, default=1024)
    p.add_argument("--sizes", default="256,1024",
                   help="warm region sizes, comma-separated (targets for 256 and 1024)")
    p.add_argument("--viewer", action="store_true", help="also time the world window")
    p.add_argument("--seconds", type=float, default=10.0)
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"python {platform.python_version()}, preset {args.preset}, "
          f"{args.cell_size:g} m/cell, tile {args.tile}")
    make = lambda seed: World(seed, preset=args.preset, cell_size=args.cell_size,  # noqa: E731
                              tile=args.tile)
    world = make(7)
    t0 = time.perf_counter()
    world.region(0, 0, (sizes[0], sizes[0]))
    print(f"{'first call of the process (' + str(sizes[0]) + '^2)':<44} "
          f"{(time.perf_counter() - t0) * 1000:8.1f} ms")
    targets = {256: 0.040, 1024: 0.5}
    failed = False
    for n in sizes:
        for at in ((0, 0), (FAR, FAR)):
            world.region(*at, (n, n))                              # drain its landmasses
            name = f"warm {n}^2 at row=col={at[0]:g}"
            print(line(name, timed(lambda: world.region(*at, (n, n)), args.repeats),
                       targets.get(n)))
    # Exactness while we are here: a crop, and the world's period.
    big = world.region(FAR - 100, FAR - 100, (600, 600))
    small = world.region(FAR + 37, FAR + 200, (256, 256))
    period = WORLD_PERIOD_TILES * args.tile
    twin = world.region(FAR + 37 - period, FAR + 200 + 3 * period, (256, 256))
    for name, a, b in (("crop", big.height[137:393, 300:556], small.height),
                       ("period", small.height, twin.height)):
        if not np.array_equal(a, b):
            print(f"MISMATCH: {name}")
            failed = True
    # New landmasses every time: a fresh part of the world per run.
    fresh = iter(range(1, 10 ** 6))
    step = args.tile * 5
    print(line("new landmasses, 256^2 (drained in the time)",
               timed(lambda: world.region(next(fresh) * step, -next(fresh) * step,
                                          (256, 256)), args.repeats)))
    cold = timed(lambda: world.region(next(fresh) * step + args.tile // 2,
                                      next(fresh) * step + args.tile // 2, (512, 512)),
                 args.repeats)
    print(line("new landmasses, 512^2 with rivers (Dendry's work)", cold)
          + f"   Dendry {DENDRY_512_S:g} s on 4 cores: x{DENDRY_512_S / min(cold):.0f}")
    per = world.cache_bytes / max(len(world._cache), 1)
    print(f"{'cache':<44} {len(world._cache)} landmasses, {world.cache_bytes / 1e6:.1f} MB "
          f"({per / 1e6:.2f} MB each; at most WorldConfig.cache = {world.world.cache})")
    if args.viewer:
        viewer(args)
    return 1 if failed else 0


def viewer(args) -> None:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    from demos._viewer.world import WorldExplorer
    ex = WorldExplorer(seed=7, preset=args.preset, cell_size=args.cell_size, fps=0,
                       at=(-300, -900))
    try:
        ex.run(frames=1, timeout=120)                    # the first screen, then pan
        ex.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT, mod=0))
        frames, start, made = [], time.perf_counter(), len(ex._chunks)
        while time.perf_counter() - start < args.seconds:
            t0 = time.perf_counter()
            ex.step([])
            frames.append(time.perf_counter() - t0)
        made = len(ex._chunks) - made
        frames.sort()
        print(f"{'viewer --world, panning at 900 px/s':<44} {len(frames) / args.seconds:6.0f} fps"
              f"  median frame {frames[len(frames) // 2] * 1000:.1f} ms, 99th percentile "
              f"{frames[int(len(frames) * 0.99)] * 1000:.1f} ms, worst "
              f"{frames[-1] * 1000:.1f} ms; {made} chunks made meanwhile")
    finally:
        ex.close()


if __name__ == "__main__":
    sys.exit(main())
