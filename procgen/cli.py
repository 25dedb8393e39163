"""The ``procgen`` command.

``procgen map --seed 7 --size 1024 --preset continent -o map.png`` renders a map; options add a
16-bit heightmap for game engines and the Level file for game code.
``procgen export --format tiled|geojson|heightmap16|raw16 -o PATH`` exports a generated (or,
with ``--level FILE``, a saved) level for editors and engines (see :mod:`procgen.export`).
Bad input exits with status 2 and one line on stderr naming the option, the value and what
is allowed; nothing is written then, and an export writes all its files or none.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

__all__ = ["main"]


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but errors are one line (``procgen: error: ...``) instead of usage + error."""

    def error(self, message):
        self.exit(2, f"procgen: error: {message}\n")


_GENERATION_DEFAULTS = {"seed": 0, "size": 1024, "preset": "continent", "rivers": "flow",
                        "cell_size": 500.0}

#: Output suffixes each export format accepts.
_EXPORT_SUFFIXES = {"tiled": (".json", ".tmj"), "geojson": (".geojson", ".json"),
                    "heightmap16": (".png",), "raw16": (".raw", ".r16")}


def _add_generation_options(p, *, defaults: bool) -> None:
    """--seed, --size, --preset, --rivers, --cell-size; without ``defaults`` they default to
    None (so a command can tell whether they were given) and the help names the default."""
    from .terrain import PRESETS

    def default(name):
        return _GENERATION_DEFAULTS[name] if defaults else None

    def note(name):
        return "" if defaults else f" (default: {_GENERATION_DEFAULTS[name]})"

    p.add_argument("--seed", type=int, default=default("seed"),
                   help="root seed, 0 <= SEED < 2**64; the same seed and options give the same "
                        "map" + note("seed"))
    p.add_argument("--size", type=int, default=default("size"),
                   help="map width and height in cells (a square map)" + note("size"))
    p.add_argument("--preset", default=default("preset"), metavar="NAME",
                   help=f"terrain preset, one of: {', '.join(PRESETS)}" + note("preset"))
    p.add_argument("--rivers", default=default("rivers"), metavar="GENERATOR",
                   help="river generator: flow (where water collects), walker (coin-flip "
                        "walker), persistent, sine (meander curve), downhill, none, or "
                        "learned:NAME (needs the learned extra)" + note("rivers"))
    p.add_argument("--cell-size", type=float, default=default("cell_size"), metavar="METRES",
                   help="metres per cell; smaller shows the same world in more detail"
                        + note("cell_size"))


def _build_parser() -> argparse.ArgumentParser:
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
    _add_generation_options(m, defaults=True)
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

    e = sub.add_parser(
        "export", help="export a level for editors and engines: Tiled map, GeoJSON rivers, "
                       "16-bit PNG or RAW heightmaps",
        description="Generate a level (same options as 'procgen map') or read a saved one "
                    "(--level FILE) and export it: a Tiled map editor JSON map with its "
                    "tileset image (tiled), the rivers as GeoJSON (geojson), or a 16-bit "
                    "engine heightmap as PNG (heightmap16) or little-endian RAW (raw16), "
                    "first row = north edge, with a JSON sidecar giving the height scale. "
                    "All files are written or none.")
    e.add_argument("--format", required=True, choices=tuple(_EXPORT_SUFFIXES),
                   help="what to write")
    e.add_argument("-o", "--output", required=True, metavar="PATH",
                   help="file to write: .json or .tmj (tiled; the tileset image goes beside "
                        "it as STEM_tiles.png), .geojson or .json (geojson), .png "
                        "(heightmap16), .raw or .r16 (raw16; a STEM.json sidecar goes beside "
                        "heightmaps)")
    e.add_argument("--level", metavar="FILE",
                   help="export this saved level (.npz from 'procgen map --level') instead "
                        "of generating one")
    _add_generation_options(e, defaults=False)
    e.add_argument("--tile-size", type=int, metavar="PX",
                   help="tiled: tile width and height in pixels (default: 16)")
    e.add_argument("--heightmap-size", type=int, metavar="N",
                   help="heightmaps: resample to N x N (e.g. 1025 for Unity, 1009 for Unreal; "
                        "default: the level's size)")
    e.add_argument("--engine", choices=("unity", "unreal"),
                   help="heightmaps: refuse sizes the engine cannot import (Unity 2^n+1; "
                        "Unreal's recommended sizes)")
    e.add_argument("--splat", choices=("none", "grey", "rgba"),
                   help="heightmaps: also write per-biome weight maps, one greyscale PNG per "
                        "biome (grey) or RGBA PNGs of 4 biomes each (rgba) (default: none)")
    e.add_argument("--max-cells", type=int, default=8192 * 8192, metavar="N",
                   help="refuse maps with more cells than this (memory guard; default: "
                        "67108864)")
    e.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")

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
    _check_generation(args)
    if hmap is not None and args.heightmap_size is not None:
        _check_heightmap_size(args.heightmap_size, args.engine)

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


def _check_generation(args) -> None:
    if args.max_cells < 1:
        raise ValueError(f"--max-cells must be >= 1, got {args.max_cells}")
    if args.size < 1:
        raise ValueError(f"--size must be >= 1, got {args.size}")
    if args.size * args.size > args.max_cells:
        raise ValueError(f"--size {args.size} makes {args.size ** 2:,} cells, over --max-cells "
                         f"{args.max_cells:,}; raise --max-cells to allow it")


def _legal_text(engine: str) -> str:
    from .render import Engine, legal_sizes
    return ", ".join(map(str, legal_sizes(Engine(engine))))


def _check_heightmap_size(size: int, engine) -> None:
    """Fail before generating, not after."""
    from .render import Engine, legal_sizes
    if size < 2:
        raise ValueError(f"--heightmap-size must be >= 2, got {size}")
    if engine and size not in legal_sizes(Engine(engine)):
        raise ValueError(f"--heightmap-size {size} is not a legal {engine} heightmap size; "
                         f"legal sizes: {_legal_text(engine)}")


def _run_export(args) -> None:
    from ._io import check_writable_target

    fmt = args.format
    suffixes = _EXPORT_SUFFIXES[fmt]
    out = Path(args.output)
    if out.suffix.lower() not in suffixes:
        raise ValueError(f"--output must be a {' or '.join(suffixes)} path for --format {fmt}, "
                         f"got {args.output!r}")
    out = check_writable_target(out, name="--output")
    heightmap = fmt in ("heightmap16", "raw16")
    if args.tile_size is not None and fmt != "tiled":
        raise ValueError("--tile-size only applies to --format tiled")
    if not heightmap:
        given = [opt for opt, v in (("--heightmap-size", args.heightmap_size),
                                    ("--engine", args.engine), ("--splat", args.splat))
                 if v is not None]
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise ValueError(f"{', '.join(given)} only {verb} to --format heightmap16 or raw16")
    if args.tile_size is not None and not 1 <= args.tile_size <= 1024:
        raise ValueError(f"--tile-size must be in 1..1024, got {args.tile_size}")
    names = {"seed": "--seed", "size": "--size", "preset": "--preset", "rivers": "--rivers",
             "cell_size": "--cell-size"}
    if args.level is not None:
        given = [opt for key, opt in names.items() if getattr(args, key) is not None]
        if given:
            raise ValueError(f"--level FILE exports a saved level; drop {', '.join(given)}")
        level_path = Path(args.level)
        if not level_path.is_file():
            raise ValueError(f"--level: no level file at {args.level!r}")
    else:
        for key in names:
            if getattr(args, key) is None:
                setattr(args, key, _GENERATION_DEFAULTS[key])
        _check_generation(args)
    if heightmap and args.heightmap_size is not None:
        _check_heightmap_size(args.heightmap_size, args.engine)
    elif heightmap and args.engine and args.level is None:
        if args.size not in _legal_sizes(args.engine):
            raise ValueError(f"--size {args.size} is not a legal {args.engine} heightmap size "
                             f"(legal sizes: {_legal_text(args.engine)}); pass "
                             f"--heightmap-size N to resample")

    start = time.perf_counter()
    if args.level is not None:
        from .level import Level
        try:
            level = Level.load(level_path)
        except ValueError as exc:
            raise ValueError(f"--level: {exc}") from None
        if heightmap and args.engine and args.heightmap_size is None:
            rows, cols = level.shape
            if rows != cols or rows not in _legal_sizes(args.engine):
                raise ValueError(f"--level {args.level!r} is {rows}x{cols}, not a legal "
                                 f"{args.engine} heightmap size (legal sizes: "
                                 f"{_legal_text(args.engine)}); pass --heightmap-size N to "
                                 f"resample")
    else:
        from . import generate_level
        level = generate_level(seed=args.seed, shape=args.size, cell_size=args.cell_size,
                               preset=args.preset, rivers=args.rivers,
                               max_cells=args.max_cells)
    from . import export
    if fmt == "tiled":
        written = export.save_tiled(level, out, tile_size=args.tile_size or 16)
    elif fmt == "geojson":
        written = export.save_geojson(level, out)
    else:
        result = export.save_heightmap(level, out, format=fmt, size=args.heightmap_size,
                                       engine=args.engine, splat=args.splat or "none")
        written = list(result.paths)
    if not args.quiet:
        print(f"wrote {', '.join(map(str, written))} in {time.perf_counter() - start:.2f} s")


def _legal_sizes(engine: str):
    from .render import Engine, legal_sizes
    return legal_sizes(Engine(engine))


def _run_view(argv) -> int:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
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
        elif args.command == "export":
            _run_export(args)
    except (ValueError, TypeError, OSError, ImportError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"procgen: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
