"""Hydrology kernels: depression filling, D8 flow directions, flow accumulation, labelling.

Grids are C-contiguous 2-D arrays indexed ``[row, col]``; kernels work on flat indices
``i = row * ncols + col``. D8 direction codes (int8)::

    3 2 1
    4 . 0      code k points to (row + DR[k], col + DC[k]); -1 = no downstream cell
    5 6 7      (an outlet: the map edge, the sea, no-data, or a cell that drains nowhere)
"""

import numpy as np
from numba import njit, prange

DR = np.array([0, -1, -1, -1, 0, 1, 1, 1], np.int64)
DC = np.array([1, 1, 0, -1, -1, -1, 0, 1], np.int64)
DIST = np.array([1.0, np.sqrt(2.0), 1.0, np.sqrt(2.0), 1.0, np.sqrt(2.0), 1.0, np.sqrt(2.0)])

_INF32 = np.float32(np.inf)


_LOW32 = np.uint64(0xFFFFFFFF)


@njit(cache=True, inline="always")
def _key(elev_bits, cell):
    """Heap key: a float32's order-preserving bits above the 32-bit cell index, so one
    uint64 comparison orders by elevation and breaks ties by index."""
    bits = np.uint64(elev_bits)
    if bits & np.uint64(0x80000000):
        bits = ~bits & _LOW32                  # negative floats: reverse their order
    else:
        bits |= np.uint64(0x80000000)          # positives above every negative
    return (bits << np.uint64(32)) | np.uint64(cell)


@njit(cache=True, inline="always")
def _heap_push(keys, size, key):
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if keys[parent] <= key:
            break
        keys[i] = keys[parent]
        i = parent
    keys[i] = key
    return size + 1


@njit(cache=True, inline="always")
def _heap_pop(keys, size):
    """Remove the top; returns the new size (read the top before calling)."""
    size -= 1
    key = keys[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[child] >= key:
            break
        keys[i] = keys[child]
        i = child
    keys[i] = key
    return size


@njit(cache=True)
def priority_flood_epsilon(dem, seeds, out):
    """Fill depressions so that every cell has a strictly descending path to a seed.

    Priority-Flood+epsilon (Barnes, Lehman & Mulla 2014, Algorithm 3): flood inward from the
    seed cells in order of elevation; a cell no higher than the cell it was reached from is
    raised to the next float32 above it and queued in a plain FIFO ("pit") queue.

    Slope cells skip the heap where they can, after the idea of Zhou, Sun & Fu (2016): a cell
    reached from a lower processed cell keeps its own elevation whatever the processing order,
    and so do its higher neighbours, so they are closed at once through a FIFO. Only a slope
    cell with an unvisited neighbour no higher than itself must wait for its turn in the heap,
    because that neighbour may belong to a depression whose spill level is still unknown.

    dem : (R, C) float32, NaN = no data (kept NaN; its neighbours become seeds).
    seeds : (R, C) bool, cells that drain away by definition (map edge, sea, outlets).
    out : (R, C) float32, written with the filled surface.
    """
    nr, nc = dem.shape
    n = nr * nc
    flat = dem.ravel()
    res = out.ravel()
    res_bits = res.view(np.uint32)
    seed = seeds.ravel()
    closed = np.zeros(n, np.bool_)
    heap_keys = np.empty(n, np.uint64)
    fifo = np.empty(n, np.int64)     # pit cells and slope cells, each closed once
    fifo_head = 0
    fifo_tail = 0
    is_pit = np.zeros(n, np.bool_)
    size = 0
    drains = np.zeros(n, np.bool_)
    for i in range(n):
        res[i] = flat[i]
        drains[i] = seed[i]
    for c in range(nc):
        drains[c] = True
        drains[(nr - 1) * nc + c] = True
    for r in range(nr):
        drains[r * nc] = True
        drains[r * nc + nc - 1] = True
    for i in range(n):
        if np.isnan(flat[i]):
            closed[i] = True
            r = i // nc
            c = i - r * nc
            for k in range(8):
                rr = r + DR[k]
                cc = c + DC[k]
                if 0 <= rr < nr and 0 <= cc < nc:
                    drains[rr * nc + cc] = True
    for i in range(n):
        if drains[i] and not closed[i]:
            closed[i] = True
            size = _heap_push(heap_keys, size, _key(res_bits[i], i))
    while size > 0 or fifo_head < fifo_tail:
        from_heap = False
        if fifo_head < fifo_tail:
            i = fifo[fifo_head]
            fifo_head += 1
        else:
            i = np.int64(heap_keys[0] & _LOW32)
            size = _heap_pop(heap_keys, size)
            from_heap = True
        r = i // nc
        c = i - r * nc
        here = res[i]
        if from_heap or is_pit[i]:
            above = np.nextafter(here, _INF32)
            for k in range(8):
                rr = r + DR[k]
                cc = c + DC[k]
                if rr < 0 or rr >= nr or cc < 0 or cc >= nc:
                    continue
                j = rr * nc + cc
                if closed[j]:
                    continue
                closed[j] = True
                if res[j] <= here:
                    res[j] = above
                    is_pit[j] = True
                fifo[fifo_tail] = j
                fifo_tail += 1
        else:
            # A slope cell: close its higher neighbours now; defer itself to the heap if a
            # neighbour no higher than it is still open.
            wait = False
            for k in range(8):
                rr = r + DR[k]
                cc = c + DC[k]
                if rr < 0 or rr >= nr or cc < 0 or cc >= nc:
                    continue
                j = rr * nc + cc
                if closed[j]:
                    continue
                if res[j] > here:
                    closed[j] = True
                    fifo[fifo_tail] = j
                    fifo_tail += 1
                else:
                    wait = True
            if wait:
                size = _heap_push(heap_keys, size, _key(res_bits[i], i))


@njit(cache=True)
def _d8_row(filled, outlets, r, out):
    """Row ``r`` of :func:`d8_directions`."""
    nr, nc = filled.shape
    for c in range(nc):
        h = filled[r, c]
        best = -1
        best_slope = 0.0
        if outlets[r, c] or np.isnan(h):
            out[r, c] = -1
            continue
        for k in range(8):
            rr = r + DR[k]
            cc = c + DC[k]
            if rr < 0 or rr >= nr or cc < 0 or cc >= nc:
                continue
            hn = filled[rr, cc]
            if not (hn < h):  # also skips NaN neighbours
                continue
            slope = (np.float64(h) - np.float64(hn)) / DIST[k]
            if slope > best_slope:
                best_slope = slope
                best = k
        out[r, c] = best


@njit(cache=True, parallel=True)
def d8_directions(filled, outlets, out):
    """Steepest-descent D8 direction per cell (drop / distance); ties go to the lower code.

    filled : (R, C) float32; outlets : (R, C) bool cells that get -1 (sea, sinks);
    out : (R, C) int8. Cells with no strictly lower neighbour get -1; NaN cells get -1.
    """
    # The prange body is a plain kernel: parallel functions compile slowly in proportion to
    # the code inside them. int64(r): a uint64 loop index would compile _d8_row twice.
    for r in prange(filled.shape[0]):
        _d8_row(filled, outlets, np.int64(r), out)


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
def accumulate(directions, weights, out):
    """out[i] = weights[i] + sum of out over every cell draining into i.

    Kahn's topological order, walked depth-first: from each source, follow the flow path
    downstream until a cell still waits for other donors. Flow paths are spatially local,
    so this touches memory far more kindly than a breadth-first queue.
    directions : (R, C) int8 D8 codes; weights, out : (R*C,) float.
    Returns how many cells were resolved: fewer than R*C means the directions have a cycle.
    """
    nr, nc = directions.shape
    n = nr * nc
    dirs = directions.ravel()
    offset = DR * nc + DC
    indeg = np.zeros(n, np.uint8)
    for i in range(n):
        out[i] = weights[i]
        k = dirs[i]
        if k >= 0:
            indeg[i + offset[k]] += 1
    source = indeg == 0
    resolved = 0
    for i in range(n):
        if not source[i]:
            continue
        j = i
        while True:
            resolved += 1
            k = dirs[j]
            if k < 0:
                break
            d = j + offset[k]
            out[d] += out[j]
            indeg[d] -= 1
            if indeg[d] != 0:
                break
            j = d
    return resolved


@njit(cache=True)
def label_components(mask, out):
    """8-connected component labels 1..K of ``mask`` into ``out`` (0 elsewhere); returns K."""
    nr, nc = mask.shape
    stack = np.empty(nr * nc, np.int64)
    label = 0
    for r0 in range(nr):
        for c0 in range(nc):
            if not mask[r0, c0] or out[r0, c0] != 0:
                continue
            label += 1
            out[r0, c0] = label
            top = 0
            stack[top] = r0 * nc + c0
            top += 1
            while top > 0:
                top -= 1
                i = stack[top]
                r = i // nc
                c = i - r * nc
                for k in range(8):
                    rr = r + DR[k]
                    cc = c + DC[k]
                    if 0 <= rr < nr and 0 <= cc < nc and mask[rr, cc] and out[rr, cc] == 0:
                        out[rr, cc] = label
                        stack[top] = rr * nc + cc
                        top += 1
    return label


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


@njit(cache=True)
def flow_path(directions, water, start, max_cells):
    """Cells (row, col) from flat index ``start`` down the D8 directions to the first water
    cell (included) or a cell with no downstream (included), at most ``max_cells`` long."""
    nr, nc = directions.shape
    dirs = directions.ravel()
    wet = water.ravel()
    out = np.empty((max_cells, 2), np.int64)
    i = start
    m = 0
    while m < max_cells:
        r = i // nc
        out[m, 0] = r
        out[m, 1] = i - r * nc
        m += 1
        k = dirs[i]
        if (wet[i] and m > 1) or k < 0:
            break
        i = i + DR[k] * nc + DC[k]
    return out[:m]
