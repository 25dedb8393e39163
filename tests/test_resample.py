"""Importance resampling by a fitted density ratio (``learned.models._resample``), for each
family that has it: the pick against a naive loop, the fit, bad settings, and the runtime's
replay on small models (on the shipped ones: test_runtime.py)."""

import math

import pytest

torch = pytest.importorskip("torch")

from learned._contract import wrap_angle  # noqa: E402
from learned.models.base import match_sinuosity  # noqa: E402
from learned.train import build_model, model_config  # noqa: E402

from .test_vae_gan_diffusion import data, gen  # noqa: E402,F401 - the same fixture

TINY = {"gan": {"hidden": 16, "latent": 8, "channels": 8, "critic_channels": 8},
        "flow": {"hidden": 8, "n_layers": 2, "bins": 4, "ratio_channels": 8,
                 "ratio_hidden": 16}}
FAMILIES = sorted(TINY)


def make(name, data, **overrides):
    x, y = data
    cfg = model_config(name, x.shape[1], {**TINY[name], **overrides})
    return build_model(name, cfg, seed=0).fit_data(x, y, generator=gen(0))


@pytest.mark.parametrize("name", FAMILIES)
def test_resampling_keeps_one_candidate_by_the_ratio_as_a_naive_loop_does(name, data):
    x, y = data
    n, k = 40, 4
    model = make(name, data, resample=k).eval()
    with torch.no_grad():
        # not fitted yet (during training): plain draws
        plain = match_sinuosity(model._draw(n, y[:n], gen(3), 1.0), y[:n])
        assert torch.equal(model.sample(n, y[:n], generator=gen(3)), plain)
        model.ratio_fitted.fill_(1.0)
        model.RESAMPLE_CHUNK = 7                     # candidates scored in uneven chunks
        out = model.sample(n, y[:n], generator=gen(3), exact_sinuosity=False)
        g = gen(3)                                   # the same noise, replayed
        yk = y[:n].repeat_interleave(k, 0)
        raw = model._draw(n * k, yk, g, 1.0)
        u = torch.rand(n, generator=g)
        logit = model.ratio_logit(match_sinuosity(raw, yk), yk)
        assert model.sample(0, y[:0], generator=gen(3)).shape == (0, x.shape[1])
    for i in range(n):
        w = [math.exp(float(logit[i * k + j])) for j in range(k)]
        total, acc, pick = sum(w), 0.0, k - 1
        for j in range(k):
            acc += w[j] / total
            if float(u[i]) <= acc:
                pick = j
                break
        # sample wraps angles; the flow's inverse pass rounds alike only up to float32
        # where its batches differ (here 28 candidates a chunk against 160 at once)
        assert torch.allclose(out[i], wrap_angle(raw[i * k + pick]), rtol=0, atol=1e-6), i


@pytest.mark.parametrize("name", FAMILIES)
def test_ratio_fit_tells_rivers_from_samples_and_is_seeded(name, data):
    x, y = data
    fits = []
    for _ in range(2):
        model = make(name, data, resample=3, ratio_epochs=16)
        before = [p.clone() for p in model.ratio.parameters()]
        model.after_training(x, y)
        assert float(model.ratio_fitted) == 1.0
        assert any(not torch.equal(a, b) for a, b in zip(before, model.ratio.parameters()))
        fits.append(model.state_dict())
    assert all(torch.equal(fits[0][k], fits[1][k]) for k in fits[0])
    with torch.no_grad():               # an untrained model is easy to tell from rivers
        real = model.ratio_logit(x, y)
        fake = model.ratio_logit(match_sinuosity(model._draw(len(x), y, gen(5), 1.0), y), y)
    assert real.mean() > fake.mean() + 1.0
    assert ((real > 0).float().mean() + (fake < 0).float().mean()) / 2 > 0.65


@pytest.mark.parametrize("name", FAMILIES)
def test_bad_resampling_settings_are_refused_by_name(name, data):
    with pytest.raises(ValueError, match="resample must be >= 0.*got -1"):
        make(name, data, resample=-1)
    with pytest.raises(ValueError, match="ratio_epochs must be >= 1.*got 0"):
        make(name, data, resample=2, ratio_epochs=0)
    with pytest.raises(ValueError, match="ratio_lr must be > 0.*got 0"):
        make(name, data, resample=2, ratio_lr=0.0)
    with pytest.raises(ValueError, match="ratio_trees must be >= 0.*got -1"):
        make(name, data, resample=2, ratio_trees=-1)
    with pytest.raises(ValueError, match="ratio_tree_depth must be in 1..6.*got 0"):
        make(name, data, resample=2, ratio_trees=3, ratio_tree_depth=0)


@pytest.mark.parametrize("lr", [1e-3, 3e-4])
def test_the_ratio_is_fitted_at_its_configured_learning_rate(data, lr, monkeypatch):
    seen = []
    adam = torch.optim.Adam

    def spy(params, **kw):
        seen.append(kw["lr"])
        return adam(params, **kw)

    model = make("gan", data, resample=2, ratio_epochs=1, ratio_lr=lr)
    monkeypatch.setattr(torch.optim, "Adam", spy)
    model.after_training(*data)
    assert seen == [lr]


def test_without_resampling_a_model_has_no_ratio(data):
    # the shipped weights of a family without resampling keep loading: no new arrays
    model = make("flow", data)
    assert not any(k.startswith("ratio") for k in model.state_dict())


@pytest.mark.parametrize("trees", [0, 6])
@pytest.mark.parametrize("name", FAMILIES)
def test_the_runtime_resamples_as_torch_does(name, data, trees):
    import numpy as np

    from learned.export import to_runtime

    x, y = data
    model = make(name, data, resample=4, ratio_epochs=4, ratio_trees=trees,
                 ratio_tree_depth=3)
    model.after_training(x, y)
    assert bool(model.ratio_trees.leaf.any()) if trees else not hasattr(model, "ratio_trees")
    model.eval()
    rt = to_runtime(model)
    assert rt.resample == 4
    n = 24
    with torch.no_grad():
        ref = model.sample(n, y[:n], generator=gen(7), exact_sinuosity=False).numpy()
        logit = model.ratio_logit(x[:64], y[:64]).numpy()
    g = gen(7)                                       # the torch model's noise, replayed
    noise = {k: (torch.randn if kind == "normal" else torch.rand)(s, generator=g).numpy()
             for k, (kind, s) in rt.noise_shapes(n).items()}
    assert noise["pick"].shape == (n,) and noise["z"].shape[:2] == (n, 4)
    out = rt.sample_from_noise(y[:n].numpy(), noise)
    assert np.abs(out - ref).max() < 2e-5
    got = rt.ratio_logit(x[:64].numpy(), y[:64].numpy())
    assert np.abs(got - logit).max() < 1e-4 * max(1.0, np.abs(logit).max())


def test_the_minibatch_spread_feature_measures_how_alike_a_group_of_rivers_is():
    from learned.models._resample import PathClassifier

    net = PathClassifier(channels=4, hidden=8, y_dim=2, spectral=False, batch_std=True)
    h = torch.randn(8, 6, 5, generator=gen(0))
    h[4:] = h[4]                                     # the second group: one river four times
    spread = net._group_spread(h)
    assert spread.shape == (8, 1)
    assert torch.all(spread[:4] > 0.1) and torch.all(spread[4:] == 0)
    assert torch.equal(spread[:4], spread[:1].expand(4, 1))
    # a batch the group does not divide is one group
    odd = net._group_spread(h[:3])
    assert torch.allclose(odd, h[:3].std(0, unbiased=False).mean().expand(3, 1))


def test_a_critic_with_the_spread_feature_scores_a_collapsed_batch_apart(data):
    """The same river four times over against four different rivers: a critic without the
    feature scores each river alone, one with it sees that the group is alike."""
    x, y = data
    model = make("gan", data, critic_batch_std=True)
    plain = make("gan", data)
    u = x[:8] / model.x_scale
    same = u.clone()
    same[4:] = u[4]
    with torch.no_grad():
        for critic, sees_the_group in ((plain.critic.eval(), False),
                                       (model.critic.eval(), True)):
            a = critic(u, u * model.x_scale, y[:8])
            b = critic(same, same * model.x_scale, y[:8])
            # rows 0-4 are the same rivers in both batches
            assert torch.equal(a[:5], b[:5]) != sees_the_group
    # the density ratio scores rivers one by one: it never has the feature
    assert not make("gan", data, critic_batch_std=True, resample=2).ratio.batch_std


@pytest.mark.parametrize("mirror", [True, False])
def test_a_mirroring_family_fits_its_ratio_on_rivers_and_their_mirror_images(data, mirror):
    x, y = data
    model = make("gan", data, resample=2, ratio_epochs=1, mirror=mirror)
    seen = []
    logit = model._network_logit

    def spy(rivers, cond):
        seen.append(rivers.detach().clone())
        return logit(rivers, cond)

    model._network_logit = spy
    model.after_training(x, y)
    rows = {tuple(r.tolist()) for batch in seen for r in batch}
    real = {tuple(r.tolist()) for r in x}
    mirrored = {tuple((-r).tolist()) for r in x}
    assert real <= rows                              # every river, fitted or held out
    if mirror:
        assert mirrored <= rows
    else:
        assert not mirrored & rows


@pytest.mark.parametrize("name", FAMILIES)
def test_the_trees_correct_the_network_and_are_seeded(name, data):
    """Trees fitted from the network's logit lower the logistic loss of the fit's own
    rivers against fresh samples below the network's alone; and they are part of the
    logit that picks candidates."""
    import torch.nn.functional as F

    x, y = data
    fits = []
    for _ in range(2):
        model = make(name, data, resample=3, ratio_epochs=3, ratio_trees=20)
        model.after_training(x, y)
        fits.append(model.state_dict())
    assert all(torch.equal(fits[0][k], fits[1][k]) for k in fits[0])
    assert fits[0]["ratio_trees.threshold"].dtype == torch.float64
    with torch.no_grad():
        real, cond = x, y
        if getattr(model.config, "mirror", False):           # as the fit sees them
            real, cond = torch.cat([x, -x]), torch.cat([y, y])
        g = torch.Generator().manual_seed(3)       # the draws the trees were fitted on
        fake = match_sinuosity(model._draw(len(cond), cond, g, 1.0), cond)

        def loss(logit_of):
            both = torch.cat([logit_of(real, cond), logit_of(fake, cond)]).double()
            labels = torch.cat([torch.ones(len(real)), torch.zeros(len(fake))]).double()
            return F.binary_cross_entropy_with_logits(both, labels)

        network, both = loss(model._network_logit), loss(model.ratio_logit)
    assert both < network - 0.05
    assert torch.allclose(model.ratio_logit(x, y) - model._network_logit(x, y),
                          model.ratio_trees(x, y), atol=1e-6)


def test_the_runtime_refuses_trees_that_split_on_no_statistic(data):
    """A weights file whose trees name a statistic that does not exist (or a fraction of
    one) is refused when loaded, by the array's name, not read from the wrong column."""
    import dataclasses

    from learned import runtime
    from learned.export import runtime_arrays

    model = make("gan", data, resample=2, ratio_epochs=1, ratio_trees=3)
    model.after_training(*data)
    arrays = runtime_arrays(model, "gan")
    card = {"name": "gan", "config": dataclasses.asdict(model.config)}
    assert runtime.from_arrays(card, arrays).ratio_trees is not None
    for bad in (46.0, -1.0, 2.5):
        feature = arrays["ratio_trees.feature"].copy()
        feature[1, 0] = bad
        with pytest.raises(runtime.RuntimeFileError,
                           match=r"'ratio_trees.feature' must hold whole numbers in 0\.\.45"):
            runtime.from_arrays(card, {**arrays, "ratio_trees.feature": feature})
