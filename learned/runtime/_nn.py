"""numpy layers that mirror the torch modules of ``learned.models`` (float32, channels last).

Every function takes arrays and returns new ones; weights come already laid out for a plain
``x @ w`` (see each family's ``_build``), so no call transposes per sample.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from ._jit import kernels

F32 = np.float32


def linear(x, w, b):
    """``x @ w + b``: ``w`` is (in, out), the transpose of ``torch.nn.Linear.weight``.

    An (..., in) ``x`` is multiplied as one 2-D matrix: numpy's matmul of a stack of
    matrices loops over the stack instead of making one BLAS call."""
    if x.ndim > 2:
        x = np.ascontiguousarray(x)
        return (x.reshape(-1, x.shape[-1]) @ w + b).reshape(x.shape[:-1] + (w.shape[1],))
    return x @ w + b


#: Arrays below this many elements take numpy's GELU (where numpy's per-call cost is what
#: counts), larger ones numba's kernel, 3-4x faster: the ar and vae families and a single
#: flow river never import numba (~0.3 s once per process; the GAN and diffusion families
#: always do, for their fused layers in ``_kernels``).
GELU_NUMBA_FROM = 1 << 13


def gelu(x):
    """Exact (erf) GELU, as ``torch.nn.GELU()``; float32 in, float32 out.

    erf is the rational approximation of ``_kernels`` (error 4e-7), in numpy for small
    arrays and in the numba kernel for large ones (see :data:`GELU_NUMBA_FROM`).
    """
    x = np.ascontiguousarray(x, dtype=F32)
    if x.size < GELU_NUMBA_FROM:
        from ._kernels_np import gelu_np
        return gelu_np(x)
    out = np.empty_like(x)
    kernels().gelu_flat(x.reshape(-1), out.reshape(-1))
    return out


class Workspace(threading.local):
    """Scratch arrays kept per thread and reused from call to call.

    A block of 64 GAN rivers writes 5 MB of im2col columns per convolution: freshly
    allocated, they come from new pages of memory each time, and the first touch of those
    pages cost as much as the matrix products that read them (measured: 1.4 ms of a 10 ms
    block). Each thread of the runtime's pool has its own arrays, so blocks never share one.
    """

    def __init__(self):
        self._arrays = {}

    def take(self, key, shape):
        """A float32 array of ``shape`` for ``key``, its contents undefined; valid until
        this thread takes ``key`` again."""
        size = math.prod(shape)
        buf = self._arrays.get(key)
        if buf is None or buf.size < size:
            buf = self._arrays[key] = np.empty(size, dtype=F32)
        return buf[:size].reshape(shape)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softplus(x):
    """``torch.nn.functional.softplus`` (beta 1, threshold 20: the identity above 20)."""
    return np.where(x > 20.0, x, np.log1p(np.exp(np.minimum(x, 20.0))))


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def logsumexp(x):
    """log sum exp over the last axis."""
    m = x.max(axis=-1, keepdims=True)
    return m[..., 0] + np.log(np.exp(x - m).sum(axis=-1))


def wrap_angle(x):
    """Angles into (-pi, pi], values already there unchanged (``learned._contract``)."""
    out = np.remainder(x + math.pi, 2.0 * math.pi) - math.pi
    out = np.where(out <= -math.pi, out + 2.0 * math.pi, out).astype(x.dtype)
    return np.where((x > -math.pi) & (x <= math.pi), x, out)


def conv_weight(w):
    """``torch.nn.Conv1d.weight`` (out, in, k) -> (k * in, out) for :func:`conv`: row
    ``i * in + c`` is tap ``i`` of input channel ``c``."""
    out_ch, in_ch, k = w.shape
    return np.ascontiguousarray(w.transpose(2, 1, 0).reshape(k * in_ch, out_ch))


def conv(h, w_cols, b, *, kernel, dilation=1, stride=1):
    """Zero-padded ("same") 1-D convolution of channels-last ``h`` (B, L, C) -> (B, L, O),
    as one matrix product of the ``kernel`` shifted copies (im2col); with ``stride`` s, only
    every s-th output, (B, ceil(L / s), O), as ``torch.nn.Conv1d(stride=s)`` with the same
    padding gives."""
    n, length, c = h.shape
    pad = dilation * (kernel - 1) // 2
    cols = np.empty((n, length, kernel * c), dtype=h.dtype)
    for i in range(kernel):
        # tap i at output l reads h[l + shift], zero where that falls outside (no padded copy)
        shift = i * dilation - pad
        lo, hi = max(0, -shift), min(length, length - shift)
        block = cols[:, :, i * c:(i + 1) * c]
        block[:, :lo] = 0
        block[:, max(hi, lo):] = 0
        if hi > lo:
            block[:, lo:hi] = h[:, lo + shift:hi + shift]
    return linear(cols[:, ::stride], w_cols, b)


def upsample2(h):
    """``F.interpolate(scale_factor=2, mode='linear', align_corners=False)`` along axis 1 of
    channels-last ``h`` (B, L, C) -> (B, 2L, C): output j reads input (j + 0.5) / 2 - 0.5,
    clamped at the ends."""
    n, length, c = h.shape
    out = np.empty((n, 2 * length, c), dtype=h.dtype)
    left = np.concatenate([h[:, :1], h[:, :-1]], axis=1)        # h[m - 1], clamped
    right = np.concatenate([h[:, 1:], h[:, -1:]], axis=1)       # h[m + 1], clamped
    out[:, 0::2] = F32(0.25) * left + F32(0.75) * h
    out[:, 1::2] = F32(0.75) * h + F32(0.25) * right
    out[:, 0] = h[:, 0]
    out[:, -1] = h[:, -1]
    return out


def gru_step(x_gates, h, w_hh, b_hh):
    """One step of one ``torch.nn.GRU`` layer: ``x_gates`` = x @ W_ih^T + b_ih (B, 3H),
    ``h`` (B, H), ``w_hh`` (H, 3H); gates in torch's order r, z, n."""
    hid = h.shape[1]
    gh = h @ w_hh
    gh += b_hh
    # in place: at 2,000 rivers the temporaries cost as much as the matrix products
    rz = x_gates[:, :2 * hid] + gh[:, :2 * hid]
    np.negative(rz, out=rz)
    np.exp(rz, out=rz)
    rz += 1.0
    np.reciprocal(rz, out=rz)                                         # sigmoid
    r, z = rz[:, :hid], rz[:, hid:]
    cand = gh[:, 2 * hid:]
    cand *= r
    cand += x_gates[:, 2 * hid:]
    np.tanh(cand, out=cand)
    out = h - cand                                        # (1 - z) n + z h = n + z (h - n)
    out *= z
    out += cand
    return out


# -- rational-quadratic splines (learned.models.flow.rq_spline) ---------------------------------
def spline_knots(w, h, d, *, bound, min_width=1e-3, min_height=1e-3, min_derivative=1e-3):
    """Knots of monotone rational-quadratic splines from their unnormalised parameters
    ``w``, ``h`` (..., K) and ``d`` (..., K-1): (x knots, widths, y knots, heights,
    derivatives), as ``rq_spline`` computes them."""
    k = w.shape[-1]

    def knots(raw, minimum):
        p = minimum + (1 - minimum * k) * softmax(raw)                       # (..., K)
        c = np.zeros(raw.shape[:-1] + (k + 1,), dtype=raw.dtype)
        np.cumsum(p, axis=-1, out=c[..., 1:])
        c = 2 * bound * c - bound
        c[..., 0], c[..., -1] = -bound, bound
        return c, c[..., 1:] - c[..., :-1]

    cw, widths = knots(w, min_width)
    ch, heights = knots(h, min_height)
    shift = math.log(math.expm1(1 - min_derivative))       # softplus(0 + shift) = 1 - min
    deriv = np.ones(d.shape[:-1] + (k + 1,), dtype=d.dtype)
    deriv[..., 1:-1] = min_derivative + softplus(d + shift)
    return cw, widths, ch, heights, deriv


def rq_apply(x, knots, *, inverse, bound):
    """Apply the splines of :func:`spline_knots` elementwise to ``x`` (...): the mapped
    values and log |d out / d in| (the identity, log-det 0, outside [-bound, bound]).
    The knots may broadcast against ``x[..., None]``."""
    cw, widths, ch, heights, deriv = knots
    inside = (x >= -bound) & (x <= bound)
    xc = np.clip(x, -bound, bound)
    edges = ch if inverse else cw
    idx = (edges[..., 1:-1] <= xc[..., None]).sum(axis=-1)[..., None]         # searchsorted

    def gather(t):
        t = np.broadcast_to(t, idx.shape[:-1] + t.shape[-1:])
        return np.take_along_axis(t, idx, axis=-1)[..., 0]

    x_k, w_k = gather(cw[..., :-1]), gather(widths)
    y_k, h_k = gather(ch[..., :-1]), gather(heights)
    d_k, d_k1 = gather(deriv[..., :-1]), gather(deriv[..., 1:])
    s = h_k / w_k
    mix = d_k1 + d_k - 2 * s
    if not inverse:
        theta = (xc - x_k) / w_k
        t1m = theta * (1 - theta)
        denom = s + mix * t1m
        out = y_k + h_k * (s * theta ** 2 + d_k * t1m) / denom
    else:
        dy = xc - y_k
        a = h_k * (s - d_k) + dy * mix
        b = h_k * d_k - dy * mix
        c = -s * dy
        disc = np.maximum(b * b - 4 * a * c, 0)
        theta = (2 * c) / (-b - np.sqrt(disc))
        t1m = theta * (1 - theta)
        denom = s + mix * t1m
        out = theta * w_k + x_k
    logdet = (2 * np.log(s) + np.log(d_k1 * theta ** 2 + 2 * s * t1m + d_k * (1 - theta) ** 2)
              - 2 * np.log(denom))
    if inverse:
        logdet = -logdet
    return np.where(inside, out, x), np.where(inside, logdet, 0).astype(x.dtype)
