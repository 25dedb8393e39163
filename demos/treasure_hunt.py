"""Treasure hunt: game code asking a Level questions (procgen.queries).

One idea: a level is something a game *queries*. This script generates a level, hides a
treasure and spawns players by Poisson-disc sampling (Bridson 2007) on walkable dry land
away from water, then finds every player's shortest walk to the treasure with Dijkstra's
algorithm over the 8-connected walkable cells (slope limit; rivers crossed only at fords),
and prints what a game would: where everyone stands, the biome, the watershed, the walk in
kilometres, the fords on the way and the climb. Headless: it prints, and with ``--png``
writes the biome map with the paths drawn. No pygame needed.

    python -m demos.treasure_hunt --seed 0 --players 4 --png hunt.png
"""

from __future__ import annotations

import argparse
import heapq
import math
import sys

import numpy as np

from procgen import generate_level
from procgen.biomes import Biome

_STEPS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def shortest_walks(walkable: np.ndarray, start: tuple[int, int]):
    """Dijkstra from ``start`` over walkable cells, 8-connected, diagonal steps sqrt(2).

    Returns (distance in cells, previous flat index) grids; inf / -1 where unreachable.
    """
    rows, cols = walkable.shape
    dist = np.full(rows * cols, np.inf)
    prev = np.full(rows * cols, -1, np.int64)
    s = start[0] * cols + start[1]
    dist[s] = 0.0
    heap = [(0.0, s)]
    while heap:
        d, i = heapq.heappop(heap)
        if d > dist[i]:
            continue
        r, c = divmod(i, cols)
        for dr, dc in _STEPS:
            rr, cc = r + dr, c + dc
            if 0 <= rr < rows and 0 <= cc < cols and walkable[rr, cc]:
                j = rr * cols + cc
                nd = d + (math.sqrt(2.0) if dr and dc else 1.0)
                if nd < dist[j]:
                    dist[j] = nd
                    prev[j] = i
                    heapq.heappush(heap, (nd, j))
    return dist.reshape(rows, cols), prev


def trace(prev: np.ndarray, cols: int, end: tuple[int, int]) -> list[tuple[int, int]]:
    """Cells from the start of :func:`shortest_walks` to ``end``."""
    i = end[0] * cols + end[1]
    path = []
    while i >= 0:
        path.append(divmod(int(i), cols))
        i = prev[i]
    return path[::-1]


def _name(biome: int) -> str:
    return Biome(biome).label.replace("_", " ")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demos.treasure_hunt",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=192, help="cells per side")
    parser.add_argument("--cell-size", type=float, default=1000.0, help="metres per cell")
    parser.add_argument("--preset", default="continent")
    parser.add_argument("--players", type=int, default=4)
    parser.add_argument("--max-slope", type=float, default=25.0, help="degrees")
    parser.add_argument("--png", metavar="PATH", help="also draw the hunt to this PNG")
    args = parser.parse_args(argv)

    level = generate_level(seed=args.seed, shape=args.size, cell_size=args.cell_size,
                           preset=args.preset)
    km = args.cell_size / 1000.0
    walk = level.walkable(max_slope_deg=args.max_slope)       # rivers only at fords
    fords = level.fords()
    print(f"Level seed {args.seed}: {args.size}x{args.size} cells of {args.cell_size:g} m "
          f"({args.preset}), {len(level.rivers)} rivers, {int(fords.sum())} ford cells, "
          f"{100 * walk.mean():.0f}% walkable")

    # Spawns: on walkable land, 3 cells from any water, spread by Poisson-disc sampling.
    spots = level.spawn_points(args.players + 1, min_spacing=6 * args.cell_size,
                               min_water_distance=3 * args.cell_size, where=walk,
                               rng=args.seed)
    if len(spots) < 2:
        print("No room for a treasure hunt on this level: try another --seed.")
        return 1
    cells = [tuple(int(v) for v in np.floor(p + 0.5)) for p in spots]
    treasure, players = cells[0], cells[1:]
    tr, tc = spots[0]
    ws = level.watersheds()
    label = level.watershed_at(tr, tc)
    outlet = tuple(int(v) for v in ws.outlets[label - 1])
    print(f"Treasure at {treasure}: {level.height_at(tr, tc):.0f} m up, "
          f"{_name(level.biome_at(tr, tc))}, slope {level.slope_at(tr, tc):.1f} deg, "
          f"{level.distance_to_water(include_rivers=True)[treasure] / 1000:.1f} km from "
          f"water, in watershed {label} (its rain reaches the water at {outlet})")

    dist, prev = shortest_walks(walk, treasure)
    paths = []
    for k, (cell, (pr, pc)) in enumerate(zip(players, spots[1:]), start=1):
        where = f"Player {k} at {cell} ({_name(level.biome_at(pr, pc))})"
        if not np.isfinite(dist[cell]):
            print(f"{where}: no walkable way to the treasure"
                  f"{' (another watershed)' if level.watershed_at(pr, pc) != label else ''}")
            continue
        path = trace(prev, args.size, cell)[::-1]               # player -> treasure
        paths.append(path)
        heights = level.height[tuple(np.array(path).T)].astype(float)
        climb = float(np.clip(np.diff(heights), 0, None).sum())
        crossed = sum(1 for p in path if fords[p])
        print(f"{where}: walk {dist[cell] * km:.1f} km in {len(path) - 1} steps, "
              f"climb {climb:.0f} m, {crossed} ford cell{'s' if crossed != 1 else ''} "
              f"on the way")

    if args.png:
        from procgen.render import render_biomes
        from procgen.render import save_png
        img = render_biomes(level)
        for path in paths:
            for p in path:
                img[p] = (220, 30, 30)
        for cell in players:
            img[cell] = (255, 255, 255)
        img[treasure] = (255, 200, 0)
        save_png(np.repeat(np.repeat(img, 4, axis=0), 4, axis=1), args.png)
        print(f"Wrote {args.png}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
