"""Baselines with a likelihood: every log_prob normalises, fits recover known parameters,
samples are reproducible and round-trip through the encoders."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from learned import baselines as B  # noqa: E402
from learned import data as D  # noqa: E402

F64 = torch.float64
#: The mean condition, encoded: for models whose likelihood ignores y (it is still required).
Y0 = torch.zeros(1, 2)


@pytest.fixture(scope="module")
def rivers():
    """A few hundred training and test rivers (fast fits)."""
    tr, te = D.load_rivers("train"), D.load_rivers("test")
    x_tr = torch.from_numpy(np.array(tr.turns[::8]))
    y_tr = torch.from_numpy(tr.y[::8])
    x_te = torch.from_numpy(np.array(te.turns[::4]))
    y_te = torch.from_numpy(te.y[::4])
    return x_tr, y_tr, x_te, y_te


@pytest.fixture(scope="module")
def fitted(rivers):
    x, y, _, _ = rivers
    return {name: cls.fit(x, y) for name, cls in B.BASELINES.items()}


def _grid(lo, hi, n, d):
    axes = [torch.linspace(lo, hi, n, dtype=F64)] * d
    pts = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, d)
    return pts, ((hi - lo) / (n - 1)) ** d


def _trapezoid_weights(n, d):
    w = torch.ones(n, dtype=F64)
    w[0] = w[-1] = 0.5
    out = w
    for _ in range(d - 1):
        out = (out[:, None] * w[None, :]).reshape(-1)
    return out


# -- normalisation -----------------------------------------------------------------------------
def test_von_mises_integrates_to_one_on_the_circle():
    for mu, kappa in [(0.0, 0.5), (0.4, 8.0), (-2.0, 60.0)]:
        m = B.CoinFlip(1, mu=mu, kappa=kappa)
        x = torch.linspace(-math.pi, math.pi, 20001, dtype=F64)[:, None]
        with torch.no_grad():
            p = m.log_prob(x, Y0).exp()
        assert float(torch.trapezoid(p, x[:, 0])) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("on", ["heading", "turn"])
def test_ar2_density_integrates_to_one(on):
    m = B.FergusonAR2(2, phi=(0.9, -0.3), sigma=0.3, on=on)
    pts, cell = _grid(-4.0, 4.0, 401, 2)
    with torch.no_grad():
        p = m.log_prob(pts, Y0).exp()
    total = float((p * _trapezoid_weights(401, 2)).sum() * cell)
    assert total == pytest.approx(1.0, abs=1e-6)


def test_ar2_log_prob_matches_torch_multivariate_normal():
    m = B.FergusonAR2(7, phi=(1.2, -0.4), sigma=0.2)
    x = torch.randn(5, 7, generator=torch.Generator().manual_seed(0), dtype=F64)
    ref = torch.distributions.MultivariateNormal(torch.zeros(7, dtype=F64),
                                                 m.covariance().detach())
    with torch.no_grad():
        torch.testing.assert_close(m.log_prob(x, Y0), ref.log_prob(x))


def test_sine_curve_density_integrates_to_one_given_y():
    m = B.SineCurve(2, n_wavelengths=5, n_phases=4, sigma=0.25)
    with torch.no_grad():
        m.logits.copy_(torch.tensor([0.3, -1.0, 0.5, 0.0, 2.0], dtype=F64))
    m._set_bank(torch.from_numpy(D.encode_y({"sinuosity": [1.1, 1.6, 2.5],
                                             "length_km": [80.0, 300.0, 900.0]})))
    pts, cell = _grid(-5.0, 5.0, 401, 2)
    w = _trapezoid_weights(401, 2)
    for s, length in [(1.0, 50.0), (1.8, 200.0), (3.0, 900.0)]:
        y = D.encode_y({"sinuosity": s, "length_km": length})
        with torch.no_grad():
            given = float((m.log_prob(pts, torch.from_numpy(y)).exp() * w).sum() * cell)
        assert given == pytest.approx(1.0, abs=1e-6)


def test_sample_distribution_matches_log_prob_monte_carlo():
    """Monte Carlo: the mean log-density of samples equals -entropy computed on a grid, so the
    sampler draws from the density that log_prob evaluates (1-D von Mises)."""
    m = B.CoinFlip(1, mu=0.2, kappa=4.0)
    s = m.sample(200_000, generator=torch.Generator().manual_seed(0)).double()
    with torch.no_grad():
        mc = float(m.log_prob(s, Y0).mean())
        x = torch.linspace(-math.pi, math.pi, 20001, dtype=F64)[:, None]
        lp = m.log_prob(x, Y0)
        exact = float(torch.trapezoid(lp.exp() * lp, x[:, 0]))
    assert mc == pytest.approx(exact, abs=0.01)


# -- fits --------------------------------------------------------------------------------------
def test_von_mises_fit_solves_the_likelihood_equations():
    m0 = B.CoinFlip(1, mu=0.3, kappa=6.0)
    x = m0.sample(50_000, generator=torch.Generator().manual_seed(1)).double()
    m = B.CoinFlip.fit(x, None)          # y only fills the bank for y=None sampling
    r = float(torch.hypot(torch.cos(x).mean(), torch.sin(x).mean()))
    assert float(B._bessel_ratio(m.kappa.detach())) == pytest.approx(r, rel=1e-10)
    assert float(m.mu.detach()) == pytest.approx(0.3, abs=0.01)
    assert float(m.kappa.detach()) == pytest.approx(6.0, rel=0.03)


def test_ar2_heading_covariance_matches_a_simulated_heading():
    """Simulate Ferguson's recursion on the heading directly; its differences must have the
    covariance the model's likelihood uses."""
    phi1, phi2, sigma, d = 1.3, -0.5, 0.2, 6
    g = torch.Generator().manual_seed(2)
    n, burn = 100_000, 200
    e = sigma * torch.randn(n, burn + d + 1, generator=g, dtype=F64)
    th = torch.zeros(n, burn + d + 1, dtype=F64)
    for k in range(2, burn + d + 1):
        th[:, k] = phi1 * th[:, k - 1] + phi2 * th[:, k - 2] + e[:, k]
    a = torch.diff(th[:, burn:], dim=1)                                # (n, d)
    emp = a.T @ a / n
    model = B.FergusonAR2(d, phi=(phi1, phi2), sigma=sigma)
    torch.testing.assert_close(emp, model.covariance().detach(), atol=3e-3, rtol=0.03)
    (p1, p2), s = B.FergusonAR2.least_squares(th[:2000, burn:])
    assert (p1, p2, s) == pytest.approx((phi1, phi2, sigma), abs=0.03)


def test_ar2_mle_beats_least_squares_on_its_own_objective(rivers):
    x, y, _, _ = rivers
    ls = B.FergusonAR2.fit(x, y, method="ls")
    mle = B.FergusonAR2.fit(x, y)
    with torch.no_grad():
        assert float(mle.log_prob(x, y).sum()) >= float(ls.log_prob(x, y).sum())
    assert mle.fit_method == "mle" and ls.fit_method == "ls"
    with pytest.raises(ValueError, match="method must be"):
        B.FergusonAR2.fit(x, y, method="ml")
    with pytest.raises(ValueError, match="phi must be stationary"):
        B.FergusonAR2(4, phi=(1.5, 0.0))


def test_sine_curve_em_recovers_the_generating_wavelength():
    m0 = B.SineCurve(40, n_wavelengths=6, n_phases=8, sigma=0.05)
    with torch.no_grad():
        m0.logits.copy_(torch.tensor([-9, -9, 0.0, -9, -9, -9], dtype=F64))
    y = torch.from_numpy(D.encode_y({"sinuosity": np.full(400, 1.3), "length_km": 100.0}))
    x = m0.sample(400, y, generator=torch.Generator().manual_seed(3)).double()
    m = B.SineCurve.fit(x, y, n_wavelengths=6, n_phases=8)
    pw = torch.softmax(m.logits.detach(), 0)
    assert int(pw.argmax()) == 2 and float(pw[2]) > 0.95
    assert float(m.sigma.detach()) == pytest.approx(0.05, rel=0.05)
    with pytest.raises(ValueError, match="needs y"):
        B.SineCurve.fit(x, None)


def test_omega_inverts_the_bessel_relation():
    s = torch.tensor([1.0, 1.01, 1.3, 2.0, 5.0, 50.0], dtype=F64)
    om = B.omega_from_sinuosity(s)
    assert float(om[0]) == 0.0 and bool((om < B.J0_ZERO).all())
    torch.testing.assert_close(1.0 / torch.special.bessel_j0(om[1:]), s[1:], rtol=1e-9, atol=0)


def test_canonical_heading_measures_from_the_chord():
    x = torch.tensor([[0.4, -0.1, 0.3, -0.6]], dtype=F64)
    th = B.canonical_heading(x)
    torch.testing.assert_close(torch.diff(th, dim=1), x)
    xy = D.turns_to_xy(x.numpy())
    steps = np.diff(xy[0], axis=0)
    np.testing.assert_allclose(np.arctan2(steps[:, 1], steps[:, 0]), th[0].numpy(), atol=1e-12)


# -- the interface -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(B.BASELINES))
def test_interface_and_reproducible_samples(name, fitted, rivers):
    model = fitted[name]
    x, y, x_te, y_te = rivers
    lp = model.log_prob(x_te[:16], y_te[:16])
    assert lp.shape == (16,) and torch.isfinite(lp).all()
    loss = model.loss((x_te[:16], y_te[:16]))
    loss.backward()                                  # differentiable in its parameters
    assert any(p.grad is not None for p in model.parameters())
    g = lambda s: torch.Generator().manual_seed(s)   # noqa: E731
    s = model.sample(32, y_te[:32], generator=g(0))
    assert s.shape == (32, 62) and s.dtype == torch.float32
    assert bool((s.abs() <= math.pi).all())
    assert torch.equal(s, model.sample(32, y_te[:32], generator=g(0)))
    assert not torch.equal(s, model.sample(32, y_te[:32], generator=g(1)))
    assert model.sample(5, generator=g(2)).shape == (5, 62)
    assert model.sample(3, {"sinuosity": 1.4, "length_km": 250.0}, generator=g(3)).shape \
        == (3, 62)
    assert model.sample(3, {"sinuosity": [1.1, 1.4, 2.0]}, generator=g(3)).shape == (3, 62)
    with pytest.raises(ValueError, match="y keys"):
        model.sample(2, {"wiggliness": 3.0})

