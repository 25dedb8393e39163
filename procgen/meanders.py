"""Meanders for the drainage network: each reach of a flow river drawn as a curve, not a D8
staircase.

The flow generator follows D8 directions, so its rivers run along rows, columns and
diagonals. This module keeps the network's topology (sources, junctions, mouths) and redraws
each *reach* (the path between two of those points) in three steps:

1. **Centreline.** The reach's cells, each interior one moved a little at random
   (:data:`CENTRE_JITTER`), smoothed (:data:`CENTRE_SMOOTHING`) with both ends fixed: the
   valley's line without the grid's kinks or its dead-straight runs.
2. **Meanders.** A sine-generated curve (Langbein & Leopold 1966): the direction relative to
   the centreline is ``omega * sin(phase)``, the phase advancing by ``2 pi / wavelength``
   with a random drift and ``omega`` wandering slowly (Ferguson 1976's disturbed periodic
   model), laid along the centreline so that it starts and ends on it. ``omega`` gives the
   reach its sinuosity, ``1 / J0(omega)``; the wavelength is about 11 channel widths
   (Leopold & Wolman 1960), at least :data:`MIN_WAVELENGTH_CELLS` cells so the grid
   resolves it, times a random factor up to :data:`WAVELENGTH_SPREAD`, and the phase drifts
   strongly (:data:`procgen._kernels.meanders.DRIFT`). At map scale the channel's own
   meanders are below a cell, so what the grid shows is the valley-scale planform, whose
   bends vary in length: with one fixed wavelength and a weak drift the curve was nearly
   periodic, which a classifier told from real rivers at once (``bench_meanders.py``).
   A reach shorter than its wavelength gets one bend, half a sine wave (a straight
   smoothed run would keep the grid's direction, e.g. across a lake's flat surface).
3. **Constraints.** Every point of the curve must stay in the reach's own valley: in the
   river's own Voronoi cell among all rivers' cells (so it never crosses or touches another
   river except where it joins it), in the drainage basin of the river's outlet (so it never
   crosses a divide), and off water unless its centreline is on water (a river crossing a
   lake on its surface). Where a point would leave, the lateral offset is shrunk there (and
   smoothly around it); a reach whose curve still crosses itself or touches another reach
   is drawn along its centreline, and one whose centreline touches another on its D8
   cells. Only such reaches fall back, not the rest of their river.

Sinuosity comes from the reach's slope and discharge: Leopold & Wolman (1957) found that
channels steeper than ``S = 0.06 Q**-0.44`` (Q bankfull discharge in ft^3/s, i.e. about
``0.0125 Q**-0.44`` in m^3/s) braid and gentler ones meander. Here sinuosity falls with the
ratio r of a reach's slope to that threshold, ``s0 + (MAX_SINUOSITY - s0) / (1 + r**2)``
with ``s0`` :data:`MIN_SINUOSITY`: halfway at the threshold, towards :data:`MAX_SINUOSITY`
far below it, towards ``s0`` (a steep channel confined to its valley, nearly straight at a
map's scale) far above. What a map draws is the valley-scale planform (a cell is hundreds of
metres), which is less sinuous than a channel: the river dataset's courses (50 km or more,
resampled to 64 points) have a median sinuosity of 1.22 (90 % under 1.6), so
:data:`MAX_SINUOSITY` is set where drawn rivers are hardest to tell from them. Schumm (1963)
ties sinuosity to the channel's silt-clay content, which these maps do not model.

A reach's random numbers come from its own key, the meander stream's mixed with its end
cells (a counter-based SplitMix64 sequence, no generator object per reach), so its shape
depends only on the seed and the reach, not on the other rivers or their order.

A plug-in source (``'learned:NAME'``) draws the reaches of at least
:data:`MIN_PLUGIN_CELLS` cells, all in one batch; shorter reaches, on which its 64 points
would be closer than half a cell, get the curve.

>>> import numpy as np
>>> from procgen import generate_level
>>> lv = generate_level(seed=4, shape=128, cell_size=1000.0, preset="lowlands")  # meanders on
>>> seg = np.diff(np.concatenate([r.path for r in lv.rivers]), axis=0)
>>> angle = np.degrees(np.arctan2(seg[:, 0], seg[:, 1]))
>>> bool(np.mean(np.isclose(np.mod(angle, 45.0), 0.0)) < 0.5)
True
"""

from __future__ import annotations

import functools
import importlib.metadata
import math
import warnings

import numpy as np

from ._kernels import meanders as _mk
from ._units import cells as to_cells
from .paths import arc_length
from .river import River
from .rivers import MEANDERS  # noqa: F401 - the sources this module draws, re-exported

__all__ = ["MEANDERS", "SOURCES_GROUP", "MAX_SINUOSITY", "MIN_SINUOSITY",
           "MIN_WAVELENGTH_CELLS", "WAVELENGTH_SPREAD", "CENTRE_JITTER", "CENTRE_SMOOTHING",
           "MIN_PLUGIN_CELLS", "MIN_BEND_CELLS",
           "target_sinuosity", "sources", "source_of", "meander"]
#: Highest sinuosity a reach is given (a very gentle, large river). Chosen by the C2ST of
#: drawn rivers of 50 km or more against real ones (``tests/benchmarks/bench_meanders.py``,
#: 24 maps, length-matched, boosted stumps, mean of 10 draws): 1.9 gave 0.713, 1.7 0.688,
#: 1.5 0.667, 1.45 0.654, 1.4 0.665, 1.3 0.676 (too calm).
MAX_SINUOSITY = 1.45
#: Sinuosity of a reach far steeper than Leopold & Wolman's threshold: confined to its valley,
#: it runs nearly straight. Headwaters are steep, and a higher floor gave every river's first
#: kilometres bends that real ones lack: drawn rivers' first five turns at 64 points were a
#: third sharper than real rivers' (mean |angle| in the highlands 0.27 rad with a floor of
#: 1.1, 0.24 with this one, 0.20 for real rivers of 50-150 km).
#: Chosen by the C2ST of ``bench_meanders.py`` (rivers of 50 km or more, 96 maps, against
#: all real rivers, length-matched, boosted stumps, mean of 3 draws): 1.1 gave 0.652, 1.05
#: 0.627, 1.02 0.615 and 1.0 0.621; on the next 96 seeds (96-191) 1.1 gave 0.660 and 1.02
#: 0.644. The benchmark's own run over seeds 0-95 went from 0.66 to 0.62.
MIN_SINUOSITY = 1.02
#: Shortest meander wavelength drawn, in cells: shorter ones the grid cannot show.
MIN_WAVELENGTH_CELLS = 10.0
#: The meander wavelength of a reach is its base wavelength times ``WAVELENGTH_SPREAD**u``,
#: u uniform in [0, 1).
WAVELENGTH_SPREAD = 4.0
#: How far beyond the rivers' bounding box a curve may swing, in cells.
VALLEY_MARGIN = 32
#: Shortest reach a plug-in (learned) source draws, in cells: about half its shape's 64
#: points, so that its steps are at least half a cell; shorter reaches get the curve.
MIN_PLUGIN_CELLS = 32.0
#: Where the valley leaves a curve less than this share of its lateral offset, the curve
#: is fitted to the valley and laid again (:meth:`_Reach.place`).
FIT_BELOW = 0.9
#: Shortest reach drawn with a bend, in cells (shorter ones keep their smoothed line).
MIN_BEND_CELLS = 3.0
#: Meander wavelength in channel widths (Leopold & Wolman 1960: 10-14).
WAVELENGTH_WIDTHS = 11.0
#: How far (cells, each way, uniform) each interior cell of a reach is moved before its
#: centreline is smoothed. A straight D8 run smoothed stays exactly straight, and where the
#: valley then takes the curve's offset (or across a lake) the river ran dead straight for
#: kilometres: exact zero turns, 6 times as common as in real rivers. Chosen by the C2ST of
#: ``bench_meanders.py`` (rivers of 50 km or more; 24 maps, length-matched, boosted
#: stumps): 0.647 without, 0.623 and 0.653 with 0.3 (two ways of drawing it: the figure
#: moves by about 0.02 with the drawn rivers), 0.662 with 0.42; on 48 maps 0.713 without and
#: 0.693 with 0.3. With today's lighter smoothing (:data:`CENTRE_SMOOTHING`), over 96 maps
#: against all real rivers: 0.675 without, 0.649 / 0.633 / 0.651 with 0.15 / 0.2 / 0.3.
CENTRE_JITTER = 0.3
#: The centreline's smoothing: (passes, half-width in cells) of its moving averages. Light,
#: so the valley keeps its turns of a few cells, which real rivers have and the curve's
#: bends (10 cells or more) do not add. C2ST of rivers of 50 km or more
#: (``bench_meanders.py``, 24 maps, length-matched / against all test rivers) for (3, 2),
#: (3, 1), (2, 1), (1, 1): 0.626 / 0.722, 0.576 / 0.675, 0.568 / 0.642, 0.636 / 0.623; over
#: 96 maps against all 4,580 real rivers, 0.664 / 0.757, 0.651 / 0.695, 0.648 / 0.682,
#: 0.680 / 0.678.
CENTRE_SMOOTHING = (3, 1)
#: Mixed into the meander stream's key for the centreline jitter's own keys, so that they
#: and the curve's draws (from the reach's key) are independent.
_JITTER_SALT = np.uint64(0x6A09E667F3BCC908)


def target_sinuosity(slope, discharge) -> np.ndarray:
    """Sinuosity of a reach from its slope (m/m) and discharge (m^3/s), after Leopold &
    Wolman's (1957) meandering-braided threshold ``S_t = 0.0125 Q**-0.44``.

    >>> from procgen.meanders import target_sinuosity
    >>> [round(float(s), 2) for s in target_sinuosity([0.0001, 0.002, 0.05], [100.0] * 3)]
    [1.45, 1.19, 1.02]
    """
    slope = np.maximum(np.asarray(slope, np.float64), 0.0)
    q = np.maximum(np.asarray(discharge, np.float64), 1e-3)
    ratio = slope / (0.0125 * q ** -0.44)
    return MIN_SINUOSITY + (MAX_SINUOSITY - MIN_SINUOSITY) / (1.0 + ratio ** 2)


def _sinuosity(slope: float, discharge: float) -> float:
    """:func:`target_sinuosity` of one reach, in scalar arithmetic (hundreds per level)."""
    ratio = max(slope, 0.0) / (0.0125 * max(discharge, 1e-3) ** -0.44)
    return MIN_SINUOSITY + (MAX_SINUOSITY - MIN_SINUOSITY) / (1.0 + ratio ** 2)


def _median(values: np.ndarray) -> float:
    """``np.median`` of a short 1-D float64 array, without its overhead."""
    v = np.sort(values)
    n = len(v)
    return float(v[n // 2]) if n % 2 else 0.5 * (float(v[n // 2 - 1]) + float(v[n // 2]))


def _j0(x):
    """Bessel J0 by its power series (exact to 1e-15 for |x| <= 2.4, all this module uses)."""
    x = np.asarray(x, np.float64)
    term, total = np.ones_like(x), np.ones_like(x)
    for k in range(1, 30):
        term = term * -(x * x / 4.0) / (k * k)
        total = total + term
    return total


def _j0_scalar(x: float) -> float:
    """:func:`_j0` of one float, the same series in plain float arithmetic (hundreds of
    reaches a level: numpy's per-call overhead would dominate)."""
    term = total = 1.0
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
    and off water.

    The Voronoi cells are computed over the rivers' bounding box widened by
    :data:`VALLEY_MARGIN` cells (on a continent, under half the map); every river cell
    lies in it, so there they are exactly the whole grid's, and beyond it no river may go.
    """

    def __init__(self, rivers, drainage):
        from ._kernels import queries as _qk
        shape = drainage.height.shape
        owner = np.full(shape, -1, np.int64)
        # Shorter rivers are written last: a junction cell goes to the tributary that ends
        # there, whose last reach is pinned to it anyway.
        for k in sorted(range(len(rivers)), key=lambda k: -len(rivers[k].path)):
            cells = np.rint(rivers[k].path).astype(np.int64)
            owner[cells[:, 0], cells[:, 1]] = k
        every = np.rint(np.concatenate([r.path for r in rivers])).astype(np.int64)
        r0, c0 = np.maximum(every.min(axis=0) - VALLEY_MARGIN, 0)
        r1, c1 = np.minimum(every.max(axis=0) + VALLEY_MARGIN + 1, shape)
        box = np.ascontiguousarray(owner[r0:r1, c0:c1])
        # the squared transform alone (distance_transform's square root is not needed)
        d2 = np.empty(box.shape, np.float64)
        nearest = np.empty(box.shape, np.int64)
        _qk.squared_edt(box >= 0, d2, nearest)
        self.voronoi = np.full(shape, -1, np.int64)
        self.voronoi[r0:r1, c0:c1] = box.ravel()[nearest]
        out = np.empty(drainage.directions.size, np.int64)
        _qk.drain_outlets(drainage.directions, out)
        self.basin = out.reshape(shape)
        self.water = drainage.water


def _reach_ends(rivers) -> set:
    """Cells where reaches end: every river's ends (sources, mouths, junctions)."""
    if not rivers:
        return set()
    ends = np.rint(np.concatenate([r.path[[0, -1]] for r in rivers])).astype(np.int64)
    return set(map(tuple, ends.tolist()))


def _reach_keys(splits, stream: np.random.SeedSequence) -> tuple:
    """Each reach's keys (:func:`procgen._kernels.meanders.reach_keys`): its curve's, the
    meander stream's first word mixed with its end cells, and its centreline jitter's, the
    same word salted; so its shape depends only on the seed and the reach."""
    if not splits:
        return [], []
    ends = np.array([[*cells[a], *cells[b]] for _, _, cells, a, b in splits], np.int64)
    base = stream.generate_state(1, np.uint64)[0]
    return _mk.reach_keys(base, ends), _mk.reach_keys(base ^ _JITTER_SALT, ends)


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
    splits = list(_split(rivers, ends, drainage.height.shape))
    keys, jitter_keys = _reach_keys(splits, stream)
    reaches = [_Reach(river, k, cells, a, b, valleys, drainage, config, key, jitter_key)
               for (k, river, cells, a, b), key, jitter_key in zip(splits, keys, jitter_keys)]
    drawn = [r for r in reaches if r.meanders]
    for r, (px, py, refit) in zip(drawn, _profiles(source, drawn, drainage.cell_size,
                                                   stream)):
        r.place(px, py, valleys, refit)
    for r in reaches:
        if r.bend:
            r.place(*_bend(r), valleys)
    # Each reach is drawn at one of three levels: 0 its curve, 1 its centreline, 2 its D8
    # cells. A curve that crosses itself is drawn along its centreline (one batched test).
    options = [(r.curve, r.centre, r.cells) for r in reaches]
    owner = np.array([r.k for r in reaches], np.int64)
    level = np.where(_self_intersecting([r.curve[0] for r in reaches]), 1, 0)

    def assemble(level):
        pieces = [[np.rint(r.path[:1])] for r in rivers]
        widths = [[r.width[:1].astype(np.float64)] for r in rivers]
        for k, options_i, lv in zip(owner, options, level):
            path, width = options_i[lv]
            pieces[k].append(path[1:])
            widths[k].append(width[1:])
        return [np.concatenate(p) for p in pieces], [np.concatenate(w) for w in widths]

    # Two reaches of a river may still cross where they meet: such a river keeps its
    # centrelines.
    crossed = _self_intersecting(assemble(level)[0])
    if crossed.any():
        level = np.where(crossed[owner], np.maximum(level, 1), level)
    level = _untangle([tuple(o[0] for o in opts) for opts in options], level, ends,
                      drainage.height.shape)
    paths, widths = assemble(level)
    out = []
    for k, river in enumerate(rivers):
        path = paths[k]
        out.append(River(path=path, width=widths[k].astype(np.float32),
                         generator=river.generator, discharge=river.discharge,
                         order=river.order, id=river.id))
    return out


def _self_intersecting(curves: list) -> np.ndarray:
    """Which curves cross themselves (:func:`procgen.paths.self_intersects`' test), all in
    one serial kernel call."""
    if not curves:
        return np.zeros(0, np.bool_)
    offsets = np.cumsum([0] + [len(c) for c in curves]).astype(np.int64)
    return _mk.self_crossing(np.ascontiguousarray(np.concatenate(curves), np.float64), offsets)


def _split(rivers, ends, shape):
    """``(k, river, cells, a, b)`` of every reach: cells[a..b] of river k, between two of
    the network's ends (sources, mouths, junctions; cells of a grid of ``shape``)."""
    is_end = np.zeros(shape, np.bool_)
    for r, c in ends:
        is_end[r, c] = True
    for k, river in enumerate(rivers):
        cells = np.rint(river.path).astype(np.int64)
        cuts = (np.flatnonzero(is_end[cells[1:-1, 0], cells[1:-1, 1]]) + 1).tolist()
        bounds = [0, *cuts, len(cells) - 1]
        for a, b in zip(bounds[:-1], bounds[1:]):
            yield k, river, cells, a, b


class _Reach:
    """One reach: its centreline and, once placed, its curve (each ``(path, widths)``)."""

    def __init__(self, river, k, cells, a, b, valleys, drainage, config, key, jitter_key):
        raw = cells[a:b + 1]
        widths = river.width[a:b + 1].astype(np.float64)
        self.k, self.raw = k, raw
        self.cells = (raw.astype(np.float64), widths)        # the D8 path
        self.basin = int(valleys.basin[cells[-2, 0], cells[-2, 1]]) if len(cells) > 1 else -1
        self.meanders = self.bend = False
        if b - a < 4:
            self.centre = self.curve = self.cells
            return
        # the interior cells moved a little (both ends stay: junctions meet exactly)
        centre, width, length = _mk.centreline(raw[:, 0].copy(), raw[:, 1].copy(), widths,
                                               CENTRE_JITTER, jitter_key, *CENTRE_SMOOTHING)
        self.centre = self.curve = (centre, width)
        self.length = length
        h = drainage.height
        drop = float(h[raw[0, 0], raw[0, 1]] - h[raw[-1, 0], raw[-1, 1]])
        slope = max(drop, 0.0) / (length * drainage.cell_size)
        w = _median(widths)
        q = (w / max(config.width_coefficient, 1e-9)) ** 2
        self.sinuosity = _sinuosity(slope, q)
        self.wavelength = max(MIN_WAVELENGTH_CELLS,
                              WAVELENGTH_WIDTHS * to_cells(w, drainage.cell_size))
        self.meanders = length >= self.wavelength
        # shorter than a meander: one bend (a straight smoothed run would keep the grid's
        # direction, e.g. across a lake's flat surface)
        self.bend = not self.meanders and length >= MIN_BEND_CELLS
        self.key = key              # its random numbers' key

    def place(self, px, py, valleys, refit=None) -> None:
        """Lay the profile ``(px, py)`` (cells along and to the left of the centreline).

        Where the valley takes much of the profile's offset, the profile is fitted to it
        and laid again: ``refit(g)`` (default: the offsets times g) for g the share of the
        offset the valley left. Clipped locally, a curve runs straight along the centreline
        wherever its valley narrows, with kinks where it leaves it: the straight runs and
        sharp turns that told drawn rivers from real ones.
        """
        centre, width = self.centre
        half = int(self.wavelength / _mk.STEP / 2)

        def lay(px, py):
            px = np.ascontiguousarray(px, np.float64)
            py = np.ascontiguousarray(py, np.float64)
            return (px, py, *_mk.place_profile(centre, self.length, px, py, half,
                                               valleys.voronoi, valleys.basin,
                                               valleys.water, self.k, self.basin))

        px, py, curve, base = lay(px, py)
        asked = float(np.abs(py).sum())
        if asked > 0.0:
            g = float(np.hypot(*(curve - base).T).sum()) / asked
            if g < FIT_BELOW:
                px, py, curve, _ = lay(*(refit(g) if refit is not None else (px, py * g)))
        t = _even(self.length, len(width))
        self.curve = (curve, np.interp(np.clip(px, 0.0, self.length), t, width))


def _even(length: float, n: int) -> np.ndarray:
    """``np.linspace(0.0, length, n)`` for n >= 2, to the bit, without its overhead (a
    level calls it for every reach)."""
    t = np.arange(n, dtype=np.float64) * (length / (n - 1))
    t[-1] = length
    return t


def _bend(reach):
    """The profile of a reach shorter than a meander wavelength: half a sine wave to one
    side, ``y = a sin(pi x / L)``, its amplitude giving about the reach's sinuosity (for a
    low arc ``s = 1 + (pi a / 2L)**2``, so ``a = (2L / pi) sqrt(s - 1)``), scaled by a
    random 0.5-1 and on a random side, from the reach's own key."""
    (side, scale), _ = _mk.reach_draws(reach.key, 2, 0)
    a = (2.0 * reach.length / math.pi) * math.sqrt(reach.sinuosity - 1.0) * (0.5 + 0.5 * scale)
    px = _even(reach.length, int(math.ceil(reach.length / _mk.STEP)) + 1)
    return px, (a if side < 0.5 else -a) * np.sin(np.pi * px / reach.length)


def _sine(args, wavelength, scale):
    length, omega, j0, noise, wander_phase, phase0 = args
    px, py = _mk.sine_profile(length, omega, j0, wavelength, noise, wander_phase, phase0)
    return px, py * scale if scale != 1.0 else py


def _narrower(args, wavelength, g):
    """The sine-generated curve fitted to a valley that left it a share g of its offset:
    the same bends at g times the wavelength (a meander belt's width grows with its
    wavelength), flattened only below :data:`MIN_WAVELENGTH_CELLS`."""
    short = max(wavelength * g, min(wavelength, MIN_WAVELENGTH_CELLS))
    return _sine(args, short, wavelength * g / short)


def _profiles(source, reaches, cell_size, stream):
    """The lateral profile of each reach, ``(px, py, refit)``: a sine-generated curve
    (``'curve'``) from the reach's own key, or a plug-in's shapes, asked for all reaches
    at once (``refit``: see :meth:`_Reach.place`)."""
    if source == "curve":
        out = []
        for r in reaches:
            omega = _omega(r.sinuosity)
            j0 = _j0_scalar(omega)
            steps = int(math.ceil(r.length / max(j0, 0.2) / (_mk.STEP / _mk.SUB))) + 2
            u, noise = _mk.reach_draws(r.key, 3, steps)
            wavelength = r.wavelength * WAVELENGTH_SPREAD ** u[2]
            args = (r.length, omega, j0, noise, 2.0 * np.pi * u[0], 2.0 * np.pi * u[1])
            out.append((*_sine(args, wavelength, 1.0),
                        functools.partial(_narrower, args, wavelength)))
        return out
    # A plug-in's shape has a fixed number of points (64 for the learned models): on a
    # reach shorter than MIN_PLUGIN_CELLS its steps would fall under half a cell, detail
    # the grid cannot show; those reaches get the sine-generated curve (and the model's
    # cost, per reach drawn, goes to the reaches where its shape shows).
    short = [i for i, r in enumerate(reaches) if r.length < MIN_PLUGIN_CELLS]
    out = [None] * len(reaches)
    for i, prof in zip(short, _profiles("curve", [reaches[i] for i in short], cell_size,
                                        stream)):
        out[i] = prof
    idx = [i for i, r in enumerate(reaches) if r.length >= MIN_PLUGIN_CELLS]
    for i, (px, py) in zip(idx, _plugin_profiles(source, [reaches[i] for i in idx],
                                                 cell_size, stream)):
        out[i] = (px, py, None)
    return out


def _plugin_profiles(source, reaches, cell_size, stream):
    """A plug-in's shapes for ``reaches``, asked for all at once, in cells of each reach;
    each reach's shape from its own SeedSequence (the plug-in protocol), a child of the
    meander stream keyed by its end cells."""
    if not reaches:
        return []
    shapes = source.shapes(np.array([r.sinuosity for r in reaches]),
                           np.array([r.length * cell_size / 1000.0 for r in reaches]),
                           [_reach_seq(stream, r.raw[0], r.raw[-1]) for r in reaches])
    # Points about every STEP cells along each shape, in cells of its reach: shapes of one
    # size are stretched in one kernel call (a plug-in may return any sizes).
    out = [None] * len(reaches)
    shapes = [np.asarray(shape, np.float64) for shape in shapes]
    for size in sorted({len(shape) for shape in shapes}):
        idx = [i for i, shape in enumerate(shapes) if len(shape) == size]
        batch = np.ascontiguousarray(np.stack([shapes[i] for i in idx]))
        cum = np.ascontiguousarray(arc_length(batch))
        length = np.array([reaches[i].length for i in idx])
        counts = np.maximum(size, np.ceil(cum[:, -1] * length / _mk.STEP).astype(np.int64) + 1)
        x, y = _mk.stretch_shapes(batch, cum, counts, length)
        for i, a, b in zip(idx, np.cumsum(counts) - counts, np.cumsum(counts)):
            out[i] = (x[a:b], y[a:b])
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


def _untangle(candidates: list, level: np.ndarray, ends, shape) -> np.ndarray:
    """The levels at which reaches are drawn so that no reach's cells touch another's
    anywhere but at a junction (the junction cell and its 8 neighbours, where the D8 paths
    themselves meet): a reach that touches another falls back one level, both reaches of a
    clash, until none touches (a last guard; the valleys keep this rare). D8 cells never
    touch but at junctions, so it ends. Only the reaches that clash fall back: a long river
    touching a neighbour in one place keeps its meanders everywhere else.

    ``candidates[i]`` are reach i's paths at levels 0, 1 and 2 (curve, centreline, D8
    cells); ``level`` the levels it starts from; ``ends`` the network's ends
    (:func:`_reach_ends`). Returns the new levels.
    """
    near = np.zeros(shape, np.bool_)
    for r, c in ends:
        near[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2] = True
    level = level.copy()
    while True:
        paths = [c[lv] for c, lv in zip(candidates, level)]
        cells = np.rint(np.concatenate(paths)).astype(np.int64)
        offsets = np.cumsum([0] + [len(p) for p in paths]).astype(np.int64)
        clash = _mk.river_clashes(cells[:, 0].copy(), cells[:, 1].copy(), offsets, near)
        back = clash & (level < 2)
        if not back.any():
            return level
        level[back] += 1
