"""River walker kernels: integrate turn decisions into ``(row, col)`` polylines.

Frame: a heading ``phi`` is measured on the map seen north-up, counter-clockwise from east:
one step of length ``step`` moves ``dcol = step * cos(phi)``, ``drow = -step * sin(phi)``
(rows grow southward). A left turn adds ``turn`` to ``phi``.

The walkers here only ever turn by exactly ``+turn`` or ``-turn``, so after ``j`` steps the
heading is ``heading + k * turn`` for an integer ``k`` in ``[-j, j]``. The kernels therefore
never call ``sin``/``cos`` per step: the caller passes tables ``cos_t[k + steps] =
cos(k * turn)``, ``sin_t[k + steps] = sin(k * turn)`` for ``k = -steps .. steps`` and each
walker's ``(cos(heading), sin(heading))``; a step costs a table lookup, a 2x2 rotation and two
additions. The heading is never accumulated in floating point, so it does not drift.

The kernels draw no random numbers: the caller passes what its ``numpy.random.Generator``
drew, either packed bits (``words[i, j >> 6] >> (j & 63) & 1`` is the bit of walker ``i`` at
step ``j``), uint32 uniforms compared with a threshold ``u < threshold`` (threshold is a
uint64 so that 2**32 means "always"), or logistic variates (downhill). Walkers are independent,
so ``prange`` over them gives the same result for any thread count.

Coin-flip and persistent walkers share one kernel, :func:`turn_walk` (one compile instead of
four: parallel kernels are slow to compile).
"""

import numpy as np
from numba import njit, prange

_U63 = np.uint64(63)
_U1 = np.uint64(1)


@njit(cache=True, inline="always")
def _bit(words, i, j):
    return (words[i, j >> 6] >> (np.uint64(j) & _U63)) & _U1


@njit(cache=True, inline="always")
def _start(i, start, out):
    out[i, 0, 0] = start[i, 0]
    out[i, 0, 1] = start[i, 1]
    return start[i, 0], start[i, 1]


@njit(cache=True, parallel=True)
def turn_walk(words, u, threshold, persistent, cos_t, sin_t, cos_h, sin_h, step, start, out):
    """Walk that turns left or right at every step, then steps forward.

    Decisions come from packed bits when ``words`` has columns (bit 1 = yes), else from the
    uniforms (yes where ``u[i, j] < threshold``). With ``persistent`` False a "yes" at step ``j``
    turns left (the coin flip). With ``persistent`` True the decisions drive a two-state chain
    of turn directions: the first direction is left where the step-0 decision is yes (from
    uniforms: where ``u[i, 0] < 2**31``, a fair coin), and at step ``j > 0`` a yes keeps the
    previous direction and a no reverses it.

    words : (n, ceil(steps / 64)) uint64, or (n, 0) to use ``u``; u : (n, steps) uint32, or
    (n, 0) with bits; threshold : uint64 in [0, 2**32]; persistent : bool;
    cos_t, sin_t : (2 * steps + 1,) float64; cos_h, sin_h : (n,) float64; step : float;
    start : (n, 2) float64; out : (n, steps + 1, 2) float64, written.
    """
    n = out.shape[0]
    steps = out.shape[1] - 1
    use_bits = words.shape[1] > 0
    half = np.uint64(1) << np.uint64(31)
    for i in prange(n):
        r, c = _start(i, start, out)
        ch = cos_h[i]
        sh = sin_h[i]
        k = steps
        d = 1
        for j in range(steps):
            if use_bits:
                yes = _bit(words, i, j) == _U1
            elif persistent and j == 0:
                yes = np.uint64(u[i, j]) < half
            else:
                yes = np.uint64(u[i, j]) < threshold
            if not persistent or j == 0:
                d = 1 if yes else -1
            elif not yes:
                d = -d
            k += d
            ct = cos_t[k]
            st = sin_t[k]
            c += step * (ch * ct - sh * st)
            r -= step * (sh * ct + ch * st)
            out[i, j + 1, 0] = r
            out[i, j + 1, 1] = c


@njit(cache=True, inline="always")
def bilinear(height, r, c):
    """Bilinear sample of ``height[row, col]`` at real ``(r, c)``, clamped to the grid."""
    nr, nc = height.shape
    r = min(max(r, 0.0), nr - 1.0)
    c = min(max(c, 0.0), nc - 1.0)
    r0 = min(int(r), nr - 1)        # r >= 0, so int() is floor
    c0 = min(int(c), nc - 1)
    r1 = min(r0 + 1, nr - 1)
    c1 = min(c0 + 1, nc - 1)
    fr = r - r0
    fc = c - c0
    top = (1.0 - fc) * np.float64(height[r0, c0]) + fc * np.float64(height[r0, c1])
    bottom = (1.0 - fc) * np.float64(height[r1, c0]) + fc * np.float64(height[r1, c1])
    return (1.0 - fr) * top + fr * bottom


@njit(cache=True, parallel=True)
def downhill(height, z, bias, cos_t, sin_t, cos_h, sin_h, step, start, out):
    """Walk that prefers to turn towards lower ground; holds position once it would leave.

    At each step the two candidate next positions (after a left and after a right turn) are
    sampled bilinearly; the walker turns left where ``bias * (h_right - h_left) > z``. With
    ``z`` standard logistic (``z = log(u / (1 - u))`` for a uniform ``u``) that happens with
    probability ``1 / (1 + exp(-bias * (h_right - h_left)))``, i.e. exactly where
    ``u < p_left``; taking the logit in numpy keeps ``exp`` and a division out of this serial
    loop. If the chosen position lies outside ``[0, R - 1] x [0, C - 1]`` the walker stops:
    it repeats its last position to the end.

    height : (R, C) float32; z : (n, steps) float64 logistic variates; bias : float;
    other arguments as :func:`turn_walk` (start must lie inside the grid).
    """
    n = out.shape[0]
    steps = out.shape[1] - 1
    nr, nc = height.shape
    for i in prange(n):
        r, c = _start(i, start, out)
        ch = cos_h[i]
        sh = sin_h[i]
        k = steps
        j = 0
        while j < steps:
            ctl = cos_t[k + 1]
            stl = sin_t[k + 1]
            ctr = cos_t[k - 1]
            str_ = sin_t[k - 1]
            cl = c + step * (ch * ctl - sh * stl)
            rl = r - step * (sh * ctl + ch * stl)
            cr = c + step * (ch * ctr - sh * str_)
            rr = r - step * (sh * ctr + ch * str_)
            x = bias * (bilinear(height, rr, cr) - bilinear(height, rl, cl))
            if x > z[i, j]:
                k += 1
                rn, cn = rl, cl
            else:
                k -= 1
                rn, cn = rr, cr
            if not (0.0 <= rn <= nr - 1.0 and 0.0 <= cn <= nc - 1.0):
                break
            r = rn
            c = cn
            out[i, j + 1, 0] = r
            out[i, j + 1, 1] = c
            j += 1
        for jj in range(j + 1, steps + 1):
            out[i, jj, 0] = r
            out[i, jj, 1] = c
