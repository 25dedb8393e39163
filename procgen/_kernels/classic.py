"""Numba kernels that reproduce the ``noise`` package (1.2.2, Casey Duncan) bit for bit.

``pnoise2`` / ``pnoise3`` are Perlin's improved noise (Perlin 2002, "Improving Noise") and
``snoise2`` is 2-D simplex noise (Gustavson 2005, "Simplex noise demystified"), including the
tiled variant that wraps each tiled axis onto a circle and samples 3-D or 4-D simplex noise.

The behaviour was read off ``noise`` 1.2.2's ``_perlin.c``, ``_simplex.c`` and ``_noise.h``
and the code below is written from that description. To agree bit for bit with the compiled C
(x86-64, SSE, no FMA contraction) every operation is done in float32, in the C evaluation
order, with float32 constants: in numba a Python float literal would promote to float64.
The exceptions are the two places where the C code itself computes in double (see
``_circle``). C's float-to-int conversion is emulated by ``c_int``, including what x86-64
returns for NaN and out-of-range values, because large coordinates at high octaves reach it.

Array kernels take flat float32 arrays (already broadcast by the caller) and write a flat
float32 ``out``; a point whose coordinates are not all finite gets NaN (``noise`` itself
returns NaN for Perlin and 0.0 for simplex there, which hides the bad input).

Out-of-bounds reads. With ``base >= 2`` the Perlin code of ``noise`` indexes past the end of
its 512-entry ``PERM`` table (index up to ``510 + base``). In the ``noise`` 1.2.2 build checked
(GCC 12.2, x86-64) the read-only data of ``_perlin`` holds SIMPLEX, PERM, GRAD4, GRAD3 in that
order, so the bytes after PERM are GRAD4's float32 values in little-endian byte order.
``PERM_EXT`` is PERM followed by those bytes; for ``base`` in 0..255 every index stays below
766, inside that image, and the results match the compiled ``noise`` exactly.
"""

import numpy as np
from numba import njit, prange

# ---------------------------------------------------------------------------------------------
# Tables (data). PERM: Ken Perlin's reference permutation (Perlin 2002, "Improving Noise"),
# repeated twice as in noise 1.2.2's _noise.h. GRAD3 / GRAD4 / SIMPLEX: gradient and simplex
# traversal tables exactly as tabulated in noise 1.2.2's _noise.h (GRAD3's last four rows pad
# the 12 cube-edge gradients to 16 so that ``hash & 15`` can index it; SIMPLEX is the 4-D
# corner-order lookup of Gustavson 2005).
# ---------------------------------------------------------------------------------------------

_PERLIN_PERMUTATION = (
    151, 160, 137, 91, 90, 15, 131, 13, 201, 95, 96, 53, 194, 233, 7, 225, 140, 36, 103, 30,
    69, 142, 8, 99, 37, 240, 21, 10, 23, 190, 6, 148, 247, 120, 234, 75, 0, 26, 197, 62, 94,
    252, 219, 203, 117, 35, 11, 32, 57, 177, 33, 88, 237, 149, 56, 87, 174, 20, 125, 136, 171,
    168, 68, 175, 74, 165, 71, 134, 139, 48, 27, 166, 77, 146, 158, 231, 83, 111, 229, 122, 60,
    211, 133, 230, 220, 105, 92, 41, 55, 46, 245, 40, 244, 102, 143, 54, 65, 25, 63, 161, 1,
    216, 80, 73, 209, 76, 132, 187, 208, 89, 18, 169, 200, 196, 135, 130, 116, 188, 159, 86,
    164, 100, 109, 198, 173, 186, 3, 64, 52, 217, 226, 250, 124, 123, 5, 202, 38, 147, 118,
    126, 255, 82, 85, 212, 207, 206, 59, 227, 47, 16, 58, 17, 182, 189, 28, 42, 223, 183, 170,
    213, 119, 248, 152, 2, 44, 154, 163, 70, 221, 153, 101, 155, 167, 43, 172, 9, 129, 22, 39,
    253, 19, 98, 108, 110, 79, 113, 224, 232, 178, 185, 112, 104, 218, 246, 97, 228, 251, 34,
    242, 193, 238, 210, 144, 12, 191, 179, 162, 241, 81, 51, 145, 235, 249, 14, 239, 107, 49,
    192, 214, 31, 181, 199, 106, 157, 184, 84, 204, 176, 115, 121, 50, 45, 127, 4, 150, 254,
    138, 236, 205, 93, 222, 114, 67, 29, 24, 72, 243, 141, 128, 195, 78, 66, 215, 61, 156, 180,
)

PERM = np.array(_PERLIN_PERMUTATION * 2, dtype=np.int32)

GRAD3 = np.array([
    [1, 1, 0], [-1, 1, 0], [1, -1, 0], [-1, -1, 0],
    [1, 0, 1], [-1, 0, 1], [1, 0, -1], [-1, 0, -1],
    [0, 1, 1], [0, -1, 1], [0, 1, -1], [0, -1, -1],
    [1, 0, -1], [-1, 0, -1], [0, -1, 1], [0, 1, 1],
], dtype=np.float32)

GRAD4 = np.array([
    [0, 1, 1, 1], [0, 1, 1, -1], [0, 1, -1, 1], [0, 1, -1, -1],
    [0, -1, 1, 1], [0, -1, 1, -1], [0, -1, -1, 1], [0, -1, -1, -1],
    [1, 0, 1, 1], [1, 0, 1, -1], [1, 0, -1, 1], [1, 0, -1, -1],
    [-1, 0, 1, 1], [-1, 0, 1, -1], [-1, 0, -1, 1], [-1, 0, -1, -1],
    [1, 1, 0, 1], [1, 1, 0, -1], [1, -1, 0, 1], [1, -1, 0, -1],
    [-1, 1, 0, 1], [-1, 1, 0, -1], [-1, -1, 0, 1], [-1, -1, 0, -1],
    [1, 1, 1, 0], [1, 1, -1, 0], [1, -1, 1, 0], [1, -1, -1, 0],
    [-1, 1, 1, 0], [-1, 1, -1, 0], [-1, -1, 1, 0], [-1, -1, -1, 0],
], dtype=np.float32)

SIMPLEX = np.array([
    [0, 1, 2, 3], [0, 1, 3, 2], [0, 0, 0, 0], [0, 2, 3, 1], [0, 0, 0, 0], [0, 0, 0, 0],
    [0, 0, 0, 0], [1, 2, 3, 0], [0, 2, 1, 3], [0, 0, 0, 0], [0, 3, 1, 2], [0, 3, 2, 1],
    [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [1, 3, 2, 0], [0, 0, 0, 0], [0, 0, 0, 0],
    [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0],
    [1, 2, 0, 3], [0, 0, 0, 0], [1, 3, 0, 2], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0],
    [2, 3, 0, 1], [2, 3, 1, 0], [1, 0, 2, 3], [1, 0, 3, 2], [0, 0, 0, 0], [0, 0, 0, 0],
    [0, 0, 0, 0], [2, 0, 3, 1], [0, 0, 0, 0], [2, 1, 3, 0], [0, 0, 0, 0], [0, 0, 0, 0],
    [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0],
    [2, 0, 1, 3], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [3, 0, 1, 2], [3, 0, 2, 1],
    [0, 0, 0, 0], [3, 1, 2, 0], [2, 1, 0, 3], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0],
    [3, 1, 0, 2], [0, 0, 0, 0], [3, 2, 0, 1], [3, 2, 1, 0],
], dtype=np.int32)


def _extended_perm():
    # The compiled noise reads the bytes that follow PERM when base >= 2; in its GCC build
    # those are GRAD4's little-endian float32 bytes (see the module docstring).
    tail = np.frombuffer(GRAD4.astype("<f4").tobytes(), dtype=np.uint8).astype(np.int32)
    return np.concatenate([PERM, tail])


PERM_EXT = _extended_perm()

#: Largest ``base`` for which ``PERM_EXT`` reproduces the compiled ``noise`` (index 510 + base).
MAX_BASE = 255

# ---------------------------------------------------------------------------------------------
# Constants, all float32 so that numba keeps the arithmetic in single precision.
# ---------------------------------------------------------------------------------------------

_NAN = np.float32(np.nan)
_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
_SIX = np.float32(6.0)
_TEN = np.float32(10.0)
_FIFTEEN = np.float32(15.0)
_TWO31 = np.float32(2147483648.0)
_INT_MIN = -2147483648
FLT_MAX = np.float32(np.finfo(np.float32).max)   # snoise2's "no repeat" sentinel

_HALF = np.float32(0.5)
_POINT6 = np.float32(0.6)
_F2 = np.float32(0.3660254037844386)      # (sqrt(3) - 1) / 2, as the C float literal
_G2 = np.float32(0.21132486540518713)     # (3 - sqrt(3)) / 6
_G2X2 = _G2 * np.float32(2.0)
_F3 = np.float32(1.0) / np.float32(3.0)
_G3 = np.float32(1.0) / np.float32(6.0)
_G3X2 = np.float32(2.0) * _G3
_G3X3 = np.float32(3.0) * _G3
_F4 = np.float32(0.30901699437494745)     # (sqrt(5) - 1) / 4
_G4 = np.float32(0.1381966011250105)      # (5 - sqrt(5)) / 20
_G4X2 = np.float32(2.0) * _G4
_G4X3 = np.float32(3.0) * _G4
_G4X4 = np.float32(4.0) * _G4
_SCALE2 = np.float32(70.0)
_SCALE3 = np.float32(32.0)
_SCALE4 = np.float32(27.0)   # C multiplies by the double 27.0; exact, so float32 is identical

_SIN_SHIFT = np.float32(25165824.0)   # 1.5 * 2**24: adding it rounds to an even integer
_SIN_Q = np.float32(3.1)
_SIN_P = np.float32(3.6)
_SIN_COS_OFFSET = np.float32(0.5)
_M_1_PI = 0.31830988618379067154      # double, like C's M_1_PI
_TWO_D = 2.0
_HALF_D = 0.5


# ---------------------------------------------------------------------------------------------
# C arithmetic helpers
# ---------------------------------------------------------------------------------------------

@njit(cache=True, inline="always")
def c_int(v):
    """C ``(int)v`` for a float32 as x86-64 does it: truncate, INT_MIN for NaN / overflow."""
    # cvttss2si returns the "integer indefinite" 0x80000000 where C leaves it undefined;
    # numba's own conversion would be undefined there too, so spell it out.
    if v != v or v >= _TWO31 or v < -_TWO31:
        return _INT_MIN
    return np.int64(v)


@njit(cache=True, inline="always")
def fmodf(a, b):
    """C ``fmodf`` (sign of ``a``); skips the libm call when ``|a| < |b|``, where it is ``a``."""
    if abs(a) < abs(b):
        return a
    return np.fmod(a, b)


@njit(cache=True, inline="always")
def _fade(t):
    return t * t * t * (t * (t * _SIX - _FIFTEEN) + _TEN)


@njit(cache=True, inline="always")
def _lerp(t, a, b):
    return a + t * (b - a)


# ---------------------------------------------------------------------------------------------
# Perlin improved noise (noise 1.2.2 _perlin.c semantics)
# ---------------------------------------------------------------------------------------------

@njit(cache=True, inline="always")
def _grad2(h, x, y):
    g = h & 15
    return x * GRAD3[g, 0] + y * GRAD3[g, 1]


@njit(cache=True, inline="always")
def _grad3(h, x, y, z):
    g = h & 15
    return x * GRAD3[g, 0] + y * GRAD3[g, 1] + z * GRAD3[g, 2]


@njit(cache=True, inline="always")
def _cell(v, repeat):
    """Lattice cell of ``v`` and of its right neighbour, wrapped with float fmod like noise."""
    i = c_int(np.floor(fmodf(v, repeat)))
    ii = c_int(fmodf(np.float32(i + 1), repeat))
    return i, ii


@njit(cache=True)
def perlin2(x, y, repeatx, repeaty, base):
    """One octave of 2-D improved noise; repeats are float32, ``base`` offsets the hash."""
    i, ii = _cell(x, repeatx)
    j, jj = _cell(y, repeaty)
    i = (i & 255) + base
    j = (j & 255) + base
    ii = (ii & 255) + base
    jj = (jj & 255) + base

    x = x - np.floor(x)
    y = y - np.floor(y)
    fx = _fade(x)
    fy = _fade(y)

    a = PERM_EXT[i]
    aa = PERM_EXT[a + j]
    ab = PERM_EXT[a + jj]
    b = PERM_EXT[ii]
    ba = PERM_EXT[b + j]
    bb = PERM_EXT[b + jj]

    x1 = x - _ONE
    y1 = y - _ONE
    return _lerp(fy, _lerp(fx, _grad2(PERM_EXT[aa], x, y), _grad2(PERM_EXT[ba], x1, y)),
                 _lerp(fx, _grad2(PERM_EXT[ab], x, y1), _grad2(PERM_EXT[bb], x1, y1)))


@njit(cache=True)
def perlin3(x, y, z, repeatx, repeaty, repeatz, base):
    """One octave of 3-D improved noise; repeats are (C int) int64, ``base`` offsets the hash."""
    i, ii = _cell(x, np.float32(repeatx))
    j, jj = _cell(y, np.float32(repeaty))
    k, kk = _cell(z, np.float32(repeatz))
    i = (i & 255) + base
    j = (j & 255) + base
    k = (k & 255) + base
    ii = (ii & 255) + base
    jj = (jj & 255) + base
    kk = (kk & 255) + base

    x = x - np.floor(x)
    y = y - np.floor(y)
    z = z - np.floor(z)
    fx = _fade(x)
    fy = _fade(y)
    fz = _fade(z)

    a = PERM_EXT[i]
    aa = PERM_EXT[a + j]
    ab = PERM_EXT[a + jj]
    b = PERM_EXT[ii]
    ba = PERM_EXT[b + j]
    bb = PERM_EXT[b + jj]

    x1 = x - _ONE
    y1 = y - _ONE
    z1 = z - _ONE
    near = _lerp(fy, _lerp(fx, _grad3(PERM_EXT[aa + k], x, y, z),
                           _grad3(PERM_EXT[ba + k], x1, y, z)),
                 _lerp(fx, _grad3(PERM_EXT[ab + k], x, y1, z),
                       _grad3(PERM_EXT[bb + k], x1, y1, z)))
    far = _lerp(fy, _lerp(fx, _grad3(PERM_EXT[aa + kk], x, y, z1),
                          _grad3(PERM_EXT[ba + kk], x1, y, z1)),
                _lerp(fx, _grad3(PERM_EXT[ab + kk], x, y1, z1),
                      _grad3(PERM_EXT[bb + kk], x1, y1, z1)))
    return _lerp(fz, near, far)


@njit(cache=True)
def pnoise2_point(x, y, octaves, persistence, lacunarity, repeatx, repeaty, base):
    """``noise.pnoise2`` at one float32 point (all float arguments float32)."""
    if octaves == 1:
        return perlin2(x, y, repeatx, repeaty, base)
    freq = _ONE
    amp = _ONE
    total = _ZERO
    norm = _ZERO
    for _ in range(octaves):
        n = perlin2(x * freq, y * freq, repeatx * freq, repeaty * freq, base)
        total = total + n * amp
        norm = norm + amp
        freq = freq * lacunarity
        amp = amp * persistence
    return total / norm


@njit(cache=True)
def pnoise3_point(x, y, z, octaves, persistence, lacunarity, repeatx, repeaty, repeatz, base):
    """``noise.pnoise3`` at one float32 point; repeats are ints as in the C code."""
    if octaves == 1:
        return perlin3(x, y, z, repeatx, repeaty, repeatz, base)
    freq = _ONE
    amp = _ONE
    total = _ZERO
    norm = _ZERO
    for _ in range(octaves):
        # the C code scales the int repeat as a float and truncates it back to int
        n = perlin3(x * freq, y * freq, z * freq,
                    c_int(np.float32(repeatx) * freq), c_int(np.float32(repeaty) * freq),
                    c_int(np.float32(repeatz) * freq), base)
        total = total + n * amp
        norm = norm + amp
        freq = freq * lacunarity
        amp = amp * persistence
    return total / norm


# ---------------------------------------------------------------------------------------------
# Simplex noise (noise 1.2.2 _simplex.c semantics; algorithm of Gustavson 2005)
# ---------------------------------------------------------------------------------------------

@njit(cache=True, inline="always")
def _corner2(x, y, g):
    f = _HALF - x * x - y * y
    if f > _ZERO:
        return f * f * f * f * (GRAD3[g, 0] * x + GRAD3[g, 1] * y)
    return _ZERO


@njit(cache=True)
def simplex2(x, y):
    """2-D simplex noise at one float32 point."""
    s = (x + y) * _F2
    i = np.floor(x + s)
    j = np.floor(y + s)
    t = (i + j) * _G2
    x0 = x - (i - t)
    y0 = y - (j - t)
    # two comparisons, not one and its negation: with NaN both offsets are 0 in C
    i1 = 1 if x0 > y0 else 0
    j1 = 1 if x0 <= y0 else 0

    x2 = x0 + _G2X2 - _ONE
    y2 = y0 + _G2X2 - _ONE
    x1 = x0 - np.float32(i1) + _G2
    y1 = y0 - np.float32(j1) + _G2

    ci = c_int(i) & 255
    cj = c_int(j) & 255
    g0 = PERM[ci + PERM[cj]] % 12
    g1 = PERM[ci + i1 + PERM[cj + j1]] % 12
    g2 = PERM[ci + 1 + PERM[cj + 1]] % 12

    n0 = _corner2(x0, y0, g0)
    n1 = _corner2(x1, y1, g1)
    n2 = _corner2(x2, y2, g2)
    return (n0 + n1 + n2) * _SCALE2


@njit(cache=True, inline="always")
def _corner3(x, y, z, g):
    f = _POINT6 - x * x - y * y - z * z
    if f > _ZERO:
        return f * f * f * f * (x * GRAD3[g, 0] + y * GRAD3[g, 1] + z * GRAD3[g, 2])
    return _ZERO


@njit(cache=True, inline="always")
def _order3(x0, y0, z0):
    """Offsets (o1, o2) of the second and third simplex corners, in noise's branch order."""
    if x0 >= y0:
        if y0 >= z0:
            return 1, 0, 0, 1, 1, 0
        if x0 >= z0:
            return 1, 0, 0, 1, 0, 1
        return 0, 0, 1, 1, 0, 1
    if y0 < z0:
        return 0, 0, 1, 0, 1, 1
    if x0 < z0:
        return 0, 1, 0, 0, 1, 1
    return 0, 1, 0, 1, 1, 0


@njit(cache=True)
def simplex3(x, y, z):
    """3-D simplex noise at one float32 point."""
    s = (x + y + z) * _F3
    i = np.floor(x + s)
    j = np.floor(y + s)
    k = np.floor(z + s)
    t = (i + j + k) * _G3
    x0 = x - (i - t)
    y0 = y - (j - t)
    z0 = z - (k - t)
    o1i, o1j, o1k, o2i, o2j, o2k = _order3(x0, y0, z0)

    x3 = x0 - _ONE + _G3X3
    y3 = y0 - _ONE + _G3X3
    z3 = z0 - _ONE + _G3X3
    x2 = x0 - np.float32(o2i) + _G3X2
    y2 = y0 - np.float32(o2j) + _G3X2
    z2 = z0 - np.float32(o2k) + _G3X2
    x1 = x0 - np.float32(o1i) + _G3
    y1 = y0 - np.float32(o1j) + _G3
    z1 = z0 - np.float32(o1k) + _G3

    ci = c_int(i) & 255
    cj = c_int(j) & 255
    ck = c_int(k) & 255
    g0 = PERM[ci + PERM[cj + PERM[ck]]] % 12
    g1 = PERM[ci + o1i + PERM[cj + o1j + PERM[o1k + ck]]] % 12
    g2 = PERM[ci + o2i + PERM[cj + o2j + PERM[o2k + ck]]] % 12
    g3 = PERM[ci + 1 + PERM[cj + 1 + PERM[ck + 1]]] % 12

    n0 = _corner3(x0, y0, z0, g0)
    n1 = _corner3(x1, y1, z1, g1)
    n2 = _corner3(x2, y2, z2, g2)
    n3 = _corner3(x3, y3, z3, g3)
    return (n0 + n1 + n2 + n3) * _SCALE3


@njit(cache=True, inline="always")
def _corner4(x, y, z, w, g):
    t = _POINT6 - x * x - y * y - z * z - w * w
    if t >= _ZERO:
        t = t * t
        return t * t * (GRAD4[g, 0] * x + GRAD4[g, 1] * y + GRAD4[g, 2] * z + GRAD4[g, 3] * w)
    return _ZERO


@njit(cache=True, inline="always")
def _hash4(ci, cj, ck, cl):
    return PERM[ci + PERM[cj + PERM[ck + PERM[cl]]]] & 0x1F


@njit(cache=True)
def simplex4(x, y, z, w):
    """4-D simplex noise at one float32 point."""
    s = (x + y + z + w) * _F4
    i = np.floor(x + s)
    j = np.floor(y + s)
    k = np.floor(z + s)
    m = np.floor(w + s)
    t = (i + j + k + m) * _G4
    x0 = x - (i - t)
    y0 = y - (j - t)
    z0 = z - (k - t)
    w0 = w - (m - t)

    c = ((32 if x0 > y0 else 0) + (16 if x0 > z0 else 0) + (8 if y0 > z0 else 0)
         + (4 if x0 > w0 else 0) + (2 if y0 > w0 else 0) + (1 if z0 > w0 else 0))
    ri = SIMPLEX[c, 0]
    rj = SIMPLEX[c, 1]
    rk = SIMPLEX[c, 2]
    rm = SIMPLEX[c, 3]
    i1, j1, k1, m1 = int(ri >= 3), int(rj >= 3), int(rk >= 3), int(rm >= 3)
    i2, j2, k2, m2 = int(ri >= 2), int(rj >= 2), int(rk >= 2), int(rm >= 2)
    i3, j3, k3, m3 = int(ri >= 1), int(rj >= 1), int(rk >= 1), int(rm >= 1)

    ci = c_int(i) & 255
    cj = c_int(j) & 255
    ck = c_int(k) & 255
    cm = c_int(m) & 255

    n0 = _corner4(x0, y0, z0, w0, _hash4(ci, cj, ck, cm))
    n1 = _corner4(x0 - np.float32(i1) + _G4, y0 - np.float32(j1) + _G4,
                  z0 - np.float32(k1) + _G4, w0 - np.float32(m1) + _G4,
                  _hash4(ci + i1, cj + j1, ck + k1, cm + m1))
    n2 = _corner4(x0 - np.float32(i2) + _G4X2, y0 - np.float32(j2) + _G4X2,
                  z0 - np.float32(k2) + _G4X2, w0 - np.float32(m2) + _G4X2,
                  _hash4(ci + i2, cj + j2, ck + k2, cm + m2))
    n3 = _corner4(x0 - np.float32(i3) + _G4X3, y0 - np.float32(j3) + _G4X3,
                  z0 - np.float32(k3) + _G4X3, w0 - np.float32(m3) + _G4X3,
                  _hash4(ci + i3, cj + j3, ck + k3, cm + m3))
    n4 = _corner4(x0 - _ONE + _G4X4, y0 - _ONE + _G4X4, z0 - _ONE + _G4X4, w0 - _ONE + _G4X4,
                  _hash4(ci + 1, cj + 1, ck + 1, cm + 1))
    return _SCALE4 * (n0 + n1 + n2 + n3 + n4)


@njit(cache=True)
def _fbm3(x, y, z, octaves, persistence, lacunarity):
    freq = _ONE
    amp = _ONE
    norm = _ONE
    total = simplex3(x, y, z)
    for _ in range(1, octaves):
        freq = freq * lacunarity
        amp = amp * persistence
        norm = norm + amp
        total = total + simplex3(x * freq, y * freq, z * freq) * amp
    return total / norm


@njit(cache=True)
def _fbm4(x, y, z, w, octaves, persistence, lacunarity):
    freq = _ONE
    amp = _ONE
    norm = _ONE
    total = simplex4(x, y, z, w)
    for _ in range(1, octaves):
        freq = freq * lacunarity
        amp = amp * persistence
        norm = norm + amp
        total = total + simplex4(x * freq, y * freq, z * freq, w * freq) * amp
    return total / norm


@njit(cache=True, inline="always")
def fast_sin(x):
    """noise's polynomial sine of ``pi * x`` (period 2), float32, with its range reduction."""
    # (x + 1.5*2**24) - 1.5*2**24 rounds x to an even integer (ties to even); the C code needs
    # `volatile` to stop its compiler folding that away, numba (no fast-math) keeps it as is.
    z = x + _SIN_SHIFT
    x = x - (z - _SIN_SHIFT)
    y = x - x * abs(x)
    return y * (_SIN_Q + _SIN_P * abs(y))


@njit(cache=True, inline="always")
def _circle(v, repeat):
    """Map a tiled coordinate onto a circle: returns (sin part, cos part), already scaled."""
    # Both the angle and the radius are computed in double in the C code, then rounded.
    angle = np.float32(np.float64(v) * _TWO_D / np.float64(repeat))
    radius = np.float32(np.float64(repeat) * _M_1_PI * _HALF_D)
    return fast_sin(angle) * radius, fast_sin(angle + _SIN_COS_OFFSET) * radius


@njit(cache=True)
def snoise2_point(x, y, octaves, persistence, lacunarity, repeatx, repeaty, base):
    """``noise.snoise2`` at one float32 point; a repeat equal to ``FLT_MAX`` means none."""
    if repeatx == FLT_MAX and repeaty == FLT_MAX:
        freq = _ONE
        amp = _ONE
        norm = _ONE
        total = simplex2(x + base, y + base)
        for _ in range(1, octaves):
            freq = freq * lacunarity
            amp = amp * persistence
            norm = norm + amp
            total = total + simplex2(x * freq + base, y * freq + base) * amp
        return total / norm
    # Tiled: each repeating axis becomes a circle in a plane with the base offset axis.
    z = base
    w = base
    if repeaty != FLT_MAX:
        sy, cy = _circle(y, repeaty)
        y = sy
        w = w + cy
        if repeatx == FLT_MAX:
            return _fbm3(x, y, w, octaves, persistence, lacunarity)
    sx, cx = _circle(x, repeatx)
    x = sx
    z = z + cx
    if repeaty == FLT_MAX:
        return _fbm3(x, y, z, octaves, persistence, lacunarity)
    return _fbm4(x, y, z, w, octaves, persistence, lacunarity)


# ---------------------------------------------------------------------------------------------
# Array kernels: flat float32 coordinates in, flat float32 ``out`` written in parallel.
# ---------------------------------------------------------------------------------------------

@njit(cache=True, parallel=True)
def pnoise2_points(x, y, octaves, persistence, lacunarity, repeatx, repeaty, base, out):
    """``out[n] = pnoise2(x[n], y[n], ...)``; NaN where a coordinate is not finite."""
    for n in prange(out.shape[0]):
        xn = x[n]
        yn = y[n]
        if np.isfinite(xn) and np.isfinite(yn):
            out[n] = pnoise2_point(xn, yn, octaves, persistence, lacunarity,
                                   repeatx, repeaty, base)
        else:
            out[n] = _NAN


@njit(cache=True, parallel=True)
def pnoise3_points(x, y, z, octaves, persistence, lacunarity, repeatx, repeaty, repeatz,
                   base, out):
    """``out[n] = pnoise3(x[n], y[n], z[n], ...)``; NaN where a coordinate is not finite."""
    for n in prange(out.shape[0]):
        xn = x[n]
        yn = y[n]
        zn = z[n]
        if np.isfinite(xn) and np.isfinite(yn) and np.isfinite(zn):
            out[n] = pnoise3_point(xn, yn, zn, octaves, persistence, lacunarity,
                                   repeatx, repeaty, repeatz, base)
        else:
            out[n] = _NAN


@njit(cache=True, parallel=True)
def snoise2_points(x, y, octaves, persistence, lacunarity, repeatx, repeaty, base, out):
    """``out[n] = snoise2(x[n], y[n], ...)``; NaN where a coordinate is not finite."""
    for n in prange(out.shape[0]):
        xn = x[n]
        yn = y[n]
        if np.isfinite(xn) and np.isfinite(yn):
            out[n] = snoise2_point(xn, yn, octaves, persistence, lacunarity,
                                   repeatx, repeaty, base)
        else:
            out[n] = _NAN
