"""A large window of an endless world, stitched from regions generated one by one.

``python -m demos.world_mosaic --out world.png`` generates ``--grid`` ROWSxCOLS regions of
``--region`` cells each with its own ``World.region`` call, in a shuffled order, renders each
(with a one-cell margin, so hillshade at its edge sees its true neighbours), pastes them
side by side, and checks the mosaic against one region covering the whole window: every
height, water cell and river cell must agree, or it exits 1. With ``--borders`` a faint
line marks where the regions meet.

The picture in the README is ``python -m demos.world_mosaic --out
assets/images/world_mosaic.png --borders``. No pygame needed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import numpy as np

from demos import _cli

__all__ = ["main", "mosaic"]


def mosaic(world, row: int, col: int, region: int, grid: tuple[int, int], *, order_seed=0):
    """``(rgb, levels)``: the picture of ``grid`` regions of ``region`` cells from global
    cell ``(row, col)``, each generated on its own in a shuffled order, and their Levels."""
    from procgen.render import render_map

    cells = [(i, j) for i in range(grid[0]) for j in range(grid[1])]
    random.Random(order_seed).shuffle(cells)
    rgb = np.zeros((grid[0] * region, grid[1] * region, 3), np.uint8)
    levels = {}
    for i, j in cells:
        r, c = row + i * region, col + j * region
        level = world.region(r - 1, c - 1, (region + 2, region + 2))
        picture = render_map(level.height, cell_size=level.cell_size, water=level.water,
                             rivers=level.rivers)
        rgb[i * region:(i + 1) * region, j * region:(j + 1) * region] = picture[1:-1, 1:-1]
        levels[(i, j)] = level
    return rgb, levels


def main(argv=None) -> int:
    p = _cli.parser("world_mosaic", "python -m demos.world_mosaic", __doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--preset", default="continent")
    p.add_argument("--cell-size", type=float, default=250.0)
    p.add_argument("--at", default="-512,-1024", metavar="ROW,COL",
                   help="global cell of the mosaic's top-left corner")
    p.add_argument("--region", type=int, default=384, help="cells per region side")
    p.add_argument("--grid", default="3x4", metavar="ROWSxCOLS", help="regions down x across")
    p.add_argument("--borders", action="store_true", help="mark where regions meet")
    p.add_argument("--out", default="world_mosaic.png", metavar="PNG")
    args = p.parse_args(argv)
    try:
        from procgen._validate import check_int
        from procgen.world import World

        row, col = (int(v) for v in args.at.split(","))
        rows, cols = (check_int("--grid", int(v), lo=1, hi=16) for v in args.grid.split("x"))
        size = check_int("--region", args.region, lo=16, hi=2048)
        world = World(args.seed, preset=args.preset, cell_size=args.cell_size)
    except (ValueError, TypeError) as exc:
        return _cli.error(p.name, exc)
    start = time.perf_counter()
    rgb, levels = mosaic(world, row, col, size, (rows, cols))
    whole = world.region(row, col, (rows * size, cols * size))
    failed = []
    for (i, j), level in levels.items():
        crop = (slice(i * size, (i + 1) * size), slice(j * size, (j + 1) * size))
        inner = (slice(1, -1), slice(1, -1))
        for name in ("height", "water", "lakes", "biomes"):
            if not np.array_equal(getattr(level, name)[inner], getattr(whole, name)[crop]):
                failed.append(f"region {i},{j}: {name}")
        if not np.array_equal(level.river_mask()[inner], whole.river_mask()[crop]):
            failed.append(f"region {i},{j}: rivers")
    if args.borders:
        for k in range(1, rows):
            rgb[k * size, :] = (rgb[k * size, :] * 0.6 + 255 * 0.4).astype(np.uint8)
        for k in range(1, cols):
            rgb[:, k * size] = (rgb[:, k * size] * 0.6 + 255 * 0.4).astype(np.uint8)
    from procgen.render import save_png
    save_png(rgb, args.out)
    print(f"wrote {args.out}: {rows}x{cols} regions of {size}^2 cells in "
          f"{time.perf_counter() - start:.1f} s; "
          + ("every layer matches one region of the whole window" if not failed
             else "MISMATCH: " + "; ".join(failed)))
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
