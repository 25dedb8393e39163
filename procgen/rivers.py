"""River generators for Levels, placement of river shapes on terrain, and carving.

Every river source implements one small protocol, :class:`RiverGenerator`::

    generator.name                                  # e.g. "flow", "walker", "learned:flow"
    generator.generate(drainage, *, rng, config)    # -> list[River]
    generator.generate(drainage, *, rng, config, sources)   # optional: own source stream

``drainage`` is the hydrology stage's :class:`~procgen.hydrology.Drainage`; ``rng`` is the
rivers stage's ``'shapes'`` stream (a ``numpy.random.Generator``); ``sources``, when the
generator takes it, is its ``'sources'`` stream, which picks where rivers start, so that
the kind of shapes drawn never moves the sources (their number does: it sets how far apart
sources must be; see :mod:`procgen.pipeline`);
``config`` is the :class:`RiversConfig`. The
Level then carves every river into the terrain (:func:`carve_rivers`), whoever made it, so
that **heights never rise from source to mouth**, and each river ends in the sea, a lake, the
map edge, or on another river (a tributary).

Shape generators (walkers, sine curves, learned models) only make a shape;
:func:`place_shapes` puts shapes on the terrain: it picks a source high on the land, takes the
mouth where water from there reaches the sea, a lake or the map edge, and maps the shape
onto the chord between the two.

Generators are found by name: the built-in ones (:data:`BUILTIN_GENERATORS`), and
``'PREFIX:NAME'`` through the plug-in registry, the Python entry points of group
``procgen.river_generators`` (:data:`ENTRY_POINT_GROUP`): the entry named PREFIX is a
callable taking NAME and returning a generator. The ``learned`` package registers
``learned``; procgen never imports it.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from typing import Callable, Protocol, runtime_checkable

import numpy as np

from . import paths as _paths
from . import walkers as _walkers
from ._kernels import rivers as _rk
from ._kernels.raster import polyline_cells
from ._units import area_cells, cells as to_cells, metres
from ._validate import check_cell_size, check_float, check_int, check_plain_name
from .hydrology import Drainage
from .river import River

__all__ = ["MEANDERS", "RiverGenerator", "RiversConfig", "channel_depth", "FlowRivers", "ShapeRivers", "DownhillRivers",
           "BUILTIN_GENERATORS", "ENTRY_POINT_GROUP", "get_generator", "plugin_prefixes", "place_shapes", "carve_rivers",
           "river_cells", "width_from_discharge"]


#: How flow rivers' reaches are drawn (:mod:`procgen.meanders`): ``'none'`` keeps the D8
#: paths; ``'curve'`` draws sine-generated meanders; a plug-in's ``'PREFIX:NAME'`` (e.g.
#: ``'learned:ar'``) draws shapes of its own.
MEANDERS = ("none", "curve")


def _plugin_spec(spec: str) -> bool:
    """Whether ``spec`` reads ``'PREFIX:NAME'`` with two plain names."""
    from ._validate import PLAIN_NAME
    prefix, _, name = spec.partition(":")
    return bool(name) and bool(PLAIN_NAME.fullmatch(prefix)) and bool(PLAIN_NAME.fullmatch(name))


@dataclass(frozen=True)
class RiversConfig:
    """Settings of the rivers stage (lengths in metres or km as named).

    The thresholds that decide where rivers are (``min_area_km2``, ``min_length_km``) hold at
    ``reference_cell_size`` and scale with the cell size like the terrain's lengths do
    (see :mod:`procgen.terrain`): areas with its square, lengths with it. So they are fixed
    numbers of cells, and a map's river network barely changes with the cell size (only
    through lakes, whose depth and area limits are physical). With the
    defaults, rivers begin where 200 cells drain (50 km^2 at 500 m, 2 km^2 at 100 m,
    200 km^2 at 1 km) and are at least 6 cells long. Widths, depths and discharge come
    from the real catchment area in km^2, so they do change with the cell size.
    :meth:`procgen.LevelConfig.from_preset` lowers the thresholds for the island presets,
    whose small landmasses drain less.

    Attributes
    ----------
    generator : str
        Name of the river generator: ``'flow'`` (default), ``'walker'``, ``'persistent'``,
        ``'sine'``, ``'downhill'``, ``'none'``, or ``'learned:NAME'``.
    min_area_km2 : float
        Flow rivers begin where this much land drains through a cell, at
        ``reference_cell_size``. Default 50 km^2.
    min_length_km : float
        Shorter rivers are dropped (and shape rivers are only placed where the fall line is
        at least this long), at ``reference_cell_size``. Default 3 km.
    count : int
        How many rivers a shape generator places. Default 12.
    width_coefficient : float
        ``a`` in the hydraulic-geometry width ``w = a * Q**0.5`` (w in m, Q in m^3/s;
        Leopold & Maddock 1953). Default 4.
    depth_coefficient : float
        ``c`` in the channel depth ``d = c * Q**0.4`` (m). Default 0.3.
    valley_slope : float
        Side slope of the carved valley, metres of rise per metre from the channel.
        Default 0.03.
    carve : bool
        Cut channels and valleys (the downhill guarantee holds either way). Default True.
    reference_cell_size : float or None
        Cell size in metres at which ``min_area_km2`` and ``min_length_km`` hold, in
        (0, 1e6]. Default 500. None: they are absolute, whatever the cell size.
    meanders : str
        How the flow generator's reaches are drawn: ``'none'`` along their D8 cells,
        ``'curve'`` as sine-generated meanders in their valleys (:mod:`procgen.meanders`),
        or ``'PREFIX:NAME'``, shapes from a plug-in of the entry-point group
        ``procgen.meander_sources`` (``'learned:ar'``: the learned model ``ar``, through
        the torch-free runtime). Default ``'curve'``.
    meanders_fallback : {None, 'curve', 'none'}
        What to draw when a plug-in meander source cannot be loaded (no weights, no
        runtime): None (default) makes that an error.
    sinuosity : float or None
        Sinuosity (course length / straight distance, in [1, 10]) asked of the shapes of
        the ``'learned:NAME'`` generators, which match it exactly; None (default) draws
        each river's from the model's training rivers. Other generators ignore it.

    Examples
    --------
    >>> from procgen.rivers import RiversConfig
    >>> cfg = RiversConfig()
    >>> cfg.min_area_cells(100.0), cfg.min_area_cells(1000.0), cfg.min_length_cells(100.0)
    (200.0, 200.0, 6)
    >>> RiversConfig(reference_cell_size=None).min_area_cells(100.0)
    5000.0
    """

    generator: str = "flow"
    min_area_km2: float = 50.0
    min_length_km: float = 3.0
    count: int = 12
    width_coefficient: float = 4.0
    depth_coefficient: float = 0.3
    valley_slope: float = 0.03
    carve: bool = True
    reference_cell_size: float | None = 500.0
    meanders: str = "curve"
    meanders_fallback: str | None = None
    sinuosity: float | None = None

    def __post_init__(self):
        if not isinstance(self.generator, str) or not self.generator:
            raise ValueError(f"generator must be a non-empty str, got {self.generator!r}")
        check_float("min_area_km2", self.min_area_km2, lo=0.0, lo_open=True)
        check_float("min_length_km", self.min_length_km, lo=0.0)
        check_int("count", self.count, lo=0, hi=10_000)
        check_float("width_coefficient", self.width_coefficient, lo=0.0, hi=1000.0)
        check_float("depth_coefficient", self.depth_coefficient, lo=0.0, hi=1000.0)
        check_float("valley_slope", self.valley_slope, lo=0.0, hi=10.0)
        if not isinstance(self.carve, bool):
            raise TypeError(f"carve must be a bool, got {self.carve!r}")
        if self.reference_cell_size is not None:
            check_float("reference_cell_size", self.reference_cell_size, lo=0.0, hi=1e6,
                        lo_open=True)
        if not isinstance(self.meanders, str) or (
                self.meanders not in MEANDERS and not _plugin_spec(self.meanders)):
            raise ValueError(f"meanders must be one of {', '.join(map(repr, MEANDERS))} or "
                             f"'PREFIX:NAME' (a plug-in, e.g. 'learned:ar'), got "
                             f"{self.meanders!r}")
        if self.meanders_fallback not in (None, *MEANDERS):
            raise ValueError(f"meanders_fallback must be None, 'curve' or 'none', got "
                             f"{self.meanders_fallback!r}")
        if self.sinuosity is not None:
            check_float("sinuosity", self.sinuosity, lo=1.0, hi=10.0)

    def _unit(self, cell_size: float) -> float:
        cell_size = check_cell_size(cell_size)
        return cell_size if self.reference_cell_size is None else self.reference_cell_size

    def min_area_cells(self, cell_size: float) -> float:
        """Drainage area, in cells, at which flow rivers begin on a grid of ``cell_size``."""
        unit = self._unit(cell_size)
        # A subnormal cell size squares to 0: no area is then large enough.
        return area_cells(self.min_area_km2, unit) if unit ** 2 > 0 else float("inf")

    def min_length_cells(self, cell_size: float) -> int:
        """Fewest cells a river runs through on a grid of ``cell_size`` (at least 2)."""
        cells = np.ceil(to_cells(self.min_length_km * 1000.0, self._unit(cell_size)))
        # Capped so that an absurd length (1e308 km) is "longer than any river", not an
        # int overflow.
        return max(2, int(min(cells, 2.0 ** 62)))


@runtime_checkable
class RiverGenerator(Protocol):
    """What the Level, the viewer and the CLI need of a river source."""

    name: str

    def generate(self, drainage: Drainage, *, rng: np.random.Generator,
                 config: RiversConfig) -> list[River]:
        """Rivers on this terrain, source first, in ``(row, col)`` cell coordinates.

        A generator that places rivers may also take ``sources=None``, a second Generator
        that picks the sources (``rng`` then draws only the shapes)."""
        ...


def width_from_discharge(discharge, coefficient: float) -> np.ndarray:
    """Channel width in metres, ``coefficient * Q**0.5`` (Leopold & Maddock 1953)."""
    return (coefficient * np.sqrt(np.maximum(np.asarray(discharge, np.float64), 0.0))
            ).astype(np.float32)


class FlowRivers:
    """Rivers where the water goes: the drainage network above a drainage-area threshold.

    Tributaries end on the river they join (the one draining more land carries on), so the
    rivers form a tree; each carries its Strahler order (Strahler 1957) and, per vertex, the
    width of a channel carrying that vertex's discharge.
    """

    name = "flow"

    def generate(self, drainage: Drainage, *, rng=None, config: RiversConfig) -> list[River]:
        threshold = max(2.0, config.min_area_cells(drainage.cell_size))
        acc = drainage.accumulation.ravel()
        # Only the sea ends a river: one that reaches a lake runs on through it to the
        # outlet (terminal lakes have none: flow stops there).
        cells, offsets = _rk.extract_rivers(drainage.directions, acc, threshold,
                                            drainage.sea,
                                            config.min_length_cells(drainage.cell_size))
        if len(offsets) < 2:
            return []
        down = _rk.downstream_index(drainage.directions)
        network = (acc >= threshold) & ~drainage.sea.ravel()
        order = _rk.strahler(down, _rk.topological_order(down), network)
        nc = drainage.directions.shape[1]
        wet = drainage.water.ravel()
        on_rivers = np.bincount(cells[:offsets[-1]], minlength=acc.size)
        rivers = []
        for a, b in zip(offsets[:-1], offsets[1:]):
            idx = _to_an_end(cells[a:b], down, wet, on_rivers)
            path = np.stack([idx // nc, idx % nc], axis=1).astype(np.float64)
            q = drainage.discharge(acc[idx])
            # The last cell is the mouth or the junction: it belongs to the water it joins.
            own = idx[-2] if len(idx) > 1 else idx[-1]
            rivers.append(River(path=path, width=width_from_discharge(q, config.width_coefficient),
                                generator=self.name, discharge=float(drainage.discharge(acc[own])),
                                order=int(order[own])))
        return rivers


def _to_an_end(idx: np.ndarray, down: np.ndarray, wet: np.ndarray, on_rivers: np.ndarray):
    """A flow river's cells, carried on downstream when it stops on dry land off every other
    river: a tributary whose main stem was dropped as too short would otherwise end
    nowhere. It then follows the flow to water, the map edge or another river."""
    end = idx[-1]
    if wet[end] or down[end] < 0 or on_rivers[end] >= 2:
        return idx
    more = []
    j = down[end]
    while j >= 0:
        more.append(j)
        if wet[j] or on_rivers[j] >= 1:
            break
        j = down[j]
    return np.concatenate([idx, np.asarray(more, np.int64)])


# -- placing shapes ----------------------------------------------------------------------------
def _pick_sources(drainage: Drainage, n: int, rng: np.random.Generator, min_cells: int):
    """Fall lines (D8 paths to water or the edge) of up to ``n`` sources, spread apart.

    Candidates are drawn from the upper half of the land by height rank; the longest fall
    lines are taken first, so shapes get long chords and reach the sea more often than a
    nearby pond. Fall lines shorter than ``min_cells`` are skipped.
    """
    land = ~drainage.water
    nc = land.shape[1]
    candidates = np.flatnonzero(land.ravel())
    if candidates.size == 0 or n == 0:
        return []
    h = drainage.height.ravel()[candidates]
    rank = np.argsort(np.argsort(h, kind="stable"), kind="stable") / max(1, h.size - 1)
    weight = np.where(rank >= 0.5, rank, 0.0)
    if not weight.any():  # one land cell: rank 0 everywhere
        weight = np.ones_like(weight)
    draws = rng.choice(candidates, size=min(np.count_nonzero(weight), 20 * n), replace=False,
                       p=weight / weight.sum())
    falls = [drainage.flow_path(*divmod(int(i), nc)) for i in draws]
    spacing = max(2.0, np.sqrt(land.sum() / n) / 2.0)
    chosen = []
    for k in np.argsort([-len(f) for f in falls], kind="stable"):
        fall = falls[k]
        if len(chosen) == n or len(fall) < min_cells:
            break
        r, c = fall[0]
        if all((r - f[0][0]) ** 2 + (c - f[0][1]) ** 2 >= spacing ** 2 for f in chosen):
            chosen.append(fall)
    return chosen


def _clip_to_grid(path: np.ndarray, shape) -> np.ndarray:
    """Cut a (row, col) polyline where it first leaves the grid, ending on the edge."""
    nr, nc = shape
    inside = ((path[:, 0] >= 0) & (path[:, 0] <= nr - 1) & (path[:, 1] >= 0)
              & (path[:, 1] <= nc - 1))
    if inside.all():
        return path
    first_out = int(np.argmin(inside))
    kept = path[:first_out]
    edge = np.clip(path[first_out], [0, 0], [nr - 1, nc - 1])
    return np.vstack([kept, edge[None, :]])


def _cut_at_water(path: np.ndarray, drainage: Drainage) -> np.ndarray:
    """End the polyline at the first vertex whose cell is water (kept as the mouth)."""
    cells = np.rint(path).astype(np.int64)
    wet = drainage.water[cells[:, 0], cells[:, 1]]
    wet[0] = False
    if wet.any():
        return path[:int(np.argmax(wet)) + 1]
    return path


def _end_properly(path: np.ndarray, drainage: Drainage) -> np.ndarray:
    """If a path stops on dry land away from the edge, continue it down the fall line."""
    nr, nc = drainage.water.shape
    r, c = (int(v) for v in np.rint(path[-1]))
    if drainage.water[r, c] or r in (0, nr - 1) or c in (0, nc - 1):
        return path
    fall = drainage.flow_path(r, c)[1:].astype(np.float64)
    return np.vstack([path, fall]) if len(fall) else path


def place_shapes(shapes_xy: np.ndarray, drainage: Drainage, *, rng: np.random.Generator,
                 config: RiversConfig, generator: str) -> list[River]:
    """Put canonical river shapes on the terrain.

    Parameters
    ----------
    shapes_xy : numpy.ndarray, shape (n, T, 2)
        Shapes in the canonical frame of :func:`procgen.paths.canonical` (start at the
        origin, end at (1, 0)).
    drainage : Drainage
    rng : numpy.random.Generator
        Chooses the sources.
    config : RiversConfig
    generator : str
        Name recorded on each River.

    Returns
    -------
    list of River
        At most n rivers (fewer where the land has no room for them). Each runs from a source
        to the end of that source's fall line, is cut at the first water it meets and at the
        map edge, and has widths growing with the square root of the distance travelled, up
        to the width of a channel draining the mouth's catchment.
    """
    min_cells = config.min_length_cells(drainage.cell_size)
    falls = _pick_sources(drainage, len(shapes_xy), rng, min_cells)
    rivers = []
    for shape, fall in zip(shapes_xy, falls):
        source, mouth = fall[0].astype(np.float64), fall[-1].astype(np.float64)
        path = _paths.place(np.asarray(shape, np.float64), source, mouth)
        path = _clip_to_grid(path, drainage.water.shape)
        path = _end_properly(_cut_at_water(path, drainage), drainage)
        if len(path) < 2:
            continue
        own = fall[-2] if len(fall) > 1 else fall[-1]
        q_mouth = float(drainage.discharge(drainage.accumulation[own[0], own[1]]))
        seg = np.hypot(*np.diff(path, axis=0).T)
        along = np.concatenate([[0.0], np.cumsum(seg)])
        frac = along / along[-1] if along[-1] > 0 else np.linspace(0, 1, len(path))
        width = width_from_discharge(q_mouth * frac, config.width_coefficient)
        rivers.append(River(path=path, width=width, generator=generator, discharge=q_mouth))
    return rivers


class ShapeRivers:
    """Rivers whose shape comes from a sampler of canonical shapes, placed on the terrain.

    Parameters
    ----------
    name : str
        Recorded on each river.
    sample : callable
        ``sample(n, rng) -> (n, T, 2)`` canonical shapes (start at the origin, end at (1, 0)).
    """

    def __init__(self, name: str, sample: Callable[[int, np.random.Generator], np.ndarray]):
        self.name = name
        self._sample = sample

    def generate(self, drainage: Drainage, *, rng: np.random.Generator,
                 config: RiversConfig, sources: np.random.Generator | None = None
                 ) -> list[River]:
        if config.count == 0:
            return []
        shapes = self._sample(config.count, rng)
        return place_shapes(shapes, drainage, rng=rng if sources is None else sources,
                            config=config, generator=self.name)


def _walk_shapes(walk: Callable, steps: int = 200):
    def sample(n, rng):
        positions = walk(n, steps, rng=rng)
        return np.stack([_paths.canonical(p) for p in positions])
    return sample


class DownhillRivers:
    """Coin-flip walkers whose coins are loaded towards lower ground, walked on the terrain
    itself from sources high on the land; each continues down the fall line to water or the
    map edge if it stops short of them."""

    name = "downhill"

    def generate(self, drainage: Drainage, *, rng: np.random.Generator,
                 config: RiversConfig, sources: np.random.Generator | None = None
                 ) -> list[River]:
        min_cells = config.min_length_cells(drainage.cell_size)
        falls = _pick_sources(drainage, config.count, rng if sources is None else sources,
                              min_cells)
        if not falls:
            return []
        starts = np.array([f[0] for f in falls], np.float64)
        steps = int(max(len(f) for f in falls) * 2)
        walks = _walkers.downhill(drainage.height, len(falls), steps, start=starts, rng=rng)
        rivers = []
        for walk, fall in zip(walks, falls):
            path = _clip_to_grid(np.asarray(walk, np.float64), drainage.water.shape)
            keep = np.concatenate([[True], np.any(np.diff(path, axis=0) != 0, axis=1)])
            path = _end_properly(_cut_at_water(path[keep], drainage), drainage)
            if len(path) < 2:
                continue
            own = fall[-2] if len(fall) > 1 else fall[-1]
            q = float(drainage.discharge(drainage.accumulation[own[0], own[1]]))
            frac = np.linspace(0.0, 1.0, len(path))
            rivers.append(River(path=path, width=width_from_discharge(q * frac,
                                                                      config.width_coefficient),
                                generator=self.name, discharge=q))
        return rivers


class _NoRivers:
    name = "none"

    def generate(self, drainage, *, rng=None, config=None):
        return []


#: Built-in generators by name.
BUILTIN_GENERATORS: dict[str, RiverGenerator] = {
    "flow": FlowRivers(),
    "walker": ShapeRivers("walker", _walk_shapes(lambda n, s, rng: _walkers.coin_flip(
        n, s, turn=np.pi / 10, rng=rng))),
    "persistent": ShapeRivers("persistent", _walk_shapes(lambda n, s, rng: _walkers.persistent(
        n, s, turn=np.pi / 20, persistence=0.85, rng=rng))),
    "sine": ShapeRivers("sine", _walk_shapes(lambda n, s, rng: _walkers.sine_curve(
        n, s, omega=1.4, wavelength=40.0, noise=0.08, rng=rng))),
    "downhill": DownhillRivers(),
    "none": _NoRivers(),
}


#: Entry-point group of river generator plug-ins: entry name = prefix, value = a callable
#: taking NAME (of ``'PREFIX:NAME'``) and returning a generator.
ENTRY_POINT_GROUP = "procgen.river_generators"


def _entry_points():
    return importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)


def plugin_prefixes() -> list[str]:
    """Prefixes of the installed river generator plug-ins, e.g. ``['learned']``."""
    return sorted({ep.name for ep in _entry_points()})


def get_generator(spec) -> RiverGenerator:
    """Resolve a generator name (or pass a generator object through).

    ``'PREFIX:NAME'`` asks the plug-in registered as PREFIX in the entry-point group
    ``procgen.river_generators`` for its generator NAME. ``'learned:NAME'`` loads a shipped
    model from the ``learned`` package's models folder and samples it with the torch-free
    runtime (``learned.runtime``; only the energy-based ``ebm`` needs torch, and says how
    to install it). NAME is a plain name (a lower-case letter, then lower-case letters,
    digits or ``_``), never a path: a model kept elsewhere is passed as a generator object,
    e.g. ``LearnedRivers(name, model=learned.runtime.load(name, root=folder))``.

    Examples
    --------
    >>> from procgen.rivers import get_generator
    >>> get_generator("walker").name
    'walker'
    >>> get_generator("learned:../elsewhere/ok")                   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: rivers='learned:../elsewhere/ok': the model name must be a plain name: ...
    """
    if isinstance(spec, RiverGenerator) and not isinstance(spec, str):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"rivers must be a generator name or an object with .name and "
                        f".generate(), got {type(spec).__name__}")
    if spec in BUILTIN_GENERATORS:
        return BUILTIN_GENERATORS[spec]
    if ":" in spec:
        prefix, name = spec.split(":", 1)
        # Checked before anything is imported or opened: a plug-in may take the name as a
        # file in its own folder, so it must not be able to name one anywhere else.
        try:
            check_plain_name("the model name", name)
        except ValueError as exc:
            raise ValueError(f"rivers={spec!r}: {exc}; a model kept elsewhere is passed as a "
                             f"generator object (see learned.placement.LearnedRivers)") from None
        found = [ep for ep in _entry_points() if ep.name == prefix]
        if not found:
            have = ", ".join(repr(p) for p in plugin_prefixes()) or "none"
            raise ValueError(f"rivers={spec!r}: no river generator plug-in {prefix!r} is "
                             f"installed (entry points {ENTRY_POINT_GROUP!r}: {have}); "
                             f"'learned:NAME' comes with the learned package: "
                             f"pip install -e \".[learned]\"")
        try:
            make = found[0].load()
        except ImportError as exc:
            if exc.name == "torch":
                # The plug-in's own error says how to install torch: pass it on.
                raise ModuleNotFoundError(f"rivers={spec!r}: {exc}", name="torch") from None
            raise ValueError(f"rivers={spec!r}: the {prefix!r} river generators are not "
                             f"available ({exc})") from None
        except AttributeError as exc:       # the entry point names something not there
            raise ValueError(f"rivers={spec!r}: the {prefix!r} river generators are not "
                             f"available: entry point {found[0].value!r} is broken "
                             f"({exc})") from None
        generator = make(name)
        if not isinstance(generator, RiverGenerator):
            raise TypeError(f"rivers={spec!r}: plug-in {found[0].value!r} returned "
                            f"{type(generator).__name__}, not an object with .name and "
                            f".generate()")
        return generator
    names = ", ".join(repr(n) for n in [*BUILTIN_GENERATORS, "PREFIX:NAME (plug-ins: "
                                        + (", ".join(plugin_prefixes()) or "none") + ")"])
    raise ValueError(f"rivers must be one of {names}, got {spec!r}")


# -- carving -----------------------------------------------------------------------------------
def river_cells(river: River, shape) -> tuple[np.ndarray, np.ndarray]:
    """The 8-connected cells a river's polyline runs through, in order, and per-cell width.

    Vertices are rounded to their cells and joined with Bresenham lines, so every vertex's
    cell appears, in vertex order.
    """
    nr, nc = shape
    vertex_cells = np.rint(river.path).astype(np.int64)
    vertex_cells[:, 0] = np.clip(vertex_cells[:, 0], 0, nr - 1)
    vertex_cells[:, 1] = np.clip(vertex_cells[:, 1], 0, nc - 1)
    cells, segment = polyline_cells(vertex_cells[:, 0].copy(), vertex_cells[:, 1].copy())
    return cells, river.width[segment]


def channel_depth(width, *, config=None) -> np.ndarray:
    """Channel depth in metres for a channel width, by hydraulic geometry.

    Width ``w = a * Q**0.5`` and depth ``d = c * Q**0.4`` (Leopold & Maddock 1953; ``a``
    and ``c`` are the rivers config's ``width_coefficient`` and ``depth_coefficient``), so
    ``Q = (w / a)**2`` and ``d = c * Q**0.4``. The one home of this formula: carving cuts
    each river bed this deep, and :func:`fords` wades by it.

    Parameters
    ----------
    width : array_like
        Channel widths in metres (negative widths count as 0).
    config : procgen.rivers.RiversConfig, optional
        Its ``width_coefficient`` and ``depth_coefficient``; default ``RiversConfig()``.

    Returns
    -------
    numpy.ndarray
        float64 depths, the shape of ``width``.

    Examples
    --------
    >>> from procgen.rivers import channel_depth
    >>> round(float(channel_depth(8.0)), 3)        # Q = 4 m^3/s
    0.522
    """
    if config is None:
        config = RiversConfig()
    w = np.maximum(np.asarray(width, np.float64), 0.0)
    discharge = (w / max(config.width_coefficient, 1e-9)) ** 2      # m^3/s
    return config.depth_coefficient * discharge ** 0.4


def carve_rivers(height: np.ndarray, rivers: list[River], *, cell_size: float,
                 config: RiversConfig, water: np.ndarray | None = None) -> np.ndarray:
    """Cut channels and valleys along rivers so heights never rise from source to mouth.

    Each river's bed is its terrain height less a channel depth ``c * Q**0.4`` (with Q from
    the width), taken as a running minimum from the source; the valley around it rises at
    ``config.valley_slope``. A final pass repeats running minima along every river until
    none rises, which also settles rivers that cross or share cells.

    Parameters
    ----------
    height : numpy.ndarray
        float32 heights, modified in place and returned.
    rivers : list of River
    cell_size : float
    config : RiversConfig
    water : numpy.ndarray of bool, optional
        Sea and lakes: river cells in water that the river leaves again are left as they
        are (a river crosses a lake on its surface), and heights descend along its dry
        cells from one shore to the next.

    Returns
    -------
    numpy.ndarray
        ``height``.
    """
    if not rivers:
        return height
    shape = height.shape
    nc = shape[1]
    all_cells, offsets, beds, radii = [], [0], [], []
    for river in rivers:
        cells, width = river_cells(river, shape)
        if water is not None:
            # Through a lake the water surface carries the river: its cells there are not
            # carved (the dry cells descend from one shore to the next); the water it ends
            # in is, as before.
            wet = water[cells[:, 0], cells[:, 1]]
            last_dry = np.flatnonzero(~wet)
            if len(last_dry):
                keep = ~wet
                keep[last_dry[-1] + 1:] = True
                cells, width = cells[keep], width[keep]
        flat = cells[:, 0] * nc + cells[:, 1]
        all_cells.append(flat)
        offsets.append(offsets[-1] + len(flat))
        if config.carve:
            depth = channel_depth(width, config=config)
            beds.append(np.minimum.accumulate(height.ravel()[flat] - depth).astype(np.float32))
            radii.append(1.0 + to_cells(width, cell_size))
    cells = np.concatenate(all_cells)
    offsets = np.asarray(offsets, np.int64)
    if config.carve:
        _rk.carve_valleys(height, cells, np.concatenate(beds), np.concatenate(radii),
                          np.float32(metres(config.valley_slope, cell_size)))
    passes = _rk.enforce_descent(height, cells, offsets, 1000)
    if passes >= 1000:  # pragma: no cover - each pass only lowers; loops settle in two
        raise RuntimeError("river carving did not settle")
    return height
