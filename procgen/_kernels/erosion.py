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
