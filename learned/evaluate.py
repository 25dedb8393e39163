"""The evaluation protocol: one table for every learned model and every baseline.

    python -m learned.evaluate                       # pretrained models + baselines
    python -m learned.evaluate --quick               # a smoke run: fewer repeats and samples
    python -m learned.evaluate --models-dir runs --out runs/eval

The real set is every river of the dataset (train, validation and test splits: 4,580 WDB II
rivers); models were fitted on the train split only. Each model draws one river for each real
river's condition y (sinuosity, length), so its samples (>= 3,000) have the real conditions'
distribution. For each model:

* test NLL in nats per turning angle, two ways: given each test river's own condition
  (``log p(x | y)``; "n/a" for a model that ignores y, whose number is its marginal one) and
  with y drawn from the training conditions (``log p(x) = log E_y p(x | y)``, K = 200 draws,
  the same for every model; in expectation an upper bound), the like-for-like column;
* classifier two-sample tests (C2ST; 0.5 = indistinguishable from real) with four views:
  boosted trees on path statistics, a 1-D CNN on the angles, an MLP on the drawn
  coordinates, k nearest neighbours on path statistics; each repeated with fresh stratified
  5-fold splits, with a bootstrap 95 % interval, and their maximum;
* a conditional C2ST per length bin: real rivers of the bin against the samples drawn for
  their conditions (short and long real rivers differ in shape);
* MMD^2 (Gaussian kernel, median heuristic) between angle vectors;
* per-statistic 1-Wasserstein distance divided by the real-vs-real value, both between equal
  halves (sinuosity, turning-angle spread, meander wavelength, heading autocorrelation:
  1 = as close as another sample of real rivers of the same size);
* the fraction of self-intersecting rivers (real ones: none);
* requested vs realised sinuosity: the median absolute error at the real conditions, and a
  control grid of 200 samples per target sinuosity and length (the tails included);
* memorisation ratio: nearest-training-river distance of samples over that of test rivers,
  under shifts by up to 3 angles and mirror images;
* samples per second on this CPU.

Writes ``evaluation.md`` (the tables), ``evaluation.json`` and ``gallery.png`` (real test
rivers beside samples of every model). A progress bar on stderr names the stage that is
running (``--no-progress`` turns it off).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ._torch import torch

from procgen._io import atomic_write, atomic_write_many

from . import _metrics as M
from . import pretrained
from ._contract import ESTIMATE, EXACT, likelihood_score
from ._progress import Progress
from ._rivers import turns_to_canonical
from .models import BASELINES, LEARNED, decode_y, encode_y
from .train import default_source, load_split, set_threads

__all__ = ["evaluate_model", "reference_row", "fit_baseline", "markdown_table", "length_table",
           "control_table", "gallery", "critic_rows", "critic_table", "StageProgress",
           "Protocol", "marginal_nll", "uses_condition", "control_grid", "stat_ratios",
           "REFERENCE_STAGES", "MODEL_STAGES", "C2ST_VIEWS", "CONTROL_TARGETS",
           "CONTROL_LENGTHS", "main"]


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

#: The C2ST's classifier views (``learned._metrics.VIEWS``) and their names in the table.
C2ST_VIEWS = {"boost": "boost", "cnn": "CNN", "coordinates": "coordinates", "knn": "k-NN"}

#: Requested sinuosities and lengths (km) of the control grid.
CONTROL_TARGETS = (1.05, 1.1, 1.3, 1.6, 2.0, 2.5)
CONTROL_LENGTHS = (60.0, 200.0, 600.0)


@dataclass(frozen=True)
class Protocol:
    """Sizes and repetitions of the evaluation. The defaults are the full run (minutes per
    model on 2 CPU threads); :meth:`quick` is a smoke run for tests and first looks.

    Attributes
    ----------
    repeats : dict
        C2ST repetitions (fresh stratified folds and classifier seeds) per view of
        :data:`C2ST_VIEWS`; the CNN, the slowest view by far, runs once.
    length_repeats : dict
        The views of the per-length-bin C2ST and their repetitions (the CNN is left out:
        it would double the run time).
    folds : int
        Folds of each C2ST repetition. Default 5.
    n_boot : int
        Bootstrap resamples for each interval. Default 1000.
    cnn_epochs : int
        Training epochs of the CNN view. Default 12.
    cnn_batch : int
        Its minibatch size. Default 256 (twice the old view's: half the steps, on a run
        that is dominated by this view).
    length_edges : tuple of float
        Edges (km) of the length bins. Default (100, 300): about a third of the real
        rivers in each bin.
    control_n : int
        Samples per cell of the control grid. Default 200.
    marginal_k : int
        Conditions drawn from the training split for the marginal NLL. Default 200.
    marginal_kz : int
        Importance samples per drawn condition for a model whose likelihood is itself an
        estimate (VAE). Default 2 (K * 2 = 400 decoder passes per river).
    w_splits : int
        Random halvings the Wasserstein distances are averaged over. Default 20.
    """

    repeats: dict = field(default_factory=lambda: {"boost": 3, "cnn": 1, "coordinates": 2,
                                                   "knn": 3})
    length_repeats: dict = field(default_factory=lambda: {"boost": 2, "coordinates": 1,
                                                          "knn": 2})
    folds: int = 5
    n_boot: int = 1000
    cnn_epochs: int = 12
    cnn_batch: int = 256
    length_edges: tuple = (100.0, 300.0)
    control_n: int = 200
    marginal_k: int = 200
    marginal_kz: int = 2
    w_splits: int = 20

    @classmethod
    def quick(cls) -> "Protocol":
        """One repetition per view, short CNN training, 40 samples per control cell, K = 20:
        minutes for every model together, for smoke tests, not for conclusions."""
        return cls(repeats={v: 1 for v in C2ST_VIEWS}, length_repeats={"boost": 1, "knn": 1},
                   n_boot=200, cnn_epochs=4, control_n=40, marginal_k=20, marginal_kz=2,
                   w_splits=5)


def _halvings(n: int, splits: int, seed: int) -> list:
    """``splits`` random pairs of disjoint halves (n // 2 rows each) of range(n)."""
    rng = np.random.default_rng([seed, 7])
    out = []
    for _ in range(splits):
        p = rng.permutation(n)
        out.append((p[: n // 2], p[n // 2: 2 * (n // 2)]))
    return out


def stat_ratios(fake_stats, real_stats, ref_w, halvings) -> dict:
    """W1 / real-vs-real W1 per statistic of ``W_STATS``, both at equal sizes.

    For each halving (A, B) of the real rivers, the model's distance is that of its samples
    for B's conditions to real half A, and the yardstick ``ref_w`` is that of real half B to
    real half A (:func:`reference_row`): the same sizes on both sides, so a model that draws
    exactly the real distribution scores 1 (halves against whole sets would score ~0.7).
    Where real halves agree exactly: 1 if the model agrees exactly too, else inf."""
    out = {}
    for k in W_STATS:
        w = float(np.mean([M.wasserstein1(fake_stats[k][b], real_stats[k][a])
                           for a, b in halvings]))
        out[k] = w / ref_w[k] if ref_w[k] > 0 else (1.0 if w == 0 else float("inf"))
    return out


#: The stages of :func:`reference_row` and :func:`evaluate_model`, in order, as their
#: ``stage`` hooks name them.
REFERENCE_STAGES = ("statistics", *[f"C2ST {v}" for v in C2ST_VIEWS.values()],
                    "C2ST per length", "MMD", "memorisation")
MODEL_STAGES = ("NLL", "marginal NLL", "sampling", "statistics",
                *[f"C2ST {v}" for v in C2ST_VIEWS.values()], "C2ST per length", "MMD",
                "sinuosity", "control grid", "memorisation", "speed")


def _no_stage(name: str) -> None:
    pass


def _length_bins(y, edges) -> tuple:
    """(bin index per river, bin labels) of encoded conditions ``y`` by length (km)."""
    length = decode_y(torch.as_tensor(np.asarray(y, np.float32)))["length_km"].numpy()
    labels = [f"< {edges[0]:g} km", *[f"{a:g}-{b:g} km" for a, b in zip(edges, edges[1:])],
              f">= {edges[-1]:g} km"]
    return np.searchsorted(np.asarray(edges), length, side="right"), labels


def _c2st_views(real, fake, *, protocol, seed, stage, repeats=None, prefix="C2ST ") -> dict:
    """{view: C2STResult as a dict} of every view with repetitions in ``repeats``."""
    repeats = protocol.repeats if repeats is None else repeats
    out = {}
    for view, label in C2ST_VIEWS.items():
        if stage is not None:
            stage(prefix + label)
        if not repeats.get(view):
            continue
        opts = {"epochs": protocol.cnn_epochs, "batch": protocol.cnn_batch} \
            if view == "cnn" else {}
        out[view] = M.c2st_test(real, fake, view=view, folds=protocol.folds,
                                repeats=repeats[view], n_boot=protocol.n_boot, rng=seed,
                                **opts).to_dict()
    return out


def _with_max(views: dict) -> dict:
    """The views' results and their maximum (the strongest view, with its interval)."""
    if not views:
        return {"views": {}, "max": None}
    best = max(views, key=lambda v: views[v]["accuracy"])
    return {"views": views, "max": {"view": best, **views[best]}}


def _c2st_by_length(real, fake, bins, labels, *, protocol, seed) -> dict:
    """Per length bin: the real rivers of the bin against ``fake`` rows of the same index
    (the samples drawn for those rivers' conditions), or, with ``fake=None``, the bin's
    real rivers in two halves (the floor). A bin with too few rivers for the folds: None."""
    out = {}
    for i, label in enumerate(labels):
        idx = np.flatnonzero(bins == i)
        if fake is None:
            idx = np.random.default_rng([seed, 11, i]).permutation(idx)
            a, b = real[idx[: len(idx) // 2]], real[idx[len(idx) // 2: 2 * (len(idx) // 2)]]
        else:
            a, b = real[idx], fake[idx]
        if min(len(a), len(b)) < 2 * protocol.folds:
            out[label] = None
            continue
        views = _c2st_views(a, b, protocol=protocol, seed=seed, stage=None,
                            repeats=protocol.length_repeats)
        out[label] = {"n": int(len(a)), **_with_max(views)}
    return out


def reference_row(real, x_train, *, y_real=None, test=None, seed=0, protocol=None,
                  stage=None) -> dict:
    """Real vs real: every number of :func:`evaluate_model` that has a real-vs-real floor,
    from random halves of the real rivers.

    Parameters
    ----------
    real : ndarray, (N, D)
        The real rivers (every split), turning angles.
    x_train : ndarray, (M, D)
        The training rivers (for the memorisation ratio).
    y_real : ndarray, (N, 2), optional
        Their encoded conditions; without them there are no length bins.
    test : ndarray of bool, (N,), optional
        Which real rivers are test rivers (memorisation compares test halves); default all.
    seed : int, optional
        Seed of the halvings and the classifiers.
    protocol : Protocol, optional
        Sizes and repetitions; default the full run.
    stage : callable, optional
        Called with the name of each of :data:`REFERENCE_STAGES` as it starts.

    Returns
    -------
    dict
        ``ref_w`` (mean real-half vs real-half W1 per statistic over the halvings of
        :func:`stat_ratios`), ``self_intersection``, ``c2st`` (views and max), ``c2st_gb``
        and ``c2st_cnn`` (accuracies), ``c2st_length``, ``mmd2`` and ``memorisation``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> real, train = 0.2 * rng.standard_normal((2, 120, 16))
    >>> fast = Protocol(repeats={"boost": 1, "knn": 1}, length_repeats={}, n_boot=100)
    >>> ref = reference_row(real, train, protocol=fast)
    >>> sorted(ref["ref_w"]), 0.3 < ref["c2st"]["max"]["accuracy"] < 0.75
    (['autocorrelation', 'sinuosity', 'spread', 'wavelength'], True)
    """
    stage = stage or _no_stage
    protocol = protocol or Protocol()
    real = np.asarray(real, np.float64)
    x_train = np.asarray(x_train, np.float64)
    test = np.ones(len(real), bool) if test is None else np.asarray(test, bool)
    stage("statistics")
    stats = M.path_stats(real)
    halves = _halvings(len(real), protocol.w_splits, seed)
    ref = {k: float(np.mean([M.wasserstein1(stats[k][b], stats[k][a]) for a, b in halves]))
           for k in W_STATS}
    row = {"ref_w": ref, "self_intersection": float(stats["self_intersection"].mean())}
    a, b = real[halves[0][0]], real[halves[0][1]]
    row["c2st"] = _with_max(_c2st_views(a, b, protocol=protocol, seed=seed, stage=stage))
    _legacy_c2st(row)
    stage("C2ST per length")
    row["c2st_length"] = {}
    if y_real is not None:
        bins, labels = _length_bins(y_real, protocol.length_edges)
        row["c2st_length"] = _c2st_by_length(real, None, bins, labels, protocol=protocol,
                                             seed=seed)
    stage("MMD")
    row["mmd2"] = M.mmd2(a, b, rng=seed)
    stage("memorisation")
    t = real[test][np.random.default_rng(seed).permutation(int(test.sum()))]
    row["memorisation"] = M.memorisation_ratio(t[: len(t) // 2], t[len(t) // 2:], x_train,
                                               rng=seed)
    return row


def _legacy_c2st(row):
    """The boosted-tree and CNN accuracies under the keys older tables read."""
    views = row["c2st"]["views"]
    row["c2st_gb"] = views["boost"]["accuracy"] if "boost" in views else None
    row["c2st_cnn"] = views["cnn"]["accuracy"] if "cnn" in views else None


@torch.no_grad()
def uses_condition(model, x, y) -> bool | None:
    """Whether ``model``'s likelihood depends on y: its score of ``x`` changes when the
    conditions are permuted among the rivers. None for a model without a likelihood.

    A model that ignores y (the coin flip, the AR(2) heading) scores ``log p(x)`` whatever
    y it is given, so its "conditional" NLL is a marginal one and is not compared with
    conditional NLLs.

    Examples
    --------
    >>> import torch
    >>> from learned.baselines import CoinFlip
    >>> x, y = 0.1 * torch.randn(20, 8), torch.randn(20, 2)
    >>> uses_condition(CoinFlip.fit(x, y), x, y)
    False
    """
    x, y = torch.as_tensor(x)[:64], torch.as_tensor(y)[:64]
    perm = torch.roll(torch.arange(len(y)), 1)
    if model.likelihood == EXACT:
        a, b = model.log_prob(x, y), model.log_prob(x, y[perm])
    elif model.likelihood == ESTIMATE:
        a = model.log_prob_estimate(x, y, k=4, generator=torch.Generator().manual_seed(0))
        b = model.log_prob_estimate(x, y[perm], k=4,
                                    generator=torch.Generator().manual_seed(0))
    else:
        return None
    return bool((a - b).abs().max() > 1e-6)


@torch.no_grad()
def marginal_nll(model, x, conditions, *, k: int = 200, k_z: int = 5, seed: int = 0,
                 rows: int = 16384) -> float | None:
    """Test NLL of the marginal ``p(x) = E_y p(x | y)``, nats per angle, y drawn from
    ``conditions``.

    ``-log (1/K) sum_k p(x | y_k)`` with the same K conditions (drawn without replacement
    from ``conditions``, e.g. the training split's) for every river: unbiased inside the log,
    so in expectation an upper bound on the marginal NLL. Unlike ``log p(x | y)`` at each
    river's own y (which a model may read its sinuosity from), it compares like for like
    with models that ignore y. Where the model's likelihood is itself an importance-weighted
    estimate, each ``p(x | y_k)`` is estimated with ``k_z`` samples (exp of the estimate is
    unbiased). None for a model without a likelihood.

    Parameters
    ----------
    model : RiverContract
    x : Tensor, (N, D)
        Test rivers, turning angles.
    conditions : Tensor, (M, 2)
        Encoded conditions to draw from.
    k : int, optional
        Conditions drawn. Default 200.
    k_z : int, optional
        Importance samples per condition for ``likelihood == 'estimate'``. Default 5.
    seed : int, optional
        Seed of the draws.
    rows : int, optional
        Rivers x conditions scored at once (memory).

    Examples
    --------
    >>> import torch
    >>> from learned.baselines import CoinFlip
    >>> x, y = 0.1 * torch.randn(50, 8), torch.randn(50, 2)
    >>> m = CoinFlip.fit(x, y)
    >>> from learned._contract import nll_per_angle
    >>> abs(marginal_nll(m, x, y, k=10) - nll_per_angle(m, x, y)) < 1e-6   # ignores y
    True
    """
    if model.likelihood is None:
        return None
    model.eval()
    x = torch.as_tensor(x)
    conditions = torch.as_tensor(conditions, dtype=torch.float32)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(conditions), k, replace=len(conditions) < k)
    yk = conditions[torch.from_numpy(idx)]                                        # (K, 2)
    gen = torch.Generator().manual_seed(seed)
    per = max(1, rows // k)
    total = 0.0
    for i in range(0, len(x), per):
        xb = x[i:i + per]
        b = len(xb)
        xr = xb.repeat_interleave(k, 0)                                           # (b*K, D)
        yr = yk.repeat(b, 1)                                                      # (b*K, 2)
        if model.likelihood == EXACT:
            lp = model.log_prob(xr, yr)
        else:
            lp = model.log_prob_estimate(xr, yr, k=k_z, generator=gen)
        lp = lp.double().view(b, k)
        total += float(-(torch.logsumexp(lp, 1) - math.log(k)).sum())
    return total / (len(x) * x.shape[1])


@torch.no_grad()
def control_grid(model, *, n: int = 200, targets=CONTROL_TARGETS, lengths=CONTROL_LENGTHS,
                 seed: int = 0) -> dict:
    """Requested against realised sinuosity over a grid of targets and lengths.

    Returns
    -------
    dict
        ``targets``, ``lengths`` (km), and per (length, target) cell the ``median`` realised
        sinuosity and the median per-sample ``abs_error`` |realised - requested|, lists of
        lists indexed [length][target].

    Examples
    --------
    >>> import torch
    >>> from learned.baselines import CoinFlip
    >>> m = CoinFlip.fit(0.1 * torch.randn(50, 8), torch.randn(50, 2))
    >>> g = control_grid(m, n=20, targets=(1.1, 2.0), lengths=(100.0,))
    >>> len(g["median"]), len(g["median"][0])
    (1, 2)
    """
    model.eval()
    sin = np.repeat(np.tile(np.asarray(targets, np.float64), len(lengths)), n)
    length = np.repeat(np.asarray(lengths, np.float64), len(targets) * n)
    y = encode_y(sin, length)
    fake = _sample(model, len(y), y, seed)
    realised = M.realised_sinuosity(fake).reshape(len(lengths), len(targets), n)
    requested = sin.reshape(len(lengths), len(targets), n)
    return {"targets": list(targets), "lengths": list(lengths),
            "median": np.median(realised, axis=2).tolist(),
            "abs_error": np.median(np.abs(realised - requested), axis=2).tolist()}


def evaluate_model(model, x_real, y_real, x_train, ref, *, test=None, y_train=None, seed=0,
                   protocol=None, stage=None) -> dict:
    """Every metric of the protocol for one model.

    Parameters
    ----------
    model : RiverContract
    x_real : Tensor, (N, D)
        The real rivers (every split), turning angles; the model draws one sample for each.
    y_real : Tensor, (N, 2)
        Their encoded conditions.
    x_train : Tensor, (M, D)
        The training rivers (memorisation).
    ref : dict
        :func:`reference_row` of the same real rivers and seed.
    test : ndarray of bool, (N,), optional
        Which real rivers are test rivers (NLL, memorisation); default all.
    y_train : Tensor, (M, 2), optional
        Training conditions the marginal NLL draws from; default the model's own bank of
        training conditions.
    seed : int, optional
    protocol : Protocol, optional
        Default the full run.
    stage : callable, optional
        Called with the name of each of :data:`MODEL_STAGES` as it starts.

    Returns
    -------
    dict
        One row of the table (see :func:`markdown_table`); ``_fake`` holds 8 samples for
        the test rivers' conditions (the gallery).
    """
    stage = stage or _no_stage
    protocol = protocol or Protocol()
    model.eval()
    x_real, y_real = torch.as_tensor(x_real), torch.as_tensor(y_real)
    test = np.ones(len(x_real), bool) if test is None else np.asarray(test, bool)
    x_te, y_te = x_real[torch.from_numpy(test)], y_real[torch.from_numpy(test)]
    row = {}
    # exact where the family has a likelihood; an importance-weighted estimate (K = 1000)
    # where it only has a bound (VAE); none at all otherwise (GAN): never a made-up number
    # (read from the model's declared likelihood)
    stage("NLL")
    row["nll"], row["nll_kind"] = likelihood_score(model, x_te, y_te, k=IWAE_K, seed=seed)
    row["conditional"] = uses_condition(model, x_te, y_te)
    stage("marginal NLL")
    bank = y_train if y_train is not None else model.y_bank
    row["nll_marginal"] = marginal_nll(model, x_te, bank, k=protocol.marginal_k,
                                       k_z=protocol.marginal_kz, seed=seed)
    n = len(x_real)
    stage("sampling")
    fake = _sample(model, n, y_real, seed)
    real = x_real.double().numpy()
    stage("statistics")
    sf, sr = M.path_stats(fake), M.path_stats(real)
    row["w_ratio"] = stat_ratios(sf, sr, ref["ref_w"], _halvings(n, protocol.w_splits, seed))
    row["self_intersection"] = float(sf["self_intersection"].mean())
    row["c2st"] = _with_max(_c2st_views(real, fake, protocol=protocol, seed=seed,
                                        stage=stage))
    _legacy_c2st(row)
    stage("C2ST per length")
    bins, labels = _length_bins(y_real.numpy(), protocol.length_edges)
    row["c2st_length"] = _c2st_by_length(real, fake, bins, labels, protocol=protocol,
                                         seed=seed)
    stage("MMD")
    row["mmd2"] = M.mmd2(real, fake, rng=seed)
    stage("sinuosity")
    requested = decode_y(y_real)["sinuosity"].numpy()
    row["sinuosity_mae"] = float(np.median(np.abs(M.realised_sinuosity(fake) - requested)))
    stage("control grid")
    row["control"] = control_grid(model, n=protocol.control_n, seed=seed)
    row["control_worst"] = float(np.max(row["control"]["abs_error"]))
    row["control_n"] = protocol.control_n
    stage("memorisation")
    row["memorisation"] = M.memorisation_ratio(fake[test], real[test],
                                               torch.as_tensor(x_train).double().numpy(),
                                               rng=seed)
    stage("speed")
    gen = torch.Generator().manual_seed(seed + 1)
    model.sample(64, generator=gen)                               # warm-up
    t0 = time.perf_counter()
    model.sample(2000, generator=gen)
    row["samples_per_s"] = 2000 / (time.perf_counter() - t0)
    row["_fake"] = fake[test][:8]
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
    """The rows of :func:`critic_rows` as a markdown page: what it measures, then the table."""
    lines = ["# Energy as a critic of the other families", "",
             f"Written by `learned.evaluate --critic {candidates}` "
             "(`learned.evaluate.critic_rows`) on the test rivers' conditions, with the "
             "earlier, weaker pair of C2ST views (boosted stumps on 16 path statistics, the "
             "1-D CNN; one run each, standard error near 0.016): samples/s are only comparable "
             "within a row. Samples are what each model's `sample` returns (sinuosity "
             "matched; the GAN's mirrored, the GAN's and the flow's resampled).", "",
             f"Energy as a critic: the EBM keeps one of {candidates} draws per condition "
             f"(weights exp({'f' if by == 'residual' else '-E'} / {temperature:g})), then "
             f"{refine_steps} Langevin steps.", "",
             "| model | C2ST boost before | after | C2ST CNN before | after | samples/s "
             "before | after |", "|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['c2st_gb'][0]:.3f} | {r['c2st_gb'][1]:.3f} | "
                     f"{r['c2st_cnn'][0]:.3f} | {r['c2st_cnn'][1]:.3f} | "
                     f"{r['samples_per_s'][0]:,.0f} | {r['samples_per_s'][1]:,.0f} |")
    return "\n".join(lines) + "\n"


def _merged_threads(old_meta: dict, models, threads: int) -> tuple:
    """(threads of the kept run, {model: threads} of the rows that ran on other threads)
    once ``models`` were re-evaluated on ``threads`` beside an earlier run's rows."""
    base = old_meta.get("threads", threads)
    if isinstance(base, str):                    # older files: "2 (vae: 1)"
        base = int(base.split()[0])
    of = {k: v for k, v in old_meta.get("threads_of", {}).items() if k not in models}
    of.update({k: threads for k in models if threads != base})
    return base, dict(sorted(of.items()))


def _threads_text(meta: dict) -> str:
    """``2`` or ``2 (ar, vae: 1)``: the run's CPU threads, and the rows that ran on others."""
    groups: dict = {}
    for k, v in meta.get("threads_of", {}).items():
        groups.setdefault(v, []).append(k)
    extra = "; ".join(f"{', '.join(ks)}: {v}" for v, ks in sorted(groups.items()))
    return f"{meta['threads']} ({extra})" if extra else f"{meta['threads']}"


def _fmt(v, spec=".3f"):
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


#: Importance samples per river for models whose NLL is only estimated.
IWAE_K = 1000


def _fmt_nll(r, v, spec):
    """An NLL (or its difference) marked "≈" where it is an estimate, not exact."""
    text = _fmt(v, spec)
    return "≈" + text if r.get("nll_kind") == "estimate" and text != "—" else text


def _view_acc(r, view):
    """A view's C2ST accuracy of a row (rows of older tables: boost and CNN only)."""
    views = (r.get("c2st") or {}).get("views") or {}
    if view in views:
        return views[view]["accuracy"]
    return {"boost": r.get("c2st_gb"), "cnn": r.get("c2st_cnn")}.get(view)


def _fmt_max(m):
    """``0.612 [0.601, 0.623] coordinates``: the strongest view, its interval and name."""
    if not m:
        return "—"
    return f"{m['accuracy']:.3f} [{m['low']:.3f}, {m['high']:.3f}] {C2ST_VIEWS[m['view']]}"


def _worst_length(r):
    cells = [c["max"]["accuracy"] for c in (r.get("c2st_length") or {}).values()
             if c and c.get("max")]
    return max(cells) if cells else None


def markdown_table(rows: dict, ref: dict, *, meta: dict) -> str:
    """The main table: one row per model and the real-vs-real floor, under an introduction
    saying how each column was measured (from ``meta``)."""
    names = list(rows)
    base = [r["nll_marginal"] for k, r in rows.items()
            if k not in LEARNED and r.get("nll_marginal") is not None]
    best_base = min(base) if base else None
    head = ["model", "test NLL, own y", "test NLL, y drawn", "vs best baseline",
            *[f"C2ST {v}" for v in C2ST_VIEWS.values()], "C2ST max [95 % CI] view",
            "C2ST worst length bin", "MMD²", *[f"W {k}" for k in W_STATS], "self-intersecting",
            "sinuosity MAE", "control: worst cell", "memorisation", "samples/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k in names:
        r = rows[k]
        marginal = r.get("nll_marginal")
        delta = marginal - best_base if marginal is not None and best_base is not None \
            else None
        own = "n/a" if r.get("conditional") is False else _fmt_nll(r, r.get("nll"), ".4f")
        lines.append("| " + " | ".join([
            k, own, _fmt_nll(r, marginal, ".4f"), _fmt_nll(r, delta, "+.4f"),
            *[_fmt(_view_acc(r, v)) for v in C2ST_VIEWS],
            _fmt_max((r.get("c2st") or {}).get("max")), _fmt(_worst_length(r)),
            _fmt(r["mmd2"], ".4f"), *[_fmt(r["w_ratio"][s], ".2f") for s in W_STATS],
            _fmt(r["self_intersection"]), _fmt(r["sinuosity_mae"]),
            _fmt(r.get("control_worst"), ".2f"), _fmt(r["memorisation"], ".2f"),
            _fmt(r["samples_per_s"], ",.0f")]) + " |")
    lines.append("| real vs real (halves) | — | — | — | " + " | ".join([
        *[_fmt(_view_acc(ref, v)) for v in C2ST_VIEWS],
        _fmt_max((ref.get("c2st") or {}).get("max")), _fmt(_worst_length(ref)),
        _fmt(ref["mmd2"], ".4f"), *["1.00"] * len(W_STATS), _fmt(ref["self_intersection"]),
        "—", "—", _fmt(ref["memorisation"], ".2f"), "—"]) + " |")
    n_real = meta.get("n_real", meta.get("n_test"))
    intro = (f"Evaluation on the **{meta['source']}** data: {n_real} real rivers of every "
             f"split against one sample per real river's condition; NLL and memorisation on "
             f"the {meta['n_test']} test rivers; {meta['n_turns']} turning angles each; models "
             f"fitted on the {meta['n_train']} training rivers; {_threads_text(meta)} CPU "
             f"threads, torch {torch.__version__}.\n")
    notes = ("NLL (nats per angle, lower is better), two ways: *own y* is log p(x | y) at each "
             "test river's own condition (its sinuosity is read from the very angles scored, "
             "so it flatters conditional models; \"n/a\": the model ignores y); *y drawn* is "
             f"the marginal log p(x), y drawn from the training conditions (K = "
             f"{meta.get('marginal_k', 200)}, the same for every model; in expectation an "
             "upper bound), the like-for-like column. \"vs best baseline\": the marginal NLL "
             "minus the best baseline's. \"≈\": importance-weighted estimates (IWAE, K = "
             f"{IWAE_K}) for the VAE; \"—\": no likelihood (GAN, flow-matching diffusion) "
             "or only an unnormalised one (EBM).\n\n"
             "C2ST: accuracy of a classifier telling samples from real rivers, out of fold "
             "(5 stratified folds), averaged over repetitions with fresh folds "
             f"({_fmt_repeats(meta)}); 0.5 = indistinguishable. Views: *boost*, boosted "
             "trees (depth 2) on 44 path statistics; *CNN*, a 1-D CNN on the angles; "
             "*coordinates*, an MLP on the drawn river's canonical coordinates; *k-NN*, 25 "
             "nearest neighbours on the path statistics. *max*: the strongest view, with "
             "its bootstrap 95 % interval (rivers resampled within each class). *worst "
             "length bin*: the highest per-bin maximum of the conditional C2ST below. The "
             "real-vs-real row splits the real rivers in halves (half the sample size, so "
             "its maximum over views spreads a little more). W: Wasserstein distance of the "
             "statistic divided by the real-vs-real value, both between equal halves, mean "
             f"of {meta.get('w_splits', 20)} halvings (1 = as close as real rivers are to "
             "each other). Self-intersecting: the fraction of rivers whose path crosses "
             "itself. Sinuosity MAE: median |realised - requested| sinuosity at the real "
             "rivers' conditions (where the data is dense); control: worst cell: the "
             "largest median |realised - requested| over the control grid below. "
             "Memorisation: nearest-training-river distance of samples over that of test "
             "rivers, under shifts by up to 3 angles and mirror images (>= 0.9: not "
             "copying).\n")
    # the table right under a one-line introduction, the notes on each column below it
    return intro + "\n" + "\n".join(lines) + "\n\n" + notes


def _fmt_repeats(meta):
    reps = meta.get("repeats")
    if not reps:
        return "see evaluation.json"
    return ", ".join(f"{C2ST_VIEWS[v]} {n}" for v, n in reps.items())


def length_table(rows: dict, ref: dict) -> str:
    """The conditional C2ST per length bin: each cell the strongest view's accuracy and
    its 95 % interval; real vs real from halves of each bin."""
    labels = list((ref.get("c2st_length") or {}) or next(
        (r["c2st_length"] for r in rows.values() if r.get("c2st_length")), {}))
    if not labels:
        return ""
    counts = next((r["c2st_length"] for r in rows.values() if r.get("c2st_length")), {})
    head = ["model", *[f"{b} ({counts[b]['n'] if counts.get(b) else '?'} rivers)"
                       for b in labels]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in [*rows.items(), ("real vs real (halves of each bin)", ref)]:
        cells = (r.get("c2st_length") or {})
        lines.append("| " + " | ".join([name, *[_fmt_max(cells[b]["max"]) if cells.get(b)
                                                 else "—" for b in labels]]) + " |")
    return ("Conditional C2ST per length bin: the real rivers of each bin against the "
            "samples drawn for their own conditions (strongest of boosted trees, "
            "coordinates MLP and k-NN, with its bootstrap 95 % interval).\n\n"
            + "\n".join(lines) + "\n")


def control_table(rows: dict) -> str:
    """The control grid: median realised sinuosity and, in brackets, the median per-sample
    |realised - requested|, per model, length and requested sinuosity."""
    grid = next((r["control"] for r in rows.values() if r.get("control")), None)
    if grid is None:
        return ""
    head = ["model", "length", *[f"{t:g}" for t in grid["targets"]]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in rows.items():
        c = r.get("control")
        if not c:
            continue
        for i, length in enumerate(c["lengths"]):
            lines.append("| " + " | ".join([
                name, f"{length:g} km", *[f"{m:.2f} ({e:.2f})" for m, e in
                                          zip(c["median"][i], c["abs_error"][i])]]) + " |")
    n = next((r.get("control_n") for r in rows.values() if r.get("control_n")), None)
    return ("Control: median realised sinuosity for each requested sinuosity (columns) and "
            "length, with the median per-sample |realised - requested| in brackets"
            + (f", {n} samples per cell" if n else "") + ".\n\n" + "\n".join(lines) + "\n")


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




def _subset(x, y, cap, seed):
    """At most ``cap`` rows of (x, y), a random subset in the original order."""
    if cap is None or len(x) <= cap:
        return x, y
    idx = torch.from_numpy(np.sort(np.random.default_rng(seed).permutation(len(x))[:cap]))
    return x[idx], y[idx]


def main(argv=None):
    t_start = time.perf_counter()
    p = argparse.ArgumentParser(prog="python -m learned.evaluate",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="auto", choices=["auto", "rivers", "synthetic"])
    p.add_argument("--models-dir", default=None, help="folder of NAME.pt/NAME.json "
                   "(default: assets/models)")
    p.add_argument("--models", nargs="*", default=None, help="names to evaluate")
    p.add_argument("--out", default="runs/eval")
    p.add_argument("--max-per-split", "--max-test", dest="max_per_split", type=int,
                   default=None, metavar="N", help="use at most N rivers of each split as "
                   "real rivers (a random subset; default: all)")
    p.add_argument("--n-points", type=int, default=64, help="T, for synthetic data")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a smoke run: one repetition per "
                   "C2ST view, short CNN training, 40 samples per control cell "
                   "(Protocol.quick)")
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
    protocol = Protocol.quick() if a.quick else Protocol()
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
        parts = {s: _subset(*load_split(source, s, n_points=a.n_points), a.max_per_split,
                            a.seed) for s in ("train", "val", "test")}
        # the real set: every split (the models saw only train, and only in fitting)
        x_real = torch.cat([x for x, _ in parts.values()])
        y_real = torch.cat([y for _, y in parts.values()])
        test = np.concatenate([np.full(len(x), s == "test") for s, (x, _) in parts.items()])
        x_te, y_te = parts["test"]
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
            ref = reference_row(x_real.double().numpy(), x_tr.double().numpy(),
                                y_real=y_real.numpy(), test=test, seed=a.seed,
                                protocol=protocol, stage=lambda s: bar(f"real vs real: {s}"))
        for name, r in kept.items():          # the gallery's samples, as a full run draws them
            if name in shipped or name in BASELINES:
                bar(f"gallery samples of {name}")
                m = (pretrained.load(name, root=a.models_dir) if name in shipped
                     else fit_baseline(BASELINES[name], x_tr, y_tr))
                r["_fake"] = _sample(m, len(x_te), y_te, a.seed)[:8]
        rows = {}
        for name, model in models.items():
            t0 = time.perf_counter()
            rows[name] = evaluate_model(model, x_real, y_real, x_tr, ref, test=test,
                                        y_train=y_tr, seed=a.seed, protocol=protocol,
                                        stage=lambda s: bar(f"{name}: {s}"))  # noqa: B023
            r = rows[name]
            r["seconds"] = time.perf_counter() - t0
            best = r["c2st"]["max"]
            bar.note(f"{name}: NLL {_fmt_nll(r, r['nll'], '.4f')} (y drawn "
                     f"{_fmt_nll(r, r['nll_marginal'], '.4f')})  C2ST max "
                     f"{best['accuracy']:.3f} ({C2ST_VIEWS[best['view']]})  control worst "
                     f"{r['control_worst']:.2f}  ({r['seconds']:.0f}s)")
        order = [*shipped, *BASELINES]
        rows = {k: ({**kept, **rows})[k] for k in
                sorted({**kept, **rows}, key=lambda k: order.index(k) if k in order else 99)}
        bar("writing the table and gallery")
        meta = {"source": source, "n_real": len(x_real), "n_test": len(x_te),
                "n_train": len(x_tr), "n_turns": x_te.shape[1],
                "splits": {s: len(x) for s, (x, _) in parts.items()},
                "threads": torch.get_num_threads(), "quick": a.quick,
                "repeats": protocol.repeats, "length_repeats": protocol.length_repeats,
                "marginal_k": protocol.marginal_k, "w_splits": protocol.w_splits,
                "control_n": protocol.control_n, "n_boot": protocol.n_boot,
                "seconds": round(time.perf_counter() - t_start)}
        if kept:
            meta["threads"], meta["threads_of"] = _merged_threads(old["meta"], models,
                                                                   meta["threads"])
        table = "\n".join(t for t in (markdown_table(rows, ref, meta=meta),
                                      length_table(rows, ref), control_table(rows)) if t)
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
        print(f"({meta['seconds']} s)")
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
