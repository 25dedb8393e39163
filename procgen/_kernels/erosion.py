"""Stream-power erosion kernel: one implicit step of detachment-limited incision.

Grids and D8 codes as in :mod:`procgen._kernels.hydrology` (flat indices
``i = row * ncols + col``; code ``k`` points to ``(row + DR[k], col + DC[k])``, -1 = none).
"""

import numpy as np
from numba import njit

from .hydrology import DC, DIST, DR


@njit(cache=True)
def stream_power_step(height, directions, order, area, floor, k_dt, channel_area):
    """One implicit stream-power step, ``dh/dt = -K A**0.5 S``, in place on ``height``.

    Braun & Willett (2013)'s O(n) scheme for n = 1: every cell's new height is solved from
    its receiver's new height, ``h_i = (h_i + F h_r) / (1 + F)`` with
    ``F = k_dt * sqrt(A_i) / d_ir`` (A_i in cells, d_ir the step to the receiver in cells, so
    the step is the same at every cell size), visiting receivers before their donors. A
    cell below its receiver (a pit the directions route out of) is raised towards it: the
    depression fills with what is worn from above. No cell goes below ``floor``; cells
    draining fewer than ``channel_area`` cells (hillslopes) keep their heights.

    height : (R, C) float32, updated in place. directions : (R, C) int8 D8 codes of a
    surface where every path ends (e.g. :func:`~procgen._kernels.hydrology.d8_directions`
    of the depression-filled heights). order : (R*C,) int64 flat indices, every cell before
    its receiver (:func:`procgen._kernels.rivers.topological_order`). area : (R*C,) float64
    cells drained through each cell (:func:`~procgen._kernels.hydrology.accumulate`).
    floor : (R, C) float32. k_dt : float, K times the time step. channel_area : float, cells.
    """
    nc = directions.shape[1]
    dirs = directions.ravel()
    h = height.ravel()
    low = floor.ravel()
    for idx in range(order.shape[0] - 1, -1, -1):         # receivers before their donors
        i = order[idx]
        k = dirs[i]
        if k < 0 or area[i] < channel_area:
            continue
        f = k_dt * np.sqrt(area[i]) / DIST[k]
        new = (np.float64(h[i]) + f * np.float64(h[i + DR[k] * nc + DC[k]])) / (1.0 + f)
        h[i] = max(new, np.float64(low[i]))




@njit(cache=True)
def uplift_step(height, directions, rise, floor, k_dt, channel_area):
    """One implicit step of rock uplift against stream-power incision, in place on ``height``.

    Counts the cells each cell drains (A) along ``directions``, then solves every routed
    cell from its receiver's new height, receivers first (Braun & Willett 2013):
    ``h_i = (h_i + u_i + F h_r) / (1 + F)``, ``F = k_dt * sqrt(A_i) / d_ir`` (0 on hillslopes,
    where fewer than ``channel_area`` cells drain), then at least one float32 step above
    ``h_r`` and at least ``floor``. A depression fills at once with what is worn from above
    it, and every cell keeps a strictly lower neighbour, so the next step's steepest descent
    meets no pit whatever the uplift's pattern. Cells with no receiver (code -1: the sea,
    the map edge's lowest cells, no-data) neither rise nor wear: they are the base level.

    height : (R, C) float32, updated in place. directions : (R, C) int8 D8 codes
    (:func:`~procgen._kernels.hydrology.d8_directions`). rise, floor : (R, C) float32, the
    uplift of this step and the lowest height allowed. k_dt : float, K times the step's
    time. channel_area : float, cells.
    """
    nc = directions.shape[1]
    n = height.size
    dirs = directions.ravel()
    h = height.ravel()
    up = rise.ravel()
    low = floor.ravel()
    offset = DR * nc + DC
    indeg = np.zeros(n, np.uint8)
    for i in range(n):
        if dirs[i] >= 0:
            indeg[i + offset[dirs[i]]] += 1
    source = indeg == 0
    area = np.ones(n)
    order = np.empty(n, np.int32)
    t = 0
    # Kahn's order walked depth-first from each source, as accumulate does
    for i in range(n):
        if not source[i]:
            continue
        j = i
        while True:
            order[t] = j
            t += 1
            k = dirs[j]
            if k < 0:
                break
            r = j + offset[k]
            area[r] += area[j]
            indeg[r] -= 1
            if indeg[r] > 0:
                break
            j = r
    for idx in range(t - 1, -1, -1):                      # receivers before their donors
        i = order[idx]
        k = dirs[i]
        if k < 0:
            continue
        r = i + offset[k]
        f = k_dt * np.sqrt(area[i]) / DIST[k] if area[i] >= channel_area else 0.0
        new = np.float32((np.float64(h[i]) + up[i] + f * np.float64(h[r])) / (1.0 + f))
        h[i] = max(new, np.nextafter(h[r], np.float32(np.inf)), low[i])
