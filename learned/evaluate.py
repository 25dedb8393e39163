"""The evaluation protocol: one table for every learned model and every baseline.

    python -m learned.evaluate                       # pretrained models + baselines
    python -m learned.evaluate --models-dir runs --out runs/eval

For each model, on the test split (geographically unseen rivers):

* test NLL in nats per turning angle (models with a likelihood);
* classifier two-sample test accuracy (5-fold; 0.5 = indistinguishable from real) with
  gradient-boosted stumps on path statistics and with a small 1-D CNN on the angles;
* MMD^2 (Gaussian kernel, median heuristic) between angle vectors;
* per-statistic 1-Wasserstein distance divided by the real-vs-real value (the mean over
  random halvings of the test split): sinuosity, turning-angle spread, meander wavelength,
  heading autocorrelation (1 = as close as another sample of real rivers);
* the fraction of self-intersecting rivers (real ones: none);
* requested vs realised sinuosity: the median absolute error when every test river's
  condition is requested;
* memorisation ratio: nearest-training-river distance of samples over that of test rivers;
* samples per second on this CPU.

Samples are drawn for the test rivers' own conditions (one per test river), so a conditional
model is compared against real rivers with the same sinuosities and lengths.
Writes ``evaluation.md`` (the table), ``evaluation.json`` and ``gallery.png`` (real test
rivers beside samples of every model). The whole protocol takes minutes on a CPU; a progress
bar on stderr names the stage that is running (``--no-progress`` turns it off).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from ._torch import torch

from procgen._io import atomic_write, atomic_write_many

from . import _metrics as M
from . import pretrained
from ._contract import likelihood_score
from ._progress import Progress
from ._rivers import turns_to_canonical
from .models import BASELINES, LEARNED, decode_y
from .train import default_source, load_split, set_threads

__all__ = ["evaluate_model", "reference_row", "fit_baseline", "markdown_table", "gallery",
           "critic_rows", "critic_table", "StageProgress", "REFERENCE_STAGES", "MODEL_STAGES",
           "main"]


def fit_baseline(cls, x, y):
    """A baseline fitted to the training data: ``cls.fit(x, y)``, the one signature every
    baseline has (``learned.baselines``)."""
    return cls.fit(x, y)


def _sample(model, n, y, seed, batch=4096):
    gen = torch.Generator().manual_seed(seed)
    out = [model.sample(len(y[i:i + batch]), y[i:i + batch], generator=gen)
           for i in range(0, n, batch)]
    return torch.cat(out).double().numpy()


#: Statistics compared as W1 / real-vs-real W1. Self-intersection is a rate that real
#: (smoothed) rivers hold at exactly 0, so every real-vs-real distance is 0 and a ratio means
#: nothing: the table gives the rate itself.
W_STATS = tuple(k for k in M.STATS if k != "self_intersection")


def _stat_ratios(stats_a, stats_b, ref):
    """W1 / real-vs-real W1 per statistic of ``W_STATS`` (where real halves agree exactly:
    1 if the model agrees exactly too, else inf)."""
    out = {}
    for k in W_STATS:
        w = M.wasserstein1(stats_a[k], stats_b[k])
        out[k] = w / ref[k] if ref[k] > 0 else (1.0 if w == 0 else float("inf"))
    return out


#: Random halvings of the test split whose real-vs-real distances are averaged.
REF_SPLITS = 20

#: The stages of :func:`reference_row` and :func:`evaluate_model`, in order, as their
#: ``stage`` hooks name them.
REFERENCE_STAGES = ("statistics", "C2ST boost", "C2ST CNN", "MMD", "memorisation")
MODEL_STAGES = ("NLL", "sampling", "statistics", "C2ST boost", "C2ST CNN", "MMD",
                "sinuosity", "memorisation", "speed")


def _no_stage(name: str) -> None:
    pass


def reference_row(x_test, x_train, *, seed=0, stage=None) -> dict:
    """Real vs real: the test split in halves (the floor every model is measured against);
    per-statistic Wasserstein distances are the mean over ``REF_SPLITS`` random halvings.

    ``stage``, if given, is called with the name of each of :data:`REFERENCE_STAGES` as it
    starts (for progress reports)."""
    stage = stage or _no_stage
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(x_test))
    a, b = x_test[perm[: len(perm) // 2]], x_test[perm[len(perm) // 2:]]
    # averaged over random halvings, so that one split's luck does not set every ratio's scale
    stage("statistics")
    stats = M.path_stats(x_test)
    splits = [rng.permutation(len(x_test)) for _ in range(REF_SPLITS)]
    halves = [(p[: len(p) // 2], p[len(p) // 2:]) for p in splits]
    ref = {k: float(np.mean([M.wasserstein1(stats[k][i], stats[k][j]) for i, j in halves]))
           for k in W_STATS}
    row = {"ref_w": ref, "self_intersection": float(stats["self_intersection"].mean())}
    row.update(_two_sample_tests(a, b, seed=seed, stage=stage))
    stage("memorisation")
    row["memorisation"] = M.memorisation_ratio(a, b, x_train, rng=seed)
    return row


def _two_sample_tests(a, b, *, seed, stage) -> dict:
    """Boosted-stump and CNN C2ST accuracies and MMD^2 of two sets of rivers."""
    stage("C2ST boost")
    out = {"c2st_gb": M.c2st(M.features(a), M.features(b), rng=seed)}
    stage("C2ST CNN")
    out["c2st_cnn"] = M.cnn_c2st(a, b, rng=seed)
    stage("MMD")
    out["mmd2"] = M.mmd2(a, b, rng=seed)
    return out


def evaluate_model(model, x_test, y_test, x_train, ref, *, seed=0, stage=None) -> dict:
    """Every metric of the protocol for one model (x_* float tensors, y_test encoded).

    ``stage``, if given, is called with the name of each of :data:`MODEL_STAGES` as it
    starts (for progress reports)."""
    stage = stage or _no_stage
    model.eval()
    row = {}
    # exact where the family has a likelihood; an importance-weighted estimate (K = 1000)
    # where it only has a bound (VAE); none at all otherwise (GAN): never a made-up number
    # (read from the model's declared likelihood)
    stage("NLL")
    row["nll"], row["nll_kind"] = likelihood_score(model, x_test, y_test, k=IWAE_K, seed=seed)
    n = len(x_test)
    stage("sampling")
    fake = _sample(model, n, y_test, seed)
    real = x_test.double().numpy()
    stage("statistics")
    sf, sr = M.path_stats(fake), M.path_stats(real)
    row["w_ratio"] = _stat_ratios(sf, sr, ref["ref_w"])
    row["self_intersection"] = float(sf["self_intersection"].mean())
    row.update(_two_sample_tests(real, fake, seed=seed, stage=stage))
    stage("sinuosity")
    requested = decode_y(y_test)["sinuosity"].numpy()
    row["sinuosity_mae"] = float(np.median(np.abs(M.realised_sinuosity(fake) - requested)))
    stage("memorisation")
    row["memorisation"] = M.memorisation_ratio(fake, real, x_train.double().numpy(), rng=seed)
    stage("speed")
    gen = torch.Generator().manual_seed(seed + 1)
    model.sample(64, generator=gen)                               # warm-up
    t0 = time.perf_counter()
    model.sample(2000, generator=gen)
    row["samples_per_s"] = 2000 / (time.perf_counter() - t0)
    row["_fake"] = fake[:8]
    return row


def critic_rows(models: dict, ebm, x_test, y_test, *, candidates: int = 4,
                temperature: float = 1.0, by: str = "residual", refine_steps: int = 0,
                step_size: float = 1e-3, seed: int = 0, stage=None) -> dict:
    """The energy of ``ebm`` as a critic of other models: for each, C2ST (boosted stumps and
    CNN) of its samples for the test conditions before and after the energy keeps one of
    ``candidates`` draws per condition (:meth:`EBMModel.select` at ``temperature``,
    weighting ``by`` the residual or the energy) and
    ``refine_steps`` Langevin steps (:meth:`EBMModel.refine`), and samples/s of both.

    Returns ``{name: {"c2st_gb": (before, after), "c2st_cnn": (before, after),
    "samples_per_s": (before, after)}}``.
    """
    stage = stage or _no_stage
    real = x_test.double().numpy()
    n = len(x_test)
    out = {}
    for name, model in models.items():
        model.eval()
        stage(f"{name}: sampling")
        t0 = time.perf_counter()
        before = _sample(model, n, y_test, seed)
        t_before = time.perf_counter() - t0
        t0 = time.perf_counter()
        cand = torch.from_numpy(np.stack([before] + [_sample(model, n, y_test, seed + 1 + j)
                                                    for j in range(candidates - 1)]))
        gen = torch.Generator().manual_seed(seed)
        after = ebm.select(cand, y_test, temperature=temperature, by=by, generator=gen)
        if refine_steps:
            after = ebm.refine(after, y_test, steps=refine_steps, step_size=step_size,
                               generator=gen)
        t_after = time.perf_counter() - t0
        after = after.double().numpy()
        row = {}
        stage(f"{name}: C2ST")
        for key, fn in (("c2st_gb", lambda f: M.c2st(M.features(real), M.features(f),
                                                      rng=seed)),
                        ("c2st_cnn", lambda f: M.cnn_c2st(real, f, rng=seed))):
            row[key] = (fn(before), fn(after))
        row["samples_per_s"] = (n / t_before, n / t_after)
        out[name] = row
    return out


def critic_table(rows: dict, *, candidates: int, temperature: float, refine_steps: int,
                 by: str = "residual") -> str:
    """The rows of :func:`critic_rows` as a markdown table."""
    lines = [f"Energy as a critic: the EBM keeps one of {candidates} draws per condition "
             f"(weights exp({'f' if by == 'residual' else '-E'} / {temperature:g})), then "
             f"{refine_steps} Langevin steps.", "",
             "| model | C2ST boost before | after | C2ST CNN before | after | samples/s "
             "before | after |", "|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['c2st_gb'][0]:.3f} | {r['c2st_gb'][1]:.3f} | "
                     f"{r['c2st_cnn'][0]:.3f} | {r['c2st_cnn'][1]:.3f} | "
                     f"{r['samples_per_s'][0]:,.0f} | {r['samples_per_s'][1]:,.0f} |")
    return "\n".join(lines) + "\n"


def _fmt(v, spec=".3f"):
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


#: Importance samples per river for models whose NLL is only estimated.
IWAE_K = 1000


def _fmt_nll(r, v, spec):
    """An NLL (or its difference) marked "≈" where it is an estimate, not exact."""
    text = _fmt(v, spec)
    return "≈" + text if r.get("nll_kind") == "estimate" and text != "—" else text


def markdown_table(rows: dict, ref: dict, *, meta: dict) -> str:
    names = list(rows)
    nlls = {k: r["nll"] for k, r in rows.items() if r["nll"] is not None}
    base = [nlls[k] for k in nlls if k not in LEARNED]
    best_base = min(base) if base else None
    head = ["model", "test NLL (nats/angle)", "vs best baseline", "C2ST boost", "C2ST CNN",
            "MMD²", *[f"W {k}" for k in W_STATS], "self-intersecting", "sinuosity MAE",
            "memorisation",
            "samples/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k in names:
        r = rows[k]
        delta = (r["nll"] - best_base) if (r["nll"] is not None and best_base is not None) \
            else None
        lines.append("| " + " | ".join([
            k, _fmt_nll(r, r["nll"], ".4f"), _fmt_nll(r, delta, "+.4f"), _fmt(r["c2st_gb"]),
            _fmt(r["c2st_cnn"]), _fmt(r["mmd2"], ".4f"),
            *[_fmt(r["w_ratio"][s], ".2f") for s in W_STATS],
            _fmt(r["self_intersection"]), _fmt(r["sinuosity_mae"]),
            _fmt(r["memorisation"], ".2f"), _fmt(r["samples_per_s"], ",.0f")]) + " |")
    lines.append("| real vs real (test halves) | — | — | " + " | ".join([
        _fmt(ref["c2st_gb"]), _fmt(ref["c2st_cnn"]), _fmt(ref["mmd2"], ".4f"),
        *["1.00"] * len(W_STATS), _fmt(ref["self_intersection"]), "—",
        _fmt(ref["memorisation"], ".2f"), "—"]) + " |")
    intro = (f"Evaluation on the **{meta['source']}** test split ({meta['n_test']} rivers, "
             f"{meta['n_turns']} turning angles each; {meta['n_train']} training rivers), "
             f"{meta['threads']} CPU threads, torch {torch.__version__}. "
             "NLL: lower is better; \"vs best baseline\" is the model's NLL minus the best "
             "baseline's (negative = better); \"≈\": an importance-weighted estimate "
             f"(IWAE, K = {IWAE_K}; in expectation an upper bound on the true NLL) for models "
             "with no exact likelihood (VAE); \"—\": the model has no likelihood (GAN, "
             "flow-matching diffusion) or only an unnormalised one (EBM). C2ST: 5-fold "
             "accuracy of telling samples from "
             "test rivers (0.5 = indistinguishable). W: Wasserstein distance of the statistic "
             "divided by the real-vs-real value (1 = as close as real rivers are to each "
             f"other; the latter a mean over {REF_SPLITS} random halvings of the test "
             "split). Self-intersecting: the fraction of rivers whose path crosses itself. "
             "Sinuosity MAE: median |realised - requested| sinuosity for the test "
             "rivers' conditions. Memorisation: nearest-training-river distance of samples "
             "over that of test rivers (>= 0.9: not copying).\n")
    return intro + "\n" + "\n".join(lines) + "\n"


def gallery(real, samples: dict, path, *, rows: int = 6, cell: int = 110):
    """PNG: a column of real test rivers, then a column per model."""
    from PIL import Image, ImageDraw
    cols = 1 + len(samples)
    img = Image.new("RGB", (cols * cell, rows * cell + 18), "white")
    draw = ImageDraw.Draw(img)
    for c, (title, turns) in enumerate([("real (test)", real), *samples.items()]):
        draw.text((c * cell + 4, 3), title[:18], fill="black")
        xy = turns_to_canonical(np.asarray(turns[:rows], np.float64))
        for r, shape in enumerate(xy):
            lo, hi = shape.min(0), shape.max(0)
            scale = (cell - 12) / max(float((hi - lo).max()), 1e-9)
            mid = (lo + hi) / 2
            pts = [(c * cell + cell / 2 + (px - mid[0]) * scale,
                    18 + r * cell + cell / 2 - (py - mid[1]) * scale) for px, py in shape]
            draw.rectangle([c * cell + 1, 18 + r * cell + 1, (c + 1) * cell - 1,
                            18 + (r + 1) * cell - 1], outline=(220, 220, 220))
            draw.line(pts, fill=(30, 90, 200) if c else (20, 20, 20), width=2)
    atomic_write(path, lambda f: img.save(f, format="PNG"))


class StageProgress:
    """A progress bar over named stages on stderr (:class:`learned._progress.Progress`): the bar
    counts finished stages, its label names the one running.

    Call it with each stage's name as the stage starts; :meth:`note` prints a line (to
    stdout) without leaving the bar's remains on it; :meth:`close` ends the bar.

    Examples
    --------
    >>> import io
    >>> err = io.StringIO()
    >>> bar = StageProgress(2, stream=err)
    >>> bar("flow: NLL")
    >>> bar("flow: sampling")
    >>> bar.close()
    >>> last = err.getvalue().split("\\r")[-1]
    >>> last.startswith("evaluate flow: sampling "), "] 2/2 " in last, last.endswith("\\n")
    (True, True, True)
    """

    #: Width the label is padded to, so a shorter label overwrites a longer one.
    LABEL = 40

    def __init__(self, total: int, *, enabled: bool = True, stream=None):
        self.stream = sys.stderr if stream is None else stream
        # one draw per stage start: a few dozen in a run, no throttle needed
        self.bar = Progress(total, "", enabled=enabled, stream=self.stream, every=0.0)
        self.running = False

    def __call__(self, name: str) -> None:
        if self.running:
            self.bar.done += 1          # the previous stage has finished; drawn just below
        self.running = True
        self.bar.label = f"evaluate {name[:self.LABEL - 9]:{self.LABEL - 9}s}"
        self.bar.update(0)

    def note(self, text: str) -> None:
        if self.bar.enabled:
            self.stream.write("\r" + " " * (self.LABEL + self.bar.width + 24) + "\r")
            self.stream.flush()
        print(text, flush=True)
        self.bar.last = -math.inf       # the bar was wiped: redraw it at the next stage

    def close(self) -> None:
        if self.running:
            self.bar.done += 1
            self.running = False
        self.bar.close()


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m learned.evaluate",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="auto", choices=["auto", "rivers", "synthetic"])
    p.add_argument("--models-dir", default=None, help="folder of NAME.pt/NAME.json "
                   "(default: assets/models)")
    p.add_argument("--models", nargs="*", default=None, help="names to evaluate")
    p.add_argument("--out", default="runs/eval")
    p.add_argument("--max-test", type=int, default=2000)
    p.add_argument("--n-points", type=int, default=64, help="T, for synthetic data")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--keep-others", action="store_true", help="keep the rows of models not "
                   "evaluated now from --out's evaluation.json (the reference row too), so "
                   "that one new model joins the table without rerunning the rest")
    p.add_argument("--critic", type=int, default=0, metavar="K", help="also measure the "
                   "ebm's energy as a critic of every other shipped model: it keeps one of K "
                   "draws per condition; writes critic.md (default 0: off)")
    p.add_argument("--critic-temperature", type=float, default=1.0)
    p.add_argument("--critic-refine-steps", type=int, default=0)
    a = p.parse_args(argv)
    if a.threads:
        set_threads(a.threads)
    # The C2ST CNN's activations decay into denormals, which run 5-10x slower on x86 CPUs.
    # Flushing them is process-wide state: on for this command only.
    torch.set_flush_denormal(True)
    try:
        shipped = pretrained.available(a.models_dir)
        if a.models is not None:
            unknown = sorted(set(a.models) - set(shipped) - set(BASELINES))
            if unknown:
                p.error(f"--models: no model {', '.join(map(repr, unknown))}; available: "
                        f"{', '.join([*shipped, *BASELINES])}")
        chosen = [n for n in [*shipped, *BASELINES] if a.models is None or n in a.models]
        bar = StageProgress(2 + len(chosen) * (1 + len(MODEL_STAGES)) + len(REFERENCE_STAGES),
                            enabled=not a.no_progress)
        bar("loading the data")
        source = default_source() if a.data == "auto" else a.data
        x_tr, y_tr = load_split(source, "train", n_points=a.n_points)
        x_te, y_te = load_split(source, "test", n_points=a.n_points)
        if len(x_te) > a.max_test:
            idx = torch.from_numpy(np.sort(np.random.default_rng(a.seed).permutation(
                len(x_te))[:a.max_test]))
            x_te, y_te = x_te[idx], y_te[idx]
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        models = {}
        for name in chosen:
            if name in shipped:
                bar(f"loading {name}")
                models[name] = pretrained.load(name, root=a.models_dir)
            else:
                bar(f"fitting {name}")
                models[name] = fit_baseline(BASELINES[name], x_tr, y_tr)
        kept, old = {}, None
        if a.keep_others and (out / "evaluation.json").exists():
            old = json.loads((out / "evaluation.json").read_text())
            ref = old["reference"]
            kept = {k: r for k, r in old["models"].items() if k not in models}
        else:
            ref = reference_row(x_te.double().numpy(), x_tr.double().numpy(), seed=a.seed,
                                stage=lambda s: bar(f"real vs real: {s}"))
        for name, r in kept.items():          # the gallery's samples, as a full run draws them
            if name in shipped or name in BASELINES:
                bar(f"gallery samples of {name}")
                m = (pretrained.load(name, root=a.models_dir) if name in shipped
                     else fit_baseline(BASELINES[name], x_tr, y_tr))
                r["_fake"] = _sample(m, len(x_te), y_te, a.seed)[:8]
        rows = {}
        for name, model in models.items():
            t0 = time.perf_counter()
            rows[name] = evaluate_model(model, x_te, y_te, x_tr, ref, seed=a.seed,
                                        stage=lambda s: bar(f"{name}: {s}"))  # noqa: B023
            bar.note(f"{name}: NLL {_fmt_nll(rows[name], rows[name]['nll'], '.4f')}  C2ST "
                     f"{rows[name]['c2st_gb']:.3f}/{rows[name]['c2st_cnn']:.3f}  "
                     f"({time.perf_counter() - t0:.0f}s)")
        order = [*shipped, *BASELINES]
        rows = {k: ({**kept, **rows})[k] for k in
                sorted({**kept, **rows}, key=lambda k: order.index(k) if k in order else 99)}
        bar("writing the table and gallery")
        meta = {"source": source, "n_test": len(x_te), "n_train": len(x_tr),
                "n_turns": x_te.shape[1], "threads": torch.get_num_threads()}
        if kept and old["meta"].get("threads") != meta["threads"]:
            # the kept rows ran on other threads: say which rows ran on which
            meta["threads"] = f"{old['meta'].get('threads')} ({', '.join(models)}: " \
                              f"{meta['threads']})"
        table = markdown_table(rows, ref, meta=meta)
        public = {k: {kk: vv for kk, vv in r.items() if not kk.startswith("_")}
                  for k, r in rows.items()}
        numbers = json.dumps({"meta": meta, "reference": ref, "models": public}, indent=2) + "\n"
        # the table and its numbers: both new or both old
        atomic_write_many([(out / "evaluation.md",
                            ("# River models: evaluation\n\n" + table).encode(), "out"),
                           (out / "evaluation.json", numbers.encode(), "out")])
        gallery(x_te.double().numpy(), {k: r["_fake"] for k, r in rows.items()
                                        if "_fake" in r}, out / "gallery.png")
        bar.close()
        print(table)
        if a.critic:
            ebm = models.get("ebm") or pretrained.load("ebm", root=a.models_dir)
            others = {k: pretrained.load(k, root=a.models_dir) for k in shipped if k != "ebm"}
            crit = critic_rows(others, ebm, x_te, y_te, candidates=a.critic,
                               temperature=a.critic_temperature,
                               refine_steps=a.critic_refine_steps, seed=a.seed)
            text = critic_table(crit, candidates=a.critic, temperature=a.critic_temperature,
                                refine_steps=a.critic_refine_steps)
            atomic_write(out / "critic.md", lambda f: f.write(text.encode()))
            print(text)

    finally:
        torch.set_flush_denormal(False)

if __name__ == "__main__":
    main()
