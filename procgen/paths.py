"""Polyline geometry: arc length, resampling, turning angles <-> points, placement, metrics.

Conventions (shared with ``procgen.walkers`` and the learned layer):

* A polyline is an ``(N, 2)`` float64 array of ``(row, col)`` points; most functions also take
  a batch ``(B, N, 2)`` and then return one result per path.
* Rows grow downward (south) on a map drawn north-up; columns grow to the right (east).
* A heading ``phi`` is measured on that map, counter-clockwise from east: a step of length
  ``s`` moves ``dcol = s * cos(phi)``, ``drow = -s * sin(phi)``. "Turn left" means
  ``phi += turn`` (counter-clockwise as seen on the map), so left turns are positive.
* The canonical frame (:func:`canonical`) is an ``(x, y)`` frame, not ``(row, col)``: ``x``
  runs along the chord from start to end, ``y`` points to the left of the chord.

>>> import numpy as np
>>> from procgen.paths import angles_to_path, turning_angles, sinuosity
>>> square = angles_to_path([np.pi / 2, np.pi / 2], step=2.0)   # east, north, west
>>> np.round(square, 12) + 0.0                                     # rows grow south
array([[ 0.,  0.],
       [ 0.,  2.],
       [-2.,  2.],
       [-2.,  0.]])
>>> turning_angles(square) / np.pi
array([0.5, 0.5])
>>> round(float(sinuosity(square)), 12)
3.0
"""

from __future__ import annotations

import threading

import numpy as np

from ._validate import check_float, check_int

__all__ = [
    "angles_to_path",
    "arc_length",
    "canonical",
    "heading_autocorrelation",
    "meander_wavelength",
    "place",
    "resample",
    "scale_to_sinuosity",
    "self_intersection_count",
    "self_intersects",
    "sinuosity",
    "turning_angles",
]

def _kernels():
    """The numba kernels, imported on first use: the rest of this module is numpy, and
    ``learned.runtime`` (which games import at start-up) uses it without paying for numba.
    Under a lock: two threads importing numba at once can see it half-initialised."""
    with _IMPORT_LOCK:
        from ._kernels import paths
    return paths


_IMPORT_LOCK = threading.Lock()

#: Turning angles with a root-mean-square below this (radians) count as a straight path in
#: :func:`meander_wavelength`.
STRAIGHT_RMS = 1e-10


def _as_paths(path, *, name: str = "path", min_points: int = 2) -> np.ndarray:
    """``path`` as a float64 ``(N, 2)`` or ``(B, N, 2)`` array of finite points."""
    arr = np.asarray(path, dtype=np.float64)
    if arr.ndim not in (2, 3) or arr.shape[-1] != 2 or arr.shape[-2] < min_points:
        raise ValueError(f"{name} must have shape (N, 2) or (B, N, 2) with N >= {min_points}, "
                         f"got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _map_xy(path: np.ndarray):
    """Map-frame ``x = col``, ``y = -row`` (y grows northward)."""
    return path[..., 1], -path[..., 0]


def arc_length(path) -> np.ndarray:
    """Cumulative arc length along a polyline.

    Parameters
    ----------
    path : array_like, shape (N, 2) or (B, N, 2)
        ``(row, col)`` points, N >= 1.

    Returns
    -------
    numpy.ndarray, shape (N,) or (B, N)
        Length of the path from its first point to each point; the first entry is 0.

    Examples
    --------
    >>> from procgen.paths import arc_length
    >>> arc_length([[0, 0], [3, 4], [3, 5]])
    array([0., 5., 6.])
    """
    p = _as_paths(path, min_points=1)
    seg = np.hypot(*np.moveaxis(np.diff(p, axis=-2), -1, 0))
    out = np.zeros(p.shape[:-1])
    np.cumsum(seg, axis=-1, out=out[..., 1:])
    return out


def resample(path, n) -> np.ndarray:
    """Resample a polyline to ``n`` points equally spaced in arc length.

    Point ``j`` lies at arc length ``L * j / (n - 1)`` along the input (``L`` its total
    length), linearly interpolated on the segment that holds it. The first and last points are
    kept exactly; zero-length segments (repeated points) are skipped. Note that the spacing is
    equal along the *input* path: where a sample interval spans a corner, the straight distance
    between consecutive output points is shorter than ``L / (n - 1)``.

    Parameters
    ----------
    path : array_like, shape (N, 2) or (B, N, 2)
        ``(row, col)`` points, N >= 2, finite.
    n : int
        Number of output points, >= 2.

    Returns
    -------
    numpy.ndarray, shape (n, 2) or (B, n, 2)
        float64 points. A path of zero length gives ``n`` copies of its first point (and its
        last point last, which is the same point).

    Examples
    --------
    >>> from procgen.paths import resample
    >>> resample([[0, 0], [0, 2], [0, 2], [2, 2]], 5)
    array([[0., 0.],
           [0., 1.],
           [0., 2.],
           [1., 2.],
           [2., 2.]])
    """
    p = _as_paths(path)
    n = check_int("n", n, lo=2)
    batch = p.reshape(-1, p.shape[-2], 2)
    cum = np.ascontiguousarray(arc_length(batch))
    out = np.empty((batch.shape[0], n, 2))
    _kernels().resample(np.ascontiguousarray(batch), cum, out)
    return out.reshape(p.shape[:-2] + (n, 2))


def turning_angles(path) -> np.ndarray:
    """Signed turning angle at each interior vertex, in (-pi, pi].

    The angle from segment ``i`` (points ``i -> i+1``) to segment ``i + 1``, positive for a
    left (counter-clockwise on the north-up map) turn, computed as ``atan2(cross, dot)`` of the
    two segment vectors in the map frame ``(x, y) = (col, -row)``. A zero-length segment gives
    turning angles of 0 on both sides: resample first if the path repeats points.

    Parameters
    ----------
    path : array_like, shape (N, 2) or (B, N, 2)
        ``(row, col)`` points, N >= 2, finite.

    Returns
    -------
    numpy.ndarray, shape (N - 2,) or (B, N - 2)
        float64 radians; an exact reversal is ``+pi``.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.paths import turning_angles
    >>> # east, then north (a left turn), then east again (a right turn)
    >>> turning_angles([[0, 0], [0, 1], [-1, 1], [-1, 2]]) / np.pi
    array([ 0.5, -0.5])
    """
    p = _as_paths(path)
    x, y = _map_xy(np.diff(p, axis=-2))
    x0, y0, x1, y1 = x[..., :-1], y[..., :-1], x[..., 1:], y[..., 1:]
    ang = np.arctan2(x0 * y1 - y0 * x1, x0 * x1 + y0 * y1)
    ang[ang == -np.pi] = np.pi
    return ang


def angles_to_path(turns, *, step=1.0, heading=0.0, start=(0.0, 0.0)) -> np.ndarray:
    """Build the polyline with the given turning angles and equal steps (inverse of
    :func:`turning_angles`).

    Segment ``i`` has heading ``heading + sum(turns[:i])`` and length ``step``, so that
    ``turning_angles(angles_to_path(t))`` returns ``t`` (to rounding) for ``|t| < pi``.

    Parameters
    ----------
    turns : array_like, shape (N - 2,) or (B, N - 2)
        Turning angles in radians, positive = left, finite.
    step : float, optional
        Length of every segment, > 0. Default 1.
    heading : float or array_like of shape (B,), optional
        Heading of the first segment in radians (0 = east, pi/2 = north). Default 0.
    start : array_like, shape (2,) or (B, 2), optional
        ``(row, col)`` of the first point. Default ``(0, 0)``.

    Returns
    -------
    numpy.ndarray, shape (N, 2) or (B, N, 2)
        float64 ``(row, col)`` points.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.paths import angles_to_path, turning_angles
    >>> t = np.array([0.3, -1.2, 2.5])
    >>> bool(np.allclose(turning_angles(angles_to_path(t, step=0.5, heading=1.0)), t))
    True
    """
    t = np.asarray(turns, dtype=np.float64)
    if t.ndim not in (1, 2):
        raise ValueError(f"turns must have shape (N - 2,) or (B, N - 2), got {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("turns must be finite")
    step = check_float("step", step, lo=0.0, lo_open=True)
    h = np.asarray(heading, dtype=np.float64)
    s = np.asarray(start, dtype=np.float64)
    if not (np.all(np.isfinite(h)) and np.all(np.isfinite(s))):
        raise ValueError("heading and start must be finite")
    if s.shape[-1:] != (2,):
        raise ValueError(f"start must be a (row, col) pair or (B, 2) array, got shape {s.shape}")
    batch = t.shape[:-1]
    if not (_broadcasts(h.shape, batch) and _broadcasts(s.shape[:-1], batch)):
        raise ValueError(f"heading (shape {h.shape}) and start (shape {s.shape}) must match "
                         f"the batch of turns {batch}")
    phi = np.empty(batch + (t.shape[-1] + 1,))
    phi[..., 0] = 0.0
    np.cumsum(t, axis=-1, out=phi[..., 1:])
    phi += h[..., None]
    out = np.empty(batch + (t.shape[-1] + 2, 2))
    out[..., 0, :] = s
    np.cumsum(-step * np.sin(phi), axis=-1, out=out[..., 1:, 0])
    np.cumsum(step * np.cos(phi), axis=-1, out=out[..., 1:, 1])
    out[..., 1:, :] += s[..., None, :]
    return out


def canonical(path) -> np.ndarray:
    """Express a path in its chord frame: start at the origin, end at ``(1, 0)``.

    Translate the start to the origin, then rotate and scale so that the chord (start -> end)
    lies along +x with length 1. The result is in an ``(x, y)`` frame, **not** ``(row, col)``:
    ``x`` is the distance along the chord and ``y`` the distance to the left of the chord (as
    seen on the north-up map), both in chord lengths. A mirror image is never applied, so left
    turns stay left turns and turning angles are unchanged.

    Parameters
    ----------
    path : array_like, shape (N, 2) or (B, N, 2)
        ``(row, col)`` points, N >= 2, finite.

    Returns
    -------
    numpy.ndarray, shape (N, 2) or (B, N, 2)
        float64 ``(x, y)`` points; the first is exactly ``(0, 0)`` and the last exactly
        ``(1, 0)``. A closed path (end == start) has no chord: its points are all NaN.

    See Also
    --------
    place : the inverse.

    Examples
    --------
    >>> from procgen.paths import canonical
    >>> # start (row 2, col 1), end two cells north; the midpoint bulges one cell west (left)
    >>> canonical([[2.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    array([[0. , 0. ],
           [0.5, 0.5],
           [1. , 0. ]])
    """
    p = _as_paths(path)
    x, y = _map_xy(p - p[..., :1, :])
    cx, cy = x[..., -1:], y[..., -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / (cx * cx + cy * cy)
        out = np.empty(p.shape)
        out[..., 0] = (x * cx + y * cy) * inv
        out[..., 1] = (y * cx - x * cy) * inv
    out[..., 0, :] = 0.0
    out[..., -1, :] = (1.0, 0.0)
    closed = ~np.isfinite(inv[..., 0])
    out[closed] = np.nan
    return out


def place(canonical_xy, start_rc, end_rc) -> np.ndarray:
    """Map a canonical shape onto the chord between two ``(row, col)`` points.

    The inverse of :func:`canonical`: ``(0, 0)`` goes to ``start_rc``, ``(1, 0)`` to
    ``end_rc``, and ``+y`` (left of the chord) to the left of the start -> end direction on the
    north-up map. The shape is rotated and scaled uniformly (never mirrored).

    Parameters
    ----------
    canonical_xy : array_like, shape (N, 2) or (B, N, 2)
        ``(x, y)`` points in chord lengths (see :func:`canonical`), finite.
    start_rc, end_rc : array_like, shape (2,) or (B, 2)
        ``(row, col)`` of the chord's ends.

    Returns
    -------
    numpy.ndarray, shape (N, 2) or (B, N, 2)
        float64 ``(row, col)`` points.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.paths import canonical, place
    >>> path = np.array([[5.0, 5.0], [3.0, 7.0], [4.0, 9.0], [1.0, 8.0]])
    >>> bool(np.allclose(place(canonical(path), path[0], path[-1]), path))
    True
    """
    q = _as_paths(canonical_xy, name="canonical_xy", min_points=1)
    s = np.asarray(start_rc, dtype=np.float64)
    e = np.asarray(end_rc, dtype=np.float64)
    if s.shape[-1:] != (2,) or e.shape[-1:] != (2,):
        raise ValueError(f"start_rc and end_rc must be (row, col) pairs, got shapes "
                         f"{s.shape} and {e.shape}")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(e))):
        raise ValueError("start_rc and end_rc must be finite")
    cx = (e[..., 1] - s[..., 1])[..., None]
    cy = (s[..., 0] - e[..., 0])[..., None]
    x, y = q[..., 0], q[..., 1]
    mx = x * cx - y * cy
    my = x * cy + y * cx
    return np.stack([s[..., None, 0] - my, s[..., None, 1] + mx], axis=-1)


def sinuosity(path) -> np.ndarray | float:
    """Arc length divided by chord (start-to-end straight) length.

    Parameters
    ----------
    path : array_like, shape (N, 2) or (B, N, 2)
        ``(row, col)`` points, N >= 2, finite.

    Returns
    -------
    float or numpy.ndarray of shape (B,)
        >= 1 for any path; exactly 1 for a straight one. A closed path (end == start, chord 0)
        gives ``inf``; a path of zero length gives ``nan``.

    Examples
    --------
    >>> from procgen.paths import sinuosity
    >>> float(sinuosity([[0, 0], [0, 1], [0, 2]]))
    1.0
    >>> float(sinuosity([[0, 0], [0, 1], [0, 0]]))
    inf
    """
    p = _as_paths(path)
    arc = arc_length(p)[..., -1]
    chord = np.hypot(*np.moveaxis(p[..., -1, :] - p[..., 0, :], -1, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return _scalar_or(arc / chord)



def scale_to_sinuosity(turns, target, *, rtol=1e-6, max_iter=50) -> np.ndarray:
    """Turning angles multiplied by one factor per path so that the equal-step path they
    draw (:func:`angles_to_path`) has the ``target`` sinuosity.

    Headings are cumulative sums of the turns, so scaling the turns by ``a`` scales every
    heading by ``a``; the chord ``|sum_k exp(i a H_k)|`` is then smooth in ``a``, and a
    bracketed Newton iteration from ``a = 1`` finds the factor nearest to 1 on the side it
    starts from (``a`` < 1 straightens, ``a`` > 1 bends more). The shape's pattern (where it
    turns, its autocorrelation, the signs) is kept; only the amplitude changes.

    Parameters
    ----------
    turns : array_like, shape (N - 2,) or (B, N - 2)
        Turning angles in radians, finite.
    target : float or array_like of shape (B,)
        Sinuosity wanted, >= 1 and finite.
    rtol : float, optional
        Relative tolerance on the sinuosity reached. Default 1e-6.
    max_iter : int, optional
        Iterations at most (each halves the bracket or takes a Newton step). Default 50.

    Returns
    -------
    numpy.ndarray, the shape of ``turns``, float64
        The scaled turns (not wrapped). A path whose turns are all zero stays straight
        whatever the target; where the target is out of reach (beyond 64 times the turns),
        the factor that came closest is used.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.paths import angles_to_path, scale_to_sinuosity, sinuosity
    >>> turns = 0.2 * np.sin(np.arange(62) / 4.0)
    >>> round(float(sinuosity(angles_to_path(turns))), 3)
    1.183
    >>> scaled = scale_to_sinuosity(turns, 1.5)
    >>> round(float(sinuosity(angles_to_path(scaled))), 6)
    1.5
    """
    t = np.asarray(turns, dtype=np.float64)
    if t.ndim not in (1, 2) or not np.all(np.isfinite(t)):
        raise ValueError(f"turns must be finite with shape (N - 2,) or (B, N - 2), got shape "
                         f"{t.shape}")
    paths = t.reshape(-1, t.shape[-1])
    goal = np.asarray(target, dtype=np.float64)
    if not _broadcasts(goal.shape, t.shape[:-1]) or not np.all(np.isfinite(goal) & (goal >= 1)):
        raise ValueError(f"target must be finite and >= 1, one value or one per path "
                         f"({t.shape[:-1]}), got {target!r}")
    goal = np.broadcast_to(goal, t.shape[:-1]).reshape(-1)
    check_float("rtol", rtol, lo=0.0, lo_open=True)
    check_int("max_iter", max_iter, lo=1)
    heading = np.zeros((len(paths), t.shape[-1] + 1))
    np.cumsum(paths, axis=1, out=heading[:, 1:])
    steps = heading.shape[1]

    def sinuosity_and_slope(a, h):
        phase = a[:, None] * h
        cos, sin = np.cos(phase), np.sin(phase)
        cx, cy = cos.sum(axis=1), sin.sum(axis=1)
        dx, dy = -(h * sin).sum(axis=1), (h * cos).sum(axis=1)
        mod2 = cx * cx + cy * cy
        with np.errstate(divide="ignore", invalid="ignore"):
            s = steps / np.sqrt(mod2)
            return s, -steps * (cx * dx + cy * dy) / mod2 ** 1.5

    best = np.ones(len(paths))
    # the paths still iterating (most converge in a few steps; the rest cost the same)
    idx = np.arange(len(paths))
    a, h, g = best.copy(), heading, goal
    lo, hi = np.zeros(len(paths)), np.full(len(paths), np.inf)
    best_err = np.full(len(paths), np.inf)
    for _ in range(max_iter):
        s, slope = sinuosity_and_slope(a, h)
        err = np.abs(s - g)
        better = err < best_err[idx]
        best[idx[better]], best_err[idx[better]] = a[better], err[better]
        todo = ~(err <= rtol * g)
        if not todo.any():
            break
        idx, a, h, g, s, slope = idx[todo], a[todo], h[todo], g[todo], s[todo], slope[todo]
        lo, hi = lo[todo], hi[todo]
        below = s < g
        lo = np.where(below, a, lo)
        hi = np.where(below, hi, a)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = a - (s - g) / slope
        inside = np.isfinite(newton) & (newton > lo) & (newton < hi)
        # no upper bound yet: double (at most to 64); else bisect the bracket
        fallback = np.where(np.isfinite(hi), 0.5 * (lo + hi), np.minimum(2.0 * a, 64.0))
        a = np.where(inside, newton, fallback)
    return (paths * best[:, None]).reshape(t.shape)


def _uniform_turns(path, n_samples):
    """Turning angles of the path resampled to ``n_samples`` points, and the sample spacing."""
    p = _as_paths(path)
    m = p.shape[-2] if n_samples is None else check_int("n_samples", n_samples, lo=3)
    if m < 3:
        raise ValueError(f"the path needs N >= 3 points (or n_samples >= 3), got N = {m}")
    ds = arc_length(p)[..., -1] / (m - 1)
    return turning_angles(resample(p, m)), ds


def meander_wavelength(path, *, n_samples=None, pad=4) -> np.ndarray | float:
    """Dominant meander wavelength, in path-length units, from the curvature periodogram.

    Method: resample the path to ``n_samples`` points equally spaced in arc length (spacing
    ``ds = L / (n_samples - 1)``, ``L`` the input's arc length), take its ``K = n_samples - 2``
    turning angles (curvature times ``ds``), remove their mean, and compute the periodogram
    ``|rfft(a, pad * K)|**2`` (numpy FFT, zero-padded ``pad`` times). The peak is searched
    among wavelengths no longer than the record (``K * ds``), refined by a parabola through the
    peak bin and its two neighbours, and returned as ``ds / f`` with ``f`` in cycles per sample.

    Resolution: FFT bins are ``1 / (pad * K * ds)`` apart, and the periodogram's own resolution
    is ``1 / (K * ds)`` (one cycle per record): two meander modes closer than that are not told
    apart, and a path holding few wavelengths gives a coarse estimate. For one dominant mode
    and a path of a few wavelengths or more, the refined peak is within a few percent.

    Parameters
    ----------
    path : array_like, shape (N, 2) or (B, N, 2)
        ``(row, col)`` points, finite.
    n_samples : int, optional
        Points to resample to, >= 3. Default: N, the path's own number of points.
    pad : int, optional
        Zero-padding factor of the FFT, 1..64. Default 4.

    Returns
    -------
    float or numpy.ndarray of shape (B,)
        The wavelength; ``nan`` where it is undefined: a straight path or one of constant
        curvature (turning angles with RMS below ``STRAIGHT_RMS`` after removing the mean),
        or fewer than 4 turning angles.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.paths import angles_to_path, meander_wavelength
    >>> s = np.arange(398)
    >>> turns = 0.3 * np.cos(2 * np.pi * s / 50.0)     # curvature with wavelength 50 steps
    >>> round(float(meander_wavelength(angles_to_path(turns, step=2.0))))
    100
    >>> float(meander_wavelength([[0, 0], [0, 1], [0, 2], [0, 3], [0, 4], [0, 5]]))
    nan
    """
    pad = check_int("pad", pad, lo=1, hi=64)
    a, ds = _uniform_turns(path, n_samples)
    k = a.shape[-1]
    batch = a.shape[:-1]
    if k < 4:
        return _scalar_or(np.full(batch, np.nan))
    a = a - a.mean(axis=-1, keepdims=True)
    power = np.abs(np.fft.rfft(a, n=pad * k, axis=-1)) ** 2
    power = power.reshape(-1, power.shape[-1])
    lo = pad                                   # one cycle per record
    j = lo + np.argmax(power[:, lo:], axis=-1)
    rows = np.arange(power.shape[0])
    shift = np.zeros(power.shape[0])
    inner = j < power.shape[1] - 1
    pm = power[rows[inner], j[inner] - 1]
    p0 = power[rows[inner], j[inner]]
    pp = power[rows[inner], j[inner] + 1]
    denom = pm - 2.0 * p0 + pp
    with np.errstate(divide="ignore", invalid="ignore"):
        shift[inner] = np.where(denom < 0.0, 0.5 * (pm - pp) / denom, 0.0)
    freq = (j + np.clip(shift, -0.5, 0.5)) / (pad * k)      # cycles per sample
    wave = np.asarray(ds, dtype=np.float64).reshape(-1) / freq
    straight = np.sqrt(np.mean(a.reshape(-1, k) ** 2, axis=-1)) < STRAIGHT_RMS
    wave[straight] = np.nan
    return _scalar_or(wave.reshape(batch))


def heading_autocorrelation(path, max_lag, *, n_samples=None) -> np.ndarray:
    """Autocorrelation of the turning angles of the uniformly resampled path, lags 1..max_lag.

    The path is resampled to ``n_samples`` points equally spaced in arc length and its turning
    angles ``a`` (the heading changes per step) are taken; the estimate at lag ``k`` is
    ``sum_i (a_i - m)(a_{i+k} - m) / sum_i (a_i - m)**2`` with ``m`` the mean (the usual biased
    estimator, which shrinks towards 0 at long lags). A fair coin-flip walk gives ~0 at every
    lag; a meandering river gives positive values at short lags.

    Parameters
    ----------
    path : array_like, shape (N, 2) or (B, N, 2)
        ``(row, col)`` points, finite.
    max_lag : int
        Largest lag, 1 <= max_lag < K where K = n_samples - 2 is the number of turning angles.
    n_samples : int, optional
        Points to resample to, >= 3. Default: N, the path's own number of points.

    Returns
    -------
    numpy.ndarray, shape (max_lag,) or (B, max_lag)
        Autocorrelation at lags 1..max_lag; ``nan`` where the turning angles are constant.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.paths import angles_to_path, heading_autocorrelation
    >>> zigzag = angles_to_path(np.tile([0.5, -0.5], 50))
    >>> np.round(heading_autocorrelation(zigzag, 2), 2)
    array([-0.99,  0.98])
    """
    a, _ = _uniform_turns(path, n_samples)
    k = a.shape[-1]
    max_lag = check_int("max_lag", max_lag, lo=1, hi=max(k - 1, 1))
    if k < 2:
        raise ValueError(f"max_lag needs at least 2 turning angles, got {k}")
    a = a - a.mean(axis=-1, keepdims=True)
    var = np.sum(a * a, axis=-1)
    out = np.empty(a.shape[:-1] + (max_lag,))
    for lag in range(1, max_lag + 1):
        out[..., lag - 1] = np.sum(a[..., :-lag] * a[..., lag:], axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out /= var[..., None]
    out[var <= (STRAIGHT_RMS ** 2) * k] = np.nan
    return out


def self_intersection_count(path) -> np.ndarray | int:
    """Number of pairs of segments of a polyline that meet (other than at a shared vertex).

    Consecutive duplicate points are merged first. A pair counts when the two closed segments
    share a point: non-adjacent segments that cross, touch, or overlap; and adjacent segments
    that overlap beyond their shared vertex (the path folds straight back, a turn of pi). A
    path that returns to its start therefore counts its first and last segments.

    The test is the classic one with orientation signs (no tolerance): each sign is the sign of
    ``(b - a) x (c - a)`` evaluated in float64. It is exact whenever those differences and
    products are exact (e.g. integer coordinates below 2**26); otherwise a configuration that
    touches or is collinear to within rounding may go either way. Segments are swept along the
    wider axis, so only pairs whose extents overlap are tested: close to linear time for a
    river-like path, O(N**2) at worst.

    Parameters
    ----------
    path : array_like, shape (N, 2) or (B, N, 2)
        ``(row, col)`` points, N >= 2, finite.

    Returns
    -------
    int or numpy.ndarray of shape (B,) int64

    Examples
    --------
    >>> from procgen.paths import self_intersection_count
    >>> figure_eight = [[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]
    >>> self_intersection_count(figure_eight)   # the crossing, and start == end
    2
    """
    return _intersections(path, first_only=False)


def self_intersects(path) -> np.ndarray | bool:
    """Whether any two segments of a polyline meet (see :func:`self_intersection_count`).

    Parameters
    ----------
    path : array_like, shape (N, 2) or (B, N, 2)
        ``(row, col)`` points, N >= 2, finite.

    Returns
    -------
    bool or numpy.ndarray of shape (B,) bool
        Stops at the first pair found, so it is faster than counting.

    Examples
    --------
    >>> from procgen.paths import self_intersects
    >>> self_intersects([[0, 0], [0, 1], [1, 1], [1, 2]])
    False
    >>> self_intersects([[0, 0], [2, 2], [2, 0], [0, 2]])
    True
    """
    out = _intersections(path, first_only=True)
    return bool(out) if np.ndim(out) == 0 else out.astype(bool)


def _intersections(path, *, first_only):
    p = _as_paths(path)
    batch = np.ascontiguousarray(p.reshape(-1, p.shape[-2], 2))
    # sweep set-up in numpy: axis of the wider extent, each segment's low end along it
    # (inf for zero-length segments, which sort last), the sweep order, and each segment's
    # index among the non-zero-length ones (to tell which segments are adjacent)
    rows, cols = batch[..., 0], batch[..., 1]
    wide_cols = cols.max(axis=1) - cols.min(axis=1) > rows.max(axis=1) - rows.min(axis=1)
    along = np.where(wide_cols[:, None], cols, rows)
    lo = np.minimum(along[:, :-1], along[:, 1:])
    moving = (rows[:, 1:] != rows[:, :-1]) | (cols[:, 1:] != cols[:, :-1])
    lo[~moving] = np.inf
    order = np.argsort(lo, axis=1, kind="stable")
    rank = np.cumsum(moving, axis=1) - 1
    out = np.empty(batch.shape[0], np.int64)
    _kernels().self_intersections(batch, lo, order, rank, wide_cols.astype(np.int64), first_only,
                           out)
    return int(out[0]) if p.ndim == 2 else out


def _broadcasts(shape, target) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _scalar_or(values: np.ndarray):
    return float(values) if values.ndim == 0 else values
