"""Seeded 2-D gradient noise and its fractal sums: grid and point kernels.

The lattice is hashed, not permuted: the gradient at integer lattice point ``(i, j)`` of
octave ``k`` comes from a 64-bit mix of ``(i, j, key[k])``, so any 64-bit seed works and
the noise is a pure function of global coordinates (seamless chunks, no 256-period).

Coordinates are ``(row, col)`` in lattice units computed in float64 by the caller's formula
``u = coord * freq[k] + offset[k]``; only the fractional part (in [0, 1)) enters float32 maths.

Two evaluation orders give the same noise (to float32 rounding):

* ``fractal_points`` evaluates every point on its own (arbitrary coordinates, domain warp);
* ``fractal_grid`` exploits the grid: along one row, the row-dependent half of the bilinear
  blend is constant per lattice cell, so each pixel costs two multiply-adds and a lerp.
  That is what makes it several times faster than per-point noise libraries.
"""

import numpy as np
from numba import njit, prange

# Fractal kinds; procgen.noise.Fractal maps its members onto these codes.
FBM = 0
RIDGED = 1
BILLOW = 2

_U33 = np.uint64(33)
_M1 = np.uint64(0xFF51AFD7ED558CCD)   # murmur3 fmix64 multipliers (Appleby, MurmurHash3)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_PX = np.uint64(0x9E3779B97F4A7C15)   # golden-ratio and xxhash primes to spread i and j
_PY = np.uint64(0xC2B2AE3D27D4EB4F)
_U56 = np.uint64(56)

_F1 = np.float32(1.0)
_F6 = np.float32(6.0)
_F10 = np.float32(10.0)
_F15 = np.float32(15.0)
_F2 = np.float32(2.0)


def _gradient_table():
    # 256 unit gradients at evenly spaced angles (half-step offset so none is axis-aligned),
    # pre-scaled by sqrt(2): 2-D Perlin noise with unit gradients peaks at sqrt(2)/2, so the
    # scaled noise is bounded by [-1, 1].
    angle = (np.arange(256) + 0.5) * (2.0 * np.pi / 256.0)
    scale = np.sqrt(2.0)
    return ((np.cos(angle) * scale).astype(np.float32),
            (np.sin(angle) * scale).astype(np.float32))


GRAD_COL, GRAD_ROW = _gradient_table()


@njit(cache=True, inline="always")
def _fmix(h):
    h ^= h >> _U33
    h *= _M1
    h ^= h >> _U33
    h *= _M2
    h ^= h >> _U33
    return h


@njit(cache=True, inline="always")
def lattice_hash(i, j, key):
    """Top byte of a 64-bit hash of lattice point (i, j) under ``key`` (all int64/uint64)."""
    # One avalanche round over a linear combination: the multipliers are odd, so distinct
    # nearby lattice points cannot collide before mixing.
    h = _fmix(key ^ (np.uint64(i) * _PX + np.uint64(j) * _PY))
    return np.int64(h >> _U56)


@njit(cache=True, inline="always")
def _wrap(i, period):
    if period > 0:
        return i % period
    return i


@njit(cache=True, inline="always")
def fade(t):
    return t * t * t * (t * (t * _F6 - _F15) + _F10)


@njit(cache=True, inline="always")
def _shape(n, kind):
    if kind == RIDGED:
        r = _F1 - abs(n)
        return _F2 * r * r - _F1
    if kind == BILLOW:
        return _F2 * abs(n) - _F1
    return n


@njit(cache=True)
def gradient_point(u_row, u_col, key, period_row, period_col, grad_row, grad_col):
    """Noise in [-1, 1] at one point given in lattice units (float64)."""
    fi = np.floor(u_row)
    fj = np.floor(u_col)
    i = np.int64(fi)
    j = np.int64(fj)
    fy = np.float32(u_row - fi)
    fx = np.float32(u_col - fj)
    i0 = _wrap(i, period_row)
    i1 = _wrap(i + 1, period_row)
    j0 = _wrap(j, period_col)
    j1 = _wrap(j + 1, period_col)
    # h_ab: corner at row offset a, column offset b
    h00 = lattice_hash(i0, j0, key)
    h01 = lattice_hash(i0, j1, key)
    h10 = lattice_hash(i1, j0, key)
    h11 = lattice_hash(i1, j1, key)
    gx = fx - _F1
    gy = fy - _F1
    n00 = grad_row[h00] * fy + grad_col[h00] * fx
    n01 = grad_row[h01] * fy + grad_col[h01] * gx
    n10 = grad_row[h10] * gy + grad_col[h10] * fx
    n11 = grad_row[h11] * gy + grad_col[h11] * gx
    sx = fade(fx)
    sy = fade(fy)
    top = n00 + sx * (n01 - n00)
    bottom = n10 + sx * (n11 - n10)
    return top + sy * (bottom - top)


@njit(cache=True, parallel=True)
def fractal_points(rows, cols, keys, freqs_row, freqs_col, offsets_row, offsets_col, amps,
                   periods_row, periods_col, kind, grad_row, grad_col, out):
    """Fractal sum at arbitrary points.

    rows, cols : (n,) float64 coordinates in grid cells; octave k samples lattice point
    ``(rows * freqs_row[k] + offsets_row[k], cols * freqs_col[k] + offsets_col[k])``. amps[k] already includes the 1 / sum(amps)
    normalisation. out : (n,) float32, written.
    """
    n = rows.shape[0]
    for p in prange(n):
        total = np.float32(0.0)
        for k in range(keys.shape[0]):
            v = gradient_point(rows[p] * freqs_row[k] + offsets_row[k],
                               cols[p] * freqs_col[k] + offsets_col[k],
                               keys[k], periods_row[k], periods_col[k], grad_row, grad_col)
            total += amps[k] * _shape(v, kind)
        out[p] = total


# Inlined into its one caller rather than compiled as a kernel of its own (a first-run cost
# of about 0.25 s).
@njit(cache=True, inline="always")
def _column_tables(col0, ncols, freq, offset, period):
    """Per-column fractional position, fade weight, and lattice cell runs for one octave."""
    fx = np.empty(ncols, np.float32)
    sx = np.empty(ncols, np.float32)
    first = np.int64(np.floor((col0 + 0.0) * freq + offset))
    last = np.int64(np.floor((col0 + ncols - 1.0) * freq + offset))
    ncells = last - first + 1
    starts = np.zeros(ncells + 1, np.int64)
    cell_prev = np.int64(-1)
    for c in range(ncols):
        u = (col0 + c) * freq + offset
        fu = np.floor(u)
        f = np.float32(u - fu)
        fx[c] = f
        sx[c] = fade(f)
        cell = np.int64(fu) - first
        while cell_prev < cell:
            cell_prev += 1
            starts[cell_prev] = c
    starts[ncells] = ncols
    lattice = np.empty(ncells + 1, np.int64)
    for m in range(ncells + 1):
        lattice[m] = _wrap(first + m, period)
    return fx, sx, starts, lattice


# Rows per parallel work item; consecutive rows share cached lattice rows.
_BLOCK = 8
_NO_ROW = np.iinfo(np.int64).min


@njit(cache=True)
def _grid_tables(col0, ncols, freqs_col, offsets_col, periods_col):
    """Column tables of every octave, padded to one width (see :func:`_column_tables`)."""
    noct = freqs_col.shape[0]
    max_cells = 0
    for k in range(noct):
        first = np.floor(col0 * freqs_col[k] + offsets_col[k])
        last = np.floor((col0 + ncols - 1.0) * freqs_col[k] + offsets_col[k])
        max_cells = max(max_cells, np.int64(last - first) + 2)
    fxs = np.empty((noct, ncols), np.float32)
    sxs = np.empty((noct, ncols), np.float32)
    starts_all = np.zeros((noct, max_cells), np.int64)
    lattice_all = np.zeros((noct, max_cells), np.int64)
    ncells_all = np.zeros(noct, np.int64)
    for k in range(noct):
        fx, sx, starts, lattice = _column_tables(col0, ncols, freqs_col[k], offsets_col[k],
                                                 periods_col[k])
        # Element loops, not slice assignment: a slice assignment compiles numba's
        # shape-mismatch message formatting, about a second of the first run.
        for c in range(ncols):
            fxs[k, c] = fx[c]
            sxs[k, c] = sx[c]
        ncells_all[k] = starts.shape[0] - 1
        for m in range(starts.shape[0]):
            starts_all[k, m] = starts[m]
            lattice_all[k, m] = lattice[m]
    return fxs, sxs, starts_all, lattice_all, ncells_all


@njit(cache=True)
def _grid_block(b, row0, nrows, ncols, keys, freqs_row, offsets_row, amps, periods_row, kind,
                grad_row, grad_col, fxs, sxs, starts_all, lattice_all, ncells_all, out):
    """Rows ``b * _BLOCK`` up to ``(b + 1) * _BLOCK`` of :func:`fractal_grid`."""
    noct = keys.shape[0]
    max_cells = starts_all.shape[1]
    # Gradients of the two lattice rows bracketing the current row, cached per octave
    # because consecutive image rows usually share them.
    g0r = np.empty((noct, max_cells), np.float32)
    g0c = np.empty((noct, max_cells), np.float32)
    g1r = np.empty((noct, max_cells), np.float32)
    g1c = np.empty((noct, max_cells), np.float32)
    cached_i = np.empty(noct, np.int64)
    for k in range(noct):
        cached_i[k] = _NO_ROW
    buf = np.empty(ncols, np.float32)
    for r in range(b * _BLOCK, min(nrows, (b + 1) * _BLOCK)):
        acc = out[r]
        for c in range(ncols):
            acc[c] = 0.0
        for k in range(noct):
            u = (row0 + r) * freqs_row[k] + offsets_row[k]
            fu = np.floor(u)
            i = np.int64(fu)
            fy = np.float32(u - fu)
            sy = fade(fy)
            ncells = ncells_all[k]
            if cached_i[k] != i:
                i1 = _wrap(i + 1, periods_row[k])
                if cached_i[k] + 1 == i:
                    # Moved down one lattice row: the old lower row becomes the upper one.
                    for m in range(ncells + 1):
                        g0r[k, m] = g1r[k, m]
                        g0c[k, m] = g1c[k, m]
                else:
                    i0 = _wrap(i, periods_row[k])
                    for m in range(ncells + 1):
                        h0 = lattice_hash(i0, lattice_all[k, m], keys[k])
                        g0r[k, m] = grad_row[h0]
                        g0c[k, m] = grad_col[h0]
                for m in range(ncells + 1):
                    h1 = lattice_hash(i1, lattice_all[k, m], keys[k])
                    g1r[k, m] = grad_row[h1]
                    g1c[k, m] = grad_col[h1]
                cached_i[k] = i
            gy = fy - _F1
            wy = _F1 - sy
            amp = amps[k]
            for m in range(ncells):
                # Row-blended corner terms: value = a*fx + b on the left lattice column,
                # c*(fx-1) + d on the right one.
                a = wy * g0c[k, m] + sy * g1c[k, m]
                bb = wy * g0r[k, m] * fy + sy * g1r[k, m] * gy
                cc = wy * g0c[k, m + 1] + sy * g1c[k, m + 1]
                d = wy * g0r[k, m + 1] * fy + sy * g1r[k, m + 1] * gy
                lo = starts_all[k, m]
                hi = starts_all[k, m + 1]
                if kind == FBM:
                    for c in range(lo, hi):
                        f = fxs[k, c]
                        left = a * f + bb
                        right = cc * (f - _F1) + d
                        acc[c] += amp * (left + sxs[k, c] * (right - left))
                else:
                    for c in range(lo, hi):
                        f = fxs[k, c]
                        left = a * f + bb
                        right = cc * (f - _F1) + d
                        buf[c] = left + sxs[k, c] * (right - left)
            if kind != FBM:
                for c in range(ncols):
                    acc[c] += amp * _shape(buf[c], kind)


@njit(cache=True, parallel=True)
def fractal_grid(row0, col0, nrows, ncols, keys, freqs_row, freqs_col, offsets_row, offsets_col,
                 amps, periods_row, periods_col, kind, grad_row, grad_col, out):
    """Fractal sum on the grid ``out[r, c]`` = point ``(row0 + r, col0 + c)``.

    Same parameters as :func:`fractal_points`; row0/col0 are float64 origins (whole cells).
    out : (nrows, ncols) float32, written.
    """
    # The parallel kernel holds nothing but the prange over row blocks: numba's parfor
    # passes and the gufunc they build cost compile time in proportion to the code and
    # the array expressions inside a parallel function (each np.zeros becomes a parfor of
    # its own), so the tables and the per-block work live in plain kernels.
    fxs, sxs, starts_all, lattice_all, ncells_all = _grid_tables(col0, ncols, freqs_col,
                                                                 offsets_col, periods_col)
    nblocks = (nrows + _BLOCK - 1) // _BLOCK
    for b in prange(nblocks):
        # int64(b): the gufunc's loop index is unsigned, and a uint64 ``b`` would compile
        # _grid_block a second time.
        _grid_block(np.int64(b), row0, nrows, ncols, keys, freqs_row, offsets_row, amps,
                    periods_row, kind, grad_row, grad_col, fxs, sxs, starts_all,
                    lattice_all, ncells_all, out)
