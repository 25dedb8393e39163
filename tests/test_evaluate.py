"""The evaluation protocol (``learned.evaluate``, ``learned._metrics``) measures what it says:
each check here would have caught one defect of the earlier protocol (issue 19's audit)."""

import configparser
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from learned import _metrics as M  # noqa: E402
from learned import evaluate as E  # noqa: E402
from learned.baselines import CoinFlip, FergusonAR2, SineCurve  # noqa: E402
from learned.models import decode_y, encode_y  # noqa: E402
from learned.train import build_model, load_split, model_config, synthetic_rivers  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
#: No classifier at all: for tests of everything around the C2ST.
NO_C2ST = E.Protocol(repeats={}, length_repeats={}, n_boot=50, control_n=20, marginal_k=20,
                     marginal_kz=2, w_splits=10)


def _synthetic(n, seed, n_points=20):
    """(turns (n, D) float64, encoded y (n, 2) float32) of synthetic rivers."""
    turns, sin, length = synthetic_rivers(n, n_points, rng=seed)
    return turns.astype(np.float64), encode_y(sin, length).numpy()


class _Stub(torch.nn.Module):
    """A model without a likelihood whose ``sample(n, y)`` is ``draw(y)``: the real rivers
    themselves, copies of training rivers, anything a test needs."""

    likelihood = None

    def __init__(self, draw, bank):
        super().__init__()
        self.draw = draw
        self.register_buffer("y_bank", torch.as_tensor(bank, dtype=torch.float32))

    def sample(self, n, y=None, *, generator=None):
        if y is None:
            y = self.y_bank[torch.randint(len(self.y_bank), (n,), generator=generator)]
        return torch.as_tensor(self.draw(np.asarray(y)), dtype=torch.float32)


def _echo(x, y):
    """A stub that returns, for each condition, the real river whose condition is nearest:
    for the real conditions, the river that has it (a perfect conditional model of these
    rivers, and one that copies them)."""
    yt = torch.as_tensor(y, dtype=torch.float32)
    return _Stub(lambda yy: x[torch.cdist(torch.as_tensor(yy), yt).argmin(1).numpy()], y)


# -- stratified folds, bootstrap, C2ST ------------------------------------------------------------
def test_stratified_folds_keep_every_class_in_proportion():
    labels = np.r_[np.ones(53), np.zeros(47)].astype(int)
    folds = M.stratified_folds(labels, 5, rng=3)
    assert sorted(np.concatenate(folds).tolist()) == list(range(100))      # a partition
    for f in folds:
        assert abs(labels[f].sum() - 53 / 5) <= 1 and abs((1 - labels[f]).sum() - 47 / 5) <= 1


class _Majority(M._View):
    """Predicts the majority label of its training rows: knows nothing about the rivers."""

    def fit_predict(self, x_train, y_train, x_test, seed):
        return np.full(len(x_test), int(np.mean(y_train) >= 0.5))


def test_a_classifier_that_learns_nothing_scores_exactly_one_half():
    """With plain random folds, a test fold with more of one class leaves a training set with
    more of the other, and a majority vote is wrong more often than chance (the old folds
    scored 0.49 on random data); stratified folds leave no such bias."""
    labels = np.r_[np.ones(500), np.zeros(500)].astype(int)
    x = np.zeros((1000, 1))
    correct = M._out_of_fold(x, labels, _Majority(), folds=5, repeats=4, rng=0)
    assert correct.mean() == 0.5


def test_bootstrap_interval_has_the_binomial_width():
    rng = np.random.default_rng(0)
    labels = np.r_[np.ones(1000), np.zeros(1000)]
    correct = (rng.random(2000) < 0.6).astype(float)
    lo, hi = M.bootstrap_interval(correct, labels, n_boot=2000, rng=1)
    acc, se = correct.mean(), math.sqrt(0.24 / 2000)
    assert lo < acc < hi
    assert (hi - lo) == pytest.approx(2 * 1.96 * se, rel=0.15)


@pytest.fixture(scope="module")
def one_distribution():
    """Two independent samples of one distribution of rivers, 1,000 each."""
    x, _ = _synthetic(2000, seed=21)
    return x[:1000], x[1000:]


@pytest.mark.parametrize("view", ["boost", "knn", "stumps"])
def test_c2st_sits_at_one_half_on_two_samples_of_one_distribution(one_distribution, view):
    a, b = one_distribution
    r = M.c2st_test(a, b, view=view, repeats=3, n_boot=500, rng=0)
    assert abs(r.accuracy - 0.5) < 0.025, r
    assert r.low < 0.5 < r.high and r.high - r.low < 0.07
    assert len(r.runs) == 3 and len(set(r.runs)) > 1            # fresh folds per repetition


@pytest.mark.slow
@pytest.mark.parametrize("view", ["coordinates", "cnn"])
def test_neural_c2st_sits_at_one_half_on_two_samples_of_one_distribution(one_distribution,
                                                                          view):
    a, b = one_distribution
    r = M.c2st_test(a, b, view=view, repeats=1, n_boot=500, rng=0)
    assert abs(r.accuracy - 0.5) < 0.035, r


@pytest.mark.parametrize("view", ["boost", "knn", "coordinates",
                                  pytest.param("cnn", marks=pytest.mark.slow)])
def test_every_view_tells_a_coin_flip_from_meanders(one_distribution, view):
    a = one_distribution[0][:200]
    coin = np.random.default_rng(0).choice([-1.0, 1.0], size=a.shape) * np.abs(a).mean()
    opts = {"epochs": 6} if view in ("cnn", "coordinates") else {}
    assert M.c2st_test(a, coin, view=view, repeats=1, n_boot=50, **opts).accuracy > 0.75


def test_boosted_trees_see_what_stumps_cannot():
    """Depth-2 trees learn an interaction (the sign of a product) that stumps, adding one
    feature at a time, cannot."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 3))
    y = (x[:, 0] * x[:, 1] > 0).astype(float)
    tr, te = slice(0, 1500), slice(1500, None)
    deep = M.BoostedTrees(max_depth=2).fit(x[tr], y[tr]).predict(x[te])
    flat = M.StumpBoost().fit(x[tr], y[tr]).predict(x[te])
    assert (deep == y[te]).mean() > 0.9 and (flat == y[te]).mean() < 0.65


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_boosted_trees_as_arrays_decide_as_the_trees_do(depth):
    """``to_arrays`` + ``tree_logit`` (what the runtime evaluates) against the trees' own
    recursive walk, on features with ties at bin edges and trees that stop above their
    depth (a feature that splits nothing)."""
    from learned._features import tree_logit

    rng = np.random.default_rng(depth)
    x = np.column_stack([rng.standard_normal(600), rng.integers(0, 4, 600) / 62.0,
                         np.zeros(600)])
    y = ((x[:, 0] > 0.2) ^ (x[:, 1] > 0.03)).astype(float)
    clf = M.BoostedTrees(30, max_depth=depth, min_leaf=40).fit(x, y)
    arrays = clf.to_arrays(rounds=40)                  # ten rounds of zeros at the end
    assert [a.shape for a in arrays] == [(40, 2 ** depth - 1)] * 2 + [(40, 2 ** depth)]
    assert np.abs(tree_logit(x, *arrays) - clf.decision_function(x)).max() < 1e-5
    with pytest.raises(ValueError, match="rounds must be >= the 30 trees"):
        clf.to_arrays(rounds=29)


def test_boosted_trees_fitted_from_an_offset_learn_its_correction():
    """From another model's logit the trees learn only what it misses: where the offset is
    already the true log odds, they stay near zero; where it is zero, they learn it."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4000, 2))
    true = 2.0 * x[:, 0]
    y = (rng.random(4000) < 1 / (1 + np.exp(-true))).astype(float)
    corrected = M.BoostedTrees(100, max_depth=2).fit(x, y, offset=true)
    plain = M.BoostedTrees(100, max_depth=2).fit(x, y, offset=np.zeros(4000))
    assert np.abs(corrected.decision_function(x)).mean() < 0.3
    assert np.corrcoef(plain.decision_function(x), true)[0, 1] > 0.9


# -- memorisation -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def train_test():
    (train, _), (test, _), (fresh, _) = (_synthetic(n, s) for n, s in
                                         ((1500, 31), (300, 32), (300, 33)))
    return train, test, fresh


def test_memorisation_is_one_for_unseen_rivers(train_test):
    """The old test compared a set with itself (ratio 1 whatever the metric); here two
    disjoint sets of unseen rivers."""
    train, test, fresh = train_test
    assert 0.85 < M.memorisation_ratio(fresh, test, train) < 1.15


@pytest.mark.parametrize("copy", ["exact", "shifted", "shifted back", "mirrored", "reversed"])
def test_memorisation_catches_moved_and_mirrored_copies(train_test, copy):
    train, test, _ = train_test
    t = train[:300]
    copies = {"exact": t, "shifted": np.concatenate([t[:, 1:], t[:, -1:]], 1),
              "shifted back": np.concatenate([t[:, :1], t[:, :-1]], 1), "mirrored": -t,
              "reversed": -t[:, ::-1]}[copy]
    assert M.memorisation_ratio(copies, test, train) < 0.35
    if copy in ("shifted", "mirrored"):      # what the plain nearest neighbour missed
        assert M.memorisation_ratio(copies, test, train, max_shift=0,
                                    symmetries=False) > 0.8


# -- Wasserstein ratios at equal sizes ----------------------------------------------------------
def test_a_perfect_model_scores_one_on_every_wasserstein_ratio():
    """The yardstick compares real halves with each other and the model's samples with a real
    half at the same sizes: a model that draws the real distribution scores ~1. The earlier
    yardstick (halves against whole sets) gave such a model 0.55-0.75."""
    real, _ = _synthetic(2000, seed=41)
    sr = M.path_stats(real)
    halves = E._halvings(len(real), NO_C2ST.w_splits, 0)     # those of reference_row
    ref = E.reference_row(real, real[:10], protocol=NO_C2ST)["ref_w"]
    new, old = [], []
    for seed in range(42, 48):                        # fresh draws of the same distribution
        sf = M.path_stats(_synthetic(2000, seed=seed)[0])
        new.append(E.stat_ratios(sf, sr, ref, halves))
        old.append({k: M.wasserstein1(sf[k], sr[k]) / ref[k] for k in E.W_STATS})
    for k in E.W_STATS:
        assert 0.8 < np.mean([r[k] for r in new]) < 1.2, (k, new)
        assert np.mean([r[k] for r in old]) < 0.8, (k, old)
    # the real rivers themselves in the model's place: exactly the yardstick
    assert all(v == pytest.approx(1.0) for v in E.stat_ratios(sr, sr, ref, halves).values())


def test_stat_ratios_where_real_halves_agree_exactly():
    stats = {k: np.zeros(10) for k in E.W_STATS}
    halves = E._halvings(10, 3, 0)
    ref = {k: 0.0 for k in E.W_STATS}
    assert E.stat_ratios(stats, stats, ref, halves) == {k: 1.0 for k in E.W_STATS}
    off = {k: np.ones(10) for k in E.W_STATS}
    assert all(math.isinf(v) for v in E.stat_ratios(off, stats, ref, halves).values())


# -- NLL: marginal next to conditional ----------------------------------------------------------
@pytest.fixture(scope="module")
def data():
    x, y = load_split("synthetic", "train", n_points=20)
    return x[:600], y[:600]


def test_models_that_ignore_y_are_not_compared_on_the_conditional_nll(data):
    x, y = data
    assert E.uses_condition(CoinFlip.fit(x, y), x, y) is False
    assert E.uses_condition(FergusonAR2.fit(x, y), x, y) is False
    assert E.uses_condition(SineCurve.fit(x, y, n_iter=20), x, y) is True
    assert E.uses_condition(_Stub(lambda yy: yy, y), x, y) is None


def test_marginal_nll_is_the_nll_for_a_model_that_ignores_y_and_worse_for_one_that_reads_it(
        data):
    x, y = data
    coin = CoinFlip.fit(x, y)
    from learned._contract import nll_per_angle
    assert E.marginal_nll(coin, x[:100], y, k=30) == pytest.approx(
        nll_per_angle(coin, x[:100], y[:100]), abs=1e-6)
    sine = SineCurve.fit(x, y, n_iter=20)
    # y holds the sinuosity read from the very angles scored: conditioning on it helps
    assert E.marginal_nll(sine, x[:100], y, k=30) > nll_per_angle(sine, x[:100], y[:100]) + 0.01


def test_marginal_nll_of_a_vae_is_finite_and_above_its_conditional_estimate(data):
    x, y = data
    cfg = model_config("vae", x.shape[1], {"hidden": 16, "latent": 2, "decoder_hidden": 8,
                                            "n_mix": 2})
    vae = build_model("vae", cfg, seed=0)
    vae.fit_data(x, y, generator=torch.Generator().manual_seed(0))
    m = E.marginal_nll(vae, x[:20], y, k=10, k_z=2)
    assert math.isfinite(m)
    assert E.marginal_nll(_Stub(lambda yy: yy, y), x, y) is None


# -- control grid and sinuosity MAE -------------------------------------------------------------
def _exact_sinuosity_stub(n_turns=18):
    """A stub whose rivers are sine-generated curves (two wavelengths) with exactly the
    requested sinuosity: the amplitude is read off a fine table of the realised sinuosity
    of the discretised curve."""
    from procgen import paths

    def curves(omega):
        u = (np.arange(4001) + 0.5) / 4001 * 4 * np.pi
        theta = np.asarray(omega, np.float64)[:, None] * np.sin(u)
        pos = np.zeros((len(theta), 4002, 2))
        pos[:, 1:, 0], pos[:, 1:, 1] = np.cumsum(np.cos(theta), 1), np.cumsum(np.sin(theta), 1)
        return paths.turning_angles(paths.resample(pos, n_turns + 2))

    grid = np.linspace(0.0, 2.2, 400)
    table = M.realised_sinuosity(curves(grid))
    assert np.all(np.diff(table) > 0)                  # invertible

    def draw(yy):
        s = decode_y(torch.as_tensor(yy))["sinuosity"].numpy()
        return curves(np.interp(s, table, grid))

    return _Stub(draw, np.zeros((1, 2)))


def test_control_grid_reports_realised_sinuosity_per_cell():
    g = E.control_grid(_exact_sinuosity_stub(), n=5, targets=(1.1, 1.6, 2.5),
                       lengths=(60.0, 600.0))
    assert np.shape(g["median"]) == (2, 3) and g["lengths"] == [60.0, 600.0]
    assert np.allclose(g["median"], [[1.1, 1.6, 2.5]] * 2, atol=0.01)
    assert np.max(g["abs_error"]) < 0.01
    coin = E.control_grid(CoinFlip(20, kappa=50.0), n=50)       # ignores what is asked
    assert np.shape(coin["abs_error"]) == (3, 6) and np.max(coin["abs_error"]) > 0.5


def test_sinuosity_mae_is_zero_for_a_model_that_follows_the_request_and_not_otherwise():
    x, y = _synthetic(120, seed=51)
    train = torch.from_numpy(_synthetic(200, seed=52)[0])
    ref = E.reference_row(x, train, protocol=NO_C2ST)
    exact = E.evaluate_model(_echo(x, y), torch.from_numpy(x), torch.from_numpy(y), train, ref,
                             protocol=NO_C2ST)
    assert exact["sinuosity_mae"] < 1e-5
    shuffled = _Stub(lambda yy: x[np.random.default_rng(0).integers(0, len(x), len(yy))], y)
    wrong = E.evaluate_model(shuffled, torch.from_numpy(x), torch.from_numpy(y), train, ref,
                             protocol=NO_C2ST)
    assert wrong["sinuosity_mae"] > 0.1


# -- the rows and the tables --------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_run():
    """The reference row and two model rows of 150 synthetic rivers, quick protocol."""
    x, y = _synthetic(150, seed=61)
    x_tr, y_tr = _synthetic(600, seed=62)
    test = np.arange(150) >= 100
    # the two fast views (the command's test below runs all four)
    p = dataclasses.replace(E.Protocol.quick(), repeats={"boost": 1, "knn": 1}, n_boot=100,
                            control_n=10, marginal_k=10)
    seen = []
    ref = E.reference_row(x, x_tr, y_real=y, test=test, protocol=p, stage=seen.append)
    assert tuple(seen) == E.REFERENCE_STAGES
    args = (torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(x_tr), ref)
    seen.clear()
    coin = E.evaluate_model(CoinFlip.fit(torch.from_numpy(x_tr).float(), torch.from_numpy(y_tr)),
                            *args, test=test, y_train=torch.from_numpy(y_tr), protocol=p,
                            stage=seen.append)
    assert tuple(seen) == E.MODEL_STAGES
    copies = np.concatenate([x_tr[:, 1:], x_tr[:, -1:]], 1)[:150]       # moved copies
    copier = E.evaluate_model(_Stub(lambda yy: copies[np.arange(len(yy)) % 150], y_tr), *args,
                              test=test, protocol=p)
    return ref, {"coin_flip": coin, "copier": copier}


def test_reference_row_is_real_against_real(small_run):
    ref, _ = small_run
    assert set(ref["c2st"]["views"]) == {"boost", "knn"}
    best = ref["c2st"]["max"]
    assert best["accuracy"] == max(v["accuracy"] for v in ref["c2st"]["views"].values())
    assert 0.3 < best["accuracy"] < 0.7 and best["low"] <= best["accuracy"] <= best["high"]
    assert all(v > 0 for v in ref["ref_w"].values()) and ref["self_intersection"] == 0.0
    assert 0.6 < ref["memorisation"] < 1.6


def test_evaluate_model_row(small_run):
    _, rows = small_run
    coin, copier = rows["coin_flip"], rows["copier"]
    assert coin["conditional"] is False and coin["nll"] == pytest.approx(coin["nll_marginal"])
    assert coin["c2st"]["max"]["accuracy"] > 0.85 and coin["c2st_gb"] > 0.85
    assert set(coin["c2st_length"]) == {"< 100 km", "100-300 km", ">= 300 km"}
    assert coin["w_ratio"]["sinuosity"] > 3 and coin["control_worst"] > 0.3
    assert np.shape(coin["control"]["median"]) == (3, 6)
    assert copier["memorisation"] < 0.35 and copier["nll"] is None
    assert copier["_fake"].shape == (8, 18)


def test_tables_show_both_nlls_every_view_and_the_mmd(small_run):
    ref, rows = small_run
    meta = {"source": "synthetic", "n_real": 150, "n_test": 50, "n_train": 600, "n_turns": 18,
            "threads": 1, "repeats": E.Protocol.quick().repeats}
    table = E.markdown_table(rows, ref, meta=meta)
    head = [c.strip() for c in next(r for r in table.splitlines()
                                    if r.startswith("| model |")).split("|")[1:-1]]
    coin = [c.strip() for c in next(r for r in table.splitlines()
                                     if r.startswith("| coin_flip ")).split("|")[1:-1]]
    cell = dict(zip(head, coin))
    assert cell["test NLL, own y"] == "n/a"                   # it ignores y
    assert cell["test NLL, y drawn"] == f"{rows['coin_flip']['nll_marginal']:.4f}"
    assert cell["vs best baseline"] == "+0.0000"              # the only baseline here
    assert cell["MMD²"] == f"{rows['coin_flip']['mmd2']:.4f}"
    assert cell["C2ST max [95 % CI] view"].startswith(
        f"{rows['coin_flip']['c2st']['max']['accuracy']:.3f} [")
    for v in E.C2ST_VIEWS.values():
        assert f"C2ST {v}" in head
    lengths = E.length_table(rows, ref)
    assert "< 100 km" in lengths and "real vs real (halves of each bin)" in lengths
    control = E.control_table(rows)
    assert control.count("| coin_flip |") == 3 and "| 2.5 |" in control


def test_the_command_prints_the_tables_and_the_control_grid(tmp_path, capsys):
    E.main(["--data", "synthetic", "--n-points", "20", "--models", "coin_flip",
            "--max-per-split", "20", "--out", str(tmp_path), "--quick", "--no-progress"])
    out = capsys.readouterr().out
    assert "| coin_flip | n/a |" in out and "Conditional C2ST per length bin" in out
    assert "Control: median realised sinuosity" in out
    text = (tmp_path / "evaluation.md").read_text()
    assert "Control: median realised sinuosity" in text
    import json
    saved = json.loads((tmp_path / "evaluation.json").read_text())
    assert saved["meta"]["n_real"] == 60 and saved["meta"]["quick"] is True
    assert "control" in saved["models"]["coin_flip"]


# -- doctests run -------------------------------------------------------------------------------
def test_rows_evaluated_on_other_threads_are_named_once_however_often_rows_are_kept():
    meta = {"threads": 2}
    base, of = E._merged_threads(meta, ["vae"], 1)
    assert (base, of) == (2, {"vae": 1})
    base, of = E._merged_threads({"threads": base, "threads_of": of}, ["ar", "ebm"], 1)
    assert (base, of) == (2, {"ar": 1, "ebm": 1, "vae": 1})
    assert E._threads_text({"threads": base, "threads_of": of}) == "2 (ar, ebm, vae: 1)"
    # a row re-run on the kept run's threads is no longer an exception
    base, of = E._merged_threads({"threads": base, "threads_of": of}, ["vae"], 2)
    assert of == {"ar": 1, "ebm": 1}
    assert E._threads_text({"threads": 2, "threads_of": {"ar": 1, "gan": 4}}) == \
        "2 (ar: 1; gan: 4)"
    assert E._threads_text({"threads": 2}) == "2"
    # older files wrote the note into the count itself
    assert E._merged_threads({"threads": "2 (vae: 1)"}, ["ar"], 1) == (2, {"ar": 1})


def test_critic_page_says_what_it_measures_before_its_table():
    rows = {"ar": {"c2st_gb": (0.52, 0.51), "c2st_cnn": (0.53, 0.5), "samples_per_s": (
        4547.0, 1315.0)}}
    text = E.critic_table(rows, candidates=4, temperature=1.0, refine_steps=0)
    assert text.startswith("# Energy as a critic of the other families\n\nWritten by "
                           "`learned.evaluate --critic 4`")
    assert text.splitlines()[-1] == "| ar | 0.520 | 0.510 | 0.530 | 0.500 | 4,547 | 1,315 |"


def test_doctests_of_the_learned_layer_are_collected():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    opts = cfg["tool:pytest"]
    assert "learned" in opts["testpaths"].split()
    assert "--doctest-modules" in opts["addopts"].split()
