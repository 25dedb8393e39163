"""Hand-written river models with an exact likelihood: the bottom rungs of the ladder.

Each baseline is a ``torch.nn.Module`` with the interface of every river model (DESIGN.md):
``loss(batch)``, ``sample(n, y=None, *, generator=None)`` -> ``(n, T-2)`` turning angles in
(-pi, pi], and ``log_prob(x, y)`` -> ``(B,)`` log-likelihood ``log p(x | y)`` of each river's
T-2 turning angles, in nats (y required, as for every model, even where the baseline ignores
it). Every baseline is fitted the same way, by maximum likelihood::

    model = cls.fit(x, y, **options)     # x (N, T-2) angles, y (N, 2) their encoded conditions

(y is required even where the likelihood ignores it: it is the bank that ``sample(n)`` draws
conditions from). The contract the loop and the evaluation read (``likelihood = 'exact'``)
is :class:`learned._contract.RiverContract`.

* :class:`CoinFlip` -- the coin-flip walker made continuous: i.i.d. von Mises turning angles.
  MLE in closed form (mean direction) plus a 1-D Newton solve (concentration).
* :class:`FergusonAR2` -- Ferguson's (1976) disturbed periodic model: an AR(2) process on the
  *heading* (direction relative to the valley, here the chord), observed through its
  differences, the turning angles. Gaussian; exact likelihood of all T-2 angles.
* :class:`SineCurve` -- Langbein & Leopold's (1966) sine-generated curve, amplitude omega set
  by the requested sinuosity through ``sinuosity = 1 / J0(omega)``, plus Gaussian noise;
  wavelength and phase marginalised over a grid (fitted by EM).

>>> import torch
>>> from learned.baselines import CoinFlip
>>> from learned.data import load_rivers
>>> train = load_rivers("train")
>>> model = CoinFlip.fit(torch.from_numpy(train.turns), torch.from_numpy(train.y))
>>> 5.0 < model.kappa.item() < 15.0
True
>>> model.sample(2, generator=torch.Generator().manual_seed(0)).shape
torch.Size([2, 62])
"""

from __future__ import annotations

import math

from ._torch import torch
from torch import nn

from . import _rivers as _data
from ._contract import RiverContract, wrap_angle
from ._progress import Progress

__all__ = ["CoinFlip", "FergusonAR2", "SineCurve", "BASELINES", "wrap_angle",
           "omega_from_sinuosity", "canonical_heading", "table", "format_table"]

#: First zero of the Bessel function J0: the sine-generated curve's omega -> this as the
#: sinuosity -> infinity.
J0_ZERO = 2.404825557695773
_LOG_2PI = math.log(2.0 * math.pi)


def omega_from_sinuosity(sinuosity) -> torch.Tensor:
    """The sine-generated curve's amplitude omega (radians) with ``1 / J0(omega) = sinuosity``.

    Langbein & Leopold (1966): over whole wavelengths, a curve whose heading is
    ``omega * sin(2 pi s / M)`` has arc length / chord = ``1 / J0(omega)``. Solved by
    bisection on [0, J0_ZERO); sinuosity <= 1 gives 0.

    >>> import torch
    >>> om = omega_from_sinuosity(torch.tensor([1.0, 1.5, 3.0]))
    >>> [round(v, 4) for v in om.tolist()]
    [0.0, 1.2089, 1.8114]
    >>> [round(v, 4) for v in (1 / torch.special.bessel_j0(om)).tolist()]
    [1.0, 1.5, 3.0]
    """
    s = torch.as_tensor(sinuosity, dtype=torch.float64).clamp_min(1.0)
    target = 1.0 / s                                     # J0(omega), in (0, 1]
    lo = torch.zeros_like(s)
    hi = torch.full_like(s, J0_ZERO)
    for _ in range(60):                                  # J0 decreases on [0, J0_ZERO]
        mid = 0.5 * (lo + hi)
        above = torch.special.bessel_j0(mid) > target
        lo = torch.where(above, mid, lo)
        hi = torch.where(above, hi, mid)
    return torch.where(s <= 1.0, torch.zeros_like(s), 0.5 * (lo + hi))


def canonical_heading(x: torch.Tensor) -> torch.Tensor:
    """Headings ``(B, D + 1)`` of the ``D + 1`` unit steps of each river, measured from its
    chord (start -> end), radians, not wrapped: ``theta_k = sum(x[:k]) - chord angle``.

    >>> import torch
    >>> canonical_heading(torch.tensor([[0.5, -0.5]], dtype=torch.float64)).tolist()
    [[-0.1650906703787418, 0.3349093296212582, -0.1650906703787418]]
    """
    x = torch.as_tensor(x, dtype=torch.float64)
    phi = torch.cat([torch.zeros_like(x[:, :1]), torch.cumsum(x, dim=1)], dim=1)
    chord = torch.atan2(torch.sin(phi).sum(dim=1), torch.cos(phi).sum(dim=1))
    return phi - chord[:, None]


# -- shared machinery --------------------------------------------------------------------------
class _Baseline(RiverContract):
    """Conditions, the training bank of y, the loss and the sampling wrapper."""

    name = "baseline"

    def __init__(self, n_turns: int):
        super().__init__()
        if isinstance(n_turns, bool) or not isinstance(n_turns, int) or n_turns < 1:
            raise ValueError(f"n_turns must be an integer >= 1, got {n_turns!r}")
        self.n_turns = n_turns

    def _set_bank(self, y):
        if y is None:
            return
        y = torch.as_tensor(y, dtype=torch.float32).reshape(-1, 2)
        if len(y) > self.Y_BANK:          # evenly spaced rows: deterministic, no generator
            y = y[torch.linspace(0, len(y) - 1, self.Y_BANK).round().long()]
        self.y_bank = y.clone()

    def _x(self, x) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float64)
        if x.ndim == 1:
            x = x[None]
        if x.ndim != 2 or x.shape[1] != self.n_turns:
            raise ValueError(f"x must have shape (B, {self.n_turns}), got {tuple(x.shape)}")
        return x

    def loss(self, batch) -> torch.Tensor:
        """Mean negative log-likelihood, nats per turning angle."""
        x, y = batch
        return -self.log_prob(x, y).mean() / self.n_turns

    @torch.no_grad()
    def sample(self, n: int, y=None, *, generator=None) -> torch.Tensor:
        """``(n, T-2)`` float32 turning angles in (-pi, pi]; reproducible with ``generator``."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be an integer >= 0, got {n!r}")
        cond = self.condition(n, y, generator=generator)
        return wrap_angle(self._sample(n, cond, generator)).float()

    def log_prob(self, x, y) -> torch.Tensor:          # (B,) nats per river
        """``log p(x | y)`` per river, ``(B,)`` nats; ``y`` is required by every model,
        also by those that ignore it (see :meth:`learned.models.RiverModel.log_prob`)."""
        raise NotImplementedError

    def _sample(self, n, cond, generator) -> torch.Tensor:
        raise NotImplementedError

    def describe(self) -> str:
        """The fitted parameters, for the stats table."""
        return ""


# -- the coin flip, fitted ---------------------------------------------------------------------
def _bessel_ratio(kappa: torch.Tensor) -> torch.Tensor:
    """A(kappa) = I1(kappa) / I0(kappa)."""
    return torch.special.i1e(kappa) / torch.special.i0e(kappa)


def _sample_von_mises(mu: float, kappa: float, n: int, generator) -> torch.Tensor:
    """Best & Fisher (1979) rejection sampler, drawing from ``generator`` only."""
    if kappa < 1e-6:
        return (torch.rand(n, generator=generator, dtype=torch.float64) * 2 - 1) * math.pi
    tau = 1.0 + math.sqrt(1.0 + 4.0 * kappa * kappa)
    rho = (tau - math.sqrt(2.0 * tau)) / (2.0 * kappa)
    r = (1.0 + rho * rho) / (2.0 * rho)
    out = torch.empty(n, dtype=torch.float64)
    todo = torch.arange(n)
    while len(todo):
        u = torch.rand(3, len(todo), generator=generator, dtype=torch.float64)
        z = torch.cos(math.pi * u[0])
        f = (1.0 + r * z) / (r + z)
        c = kappa * (r - f)
        ok = (c * (2.0 - c) - u[1] > 0) | (torch.log(c / u[1]) + 1.0 - c >= 0)
        theta = torch.sign(u[2] - 0.5) * torch.acos(f.clamp(-1.0, 1.0))
        out[todo[ok]] = theta[ok]
        todo = todo[~ok]
    return out + mu


class CoinFlip(_Baseline):
    """I.i.d. von Mises turning angles: the coin-flip walker with its turn learned.

    The hand-written walker turns left or right by a fixed angle with probability 1/2 each;
    made continuous, every turn is an independent draw from a von Mises distribution on the
    circle, ``p(a) = exp(kappa cos(a - mu)) / (2 pi I0(kappa))``, normalised with
    ``torch.special.i0e``. ``y`` is ignored (the program has no conditions), though
    :meth:`log_prob` requires it like every model's.

    Parameters
    ----------
    n_turns : int
        T - 2.
    mu, kappa : float, optional
        Mean turn (radians) and concentration (>= 0). Default 0 and 1.
    """

    name = "coin_flip"

    def __init__(self, n_turns: int, *, mu: float = 0.0, kappa: float = 1.0):
        super().__init__(n_turns)
        if not kappa >= 0:
            raise ValueError(f"kappa must be >= 0, got {kappa}")
        self.mu = nn.Parameter(torch.tensor(float(mu), dtype=torch.float64))
        self.log_kappa = nn.Parameter(torch.tensor(math.log(max(kappa, 1e-12)),
                                                   dtype=torch.float64))

    @property
    def kappa(self) -> torch.Tensor:
        return self.log_kappa.exp()

    @classmethod
    def fit(cls, x, y):
        """Maximum likelihood: ``mu`` = the circular mean (closed form); ``kappa`` solves
        ``I1(kappa) / I0(kappa) = R``, the mean resultant length (Newton's method from Best &
        Fisher's approximation)."""
        x = torch.as_tensor(x, dtype=torch.float64)
        c, s = torch.cos(x).mean(), torch.sin(x).mean()
        mu = float(torch.atan2(s, c))
        r = float(torch.hypot(c, s))
        r = min(max(r, 1e-12), 1.0 - 1e-12)
        if r < 0.53:                   # starting value: Best & Fisher (1981), see Fisher (1993)
            k = 2 * r + r ** 3 + 5 * r ** 5 / 6
        elif r < 0.85:
            k = -0.4 + 1.39 * r + 0.43 / (1 - r)
        else:
            k = 1 / (r ** 3 - 4 * r ** 2 + 3 * r)
        k = torch.tensor(k, dtype=torch.float64)
        for _ in range(100):
            a = _bessel_ratio(k)
            step = (a - r) / (1.0 - a / k - a * a)
            k = (k - step).clamp_min(k / 10)
            if abs(float(step)) < 1e-14 * float(k):
                break
        model = cls(x.shape[1], mu=mu, kappa=float(k))
        model._set_bank(y)
        return model

    def log_prob(self, x, y) -> torch.Tensor:
        x = self._x(x)
        self.scored_condition(x, y)    # unused here, but required as by every model
        k = self.kappa
        log_norm = _LOG_2PI + torch.log(torch.special.i0e(k)) + k     # log(2 pi I0(k))
        return (k * torch.cos(x - self.mu)).sum(dim=1) - self.n_turns * log_norm

    def _sample(self, n, cond, generator):
        a = _sample_von_mises(float(self.mu), float(self.kappa), n * self.n_turns, generator)
        return a.reshape(n, self.n_turns)

    @torch.no_grad()
    def describe(self) -> str:
        k = self.kappa.detach()
        sd = math.sqrt(-2 * math.log(float(_bessel_ratio(k))))
        return (f"mu={float(self.mu.detach()):+.4f} rad, kappa={float(k):.3f} "
                f"(circular sd {sd:.3f} rad)")


# -- Ferguson's disturbed periodic model -------------------------------------------------------
def _ar2_autocov(p: torch.Tensor, sigma: torch.Tensor, n_lags: int) -> torch.Tensor:
    """Autocovariance at lags 0..n_lags of a stationary AR(2) with partial autocorrelations
    ``p = (p1, p2)`` (phi1 = p1 (1 - p2), phi2 = p2) and innovation sd ``sigma``."""
    p1, p2 = p[0], p[1]
    phi1, phi2 = p1 * (1 - p2), p2
    g0 = sigma ** 2 / ((1 - p1 ** 2) * (1 - p2 ** 2))
    rho = [torch.ones_like(p1), p1]
    for _ in range(2, n_lags + 1):
        rho.append(phi1 * rho[-1] + phi2 * rho[-2])
    return g0 * torch.stack(rho[:n_lags + 1])


class FergusonAR2(_Baseline):
    """Ferguson's (1976) disturbed periodic model: AR(2) on the heading.

    The heading ``theta_k`` of step k, measured from the mean down-valley direction, is a
    stationary second-order autoregression, a randomly disturbed damped oscillator:
    ``theta_k = phi1 theta_{k-1} + phi2 theta_{k-2} + e_k``, ``e_k ~ N(0, sigma^2)``.
    Only its differences are observed: the turning angles ``a_k = theta_{k+1} - theta_k``.

    **Likelihood (exact).** With ``theta`` stationary Gaussian, the ``D = T - 2`` angles are
    jointly Gaussian, ``a ~ N(0, C)`` with the Toeplitz covariance
    ``C_ij = 2 g(|i-j|) - g(|i-j| - 1) - g(|i-j| + 1)`` (``g`` the heading's autocovariance).
    That is the exact density of all D angles given nothing else (the unknown valley
    direction drops out of the differences), so no angle is conditioned away. The density is
    on R^D; the mass it puts beyond +-pi is negligible for river-like parameters, and samples
    are wrapped into (-pi, pi]. ``y`` is ignored (but required by :meth:`log_prob`, as by
    every model's).

    With ``on='turn'`` the AR(2) is on the turning angles themselves instead (``a ~ N(0, C)``
    with ``C_ij = g(|i-j|)``): a comparison model, not Ferguson's.

    Parameters are kept stationary by construction: partial autocorrelations
    ``p1, p2 in (-1, 1)``, ``phi1 = p1 (1 - p2)``, ``phi2 = p2``.

    Parameters
    ----------
    n_turns : int
        T - 2.
    phi : (float, float), optional
        ``(phi1, phi2)``, inside the stationary triangle. Default (0, 0).
    sigma : float, optional
        Innovation standard deviation, radians. Default 0.1.
    on : {'heading', 'turn'}, optional
        What the AR(2) describes. Default 'heading' (Ferguson).
    """

    name = "ar2_heading"

    def __init__(self, n_turns: int, *, phi=(0.0, 0.0), sigma: float = 0.1,
                 on: str = "heading"):
        super().__init__(n_turns)
        if on not in ("heading", "turn"):
            raise ValueError(f"on must be 'heading' or 'turn', got {on!r}")
        # a buffer, so that a state_dict remembers what the AR(2) describes
        self.register_buffer("on_turn", torch.tensor(on == "turn"))
        phi1, phi2 = float(phi[0]), float(phi[1])
        if not (abs(phi2) < 1 and phi1 + phi2 < 1 and phi2 - phi1 < 1):
            raise ValueError(f"phi must be stationary (|phi2| < 1, phi1 + phi2 < 1, "
                             f"phi2 - phi1 < 1), got ({phi1:g}, {phi2:g})")
        p = torch.tensor([phi1 / (1 - phi2), phi2], dtype=torch.float64)
        self.p_raw = nn.Parameter(torch.atanh(p.clamp(-1 + 1e-9, 1 - 1e-9)))
        self.log_sigma = nn.Parameter(torch.tensor(math.log(sigma), dtype=torch.float64))
        self.fit_method = "none"

    # parameters -----------------------------------------------------------------------------
    @property
    def on(self) -> str:
        """'heading' (Ferguson) or 'turn'."""
        return "turn" if bool(self.on_turn) else "heading"

    @property
    def pacf(self) -> torch.Tensor:
        return torch.tanh(self.p_raw).clamp(-1 + 1e-9, 1 - 1e-9)

    @property
    def phi(self) -> torch.Tensor:
        p = self.pacf
        return torch.stack([p[0] * (1 - p[1]), p[1]])

    @property
    def sigma(self) -> torch.Tensor:
        return self.log_sigma.exp()

    def covariance(self) -> torch.Tensor:
        """The ``(D, D)`` covariance of the turning angles."""
        d = self.n_turns
        g = _ar2_autocov(self.pacf, self.sigma, d + 1)                 # lags 0..D+1
        if self.on == "heading":
            lag = torch.arange(d)
            c = 2 * g[lag] - g[(lag - 1).abs()] - g[lag + 1]
        else:
            c = g[:d]
        idx = torch.arange(d)
        return c[(idx[:, None] - idx[None, :]).abs()]

    # fitting --------------------------------------------------------------------------------
    @staticmethod
    def least_squares(series: torch.Tensor) -> tuple[tuple[float, float], float]:
        """Pooled AR(2) least squares (no intercept) over rows of ``series``: the Gaussian
        MLE conditional on each row's first two values. Returns ``((phi1, phi2), sigma)``."""
        s = torch.as_tensor(series, dtype=torch.float64)
        a = torch.stack([s[:, 1:-1].reshape(-1), s[:, :-2].reshape(-1)], dim=1)
        b = s[:, 2:].reshape(-1)
        phi = torch.linalg.solve(a.T @ a, a.T @ b)
        resid = b - a @ phi
        return (float(phi[0]), float(phi[1])), float(resid.pow(2).mean().sqrt())

    @classmethod
    def fit(cls, x, y, *, method: str = "mle", on: str = "heading"):
        """Fit by least squares (``method='ls'``) or by exact maximum likelihood
        (``'mle'``, the default).

        ``'ls'`` is Ferguson's estimate: least squares of the AR(2) on the heading series
        measured from each river's chord (its valley direction) -- the Gaussian MLE if those
        headings were observed, conditional on the first two. ``'mle'`` starts there and
        maximises the exact likelihood of the turning angles (:meth:`log_prob`) over
        ``(p1, p2, log sigma)`` with L-BFGS; the data enter only through their scatter matrix.
        """
        if method not in ("ls", "mle"):
            raise ValueError(f"method must be 'ls' or 'mle', got {method!r}")
        x = torch.as_tensor(x, dtype=torch.float64)
        series = canonical_heading(x) if on == "heading" else x
        (phi1, phi2), sigma = cls.least_squares(series)
        p1 = max(min(phi1 / (1 - phi2), 0.999), -0.999) if abs(1 - phi2) > 1e-9 else 0.0
        p2 = max(min(phi2, 0.999), -0.999)
        model = cls(x.shape[1], phi=(p1 * (1 - p2), p2), sigma=max(sigma, 1e-6), on=on)
        model.fit_method = "ls"
        model._set_bank(y)
        if method == "mle":
            model._maximise(x)
        return model

    def _maximise(self, x: torch.Tensor):
        scatter = x.T @ x / len(x)                                     # (D, D)
        params = [self.p_raw, self.log_sigma]
        opt = torch.optim.LBFGS(params, lr=1.0, max_iter=500, tolerance_grad=1e-12,
                                tolerance_change=1e-15, history_size=20,
                                line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            chol = torch.linalg.cholesky(self.covariance())
            inv_l = torch.linalg.solve_triangular(chol, scatter, upper=False)
            quad = torch.linalg.solve_triangular(chol, inv_l.T, upper=False).diagonal().sum()
            nll = 0.5 * quad + torch.log(chol.diagonal()).sum()
            nll.backward()
            return nll

        opt.step(closure)
        opt.zero_grad(set_to_none=True)
        self.fit_method = "mle"

    # interface ------------------------------------------------------------------------------
    def log_prob(self, x, y) -> torch.Tensor:
        x = self._x(x)
        self.scored_condition(x, y)    # unused here, but required as by every model
        chol = torch.linalg.cholesky(self.covariance())
        z = torch.linalg.solve_triangular(chol, x.T, upper=False)      # (D, B)
        return (-0.5 * z.pow(2).sum(dim=0) - torch.log(chol.diagonal()).sum()
                - 0.5 * self.n_turns * _LOG_2PI)

    def _sample(self, n, cond, generator):
        chol = torch.linalg.cholesky(self.covariance())
        z = torch.randn(n, self.n_turns, generator=generator, dtype=torch.float64)
        return z @ chol.T

    @torch.no_grad()
    def describe(self) -> str:
        phi1, phi2 = (float(v) for v in self.phi.detach())
        sigma = float(self.sigma.detach())
        text = f"on {self.on}: phi1={phi1:+.4f} phi2={phi2:+.4f} sigma={sigma:.4f}"
        disc = phi1 ** 2 + 4 * phi2
        if disc < 0:                                   # complex roots: a damped oscillation
            r = math.sqrt(-phi2)
            period = 2 * math.pi / math.acos(max(min(phi1 / (2 * r), 1.0), -1.0))
            text += f" (period {period:.1f} steps, damping {r:.3f})"
        return text + f" [{self.fit_method}]"


# -- the sine-generated curve ------------------------------------------------------------------
class SineCurve(_Baseline):
    """Noisy sine-generated curve (Langbein & Leopold 1966), amplitude set by sinuosity.

    The heading at step k is ``theta_k = omega sin(2 pi k / M + phase)`` with
    ``omega = J0^-1(1 / sinuosity)`` (:func:`omega_from_sinuosity`, the sinuosity taken from
    ``y``), so each turning angle is the sine curve's heading change plus independent noise:
    ``a_k = 2 omega sin(pi / M) cos(2 pi (k + 1/2) / M + phase) + e_k``,
    ``e_k ~ N(0, sigma^2)``.

    **Likelihood (exact).** The wavelength M (in steps) and the phase are latent and
    marginalised over a grid: M over ``n_wavelengths`` log-spaced values from 2.5 steps to
    4 D with fitted weights ``pi_M``, the phase over ``n_phases`` equally spaced values with
    equal weights. ``p(a | y)`` is then a finite mixture of Gaussians on R^D, normalised by
    construction; samples draw from the same grid. ``sigma`` and ``pi_M`` are fitted by EM
    (maximum likelihood).

    Parameters
    ----------
    n_turns : int
        T - 2.
    n_wavelengths, n_phases : int, optional
        Grid sizes. Default 24 and 16.
    sigma : float, optional
        Noise sd, radians. Default 0.1.
    """

    name = "sine_curve"

    def __init__(self, n_turns: int, *, n_wavelengths: int = 24, n_phases: int = 16,
                 sigma: float = 0.1):
        super().__init__(n_turns)
        m = torch.exp(torch.linspace(math.log(2.5), math.log(max(4.0 * n_turns, 5.0)),
                                     n_wavelengths, dtype=torch.float64))
        ph = torch.arange(n_phases, dtype=torch.float64) * (2 * math.pi / n_phases)
        k = torch.arange(n_turns, dtype=torch.float64) + 0.5
        # g[w, f, k]: the turn of a unit-amplitude curve of wavelength w and phase f at k
        g = (2 * torch.sin(math.pi / m)[:, None, None]
             * torch.cos(2 * math.pi * k[None, None, :] / m[:, None, None] + ph[None, :, None]))
        self.register_buffer("wavelengths", m)
        self.register_buffer("phases", ph)
        self.register_buffer("g", g.reshape(-1, n_turns))              # (C, D), C = W * P
        self.n_phases = n_phases
        self.logits = nn.Parameter(torch.zeros(n_wavelengths, dtype=torch.float64))
        self.log_sigma = nn.Parameter(torch.tensor(math.log(sigma), dtype=torch.float64))

    @property
    def sigma(self) -> torch.Tensor:
        return self.log_sigma.exp()

    def _log_weights(self) -> torch.Tensor:                            # (C,)
        lw = torch.log_softmax(self.logits, dim=0) - math.log(self.n_phases)
        return lw.repeat_interleave(self.n_phases)

    def _omega(self, y: torch.Tensor) -> torch.Tensor:
        return omega_from_sinuosity(_data.decode_y(torch.as_tensor(y))["sinuosity"])

    def _component_sq(self, x: torch.Tensor, omega: torch.Tensor) -> torch.Tensor:
        """``||x_b - omega_b g_c||^2``, (B, C)."""
        xg = x @ self.g.T                                              # (B, C)
        return ((x * x).sum(dim=1, keepdim=True) - 2 * omega[:, None] * xg
                + omega[:, None] ** 2 * (self.g * self.g).sum(dim=1)[None, :]).clamp_min(0)

    def _log_joint(self, x, omega):                                    # (B, C)
        s2 = self.sigma ** 2
        return (self._log_weights()[None, :] - self._component_sq(x, omega) / (2 * s2)
                - 0.5 * self.n_turns * (_LOG_2PI + torch.log(s2)))

    def log_prob(self, x, y) -> torch.Tensor:
        x = self._x(x)
        cond = self.scored_condition(x, y)
        return torch.logsumexp(self._log_joint(x, self._omega(cond)), dim=1)

    @classmethod
    def fit(cls, x, y, *, n_iter: int = 200, **kwargs):
        """EM for the wavelength weights and the noise (a maximum-likelihood fit):
        responsibilities of the (wavelength, phase) components per river, then
        ``pi_M`` = mean responsibility of each wavelength and ``sigma^2`` = the
        responsibility-weighted mean squared residual per angle."""
        if y is None:
            raise ValueError("SineCurve.fit needs y: omega is set by each river's sinuosity")
        x = torch.as_tensor(x, dtype=torch.float64)
        model = cls(x.shape[1], sigma=float(x.std()), **kwargs)
        model._set_bank(y)
        omega = model._omega(torch.as_tensor(y, dtype=torch.float32))
        sq = model._component_sq(x, omega)                             # (B, C) fixed
        n_w = len(model.wavelengths)
        with torch.no_grad():
            prev = -math.inf
            for _ in range(n_iter):
                lj = model._log_joint(x, omega)
                ll = torch.logsumexp(lj, dim=1, keepdim=True)
                r = torch.exp(lj - ll)                                  # (B, C)
                pw = r.reshape(len(x), n_w, model.n_phases).sum(dim=(0, 2)) / len(x)
                model.logits.copy_(torch.log(pw.clamp_min(1e-300)))
                s2 = (r * sq).sum() / (len(x) * model.n_turns)
                model.log_sigma.copy_(0.5 * torch.log(s2))
                total = float(ll.sum())
                if total - prev < 1e-10 * abs(total):
                    break
                prev = total
        return model

    def _sample(self, n, cond, generator):
        omega = self._omega(cond)
        w = torch.multinomial(torch.softmax(self.logits, dim=0), n, replacement=True,
                              generator=generator)
        f = torch.randint(self.n_phases, (n,), generator=generator)
        mean = omega[:, None] * self.g[w * self.n_phases + f]
        return mean + self.sigma * torch.randn(n, self.n_turns, generator=generator,
                                               dtype=torch.float64)

    @torch.no_grad()
    def describe(self) -> str:
        pw = torch.softmax(self.logits.detach(), dim=0)
        top = torch.argsort(pw, descending=True)[:3]
        mean_m = float((pw * self.wavelengths).sum())
        tops = ", ".join(f"{float(self.wavelengths[i]):.1f}:{float(pw[i]):.2f}" for i in top)
        return (f"sigma={float(self.sigma.detach()):.4f}, E[M]={mean_m:.1f} steps, "
                f"top M (steps:weight) {tops}")


#: The registry: name -> class; each is fitted by ``cls.fit(x, y, **options)``.
BASELINES = {"coin_flip": CoinFlip, "ar2_heading": FergusonAR2, "sine_curve": SineCurve}


# -- the table ---------------------------------------------------------------------------------
@torch.no_grad()
def _nll(model, x, y) -> float:
    return float(-model.log_prob(x, y).sum()) / (x.shape[0] * x.shape[1])


def table(x_train, y_train, x_test, y_test, *, progress: bool = False) -> list[dict]:
    """Fit every baseline on the train split and score it: one dict per row (``name``,
    ``params``, ``train_nll``, ``test_nll`` in nats per turning angle, ``model``).

    Besides the three registered baselines, the rows include Ferguson's model with the
    least-squares fit and the AR(2) on turning angles, for comparison.
    """
    fits = [
        ("coin_flip", lambda: CoinFlip.fit(x_train, y_train), True),
        ("ar2_heading (LS)", lambda: FergusonAR2.fit(x_train, y_train, method="ls"), False),
        ("ar2_heading", lambda: FergusonAR2.fit(x_train, y_train), True),
        ("ar2_turn", lambda: FergusonAR2.fit(x_train, y_train, on="turn"), False),
        ("sine_curve", lambda: SineCurve.fit(x_train, y_train), True),
    ]
    rows = []
    bar = Progress(len(fits), "baselines", enabled=progress)
    for name, make, show in fits:
        model = make()
        bar.update()
        rows.append({"name": name, "params": model.describe(), "model": model,
                     "gallery": show, "train_nll": _nll(model, x_train, y_train),
                     "test_nll": _nll(model, x_test, y_test)})
    bar.close()
    return rows


def format_table(rows: list[dict]) -> str:
    """The rows of :func:`table` as a fixed-width text table."""
    w = max(len(r["name"]) for r in rows)
    lines = [f"{'model':{w}s}  {'train NLL':>9s}  {'test NLL':>9s}  fitted parameters",
             f"{'-' * w}  {'-' * 9}  {'-' * 9}  {'-' * 17}"]
    for r in rows:
        lines.append(f"{r['name']:{w}s}  {r['train_nll']:9.4f}  {r['test_nll']:9.4f}  "
                     f"{r['params']}")
    return "\n".join(lines)
