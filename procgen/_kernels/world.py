"""Kernels of endless worlds: valleys from river cells given by coordinates.

A world's river cells are stored per landmass, not on one grid, so these take ``(row, col)``
coordinates (possibly outside the grid they write) instead of flat indices. Both kernels
compute a valley's height at distance ``d`` from a river cell with one expression,
``float32(float64(z) + slope * d)``, so that what :func:`relax_beds` promises (no river cell
lies above another's valley) holds bit for bit on every grid :func:`carve_valleys_at` writes.
"""

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _valley(z, slope, dist):
    return np.float32(np.float64(z) + slope * dist)


@njit(cache=True)
def carve_valleys_at(height, row0, col0, rows, cols, z, radius, slope):
    """``height = min(height, valley)`` for the river cells ``(rows, cols)``.

    height : (R, C) float32, written; its cell ``[i, j]`` is global ``(row0 + i, col0 + j)``.
    rows, cols : (M,) int64 global cells; z : (M,) float32 bed heights; radius : (M,) float64
    valley half-widths in cells; slope : metres per cell of distance. Cells whose valley
    misses the grid are skipped.
    """
    nr, nc = height.shape
    for t in range(rows.shape[0]):
        r0 = rows[t] - row0
        c0 = cols[t] - col0
        rad = radius[t]
        reach = np.int64(np.ceil(rad))
        if r0 + reach < 0 or r0 - reach >= nr or c0 + reach < 0 or c0 - reach >= nc:
            continue
        for rr in range(max(0, r0 - reach), min(nr, r0 + reach + 1)):
            for cc in range(max(0, c0 - reach), min(nc, c0 + reach + 1)):
                dist = np.sqrt(np.float64((rr - r0) ** 2 + (cc - c0) ** 2))
                if dist > rad:
                    continue
                v = _valley(z[t], slope, dist)
                if v < height[rr, cc]:
                    height[rr, cc] = v


@njit(cache=True)
def relax_beds(rows, cols, offsets, z, radius, slope, nrows, ncols, max_passes):
    """Lower river beds until they are consistent with every valley and flow downhill.

    rows, cols : (M,) int64 cells in ``[0, nrows) x [0, ncols)``, rivers back to back
    (river k is ``offsets[k]:offsets[k+1]``, source first); z : (M,) float32, lowered in
    place. Repeats, until nothing changes: every cell's bed becomes at most the valley of
    every river cell within that cell's radius (two entries on one cell get the lower bed),
    then a running minimum along each river. Returns the number of passes.
    """
    m = rows.shape[0]
    # Entries by cell: head[cell] is the first entry on it, nxt chains the others.
    head = np.full(nrows * ncols, -1, np.int64)
    nxt = np.full(m, -1, np.int64)
    for t in range(m):
        key = rows[t] * ncols + cols[t]
        nxt[t] = head[key]
        head[key] = t
    for p in range(max_passes):
        changed = False
        for t in range(m):
            reach = np.int64(np.ceil(radius[t]))
            for rr in range(max(0, rows[t] - reach), min(nrows, rows[t] + reach + 1)):
                for cc in range(max(0, cols[t] - reach), min(ncols, cols[t] + reach + 1)):
                    u = head[rr * ncols + cc]
                    if u < 0:
                        continue
                    dist = np.sqrt(np.float64((rr - rows[t]) ** 2 + (cc - cols[t]) ** 2))
                    if dist > radius[t]:
                        continue
                    v = _valley(z[t], slope, dist)
                    while u >= 0:
                        if v < z[u]:
                            z[u] = v
                            changed = True
                        u = nxt[u]
        for k in range(offsets.shape[0] - 1):
            for t in range(offsets[k] + 1, offsets[k + 1]):
                if z[t] > z[t - 1]:
                    z[t] = z[t - 1]
                    changed = True
        if not changed:
            return p + 1
    return max_passes
