"""Learned rivers II: the VAE, the GAN and the flow-matching (diffusion) model.

Interface conformance runs for them in test_models.py (it loops over every registered
model); here: what is particular to each family, how they override the training loop's
contract (``learned._contract``), resume after a kill with the GAN's own training step, the evaluation's honesty about likelihoods, and the
downhill invariant in Levels.
"""

import csv
import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from learned import _metrics as M  # noqa: E402
from learned import pretrained  # noqa: E402
from learned.models import ARModel, DiffusionModel, GANModel, VAEModel  # noqa: E402
from learned.models.gan import path_channels, sinuosity_of  # noqa: E402
from learned.train import TrainConfig, build_model, load_split, model_config, train  # noqa

ROOT = Path(__file__).resolve().parent.parent
TINY = {"vae": {"hidden": 16, "latent": 4, "decoder_hidden": 16, "n_mix": 3},
        "gan": {"hidden": 16, "latent": 8, "channels": 8, "critic_channels": 8},
        "diffusion": {"channels": 16, "n_blocks": 2, "emb": 16, "sample_steps": 3}}
NEW = sorted(TINY)


@pytest.fixture(scope="module")
def data():
    return load_split("synthetic", "val", n_points=20)


def make(name, data, **overrides):
    x, y = data
    cfg = model_config(name, x.shape[1], {**TINY[name], **overrides})
    return build_model(name, cfg, seed=0).fit_data(x, y, generator=torch.Generator()
                                                   .manual_seed(0))


def gen(seed):
    return torch.Generator().manual_seed(seed)


# -- all three -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NEW)
def test_no_exact_likelihood_and_honest_hooks(name, data):
    model = make(name, data)
    # none of the three claims an exact likelihood; the VAE declares an estimate
    assert model.likelihood == ("estimate" if name == "vae" else None)
    assert hasattr(model, "log_prob_estimate") == (name == "vae")
    with pytest.raises(NotImplementedError, match="no exact likelihood"):
        model.log_prob(*data)
    x, y = data
    score = model.validation_score(x[:64], y[:64])
    assert math.isfinite(score)
    assert model.validation_score(x[:64], y[:64]) == score      # fixed noise: repeatable
    assert model.validation_name != "nll"


@pytest.mark.parametrize("name", NEW)
def test_train_step_is_seeded_and_updates_weights(name, data):
    x, y = data
    a, b = make(name, data), make(name, data)
    before = {k: v.clone() for k, v in a.state_dict().items()}
    losses = []
    for model in (a, b):
        opt = (model.make_optimizer(lr=1e-3) if hasattr(model, "make_optimizer")
               else torch.optim.Adam(model.parameters(), lr=1e-3))
        for step in range(3):
            losses.append(model.train_step((x[:32], y[:32]), opt, generator=gen(step),
                                           grad_clip=5.0))
    assert all(math.isfinite(v) for v in losses) and losses[:3] == losses[3:]
    after = a.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    for k in after:                                     # same generators, same weights
        assert torch.equal(after[k], b.state_dict()[k]), k


@pytest.mark.parametrize("name", NEW)
def test_state_dict_round_trip(name, data):
    model = make(name, data).eval()
    other = type(model)(model.config)
    other.load_state_dict(model.state_dict())
    other.eval()
    assert torch.equal(model.sample(4, generator=gen(5)), other.sample(4, generator=gen(5)))


# -- VAE -----------------------------------------------------------------------------------------
def test_vae_decoder_is_the_autoregressive_density_it_samples(data):
    """log p(x | z, y) is the GRU decoder's exact autoregressive density, normalised over
    each angle; and z matters: the same noise decodes differently for another z."""
    model = make("vae", data).double().eval()
    x, y = data[0][:3].double(), data[1][:3].double()
    z = torch.randn(3, 4, generator=gen(0), dtype=torch.float64)
    # integrate the density of the first two angles (a 2-angle decoder with the same
    # weights: positions enter as t / D, so t = 0 is the same factor) over a square wide
    # enough for the logistic tails of the untrained mixture
    span = 30 * float(model.x_scale)
    g1 = torch.linspace(-span, span, 601, dtype=torch.float64)
    grid = torch.cartesian_prod(g1, g1)                                   # (601^2, 2)
    two = ARModel(dataclasses.replace(model.decoder.config, n_turns=2)).double()
    two.load_state_dict(model.decoder.state_dict())
    for i in range(2):
        cond = torch.cat([z[i:i + 1], y[i:i + 1]], 1).expand(len(grid), -1)
        with torch.no_grad():
            dens = torch.exp(two.log_prob_given(grid, cond)).view(601, 601)
        mass = torch.trapezoid(torch.trapezoid(dens, g1), g1)
        assert abs(float(mass) - 1) < 2e-3, float(mass)
    assert torch.isfinite(model._log_lik(x, z, y)).all()
    a = model.decode(z, y, generator=gen(1))
    b = model.decode(z + 3.0, y, generator=gen(1))
    assert not torch.allclose(a, b)
    assert torch.equal(a, model.decode(z, y, generator=gen(1)))


def test_vae_iwae_is_at_least_the_elbo(data):
    x, y = data[0][:40], data[1][:40]
    model = make("vae", data).eval()
    # the importance-weighted estimate lies above the ELBO (Jensen), tightening in K
    elbo = torch.stack([model.elbo(x, y, generator=gen(s)) for s in range(20)]).mean(0)
    iw10 = torch.stack([model.log_prob_estimate(x, y, k=10, generator=gen(s))
                        for s in range(100, 110)]).mean(0)
    iw1000 = model.log_prob_estimate(x, y, k=1000, generator=gen(2))
    assert iw1000.mean() >= iw10.mean() - 0.05 >= elbo.mean() - 0.1
    assert iw1000.mean() > elbo.mean()
    with pytest.raises(ValueError, match="k must be >= 1"):
        model.log_prob_estimate(x, y, k=0)


def test_vae_sampling_prior_has_the_aggregate_posteriors_moments(data):
    x, y = data
    model = make("vae", data).eval()
    assert torch.equal(model.latent_chol, torch.eye(4))          # N(0, I) until fitted
    model.fit_latent_prior(x, y, batch_size=37)                  # moments over every batch
    # the twin: draw many codes from (1/N) sum_i q(z | x_i, y_i) and take their moments
    mu, log_s = model.encode(x, model.condition(len(x), y))
    g = gen(3)
    z = torch.cat([mu + torch.exp(log_s) * torch.randn(mu.shape, generator=g)
                   for _ in range(400)]).double()
    cov = model.latent_chol.double() @ model.latent_chol.double().T
    assert torch.allclose(model.latent_mean.double(), z.mean(0), atol=0.01)
    assert torch.allclose(cov, torch.cov(z.T, correction=0), atol=0.02)
    assert torch.equal(torch.triu(model.latent_chol, 1), torch.zeros(4, 4))
    # samples are decoded from that prior: z = mean + eps @ L^T, eps ~ N(0, I)
    n, cond = 5, model.condition(5, y[:5])
    g = gen(7)
    eps = torch.randn(n, 4, generator=g)
    want = model.decode(model.latent_mean + eps @ model.latent_chol.T, cond, generator=g)
    assert torch.equal(model._sample(n, cond, gen(7), 1.0), want)
    # the likelihood estimate scores the prior samples are drawn from
    mvn = torch.distributions.MultivariateNormal(model.latent_mean.double(),
                                                 scale_tril=model.latent_chol.double())
    zq = torch.randn(6, 4, generator=gen(9))
    assert torch.allclose(model._log_prior(zq).double(), mvn.log_prob(zq.double()), atol=1e-4)


def test_training_fits_the_vae_prior_and_the_runtime_samples_from_it(tmp_path):
    from learned import runtime
    cfg = TrainConfig(model="vae", data="synthetic", n_points=16, limit_train=96,
                      batch_size=32, max_epochs=1, model_config=TINY["vae"])
    train(cfg, out=tmp_path, work=tmp_path)
    state = torch.load(tmp_path / "vae.pt", weights_only=True)
    assert not torch.equal(state["latent_chol"], torch.eye(4))
    rt = runtime.load("vae", root=tmp_path)
    assert np.allclose(rt.latent_chol_t.T, state["latent_chol"].numpy())
    assert np.allclose(rt.latent_mean, state["latent_mean"].numpy())


def test_vae_interpolation_endpoints_are_reconstructions(data):
    x, y = data
    model = make("vae", data).eval()
    path = model.interpolate(x[0], y[0], x[1], y[1], steps=6)
    assert path.shape == (6, x.shape[1]) and torch.isfinite(path).all()
    rec = model.reconstruct(x[:2], y[:2])                 # same default generator seed
    assert torch.allclose(path[0], rec[0], atol=1e-5)
    assert torch.allclose(path[-1], rec[1], atol=1e-5)
    assert torch.equal(path, model.interpolate(x[0], y[0], x[1], y[1], steps=6))
    with pytest.raises(ValueError, match="steps must be >= 2"):
        model.interpolate(x[0], y[0], x[1], y[1], steps=1)


# -- GAN -----------------------------------------------------------------------------------------
def test_gan_path_features_match_the_metrics(data):
    x = data[0][:50]
    assert np.allclose(sinuosity_of(x.double()).numpy(), M.realised_sinuosity(x.numpy()),
                       rtol=1e-6)
    ch = path_channels(x.double())                                  # canonical frame
    assert ch.shape == (50, 4, x.shape[1] + 1)
    assert torch.allclose(ch[:, 2:, -1], torch.tensor([1.0, 0.0], dtype=torch.float64)
                          .expand(50, 2), atol=1e-9)


def test_gan_optimizer_scales_the_critic_rate(data):
    model = make("gan", data, critic_lr_scale=3.0)
    opt = model.make_optimizer(lr=1e-3)
    assert [g["lr_scale"] for g in opt.param_groups] == [1.0, 3.0]


# -- diffusion -----------------------------------------------------------------------------------
def test_diffusion_sampler_steps_are_configurable(data, monkeypatch):
    model = make("diffusion", data).eval()
    calls = []
    real = model.velocity
    monkeypatch.setattr(model, "velocity", lambda *a, **k: calls.append(1) or real(*a, **k))
    model.sample(4, generator=gen(0))
    assert len(calls) == 2 * model.config.sample_steps               # Heun: 2 per step
    calls.clear()
    s1 = model.sample(4, generator=gen(0), steps=1)
    assert len(calls) == 2
    s8 = model.sample(4, generator=gen(0), steps=8)
    assert s1.shape == s8.shape and not torch.equal(s1, s8)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        model.sample(2, steps=0)
    euler = make("diffusion", data, solver="euler", guidance=1.0).eval()
    calls = []
    real_e = euler.velocity
    monkeypatch.setattr(euler, "velocity", lambda *a, **k: calls.append(1) or real_e(*a, **k))
    euler.sample(3, generator=gen(0), steps=5)
    assert len(calls) == 10                                 # guidance: 2 per Euler step
    with pytest.raises(ValueError, match="solver must be"):
        make("diffusion", data, solver="rk45")


# -- the loop, the card and the table ------------------------------------------------------------
def test_train_card_and_log_name_the_score_honestly(tmp_path):
    cfg = TrainConfig(model="vae", data="synthetic", n_points=16, limit_train=96,
                      batch_size=32, max_epochs=2, model_config=TINY["vae"])
    card = train(cfg, out=tmp_path, work=tmp_path)
    m = card["metrics"]
    assert "val_neg_elbo" in m and "val_nll_per_angle" not in m
    assert math.isfinite(m["test_nll_per_angle_estimate"]) and "IWAE" in m[
        "nll_estimate_method"]
    with open(tmp_path / "vae.csv") as f:
        assert set(next(csv.DictReader(f))) >= {"val_neg_elbo", "best_val_neg_elbo"}
    cfg = dataclasses.replace(cfg, model="gan", model_config=TINY["gan"], max_epochs=1)
    m = train(cfg, out=tmp_path, work=tmp_path)["metrics"]
    assert m["test_nll_per_angle"] is None and "val_feature_w1" in m


def test_table_marks_estimates_and_shows_a_dash_without_likelihood():
    from learned import evaluate as E
    row = {"c2st_gb": 0.6, "c2st_cnn": 0.6, "mmd2": 0.001, "sinuosity_mae": 0.05,
           "memorisation": 1.0, "samples_per_s": 1000.0,
           "w_ratio": {k: 1.0 for k in E.W_STATS}, "self_intersection": 0.01}
    rows = {"vae": {**row, "nll": 0.4321, "nll_kind": "estimate"},
            "gan": {**row, "nll": None, "nll_kind": None}}
    ref = {"c2st_gb": 0.5, "c2st_cnn": 0.5, "mmd2": 0.0, "memorisation": 1.0,
           "self_intersection": 0.0}
    table = E.markdown_table(rows, ref, meta={"source": "synthetic", "n_test": 1,
                                              "n_train": 1, "n_turns": 1, "threads": 1})
    vae_line = next(r for r in table.splitlines() if r.startswith("| vae "))
    gan_line = next(r for r in table.splitlines() if r.startswith("| gan "))
    assert "≈0.4321" in vae_line
    assert gan_line.split(" | ")[1] == "—"
    head = table.splitlines()[2].split(" | ")
    assert "self-intersecting" in head and "W self_intersection" not in head
    assert vae_line.split(" | ")[head.index("self-intersecting")] == "0.010"


def _fast_classifiers(monkeypatch):
    """The two C2ST classifiers, the slow part of the protocol, as constants: these tests
    are about progress reporting, not the metrics."""
    monkeypatch.setattr(M, "cnn_c2st", lambda a, b, **kw: 0.5)
    monkeypatch.setattr(M, "c2st", lambda a, b, **kw: 0.5)


def test_evaluation_names_every_stage_as_it_starts(monkeypatch):
    from learned import evaluate as E
    from learned.baselines import CoinFlip

    _fast_classifiers(monkeypatch)
    x_tr, y_tr = load_split("synthetic", "train", n_points=20)
    x_te, y_te = (v[:30] for v in load_split("synthetic", "test", n_points=20))
    seen = []
    ref = E.reference_row(x_te.double().numpy(), x_tr.double().numpy(), stage=seen.append)
    assert tuple(seen) == E.REFERENCE_STAGES
    seen.clear()
    E.evaluate_model(CoinFlip.fit(x_tr, y_tr), x_te, y_te, x_tr, ref, stage=seen.append)
    assert tuple(seen) == E.MODEL_STAGES


def test_evaluate_shows_progress_on_stderr(tmp_path, monkeypatch, capsys):
    """`python -m learned.evaluate` runs for minutes: a bar on stderr names the running
    stage from the start to the end, and stdout keeps the per-model lines and the table."""
    from learned import evaluate as E

    _fast_classifiers(monkeypatch)
    E.main(["--data", "synthetic", "--n-points", "20", "--models", "coin_flip", "ar2_heading",
            "--max-test", "40", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    frames = [f.strip() for f in err.split("\r") if f.strip()]
    total = 2 + 2 * (1 + len(E.MODEL_STAGES)) + len(E.REFERENCE_STAGES)
    assert frames[0].startswith("evaluate loading the data") and f" 0/{total} " in frames[0]
    assert frames[-1].startswith("evaluate writing the table") and f" {total}/{total} " in \
        frames[-1]
    for stage in ("fitting ar2_heading", "real vs real: C2ST CNN", "coin_flip: NLL",
                  "ar2_heading: speed"):
        assert any(f.startswith(f"evaluate {stage}") for f in frames), stage
    assert err.endswith("\n") and "|" not in err
    lines = out.splitlines()
    assert lines[0].startswith("coin_flip: NLL ") and lines[1].startswith("ar2_heading: NLL ")
    assert any(line.startswith("| coin_flip |") for line in lines)
    assert (tmp_path / "evaluation.md").exists()

    E.main(["--data", "synthetic", "--n-points", "20", "--models", "coin_flip",
            "--max-test", "40", "--out", str(tmp_path), "--no-progress"])
    assert capsys.readouterr().err == ""
    # flushing denormals is process-wide: the command turns it off again when done
    tiny = torch.tensor(1e-310, dtype=torch.float64)
    assert (tiny * 0.5).item() > 0
    with pytest.raises(SystemExit):
        E.main(["--models", "coin_flop", "--out", str(tmp_path)])
    assert "--models: no model 'coin_flop'; available: " in capsys.readouterr().err


@pytest.mark.slow
def test_gan_resume_after_kill_is_bit_for_bit(tmp_path):
    tiny = ["--data", "synthetic", "--n-points", "20", "--limit-train", "256", "--batch-size",
            "32", "--max-epochs", "4", "--patience", "100", "--threads", "1", "--no-progress",
            *sum((["--set", f"{k}={json.dumps(v)}"] for k, v in TINY["gan"].items()), []),
            "--mirror", "--ema", "0.9", "--set", "resample=3", "--set", "ratio_epochs=2"]
    cmd = lambda work, *extra: [sys.executable, "-m", "learned.train", "gan", "--work",  # noqa
                                str(work), *tiny, *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ref, cut = tmp_path / "ref", tmp_path / "cut"
    subprocess.run(cmd(ref, "--checkpoint-every-steps", "5"), cwd=ROOT, env=env, check=True,
                   capture_output=True)
    proc = subprocess.Popen(cmd(cut, "--checkpoint-every-steps", "5"), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = cut / "gan.ckpt"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if ckpt.exists() and torch.load(ckpt, weights_only=False)["state"]["global_step"] >= 12:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = torch.load(ckpt, weights_only=True)["state"]
    assert not state["done"], "the run finished before it could be killed"
    subprocess.run(cmd(cut, "--checkpoint-every-steps", "5", "--resume"), cwd=ROOT, env=env,
                   check=True, capture_output=True)
    from .test_train import assert_same_run
    assert_same_run(ref, cut, "gan")


# -- in Levels -----------------------------------------------------------------------------------
@pytest.fixture
def tiny_root(tmp_path, monkeypatch):
    """learned.pretrained pointed at a folder of small untrained VAE, GAN and diffusion."""
    x, y = load_split("synthetic", "val", n_points=16)
    for name in NEW:
        cfg = model_config(name, x.shape[1], TINY[name])
        model = build_model(name, cfg, seed=0).fit_data(x, y)
        torch.save(model.state_dict(), tmp_path / f"{name}.pt")
        (tmp_path / f"{name}.json").write_text(json.dumps(
            {"name": name, "config": dataclasses.asdict(cfg)}))
    monkeypatch.setattr(pretrained, "ROOT", tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", NEW)
def test_downhill_in_levels(tiny_root, name):
    from procgen import generate_level
    from .test_rivers import assert_rivers_flow_downhill
    assert name in pretrained.available()
    level = generate_level(seed=1, shape=(96, 128), cell_size=2500.0, preset="continent",
                           rivers=f"learned:{name}")
    assert level.rivers and all(r.generator == f"learned:{name}" for r in level.rivers)
    assert_rivers_flow_downhill(level)
    again = generate_level(seed=1, shape=(96, 128), cell_size=2500.0, preset="continent",
                           rivers=f"learned:{name}")
    assert all(np.array_equal(a.path, b.path) for a, b in zip(again.rivers, level.rivers))
