"""Hydrology kernels: depression filling, D8 flow directions, flow accumulation, labelling.

The river network's kernels (tracing, Strahler order, carving) live in
:mod:`procgen._kernels.rivers`; this module still answers for their names until
``procgen/rivers.py`` imports them from there.

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


@njit(cache=True)
def _neighbour(r, c, k, nr, nc):
    """Flat index of the neighbour of ``(r, c)`` in D8 direction ``k``, or -1 off the map.

    The one 8-neighbour step every kernel here takes (``for k in range(8)``); a plain
    function, which LLVM inlines, so it compiles once rather than once per caller.
    """
    rr = r + DR[k]
    cc = c + DC[k]
    if rr < 0 or rr >= nr or cc < 0 or cc >= nc:
        return -1
    return rr * nc + cc


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
                j = _neighbour(r, c, k, nr, nc)
                if j >= 0:
                    drains[j] = True
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
                j = _neighbour(r, c, k, nr, nc)
                if j < 0 or closed[j]:
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
                j = _neighbour(r, c, k, nr, nc)
                if j < 0 or closed[j]:
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
    flat = filled.ravel()
    for c in range(nc):
        h = filled[r, c]
        best = -1
        best_slope = 0.0
        if outlets[r, c] or np.isnan(h):
            out[r, c] = -1
            continue
        for k in range(8):
            j = _neighbour(r, c, k, nr, nc)
            if j < 0:
                continue
            hn = flat[j]
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
    inside = mask.ravel()
    label_of = out.ravel()
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
                    j = _neighbour(r, c, k, nr, nc)
                    if j >= 0 and inside[j] and label_of[j] == 0:
                        label_of[j] = label
                        stack[top] = j
                        top += 1
    return label


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


# Moved to procgen._kernels.rivers; resolved lazily here (that module imports DR and DC from
# this one) until procgen/rivers.py imports them from their new home.
