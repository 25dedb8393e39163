"""numba kernels of the runtime: what numpy has no fast ufunc for (arrays in, arrays out).

GELU is ``x * Phi(x)`` with the exact (erf) Phi, as ``torch.nn.GELU()`` computes it. numpy has
no erf; numba's ``math.erf`` is a scalar libm call that runs about 3x slower than torch's
vectorised GELU, so erf is a rational function of x^2 (degree 5 over 5) on the clamped
argument, fitted for this project by iteratively reweighted least squares on [0, 4]
(erf(4) = 1 - 1.5e-8): no exp, no branch, so LLVM vectorises the loop (about 0.2 ns per
element on one core, several times torch's speed). Its largest error
evaluated in float32 is 4e-7, below float32's own rounding of the GELU.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# erf(a) = a * P(a^2) / Q(a^2), |a| <= 4: one copy of the coefficients, the numpy twin's
from ._kernels_np import P as _P, Q as _Q


# error_model="numpy": no ZeroDivisionError check on the division (den >= 1), whose branch
# kept LLVM from vectorising the loop (11x slower); inlined into every loop that calls it
@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _gelu(v):
    """``gelu(v)`` of one float32: ``v Phi(v)`` with erf(a) = a P(a^2) / Q(a^2)."""
    a = min(max(v * np.float32(0.7071067811865476), np.float32(-4.0)), np.float32(4.0))
    s = a * a
    num = np.float32(_P[0]) + s * (np.float32(_P[1]) + s * (np.float32(_P[2]) + s * (
        np.float32(_P[3]) + s * (np.float32(_P[4]) + s * np.float32(_P[5])))))
    den = np.float32(1.0) + s * (np.float32(_Q[1]) + s * (np.float32(_Q[2]) + s * (
        np.float32(_Q[3]) + s * (np.float32(_Q[4]) + s * np.float32(_Q[5])))))
    return np.float32(0.5) * v * (np.float32(1.0) + a * num / den)


@njit(cache=True, fastmath=True, error_model="numpy")
def gelu_flat(x, out):
    """``out[i] = gelu(x[i])`` for flat float32 arrays."""
    for i in range(x.size):
        out[i] = _gelu(x[i])


# -- fused layers of the convolutional families ------------------------------------------------
# A block of the diffusion and GAN nets is a chain of elementwise steps around two matrix
# products. In numpy each step is a pass over the whole activation (and its own allocation);
# these kernels do the chain between two products in one pass and write straight into the
# im2col layout the next product reads (``_nn.conv``'s layout: row ``i * C + c`` of a column is
# tap ``i`` of channel ``c``). nogil: ``RuntimeModel`` samples blocks of rivers on threads.

@njit(cache=True, nogil=True, error_model="numpy")
def _scatter_taps(row, extra, cols, kernel, dilation):
    """One river's ``row`` (L, C) and its ``extra`` channels (E,), the same at every
    position, into ``cols`` (L, kernel * (C + E)), zero where a tap falls outside."""
    length, c = row.shape
    e = extra.shape[0]
    width = c + e
    pad = dilation * (kernel - 1) // 2
    for pos in range(length):
        for i in range(kernel):
            src = pos + i * dilation - pad
            base = i * width
            if src < 0 or src >= length:
                for k in range(width):
                    cols[pos, base + k] = 0.0
            else:
                for k in range(c):
                    cols[pos, base + k] = row[src, k]
                for k in range(e):
                    cols[pos, base + c + k] = extra[k]


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def act_im2col(x, bias, extra, cols, kernel, dilation, gelu):
    """``cols`` = im2col of ``act(x + bias)`` with ``extra`` (B, E) appended as channels
    (``gelu``: act is GELU, else the identity); x (B, L, C), cols (B, L, kernel (C + E))."""
    n, length, c = x.shape
    row = np.empty((length, c), dtype=np.float32)
    for b in range(n):
        # the branch outside the loops: inside, it kept LLVM from vectorising them (10x)
        if gelu:
            for pos in range(length):
                for k in range(c):
                    row[pos, k] = _gelu(x[b, pos, k] + bias[k])
        else:
            for pos in range(length):
                for k in range(c):
                    row[pos, k] = x[b, pos, k] + bias[k]
        _scatter_taps(row, extra[b], cols[b], kernel, dilation)


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def norm_film_gelu_im2col(h, groups, weight, bias, film, offset, cols, kernel, dilation):
    """``cols`` = im2col of ``gelu(group_norm(h) * (1 + scale) + shift)``, ``scale`` and
    ``shift`` read from ``film[:, offset:offset + 2C]`` (torch's GroupNorm: biased variance,
    eps 1e-5; sums in float64). h (B, L, C), cols (B, L, kernel C)."""
    n, length, c = h.shape
    per = c // groups
    count = length * per
    row = np.empty((length, c), dtype=np.float32)
    empty = np.empty(0, dtype=np.float32)
    acc = np.empty(c, dtype=np.float64)
    centre = np.empty(c, dtype=np.float64)
    mul = np.empty(c, dtype=np.float32)
    add = np.empty(c, dtype=np.float32)
    for b in range(n):
        # per channel first (the inner loop runs along contiguous channels and vectorises),
        # then per group; two passes, as torch, for the variance
        acc[:] = 0.0
        for pos in range(length):
            for k in range(c):
                acc[k] += h[b, pos, k]
        for g in range(groups):
            centre[g * per:(g + 1) * per] = acc[g * per:(g + 1) * per].sum() / count
        acc[:] = 0.0
        for pos in range(length):
            for k in range(c):
                d = h[b, pos, k] - centre[k]
                acc[k] += d * d
        # norm, affine and FiLM folded into one multiply-add per element
        for g in range(groups):
            inv = 1.0 / np.sqrt(acc[g * per:(g + 1) * per].sum() / count + 1e-5)
            for k in range(g * per, (g + 1) * per):
                s = 1.0 + film[b, offset + k]
                mul[k] = inv * weight[k] * s
                add[k] = (bias[k] - centre[k] * inv * weight[k]) * s + film[b, offset + c + k]
        for pos in range(length):
            for k in range(c):
                row[pos, k] = _gelu(h[b, pos, k] * mul[k] + add[k])
        _scatter_taps(row, empty, cols[b], kernel, dilation)


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def add_act(h, t, bias, gelu):
    """``h += act(t + bias)`` in place (``gelu``: act is GELU, else the identity);
    h, t (B, L, C)."""
    n, length, c = h.shape
    rows, trows = h.reshape(n * length, c), t.reshape(n * length, c)
    if gelu:                                                # outside the loops (see above)
        for r in range(n * length):
            for k in range(c):
                rows[r, k] += _gelu(trows[r, k] + bias[k])
    else:
        for r in range(n * length):
            for k in range(c):
                rows[r, k] += trows[r, k] + bias[k]
