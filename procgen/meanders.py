"""Meanders for the drainage network: each reach of a flow river drawn as a curve, not a D8
staircase.

The flow generator follows D8 directions, so its rivers run along rows, columns and
diagonals. This module keeps the network's topology (sources, junctions, mouths) and redraws
each *reach* (the path between two of those points) in three steps:

1. **Centreline.** The reach's cells, smoothed (repeated moving averages) with both ends
   fixed: the valley's line without the grid's kinks.
2. **Meanders.** A sine-generated curve (Langbein & Leopold 1966): the direction relative to
   the centreline is ``omega * sin(phase)``, the phase advancing by ``2 pi / wavelength``
   with a random drift and ``omega`` wandering slowly (Ferguson 1976's disturbed periodic
   model), laid along the centreline so that it starts and ends on it. ``omega`` gives the
   reach its sinuosity, ``1 / J0(omega)``; the wavelength is about 11 channel widths
   (Leopold & Wolman 1960), at least :data:`MIN_WAVELENGTH_CELLS` cells so the grid
   resolves it.
3. **Constraints.** Every point of the curve must stay in the reach's own valley: in the
   river's own Voronoi cell among all rivers' cells (so it never crosses or touches another
   river except where it joins it), in the drainage basin of the river's outlet (so it never
   crosses a divide), and off water. Where a point would leave, the lateral offset is
   shrunk there (and smoothly around it); a reach whose curve still crosses itself or
   another is drawn along its centreline.

Sinuosity comes from the reach's slope and discharge: Leopold & Wolman (1957) found that
channels steeper than ``S = 0.06 Q**-0.44`` (Q bankfull discharge in ft^3/s, i.e. about
``0.0125 Q**-0.44`` in m^3/s) braid and gentler ones meander. Here sinuosity falls with the
ratio r of a reach's slope to that threshold, ``1.1 + (MAX_SINUOSITY - 1.1) / (1 + r**2)``:
1.5 at the threshold, towards :data:`MAX_SINUOSITY` far below it, towards 1.1 (a
valley-confined channel) far above. Schumm (1963) ties sinuosity to the channel's silt-clay
content, which these maps do not model.

A reach's random numbers come from its own stream, keyed by its end cells, so its shape
depends only on the seed and the reach, not on the other rivers or their order.

>>> import numpy as np
>>> from procgen import generate_level
>>> lv = generate_level(seed=4, shape=128, cell_size=1000.0, preset="lowlands")  # meanders on
>>> seg = np.diff(np.concatenate([r.path for r in lv.rivers]), axis=0)
>>> bool(np.mean(np.isclose(np.mod(np.degrees(np.arctan2(seg[:, 0], seg[:, 1])), 45.0), 0.0)) < 0.5)
True
"""

from __future__ import annotations

import importlib.metadata
import math
import warnings

import numpy as np

from ._kernels import meanders as _mk
from ._kernels.raster import polyline_cells
from ._units import cells as to_cells
from .paths import resample, self_intersects
from .river import River
from .rivers import MEANDERS  # noqa: F401 - the sources this module draws, re-exported

__all__ = ["MEANDERS", "SOURCES_GROUP", "MAX_SINUOSITY", "MIN_WAVELENGTH_CELLS",
           "target_sinuosity", "sources", "source_of", "meander"]
#: Highest sinuosity a reach is given (a very gentle, large river).
MAX_SINUOSITY = 1.9
#: Shortest meander wavelength drawn, in cells: shorter ones the grid cannot show.
MIN_WAVELENGTH_CELLS = 10.0
#: Meander wavelength in channel widths (Leopold & Wolman 1960: 10-14).
WAVELENGTH_WIDTHS = 11.0


def target_sinuosity(slope, discharge) -> np.ndarray:
    """Sinuosity of a reach from its slope (m/m) and discharge (m^3/s), after Leopold &
    Wolman's (1957) meandering-braided threshold ``S_t = 0.0125 Q**-0.44``.

    >>> from procgen.meanders import target_sinuosity
    >>> [round(float(s), 2) for s in target_sinuosity([0.0001, 0.002, 0.05], [100.0] * 3)]
    [1.9, 1.42, 1.1]
    """
    slope = np.maximum(np.asarray(slope, np.float64), 0.0)
    q = np.maximum(np.asarray(discharge, np.float64), 1e-3)
    ratio = slope / (0.0125 * q ** -0.44)
    return 1.1 + (MAX_SINUOSITY - 1.1) / (1.0 + ratio ** 2)


def _j0(x):
    """Bessel J0 by its power series (exact to 1e-15 for |x| <= 2.4, all this module uses)."""
    x = np.asarray(x, np.float64)
    term, total = np.ones_like(x), np.ones_like(x)
    for k in range(1, 30):
        term = term * -(x * x / 4.0) / (k * k)
        total = total + term
    return total


# J0 falls monotonically from 1 at 0 to 0 at 2.405: a table inverts it.
_OMEGA_GRID = np.linspace(0.0, 2.4, 2401)
_J0_GRID = _j0(_OMEGA_GRID)


def _omega(sinuosity: float) -> float:
    """The sine-generated curve's largest angle for a sinuosity: solves ``J0(w) = 1/s``."""
    target = 1.0 / max(sinuosity, 1.0)
    return float(np.interp(target, _J0_GRID[::-1], _OMEGA_GRID[::-1]))


class _Valleys:
    """Where each river may lie: its Voronoi cell among all river cells, its outlet's basin,
    and off water."""

    def __init__(self, rivers, drainage):
        from ._kernels import queries as _qk
        from .queries import distance_transform
        shape = drainage.height.shape
        owner = np.full(shape, -1, np.int64)
        # Shorter rivers are written last: a junction cell goes to the tributary that ends
        # there, whose last reach is pinned to it anyway.
        for k in sorted(range(len(rivers)), key=lambda k: -len(rivers[k].path)):
            cells = np.rint(rivers[k].path).astype(np.int64)
            owner[cells[:, 0], cells[:, 1]] = k
        _, nearest = distance_transform(owner >= 0, nearest=True)
        self.voronoi = owner.ravel()[nearest]
        out = np.empty(drainage.directions.size, np.int64)
        _qk.drain_outlets(drainage.directions, out)
        self.basin = out.reshape(shape)
        self.water = drainage.water


def _reach_ends(rivers) -> set:
    """Cells where reaches end: every river's ends (sources, mouths, junctions)."""
    ends = set()
    for r in rivers:
        for p in (r.path[0], r.path[-1]):
            ends.add((int(round(p[0])), int(round(p[1]))))
    return ends


def _reach_seq(seq: np.random.SeedSequence, a, b) -> np.random.SeedSequence:
    """The reach's own stream: a child of the meander stream keyed by its end cells."""
    key = (int(a[0]) << 32 | int(a[1]), int(b[0]) << 32 | int(b[1]))
    return np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, *key),
                                  pool_size=seq.pool_size)


def meander(rivers: list, drainage, *, config, stream: np.random.SeedSequence) -> list:
    """The rivers with every reach redrawn with meanders (see the module docstring).

    Parameters
    ----------
    rivers : list of River
        Flow rivers on cell paths (tributaries end on the cell where they join).
    drainage : procgen.hydrology.Drainage
    config : procgen.rivers.RiversConfig
        Its ``meanders`` (``'none'`` returns ``rivers`` unchanged) and width coefficient.
    stream : numpy.random.SeedSequence
        The rivers stage's meander stream; each reach draws from its own child.

    Returns
    -------
    list of River
        The same rivers (same ends, junctions, order, discharge and Strahler order) on
        denser float paths; widths interpolated along them.
    """
    source = source_of(config)
    if source == "none" or not rivers:
        return rivers
    valleys = _Valleys(rivers, drainage)
    ends = _reach_ends(rivers)
    reaches = [_Reach(river, k, cells, a, b, valleys, drainage, config, stream)
               for k, river, cells, a, b in _split(rivers, ends)]
    drawn = [r for r in reaches if r.meanders]
    for r, (px, py) in zip(drawn, _profiles(source, drawn, drainage.cell_size)):
        r.place(px, py, valleys)
    reaches = [(r.k, r.curve, r.centre) for r in reaches]
    # A curve that crosses itself is drawn along its centreline (one batched test).
    loops = _self_intersecting([curve[0] for _, curve, _ in reaches])

    def assemble(use_curve):
        pieces = [[np.rint(r.path[:1])] for r in rivers]
        widths = [[r.width[:1].astype(np.float64)] for r in rivers]
        for i, (k, curve, centre) in enumerate(reaches):
            path, width = curve if use_curve[i] else centre
            pieces[k].append(path[1:])
            widths[k].append(width[1:])
        return [np.concatenate(p) for p in pieces], [np.concatenate(w) for w in widths]

    use_curve = ~loops
    paths, widths = assemble(use_curve)
    # Two reaches of a river may still cross where they meet: such a river keeps its
    # centrelines.
    crossed = _self_intersecting(paths)
    if crossed.any():
        owner = np.array([k for k, _, _ in reaches])
        use_curve &= ~crossed[owner]
        paths, widths = assemble(use_curve)
    out = []
    for k, river in enumerate(rivers):
        path = paths[k]
        out.append(River(path=path, width=widths[k].astype(np.float32),
                         generator=river.generator, discharge=river.discharge,
                         order=river.order, id=river.id))
    return _untangle(out, rivers)


def _self_intersecting(curves: list) -> np.ndarray:
    """Which curves cross themselves: one call for all, padded to one length (a repeated
    last point adds only zero-length segments, which the test ignores)."""
    if not curves:
        return np.zeros(0, np.bool_)
    n = max(len(c) for c in curves)
    batch = np.stack([np.vstack([c, np.repeat(c[-1:], n - len(c), axis=0)]) for c in curves])
    return np.asarray(self_intersects(batch), np.bool_).reshape(len(curves))


def _split(rivers, ends):
    """``(k, river, cells, a, b)`` of every reach: cells[a..b] of river k, between two of
    the network's ends (sources, mouths, junctions)."""
    for k, river in enumerate(rivers):
        cells = np.rint(river.path).astype(np.int64)
        cuts = [i for i in range(1, len(cells) - 1) if (cells[i, 0], cells[i, 1]) in ends]
        bounds = [0, *cuts, len(cells) - 1]
        for a, b in zip(bounds[:-1], bounds[1:]):
            yield k, river, cells, a, b


class _Reach:
    """One reach: its centreline and, once placed, its curve (each ``(path, widths)``)."""

    def __init__(self, river, k, cells, a, b, valleys, drainage, config, stream):
        raw = cells[a:b + 1]
        widths = river.width[a:b + 1].astype(np.float64)
        self.k, self.raw = k, raw
        self.basin = int(valleys.basin[cells[-2, 0], cells[-2, 1]]) if len(cells) > 1 else -1
        self.meanders = False
        if b - a < 4:
            self.centre = self.curve = (raw.astype(np.float64), widths)
            return
        centre, width, length = _mk.centreline(raw[:, 0].copy(), raw[:, 1].copy(), widths)
        self.centre = self.curve = (centre, width)
        self.length = length
        h = drainage.height
        drop = float(h[raw[0, 0], raw[0, 1]] - h[raw[-1, 0], raw[-1, 1]])
        slope = max(drop, 0.0) / (length * drainage.cell_size)
        q = (float(np.median(widths)) / max(config.width_coefficient, 1e-9)) ** 2
        self.sinuosity = float(target_sinuosity(slope, q))
        self.wavelength = max(MIN_WAVELENGTH_CELLS, WAVELENGTH_WIDTHS * float(
            to_cells(np.median(widths), drainage.cell_size)))
        self.meanders = length >= self.wavelength
        self.stream = _reach_seq(stream, raw[0], raw[-1])

    def place(self, px, py, valleys) -> None:
        """Lay the profile ``(px, py)`` (cells along and to the left of the centreline)."""
        centre, width = self.centre
        half = int(self.wavelength / _mk.STEP / 2)
        curve, _ = _mk.place_profile(centre, self.length, np.ascontiguousarray(px, np.float64),
                                     np.ascontiguousarray(py, np.float64), half,
                                     valleys.voronoi, valleys.basin, valleys.water, self.k,
                                     self.basin)
        t = np.linspace(0.0, self.length, len(width))
        self.curve = (curve, np.interp(np.clip(px, 0.0, self.length), t, width))


def _profiles(source, reaches, cell_size):
    """The lateral profile of each reach: a sine-generated curve (``'curve'``) from the
    reach's own stream, or a plug-in's shapes, asked for all reaches at once."""
    if source == "curve":
        out = []
        for r in reaches:
            rng = np.random.Generator(np.random.PCG64(r.stream))
            omega = _omega(r.sinuosity)
            j0 = float(_j0(omega))
            steps = int(math.ceil(r.length / max(j0, 0.2) / (_mk.STEP / _mk.SUB))) + 2
            out.append(_mk.sine_profile(r.length, omega, j0, r.wavelength,
                                        rng.standard_normal(steps),
                                        *rng.uniform(0.0, 2.0 * np.pi, 2)))
        return out
    if not reaches:
        return []
    shapes = source.shapes(np.array([r.sinuosity for r in reaches]),
                           np.array([r.length * cell_size / 1000.0 for r in reaches]),
                           [r.stream for r in reaches])
    out = []
    for r, shape in zip(reaches, shapes):
        shape = np.asarray(shape, np.float64)
        # Points about every STEP cells along the shape, in cells of this reach.
        arc = float(np.hypot(*np.diff(shape, axis=0).T).sum()) * r.length
        dense = resample(shape, max(len(shape), int(math.ceil(arc / _mk.STEP)) + 1))
        out.append((dense[:, 0] * r.length, dense[:, 1] * r.length))
    return out


#: Entry-point group of meander-source plug-ins: the entry named PREFIX is a callable taking
#: NAME and returning an object with ``name`` and ``shapes(sinuosity, length_km, streams)``
#: (one canonical shape per reach, from (0, 0) to (1, 0), drawn from that reach's
#: SeedSequence). ``learned`` registers ``learned``.
SOURCES_GROUP = "procgen.meander_sources"


def sources() -> list[str]:
    """Every meander source this installation offers: ``'none'``, ``'curve'`` and
    ``'PREFIX:NAME'`` for each plug-in prefix."""
    return [*MEANDERS, *(f"{ep.name}:NAME" for ep in
                         importlib.metadata.entry_points(group=SOURCES_GROUP))]


def source_of(config):
    """``'none'``, ``'curve'`` or a plug-in's source object, as the rivers config asks; a
    plug-in that cannot be loaded is an error unless ``config.meanders_fallback`` names
    another."""
    spec = config.meanders
    if spec in MEANDERS:
        return spec
    prefix, _, name = spec.partition(":")
    found = [ep for ep in importlib.metadata.entry_points(group=SOURCES_GROUP)
             if ep.name == prefix]
    try:
        if not found:
            raise LookupError(f"no meander source plug-in {prefix!r} is installed; the "
                              f"sources here are {', '.join(map(repr, sources()))}")
        return found[0].load()(name)
    except (LookupError, ImportError, OSError, ValueError) as exc:
        if config.meanders_fallback is None:
            raise ValueError(f"meanders={spec!r}: {exc} (set meanders_fallback='curve' to "
                             f"draw sine-generated meanders instead)") from None
        warnings.warn(f"meanders={spec!r} is not available ({exc}); drawing "
                      f"{config.meanders_fallback!r} as meanders_fallback asks", stacklevel=3)
        return config.meanders_fallback


def _untangle(meandered: list, original: list) -> list:
    """Rivers whose cells touch another river's anywhere but at a junction (the junction
    cell and its 8 neighbours, where the D8 paths themselves meet) go back to their D8 paths
    (a last guard; the valleys keep this rare)."""
    ends = {(r + dr, c + dc) for r, c in _reach_ends(original)
            for dr in (-1, 0, 1) for dc in (-1, 0, 1)}
    owner: dict = {}
    clash = set()
    cells_of = []
    for k, r in enumerate(meandered):
        v = np.rint(r.path).astype(np.int64)
        cells, _ = polyline_cells(v[:, 0].copy(), v[:, 1].copy())
        cells_of.append({(int(a), int(b)) for a, b in cells})
    for k, cells in enumerate(cells_of):
        for cell in cells:
            j = owner.setdefault(cell, k)
            if j != k and cell not in ends:
                clash.update((j, k))
    return [original[k] if k in clash else r for k, r in enumerate(meandered)]
