"""A sinuosity sweep of the shipped river models: rows are families, columns requested
sinuosities.

``python -m demos.sinuosity_sweep --out sweep.png`` samples each model (``learned.runtime``,
no torch) at every requested sinuosity and one length, draws a few rivers per cell in their
chord frame (start left, mouth right), and prints the median realised sinuosity per cell of
the raw draws and of what ``sample`` returns (each river scaled to its request,
``exact_sinuosity``). The README's picture is ``python -m demos.sinuosity_sweep --out
assets/images/sinuosity_sweep.png``.
"""

from __future__ import annotations

import sys

import numpy as np

from demos import _cli

__all__ = ["main", "sweep"]

TARGETS = (1.05, 1.1, 1.3, 1.6, 2.0, 2.5)
FAMILIES = ("ar", "flow", "vae", "gan", "diffusion")
_COLOURS = ((31, 97, 141), (192, 57, 43), (39, 174, 96), (142, 68, 173))


def sweep(families, targets, *, length_km: float, per_cell: int, seed: int):
    """``{family: (raw, matched)}``: turning angles (len(targets), per_cell, T-2) of each
    family at each target, without and with the sinuosity match (same noise).

    Examples
    --------
    >>> raw, matched = sweep(["ar"], [1.5], length_km=200.0, per_cell=2, seed=0)["ar"]
    >>> raw.shape, matched.shape
    ((1, 2, 62), (1, 2, 62))
    """
    from learned import runtime

    out = {}
    for name in families:
        model = runtime.load(name)
        y = {"sinuosity": np.repeat(np.asarray(targets, dtype=np.float64), per_cell),
             "length_km": length_km}
        cond = model.condition(len(y["sinuosity"]), y)
        rng = np.random.default_rng(seed)
        noise = {k: (rng.standard_normal(shape, dtype=np.float32) if kind == "normal"
                     else rng.random(shape, dtype=np.float32))
                 for k, (kind, shape) in model.noise_shapes(len(cond)).items()}
        raw = model.sample_from_noise(cond, noise)
        matched = model.match_sinuosity(raw, cond)
        shape = (len(targets), per_cell, raw.shape[1])
        out[name] = (raw.reshape(shape), matched.reshape(shape))
    return out


def _draw(turns_by_family, families, targets, *, cell: int):
    from PIL import Image, ImageDraw

    from procgen.paths import angles_to_path, canonical

    label_w, label_h = 80, 22
    img = Image.new("RGB", (label_w + cell * len(targets), label_h + cell * len(families)),
                    (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for j, s in enumerate(targets):
        draw.text((label_w + j * cell + cell // 2 - 14, 5), f"s = {s:g}", fill=(0, 0, 0))
    for i, name in enumerate(families):
        y0 = label_h + i * cell
        draw.text((6, y0 + cell // 2 - 6), name, fill=(0, 0, 0))
        draw.line([(label_w, y0), (img.width, y0)], fill=(220, 220, 220))
        for j in range(len(targets)):
            x0 = label_w + j * cell
            xy = canonical(angles_to_path(turns_by_family[name][j].astype(np.float64)))
            xy = xy[np.isfinite(xy).all(axis=(1, 2))]
            if not len(xy):
                continue
            # one scale per cell, so that the cell's rivers compare: their box fits the cell
            lo, hi = xy.reshape(-1, 2).min(axis=0), xy.reshape(-1, 2).max(axis=0)
            scale = 0.84 * cell / max(hi[0] - lo[0], hi[1] - lo[1])
            mid = (lo + hi) / 2
            for k, path in enumerate(xy):
                pts = [(x0 + cell / 2 + scale * (x - mid[0]), y0 + cell / 2 - scale * (v - mid[1]))
                       for x, v in path]
                draw.line(pts, fill=_COLOURS[k % len(_COLOURS)], width=2)
    return np.asarray(img)


def main(argv=None) -> int:
    p = _cli.parser("sinuosity_sweep", "python -m demos.sinuosity_sweep",
                    __doc__.splitlines()[0])
    p.add_argument("--families", default=",".join(FAMILIES),
                   help="comma-separated shipped models (default: every runtime family)")
    p.add_argument("--targets", default=",".join(f"{t:g}" for t in TARGETS),
                   help="comma-separated requested sinuosities, each >= 1")
    p.add_argument("--length-km", type=float, default=200.0)
    p.add_argument("--per-cell", type=int, default=3, help="rivers drawn per cell")
    p.add_argument("--cell", type=int, default=130, help="pixels per cell")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="sinuosity_sweep.png", metavar="PNG")
    args = p.parse_args(argv)
    try:
        families = [f for f in args.families.split(",") if f]
        targets = [float(t) for t in args.targets.split(",") if t]
        if not families or not targets:
            raise ValueError(f"--families and --targets must not be empty, got "
                             f"{args.families!r}, {args.targets!r}")
        if not 1 <= args.per_cell <= len(_COLOURS):
            raise ValueError(f"--per-cell must be in 1..{len(_COLOURS)}, got {args.per_cell}")
        if args.cell < 40:
            raise ValueError(f"--cell must be >= 40 pixels, got {args.cell}")
        samples = sweep(families, targets, length_km=args.length_km, per_cell=args.per_cell,
                        seed=args.seed)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        return _cli.error(p.name, exc)
    from procgen.paths import angles_to_path, sinuosity
    from procgen.render import save_png

    save_png(_draw({f: m for f, (_, m) in samples.items()}, families, targets,
                   cell=args.cell), args.out)
    print(f"wrote {args.out}; median realised sinuosity at {args.length_km:g} km, "
          f"raw draw -> returned:")
    print("family     " + "".join(f"{t:>14g}" for t in targets))
    for name, (raw, matched) in samples.items():
        cells = []
        for r, m in zip(raw, matched):
            a = np.median(sinuosity(angles_to_path(r.astype(np.float64))))
            b = np.median(sinuosity(angles_to_path(m.astype(np.float64))))
            cells.append(f"{a:6.2f} ->{b:5.2f}")
        print(f"{name:<11}" + "".join(f"{c:>14}" for c in cells))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
