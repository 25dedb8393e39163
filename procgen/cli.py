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
COLD_START_NOTICE = "procgen: compiling kernels, first run only (about 10 s)..."

#: Entry-point group where other packages register ``procgen`` subcommands (``view``).
COMMANDS_GROUP = "procgen.commands"

_MAX_CELLS = 8192 * 8192

_GENERATION_DEFAULTS = {"seed": 0, "size": (1024, 1024), "preset": "continent",
                        "rivers": "flow", "cell_size": 500.0}

#: Generation options: attribute -> option. Export refuses them next to --level FILE.
_GENERATION_OPTIONS = {"seed": "--seed", "size": "--size", "preset": "--preset",
                       "rivers": "--rivers", "cell_size": "--cell-size",
                       "sea_level": "--sea-level", "river_count": "--river-count",
                       "river_threshold": "--river-threshold"}

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


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but errors are one line (``procgen: error: ...``) instead of usage + error."""

    def error(self, message):
        self.exit(2, f"procgen: error: {message}\n")


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


def _size(text: str) -> tuple[int, int]:
    """``N`` -> ``(N, N)``; ``WIDTHxHEIGHT`` -> ``(HEIGHT, WIDTH)``, i.e. ``(rows, cols)``."""
    parts = text.lower().split("x")
    if len(parts) > 2 or not all(re.fullmatch(r"\s*[+-]?\d+\s*", p) for p in parts):
        raise argparse.ArgumentTypeError(
            f"must be N or WIDTHxHEIGHT in cells (e.g. 1024 or 1024x512), got {text!r}")
    width = int(parts[0])
    height = int(parts[-1])
    return height, width


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
                        "learned:NAME (needs the learned extra)" + note("rivers"))
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
    m.add_argument("-o", "--output", default="map.png", metavar="PATH",
                   help="PNG file to write the rendered map to")
    m.add_argument("--no-shade", action="store_true", help="draw without hillshade")
    m.add_argument("--heightmap", metavar="PATH",
                   help="also write a 16-bit greyscale PNG heightmap (lowest cell 0, highest "
                        "65535) and its sidecar STEM.json (height range, Z scale, "
                        "orientation)")
    _add_heightmap_options(m, prefix="with --heightmap: ")
    m.add_argument("--level", metavar="PATH", help="also save the Level file (.npz) for game code")
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

    sub.add_parser("view", help="explore landscapes in the pygame viewer (needs the viewer "
                                "extra); see procgen view --help",
                   add_help=False)
    return parser


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
        try:
            renamed = type(exc)(message)
        except TypeError:  # an exception class with its own constructor
            renamed = ValueError(message)
        raise renamed from None


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

    def __init__(self, *, seed, shape, cell_size, config, generator, max_cells):
        self.seed, self.shape, self.cell_size = seed, shape, cell_size
        self.config, self.generator, self.max_cells = config, generator, max_cells

    def generate(self):
        from .level import generate_level

        # Everything was checked by _plan; this only renames what a library change might add.
        with _as_option(None, seed="--seed", shape="--size", cell_size="--cell-size",
                        rivers="--rivers", preset="--preset", max_cells="--max-cells"):
            return generate_level(seed=self.seed, shape=self.shape, cell_size=self.cell_size,
                                  config=self.config, rivers=self.generator,
                                  max_cells=self.max_cells)


def _plan(args) -> _Plan:
    """Check every generation option, naming the option on error, before any work."""
    from dataclasses import replace

    from ._validate import check_float
    from .level import LevelConfig, stage_seed
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
        stage_seed(args.seed, "terrain")
    with _as_option("--cell-size", "cell_size"):
        # generate_level's own range for cell_size
        cell_size = check_float("cell_size", args.cell_size, lo=0.0, hi=1e6, lo_open=True)
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
    return _Plan(seed=args.seed, shape=args.size, cell_size=cell_size, config=config,
                 generator=generator, max_cells=args.max_cells)


# -- heightmaps ---------------------------------------------------------------------------------
def _legal_sizes(engine: str):
    from .render import Engine, legal_sizes
    return legal_sizes(Engine(engine))


def _legal_text(engine: str) -> str:
    return ", ".join(map(str, _legal_sizes(engine)))


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
        if args.engine and size not in _legal_sizes(args.engine):
            raise ValueError(f"--heightmap-size {size} is not a legal {args.engine} heightmap "
                             f"size; legal sizes: {_legal_text(args.engine)}")
    elif args.engine and shape is not None:
        rows, cols = shape
        if rows != cols or rows not in _legal_sizes(args.engine):
            raise ValueError(f"--size {_size_text(shape)} is not a legal {args.engine} "
                             f"heightmap size (legal sizes: {_legal_text(args.engine)}); "
                             f"pass --heightmap-size N to resample")


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

    start = time.perf_counter()
    with _ColdStart(plan.generator.name, quiet=args.quiet):
        level = plan.generate()
    level.save_png(out, shade=not args.no_shade)
    written = [str(out)]
    if hmap is not None:
        result = _save_heightmap(level, hmap, args, fmt="heightmap16")
        written += [_heightmap_text(result), *map(str, result.paths[1:])]
    if level_path is not None:
        level.save(level_path)
        written.append(str(level_path))
    if not args.quiet:
        print(f"wrote {', '.join(written)} in {time.perf_counter() - start:.2f} s")


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

    start = time.perf_counter()
    if plan is None:
        from .level import Level
        with _as_option("--level", "path"):
            level = Level.load(level_path)
        if heightmap and args.engine and args.heightmap_size is None:
            rows, cols = level.shape
            if rows != cols or rows not in _legal_sizes(args.engine):
                raise ValueError(f"--level {args.level!r} is {rows}x{cols}, not a legal "
                                 f"{args.engine} heightmap size (legal sizes: "
                                 f"{_legal_text(args.engine)}); pass --heightmap-size N to "
                                 f"resample")
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
    from . import export
    if fmt == "tiled":
        with _as_option("--tile-size", "tile_size"):
            written = export.save_tiled(level, out, tile_size=args.tile_size or 16,
                                        layer_format=args.layer_format or "zlib")
    elif fmt in _GEO_FORMATS:
        save = export.save_geojson if fmt == "geojson" else export.save_geotiff
        written = save(level, out, geo_origin=args.geo_origin or (0.0, 0.0))
    else:
        result = _save_heightmap(level, out, args, fmt=fmt, splat=args.splat or "none")
        written = [_heightmap_text(result), *result.paths[1:]]
    if not args.quiet:
        print(f"wrote {', '.join(map(str, written))} in {time.perf_counter() - start:.2f} s")


def _run_view(argv) -> int:
    """Run the ``view`` command a plug-in registered (the demos package's viewer)."""
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group=COMMANDS_GROUP) if ep.name == "view"]
    if not found:
        print("procgen: error: 'procgen view' needs the viewer: pip install "
              "'procgen-levels[viewer]' (it registers the command)", file=sys.stderr)
        return 2
    try:
        command = found[0].load()
    except ImportError as exc:
        print(f"procgen: error: the viewer cannot start: {exc}", file=sys.stderr)
        return 2
    return command(argv, prog="procgen view")


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
