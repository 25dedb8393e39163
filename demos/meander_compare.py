"""Flow rivers before and after meanders: the same level on its D8 paths and meandering.

``python -m demos.meander_compare --out meanders.png`` generates one level twice (``meanders``
``'none'`` and ``--source``, default ``'curve'``; terrain, network and seed the same), crops
the same window of both,
enlarges it so single cells show, and writes them side by side (left: D8 paths, right:
meanders), printing the share of drawn river segments that lie on the grid's eight
directions in each. The README's picture is ``python -m demos.meander_compare --out
assets/images/meanders.png``. No pygame needed.
"""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np

from demos import _cli

__all__ = ["main", "grid_share"]


def grid_share(level) -> float:
    """Share of a level's drawn river segments (not those across water) at a multiple of
    45 degrees."""
    out = []
    for r in level.rivers:
        cells = np.rint(r.path).astype(np.int64)
        dry = ~level.water[cells[:, 0], cells[:, 1]]
        seg = np.diff(r.path, axis=0)[dry[:-1] & dry[1:]]
        out.append(seg[np.hypot(seg[:, 0], seg[:, 1]) > 0])
    seg = np.concatenate(out) if out else np.zeros((0, 2))
    if not len(seg):
        return 0.0
    m = np.mod(np.degrees(np.arctan2(seg[:, 0], seg[:, 1])), 45.0)
    return float(np.mean(np.isclose(m, 0.0, atol=1e-6) | np.isclose(m, 45.0, atol=1e-6)))


def main(argv=None) -> int:
    p = _cli.parser("meander_compare", "python -m demos.meander_compare",
                    __doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--preset", default="lowlands")
    p.add_argument("--size", type=int, default=512, help="level side in cells")
    p.add_argument("--cell-size", type=float, default=500.0)
    p.add_argument("--window", default="128,80,150", metavar="ROW,COL,SIDE",
                   help="the crop shown, in cells")
    p.add_argument("--scale", type=int, default=3, help="pixels per cell in the picture")
    p.add_argument("--source", default="curve", metavar="MEANDERS",
                   help="the right panel's meander source: curve or learned:NAME")
    p.add_argument("--out", default="meanders.png", metavar="PNG")
    args = p.parse_args(argv)
    try:
        from procgen import generate_level
        from procgen.level import LevelConfig
        from procgen.render import render_map, save_png

        row, col, side = (int(v) for v in args.window.split(","))
        config = LevelConfig.from_preset(args.preset)
        levels = [generate_level(seed=args.seed, shape=args.size, cell_size=args.cell_size,
                                 config=replace(config, rivers=replace(config.rivers,
                                                                       meanders=m)))
                  for m in ("none", args.source)]
    except (ValueError, TypeError) as exc:
        return _cli.error(p.name, exc)
    window = (slice(row, row + side), slice(col, col + side))
    panels = []
    for level in levels:
        # Rivers drawn at the picture's scale, so a cell's worth of meander shows.
        k = args.scale
        height = np.kron(level.height[window], np.ones((k, k), np.float32))
        water = np.kron(level.water[window], np.ones((k, k), bool))
        rivers = [replace(r, path=(r.path - [row, col]) * k + (k - 1) / 2.0)
                  for r in level.rivers]
        panels.append(render_map(height, cell_size=level.cell_size / k, water=water,
                                 rivers=rivers))
    gap = np.full((panels[0].shape[0], 6, 3), 255, np.uint8)
    save_png(np.concatenate([panels[0], gap, panels[1]], axis=1), args.out)
    shares = [grid_share(level) for level in levels]
    print(f"wrote {args.out}: segments on the grid's directions, D8 paths "
          f"{shares[0]:.1%}, meanders {shares[1]:.1%}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
