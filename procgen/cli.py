"""The ``procgen`` command.

``procgen map --seed 7 --size 1024 --preset continent -o map.png`` renders a map; options add a
16-bit heightmap (with its JSON sidecar) for game engines and the Level file for game code.
``procgen export --format tiled|geojson|heightmap16|raw16 -o PATH`` exports a generated (or,
with ``--level FILE``, a saved) level for editors and engines (see :mod:`procgen.export`).
``procgen view`` opens the viewer that the ``demos`` package registers (entry point group
``procgen.commands``); procgen itself never imports it.

Maps are ``--size N`` (square) or ``--size WIDTHxHEIGHT``: ``1024x512`` is 1024 cells west to
east (columns) by 512 north to south (rows), as image sizes are written.

Bad input exits with status 2 and one line on stderr naming the option, the value and what
is allowed; nothing is written then, and an export writes all its files or none. The first
run compiles the kernels (numba) and says so on stderr; later runs load them from the cache.

Exit status, and never a traceback:

* 0: done.
* 2: the request was refused, with one line ``procgen: error: ...``: before any work, a bad
  option or a map that needs more memory than the machine has available (``--size 200000
  needs about 4,800 GB of memory, 21 GB is available; ...``); after it, an output that
  could not be written (``--output: cannot write 'm.png': No space left on device``).
* 1: a request that passed every check failed while running, with one line: the machine ran
  out of memory after all (other programs took it meanwhile, or the estimate was short), or
  a bug (``procgen: internal error: ...``; set ``PROCGEN_DEBUG=1`` to see the traceback).
* 130: interrupted (Ctrl-C).

The command imports only what it runs: ``procgen --help`` loads neither numpy nor numba.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["main"]

#: Printed to stderr before a run that must compile the kernels (an empty JIT cache).
COLD_START_NOTICE = "procgen: compiling kernels, first run only (5-10 s)..."

#: Entry-point group where other packages register ``procgen`` subcommands (``view``).
COMMANDS_GROUP = "procgen.commands"

_MAX_CELLS = 8192 * 8192

_GENERATION_DEFAULTS = {"seed": 0, "size": (1024, 1024), "preset": "continent",
                        "rivers": "flow", "cell_size": 500.0}

#: Generation options: attribute -> option. Export refuses them next to --level FILE.
_GENERATION_OPTIONS = {"seed": "--seed", "size": "--size", "preset": "--preset",
                       "rivers": "--rivers", "cell_size": "--cell-size",
                       "sea_level": "--sea-level", "river_count": "--river-count",
                       "river_threshold": "--river-threshold", "world": "--world",
                       "at": "--at", "meanders": "--meanders", "sinuosity": "--sinuosity",
                       "erosion": "--erosion", "erosion_mode": "--erosion-mode"}

#: Output suffixes each export format accepts.
_EXPORT_SUFFIXES = {"tiled": (".json", ".tmj"), "geojson": (".geojson", ".json"),
                    "geotiff": (".tif", ".tiff"), "heightmap16": (".png",),
                    "raw16": (".raw", ".r16")}
_GEO_FORMATS = ("geojson", "geotiff")


def _lat_lon(text: str) -> tuple[float, float]:
    """argparse type of --geo-origin: ``LAT,LON`` in degrees."""
    try:
        lat, lon = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be LAT,LON in degrees, e.g. 52.0,5.0; got "
                                         f"{text!r}") from None
    if not (-90.0 < lat < 90.0 and -180.0 <= lon <= 180.0):
        raise argparse.ArgumentTypeError(f"latitude must be in (-90, 90) and longitude in "
                                         f"[-180, 180], got {text!r}")
    return lat, lon
_HEIGHTMAP_FORMATS = ("heightmap16", "raw16")

#: River generators that place a number of shapes (--river-count) rather than follow the
#: drainage network above a threshold (--river-threshold).
_SHAPE_GENERATORS = ("walker", "persistent", "sine", "downhill")


def _one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped as ``repr`` writes
    them (``\\n``, ``\\x00``, ``\\u2028``), so that an error stays one line whatever was typed."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but errors are one line (``procgen: error: ...``) instead of usage + error."""

    def error(self, message):
        # argparse quotes most values, but not "unrecognized arguments: ..."
        self.exit(2, f"procgen: error: {_one_line(message)}\n")


class _HelpFormatter(argparse.HelpFormatter):
    """Names each default that is not None, and fills ``{presets}`` when help is printed:
    only ``--help`` pays for importing the terrain module (and with it numba)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "{presets}" in text:
            from .terrain import PRESETS
            text = text.replace("{presets}", ", ".join(PRESETS))
        default = action.default
        unset = default is None or default is False or default is argparse.SUPPRESS
        if action.option_strings and not unset and "(default:" not in text:
            shown = _size_text(default) if action.dest == "size" else default
            text += f" (default: {shown})".replace("%", "%%")
        return text


def _path(text: str) -> str:
    """argparse type of the file options: any path but an empty one or one with a NUL
    character (which no file system accepts; Python would say only "embedded null byte")."""
    if not text or "\0" in text:
        raise argparse.ArgumentTypeError(f"must be a file path (not empty, no NUL "
                                         f"characters), got {text!r}")
    return text


def _size(text: str) -> tuple[int, int]:
    """``N`` -> ``(N, N)``; ``WIDTHxHEIGHT`` -> ``(HEIGHT, WIDTH)``, i.e. ``(rows, cols)``."""
    parts = text.lower().split("x")
    if len(parts) > 2 or not all(re.fullmatch(r"\s*[+-]?\d+\s*", p) for p in parts):
        raise argparse.ArgumentTypeError(
            f"must be N or WIDTHxHEIGHT in cells (e.g. 1024 or 1024x512), got {text!r}")
    width = int(parts[0])
    height = int(parts[-1])
    return height, width


def _row_col(text: str) -> tuple[int, int]:
    """argparse type of --at: ``ROW,COL``, two integers."""
    parts = text.split(",")
    if len(parts) != 2 or not all(re.fullmatch(r"\s*[+-]?\d+\s*", p) for p in parts):
        raise argparse.ArgumentTypeError(f"must be ROW,COL, two integers (e.g. 0,0 or "
                                         f"-4096,1000000), got {text!r}")
    return int(parts[0]), int(parts[1])


def _size_text(shape) -> str:
    rows, cols = shape
    return str(rows) if rows == cols else f"{cols}x{rows}"


def _add_generation_options(p, *, defaults: bool) -> None:
    """The options that say what to generate; without ``defaults`` they default to None (so
    a command can tell whether they were given) and the help names the default."""

    def default(name):
        return _GENERATION_DEFAULTS[name] if defaults else None

    def note(name):
        if defaults:
            return ""
        value = _GENERATION_DEFAULTS[name]
        return f" (default: {_size_text(value) if name == 'size' else value})"

    g = p.add_argument_group("what to generate")
    g.add_argument("--seed", type=int, default=default("seed"),
                   help="root seed, a 64-bit integer; the same seed and options give the "
                        "same map" + note("seed"))
    g.add_argument("--size", type=_size, default=default("size"), metavar="N|WxH",
                   help="map size in cells: N for a square map, or WIDTHxHEIGHT, e.g. "
                        "1024x512 = 1024 cells west to east by 512 north to south"
                        + note("size"))
    g.add_argument("--preset", default=default("preset"), metavar="NAME",
                   help="terrain preset, one of: {presets}" + note("preset"))
    g.add_argument("--rivers", default=default("rivers"), metavar="GENERATOR",
                   help="river generator: flow (where water collects), walker (coin-flip "
                        "walker), persistent, sine (meander curve), downhill, none, or "
                        "learned:NAME (a shipped model, e.g. learned:ar; no torch needed)"
                        + note("rivers"))
    g.add_argument("--cell-size", type=float, default=default("cell_size"), metavar="METRES",
                   help="metres of ground per cell" + note("cell_size"))
    g.add_argument("--sea-level", type=float, metavar="LEVEL",
                   help="where the coast lies on the land/sea noise field, -1..1: higher "
                        "floods more land, lower drains the sea (default: the preset's, "
                        "e.g. 0 for continent)")
    g.add_argument("--river-count", type=int, metavar="N",
                   help="how many rivers walker, persistent, sine, downhill and learned "
                        "generators place, 0..10000 (default: 12)")
    g.add_argument("--river-threshold", type=float, metavar="KM2",
                   help="flow rivers begin where this much land drains, in km^2 at the "
                        "reference 500 m per cell (it scales with --cell-size, so the "
                        "network keeps its shape in cells); lower gives more rivers "
                        "(default: the preset's, e.g. 100 for continent)")
    g.add_argument("--meanders", metavar="SOURCE",
                   help="how flow rivers' reaches are drawn: none (along their D8 cells), "
                        "curve (sine-generated meanders in their valleys) or learned:NAME "
                        "(a learned model's shapes, e.g. learned:ar) (default: curve)")
    g.add_argument("--erosion", type=int, metavar="STEPS",
                   help="stream-power erosion in STEPS implicit steps, 0..100, before water "
                        "is routed; 0 turns it off (default: 10, against rock uplift)")
    g.add_argument("--erosion-mode", choices=["uplift", "wear"],
                   help="what erosion works against: uplift (the land rises while rivers "
                        "cut it, so they organise its drainage; its heights are kept) or wear "
                        "(the noise terrain is only worn down) (default: uplift)")
    g.add_argument("--sinuosity", type=float, metavar="S",
                   help="sinuosity of the rivers a learned:NAME generator places, 1..10 "
                        "(course length / straight distance; default: drawn from the "
                        "model's real training rivers)")
    g.add_argument("--world", action="store_true", default=None,
                   help="draw a window of the endless world of this seed (landmasses in an "
                        "endless sea; any window matches the same cells of any other)")
    g.add_argument("--at", type=_row_col, metavar="ROW,COL",
                   help="with --world: the global cell of the window's top-left corner, any "
                        "64-bit integers (default: 0,0)")


def _add_heightmap_options(p, *, prefix: str) -> None:
    p.add_argument("--heightmap-size", type=int, metavar="N",
                   help=prefix + "resample to N x N (e.g. 1025 for Unity, 1009 for Unreal; "
                        "default: the map's size)")
    p.add_argument("--engine", choices=("unity", "unreal"),
                   help=prefix + "refuse sizes the engine cannot import (Unity 2^n+1; "
                        "Unreal's recommended sizes)")
    p.add_argument("--sea-floor", type=float, metavar="METRES",
                   help=prefix + "raise the sea bed to this depth, <= 0 (e.g. -50), so the "
                        "deep sea does not use up the 16 bits (default: no clamp)")


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
                    "heightmap for game engines, with a JSON sidecar giving its height "
                    "scale, and the Level file for game code.",
        formatter_class=_HelpFormatter)
    _add_generation_options(m, defaults=True)
    m.add_argument("-o", "--output", default="map.png", type=_path, metavar="PATH",
                   help="PNG file to write the rendered map to")
    m.add_argument("--no-shade", action="store_true", help="draw without hillshade")
    m.add_argument("--heightmap", type=_path, metavar="PATH",
                   help="also write a 16-bit greyscale PNG heightmap (lowest cell 0, highest "
                        "65535) and its sidecar STEM.json (height range, Z scale, "
                        "orientation)")
    _add_heightmap_options(m, prefix="with --heightmap: ")
    m.add_argument("--level", type=_path, metavar="PATH",
                   help="also save the Level file (.npz) for game code")
    m.add_argument("--max-cells", type=int, default=_MAX_CELLS, metavar="N",
                   help="refuse maps with more cells than this (memory guard); raise it "
                        "deliberately for huge maps")
    m.add_argument("-q", "--quiet", action="store_true",
                   help="print nothing on success (nor the first run's compile notice)")

    e = sub.add_parser(
        "export", help="export a level for editors and engines: Tiled map, GeoJSON rivers, "
                       "16-bit PNG or RAW heightmaps",
        description="Generate a level (same options as 'procgen map') or read a saved one "
                    "(--level FILE) and export it: a Tiled map editor JSON map with its "
                    "tileset image (tiled), the rivers as GeoJSON (geojson), or a 16-bit "
                    "engine heightmap as PNG (heightmap16) or little-endian RAW (raw16), "
                    "first row = north edge, with a JSON sidecar giving the height scale. "
                    "All files are written or none.",
        formatter_class=_HelpFormatter)
    e.add_argument("--format", required=True, choices=tuple(_EXPORT_SUFFIXES),
                   help="what to write")
    e.add_argument("-o", "--output", required=True, type=_path, metavar="PATH",
                   help="file to write: .json or .tmj (tiled; the tileset image goes beside "
                        "it as STEM_tiles.png), .geojson or .json (geojson), .png "
                        "(heightmap16), .raw or .r16 (raw16; a STEM.json sidecar goes beside "
                        "heightmaps)")
    e.add_argument("--level", type=_path, metavar="FILE",
                   help="export this saved level (.npz from 'procgen map --level') instead "
                        "of generating one")
    _add_generation_options(e, defaults=False)
    e.add_argument("--tile-size", type=int, metavar="PX",
                   help="tiled: tile width and height in pixels (default: 16)")
    e.add_argument("--layer-format", choices=("zlib", "gzip", "csv"),
                   help="tiled: tile layers as base64 of zlib- or gzip-compressed gids, or "
                        "as plain JSON arrays (csv) (default: zlib)")
    e.add_argument("--geo-origin", type=_lat_lon, metavar="LAT,LON",
                   help="geojson, geotiff: latitude and longitude in degrees of the map's "
                        "centre (default: 0,0); write --geo-origin=-33.9,18.4 when the "
                        "latitude is negative")
    _add_heightmap_options(e, prefix="heightmaps: ")
    e.add_argument("--splat", choices=("none", "grey", "rgba"),
                   help="heightmaps: also write per-biome weight maps, one greyscale PNG per "
                        "biome (grey) or RGBA PNGs of 4 biomes each (rgba) (default: none)")
    e.add_argument("--max-cells", type=int, default=_MAX_CELLS, metavar="N",
                   help="refuse maps with more cells than this (memory guard)")
    e.add_argument("-q", "--quiet", action="store_true",
                   help="print nothing on success (nor the first run's compile notice)")

    w = sub.add_parser(
        "world", help="giant regions of the endless world: a Zarr store (Dask) or a web map",
        description="Work with a region of the endless world of a seed (any 64-bit "
                    "coordinates): write it to a Zarr store chunk by chunk on Dask (export), "
                    "or as a zoomable web map of XYZ tiles with a page that browses them from "
                    "disk (tiles). Needs the scale extra for export.",
        formatter_class=_HelpFormatter)
    wsub = w.add_subparsers(dest="world_command", metavar="WHAT", parser_class=_OneLineParser)
    wsub.required = True
    for name, text in (("export", "write the region's layers to a Zarr (v3) store, chunk by "
                                  "chunk on Dask; a re-run resumes"),
                       ("tiles", "write an XYZ tile pyramid (z/x/y.png) and index.html, a "
                                 "map that browses it from disk")):
        q = wsub.add_parser(name, help=text, description=text + ".",
                            formatter_class=_HelpFormatter)
        q.add_argument("--region", type=_region, required=True, metavar="ROW,COL,H,W",
                       help="global cell of the top-left corner and size in cells, e.g. "
                            "0,0,16384,16384 (write --region=-4096,0,1024,1024 when ROW is "
                            "negative)")
        q.add_argument("--seed", type=int, default=0, help="root seed, a 64-bit integer")
        q.add_argument("--preset", default="continent", metavar="NAME",
                       help="terrain preset of every landmass, one of: {presets}")
        q.add_argument("--rivers", default="flow", metavar="GENERATOR",
                       help="river generator, as for procgen map")
        q.add_argument("--cell-size", type=float, default=250.0, metavar="METRES",
                       help="metres of ground per cell")
        q.add_argument("--max-cells", type=int, default=65536 ** 2, metavar="N",
                       help="refuse larger regions before any work")
        q.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
        if name == "export":
            q.add_argument("--zarr", required=True, type=_path, metavar="PATH",
                           help="the Zarr store (a folder); an existing one is resumed if it "
                                "holds the same export, else refused")
            q.add_argument("--chunks", type=int, default=1024, metavar="N",
                           help="chunk side in cells (one world region each)")
            q.add_argument("--layers", default="height,water,biomes,rivers", metavar="LIST",
                           help="comma-separated, of: height, water, lakes, biomes, rivers "
                                "(channel width)")
            q.add_argument("--scheduler", metavar="ADDRESS",
                           help="a Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: local "
                                "threads)")
        else:
            q.add_argument("--out", required=True, type=_path, metavar="DIR",
                           help="folder for the tiles and index.html (created)")

    sub.add_parser("view", help="explore landscapes in the pygame viewer (needs the viewer "
                                "extra); see procgen view --help",
                   add_help=False)
    sub.add_parser("score", help="how river-like each river of a saved level is (the "
                                 "energy-based model; needs the learned extra); see procgen "
                                 "score --help",
                   add_help=False)
    return parser


def _region(text: str) -> tuple[int, int, int, int]:
    """argparse type of --region: ``ROW,COL,H,W``, four integers."""
    parts = text.split(",")
    if len(parts) != 4 or not all(re.fullmatch(r"\s*[+-]?\d+\s*", p) for p in parts):
        raise argparse.ArgumentTypeError(f"must be ROW,COL,H,W, four integers (e.g. "
                                         f"0,0,4096,4096), got {text!r}")
    return tuple(int(p) for p in parts)


# -- errors name options, not Python parameters -------------------------------------------------
@contextlib.contextmanager
def _as_option(option: str | None, *params: str, **more: str):
    """Re-raise a library error about a Python parameter as one about its option.

    ``cell_size must be finite, got nan`` becomes ``--cell-size must be finite, got nan``:
    ``params`` are renamed to ``option``, and ``more`` maps further parameters to theirs
    (``size="--heightmap-size"``). A message that names none of them gets ``option`` in
    front (``--rivers: ...``), unless ``option`` is None.
    """
    names = {**dict.fromkeys(params, option), **more}
    try:
        yield
    except (ValueError, TypeError, ImportError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        first = re.match(r"[A-Za-z_]\w*", message)
        if first and names.get(first.group(0)):
            message = names[first.group(0)] + message[first.end():]
        elif option is not None and not message.startswith("--"):
            message = f"{option}: {message}"
        if message == str(exc):
            raise     # nothing to rename: keep the exception itself (an OSError's strerror)
        try:
            renamed = type(exc)(message)
        except TypeError:  # an exception class with its own constructor
            renamed = ValueError(message)
        raise renamed from None


@contextlib.contextmanager
def _writing(option: str, path):
    """Name the option when writing its file fails after the up-front checks passed (a
    disk that fills up, a folder that refuses new files: /proc passes the checks as root)."""
    try:
        yield
    except OSError as exc:
        if str(exc).startswith("--"):    # already named (by _as_option)
            raise
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise OSError(f"{option}: cannot write {str(path)!r}: {reason}") from None
    except ValueError as exc:          # the writer's own re-check, about its "path"
        message = str(exc)
        if re.match(r"path\b", message):
            raise ValueError(option + message[len("path"):]) from None
        raise


def _check_png_path(option: str, path: str) -> Path:
    from ._io import check_writable_target

    p = Path(path)
    if p.suffix.lower() != ".png":
        raise ValueError(f"{option} must be a .png path, got {path!r}")
    return check_writable_target(p, name=option)


def _check_distinct(outputs) -> None:
    """Refuse two outputs that are one file: the second would silently replace the first."""
    seen = {}
    for option, path in outputs:
        key = Path(path).resolve()
        if key in seen:
            raise ValueError(f"{seen[key]} and {option} are the same file {str(path)!r}; "
                             f"give each its own path")
        seen[key] = option


# -- what to generate ---------------------------------------------------------------------------
class _Plan:
    """A checked generation request: ``generate()`` runs it."""

    def __init__(self, *, seed, shape, cell_size, config, generator, max_cells, at=None):
        self.seed, self.shape, self.cell_size = seed, shape, cell_size
        self.config, self.generator, self.max_cells = config, generator, max_cells
        self.at = at      # (row, col) of a window of the endless world, or None

    def generate(self):
        from .level import generate_level

        # Everything was checked by _plan; this only renames what a library change might add.
        with _as_option(None, seed="--seed", shape="--size", cell_size="--cell-size",
                        rivers="--rivers", preset="--preset", max_cells="--max-cells",
                        row="--at", col="--at"):
            if self.at is not None:
                from .world import World
                world = World(self.seed, cell_size=self.cell_size, config=self.config,
                              rivers=self.generator, max_cells=self.max_cells)
                return world.region(*self.at, self.shape)
            return generate_level(seed=self.seed, shape=self.shape, cell_size=self.cell_size,
                                  config=self.config, rivers=self.generator,
                                  max_cells=self.max_cells)


def _plan(args) -> _Plan:
    """Check every generation option, naming the option on error, before any work."""
    from dataclasses import replace

    from ._validate import check_cell_size, check_seed
    from .level import LevelConfig
    from .rivers import get_generator

    if args.max_cells < 1:
        raise ValueError(f"--max-cells must be >= 1, got {args.max_cells}")
    rows, cols = args.size
    if rows < 1 or cols < 1:
        raise ValueError(f"--size must be >= 1, got {_size_text(args.size)}")
    if rows * cols > args.max_cells:
        raise ValueError(f"--size {_size_text(args.size)} makes {rows * cols:,} cells, over "
                         f"--max-cells {args.max_cells:,}; raise --max-cells to allow it")
    with _as_option("--seed", "seed"):
        check_seed("seed", args.seed)
    with _as_option("--cell-size", "cell_size"):
        cell_size = check_cell_size(args.cell_size)
    with _as_option("--preset", "preset", "name"):
        config = LevelConfig.from_preset(args.preset)
    with _as_option("--rivers", "rivers", "generator"):
        generator = get_generator(args.rivers)
    shapes = generator.name in _SHAPE_GENERATORS or generator.name.startswith("learned:")
    if args.river_count is not None and not shapes:
        raise ValueError(f"--river-count applies to the walker, persistent, sine, downhill "
                         f"and learned:NAME generators, not --rivers {generator.name}")
    if args.river_threshold is not None and generator.name != "flow":
        raise ValueError(f"--river-threshold applies to --rivers flow only, not --rivers "
                         f"{generator.name}")
    if args.meanders is not None:
        if generator.name != "flow":
            raise ValueError(f"--meanders applies to --rivers flow only, not --rivers "
                             f"{generator.name}")
        with _as_option("--meanders", "meanders"):
            config = replace(config, rivers=replace(config.rivers, meanders=args.meanders))
            from .meanders import source_of
            source_of(config.rivers)          # a plug-in's weights, before any work
    if args.sinuosity is not None:
        if not generator.name.startswith("learned:"):
            raise ValueError(f"--sinuosity applies to the learned:NAME generators, not "
                             f"--rivers {generator.name}")
        with _as_option("--sinuosity", "sinuosity"):
            config = replace(config, rivers=replace(config.rivers, sinuosity=args.sinuosity))
    if args.sea_level is not None:
        with _as_option("--sea-level", "sea_threshold"):
            config = replace(config, terrain=replace(config.terrain,
                                                     sea_threshold=args.sea_level))
    if args.river_count is not None:
        with _as_option("--river-count", "count"):
            config = replace(config, rivers=replace(config.rivers, count=args.river_count))
    if args.river_threshold is not None:
        with _as_option("--river-threshold", "min_area_km2"):
            config = replace(config, rivers=replace(config.rivers,
                                                    min_area_km2=args.river_threshold))
    for flag, field, value in (("--erosion", "steps", args.erosion),
                               ("--erosion-mode", "mode", args.erosion_mode)):
        if value is None:
            continue
        if args.world:
            raise ValueError(f"{flag} applies to levels, not --world (erosion is not local "
                             "to a chunk, and a world's chunks must meet)")
        with _as_option(flag, field):
            config = replace(config, erosion=replace(config.erosion, **{field: value}))
    at = None
    if args.at is not None and not args.world:
        raise ValueError("--at needs --world (it places a window of the endless world)")
    if args.world:
        at = (0, 0) if args.at is None else args.at
        for value in at:
            if not -2 ** 63 <= value < 2 ** 63:
                raise ValueError(f"--at must be two 64-bit integers, -2**63..2**63-1, got "
                                 f"{at[0]},{at[1]}")
    return _Plan(seed=args.seed, shape=args.size, cell_size=cell_size, config=config,
                 generator=generator, max_cells=args.max_cells, at=at)


# -- memory -------------------------------------------------------------------------------------
# What a run holds at its peak, from the peak RSS (/usr/bin/time -v) of real runs. `procgen
# map` (level file and heightmap included) at 1024^2, 2048^2 and 4096^2 cells peaked at
# 343 MB, 715 MB and 2.18 GB: a slope of 118-120 B per cell (the float32 and int32 grids of
# the terrain, drainage and carving stages, then the RGB image and its hillshade), the same
# for every preset and river generator tried; tiled, geojson and geotiff exports stay under
# that peak. The intercept, about 220 MiB, is Python with numpy, numba and Pillow loaded.
_BYTES_PER_CELL = 120
_BASE_BYTES = 220 * 2 ** 20
# Per sample of a 16-bit heightmap (float64 resampling and scaling, the uint16 grid, the
# file's bytes): 25 B measured at 2049^2 and 4097^2 samples.
_BYTES_PER_HEIGHTMAP_SAMPLE = 26
# Per sample of the splat maps (a float64 weight grid per biome, stacked and rounded):
# 317 B at 2048^2, 394 B when resampled to 2049^2.
_BYTES_PER_SPLAT_SAMPLE = 400


def _meminfo_available() -> int | None:
    """Linux's MemAvailable: what can be allocated without swapping, page cache included."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room(folder: Path, limit_file: str, usage_file: str, inactive: str) -> int | None:
    """Bytes left under one cgroup's memory limit; None without a limit or a readable one."""
    try:
        limit = (folder / limit_file).read_text().strip()
        if not limit.isdigit() or int(limit) >= 2 ** 60:  # "max", or v1's "no limit"
            return None
        used = int((folder / usage_file).read_text())
        for line in (folder / "memory.stat").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == inactive:   # page cache the kernel reclaims before it kills
                used -= int(value)
    except (OSError, ValueError):
        return None
    return max(int(limit) - used, 0)


def _cgroup_available(cgroup_file="/proc/self/cgroup", root="/sys/fs/cgroup") -> int | None:
    """What this process's cgroup memory limit still allows (v2 or v1), or None without one.

    In a container MemAvailable describes the host, while the kernel kills the container
    at its own limit.
    """
    try:
        lines = Path(cgroup_file).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    root = Path(root)
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if line.startswith("0::"):
            where, files = root, ("memory.max", "memory.current", "inactive_file")
        elif "memory" in controllers.split(","):
            where = root / "memory"
            files = ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")
        else:
            continue
        # The process's own group; inside a container's namespace that is the root itself.
        for folder in dict.fromkeys((where / path.lstrip("/"), where)):
            room = _cgroup_room(folder, *files)
            if room is not None:
                return room
    return None


def _available_memory() -> int | None:
    """Bytes this command may still allocate: MemAvailable, or less under a cgroup limit;
    free physical pages where there is no /proc/meminfo; None where the system does not
    say (then nothing is refused up front, and running out is still reported in one line)."""
    available = _meminfo_available()
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):  # pragma: no cover - macOS, Windows
            return None
    limited = _cgroup_available()
    return available if limited is None else min(available, limited)


def _gb(n: float) -> str:
    """Bytes as decimal GB, as the refusal prints them: ``4,800`` or ``2.2``."""
    g = n / 1e9
    return f"{g:,.0f}" if g >= 10 else f"{g:.1f}"


def _memory_needed(cells: int, heightmap_samples: int, splat: bool) -> int:
    """Peak bytes of generating ``cells`` cells (0: a loaded level) and writing a
    heightmap of ``heightmap_samples`` samples (0: none), with splat maps or not."""
    per_sample = _BYTES_PER_HEIGHTMAP_SAMPLE + (_BYTES_PER_SPLAT_SAMPLE if splat else 0)
    return _BASE_BYTES + cells * _BYTES_PER_CELL + heightmap_samples * per_sample


def _check_memory(args, shape, *, generate: bool, heightmap: bool, splat: bool) -> None:
    """Refuse, before any work, a run that needs more memory than is available.

    ``shape``: the map's ``(rows, cols)``; ``generate``: whether the level is generated
    (False: loaded with ``--level``); ``heightmap``: whether a heightmap is written (at
    ``--heightmap-size`` if given, else one sample per cell). Records the estimate on
    ``args`` so that running out later can say it too.
    """
    rows, cols = shape
    size = args.heightmap_size
    samples = 0 if not heightmap else size * size if size else rows * cols
    need = _memory_needed(rows * cols if generate else 0, samples, splat)
    available = _available_memory()
    args.memory_estimate = (need, available)
    if available is None or need <= available:
        return
    if generate:
        what = f"--size {_size_text(shape)}"
    else:
        what = f"--level {args.level!r} ({_size_text(shape)})"
    extras = ([f"--heightmap-size {size}"] if heightmap and size else []) \
        + ([f"--splat {args.splat}"] if splat else [])
    if extras:
        what += " with " + " and ".join(extras)
    # The largest square map that fits, for the hint: cells cost the generation, and the
    # heightmap too when it has one sample per cell.
    per_cell = _BYTES_PER_CELL if generate else 0
    if heightmap and not size:
        per_cell += _BYTES_PER_HEIGHTMAP_SAMPLE + (_BYTES_PER_SPLAT_SAMPLE if splat else 0)
    fixed = _memory_needed(0, samples if size else 0, splat)
    side = int(((available - fixed) / per_cell) ** 0.5) if per_cell and available > fixed else 0
    if side >= 1:
        hint = f"at most about --size {side} fits"
    elif size:
        hint = "use a smaller --heightmap-size" + (" or drop --splat" if splat else "")
    else:
        hint = "free some memory first"
    raise ValueError(f"{what} needs about {_gb(need)} GB of memory, {_gb(available)} GB is "
                     f"available; {hint}")


def _out_of_memory_text(args, exc: MemoryError) -> str:
    """One line for a MemoryError in a run that passed the up-front check."""
    detail = str(exc).splitlines()[0] if str(exc) else ""
    text = "ran out of memory" + (f" ({detail})" if detail else "")
    need, available = getattr(args, "memory_estimate", (None, None))
    if need is not None:
        text += f"; the run needs about {_gb(need)} GB"
        if available is not None:
            text += f" and {_gb(available)} GB was available when it started"
    smaller = "--heightmap-size" if getattr(args, "level", None) and args.command == "export" \
        else "--size"
    return text + f"; free some memory or ask for a smaller {smaller}"


# -- heightmaps ---------------------------------------------------------------------------------
def _check_heightmap_options(args, shape) -> None:
    """Fail before generating, not after. ``shape``: the map's, or None if not known yet."""
    from ._validate import check_float

    if args.sea_floor is not None:
        with _as_option("--sea-floor", "sea_floor"):
            check_float("sea_floor", args.sea_floor, hi=0.0)
    size = args.heightmap_size
    if size is not None:
        if size < 2:
            raise ValueError(f"--heightmap-size must be >= 2, got {size}")
        if args.engine:
            _check_engine_size(args, (size, size), f"--heightmap-size {size}")
    elif args.engine and shape is not None:
        _check_engine_size(args, shape, f"--size {_size_text(shape)}")


def _check_engine_size(args, shape, what: str) -> None:
    """The map (or --heightmap-size) must suit --engine; else say how to resample."""
    from .export import check_engine_size

    try:
        check_engine_size(args.engine, shape, what=what)
    except ValueError as exc:
        if args.heightmap_size is None:
            raise ValueError(f"{exc}; pass --heightmap-size N to resample") from None
        raise


def _save_heightmap(level, path, args, *, fmt: str, splat: str = "none"):
    from . import export

    path_option = "--output" if args.command == "export" else "--heightmap"
    with _as_option(None, size="--heightmap-size", engine="--engine", sea_floor="--sea-floor",
                    splat="--splat", path=path_option):
        return export.save_heightmap(level, path, format=fmt, size=args.heightmap_size,
                                     engine=args.engine, sea_floor=args.sea_floor,
                                     splat=splat)


def _heightmap_text(result) -> str:
    """``h.png (16-bit 1025x1025, 0 = -4001.0 m, 65535 = 3012.6 m, 10.7 cm per step)``."""
    rows, cols = result.size
    lo, hi = result.range.lo, result.range.hi
    return (f"{result.paths[0]} (16-bit {cols}x{rows}, 0 = {lo:.1f} m, 65535 = {hi:.1f} m, "
            f"{result.range.metres_per_step * 100:.3g} cm per step)")


# -- the first run ------------------------------------------------------------------------------
def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _spare_cpu() -> bool:
    """Whether a second process would get a core of its own.

    On a busy machine a helper only competes with this process and adds its own start-up
    (measured on 2 loaded cores: 10.1 s instead of 8.6 s), so it runs only when the last
    minute's load leaves a core idle.
    """
    cpus = _cpu_count()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - Windows
        load = 0.0
    return cpus >= 2 and load <= cpus - 1


class _ColdStart:
    """On an empty JIT cache: say that kernels are compiling, and, given an idle core,
    compile the later stages' kernels in a second process while this one works from the
    first stage on.

    numba compiles on one core; the helper walks :mod:`procgen._kernels.signatures` from
    the last stage back, so the two meet in the middle and each kernel compiled by one is
    loaded from the shared cache by the other. Both write the cache atomically. When the
    level is done the helper, if still busy, is stopped: it could only be compiling
    something this process has compiled too.
    """

    def __init__(self, rivers: str, *, quiet: bool):
        self.rivers, self.quiet, self.helper = rivers, quiet, None

    def __enter__(self):
        from . import _jitcache

        if not _jitcache.is_cold():
            return self
        if not self.quiet:
            print(COLD_START_NOTICE, file=sys.stderr, flush=True)
        if _spare_cpu():
            root = str(Path(__file__).resolve().parent.parent)
            code = (f"import sys; sys.path.insert(0, {root!r}); "
                    f"from procgen._kernels.signatures import compile_level_kernels; "
                    f"compile_level_kernels({self.rivers!r}, reverse=True)")
            try:
                self.helper = subprocess.Popen([sys.executable, "-c", code],
                                               stdin=subprocess.DEVNULL,
                                               stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL)
            except OSError:  # no second process: compile everything here, as usual
                self.helper = None
        return self

    def __exit__(self, *exc):
        if self.helper is not None and self.helper.poll() is None:
            self.helper.terminate()
        if self.helper is not None:
            self.helper.wait()
        return False


# -- commands -----------------------------------------------------------------------------------
def _run_map(args) -> None:
    from ._io import check_writable_target

    # Check every output up front: a bad path must not cost a generation, nor leave a map
    # written beside a missing heightmap.
    out = _check_png_path("--output", args.output)
    hmap = _check_png_path("--heightmap", args.heightmap) if args.heightmap else None
    level_path = check_writable_target(args.level, name="--level") if args.level else None
    outputs = [("--output", out)]
    if hmap is not None:
        outputs += [("--heightmap", hmap), ("--heightmap's sidecar", hmap.with_suffix(".json"))]
    if level_path is not None:
        outputs.append(("--level", level_path))
    _check_distinct(outputs)
    given = [opt for opt, v in (("--heightmap-size", args.heightmap_size),
                                ("--engine", args.engine), ("--sea-floor", args.sea_floor))
             if v is not None]
    if given and hmap is None:
        raise ValueError(f"{', '.join(given)} need{'s' if len(given) == 1 else ''} "
                         f"--heightmap PATH")
    plan = _plan(args)
    if hmap is not None:
        _check_heightmap_options(args, plan.shape)
    _check_memory(args, plan.shape, generate=True, heightmap=hmap is not None, splat=False)

    start = time.perf_counter()
    with _ColdStart(plan.generator.name, quiet=args.quiet):
        level = plan.generate()
    with _writing("--output", out):
        level.save_png(out, shade=not args.no_shade)
    written = [str(out)]
    if hmap is not None:
        with _writing("--heightmap", hmap):
            result = _save_heightmap(level, hmap, args, fmt="heightmap16")
        written += [_heightmap_text(result), *map(str, result.paths[1:])]
    if level_path is not None:
        with _writing("--level", level_path):
            level.save(level_path)
        written.append(str(level_path))
    if not args.quiet:
        _say(f"wrote {', '.join(written)} in {time.perf_counter() - start:.2f} s")


def _run_export(args) -> None:
    from ._io import check_writable_target

    fmt = args.format
    suffixes = _EXPORT_SUFFIXES[fmt]
    out = Path(args.output)
    if out.suffix.lower() not in suffixes:
        raise ValueError(f"--output must be a {' or '.join(suffixes)} path for --format {fmt}, "
                         f"got {args.output!r}")
    out = check_writable_target(out, name="--output")
    heightmap = fmt in _HEIGHTMAP_FORMATS
    if args.tile_size is not None and fmt != "tiled":
        raise ValueError("--tile-size only applies to --format tiled")
    if args.layer_format is not None and fmt != "tiled":
        raise ValueError("--layer-format only applies to --format tiled")
    if args.geo_origin is not None and fmt not in _GEO_FORMATS:
        raise ValueError("--geo-origin only applies to --format geojson or geotiff")
    if not heightmap:
        given = [opt for opt, v in (("--heightmap-size", args.heightmap_size),
                                    ("--engine", args.engine), ("--sea-floor", args.sea_floor),
                                    ("--splat", args.splat))
                 if v is not None]
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise ValueError(f"{', '.join(given)} only {verb} to --format heightmap16 or raw16")
    if args.tile_size is not None and not 1 <= args.tile_size <= 1024:
        raise ValueError(f"--tile-size must be in 1..1024, got {args.tile_size}")
    plan = None
    if args.level is not None:
        given = [opt for key, opt in _GENERATION_OPTIONS.items()
                 if getattr(args, key) is not None]
        if given:
            raise ValueError(f"--level FILE exports a saved level; drop {', '.join(given)}")
        level_path = Path(args.level)
        if not level_path.is_file():
            raise ValueError(f"--level: no level file at {args.level!r}")
    else:
        for key, value in _GENERATION_DEFAULTS.items():
            if getattr(args, key) is None:
                setattr(args, key, value)
        plan = _plan(args)
    if heightmap:
        _check_heightmap_options(args, None if plan is None else plan.shape)
    splat = heightmap and args.splat not in (None, "none")
    if plan is not None:
        _check_memory(args, plan.shape, generate=True, heightmap=heightmap, splat=splat)

    start = time.perf_counter()
    if plan is None:
        from .level import Level
        with _as_option("--level", "path"):
            level = Level.load(level_path)
        if heightmap and args.engine and args.heightmap_size is None:
            rows, cols = level.shape
            _check_engine_size(args, level.shape, f"--level {args.level!r} of {rows}x{cols}")
        _check_memory(args, level.shape, generate=False, heightmap=heightmap, splat=splat)
    if fmt in _GEO_FORMATS and args.geo_origin is not None:
        from .export import GeoFrame
        with _as_option("--geo-origin", "origin", "geo_origin"):
            if plan is None:
                GeoFrame.of(level, geo_origin=args.geo_origin)
            else:   # before generating: a map too large for its latitude fails at once
                GeoFrame(plan.shape, plan.cell_size, origin=args.geo_origin)
    if plan is not None:
        with _ColdStart(plan.generator.name, quiet=args.quiet):
            level = plan.generate()
    with _writing("--output", out):
        written = _write_export(level, out, args)
    if not args.quiet:
        _say(f"wrote {', '.join(map(str, written))} in {time.perf_counter() - start:.2f} s")


def _write_export(level, out: Path, args) -> list:
    """Write ``level`` as ``--format`` says; the files written (or heightmap texts)."""
    from . import export

    fmt = args.format
    if fmt == "tiled":
        # Only errors about tile_size are --tile-size's; a failed write is --output's.
        with _as_option(None, tile_size="--tile-size"):
            written = export.save_tiled(level, out, tile_size=args.tile_size or 16,
                                        layer_format=args.layer_format or "zlib")
    elif fmt in _GEO_FORMATS:
        save = export.save_geojson if fmt == "geojson" else export.save_geotiff
        written = save(level, out, geo_origin=args.geo_origin or (0.0, 0.0))
    else:
        result = _save_heightmap(level, out, args, fmt=fmt, splat=args.splat or "none")
        written = [_heightmap_text(result), *result.paths[1:]]
    return written


def _world_of(args):
    """The World the world commands name, every option checked first."""
    from .level import LevelConfig
    from .world import World
    from .worldstore import check_region

    with _as_option("--region", "region row", "region col", "region rows", "region cols"):
        check_region(args.region, max_cells=args.max_cells)
    with _as_option("--preset", "preset", "name"):
        config = LevelConfig.from_preset(args.preset)
    with _as_option(None, seed="--seed", cell_size="--cell-size", rivers="--rivers",
                    generator="--rivers"):
        return World(args.seed, cell_size=args.cell_size, config=config, rivers=args.rivers)


def _connect(address: str):
    """A Dask client of the scheduler at ``address``, or one clear error within seconds."""
    try:
        from distributed import Client
    except ModuleNotFoundError:
        raise ModuleNotFoundError('--scheduler needs dask.distributed: from a checkout run '
                                  '`pip install -e ".[scale]"`') from None
    try:
        return Client(address, timeout="5s")
    except (OSError, TimeoutError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"--scheduler: cannot reach a Dask scheduler at {address!r} within "
                         f"5 s ({first})") from None


def _run_world(args) -> None:
    if args.max_cells < 1:
        raise ValueError(f"--max-cells must be >= 1, got {args.max_cells}")
    world = _world_of(args)
    start = time.perf_counter()
    if args.world_command == "export":
        from . import worldstore
        layers = tuple(p.strip() for p in args.layers.split(","))
        with _as_option("--layers", "layers"):
            worldstore._check_layers(layers)
        with _as_option("--chunks", "chunks"):
            worldstore._check_chunks(args.chunks)
        client = _connect(args.scheduler) if args.scheduler else None
        try:
            with _as_option(None, store="--zarr", chunks="--chunks", layers="--layers"):
                done = worldstore.to_zarr(world, args.zarr, region=args.region,
                                          chunks=args.chunks, layers=layers, client=client,
                                          progress=not args.quiet, max_cells=args.max_cells)
        finally:
            if client is not None:
                client.close()
        if not args.quiet:
            _say(f"wrote {args.zarr}: {done['written']} of {done['chunks']} chunks "
                 f"({done['skipped']} already there) in {time.perf_counter() - start:.1f} s")
    else:
        from .webmap import write_tiles

        def bar(done, total):
            if not args.quiet and (done == total or done % 16 == 0):
                print(f"\rtiles {done}/{total}", end="" if done < total else "\n",
                      file=sys.stderr, flush=True)

        info = write_tiles(world, args.out, region=args.region, max_cells=args.max_cells,
                           progress=bar)
        if not args.quiet:
            _say(f"wrote {info['tiles']} tiles (zoom 0..{info['max_zoom']}) and "
                 f"{info['index']} in {time.perf_counter() - start:.1f} s")


#: The commands higher layers register (group :data:`COMMANDS_GROUP`), what each needs, and
#: what it is called when it cannot start.
_PLUGIN_COMMANDS = {
    "view": ("the viewer", 'pip install -e ".[viewer]"'),
    "score": ("the river realism score", 'pip install -e ".[learned]"'),
}


def _run_plugin(name: str, argv) -> int:
    """Run the command ``name`` a plug-in registered (``view``: the demos' viewer;
    ``score``: the learned layer's realism score)."""
    from importlib.metadata import entry_points

    what, install = _PLUGIN_COMMANDS[name]
    found = [ep for ep in entry_points(group=COMMANDS_GROUP) if ep.name == name]
    if not found:
        print(f"procgen: error: 'procgen {name}' needs {what}: from a checkout run "
              f"`{install}` (it registers the command)", file=sys.stderr)
        return 2
    try:
        command = found[0].load()
    except ImportError as exc:
        print(f"procgen: error: {what} cannot start: {exc}", file=sys.stderr)
        return 2
    return command(argv, prog=f"procgen {name}")


def _say(text: str) -> None:
    """Print a success line on stdout, whatever the reader does with it.

    A path that is not valid UTF-8 (surrogate escapes, from the file system or a strict
    locale) is printed escaped; a reader that went away (``procgen map ... | head -c0``)
    costs nothing: the files are written, so that is not an error.
    """
    try:
        try:
            print(text, flush=True)
        except UnicodeEncodeError:
            encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
            print(text.encode(encoding, "backslashreplace").decode(encoding), flush=True)
    except BrokenPipeError:
        # Point stdout at /dev/null, so that the interpreter's last flush does not report
        # the broken pipe on stderr (the recipe in Python's signal module documentation).
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, sys.stdout.fileno())
            finally:
                os.close(devnull)
        except (OSError, ValueError, AttributeError):  # not a real file descriptor
            pass


def _error(message: str) -> None:
    print(f"procgen: error: {_one_line(message)}", file=sys.stderr)


def main(argv=None) -> int:
    """Entry point of the ``procgen`` console script; returns the exit status (0 done, 2
    refused, 1 failed while running, 130 interrupted; see the module)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] and argv[0] in _PLUGIN_COMMANDS:
        return _run_plugin(argv[0], argv[1:])
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "map":
            _run_map(args)
        elif args.command == "export":
            _run_export(args)
        elif args.command == "world":
            _run_world(args)
    except MemoryError as exc:
        _error(_out_of_memory_text(args, exc))
        return 1
    except (ValueError, TypeError, OSError, ImportError) as exc:
        _error(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return 2
    except KeyboardInterrupt:
        print("procgen: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line for the user, the traceback on request
        if os.environ.get("PROCGEN_DEBUG"):
            raise
        detail = str(exc).splitlines()[0] if str(exc) else ""
        print(f"procgen: internal error: {type(exc).__name__}{': ' if detail else ''}"
              f"{_one_line(detail)} "
              f"(a bug: please report it with the command line; PROCGEN_DEBUG=1 shows the "
              f"traceback)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
