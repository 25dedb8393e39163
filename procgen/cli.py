"""The ``procgen`` command.

``procgen map --seed 7 --size 1024 --preset continent -o map.png`` renders a map; options add a
16-bit heightmap for game engines and the Level file for game code. Bad input exits with
status 2 and one line on stderr naming the option, the value and what is allowed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["main"]


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but errors are one line (``procgen: error: ...``) instead of usage + error."""

    def error(self, message):
        self.exit(2, f"procgen: error: {message}\n")


def _build_parser() -> argparse.ArgumentParser:
    from .terrain import PRESETS

    parser = _OneLineParser(
        prog="procgen",
        description="Procedural game levels: noise landscapes, PNG maps and engine heightmaps.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)
    sub.required = True

    m = sub.add_parser(
        "map", help="generate a level and render it as a PNG map",
        description="Generate a level from a seed and a preset and render it as a PNG map "
                    "(hypsometric colours, hillshade, water). Optionally also write a 16-bit "
                    "heightmap for game engines and the Level file for game code.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    m.add_argument("--seed", type=int, default=0,
                   help="root seed, 0 <= SEED < 2**64; the same seed and options give the same map")
    m.add_argument("--size", type=int, default=1024,
                   help="map width and height in cells (a square map)")
    m.add_argument("--preset", default="continent", metavar="NAME",
                   help=f"terrain preset, one of: {', '.join(PRESETS)}")
    m.add_argument("--rivers", default="flow", metavar="GENERATOR",
                   help="river generator: flow (where water collects), walker (coin-flip "
                        "walker), persistent, sine (meander curve), downhill, none, or "
                        "learned:NAME (needs the learned extra)")
    m.add_argument("--cell-size", type=float, default=500.0, metavar="METRES",
                   help="metres per cell; smaller shows the same world in more detail")
    m.add_argument("-o", "--output", default="map.png", metavar="PATH",
                   help="PNG file to write the rendered map to")
    m.add_argument("--no-shade", action="store_true", help="draw without hillshade")
    m.add_argument("--heightmap", metavar="PATH",
                   help="also write a 16-bit greyscale PNG heightmap (lowest cell 0, highest 65535)")
    m.add_argument("--heightmap-size", type=int, metavar="N",
                   help="resample the heightmap to N x N (e.g. 1025 for Unity, 1009 for Unreal)")
    m.add_argument("--engine", choices=("unity", "unreal"),
                   help="refuse heightmap sizes the engine cannot import (Unity 2^n+1; "
                        "Unreal's recommended sizes)")
    m.add_argument("--level", metavar="PATH", help="also save the Level file (.npz) for game code")
    m.add_argument("--max-cells", type=int, default=8192 * 8192, metavar="N",
                   help="refuse maps with more cells than this (memory guard); raise it "
                        "deliberately for huge maps")
    m.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")

    sub.add_parser("view", help="explore landscapes in the pygame viewer (needs the viewer "
                                "extra); options as for python -m demos.explore",
                   add_help=False)
    return parser


def _check_png_path(option: str, path: str) -> Path:
    from ._io import check_writable_target

    p = Path(path)
    if p.suffix.lower() != ".png":
        raise ValueError(f"{option} must be a .png path, got {path!r}")
    return check_writable_target(p, name=option)


def _run_map(args) -> None:
    from . import generate_level
    from ._io import check_writable_target
    from .render import save_heightmap16

    # Check every output up front: a bad path must not cost a generation, nor leave a map
    # written beside a missing heightmap.
    out = _check_png_path("--output", args.output)
    hmap = _check_png_path("--heightmap", args.heightmap) if args.heightmap else None
    level_path = check_writable_target(args.level, name="--level") if args.level else None
    if (args.heightmap_size is not None or args.engine) and hmap is None:
        raise ValueError("--heightmap-size and --engine need --heightmap PATH")
    if args.max_cells < 1:
        raise ValueError(f"--max-cells must be >= 1, got {args.max_cells}")
    if args.size < 1:
        raise ValueError(f"--size must be >= 1, got {args.size}")
    if args.size * args.size > args.max_cells:
        raise ValueError(f"--size {args.size} makes {args.size ** 2:,} cells, over --max-cells "
                         f"{args.max_cells:,}; raise --max-cells to allow it")
    if hmap is not None and args.heightmap_size is not None:
        from .render import Engine, legal_sizes  # fail before generating, not after
        if args.heightmap_size < 2:
            raise ValueError(f"--heightmap-size must be >= 2, got {args.heightmap_size}")
        if args.engine and args.heightmap_size not in legal_sizes(Engine(args.engine)):
            sizes = ", ".join(map(str, legal_sizes(Engine(args.engine))))
            raise ValueError(f"--heightmap-size {args.heightmap_size} is not a legal "
                             f"{args.engine} heightmap size; legal sizes: {sizes}")

    start = time.perf_counter()
    level = generate_level(seed=args.seed, shape=args.size, cell_size=args.cell_size,
                           preset=args.preset, rivers=args.rivers, max_cells=args.max_cells)
    level.save_png(out, shade=not args.no_shade)
    written = [str(out)]
    if hmap is not None:
        used = save_heightmap16(level.height, hmap, size=args.heightmap_size, engine=args.engine)
        written.append(f"{hmap} ({used})")
    if level_path is not None:
        level.save(level_path)
        written.append(str(level_path))
    if not args.quiet:
        print(f"wrote {', '.join(written)} in {time.perf_counter() - start:.2f} s")


def _run_view(argv) -> int:
    try:
        import pygame  # noqa: F401
    except ImportError:
        print("procgen: error: the viewer needs pygame: pip install 'procgen-levels[viewer]'",
              file=sys.stderr)
        return 2
    from demos.explore import main as explore
    return explore(argv)


def main(argv=None) -> int:
    """Entry point of the ``procgen`` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["view"]:
        return _run_view(argv[1:])
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "map":
            _run_map(args)
    except (ValueError, TypeError, OSError, ImportError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"procgen: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
