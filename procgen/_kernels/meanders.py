"""The meander of one reach: its centreline, a lateral profile, and the valley's limits.

For one reach, :func:`centreline` smooths its cells, :func:`sine_profile` draws a
sine-generated profile (or a caller supplies another, e.g. a learned shape) and
:func:`place_profile` lays it along the centreline within the valley, given the random
numbers they need (drawn by the caller from the reach's own stream): a level's few hundred
reaches cost a few milliseconds instead of a Python loop each.
"""

import numpy as np
from numba import njit

# Points per cell along the drawn curve, and sub-steps of the sine-generated integration.
STEP = 0.5
SUB = 4
# How far the offset may shrink, step by step, where a point would leave its valley.
_FACTORS = (0.75, 0.5, 0.25, 0.0)


@njit(cache=True)
def _smooth(rows, cols, passes, half):
    """Moving averages of a polyline, ends fixed (the window narrows towards them)."""
    n = rows.shape[0]
    pr = rows.astype(np.float64)
    pc = cols.astype(np.float64)
    cr = np.zeros(n + 1)
    cc = np.zeros(n + 1)
    for _ in range(passes):
        for i in range(n):
            cr[i + 1] = cr[i] + pr[i]
            cc[i + 1] = cc[i] + pc[i]
        for i in range(n):
            k = min(i, n - 1 - i, half)
            pr[i] = (cr[i + k + 1] - cr[i - k]) / (2 * k + 1)
            pc[i] = (cc[i + k + 1] - cc[i - k]) / (2 * k + 1)
    return pr, pc


@njit(cache=True)
def _allowed(r, c, k, basin_id, voronoi, basin, water):
    i = np.int64(np.rint(r))
    j = np.int64(np.rint(c))
    if i < 0 or j < 0 or i >= voronoi.shape[0] or j >= voronoi.shape[1]:
        return False
    return voronoi[i, j] == k and basin[i, j] == basin_id and not water[i, j]


@njit(cache=True)
def _shrink_window(scale, half):
    """Running minimum over ``2 * half + 1`` samples, then a moving average as wide."""
    m = scale.shape[0]
    lo = np.empty(m)
    for i in range(m):
        v = scale[i]
        for j in range(max(0, i - half), min(m, i + half + 1)):
            v = min(v, scale[j])
        lo[i] = v
    c = np.zeros(m + 1)
    for i in range(m):
        c[i + 1] = c[i] + lo[i]
    out = np.empty(m)
    for i in range(m):
        a = max(0, i - half)
        b = min(m, i + half + 1)
        out[i] = (c[b] - c[a]) / (b - a)
    return out


@njit(cache=True)
def centreline(rows, cols, widths):
    """The reach through cells ``(rows, cols)`` smoothed and sampled every STEP cells:
    ``(centre (M, 2), width (M,), length)``, its ends exactly the first and last cell."""
    pr, pc = _smooth(rows, cols, 3, 2)
    n = pr.shape[0]
    s = np.zeros(n)
    for i in range(1, n):
        s[i] = s[i - 1] + np.hypot(pr[i] - pr[i - 1], pc[i] - pc[i - 1])
    length = s[n - 1]
    m = max(2, np.int64(np.ceil(length / STEP)) + 1)
    t = np.linspace(0.0, length, m)
    cen = np.empty((m, 2))
    cen[:, 0] = np.interp(t, s, pr)
    cen[:, 1] = np.interp(t, s, pc)
    cen[0, 0], cen[0, 1] = rows[0], cols[0]
    cen[m - 1, 0], cen[m - 1, 1] = rows[n - 1], cols[n - 1]
    return cen, np.interp(t, np.linspace(0.0, length, n), widths), length


@njit(cache=True)
def sine_profile(length, omega, j0, wavelength, noise, wander_phase, phase0):
    """A disturbed sine-generated curve along a line of ``length`` cells: points
    ``(x, y)`` (x along the line from 0 to length, y to its left) about every STEP cells of
    the curve, both ends on the line.

    omega : largest angle (rad); j0 : J0(omega); wavelength in cells; noise : standard
    normal draws, at least one per integration sub-step; wander_phase, phase0 : phases.
    """
    ds = STEP / SUB
    arc = length / max(j0, 0.2)
    ns = np.int64(np.ceil(arc / ds)) + 1
    h = arc / (ns - 1)
    x = np.zeros(ns)
    y = np.zeros(ns)
    drift = 0.0
    scale_noise = np.sqrt(h / wavelength)
    for i in range(ns - 1):
        si = i * h
        drift += noise[i] * 0.15 * scale_noise
        wander = 1.0 + 0.25 * np.sin(2.0 * np.pi * si / (3.1 * wavelength) + wander_phase)
        theta = omega * wander * np.sin(2.0 * np.pi * si / wavelength + drift + phase0)
        x[i + 1] = x[i] + np.cos(theta) * h
        y[i + 1] = y[i] + np.sin(theta) * h
    # Bring the far end back onto the line and stretch x onto [0, length].
    xe, ye = x[ns - 1], y[ns - 1]
    for i in range(ns):
        y[i] -= ye * x[i] / xe
        x[i] *= length / xe
    keep = np.arange(0, ns, SUB)
    if keep[-1] != ns - 1:
        keep = np.append(keep, ns - 1)
    return x[keep], y[keep]


@njit(cache=True)
def place_profile(cen, length, px, py, half, voronoi, basin, water, k, basin_id):
    """Lay a profile along a centreline: point j is the centreline at arc ``px[j]`` moved
    ``py[j]`` to its left; ``(curve (Q, 2), centre (Q, 2))``, the centre the unmoved points.

    Where a point would leave its valley (``voronoi[r, c] != k``, another basin, water) the
    offset shrinks there, by steps, and smoothly over ``half`` points around it.
    """
    m = cen.shape[0]
    q = px.shape[0]
    t = np.linspace(0.0, length, m)
    # Unit normals of the centreline, left of the direction of travel.
    nr = np.empty(m)
    nc = np.empty(m)
    for i in range(m):
        a, b = max(0, i - 1), min(m - 1, i + 1)
        dr = cen[b, 0] - cen[a, 0]
        dc = cen[b, 1] - cen[a, 1]
        norm = max(np.hypot(dr, dc), 1e-12)
        nr[i] = -dc / norm
        nc[i] = dr / norm
    x = np.minimum(np.maximum(px, 0.0), length)
    base = np.empty((q, 2))
    base[:, 0] = np.interp(x, t, cen[:, 0])
    base[:, 1] = np.interp(x, t, cen[:, 1])
    ur = np.interp(x, t, nr)
    uc = np.interp(x, t, nc)
    for j in range(q):
        norm = max(np.hypot(ur[j], uc[j]), 1e-12)
        ur[j] /= norm
        uc[j] /= norm
    scale = np.ones(q)
    for factor in _FACTORS:
        bad = np.zeros(q, np.bool_)
        any_bad = False
        for j in range(1, q - 1):
            r = base[j, 0] + py[j] * scale[j] * ur[j]
            c = base[j, 1] + py[j] * scale[j] * uc[j]
            if not _allowed(r, c, k, basin_id, voronoi, basin, water):
                bad[j] = True
                any_bad = True
        if not any_bad:
            break
        for j in range(q):
            if bad[j]:
                scale[j] = min(scale[j], factor)
        scale = _shrink_window(scale, half)
    curve = np.empty((q, 2))
    for j in range(q):
        curve[j, 0] = base[j, 0] + py[j] * scale[j] * ur[j]
        curve[j, 1] = base[j, 1] + py[j] * scale[j] * uc[j]
    for p in (curve, base):
        p[0, 0], p[0, 1] = cen[0, 0], cen[0, 1]
        p[q - 1, 0], p[q - 1, 1] = cen[m - 1, 0], cen[m - 1, 1]
    return curve, base
