"""Hand-written river shapes: coin-flip, persistent, downhill and sine-generated walkers.

"Walk an increment forward, flip a coin to decide whether to turn left or right, repeat."
Every walker here returns a batch of polylines, ``(n, steps + 1, 2)`` float64 ``(row, col)``
positions, the start first.

Conventions (as in ``procgen.paths``): rows grow downward (south) on a map drawn north-up,
columns grow to the right (east). A heading ``phi`` is measured on that map, counter-clockwise
from east: a step of length ``step`` moves ``dcol = step * cos(phi)``,
``drow = -step * sin(phi)``; "turn left" means ``phi += turn``.

Randomness comes only from the ``rng`` keyword (a ``numpy.random.Generator``, an int seed, or
None for fresh entropy). The Generator draws every random number in numpy, in one fixed order;
the numba kernels only integrate them, in parallel over walkers, so the same seed gives the
same array whatever the number of threads.

>>> import numpy as np
>>> from procgen.walkers import coin_flip
>>> rivers = coin_flip(3, 4, turn=np.pi / 2, rng=7)    # 3 walkers, 4 steps, right-angle turns
>>> rivers.shape
(3, 5, 2)
>>> np.round(rivers[0], 12) + 0.0
array([[ 0.,  0.],
       [-1.,  0.],
       [-1., -1.],
       [-2., -1.],
       [-2., -2.]])
>>> bool(np.array_equal(rivers, coin_flip(3, 4, turn=np.pi / 2, rng=7)))
True
"""

from __future__ import annotations

import enum
import numbers
from dataclasses import dataclass

import numpy as np

from ._kernels import walkers as _wk
from ._validate import check_enum, check_float, check_int

__all__ = [
    "DEFAULT_MAX_POINTS",
    "Walker",
    "WalkerConfig",
    "coin_flip",
    "downhill",
    "persistent",
    "sine_curve",
    "walk",
]

#: Largest output (points, i.e. ``n * (steps + 1)``; 16 bytes each) a call makes unless the
#: caller raises the cap with ``max_points``: 2**28 points = 4 GiB.
DEFAULT_MAX_POINTS = 2 ** 28

_TWO32 = 2 ** 32


class Walker(enum.Enum):
    """Which hand-written walker :func:`walk` runs.

    COIN_FLIP
        Independent left/right turns (:func:`coin_flip`).
    PERSISTENT
        Turn direction repeats with probability ``persistence`` (:func:`persistent`).
    DOWNHILL
        Turns biased towards lower ground on a height grid (:func:`downhill`).
    SINE
        Langbein & Leopold sine-generated curve (:func:`sine_curve`).
    """

    COIN_FLIP = "coin_flip"
    PERSISTENT = "persistent"
    DOWNHILL = "downhill"
    SINE = "sine"


@dataclass(frozen=True)
class WalkerConfig:
    """Settings of a hand-written walker; each field is used by the kinds named with it.

    Attributes
    ----------
    kind : Walker
        Which walker. Default ``Walker.COIN_FLIP``.
    step : float
        Step length in cells (all kinds), > 0. Default 1.
    turn : float
        Turn per step in radians, in [0, pi] (coin flip, persistent, downhill). Default pi/12.
    p_left : float
        Probability of a left turn, in [0, 1] (coin flip). Default 0.5.
    persistence : float
        Probability of repeating the previous turn direction, in [0, 1] (persistent).
        Default 0.8.
    bias : float
        Downhill preference per unit of height difference, finite; 0 = coin flip (downhill).
        Default 1.
    omega : float
        Largest angle between the path and its mean direction, radians, in [0, pi] (sine).
        Default pi/3.
    wavelength : float
        Meander wavelength along the path, in cells, > 0 (sine). Default 50.
    noise : float
        Standard deviation of the Gaussian heading noise, radians, >= 0 (sine). Default 0.

    Examples
    --------
    >>> from procgen.walkers import WalkerConfig, walk
    >>> cfg = WalkerConfig(kind="persistent", persistence=0.9)
    >>> walk(10, 100, config=cfg, rng=1).shape
    (10, 101, 2)
    """

    kind: Walker = Walker.COIN_FLIP
    step: float = 1.0
    turn: float = np.pi / 12
    p_left: float = 0.5
    persistence: float = 0.8
    bias: float = 1.0
    omega: float = np.pi / 3
    wavelength: float = 50.0
    noise: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "kind", check_enum("kind", self.kind, Walker))
        _check_step(self.step)
        _check_turn(self.turn)
        check_float("p_left", self.p_left, lo=0.0, hi=1.0)
        check_float("persistence", self.persistence, lo=0.0, hi=1.0)
        check_float("bias", self.bias)
        check_float("omega", self.omega, lo=0.0, hi=np.pi)
        check_float("wavelength", self.wavelength, lo=0.0, lo_open=True)
        check_float("noise", self.noise, lo=0.0)


def walk(n, steps, *, config=None, height=None, start=(0.0, 0.0), heading=0.0, rng=None,
         max_points=DEFAULT_MAX_POINTS) -> np.ndarray:
    """Run the walker a :class:`WalkerConfig` describes.

    Parameters
    ----------
    n, steps : int
        Number of walkers (>= 1) and steps per walker (>= 1).
    config : WalkerConfig, optional
        Which walker and its parameters. Default ``WalkerConfig()`` (a fair coin flip).
    height : array_like, shape (R, C), optional
        Height grid, required by (and only used by) ``Walker.DOWNHILL``.
    start, heading, rng, max_points
        As in :func:`coin_flip`.

    Returns
    -------
    numpy.ndarray, shape (n, steps + 1, 2)
        float64 ``(row, col)`` positions.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.walkers import WalkerConfig, walk
    >>> hill = np.add.outer(np.zeros(32), np.arange(32.0, 0.0, -1.0)).astype(np.float32)
    >>> p = walk(4, 20, config=WalkerConfig(kind="downhill", bias=5.0), height=hill,
    ...          start=(16.0, 2.0), rng=0)
    >>> bool(np.all(p[:, -1, 1] > p[:, 0, 1]))           # they all went east, downhill
    True
    """
    cfg = WalkerConfig() if config is None else config
    if not isinstance(cfg, WalkerConfig):
        raise TypeError(f"config must be a WalkerConfig, got {type(cfg).__name__}")
    common = dict(step=cfg.step, heading=heading, start=start, rng=rng, max_points=max_points)
    if cfg.kind is not Walker.DOWNHILL and height is not None:
        raise ValueError(f"height is only used by the downhill walker, not {cfg.kind.value!r}")
    if cfg.kind is Walker.COIN_FLIP:
        return coin_flip(n, steps, turn=cfg.turn, p_left=cfg.p_left, **common)
    if cfg.kind is Walker.PERSISTENT:
        return persistent(n, steps, turn=cfg.turn, persistence=cfg.persistence, **common)
    if cfg.kind is Walker.DOWNHILL:
        if height is None:
            raise ValueError("height is required by the downhill walker")
        return downhill(height, n, steps, turn=cfg.turn, bias=cfg.bias, **common)
    return sine_curve(n, steps, omega=cfg.omega, wavelength=cfg.wavelength, noise=cfg.noise,
                      **common)


def coin_flip(n, steps, *, step=1.0, turn=np.pi / 12, p_left=0.5, heading=0.0,
              start=(0.0, 0.0), rng=None, max_points=DEFAULT_MAX_POINTS) -> np.ndarray:
    """Coin-flip river walkers: turn left or right by ``turn`` at random, then step forward.

    Each step first turns by ``+turn`` (left) with probability ``p_left``, else by ``-turn``
    (right), then moves ``step`` forward. After ``j`` steps the heading is exactly
    ``heading + k * turn`` for the integer ``k`` = lefts - rights, so headings do not drift.

    Random draws, in this order, from the Generator (so results can be reproduced):

    * ``p_left == 0.5``: ``words = rng.integers(0, 2**64, size=(n, ceil(steps / 64)),
      dtype=numpy.uint64)``; walker ``i`` turns left at step ``j`` where bit ``j % 64`` of
      ``words[i, j // 64]`` is 1 (64 turns per draw: the fast path).
    * otherwise: ``u = rng.integers(0, 2**32, size=(n, steps), dtype=numpy.uint32)``; left
      where ``u < round(p_left * 2**32)`` (so ``p_left`` is resolved to 2**-32).

    Parameters
    ----------
    n : int
        Number of walkers, >= 1.
    steps : int
        Steps per walker, >= 1.
    step : float, optional
        Step length (cells), > 0. Default 1.
    turn : float, optional
        Turn per step in radians, in [0, pi]. Default pi/12 (15 degrees).
    p_left : float, optional
        Probability of turning left, in [0, 1]. Default 0.5.
    heading : float or array_like of shape (n,), optional
        Initial heading in radians before the first turn (0 = east, pi/2 = north). Default 0.
    start : array_like, shape (2,) or (n, 2), optional
        ``(row, col)`` start of each walker. Default ``(0, 0)``.
    rng : {numpy.random.Generator, int, None}, optional
        Source of randomness: a Generator (advanced), a seed, or None (fresh entropy).
    max_points : int or None, optional
        Refuse outputs of more than this many points (``n * (steps + 1)``); None lifts the
        cap. Default ``DEFAULT_MAX_POINTS`` (2**28 points, 4 GiB).

    Returns
    -------
    numpy.ndarray, shape (n, steps + 1, 2)
        float64 ``(row, col)`` positions, ``start`` first.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.walkers import coin_flip
    >>> from procgen.paths import turning_angles
    >>> p = coin_flip(1000, 200, turn=0.2, rng=1)
    >>> bool(np.allclose(np.abs(turning_angles(p)), 0.2))   # every turn is +-0.2 rad
    True
    >>> straight = coin_flip(2, 10, turn=0.0, step=0.5, rng=1)
    >>> straight[:, -1].tolist()                            # ten half-cell steps due east
    [[0.0, 5.0], [0.0, 5.0]]
    """
    p_left = check_float("p_left", p_left, lo=0.0, hi=1.0)
    return _turning_walk(n, steps, step, turn, p_left, False, heading, start, rng, max_points)


def persistent(n, steps, *, step=1.0, turn=np.pi / 12, persistence=0.8, heading=0.0,
               start=(0.0, 0.0), rng=None, max_points=DEFAULT_MAX_POINTS) -> np.ndarray:
    """Correlated-turn walkers: the turn direction repeats with probability ``persistence``.

    The turn directions form a two-state (left/right) Markov chain: the first is a fair coin,
    each later one repeats the previous with probability ``persistence`` and reverses
    otherwise. ``persistence=0.5`` is the fair coin flip; values near 1 give long arcs and
    loops, values near 0 a zig-zag. Runs of one direction have mean length
    ``1 / (1 - persistence)`` steps.

    Random draws: ``persistence == 0.5`` uses packed bits as :func:`coin_flip` does (the bit
    at step 0 is the first direction, 1 = left; later bits 1 = repeat); otherwise
    ``u = rng.integers(0, 2**32, size=(n, steps), dtype=numpy.uint32)``, first direction left
    where ``u[:, 0] < 2**31``, later steps repeat where ``u < round(persistence * 2**32)``.

    Parameters
    ----------
    n, steps : int
        Number of walkers and steps per walker, >= 1.
    step, turn, heading, start, rng, max_points
        As in :func:`coin_flip`.
    persistence : float, optional
        Probability of repeating the previous direction, in [0, 1]. Default 0.8.

    Returns
    -------
    numpy.ndarray, shape (n, steps + 1, 2)
        float64 ``(row, col)`` positions, ``start`` first.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.walkers import persistent
    >>> from procgen.paths import turning_angles
    >>> t = np.sign(turning_angles(persistent(500, 400, persistence=0.9, rng=2)))
    >>> round(float(np.mean(t[:, 1:] == t[:, :-1])), 1)     # how often a turn repeats
    0.9
    """
    persistence = check_float("persistence", persistence, lo=0.0, hi=1.0)
    return _turning_walk(n, steps, step, turn, persistence, True, heading, start, rng,
                         max_points)


def downhill(height, n, steps, *, start, step=1.0, turn=np.pi / 12, bias=1.0, heading=0.0,
             rng=None, max_points=DEFAULT_MAX_POINTS) -> np.ndarray:
    """Walkers that prefer to turn towards lower ground on a height grid.

    At each step the walker looks at its two possible next positions, ``step`` ahead after a
    left turn and after a right turn, samples the height there (bilinear between cell centres
    at integer ``(row, col)``, clamped at the grid edge), and turns left with probability

    ``p_left = 1 / (1 + exp(-bias * (h_right - h_left)))``,

    a logistic of how much lower the terrain is ahead-left than ahead-right. ``bias=0`` is a
    fair coin flip; a negative ``bias`` climbs. The heading stays ``heading + k * turn`` as in
    :func:`coin_flip`.

    Leaving the grid: the grid spans ``0 <= row <= R - 1``, ``0 <= col <= C - 1``. A walker
    whose chosen next position lies outside stops there: it holds its last position inside the
    grid for all remaining steps (its path ends in a run of repeated points; every point
    returned lies on the grid).

    Random draws: ``u = rng.random((n, steps))`` (float64); left where ``u < p_left``
    (evaluated as ``bias * (h_right - h_left) > log(u / (1 - u))``, the same test).

    Parameters
    ----------
    height : array_like, shape (R, C)
        Height grid indexed ``[row, col]``, finite; used as float32.
    n, steps : int
        Number of walkers and steps per walker, >= 1.
    start : array_like, shape (2,) or (n, 2)
        ``(row, col)`` start of each walker, inside the grid.
    step, turn, heading, rng, max_points
        As in :func:`coin_flip`.
    bias : float, optional
        Preference for lower ground, per unit of height difference (per metre for heights in
        metres), finite. Default 1.

    Returns
    -------
    numpy.ndarray, shape (n, steps + 1, 2)
        float64 ``(row, col)`` positions, ``start`` first.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.walkers import downhill
    >>> valley = np.abs(np.arange(41.0) - 20.0)[:, None] * np.ones((1, 200))  # low at row 20
    >>> p = downhill(valley.astype(np.float32), 50, 150, start=(5.0, 0.0), bias=4.0,
    ...              turn=0.3, rng=3)
    >>> bool(np.abs(p[:, -1, 0] - 20.0).mean() < 5.0)          # they end near the valley floor
    True
    """
    h = np.ascontiguousarray(height, dtype=np.float32)
    if h.ndim != 2 or h.size == 0:
        raise ValueError(f"height must be a non-empty 2-D grid, got shape {h.shape}")
    if not np.all(np.isfinite(h)):
        raise ValueError("height must be finite")
    n, steps = _check_counts(n, steps, max_points)
    step = _check_step(step)
    turn = _check_turn(turn)
    bias = check_float("bias", bias)
    cos_h, sin_h, start = _heading_start(n, heading, start)
    rows, cols = h.shape
    inside = ((start[:, 0] >= 0) & (start[:, 0] <= rows - 1)
              & (start[:, 1] >= 0) & (start[:, 1] <= cols - 1))
    if not np.all(inside):
        bad = start[np.argmin(inside)].tolist()
        raise ValueError(f"start must lie inside the grid [0, {rows - 1}] x [0, {cols - 1}], "
                         f"got {bad}")
    gen = _as_generator(rng)
    cos_t, sin_t = _turn_tables(steps, turn)
    z = gen.random((n, steps))
    with np.errstate(divide="ignore"):
        np.log(z / (1.0 - z), out=z)           # logit: left where u < p_left <=> x > logit(u)
    out = np.empty((n, steps + 1, 2))
    _wk.downhill(h, z, bias, cos_t, sin_t, cos_h, sin_h, step, start, out)
    return out


def sine_curve(n, steps, *, step=1.0, omega=np.pi / 3, wavelength=50.0, noise=0.0, phase=0.0,
               heading=0.0, start=(0.0, 0.0), rng=None,
               max_points=DEFAULT_MAX_POINTS) -> np.ndarray:
    """Sine-generated curves (Langbein & Leopold 1966): the heading oscillates sinusoidally
    with arc length.

    The direction of the path relative to its mean direction ``heading`` is

    ``theta(s) = omega * sin(2 * pi * s / wavelength + phase) + noise * eps``,

    with ``s`` the arc length, ``omega`` the largest angle the path makes with its mean
    direction and ``wavelength`` the meander wavelength measured *along the path*. The noise is
    on the **heading**: ``eps`` is an independent standard normal per step, so the noise
    jitters the path without making its mean direction drift (noise on the turning angle would
    make the heading a random walk). Segment ``j`` takes ``theta`` at its midpoint,
    ``s = (j + 0.5) * step``. Without noise the sinuosity tends to ``1 / J0(omega)`` over whole
    wavelengths (J0 the Bessel function of order 0), and the curvature is a sinusoid of
    wavelength ``wavelength`` (recovered by ``procgen.paths.meander_wavelength``).

    Langbein, W. B. & Leopold, L. B. (1966). "River meanders — theory of minimum variance".
    U.S. Geological Survey Professional Paper 422-H.

    Random draws: ``eps = rng.standard_normal((n, steps))``, only when ``noise > 0``.

    Parameters
    ----------
    n, steps : int
        Number of curves and steps per curve, >= 1.
    step : float, optional
        Step length (cells), > 0. Default 1.
    omega : float, optional
        Largest deviation from the mean direction, radians, in [0, pi]. Default pi/3.
    wavelength : float, optional
        Meander wavelength along the path (same units as ``step``), > 0. Default 50.
    noise : float, optional
        Standard deviation of the Gaussian heading noise, radians, >= 0. Default 0.
    phase : float or array_like of shape (n,), optional
        Phase of the sine at ``s = 0``, radians. Default 0.
    heading, start, rng, max_points
        As in :func:`coin_flip`; ``heading`` is the mean (down-valley) direction.

    Returns
    -------
    numpy.ndarray, shape (n, steps + 1, 2)
        float64 ``(row, col)`` positions, ``start`` first.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.walkers import sine_curve
    >>> from procgen.paths import meander_wavelength, sinuosity
    >>> p = sine_curve(1, 1000, omega=1.0, wavelength=100.0)
    >>> round(float(meander_wavelength(p[0])))
    100
    >>> round(float(sinuosity(p[0])), 2)                # 1 / J0(1) = 1.31
    1.31
    """
    n, steps = _check_counts(n, steps, max_points)
    step = _check_step(step)
    omega = check_float("omega", omega, lo=0.0, hi=np.pi)
    wavelength = check_float("wavelength", wavelength, lo=0.0, lo_open=True)
    noise = check_float("noise", noise, lo=0.0)
    ph = np.asarray(phase, dtype=np.float64)
    if ph.shape not in ((), (n,)) or not np.all(np.isfinite(ph)):
        raise ValueError(f"phase must be a finite float or an ({n},) array, got {phase!r}")
    cos_h, sin_h, start = _heading_start(n, heading, start)
    gen = _as_generator(rng)
    s = (np.arange(steps) + 0.5) * step
    theta = omega * np.sin(2.0 * np.pi * s / wavelength + ph.reshape(-1, 1))  # (1 or n, steps)
    if noise > 0.0:
        theta = theta + noise * gen.standard_normal((n, steps))
    ct, st = np.cos(theta), np.sin(theta)     # without noise, once for all walkers
    out = np.empty((n, steps + 1, 2))
    out[:, 0] = start
    # rotate the mean direction by theta: heading + theta, without adding angles per walker
    dc = step * (cos_h[:, None] * ct - sin_h[:, None] * st)
    dr = -step * (sin_h[:, None] * ct + cos_h[:, None] * st)
    np.cumsum(dr, axis=1, out=out[:, 1:, 0])
    np.cumsum(dc, axis=1, out=out[:, 1:, 1])
    out[:, 1:] += start[:, None, :]
    return out


# --- helpers ---------------------------------------------------------------------------------

def _turning_walk(n, steps, step, turn, probability, markov, heading, start, rng, max_points):
    """Shared body of the +-turn walkers: ``markov`` False = independent coin flips with
    P(left) = probability; True = repeat the previous direction with that probability."""
    n, steps = _check_counts(n, steps, max_points)
    step = _check_step(step)
    turn = _check_turn(turn)
    cos_h, sin_h, start = _heading_start(n, heading, start)
    gen = _as_generator(rng)
    cos_t, sin_t = _turn_tables(steps, turn)
    words, u, threshold = _decisions(gen, n, steps, probability)
    out = np.empty((n, steps + 1, 2))
    _wk.turn_walk(words, u, threshold, markov, cos_t, sin_t, cos_h, sin_h, step, start, out)
    return out


def _as_generator(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    return np.random.default_rng(check_int("rng", rng, lo=0))


def _check_counts(n, steps, max_points):
    n = check_int("n", n, lo=1)
    steps = check_int("steps", steps, lo=1)
    if max_points is not None:
        cap = check_int("max_points", max_points, lo=1)
        points = n * (steps + 1)
        if points > cap:
            raise ValueError(
                f"n * (steps + 1) = {points:,} points is over the cap max_points={cap:,} "
                f"({points * 16 / 2**30:.1f} GiB); pass max_points=None (or a larger cap) "
                f"if you really want it")
    return n, steps


def _check_step(step) -> float:
    return check_float("step", step, lo=0.0, lo_open=True)


def _check_turn(turn) -> float:
    return check_float("turn", turn, lo=0.0, hi=np.pi)


def _heading_start(n, heading, start):
    """Per-walker ``cos(heading)``, ``sin(heading)`` and ``(n, 2)`` start, validated."""
    if isinstance(heading, numbers.Real) and not isinstance(heading, bool):
        h = np.full(n, check_float("heading", heading))
    else:
        h = np.asarray(heading, dtype=np.float64)
        if h.shape not in ((), (n,)):
            raise ValueError(f"heading must be a float or an ({n},) array, got shape {h.shape}")
        if not np.all(np.isfinite(h)):
            raise ValueError("heading must be finite")
        h = np.broadcast_to(h, (n,))
    s = np.asarray(start, dtype=np.float64)
    if s.shape not in ((2,), (n, 2)):
        raise ValueError(f"start must be a (row, col) pair or an ({n}, 2) array, "
                         f"got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("start must be finite")
    s = np.broadcast_to(s, (n, 2)).copy()          # C-contiguous and writable
    return np.cos(h), np.sin(h), s


def _turn_tables(steps: int, turn: float):
    """``cos(k * turn)``, ``sin(k * turn)`` for ``k = -steps .. steps`` (index ``k + steps``)."""
    k = np.arange(-steps, steps + 1, dtype=np.float64) * turn
    return np.cos(k), np.sin(k)


def _decisions(gen: np.random.Generator, n: int, steps: int, p: float):
    """Draw one yes/no per walker step with probability ``p``: ``(words, u, threshold)``.

    ``p == 0.5``: packed random bits, 64 to a uint64 word (``u`` empty). Otherwise uint32
    uniforms, yes where ``u < threshold = round(p * 2**32)`` (``words`` empty).
    """
    if p == 0.5:
        words = gen.integers(0, 2 ** 64, size=(n, (steps + 63) // 64), dtype=np.uint64)
        return words, np.empty((n, 0), np.uint32), np.uint64(0)
    u = gen.integers(0, _TWO32, size=(n, steps), dtype=np.uint32)
    threshold = np.uint64(min(int(round(p * _TWO32)), _TWO32))
    return np.empty((n, 0), np.uint64), u, threshold
