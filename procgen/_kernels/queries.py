"""Query kernels: exact Euclidean distance transform, D8 outlets, Poisson-disc sampling.

Grids are C-contiguous 2-D arrays indexed ``[row, col]``; flat indices are
``i = row * ncols + col``. Each kernel has a slow twin in ``tests/naive.py``.
"""

import numpy as np
from numba import njit, prange

from .hydrology import DC, DR

_INF = np.inf


# Inlined into the two passes rather than compiled as a kernel of its own (a first-run cost
# of about 0.3 s).
@njit(cache=True, inline="always")
def _envelope_1d(f, fidx, n, v, z, d, didx):
    """1-D squared distance transform of the sampled function ``f`` (Felzenszwalb &
    Huttenlocher 2012, Algorithm 1): ``d[q] = min_p (q - p)**2 + f[p]``.

    Samples with ``f[p] = inf`` are left out of the lower envelope (they can never win), so
    no ``inf - inf`` arises; with no finite sample at all, ``d`` is inf and ``didx`` -1.
    ``didx[q]`` is ``fidx`` of the winning sample. v : (n,) int64, z : (n + 1,) float64
    scratch.
    """
    k = -1
    for q in range(n):
        fq = f[q]
        if fq == _INF:
            continue
        if k < 0:
            k = 0
            v[0] = q
            z[0] = -_INF
            z[1] = _INF
            continue
        while True:
            p = v[k]
            s = ((fq + q * q) - (f[p] + p * p)) / (2.0 * q - 2.0 * p)
            if s <= z[k]:
                k -= 1      # z[0] = -inf, so k never drops below 0
            else:
                break
        k += 1
        v[k] = q
        z[k] = s
        z[k + 1] = _INF
    if k < 0:
        for q in range(n):
            d[q] = _INF
            didx[q] = -1
        return
    k = 0
    for q in range(n):
        while z[k + 1] < q:
            k += 1
        p = v[k]
        d[q] = (q - p) * (q - p) + f[p]
        didx[q] = fidx[p]


@njit(cache=True)
def _edt_column(feature, c, col_d, col_i):
    """First pass of :func:`squared_edt`: the 1-D transform down column ``c``."""
    nr, nc = feature.shape
    f = np.empty(nr, np.float64)
    fidx = np.empty(nr, np.int64)
    v = np.empty(nr, np.int64)
    z = np.empty(nr + 1, np.float64)
    d = np.empty(nr, np.float64)
    didx = np.empty(nr, np.int64)
    for r in range(nr):
        f[r] = 0.0 if feature[r, c] else _INF
        fidx[r] = r * nc + c
    _envelope_1d(f, fidx, nr, v, z, d, didx)
    for r in range(nr):
        col_d[r, c] = d[r]
        col_i[r, c] = didx[r]


@njit(cache=True)
def _edt_row(r, col_d, col_i, dist2, nearest):
    """Second pass of :func:`squared_edt`: the 1-D transform along row ``r``."""
    nc = col_d.shape[1]
    v = np.empty(nc, np.int64)
    z = np.empty(nc + 1, np.float64)
    d = np.empty(nc, np.float64)
    didx = np.empty(nc, np.int64)
    _envelope_1d(col_d[r], col_i[r], nc, v, z, d, didx)
    for c in range(nc):
        dist2[r, c] = d[c]
        nearest[r, c] = didx[c]


@njit(cache=True, parallel=True)
def squared_edt(feature, dist2, nearest):
    """Exact squared Euclidean distance (in cells) from every cell to the nearest
    ``feature`` cell, and the flat index of that cell.

    Two separable passes of the 1-D transform: down every column, then along every row
    (Felzenszwalb & Huttenlocher 2012). Distances are sums of squared integers, exact in
    float64. Without any feature cell, ``dist2`` is inf and ``nearest`` -1 everywhere.

    feature : (R, C) bool; dist2 : (R, C) float64 out; nearest : (R, C) int64 out.
    """
    # Only the pranges are parallel code; their bodies are plain kernels, which keeps the
    # parfor passes (and the first run's compile) short. int64(...) because the gufunc's
    # loop index is unsigned and would compile the bodies a second time.
    nr, nc = feature.shape
    col_d = np.empty((nr, nc), np.float64)
    col_i = np.empty((nr, nc), np.int64)
    for c in prange(nc):
        _edt_column(feature, np.int64(c), col_d, col_i)
    for r in prange(nr):
        _edt_row(np.int64(r), col_d, col_i, dist2, nearest)


@njit(cache=True)
def drain_outlets(directions, out):
    """Flat index of the cell where each cell's D8 flow path ends (a cell coded -1).

    directions : (R, C) int8 D8 codes; out : (R*C,) int64, written.
    Returns the number of cells resolved: fewer than R*C means the directions hold a cycle
    (the unresolved cells are left at -1).
    """
    nr, nc = directions.shape
    n = nr * nc
    dirs = directions.ravel()
    for i in range(n):
        out[i] = -1
    stack = np.empty(n, np.int64)
    resolved = 0
    for i0 in range(n):
        if out[i0] >= 0:
            continue
        top = 0
        i = i0
        while True:
            if out[i] >= 0:
                end = out[i]
                break
            if top == n:        # longer than the grid: a cycle
                return resolved
            stack[top] = i
            top += 1
            k = dirs[i]
            if k < 0:
                end = i
                break
            r = i // nc
            i = (r + DR[k]) * nc + (i - r * nc) + DC[k]
        for t in range(top):
            out[stack[t]] = end
        resolved += top
    return resolved


# -- a tiny counter-based generator, so the sampler never touches global random state ------
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)


@njit(cache=True, inline="always")
def _uniform(state):
    """Next float64 in [0, 1) from a splitmix64 stream (Steele, Lea & Flood 2014);
    ``state`` is a (1,) uint64 array advanced in place."""
    state[0] += _GOLDEN
    x = state[0]
    x = (x ^ (x >> _S30)) * _MIX1
    x = (x ^ (x >> _S27)) * _MIX2
    x = x ^ (x >> _S31)
    return np.float64(x >> _S11) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def _fits(y, x, pts, grid, cell, radius2):
    gr, gc = grid.shape
    gy = min(int(y / cell), gr - 1)
    gx = min(int(x / cell), gc - 1)
    for a in range(max(0, gy - 2), min(gr, gy + 3)):
        for b in range(max(0, gx - 2), min(gc, gx + 3)):
            j = grid[a, b]
            if j >= 0:
                dy = pts[j, 0] - y
                dx = pts[j, 1] - x
                if dy * dy + dx * dx < radius2:
                    return False
    return True


@njit(cache=True)
def poisson_disc(valid, radius, tries, seed):
    """Poisson-disc samples (Bridson 2007) over the ``valid`` cells, at least ``radius``
    cells apart.

    A point ``(row, col)`` lies in cell ``(floor(row + 0.5), floor(col + 0.5))``. After each
    Bridson growth (``tries`` candidates in the annulus [radius, 2 radius] around a random
    active sample, area-uniform) dies out, the next seed is tried at a random spot in the
    next valid cell of a random permutation of all valid cells; so separate islands are
    all filled, and every valid cell ends up within ``radius`` + one cell diagonal of a
    sample. A background grid of side ``radius / sqrt(2)`` holds at most one sample per
    square, which bounds the output size.

    valid : (R, C) bool; radius : float64 > 0; tries : int64 >= 1; seed : uint64.
    Returns (M, 2) float64 ``(row, col)`` points in the order they were accepted.
    """
    nr, nc = valid.shape
    state = np.empty(1, np.uint64)
    state[0] = seed
    cell = radius / np.sqrt(2.0)
    gr = int(np.ceil(nr / cell)) + 1
    gc = int(np.ceil(nc / cell)) + 1
    grid = np.full((gr, gc), -1, np.int64)
    pts = np.empty((gr * gc, 2), np.float64)    # in shifted coordinates (row + 0.5, col + 0.5)
    active = np.empty(gr * gc, np.int64)
    radius2 = radius * radius
    cells = np.flatnonzero(valid.ravel())
    for i in range(cells.shape[0] - 1, 0, -1):  # Fisher-Yates
        j = int(_uniform(state) * (i + 1))
        t = cells[i]
        cells[i] = cells[j]
        cells[j] = t
    m = 0
    for t in range(cells.shape[0]):
        r = cells[t] // nc
        c = cells[t] - r * nc
        y = r + _uniform(state)
        x = c + _uniform(state)
        if not _fits(y, x, pts, grid, cell, radius2):
            continue
        pts[m, 0] = y
        pts[m, 1] = x
        grid[min(int(y / cell), gr - 1), min(int(x / cell), gc - 1)] = m
        active[0] = m
        n_active = 1
        m += 1
        while n_active > 0:
            a = int(_uniform(state) * n_active)
            p = active[a]
            found = False
            for _ in range(tries):
                rad = radius * np.sqrt(1.0 + 3.0 * _uniform(state))
                ang = 2.0 * np.pi * _uniform(state)
                y = pts[p, 0] + rad * np.sin(ang)
                x = pts[p, 1] + rad * np.cos(ang)
                if y < 0.0 or y >= nr or x < 0.0 or x >= nc:
                    continue
                if not valid[int(y), int(x)]:
                    continue
                if not _fits(y, x, pts, grid, cell, radius2):
                    continue
                pts[m, 0] = y
                pts[m, 1] = x
                grid[min(int(y / cell), gr - 1), min(int(x / cell), gc - 1)] = m
                active[n_active] = m
                n_active += 1
                m += 1
                found = True
                break
            if not found:
                n_active -= 1
                active[a] = active[n_active]
    out = np.empty((m, 2), np.float64)
    for i in range(m):
        out[i, 0] = pts[i, 0] - 0.5
        out[i, 1] = pts[i, 1] - 0.5
    return out
