"""River network kernels: downstream links, topological order, Strahler order, tracing the
network into polylines, and cutting rivers into the terrain.

Grids and D8 codes as in :mod:`procgen._kernels.hydrology` (flat indices
``i = row * ncols + col``; code ``k`` points to ``(row + DR[k], col + DC[k])``, -1 = none).
"""

import numpy as np
from numba import njit

from .hydrology import DC, DR


@njit(cache=True)
def downstream_index(directions):
    """Flat index of each cell's downstream neighbour, or -1."""
    nr, nc = directions.shape
    down = np.full(nr * nc, -1, np.int64)
    for r in range(nr):
        for c in range(nc):
            k = directions[r, c]
            if k >= 0:
                down[r * nc + c] = (r + DR[k]) * nc + c + DC[k]
    return down


@njit(cache=True)
def topological_order(down):
    """Cells ordered so every cell comes before its downstream cell (Kahn's algorithm).

    Returns (order, indegree_ok): if the directions contain a cycle, the cycle's cells are
    missing from ``order`` and its length is less than the cell count.
    """
    n = down.shape[0]
    indeg = np.zeros(n, np.int32)
    for i in range(n):
        j = down[i]
        if j >= 0:
            indeg[j] += 1
    order = np.empty(n, np.int64)
    tail = 0
    for i in range(n):
        if indeg[i] == 0:
            order[tail] = i
            tail += 1
    head = 0
    while head < tail:
        i = order[head]
        head += 1
        j = down[i]
        if j >= 0:
            indeg[j] -= 1
            if indeg[j] == 0:
                order[tail] = j
                tail += 1
    return order[:tail]


@njit(cache=True)
def strahler(down, order, network):
    """Strahler order of each network cell (0 off the network), in topological order."""
    n = down.shape[0]
    strahler_order = np.zeros(n, np.int32)
    top = np.zeros(n, np.int32)     # highest order among donors so far
    count = np.zeros(n, np.int32)   # how many donors reached that order
    for t in range(order.shape[0]):
        i = order[t]
        if not network[i]:
            continue
        if top[i] == 0:
            s = 1
        elif count[i] >= 2:
            s = top[i] + 1
        else:
            s = top[i]
        strahler_order[i] = s
        j = down[i]
        if j >= 0 and network[j]:
            if s > top[j]:
                top[j] = s
                count[j] = 1
            elif s == top[j]:
                count[j] += 1
    return strahler_order


@njit(cache=True)
def extract_rivers(directions, acc, threshold, water, min_cells):
    """Trace the river network (cells with ``acc >= threshold`` on land) into polylines.

    Each river starts at a source (a network cell with no network donor) and follows the flow
    until it reaches water (that cell is its mouth), a cell with no downstream (the map edge),
    or a confluence where another donor carries more water (that cell is included: the
    tributary ends on the main stem). The main stem is the donor with the larger accumulation
    (ties: the lower flat index). Rivers with fewer than ``min_cells`` cells are dropped.

    Returns (cells, offsets): flat cell indices of all rivers back to back, source first, and
    ``offsets`` (K+1,) so river k is ``cells[offsets[k]:offsets[k+1]]``.
    """
    nr, nc = directions.shape
    n = nr * nc
    dirs = directions.ravel()
    wet = water.ravel()
    offset = DR * nc + DC
    network = np.zeros(n, np.bool_)
    for i in range(n):
        network[i] = acc[i] >= threshold and not wet[i]
    main = np.full(n, -1, np.int64)
    for i in range(n):
        if not network[i]:
            continue
        k = dirs[i]
        if k < 0:
            continue
        j = i + offset[k]
        m = main[j]
        if m < 0 or acc[i] > acc[m]:
            main[j] = i
    cells = np.empty(2 * n, np.int64)
    count = 0
    # A preallocated array, not a list: a list compiles numba's list machinery.
    offsets = np.empty(n + 1, np.int64)
    offsets[0] = 0
    n_rivers = 0
    for i in range(n):
        if not network[i] or main[i] >= 0:
            continue
        start = count
        cells[count] = i
        count += 1
        j = i
        while True:
            k = dirs[j]
            if k < 0:
                break
            d = j + offset[k]
            cells[count] = d
            count += 1
            if wet[d] or main[d] != j:
                break
            j = d
        if count - start < min_cells:
            count = start
        else:
            n_rivers += 1
            offsets[n_rivers] = count
    return cells[:count].copy(), offsets[:n_rivers + 1].copy()


@njit(cache=True)
def enforce_descent(height, cells, offsets, max_passes):
    """Lower cells so that height never rises along any river (source to mouth).

    One pass takes a running minimum along each river; rivers that share cells can undo
    each other's minima, so passes repeat until nothing changes (each pass only lowers).
    Returns the number of passes used; ``max_passes`` reached means not yet settled.
    """
    flat = height.ravel()
    for p in range(max_passes):
        changed = False
        for r in range(offsets.shape[0] - 1):
            lo = flat[cells[offsets[r]]]
            for t in range(offsets[r] + 1, offsets[r + 1]):
                i = cells[t]
                if flat[i] > lo:
                    flat[i] = lo
                    changed = True
                else:
                    lo = flat[i]
        if not changed:
            return p + 1
    return max_passes


@njit(cache=True)
def carve_valleys(height, cells, bed, radius_cells, side_slope):
    """Cut a valley along river cells: ``height = min(height, bed + side_slope * distance)``.

    cells : (M,) flat indices of river cells; bed : (M,) bed height at each (metres);
    radius_cells : (M,) valley half-width in cells; side_slope in metres per cell of distance.
    """
    nr, nc = height.shape
    for t in range(cells.shape[0]):
        i = cells[t]
        r0 = i // nc
        c0 = i - r0 * nc
        rad = radius_cells[t]
        reach = int(np.ceil(rad))
        for rr in range(max(0, r0 - reach), min(nr, r0 + reach + 1)):
            for cc in range(max(0, c0 - reach), min(nc, c0 + reach + 1)):
                dist = np.sqrt((rr - r0) ** 2 + (cc - c0) ** 2)
                if dist > rad:
                    continue
                v = bed[t] + side_slope * dist
                if v < height[rr, cc]:
                    height[rr, cc] = v
