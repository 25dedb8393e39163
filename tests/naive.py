"""Slow, obviously-correct twins of the kernels in procgen/_kernels."""
import numpy as np


# --- seeded gradient noise (procgen/_kernels/gradient.py) ---
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
    from procgen._kernels.gradient import GRAD_COL, GRAD_ROW

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


def naive_drains(dem, seeds):
    """Cells that drain by definition: seeds, the map edge, and neighbours of NaN."""
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


def naive_spill_levels(dem, seeds):
    """The exact filled surface without epsilon: each cell's spill level, the lowest possible
    maximum height along any 8-connected path to a drain, by fixed-point iteration
    (W = max(own height, min W of neighbours) until nothing changes)."""
    nr, nc = dem.shape
    drains = naive_drains(dem, seeds)
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


def naive_d8(filled, outlets):
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


def naive_accumulation(directions, weights):
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
