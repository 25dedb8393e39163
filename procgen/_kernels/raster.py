"""Rasterising polylines into 8-connected cell sequences."""

import numpy as np
from numba import njit


@njit(cache=True)
def polyline_cells(rows, cols):
    """Cells visited by a polyline through integer cells, in order, each step 8-connected.

    Consecutive vertices are joined with Bresenham's line (Bresenham 1965); repeated cells
    where two vertices share a cell are written once. rows, cols : (N,) int64.
    Returns (cells, segment): (M, 2) int64 ``(row, col)``, in which every vertex's cell
    appears in vertex order, and (M,) int64 the index of the vertex each cell's segment
    starts from.
    """
    n = rows.shape[0]
    total = 1
    for t in range(n - 1):
        total += max(abs(rows[t + 1] - rows[t]), abs(cols[t + 1] - cols[t]))
    out = np.empty((total, 2), np.int64)
    segment = np.zeros(total, np.int64)
    out[0, 0] = rows[0]
    out[0, 1] = cols[0]
    m = 1
    for t in range(n - 1):
        r0 = rows[t]
        c0 = cols[t]
        dr = abs(rows[t + 1] - r0)
        dc = abs(cols[t + 1] - c0)
        sr = 1 if rows[t + 1] > r0 else -1
        sc = 1 if cols[t + 1] > c0 else -1
        err = dc - dr
        r = r0
        c = c0
        while r != rows[t + 1] or c != cols[t + 1]:
            e2 = 2 * err
            step_r = False
            step_c = False
            if e2 > -dr:
                err -= dr
                step_c = True
            if e2 < dc:
                err += dc
                step_r = True
            if step_c:
                c += sc
            if step_r:
                r += sr
            out[m, 0] = r
            out[m, 1] = c
            segment[m] = t
            m += 1
    return out[:m], segment[:m]
