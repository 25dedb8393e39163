"""Stream-power erosion: terrain shaped by the water that drains it.

Noise terrain is not shaped by water: its depressions are everywhere, so lakes break its
drainage into many small basins, and nothing has cut its valleys. Real landscapes are cut
by the rivers that drain them, fastest where most water flows.

This stage wears the terrain down by the stream-power law, ``dh/dt = U - K A**m S**n``
(Howard 1994; Whipple & Tucker 1999), with ``n = 1`` and ``m = 0.5`` (a concavity ``m / n``
of 0.5, typical of real river profiles). Each step routes water by D8 steepest descent and
solves every cell's new height from its receiver's implicitly (Braun & Willett 2013), so a
step of any length is stable. Valleys deepen where the drained area A is large. With
``m = 0.5`` and A counted in cells, ``K t`` has no units and the landscape keeps its shape
in cells at every cell size. The sea is the base level; land stays land. Two modes
(:class:`ErosionMode`):

**Uplift** (levels' default, :meth:`ErosionConfig.uplifted`: 10 steps, ``K t = 100``). The
land rises (``U``) while the rivers cut it, as a landscape-evolution model does on its way
to a steady state; Cordonnier et al. (2016, "Large Scale Terrain Generation from Tectonic
Uplift and Fluvial Erosion") generate terrain this way. A river that cuts faster captures
its neighbours' headwaters, so the drainage reorganises: basins merge and lengthen, which
wearing noise terrain never does. Every cell wears (``channel_cells`` 1). In total the land
rises by its highest point, half of it uniformly and half laid out like the noise
terrain's heights (``uplift_follows_terrain``), so the mountains stay near where the noise
put them. The first step routes water over the depressions filled; each step then leaves
every cell above the cell it drains to (a depression fills at once with what is worn from
above), so later steps meet no pit and need no fill. The steps cut a groove down every
cell along the grid's eight directions; one 3x3 mean over the land, as soil creep smooths
real hillslopes, softens that texture (the few shallow pits it leaves are raised to
drain along the worn surface's flow paths). Last,
the land takes back the noise terrain's heights by rank: the lowest worn cell gets the
lowest noise height, and so on. That keeps the worn landscape's slopes, so its drainage,
and the preset's distribution of heights (its hypsometry), so its biomes and the heights a
designer set; the coast does not move. The noise terrain's depressions are then cut back in
(``depressions_kept``): lakes where the noise had them, shallower, as the worn surface
around them is now graded to drain.

Over 24 maps of 512² cells at 500 m, from the five presets in turn
(``tests/benchmarks/bench_meanders.py``, default meanders), uplift takes Hack's exponent
(the main stream's length to the divide against its basin's area) from 0.478 to 0.509
(96 maps: 0.481 to 0.512; real main streams 0.5-0.6, Hack 1957; target 0.5-0.65), the
rivers of 50 km or more from 141 to 173, and the lakes from 10.6 % of the land to 3.4 %
(0 % with ``depressions_kept=0``; lakes cover 3.7 % of Earth's ice-free land, Verpoorter
et al. 2014). The meanders' C2ST against real rivers stays within its noise (96 maps,
against all real rivers, matched in length / not: 0.630 / 0.709 without erosion,
0.623 / 0.695 with it).

**Wear** (``ErosionConfig(steps=2)``: the stage as it first came). No uplift: each step
routes water on the depression-filled surface and solves as above. Depressions fill with
what is worn from above them, so fewer lakes cut rivers short. Streams cut only where at
least ``channel_cells`` cells drain (default 100): above that, on hillslopes, soil creep
rather than running water shapes the land (Montgomery & Dietrich 1988 on channel heads),
and summits keep their heights. Over the same 24 maps, 2 steps shrink the lakes' area by
78 %, raise the rivers of 50 km or more from 142 to 180 and Hack's exponent from 0.479 to
0.497; but the exponent barely moves on the D8 paths themselves (0.481 to 0.487: wear
deepens valleys, it does not reorganise them), and on the eroded maps' gentler, graded
channels the meanders are too sinuous, their bends too short (C2ST against real rivers of
the same length 0.576 -> 0.655).

Worlds do not erode: erosion is not local to a chunk, and a world's chunks must meet.

>>> import numpy as np
>>> from procgen.erosion import ErosionConfig, erode
>>> from procgen.terrain import heightmap, preset
>>> h = heightmap((64, 64), config=preset("highlands"), cell_size=2000.0, seed=1)
>>> worn = erode(h, config=ErosionConfig(steps=2, channel_cells=20))
>>> bool(worn.max() == h.max()), bool((worn < h - 1).sum() > 20), bool((worn[h > 0] > 0).all())
(True, True, True)
>>> up = erode(h, config=ErosionConfig.uplifted(depressions_kept=0.0))
>>> bool((np.sort(up[h > 0]) == np.sort(h[h > 0])).all()), bool((up != h).mean() > 0.5)
(True, True)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from ._kernels import erosion as _ek
from ._kernels import rivers as _rk
from ._validate import check_enum, check_float, check_int
from .hydrology import _check_grid, fill_depressions, flow_accumulation, flow_directions

__all__ = ["ErosionConfig", "ErosionMode", "erode", "MIN_LAND"]

#: Metres above the sea below which erosion does not wear land (land stays land).
MIN_LAND = 1.0


class ErosionMode(enum.Enum):
    """What erosion works against.

    WEAR
        Nothing: the terrain as the noise made it is worn down, and keeps its basins.
    UPLIFT
        Rock uplift: the land rises while the rivers cut it, towards the steady state of a
        landscape whose drainage the rivers themselves organised; then its heights are put
        back, by rank, onto the noise terrain's (see the module docstring).
    """

    WEAR = "wear"
    UPLIFT = "uplift"


#: Metres below its spill level from which a noise terrain's cell counts as in a depression.
DEPRESSION_DEPTH = 0.01

#: cells that must drain through a cell for a stream to cut it, per mode, where
#: ``channel_cells`` is left unset. Under uplift every cell wears: hillslopes that rose
#: without wearing would stand as plateaus above the valleys.
CHANNEL_CELLS = {ErosionMode.WEAR: 100.0, ErosionMode.UPLIFT: 1.0}


@dataclass(frozen=True)
class ErosionConfig:
    """Settings of the erosion stage.

    Attributes
    ----------
    steps : int
        Implicit steps, each routing water afresh, in [0, 100]. Default 0: erosion is off
        (levels' default is :meth:`uplifted`, 10 steps).
    strength : float
        ``K t``, the erodibility times the total time, without units (A in cells), in
        [0, 100]. Each step erodes for ``strength / steps``. Default 8.
    channel_cells : float or None
        Cells that must drain through a cell for a stream to cut it, at least 1. Default
        None: 100 when wearing (25 km² at 500 m per cell), 1 under uplift.
    mode : ErosionMode or str
        ``'wear'`` (default) or ``'uplift'``.
    uplift_follows_terrain : float
        Under uplift, the share of the rock uplift laid out like the noise terrain's heights,
        the rest uniform over the land, in [0, 1]. Default 0.5. At 1 the mountains stay
        where the noise put them; at 0 the drainage alone places them.
    depressions_kept : float
        Under uplift, the share of the noise terrain's depressions (each cell's depth below
        its spill level) cut back into the land at the end, in [0, 1]. Default 1: lakes
        where the noise had them, though shallower than there (see the module docstring);
        at 0 the land drains everywhere and has no lakes.

    See Also
    --------
    ErosionConfig.uplifted : the settings the README measures (and levels use by default).
    """

    steps: int = 0
    strength: float = 8.0
    channel_cells: float | None = None
    mode: ErosionMode = ErosionMode.WEAR
    uplift_follows_terrain: float = 0.5
    depressions_kept: float = 1.0

    def __post_init__(self):
        check_int("steps", self.steps, lo=0, hi=100)
        check_float("strength", self.strength, lo=0.0, hi=100.0)
        if self.channel_cells is not None:
            check_float("channel_cells", self.channel_cells, lo=1.0, hi=1e12)
        object.__setattr__(self, "mode", check_enum("mode", self.mode, ErosionMode))
        check_float("uplift_follows_terrain", self.uplift_follows_terrain, lo=0.0, hi=1.0)
        check_float("depressions_kept", self.depressions_kept, lo=0.0, hi=1.0)

    @classmethod
    def uplifted(cls, **changes) -> "ErosionConfig":
        """Uplift against erosion in 10 steps at strength 100 (``changes`` override them).

        Examples
        --------
        >>> from procgen.erosion import ErosionConfig
        >>> ErosionConfig.uplifted().mode.value, ErosionConfig.uplifted(steps=10).steps
        ('uplift', 10)
        """
        return cls(**{"steps": 10, "strength": 100.0, "mode": ErosionMode.UPLIFT, **changes})

    @property
    def enabled(self) -> bool:
        """Whether this config changes the terrain."""
        return self.steps > 0 and self.strength > 0

    @property
    def channel_area(self) -> float:
        """``channel_cells``, or its mode's default where unset."""
        return CHANNEL_CELLS[self.mode] if self.channel_cells is None else self.channel_cells


def erode(height, *, config: ErosionConfig = ErosionConfig()) -> np.ndarray:
    """Terrain worn by ``config.steps`` implicit stream-power steps (see the module
    docstring).

    Parameters
    ----------
    height : array_like, shape (R, C)
        Heights in metres, sea level 0 (NaN = no-data, drains like the edge).
    config : ErosionConfig, optional

    Returns
    -------
    numpy.ndarray of float32, shape (R, C)
        New heights. The sea and no-data are unchanged. Land never goes below
        ``min(its height, MIN_LAND)``; cells fewer than ``config.channel_cells`` drain
        through keep their heights.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.erosion import ErosionConfig, erode
    >>> h = np.array([[9, 9, 9, 9], [9, 4, 6, 9], [9, 7, 5, 0]], np.float32)
    >>> worn = erode(h, config=ErosionConfig(steps=1, strength=1.0, channel_cells=1))
    >>> [round(float(v), 2) for v in worn[2]]   # the valley to the sea cut down, the sea kept
    [6.26, 4.19, 1.37, 0.0]
    """
    if not isinstance(config, ErosionConfig):
        raise TypeError(f"config must be an ErosionConfig, got {type(config).__name__}")
    h = np.array(_check_grid("height", height), dtype=np.float32, order="C")
    if not config.enabled:
        return h
    sea = h <= 0
    floor = np.where(sea, h, np.minimum(h, np.float32(MIN_LAND))).astype(np.float32)
    k_dt = config.strength / config.steps
    if config.mode is ErosionMode.UPLIFT:
        return _uplift(h, sea, floor, k_dt, config)
    for _ in range(config.steps):
        directions = flow_directions(fill_depressions(h, outlets=sea), outlets=sea)
        area = flow_accumulation(directions).ravel()
        order = _rk.topological_order(_rk.downstream_index(directions))
        _ek.stream_power_step(h, directions, order, area, floor, k_dt, config.channel_area)
    return h


def _land_mean3(h, land):
    """Each land cell's mean height over the land cells of its 3x3 block.

    The steps cut a groove down every cell along the grid's eight directions; one pass of
    this mean, as soil creep smooths real hillslopes, softens that texture.
    """
    def box(a):
        p = np.pad(a, 1)
        rows = p[:-2] + p[1:-1] + p[2:]
        return rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]
    return box(np.where(land, h, 0.0)) / np.maximum(box(land.astype(np.float64)), 1.0)


def _by_rank(order_by, values):
    """``values`` handed out by rank: the smallest where ``order_by`` is lowest, and so on.

    Both are land heights, above 0, where a float32's bits sort as the float does; the
    index below them breaks ties, so any sort gives the one order (a stable argsort is
    three times slower).
    """
    keys = (order_by.view(np.uint32).astype(np.uint64) << np.uint64(32)) | np.arange(
        order_by.size, dtype=np.uint64)
    out = np.empty_like(values)
    out[(np.sort(keys) & np.uint64(0xFFFFFFFF)).astype(np.int64)] = np.sort(values)
    return out


def _uplift(h, sea, floor, k_dt, config):
    """:func:`erode` under uplift: ``config.steps`` uplift steps, one 3x3 mean, the noise
    terrain's land heights handed out by rank, then its depressions cut back in."""
    land = h > 0
    if not land.any():
        return h
    initial = h.copy()
    top = float(h[land].max())
    share = config.uplift_follows_terrain
    # in total the land rises by its highest point, laid out as configured
    rise = np.where(land, (1.0 - share) * top + share * h, 0.0) / config.steps
    rise = rise.astype(np.float32)
    # Only the first step routes water over the depressions filled: each step leaves every
    # routed cell above its receiver, so the next surface has no pits.
    filled = surface = fill_depressions(h, outlets=sea)
    for _ in range(config.steps):
        _ek.uplift_step(h, flow_directions(surface, outlets=sea), rise, floor, k_dt,
                        config.channel_area)
        surface = h
    # Smoothing leaves a few shallow pits: raise each cell, receivers first along the worn
    # surface's own flow paths, just above the cell it drains to (no uplift, no wear).
    directions = flow_directions(h, outlets=sea)
    smoothed = np.where(land, _land_mean3(h, land), h).astype(np.float32)
    _ek.uplift_step(smoothed, directions, np.zeros_like(smoothed), floor, 0.0, np.inf)
    # Ranks keep the worn landscape's slopes (so its drainage); the values keep the preset's
    # hypsometry, so its biomes and the heights designers set.
    ranked = _by_rank(smoothed[land], initial[land])
    h[land] = ranked
    if config.depressions_kept > 0:
        # The fill also nudges flats up by float32 steps: those are not depressions.
        depth = filled[land] - initial[land]
        depth[depth < DEPRESSION_DEPTH] = 0.0
        h[land] = np.maximum(ranked - np.float32(config.depressions_kept) * depth, floor[land])
    return h
