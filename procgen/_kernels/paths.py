"""Polyline kernels: arc-length resampling and segment self-intersection.

Paths come as a batch ``(B, N, 2)`` of float64 points; the kernels run in parallel over the
batch. Coordinates are used as given (the orientation tests do not care which axis is which).
Sorting is left to the caller (numpy's argsort): numba's own sort is slow to compile.
"""

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def resample(paths, cum, out):
    """Resample each path to ``M = out.shape[1]`` points equally spaced in arc length.

    paths : (B, N, 2) float64, N >= 2; cum : (B, N) float64 cumulative arc length (``cum[:, 0]``
    = 0, non-decreasing); out : (B, M, 2) float64, M >= 2, written.

    Target ``j`` sits at arc length ``t = L * j / (M - 1)`` and is interpolated linearly on the
    segment that holds it; zero-length segments are skipped; the first and last points are
    copied exactly.
    """
    for b in prange(paths.shape[0]):
        resample_one(paths[b], cum[b], out[b])


@njit(cache=True)
def resample_one(path, cum, out):
    """:func:`resample` of one path: ``path`` (N, 2), ``cum`` (N,), ``out`` (M, 2) written."""
    n = path.shape[0]
    m = out.shape[0]
    total = cum[n - 1]
    out[0, 0] = path[0, 0]
    out[0, 1] = path[0, 1]
    out[m - 1, 0] = path[n - 1, 0]
    out[m - 1, 1] = path[n - 1, 1]
    seg = 0
    for j in range(1, m - 1):
        t = total * j / (m - 1)
        while seg < n - 2 and cum[seg + 1] <= t:
            seg += 1
        d = cum[seg + 1] - cum[seg]
        f = 0.0
        if d > 0.0:
            f = min(max((t - cum[seg]) / d, 0.0), 1.0)
        for a in range(2):
            p0 = path[seg, a]
            out[j, a] = p0 + f * (path[seg + 1, a] - p0)


@njit(cache=True)
def _orient(ax, ay, bx, by, cx, cy):
    """Sign (-1, 0, 1) of the cross product (b - a) x (c - a)."""
    v = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
    if v > 0.0:
        return 1
    if v < 0.0:
        return -1
    return 0


@njit(cache=True)
def _within(ax, ay, bx, by, cx, cy):
    """Whether c (collinear with segment ab) lies in ab's bounding box."""
    return min(ax, bx) <= cx <= max(ax, bx) and min(ay, by) <= cy <= max(ay, by)


@njit(cache=True)
def _segments_meet(ax, ay, bx, by, cx, cy, dx, dy):
    """Whether closed segments ab and cd share at least one point (orientation tests)."""
    o1 = _orient(ax, ay, bx, by, cx, cy)
    o2 = _orient(ax, ay, bx, by, dx, dy)
    o3 = _orient(cx, cy, dx, dy, ax, ay)
    o4 = _orient(cx, cy, dx, dy, bx, by)
    if o1 * o2 < 0 and o3 * o4 < 0:
        return True
    if o1 == 0 and _within(ax, ay, bx, by, cx, cy):
        return True
    if o2 == 0 and _within(ax, ay, bx, by, dx, dy):
        return True
    if o3 == 0 and _within(cx, cy, dx, dy, ax, ay):
        return True
    if o4 == 0 and _within(cx, cy, dx, dy, bx, by):
        return True
    return False


@njit(cache=True)
def _fold_back(ax, ay, bx, by, cx, cy):
    """Whether segment bc runs straight back along ab (collinear, opposite direction)."""
    dot = (bx - ax) * (cx - bx) + (by - ay) * (cy - by)
    return _orient(ax, ay, bx, by, cx, cy) == 0 and dot < 0.0


@njit(cache=True)
def _sweep_pairs(p, lo, order, rank, ax_s, first_only):
    """Pairs of non-adjacent segments of one path ``p`` (N, 2) that meet, found by a sweep
    along axis ``ax_s`` over the segments in ``order`` (sorted by ``lo``, their smaller
    coordinate on that axis, ``inf`` for zero-length ones; ``rank``: index among the
    non-zero-length ones); with ``first_only``, 0 or 1."""
    ns = p.shape[0] - 1
    ax_o = 1 - ax_s
    count = 0
    for q0 in range(ns):
        a = order[q0]
        if lo[a] == np.inf:
            break                     # only zero-length segments are left
        a_hi = max(p[a, ax_s], p[a + 1, ax_s])
        a_olo = min(p[a, ax_o], p[a + 1, ax_o])
        a_ohi = max(p[a, ax_o], p[a + 1, ax_o])
        for q in range(q0 + 1, ns):
            s = order[q]
            if lo[s] > a_hi:
                break
            if abs(rank[s] - rank[a]) == 1:
                continue
            if (max(p[s, ax_o], p[s + 1, ax_o]) < a_olo
                    or min(p[s, ax_o], p[s + 1, ax_o]) > a_ohi):
                continue
            if _segments_meet(p[a, 0], p[a, 1], p[a + 1, 0], p[a + 1, 1],
                              p[s, 0], p[s, 1], p[s + 1, 0], p[s + 1, 1]):
                count += 1
                if first_only:
                    return count
    return count


@njit(cache=True, parallel=True)
def self_intersections(paths, lo, order, rank, axis, first_only, out):
    """Number of self-intersecting segment pairs of each path, by a sweep along one axis.

    paths : (B, N, 2) float64; segment ``s`` of path ``b`` runs from point ``s`` to ``s + 1``.
    lo : (B, N - 1) float64, each segment's smaller coordinate along the sweep axis, ``inf``
    for a zero-length segment; order : (B, N - 1) int64, the segments sorted by ``lo``;
    rank : (B, N - 1) int64, index of each segment among the non-zero-length ones;
    axis : (B,) int64 sweep axis (0 or 1); first_only : bool, stop at the first pair found
    (out is then 0 or 1); out : (B,) int64, written.

    Zero-length segments are ignored (consecutive duplicate points are merged). A pair counts
    when the closed segments share a point: non-adjacent segments that cross or touch, and
    adjacent segments that overlap beyond their shared vertex (the path folds straight back).
    Only pairs whose extents overlap along the sweep axis and across it are tested.
    """
    nb, n, _ = paths.shape
    ns = n - 1
    for b in prange(nb):
        p = paths[b]
        count = 0
        # adjacent segments (skipping zero-length ones): fold-backs
        prev = -1
        for s in range(ns):
            if lo[b, s] == np.inf:
                continue
            if prev >= 0 and _fold_back(p[prev, 0], p[prev, 1], p[s, 0], p[s, 1],
                                        p[s + 1, 0], p[s + 1, 1]):
                count += 1
            prev = s
        if first_only and count > 0:
            out[b] = 1
            continue
        out[b] = count + _sweep_pairs(p, lo[b], order[b], rank[b], axis[b], first_only)
