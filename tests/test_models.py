"""Every registered river model honours the interface; the flow is invertible with the
right log-determinant; the spline is monotone with identity tails."""

import math

import pytest

torch = pytest.importorskip("torch")

from learned.models import (LEARNED, LIKELIHOODS, MODELS, FlowModel, RiverContract,  # noqa: E402
                            encode_y)
from learned.models.flow import rq_spline  # noqa: E402
from learned.train import build_model, load_split, model_config  # noqa: E402

SMALL = {"flow": {"hidden": 32, "n_layers": 4, "bins": 5},
         "ar": {"hidden": 32, "n_layers": 1, "n_mix": 3},
         "vae": {"hidden": 32, "latent": 4, "decoder_hidden": 16, "n_mix": 3},
         "gan": {"hidden": 32, "latent": 8, "channels": 8, "critic_channels": 8},
         "diffusion": {"channels": 16, "n_blocks": 2, "emb": 16, "sample_steps": 4},
         "ebm": {"base": "ar2_heading", "channels": 4, "hidden": 16, "n_negatives": 64}}


@pytest.fixture(scope="module")
def data():
    x, y = load_split("synthetic", "val", n_points=20)
    return x, y


def make(name, data):
    x, y = data
    cls = MODELS[name]
    if name in LEARNED:
        model = build_model(name, model_config(name, x.shape[1], SMALL.get(name)), seed=0)
        model.fit_data(x, y, generator=torch.Generator().manual_seed(0))
    else:   # hand-written baselines: fitted as their module says
        model = cls.fit(x, y)
    return model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_interface(name, data):
    x, y = data
    model = make(name, data)
    batch = (x[:16], y[:16])
    loss = model.loss(batch)
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert model.likelihood in LIKELIHOODS
    if model.likelihood == "exact":          # VAE, GAN, diffusion: no exact likelihood
        lp = model.log_prob(x[:16], y[:16])
        assert lp.shape == (16,) and torch.isfinite(lp).all()
    else:
        with pytest.raises(NotImplementedError, match="no exact likelihood"):
            model.log_prob(x[:16], y[:16])
    s = model.sample(8, y[:8], generator=torch.Generator().manual_seed(1))
    assert s.shape == (8, x.shape[1]) and torch.isfinite(s).all()
    assert s.abs().max() <= math.pi + 1e-6
    s2 = model.sample(8, y[:8], generator=torch.Generator().manual_seed(1))
    assert torch.equal(s, s2)
    u = model.sample(5, generator=torch.Generator().manual_seed(2))        # y from the data
    assert u.shape == (5, x.shape[1])
    d = model.sample(3, {"sinuosity": 1.4, "length_km": 250.0},
                     generator=torch.Generator().manual_seed(3))
    assert d.shape == (3, x.shape[1])


@pytest.mark.parametrize("name", sorted(k for k in LEARNED            # the default step
                                        if LEARNED[k].train_step is RiverContract.train_step))
def test_loss_trains_and_backprops(name, data):
    x, y = data
    model = make(name, data)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = float(model.loss((x, y)).detach())
    for _ in range(15):
        opt.zero_grad()
        model.loss((x, y)).backward()
        opt.step()
    assert float(model.loss((x, y)).detach()) < first


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_keeps_the_contract(name, data):
    """What the loop and the evaluation read is declared, never probed: a likelihood among
    LIKELIHOODS, an optimizer, a training step that returns the batch loss, a score."""
    from learned._contract import likelihood_score
    x, y = data
    model = make(name, data)
    assert isinstance(model, RiverContract) and model.likelihood in LIKELIHOODS
    nll, kind = likelihood_score(model, x[:8], y[:8], k=2)
    assert kind == model.likelihood and (nll is None) == (kind is None)
    if name in LEARNED:
        opt = model.make_optimizer(lr=1e-3, weight_decay=0.0)
        model.train()
        loss = model.train_step((x[:16], y[:16]), opt, generator=torch.Generator()
                                .manual_seed(0), grad_clip=1.0)
        assert isinstance(loss, float) and math.isfinite(loss)
        model.eval()
        assert math.isfinite(float(model.validation_score(x[:32], y[:32])))


def test_an_undeclared_likelihood_is_refused(data):
    from learned._contract import likelihood_score
    model = make("ar", data)
    model.likelihood = "maybe"
    with pytest.raises(ValueError, match="likelihood must be one of .* got 'maybe'"):
        likelihood_score(model, *data)


def test_state_dict_round_trip_gives_same_samples(data):
    model = make("flow", data)
    other = FlowModel(model.config)
    other.load_state_dict(model.state_dict())
    g = lambda: torch.Generator().manual_seed(5)                          # noqa: E731
    assert torch.equal(model.sample(4, generator=g()), other.sample(4, generator=g()))


def test_ar_temperature_narrows_samples(data):
    model = make("ar", data)
    g = lambda: torch.Generator().manual_seed(5)                          # noqa: E731
    cold = model.sample(200, generator=g(), temperature=0.3)
    warm = model.sample(200, generator=g(), temperature=1.0)
    assert cold.std() < warm.std()
    with pytest.raises(ValueError, match="temperature must be > 0"):
        model.sample(2, temperature=0.0)


#: Every way a family scores rivers given y: exact log_prob, or the VAE's estimate and bound
#: (and its reconstruction, which encodes the rivers with their own y).
SCORES = [(name, "log_prob") for name in sorted(MODELS) if MODELS[name].likelihood == "exact"
          ] + [
    ("vae", "log_prob_estimate"), ("vae", "elbo"), ("vae", "reconstruct")]


def _score(model, method, x, y):
    fn = getattr(model, method)
    if method == "log_prob":
        return fn(x, y)
    return fn(x, y, generator=torch.Generator().manual_seed(0), **(
        {"k": 4} if method == "log_prob_estimate" else {}))


def test_every_family_with_a_likelihood_is_scored():
    families = {name for name, _ in SCORES}
    assert {"flow", "ar", "vae", "coin_flip", "ar2_heading", "sine_curve"} <= families
    assert not {"gan", "diffusion"} & families


@pytest.mark.parametrize("name, method", SCORES)
def test_scores_need_y_and_never_draw_it(name, method, data):
    """log p(x | y) for every family: y is required (also where the family ignores it),
    never drawn, so the same call gives the same number; a dict must give both keys."""
    x, y = data
    model = make(name, data).eval()
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'y'"):
        getattr(model, method)(x[:4])
    with pytest.raises(TypeError, match=rf"{method} needs y.*length.*got y=None"):
        _score(model, method, x[:4], None)
    with pytest.raises(ValueError, match=r"both 'sinuosity' and 'length_km'.*\['sinuosity'\]"):
        _score(model, method, x[:4], {"sinuosity": 1.4})
    given = {"sinuosity": 1.4, "length_km": 250.0}
    # a score that drew y from torch's global generator would differ between the two seeds
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(123)
        a = _score(model, method, x[:4], given)
        torch.manual_seed(321)
        b = _score(model, method, x[:4], given)
        encoded = _score(model, method, x[:4], encode_y(1.4, 250.0))
        own = _score(model, method, x[:4], y[:4])
    assert torch.equal(a, b)
    torch.testing.assert_close(a, encoded)
    assert a.shape == own.shape and torch.isfinite(own).all()


def test_condition_errors(data):
    model = make("flow", data)
    with pytest.raises(ValueError, match="y keys"):
        model.sample(2, {"wiggliness": 3.0})
    with pytest.raises(ValueError, match="y must have shape"):
        model.sample(2, torch.zeros(3, 2))


def _random_flow(d=6, *, jitter=0.3):
    cfg = FlowModel.Config(n_turns=d, hidden=16, n_layers=4, bins=5)
    model = build_model("flow", cfg, seed=0).double()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():     # away from the identity initialisation
            p.add_(jitter * torch.randn(p.shape, generator=g, dtype=p.dtype))
    model.fit_data(0.3 * torch.randn(200, d, generator=g, dtype=torch.float64),
                   torch.randn(200, 2, generator=g, dtype=torch.float64))
    return model, g


def test_flow_sample_inverse_forward_is_identity():
    model, g = _random_flow()
    y = torch.randn(32, 2, generator=g, dtype=torch.float64)
    z = torch.randn(32, 6, generator=g, dtype=torch.float64)
    x = model.inverse(z, y)
    z2, _ = model(x, y)
    assert torch.allclose(z2, z, atol=1e-7)
    x2 = model.inverse(model(x, y)[0], y)
    assert torch.allclose(x2, x, atol=1e-7)


def test_flow_logdet_matches_numerical_jacobian():
    model, g = _random_flow()
    y = torch.randn(3, 2, generator=g, dtype=torch.float64)
    x = model.inverse(torch.randn(3, 6, generator=g, dtype=torch.float64), y)
    _, logdet = model(x, y)
    for i in range(3):
        jac = torch.autograd.functional.jacobian(lambda v: model(v[None], y[i:i + 1])[0][0],
                                                 x[i])
        assert torch.allclose(torch.slogdet(jac)[1], logdet[i], atol=1e-8)


def test_flow_train_step_adds_the_sinuosity_term_of_its_samples():
    """The flow's training loss is NLL per angle + sinuosity_weight * the mean
    |log realised - log requested sinuosity| (capped at 1) of one sample per condition, from the
    step's generator (so a resumed run draws the same samples)."""
    from learned.models.base import sinuosity_error

    model, g = _random_flow()
    model.config.sinuosity_weight = 2.0
    x = 0.3 * torch.randn(16, 6, generator=g, dtype=torch.float64)
    y = torch.randn(16, 2, generator=g).double()       # conditions are float32 values
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    got = model.train_step((x, y), opt, generator=torch.Generator().manual_seed(4))
    z = torch.randn(x.shape, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    with torch.no_grad():
        err = sinuosity_error(model.inverse(z, y), y).clamp(max=1.0)
        want = model.loss((x, y)) + 2.0 * err.mean()
    assert got == pytest.approx(float(want), rel=1e-9)
    model.config.sinuosity_weight = 0.0
    with torch.no_grad():
        want = float(model.loss((x, y)))
    assert model.train_step((x, y), opt, generator=g) == pytest.approx(want, rel=1e-9)


def test_seqconv_is_a_padded_conv1d():
    from learned.models.flow import SeqConv

    conv = SeqConv(3, 4, kernel=3, dilation=4).double()
    ref = torch.nn.Conv1d(3, 4, 3, padding=4, dilation=4).double()
    with torch.no_grad():
        ref.weight.copy_(conv.weight.view(4, 3, 3).permute(0, 2, 1))
        ref.bias.copy_(conv.bias)
    x = torch.randn(2, 11, 3, dtype=torch.float64)
    assert torch.allclose(conv(x), ref(x.transpose(1, 2)).transpose(1, 2), atol=1e-12)
    with pytest.raises(ValueError, match="kernel must be odd"):
        SeqConv(3, 4, kernel=4)


@pytest.mark.slow
def test_flow_density_matches_its_sampler():
    """A 2-angle flow's density, integrated over a box, equals the fraction of its samples
    that land in the box (log_prob is the density of what inverse() draws)."""
    # A gentle perturbation: a strongly perturbed flow's density is a ridge too narrow for
    # any affordable grid.
    model, g = _random_flow(d=2, jitter=0.05)
    y = torch.zeros(1, 2, dtype=torch.float64)
    lim = 0.3
    grid = torch.linspace(-lim, lim, 301, dtype=torch.float64)
    xx, yy = torch.meshgrid(grid, grid, indexing="ij")
    pts = torch.stack([xx.ravel(), yy.ravel()], dim=1)
    with torch.no_grad():
        p = model.log_prob(pts, y.expand(len(pts), 2)).exp().reshape(301, 301)
        x = model.inverse(torch.randn(40_000, 2, generator=g, dtype=torch.float64),
                          y.expand(40_000, 2))
    mass = float(torch.trapezoid(torch.trapezoid(p, grid, dim=1), grid))
    inside = float((x.abs() <= lim).all(dim=1).double().mean())
    assert 0.3 < inside < 0.999                      # the box cuts the distribution
    assert abs(mass - inside) < 0.01


def test_spline_is_monotone_with_identity_tails():
    g = torch.Generator().manual_seed(0)
    k = 6
    x = torch.linspace(-5, 5, 1001, dtype=torch.float64)
    w, h, d = (torch.randn(k, generator=g, dtype=torch.float64).expand(1001, k),
               torch.randn(k, generator=g, dtype=torch.float64).expand(1001, k),
               torch.randn(k - 1, generator=g, dtype=torch.float64).expand(1001, k - 1))
    y, ld = rq_spline(x, w, h, d, bound=3.0)
    assert torch.all(torch.diff(y) > 0)
    outside = x.abs() > 3.0
    assert torch.equal(y[outside], x[outside]) and torch.all(ld[outside] == 0)
    back, ld_inv = rq_spline(y, w, h, d, bound=3.0, inverse=True)
    assert torch.allclose(back, x, atol=1e-10)
    assert torch.allclose(ld_inv, -ld, atol=1e-10)
    # the endpoints of the interval are fixed points (continuity with the tails)
    ends, _ = rq_spline(torch.tensor([-3.0, 3.0], dtype=torch.float64), w[:2], h[:2], d[:2],
                        bound=3.0)
    assert torch.allclose(ends, torch.tensor([-3.0, 3.0], dtype=torch.float64))


def test_evaluation_metrics_tell_coin_flips_from_meanders(data):
    """The two-sample classifiers find a coin-flip walker and not a second real sample;
    Wasserstein and MMD are ~0 for identical samples; memorisation tells unseen rivers from
    copies (tests/test_evaluate.py checks the protocol in depth)."""
    import numpy as np
    from learned import _metrics as M
    x = data[0].double().numpy()
    rng = np.random.default_rng(0)
    coin = rng.choice([-1.0, 1.0], size=x.shape) * np.abs(x).mean()
    a, b = x[:250], x[250:]
    assert M.c2st(M.features(a), M.features(coin[:250])) > 0.9
    assert abs(M.c2st(M.features(a), M.features(b)) - 0.5) < 0.06
    assert M.cnn_c2st(a, coin[:250], epochs=20) > 0.85
    assert M.wasserstein1(x[:, 0], x[:, 0]) == 0.0
    assert M.wasserstein1(a[:, 0], b[:, 0]) < M.wasserstein1(a[:, 0], coin[:250, 0])
    assert M.mmd2(a, b) < M.mmd2(a, coin[:250])
    # two disjoint sets of rivers against a third (not one set against itself, which is 1
    # whatever the metric does)
    train, _ = load_split("synthetic", "train", n_points=20)
    train = train[:1000].double().numpy()
    assert 0.8 < M.memorisation_ratio(a, b, train) < 1.25
    assert M.memorisation_ratio(train[:50], b, train) == 0.0      # copies of training rivers
    assert M.memorisation_ratio(-train[:50], b, train) == 0.0     # mirrored copies
