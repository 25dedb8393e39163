"""The meander of one reach: its centreline, a lateral profile, and the valley's limits.

For one reach, :func:`centreline` smooths its cells, :func:`sine_profile` draws a
sine-generated profile (or a caller supplies another, e.g. a learned shape, which
:func:`stretch_shapes` resamples to the reach, many at once) and :func:`place_profile` lays
it along the centreline within the valley, given the random numbers they need
(:func:`reach_draws`, from the reach's own key, :func:`reach_keys`): a level's few hundred
reaches cost a few milliseconds instead of a Python loop each. For all rivers at once,
:func:`self_crossing` and :func:`river_clashes` find curves that cross themselves or
another river.
"""

import numpy as np
from numba import njit

from .paths import _fold_back, _sweep_pairs, resample_one

# Points per cell along the drawn curve, and sub-steps of the sine-generated integration.
STEP = 0.5
SUB = 4
# Standard deviation of the meanders' phase drift over one wavelength (radians): large
# enough that wavelengths vary from bend to bend (Ferguson 1976's disturbed periodic model;
# at 0.15 the curve was nearly periodic, which a classifier tells from real rivers). Chosen
# by bench_meanders.py's C2ST (rivers of 50 km or more, 24 maps, length-matched): 0.7 gave
# 0.711, 1.0 0.653, 1.3 0.639, 1.6 0.626, 2.0 0.675, 2.5 0.676, 4.0 0.723; on 48 maps 1.0
# gave 0.693 and 1.6 0.676.
DRIFT = 1.6
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
def _allowed(r, c, k, basin_id, voronoi, basin, water, wet_ok):
    i = np.int64(np.rint(r))
    j = np.int64(np.rint(c))
    if i < 0 or j < 0 or i >= voronoi.shape[0] or j >= voronoi.shape[1]:
        return False
    return voronoi[i, j] == k and basin[i, j] == basin_id and (wet_ok or not water[i, j])


@njit(cache=True)
def _wet(r, c, water):
    i = np.int64(np.rint(r))
    j = np.int64(np.rint(c))
    return 0 <= i < water.shape[0] and 0 <= j < water.shape[1] and water[i, j]


@njit(cache=True)
def _shrink_window(scale, half):
    """Running minimum over ``2 * half + 1`` samples, then a moving average as wide.

    The minimum keeps a queue of candidate indices whose values rise from its head (each
    index enters and leaves once), so a window as wide as a meander costs no more per
    sample than a narrow one."""
    m = scale.shape[0]
    lo = np.empty(m)
    queue = np.empty(m, np.int64)
    head = 0
    tail = 0
    j = 0
    for i in range(m):
        while j < m and j <= i + half:
            while tail > head and scale[queue[tail - 1]] >= scale[j]:
                tail -= 1
            queue[tail] = j
            tail += 1
            j += 1
        while queue[head] < i - half:
            head += 1
        lo[i] = scale[queue[head]]
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
def centreline(rows, cols, widths, jitter, key, passes, half):
    """The reach through cells ``(rows, cols)``, each interior cell moved by up to
    ``jitter`` cells along each axis (uniform; row then column of each cell in turn, from
    :func:`reach_draws` of ``key``), smoothed by ``passes`` moving averages over
    ``2 * half + 1`` cells (narrowing towards the ends) and sampled every STEP cells:
    ``(centre (M, 2), width (M,), length)``, its ends exactly the first and last cell."""
    n = rows.shape[0]
    pr = rows.astype(np.float64)
    pc = cols.astype(np.float64)
    if jitter > 0.0:
        u, _ = reach_draws(key, 2 * n, 0)
        for i in range(1, n - 1):
            pr[i] += jitter * (2.0 * u[2 * i] - 1.0)
            pc[i] += jitter * (2.0 * u[2 * i + 1] - 1.0)
    pr, pc = _smooth(pr, pc, passes, half)
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
        drift += noise[i] * DRIFT * scale_noise
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

    Where a point would leave its valley (``voronoi[r, c] != k``, another basin, water
    where its centreline point is dry) the offset shrinks there, by steps, and smoothly
    over ``half`` points around it.
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
    # Where the centreline crosses a lake on its surface the curve may swing on the water
    # too (the river is not drawn in it, but its line should not be the grid's).
    wet_ok = np.empty(q, np.bool_)
    for j in range(q):
        wet_ok[j] = _wet(base[j, 0], base[j, 1], water)
    scale = np.ones(q)
    for factor in _FACTORS:
        bad = np.zeros(q, np.bool_)
        any_bad = False
        for j in range(1, q - 1):
            r = base[j, 0] + py[j] * scale[j] * ur[j]
            c = base[j, 1] + py[j] * scale[j] * uc[j]
            if not _allowed(r, c, k, basin_id, voronoi, basin, water, wet_ok[j]):
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


@njit(cache=True)
def river_clashes(rows, cols, offsets, near):
    """Which rivers share a cell with another anywhere but where ``near`` is set.

    River k's vertex cells are ``rows, cols[offsets[k]:offsets[k + 1]]`` (int64, on the
    grid), joined by Bresenham lines as :func:`procgen._kernels.raster.polyline_cells` joins
    them. A cell belongs to the first river (in order) that runs through it; a later river
    through it clashes with it (both are marked) unless ``near`` holds there.
    """
    n = offsets.shape[0] - 1
    owner = np.full(near.shape, -1, np.int64)
    clash = np.zeros(n, np.bool_)
    for k in range(n):
        a, b = offsets[k], offsets[k + 1]
        for t in range(a, b):
            r = rows[t]
            c = cols[t]
            if t > a:
                r0 = rows[t - 1]
                c0 = cols[t - 1]
                dr = abs(r - r0)
                dc = abs(c - c0)
                sr = 1 if r > r0 else -1
                sc = 1 if c > c0 else -1
                err = dc - dr
                cr, cc = r0, c0
                # Bresenham from the previous vertex: the cells after it, up to this one
                while cr != r or cc != c:
                    e2 = 2 * err
                    if e2 > -dr:
                        err -= dr
                        cc += sc
                    if e2 < dc:
                        err += dc
                        cr += sr
                    if cr != r or cc != c:
                        _claim(owner, clash, near, cr, cc, k)
            _claim(owner, clash, near, r, c, k)
    return clash


@njit(cache=True)
def _claim(owner, clash, near, r, c, k):
    j = owner[r, c]
    if j < 0:
        owner[r, c] = k
    elif j != k and not near[r, c]:
        clash[j] = True
        clash[k] = True


@njit(cache=True)
def stretch_shapes(shapes, cum, counts, scale):
    """Shapes resampled each to its own count of points, equally spaced in arc length, and
    scaled: ``(x, y)``, all shapes' points one after another.

    shapes : (B, T, 2) float64; cum : (B, T) their cumulative arc lengths; counts : (B,)
    int64 >= 2; scale : (B,). Point j of shape b lies at arc ``L_b j / (counts[b] - 1)``,
    interpolated as :func:`procgen._kernels.paths.resample` does (ends copied exactly,
    zero-length segments skipped), then multiplied by ``scale[b]``.
    """
    nb = shapes.shape[0]
    total_points = 0
    for b in range(nb):
        total_points += counts[b]
    x = np.empty(total_points)
    y = np.empty(total_points)
    o = 0
    for b in range(nb):
        m = counts[b]
        one = np.empty((m, 2))
        resample_one(shapes[b], cum[b], one)
        for j in range(m):
            x[o + j] = one[j, 0] * scale[b]
            y[o + j] = one[j, 1] * scale[b]
        o += m
    return x, y


@njit(cache=True)
def self_crossing(xy, offsets):
    """Which polylines meet themselves: curve k is ``xy[offsets[k]:offsets[k + 1]]``.

    The test of :func:`procgen.paths.self_intersects` (zero-length segments ignored;
    non-adjacent segments that cross or touch, adjacent ones that fold straight back), by
    the same sweep along the wider axis, but serial over curves of any lengths one after
    another: a level's hundreds of short curves need neither padding nor threads.
    """
    nb = offsets.shape[0] - 1
    out = np.zeros(nb, np.bool_)
    for b in range(nb):
        p = xy[offsets[b]:offsets[b + 1]]
        ns = p.shape[0] - 1
        if ns < 2:
            continue
        lo = np.empty(ns)
        rank = np.empty(ns, np.int64)
        r = -1
        rmin, rmax = p[0, 0], p[0, 0]
        cmin, cmax = p[0, 1], p[0, 1]
        for i in range(1, ns + 1):
            rmin, rmax = min(rmin, p[i, 0]), max(rmax, p[i, 0])
            cmin, cmax = min(cmin, p[i, 1]), max(cmax, p[i, 1])
        ax_s = 1 if cmax - cmin > rmax - rmin else 0
        prev = -1
        found = False
        for i in range(ns):
            if p[i + 1, 0] != p[i, 0] or p[i + 1, 1] != p[i, 1]:
                lo[i] = min(p[i, ax_s], p[i + 1, ax_s])
                r += 1
                if prev >= 0 and _fold_back(p[prev, 0], p[prev, 1], p[i, 0], p[i, 1],
                                            p[i + 1, 0], p[i + 1, 1]):
                    found = True
                prev = i
            else:
                lo[i] = np.inf
            rank[i] = r
        if found:
            out[b] = True
            continue
        out[b] = _sweep_pairs(p, lo, np.argsort(lo), rank, ax_s, True) > 0
    return out


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True)
def _mix(z):
    """SplitMix64's finaliser (Steele, Lea & Flood 2014) of a uint64."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def reach_keys(base, ends):
    """One uint64 key per reach from the stream's key ``base`` (uint64) and the reach's
    end cells ``ends`` (n, 4) int64 ``(row0, col0, row1, col1)``, each mixed in turn."""
    n = ends.shape[0]
    out = np.empty(n, np.uint64)
    for i in range(n):
        k = base
        for j in range(4):
            k = _mix(k ^ (np.uint64(ends[i, j]) + _GOLDEN))
        out[i] = k
    return out


@njit(cache=True)
def reach_draws(key, n_uniform, n_normal):
    """A reach's random numbers from its key: ``n_uniform`` uniforms in [0, 1), then
    ``n_normal`` standard normals (Box-Muller on pairs of uniforms), from a SplitMix64
    sequence (a counter-based stream: no generator object per reach)."""
    state = key
    uniform = np.empty(n_uniform)
    for i in range(n_uniform):
        state += _GOLDEN
        uniform[i] = np.float64(_mix(state) >> np.uint64(11)) * 2.0 ** -53
    normal = np.empty(n_normal)
    for i in range(0, n_normal, 2):
        state += _GOLDEN
        u1 = (np.float64(_mix(state) >> np.uint64(11)) + 1.0) * 2.0 ** -53     # (0, 1]
        state += _GOLDEN
        u2 = np.float64(_mix(state) >> np.uint64(11)) * 2.0 ** -53
        r = np.sqrt(-2.0 * np.log(u1))
        normal[i] = r * np.cos(2.0 * np.pi * u2)
        if i + 1 < n_normal:
            normal[i + 1] = r * np.sin(2.0 * np.pi * u2)
    return uniform, normal
