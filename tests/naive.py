"""Slow, obviously-correct twins of the kernels in procgen/_kernels."""
import numpy as np


# --- seeded gradient noise (procgen/_kernels/noise.py) ---
_MASK64 = (1 << 64) - 1


def _naive_fmix(h):
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _MASK64
    return h ^ (h >> 33)


def naive_lattice_hash(i, j, key):
    """Top byte of the lattice hash, with Python ints taken modulo 2**64."""
    mixed = int(key) ^ ((int(i) * 0x9E3779B97F4A7C15 + int(j) * 0xC2B2AE3D27D4EB4F) & _MASK64)
    return _naive_fmix(mixed) >> 56


def naive_gradient_point(u_row, u_col, key, period_row, period_col):
    """Perlin-style gradient noise at one point, written out corner by corner."""
    import math
    from procgen._kernels.noise import GRAD_COL, GRAD_ROW

    i, j = math.floor(u_row), math.floor(u_col)
    fy, fx = np.float32(u_row - i), np.float32(u_col - j)
    one = np.float32(1.0)

    def wrap(v, p):
        return v % p if p > 0 else v

    def corner(di, dj):
        h = naive_lattice_hash(wrap(i + di, period_row), wrap(j + dj, period_col), key)
        return GRAD_ROW[h] * (fy - np.float32(di)) + GRAD_COL[h] * (fx - np.float32(dj))

    def fade(t):
        return t * t * t * (t * (t * np.float32(6) - np.float32(15)) + np.float32(10))

    sx, sy = fade(fx), fade(fy)
    top = corner(0, 0) * (one - sx) + corner(0, 1) * sx
    bottom = corner(1, 0) * (one - sx) + corner(1, 1) * sx
    return float(top * (one - sy) + bottom * sy)


def naive_fractal(row, col, keys, freqs_row, freqs_col, offsets_row, offsets_col, amps,
                  periods_row, periods_col, kind):
    """Fractal sum at one point; kind 0 fBm, 1 ridged, 2 billow (as in the kernel)."""
    total = 0.0
    for k in range(len(keys)):
        n = naive_gradient_point(row * freqs_row[k] + offsets_row[k],
                                 col * freqs_col[k] + offsets_col[k],
                                 keys[k], periods_row[k], periods_col[k])
        if kind == 1:
            n = 2.0 * (1.0 - abs(n)) ** 2 - 1.0
        elif kind == 2:
            n = 2.0 * abs(n) - 1.0
        total += float(amps[k]) * n
    return total


# --- classic noise (procgen/_kernels/classic.py) ---
# Plain-Python transliterations of noise 1.2.2's C functions, one point at a time, with
# numpy.float32 scalars standing in for C floats. Only the tables (data) are shared with the
# kernels; the extended permutation is rebuilt here from its definition.

import math as _math

from procgen._kernels.classic import GRAD3 as _GRAD3
from procgen._kernels.classic import GRAD4 as _GRAD4
from procgen._kernels.classic import PERM as _PERM
from procgen._kernels.classic import SIMPLEX as _SIMPLEX

_f = np.float32
# C's PERM[index] for index up to 1023: PERM, then the bytes of GRAD4 that follow it in memory.
_PERM_THEN_GRAD4 = [int(v) for v in _PERM] + list(_GRAD4.astype("<f4").tobytes())
_FLT_MAX = _f(np.finfo(np.float32).max)


def _c_int(v):
    """(int)v on x86-64: truncation, 0x80000000 for NaN and out-of-range values."""
    v = float(v)
    if _math.isnan(v) or not -2.0**31 <= v < 2.0**31:
        return -2**31
    return int(v)


def _fmodf(a, b):
    return np.fmod(_f(a), _f(b))


def _floorf(v):
    return np.floor(_f(v))


def _fade(t):
    return t * t * t * (t * (t * _f(6) - _f(15)) + _f(10))


def _lerp(t, a, b):
    return a + t * (b - a)


def _grad3_row(h):
    return [_f(g) for g in _GRAD3[h & 15]]


def _perlin2(x, y, repeatx, repeaty, base):
    P = _PERM_THEN_GRAD4
    i = _c_int(_floorf(_fmodf(x, repeatx)))
    j = _c_int(_floorf(_fmodf(y, repeaty)))
    ii = _c_int(_fmodf(_f(i + 1), repeatx))
    jj = _c_int(_fmodf(_f(j + 1), repeaty))
    i, j, ii, jj = (i & 255) + base, (j & 255) + base, (ii & 255) + base, (jj & 255) + base
    x = x - _floorf(x)
    y = y - _floorf(y)
    fx, fy = _fade(x), _fade(y)
    A, B = P[i], P[ii]
    AA, AB, BA, BB = P[A + j], P[A + jj], P[B + j], P[B + jj]
    one = _f(1)

    def grad(h, gx, gy):
        g = _grad3_row(h)
        return gx * g[0] + gy * g[1]

    return _lerp(fy, _lerp(fx, grad(P[AA], x, y), grad(P[BA], x - one, y)),
                 _lerp(fx, grad(P[AB], x, y - one), grad(P[BB], x - one, y - one)))


def _perlin3(x, y, z, repeatx, repeaty, repeatz, base):
    P = _PERM_THEN_GRAD4
    rx, ry, rz = _f(repeatx), _f(repeaty), _f(repeatz)   # C int -> float for fmodf
    i = _c_int(_floorf(_fmodf(x, rx)))
    j = _c_int(_floorf(_fmodf(y, ry)))
    k = _c_int(_floorf(_fmodf(z, rz)))
    ii = _c_int(_fmodf(_f(i + 1), rx))
    jj = _c_int(_fmodf(_f(j + 1), ry))
    kk = _c_int(_fmodf(_f(k + 1), rz))
    i, j, k = (i & 255) + base, (j & 255) + base, (k & 255) + base
    ii, jj, kk = (ii & 255) + base, (jj & 255) + base, (kk & 255) + base
    x, y, z = x - _floorf(x), y - _floorf(y), z - _floorf(z)
    fx, fy, fz = _fade(x), _fade(y), _fade(z)
    A, B = P[i], P[ii]
    AA, AB, BA, BB = P[A + j], P[A + jj], P[B + j], P[B + jj]
    one = _f(1)

    def grad(h, gx, gy, gz):
        g = _grad3_row(h)
        return gx * g[0] + gy * g[1] + gz * g[2]

    x1, y1, z1 = x - one, y - one, z - one
    return _lerp(fz,
                 _lerp(fy, _lerp(fx, grad(P[AA + k], x, y, z), grad(P[BA + k], x1, y, z)),
                       _lerp(fx, grad(P[AB + k], x, y1, z), grad(P[BB + k], x1, y1, z))),
                 _lerp(fy, _lerp(fx, grad(P[AA + kk], x, y, z1), grad(P[BA + kk], x1, y, z1)),
                       _lerp(fx, grad(P[AB + kk], x, y1, z1), grad(P[BB + kk], x1, y1, z1))))


def naive_pnoise2(x, y, octaves=1, persistence=0.5, lacunarity=2.0, repeatx=1024.0,
                  repeaty=1024.0, base=0):
    """noise.pnoise2 at one point (float arguments rounded to float32 like the C parser)."""
    x, y, persistence, lacunarity = _f(x), _f(y), _f(persistence), _f(lacunarity)
    repeatx, repeaty = _f(repeatx), _f(repeaty)
    if not (np.isfinite(x) and np.isfinite(y)):
        return _f(np.nan)
    with np.errstate(all="ignore"):
        if octaves == 1:
            return _perlin2(x, y, repeatx, repeaty, base)
        freq, amp, total, norm = _f(1), _f(1), _f(0), _f(0)
        for _ in range(octaves):
            total = total + _perlin2(x * freq, y * freq, repeatx * freq, repeaty * freq,
                                     base) * amp
            norm = norm + amp
            freq = freq * lacunarity
            amp = amp * persistence
        return total / norm


def naive_pnoise3(x, y, z, octaves=1, persistence=0.5, lacunarity=2.0, repeatx=1024,
                  repeaty=1024, repeatz=1024, base=0):
    """noise.pnoise3 at one point (integer repeats, as in the C code)."""
    x, y, z = _f(x), _f(y), _f(z)
    persistence, lacunarity = _f(persistence), _f(lacunarity)
    if not (np.isfinite(x) and np.isfinite(y) and np.isfinite(z)):
        return _f(np.nan)
    with np.errstate(all="ignore"):
        if octaves == 1:
            return _perlin3(x, y, z, repeatx, repeaty, repeatz, base)
        freq, amp, total, norm = _f(1), _f(1), _f(0), _f(0)
        for _ in range(octaves):
            total = total + _perlin3(x * freq, y * freq, z * freq,
                                     _c_int(_f(repeatx) * freq), _c_int(_f(repeaty) * freq),
                                     _c_int(_f(repeatz) * freq), base) * amp
            norm = norm + amp
            freq = freq * lacunarity
            amp = amp * persistence
        return total / norm


def _simplex2(x, y):
    F2, G2 = _f(0.3660254037844386), _f(0.21132486540518713)
    one = _f(1)
    s = (x + y) * F2
    i, j = _floorf(x + s), _floorf(y + s)
    t = (i + j) * G2
    xx = [x - (i - t)]
    yy = [y - (j - t)]
    i1 = int(xx[0] > yy[0])
    j1 = int(xx[0] <= yy[0])
    xx.append(xx[0] - _f(i1) + G2)
    yy.append(yy[0] - _f(j1) + G2)
    xx.append(xx[0] + G2 * _f(2) - one)
    yy.append(yy[0] + G2 * _f(2) - one)
    I, J = _c_int(i) & 255, _c_int(j) & 255
    P = _PERM
    g = [P[I + P[J]] % 12, P[I + i1 + P[J + j1]] % 12, P[I + 1 + P[J + 1]] % 12]
    total = _f(0)
    for c in range(3):
        f = _f(0.5) - xx[c] * xx[c] - yy[c] * yy[c]
        n = _f(0)
        if f > 0:
            n = f * f * f * f * (_f(_GRAD3[g[c]][0]) * xx[c] + _f(_GRAD3[g[c]][1]) * yy[c])
        total = n if c == 0 else total + n
    return total * _f(70)


def _simplex3(x, y, z):
    F3, G3 = _f(1) / _f(3), _f(1) / _f(6)
    s = (x + y + z) * F3
    i, j, k = _floorf(x + s), _floorf(y + s), _floorf(z + s)
    t = (i + j + k) * G3
    p0 = [x - (i - t), y - (j - t), z - (k - t)]
    if p0[0] >= p0[1]:
        if p0[1] >= p0[2]:
            o1, o2 = [1, 0, 0], [1, 1, 0]
        elif p0[0] >= p0[2]:
            o1, o2 = [1, 0, 0], [1, 0, 1]
        else:
            o1, o2 = [0, 0, 1], [1, 0, 1]
    else:
        if p0[1] < p0[2]:
            o1, o2 = [0, 0, 1], [0, 1, 1]
        elif p0[0] < p0[2]:
            o1, o2 = [0, 1, 0], [0, 1, 1]
        else:
            o1, o2 = [0, 1, 0], [1, 1, 0]
    pos = [p0,
           [p0[c] - _f(o1[c]) + G3 for c in range(3)],
           [p0[c] - _f(o2[c]) + _f(2) * G3 for c in range(3)],
           [p0[c] - _f(1) + _f(3) * G3 for c in range(3)]]
    I, J, K = _c_int(i) & 255, _c_int(j) & 255, _c_int(k) & 255
    P = _PERM
    g = [P[I + P[J + P[K]]] % 12,
         P[I + o1[0] + P[J + o1[1] + P[o1[2] + K]]] % 12,
         P[I + o2[0] + P[J + o2[1] + P[o2[2] + K]]] % 12,
         P[I + 1 + P[J + 1 + P[K + 1]]] % 12]
    noise = []
    for c in range(4):
        f = _f(0.6) - pos[c][0] * pos[c][0] - pos[c][1] * pos[c][1] - pos[c][2] * pos[c][2]
        n = _f(0)
        if f > 0:
            gr = [_f(v) for v in _GRAD3[g[c]]]
            n = f * f * f * f * (pos[c][0] * gr[0] + pos[c][1] * gr[1] + pos[c][2] * gr[2])
        noise.append(n)
    return (noise[0] + noise[1] + noise[2] + noise[3]) * _f(32)


def _simplex4(x, y, z, w):
    F4, G4 = _f(0.30901699437494745), _f(0.1381966011250105)
    s = (x + y + z + w) * F4
    i, j, k, m = _floorf(x + s), _floorf(y + s), _floorf(z + s), _floorf(w + s)
    t = (i + j + k + m) * G4
    p0 = [x - (i - t), y - (j - t), z - (k - t), w - (m - t)]
    x0, y0, z0, w0 = p0
    c = (int(x0 > y0) * 32 + int(x0 > z0) * 16 + int(y0 > z0) * 8 + int(x0 > w0) * 4
         + int(y0 > w0) * 2 + int(z0 > w0))
    rank = [int(r) for r in _SIMPLEX[c]]
    offsets = [[int(r >= 3) for r in rank], [int(r >= 2) for r in rank],
               [int(r >= 1) for r in rank]]
    corners = [p0]
    for n, off in enumerate(offsets, start=1):
        corners.append([p0[a] - _f(off[a]) + _f(n) * G4 for a in range(4)])
    corners.append([p0[a] - _f(1) + _f(4) * G4 for a in range(4)])
    offsets = [[0, 0, 0, 0]] + offsets + [[1, 1, 1, 1]]
    I, J, K, L = (_c_int(v) & 255 for v in (i, j, k, m))
    P = _PERM
    total = _f(0)
    for n in range(5):
        o = offsets[n]
        gi = P[I + o[0] + P[J + o[1] + P[K + o[2] + P[L + o[3]]]]] & 0x1F
        cx, cy, cz, cw = corners[n]
        tt = _f(0.6) - cx * cx - cy * cy - cz * cz - cw * cw
        value = _f(0)
        if tt >= 0:
            tt = tt * tt
            gr = [_f(v) for v in _GRAD4[gi]]
            value = tt * tt * (gr[0] * cx + gr[1] * cy + gr[2] * cz + gr[3] * cw)
        total = value if n == 0 else total + value
    return _f(27.0 * float(total))   # C multiplies by the double 27.0 and returns float


def _fast_sin(x):
    shift = _f(25165824.0)
    z = x + shift          # C: volatile, so the rounding to an even integer really happens
    x = x - (z - shift)
    y = x - x * abs(x)
    return y * (_f(3.1) + _f(3.6) * abs(y))


def _simplex_fbm(fn, coords, octaves, persistence, lacunarity):
    freq, amp, norm = _f(1), _f(1), _f(1)
    total = fn(*coords)
    for _ in range(1, octaves):
        freq = freq * lacunarity
        amp = amp * persistence
        norm = norm + amp
        total = total + fn(*[c * freq for c in coords]) * amp
    return total / norm


def naive_snoise2(x, y, octaves=1, persistence=0.5, lacunarity=2.0, repeatx=None,
                  repeaty=None, base=0.0):
    """noise.snoise2 at one point; None repeats mean FLT_MAX, as in the C code."""
    x, y, persistence, lacunarity = _f(x), _f(y), _f(persistence), _f(lacunarity)
    repeatx = _FLT_MAX if repeatx is None else _f(repeatx)
    repeaty = _FLT_MAX if repeaty is None else _f(repeaty)
    z = _f(base)
    if not (np.isfinite(x) and np.isfinite(y)):
        return _f(np.nan)
    with np.errstate(all="ignore"):
        if repeatx == _FLT_MAX and repeaty == _FLT_MAX:
            freq, amp, norm = _f(1), _f(1), _f(1)
            total = _simplex2(x + z, y + z)
            for _ in range(1, octaves):
                freq = freq * lacunarity
                amp = amp * persistence
                norm = norm + amp
                total = total + _simplex2(x * freq + z, y * freq + z) * amp
            return total / norm
        w = z
        if repeaty != _FLT_MAX:
            yf = _f(float(y) * 2.0 / float(repeaty))       # double in C, then float
            yr = _f(float(repeaty) * 0.31830988618379067154 * 0.5)
            y = _fast_sin(yf) * yr
            w = w + _fast_sin(yf + _f(0.5)) * yr
            if repeatx == _FLT_MAX:
                return _simplex_fbm(_simplex3, (x, y, w), octaves, persistence, lacunarity)
        xf = _f(float(x) * 2.0 / float(repeatx))
        xr = _f(float(repeatx) * 0.31830988618379067154 * 0.5)
        x = _fast_sin(xf) * xr
        z = z + _fast_sin(xf + _f(0.5)) * xr
        if repeaty == _FLT_MAX:
            return _simplex_fbm(_simplex3, (x, y, z), octaves, persistence, lacunarity)
        return _simplex_fbm(_simplex4, (x, y, z, w), octaves, persistence, lacunarity)


# --- hydrology (procgen/_kernels/hydrology.py) ---
_D8 = [(0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1), (1, 0), (1, 1)]


def _neighbours(r, c, nr, nc):
    for k, (dr, dc) in enumerate(_D8):
        rr, cc = r + dr, c + dc
        if 0 <= rr < nr and 0 <= cc < nc:
            yield k, rr, cc


def naive_flood_seeds(dem, seeds):
    """Cells :func:`naive_priority_flood_epsilon` floods from, as the kernel does: those that
    drain by definition (seeds, the map edge, and neighbours of NaN)."""
    nr, nc = dem.shape
    out = np.array(seeds, dtype=bool, copy=True)
    for r in range(nr):
        for c in range(nc):
            if np.isnan(dem[r, c]):
                continue
            if r in (0, nr - 1) or c in (0, nc - 1):
                out[r, c] = True
            if any(np.isnan(dem[rr, cc]) for _, rr, cc in _neighbours(r, c, nr, nc)):
                out[r, c] = True
    return out


def naive_priority_flood_epsilon(dem, seeds):
    """Twin of ``priority_flood_epsilon`` without its epsilon gradient: the kernel's output
    lies at or a few float32 steps above this exact filled surface.

    Each cell's spill level is the lowest possible maximum height along any 8-connected path
    to a drain, by fixed-point iteration (W = max(own height, min W of neighbours) until
    nothing changes)."""
    nr, nc = dem.shape
    drains = naive_flood_seeds(dem, seeds)
    w = np.where(drains | np.isnan(dem), dem, np.inf).astype(np.float64)
    changed = True
    while changed:
        changed = False
        for r in range(nr):
            for c in range(nc):
                if drains[r, c] or np.isnan(dem[r, c]):
                    continue
                lowest = min((w[rr, cc] for _, rr, cc in _neighbours(r, c, nr, nc)
                              if not np.isnan(w[rr, cc])), default=np.inf)
                new = max(float(dem[r, c]), lowest)
                if new < w[r, c]:
                    w[r, c] = new
                    changed = True
    return w


def naive_d8_directions(filled, outlets):
    """Steepest descent by drop / distance, first code wins ties; -1 if nothing is lower."""
    nr, nc = filled.shape
    out = np.full((nr, nc), -1, np.int8)
    for r in range(nr):
        for c in range(nc):
            if outlets[r, c] or np.isnan(filled[r, c]):
                continue
            best, best_slope = -1, 0.0
            for k, rr, cc in _neighbours(r, c, nr, nc):
                drop = float(filled[r, c]) - float(filled[rr, cc])
                if not drop > 0:
                    continue
                slope = drop / (np.sqrt(2.0) if k % 2 else 1.0)
                if slope > best_slope:
                    best, best_slope = k, slope
            out[r, c] = best
    return out


def naive_accumulate(directions, weights):
    """Walk from every cell to its outlet, adding the cell's weight to each cell passed."""
    nr, nc = directions.shape
    out = np.zeros((nr, nc))
    for r in range(nr):
        for c in range(nc):
            rr, cc = r, c
            steps = 0
            while True:
                out[rr, cc] += weights[r, c]
                k = directions[rr, cc]
                if k < 0:
                    break
                rr, cc = rr + _D8[k][0], cc + _D8[k][1]
                steps += 1
                assert steps <= nr * nc, "cycle"
    return out


def naive_label_components(mask):
    """8-connected components by breadth-first search; labels in scan order of first cell."""
    from collections import deque
    nr, nc = mask.shape
    out = np.zeros((nr, nc), np.int32)
    label = 0
    for r in range(nr):
        for c in range(nc):
            if mask[r, c] and out[r, c] == 0:
                label += 1
                out[r, c] = label
                queue = deque([(r, c)])
                while queue:
                    a, b = queue.popleft()
                    for _, aa, bb in _neighbours(a, b, nr, nc):
                        if mask[aa, bb] and out[aa, bb] == 0:
                            out[aa, bb] = label
                            queue.append((aa, bb))
    return out, label


# --- rivers (procgen/_kernels/rivers.py) ---
def naive_strahler(directions, network):
    """Strahler order from its definition, recursively over each cell's donors."""
    import functools
    nr, nc = directions.shape
    donors = {}
    for r in range(nr):
        for c in range(nc):
            k = directions[r, c]
            if k >= 0 and network[r, c]:
                donors.setdefault((r + _D8[k][0], c + _D8[k][1]), []).append((r, c))

    @functools.lru_cache(maxsize=None)
    def order(cell):
        ups = sorted((order(d) for d in donors.get(cell, []) if network[d]), reverse=True)
        if not ups:
            return 1
        return ups[0] + 1 if len(ups) > 1 and ups[1] == ups[0] else ups[0]

    out = np.zeros((nr, nc), np.int32)
    for r in range(nr):
        for c in range(nc):
            if network[r, c]:
                out[r, c] = order((r, c))
    return out


def naive_enforce_descent(height, rivers):
    """Repeat running minima along each river (lists of (row, col)) until nothing changes."""
    h = height.copy()
    changed = True
    while changed:
        changed = False
        for cells in rivers:
            lowest = h[cells[0]]
            for cell in cells[1:]:
                if h[cell] > lowest:
                    h[cell] = lowest
                    changed = True
                lowest = h[cell]
    return h


def naive_carve_valleys(height, cells, bed, radius, side_slope):
    """height = min(height, bed + side_slope * distance) within radius of each river cell."""
    h = height.copy()
    nr, nc = h.shape
    for (r0, c0), b, rad in zip(cells, bed, radius):
        for r in range(nr):
            for c in range(nc):
                d = np.hypot(r - r0, c - c0)
                if d <= rad:
                    h[r, c] = min(h[r, c], np.float32(b + side_slope * d))
    return h


# --- worlds (procgen/_kernels/world.py) ---
def naive_carve_valleys_at(height, row0, col0, rows, cols, z, radius, slope):
    """Every grid cell against every river cell given by global coordinates."""
    h = height.copy()
    nr, nc = h.shape
    for r0, c0, b, rad in zip(rows, cols, z, radius):
        for r in range(nr):
            for c in range(nc):
                d = float(np.hypot(row0 + r - r0, col0 + c - c0))
                if d <= rad:
                    h[r, c] = min(h[r, c], np.float32(float(b) + slope * d))
    return h


def naive_relax_beds(rows, cols, offsets, z, radius, slope):
    """Until nothing changes: every bed at most every valley reaching its cell (all pairs),
    then running minima along each river."""
    z = np.array(z, np.float32)
    changed = True
    while changed:
        changed = False
        for t in range(len(z)):
            for u in range(len(z)):
                d = float(np.hypot(rows[u] - rows[t], cols[u] - cols[t]))
                v = np.float32(float(z[t]) + slope * d)
                if d <= radius[t] and v < z[u]:
                    z[u] = v
                    changed = True
        for a, b in zip(offsets[:-1], offsets[1:]):
            for t in range(a + 1, b):
                if z[t] > z[t - 1]:
                    z[t] = z[t - 1]
                    changed = True
    return z


# --- meanders (procgen/_kernels/meanders.py) ---
def naive_centreline(rows, cols, widths, jitter=0.0, key=0, passes=3, half=1, step=0.5):
    """Interior cells moved by ``jitter * (2u - 1)`` (u from ``key``'s draws, row then
    column per cell), ``passes`` moving averages (window ``2 half + 1``, narrowing at the
    ends), sampled every ``step``."""
    p = np.stack([rows, cols], axis=1).astype(np.float64)
    n = len(p)
    u = naive_reach_draws(key, 2 * n, 0)[0].reshape(n, 2)
    p[1:-1] += jitter * (2.0 * u[1:-1] - 1.0)
    for _ in range(passes):
        p = np.array([p[i - min(i, n - 1 - i, half):i + min(i, n - 1 - i, half) + 1].mean(0)
                      for i in range(n)])
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(p, axis=0).T))])
    length = s[-1]
    t = np.linspace(0.0, length, max(2, int(np.ceil(length / step)) + 1))
    cen = np.stack([np.interp(t, s, p[:, 0]), np.interp(t, s, p[:, 1])], axis=1)
    cen[0], cen[-1] = (rows[0], cols[0]), (rows[-1], cols[-1])
    return cen, np.interp(t, np.linspace(0.0, length, n), widths), length


def naive_sine_profile(length, omega, j0, wavelength, noise, wander_phase, phase0,
                       step=0.5, sub=4, drift=1.6):
    """The disturbed sine-generated curve, integrated with whole-array steps."""
    arc = length / max(j0, 0.2)
    ns = int(np.ceil(arc / (step / sub))) + 1
    h = arc / (ns - 1)
    si = np.arange(ns - 1) * h
    drift = np.cumsum(noise[:ns - 1] * drift * np.sqrt(h / wavelength))
    wander = 1.0 + 0.25 * np.sin(2 * np.pi * si / (3.1 * wavelength) + wander_phase)
    theta = omega * wander * np.sin(2 * np.pi * si / wavelength + drift + phase0)
    x = np.concatenate([[0.0], np.cumsum(np.cos(theta) * h)])
    y = np.concatenate([[0.0], np.cumsum(np.sin(theta) * h)])
    y = y - y[-1] * x / x[-1]
    x = x * (length / x[-1])
    keep = list(range(0, ns, sub))
    if keep[-1] != ns - 1:
        keep.append(ns - 1)
    return x[keep], y[keep]


def naive_place_profile(cen, length, px, py, half, voronoi, basin, water, k, basin_id):
    """Every profile point moved along the interpolated normal, shrunk where it leaves the
    valley (one point at a time)."""
    m, q = len(cen), len(px)
    t = np.linspace(0.0, length, m)
    d = np.array([cen[min(m - 1, i + 1)] - cen[max(0, i - 1)] for i in range(m)])
    d = d / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-12)[:, None]
    x = np.clip(px, 0.0, length)
    base = np.stack([np.interp(x, t, cen[:, 0]), np.interp(x, t, cen[:, 1])], axis=1)
    u = np.stack([np.interp(x, t, -d[:, 1]), np.interp(x, t, d[:, 0])], axis=1)
    u = u / np.maximum(np.hypot(u[:, 0], u[:, 1]), 1e-12)[:, None]

    def inside(pt):
        i, j = int(np.rint(pt[0])), int(np.rint(pt[1]))
        return (i, j) if 0 <= i < voronoi.shape[0] and 0 <= j < voronoi.shape[1] else None

    def ok(pt, wet_ok):
        cell = inside(pt)
        return cell is not None and voronoi[cell] == k and basin[cell] == basin_id and (
            wet_ok or not water[cell])

    # where the centreline is on water, so may the curve be
    wet = [inside(b) is not None and bool(water[inside(b)]) for b in base]
    scale = np.ones(q)
    for factor in (0.75, 0.5, 0.25, 0.0):
        pts = base + (py * scale)[:, None] * u
        bad = np.array([0 < j < q - 1 and not ok(pts[j], wet[j]) for j in range(q)])
        if not bad.any():
            break
        scale[bad] = np.minimum(scale[bad], factor)
        lo = np.array([scale[max(0, j - half):j + half + 1].min() for j in range(q)])
        scale = np.array([lo[max(0, j - half):j + half + 1].mean() for j in range(q)])
    curve = base + (py * scale)[:, None] * u
    for p in (curve, base):
        p[0], p[-1] = cen[0], cen[-1]
    return curve, base


def naive_river_clashes(rows, cols, offsets, near):
    """Each river's cells (Bresenham between its vertex cells), owned by the first river
    through them; a later one clashes with the owner anywhere ``near`` is not set."""
    from procgen._kernels.raster import polyline_cells
    owner, clash = {}, np.zeros(len(offsets) - 1, bool)
    for k in range(len(offsets) - 1):
        a, b = offsets[k], offsets[k + 1]
        cells, _ = polyline_cells(np.array(rows[a:b], np.int64), np.array(cols[a:b], np.int64))
        for cell in map(tuple, cells.tolist()):
            j = owner.setdefault(cell, k)
            if j != k and not near[cell]:
                clash[[j, k]] = True
    return clash


# --- walkers and paths (procgen/_kernels/walkers.py, paths.py) ---
import math as _math
from fractions import Fraction as _Fraction


def naive_walk(left, turn, step, heading, start):
    """Positions of walkers that turn left where ``left`` is True (else right), then step.

    left : (n, steps) bool; heading : (n,); start : (n, 2). Heading is recomputed from the
    running sum of turns each step with math.cos / math.sin; ``dcol = cos``, ``drow = -sin``.
    """
    n, steps = left.shape
    out = np.empty((n, steps + 1, 2))
    for i in range(n):
        r, c = float(start[i][0]), float(start[i][1])
        out[i, 0] = r, c
        k = 0
        for j in range(steps):
            k += 1 if left[i, j] else -1
            phi = heading[i] + k * turn
            r -= step * _math.sin(phi)
            c += step * _math.cos(phi)
            out[i, j + 1] = r, c
    return out


def naive_persistent_turns(first_left, keep):
    """Turn directions of the two-state chain: first from ``first_left``, then repeat the
    previous direction where ``keep`` is True (``keep[:, 0]`` is ignored)."""
    n, steps = keep.shape
    left = np.empty((n, steps), bool)
    for i in range(n):
        d = bool(first_left[i])
        for j in range(steps):
            if j > 0 and not keep[i, j]:
                d = not d
            left[i, j] = d
    return left


def naive_bilinear(height, r, c):
    """Bilinear height at real (r, c), the point first clamped into the grid."""
    nr, nc = height.shape
    r = min(max(r, 0.0), nr - 1.0)
    c = min(max(c, 0.0), nc - 1.0)
    r0, c0 = min(int(_math.floor(r)), nr - 1), min(int(_math.floor(c)), nc - 1)
    r1, c1 = min(r0 + 1, nr - 1), min(c0 + 1, nc - 1)
    fr, fc = r - r0, c - c0
    h = height.astype(np.float64)
    return ((1 - fr) * ((1 - fc) * h[r0, c0] + fc * h[r0, c1])
            + fr * ((1 - fc) * h[r1, c0] + fc * h[r1, c1]))


def naive_downhill(height, u, bias, turn, step, heading, start):
    """Downhill walkers written out step by step: look at both candidate next points, turn
    left where u < logistic(bias * (h_right - h_left)); stop (repeat the last point) once the
    chosen point leaves [0, R-1] x [0, C-1]."""
    n, steps = u.shape
    nr, nc = height.shape
    out = np.empty((n, steps + 1, 2))
    for i in range(n):
        r, c = float(start[i][0]), float(start[i][1])
        out[i, 0] = r, c
        k = 0
        stopped = False
        for j in range(steps):
            if not stopped:
                cand = []
                for dk in (1, -1):
                    phi = heading[i] + (k + dk) * turn
                    cand.append((r - step * _math.sin(phi), c + step * _math.cos(phi)))
                (rl, cl), (rr, cr) = cand
                x = bias * (naive_bilinear(height, rr, cr) - naive_bilinear(height, rl, cl))
                p_left = 1.0 / (1.0 + _math.exp(-x)) if x >= 0 else _math.exp(x) / (1.0 + _math.exp(x))
                go_left = u[i, j] < p_left
                rn, cn = (rl, cl) if go_left else (rr, cr)
                if 0.0 <= rn <= nr - 1 and 0.0 <= cn <= nc - 1:
                    k += 1 if go_left else -1
                    r, c = rn, cn
                else:
                    stopped = True
            out[i, j + 1] = r, c
    return out


def naive_resample(path, n):
    """Uniform arc-length resampling of one (N, 2) path, one target at a time."""
    path = np.asarray(path, dtype=np.float64)
    seg = [_math.hypot(*(path[i + 1] - path[i])) for i in range(len(path) - 1)]
    cum = [0.0]
    for s in seg:
        cum.append(cum[-1] + s)
    total = cum[-1]
    out = np.empty((n, 2))
    out[0], out[-1] = path[0], path[-1]
    for j in range(1, n - 1):
        t = total * j / (n - 1)
        for s in range(len(seg)):
            if seg[s] > 0 and cum[s] <= t <= cum[s + 1]:
                f = (t - cum[s]) / seg[s]
                out[j] = path[s] + f * (path[s + 1] - path[s])
                break
        else:
            out[j] = path[-1]
    return out


def naive_self_intersection_count(path):
    """Pairs of segments that meet, by exact rational arithmetic over every pair.

    Consecutive duplicate points are merged; non-adjacent pairs count when the closed segments
    share a point; adjacent pairs count when the path folds straight back (turn of pi).
    """
    pts = []
    for r, c in np.asarray(path, dtype=np.float64):
        p = (_Fraction(float(r)), _Fraction(float(c)))
        if not pts or pts[-1] != p:
            pts.append(p)

    def orient(a, b, c):
        v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        return (v > 0) - (v < 0)

    def on(a, b, c):
        return (min(a[0], b[0]) <= c[0] <= max(a[0], b[0])
                and min(a[1], b[1]) <= c[1] <= max(a[1], b[1]))

    def meet(a, b, c, d):
        o1, o2, o3, o4 = orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b)
        if o1 * o2 < 0 and o3 * o4 < 0:
            return True
        return ((o1 == 0 and on(a, b, c)) or (o2 == 0 and on(a, b, d))
                or (o3 == 0 and on(c, d, a)) or (o4 == 0 and on(c, d, b)))

    count = 0
    ns = len(pts) - 1
    for i in range(ns):
        for j in range(i + 1, ns):
            a, b, c, d = pts[i], pts[i + 1], pts[j], pts[j + 1]
            if j == i + 1:
                dot = (b[0] - a[0]) * (d[0] - b[0]) + (b[1] - a[1]) * (d[1] - b[1])
                count += orient(a, b, d) == 0 and dot < 0
            else:
                count += meet(a, b, c, d)
    return count


# --- queries, biomes (procgen/_kernels/queries.py, procgen/biomes.py) ---
def naive_squared_edt(feature):
    """Squared distance to the nearest True cell by trying every True cell (inf if none)."""
    nr, nc = feature.shape
    out = np.full((nr, nc), np.inf)
    targets = [(r, c) for r in range(nr) for c in range(nc) if feature[r, c]]
    for r in range(nr):
        for c in range(nc):
            for tr, tc in targets:
                out[r, c] = min(out[r, c], float((r - tr) ** 2 + (c - tc) ** 2))
    return out


def naive_drain_outlets(directions):
    """Walk every cell's D8 path one step at a time to the cell coded -1."""
    from procgen.hydrology import DC, DR
    nr, nc = directions.shape
    out = np.empty(nr * nc, np.int64)
    for r0 in range(nr):
        for c0 in range(nc):
            r, c = r0, c0
            for _ in range(nr * nc + 1):
                k = directions[r, c]
                if k < 0:
                    break
                r, c = r + DR[k], c + DC[k]
            else:
                raise ValueError("cycle")
            out[r0 * nc + c0] = r * nc + c
    return out


class _NaiveSplitMix:
    """splitmix64 with Python ints modulo 2**64."""

    def __init__(self, seed):
        self.state = int(seed) & _MASK64

    def uniform(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK64
        x = self.state
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
        x ^= x >> 31
        return (x >> 11) * (1.0 / 9007199254740992.0)


def naive_poisson_disc(valid, radius, tries, seed):
    """Bridson's sampler as the kernel runs it (same random stream), but checking every
    earlier sample instead of a background grid."""
    import math
    nr, nc = valid.shape
    rand = _NaiveSplitMix(seed)
    cells = [int(i) for i in np.flatnonzero(valid.ravel())]
    for i in range(len(cells) - 1, 0, -1):
        j = int(rand.uniform() * (i + 1))
        cells[i], cells[j] = cells[j], cells[i]
    pts = []

    def fits(y, x):
        return all((py - y) ** 2 + (px - x) ** 2 >= radius * radius for py, px in pts)

    for cell in cells:
        r, c = divmod(cell, nc)
        y, x = r + rand.uniform(), c + rand.uniform()
        if not fits(y, x):
            continue
        pts.append((y, x))
        active = [len(pts) - 1]
        while active:
            a = int(rand.uniform() * len(active))
            p = active[a]
            for _ in range(tries):
                rad = radius * math.sqrt(1.0 + 3.0 * rand.uniform())
                ang = 2.0 * math.pi * rand.uniform()
                y = pts[p][0] + rad * math.sin(ang)
                x = pts[p][1] + rad * math.cos(ang)
                if 0.0 <= y < nr and 0.0 <= x < nc and valid[int(y), int(x)] and fits(y, x):
                    pts.append((y, x))
                    active.append(len(pts) - 1)
                    break
            else:
                active[a] = active[-1]
                active.pop()
    return np.array(pts, np.float64).reshape(-1, 2) - 0.5


def naive_classify(temp, moist, sea, lakes, beach, steep):
    """The biome table of procgen.biomes.classify, one cell at a time."""
    from procgen.biomes import Biome as B
    out = np.zeros(np.shape(temp), np.uint8)
    for idx in np.ndindex(out.shape):
        t, m = temp[idx], moist[idx]
        if sea[idx]:
            b = B.OCEAN
        elif lakes[idx]:
            b = B.LAKE
        elif beach[idx]:
            b = B.BEACH
        elif steep[idx]:
            b = B.BARE_ROCK
        elif t < -8:
            b = B.SNOW
        elif t < -2:
            b = B.TUNDRA
        elif t < 5:
            b = B.TUNDRA if m < 0.25 else B.TAIGA
        elif t < 20:
            b = (B.DESERT if m < 0.2 else B.GRASSLAND if m < 0.35 else B.SHRUBLAND if m < 0.5
                 else B.TEMPERATE_FOREST if m < 0.8 else B.RAINFOREST)
        else:
            b = B.DESERT if m < 0.3 else B.GRASSLAND if m < 0.6 else B.RAINFOREST
        out[idx] = b
    return out


# --- meander draws (procgen/_kernels/meanders.py) ---
_M64 = (1 << 64) - 1
_G64 = 0x9E3779B97F4A7C15


def _naive_mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def naive_reach_keys(base, ends):
    """SplitMix64 mixing of the base key with each end coordinate, in Python integers."""
    out = []
    for row in ends:
        k = int(base)
        for v in row:
            k = _naive_mix(k ^ ((int(v) + _G64) & _M64))
        out.append(k)
    return np.array(out, np.uint64)


def naive_reach_draws(key, n_uniform, n_normal):
    """Uniforms, then Box-Muller normals, from the SplitMix64 sequence of ``key``."""
    state = int(key)

    def nxt():
        nonlocal state
        state = (state + _G64) & _M64
        return _naive_mix(state) >> 11

    uniform = [nxt() * 2.0 ** -53 for _ in range(n_uniform)]
    normal = []
    while len(normal) < n_normal:
        u1 = (nxt() + 1.0) * 2.0 ** -53
        u2 = nxt() * 2.0 ** -53
        r = _math.sqrt(-2.0 * _math.log(u1))
        normal += [r * _math.cos(2.0 * _math.pi * u2), r * _math.sin(2.0 * _math.pi * u2)]
    return np.array(uniform), np.array(normal[:n_normal])


def _naive_steps_to_outlet(directions):
    """{(row, col): how many D8 steps its flow path takes to an outlet}."""
    nr, nc = directions.shape
    depth = {}
    for r in range(nr):
        for c in range(nc):
            rr, cc, n = r, c, 0
            while directions[rr, cc] >= 0:
                dr, dc = _D8[directions[rr, cc]]
                rr, cc, n = rr + dr, cc + dc, n + 1
            depth[r, c] = n
    return depth


def naive_stream_power_step(height, directions, floor, k_dt, channel_area):
    """One implicit stream-power step: cells in order of their number of steps to an
    outlet (so every receiver is solved before its donors), ``h = (h + F h_r) / (1 + F)``
    with ``F = k_dt sqrt(A) / d`` where at least ``channel_area`` cells drain (A from
    :func:`naive_accumulate`), never below ``floor``. Returns the new heights."""
    nr, nc = directions.shape
    area = naive_accumulate(directions, np.ones((nr, nc)))
    depth = _naive_steps_to_outlet(directions)
    h = np.array(height, np.float64)
    for r, c in sorted(depth, key=depth.get):
        k = directions[r, c]
        if k < 0 or area[r, c] < channel_area:
            continue
        dr, dc = _D8[k]
        f = k_dt * np.sqrt(area[r, c]) / (np.sqrt(2.0) if k % 2 else 1.0)
        h[r, c] = max((float(np.float32(h[r, c])) + f * float(np.float32(h[r + dr, c + dc])))
                      / (1.0 + f), float(floor[r, c]))
        h[r, c] = float(np.float32(h[r, c]))
    return h.astype(np.float32)




def naive_uplift_step(height, directions, rise, floor, k_dt, channel_area):
    """One step of uplift against stream-power incision: cells in order of their number of
    steps to an outlet, ``h = (h + u + F h_r) / (1 + F)`` (``F`` as in
    :func:`naive_stream_power_step`, 0 where fewer than ``channel_area`` cells drain), then
    at least the next float32 above the receiver's new height and at least ``floor``;
    unrouted cells unchanged. Returns the new heights."""
    nr, nc = directions.shape
    area = naive_accumulate(directions, np.ones((nr, nc)))
    depth = _naive_steps_to_outlet(directions)
    h = np.array(height, np.float32)
    for r, c in sorted(depth, key=depth.get):
        k = directions[r, c]
        if k < 0:
            continue
        dr, dc = _D8[k]
        below = h[r + dr, c + dc]
        f = 0.0
        if area[r, c] >= channel_area:
            f = k_dt * np.sqrt(area[r, c]) / (np.sqrt(2.0) if k % 2 else 1.0)
        new = np.float32((float(h[r, c]) + float(rise[r, c]) + f * float(below)) / (1.0 + f))
        h[r, c] = max(new, np.nextafter(below, np.float32(np.inf)), floor[r, c])
    return h
