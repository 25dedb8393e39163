"""Conditional variational autoencoder over a whole river's turning angles.

Encoder q(z | x, y) = N(mu(x, y), diag sigma^2(x, y)), prior p(z) = N(0, I). The decoder
p(x | z, y) is a Gaussian around a mean m(z, y) whose residual r = u - m is *coloured*:
w = B r, with B unit lower-triangular and banded (a learned autoregressive filter of order
``ar_order``: w_t = r_t + sum_k a_k r_{t-k}), is N(0, diag d^2(z, y) + W(z, y) W(z, y)^T)
(diagonal plus ``rank`` columns). det B = 1, so the density stays exact and cheap. Why:
neighbouring turning angles of smoothed rivers are correlated (lag-1 +0.17, lag-2 -0.24,
which also keeps the heading from drifting), and a decoder with white noise makes rivers far
too sinuous, which a two-sample classifier spots at once. Everything acts on the
standardised angles u = x / x_scale.

Training maximises the evidence lower bound (ELBO) with *free bits* against posterior
collapse: each latent dimension's batch-mean KL counts as at least ``free_bits`` nats, so the
optimiser gains nothing by switching a dimension off. The validation score is the plain
negative ELBO per angle (no free bits), an upper bound on the NLL.

log p(x | y) is intractable, so the model has **no** ``log_prob``; :meth:`VAEModel.
log_prob_estimate` gives the importance-weighted (IWAE) estimate with K samples of q, a
stochastic lower bound on log p(x | y) that tightens as K grows (Burda, Grosse & Salakhutdinov
2016, "Importance Weighted Autoencoders", ICLR). Kingma & Welling (2014), "Auto-Encoding
Variational Bayes"; free bits: Kingma et al. (2016), "Improved Variational Inference with
Inverse Autoregressive Flow", NeurIPS.

>>> import torch
>>> from learned.models.vae import VAEModel
>>> model = VAEModel(VAEModel.Config(n_turns=10, hidden=16, latent=4, rank=2))
>>> x, y = 0.3 * torch.randn(32, 10), torch.randn(32, 2)
>>> _ = model.fit_data(x, y)
>>> model.sample(3, generator=torch.Generator().manual_seed(0)).shape
torch.Size([3, 10])
>>> lp = model.log_prob_estimate(x[:2], y[:2], k=64, generator=torch.Generator().manual_seed(0))
>>> lp.shape
torch.Size([2])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .base import RiverModel

__all__ = ["VAEModel"]

_LOG_2PI = math.log(2 * math.pi)


def _mlp(n_in, hidden, n_out, depth):
    layers, d = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(d, hidden), nn.GELU()]
        d = hidden
    layers.append(nn.Linear(d, n_out))
    return nn.Sequential(*layers)


def lowrank_normal_log_prob(u, mean, diag, factor):
    """log N(u; mean, diag(diag) + factor factor^T) by the Woodbury identity.

    Parameters
    ----------
    u, mean, diag : Tensor, shape (B, D)
        Point, mean and the (positive) diagonal variances.
    factor : Tensor, shape (B, D, R)
        Low-rank factor (R may be 0).

    Returns
    -------
    Tensor, shape (B,)

    Examples
    --------
    >>> u, m = torch.zeros(1, 3), torch.zeros(1, 3)
    >>> float(lowrank_normal_log_prob(u, m, torch.ones(1, 3), torch.zeros(1, 3, 1)))
    -2.756815...
    """
    r = u - mean                                                         # (B, D)
    dinv_r = r / diag
    quad = (r * dinv_r).sum(-1)
    logdet = torch.log(diag).sum(-1)
    if factor.shape[-1]:
        dinv_w = factor / diag[..., None]                                # (B, D, R)
        cap = torch.eye(factor.shape[-1], dtype=u.dtype) + factor.transpose(1, 2) @ dinv_w
        chol = torch.linalg.cholesky(cap)                                # (B, R, R)
        proj = (factor.transpose(1, 2) @ dinv_r[..., None])              # (B, R, 1)
        sol = torch.cholesky_solve(proj, chol)
        quad = quad - (proj * sol).sum((-2, -1))
        logdet = logdet + 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
    return -0.5 * (quad + logdet + u.shape[-1] * _LOG_2PI)


class VAEModel(RiverModel):
    """Conditional VAE with a diagonal-plus-low-rank Gaussian decoder."""

    #: What the evaluation reports for it: an importance-weighted estimate, not exact.
    likelihood = "estimate"

    @dataclass
    class Config:
        n_turns: int = 126          # D = T - 2 angles per river
        y_dim: int = 2              # (sinuosity, log10 length), encoded
        latent: int = 16            # dimension of z
        hidden: int = 256           # width of the encoder and decoder MLPs
        depth: int = 3              # hidden layers of each MLP
        rank: int = 4               # columns of the decoder's low-rank covariance factor
        free_bits: float = 0.05     # nats per latent dimension (0 = plain ELBO)
        min_std: float = 0.02       # floor of the decoder's diagonal std (standardised units)
        fixed_std: float = 0.0      # > 0: the decoder's diagonal std is this constant (then
                                    # the latent must carry the shape; 0 = learned)
        ar_order: int = 0           # order of the residual's autoregressive filter (0: none)

    def __init__(self, config: "VAEModel.Config"):
        super().__init__(config.n_turns)
        self.config = c = config
        if c.latent < 1 or c.rank < 0:
            raise ValueError(f"latent must be >= 1 and rank >= 0, got {c.latent}, {c.rank}")
        d = c.n_turns
        self.encoder = _mlp(d + c.y_dim, c.hidden, 2 * c.latent, c.depth)
        self.decoder = _mlp(c.latent + c.y_dim, c.hidden, d * (2 + c.rank), c.depth)
        self.ar = nn.Parameter(torch.zeros(max(0, c.ar_order)))     # a_1..a_q; 0: white

    def _whiten(self, r):
        """w = B r: w_t = r_t + sum_k a_k r_{t-k}, (B, D)."""
        w = r
        for k in range(1, self.ar.shape[0] + 1):
            w = w + self.ar[k - 1] * F.pad(r[:, :-k], (k, 0))
        return w

    def _colour(self, w):
        """r = B^-1 w (the inverse of ``_whiten``), (B, D)."""
        if self.ar.shape[0] == 0:
            return w
        d = self.n_turns
        b = torch.eye(d, dtype=w.dtype)
        for k in range(1, self.ar.shape[0] + 1):
            b = b + self.ar[k - 1] * torch.diag(torch.ones(d - k, dtype=w.dtype), -k)
        return torch.linalg.solve_triangular(b, w.T, upper=False, unitriangular=True).T

    # -- the two halves ----------------------------------------------------------------------
    def encode(self, x, y):
        """q(z | x, y): (mean (B, Z), log std (B, Z))."""
        y = self.condition(x.shape[0], y)
        mu, log_s = self.encoder(torch.cat([x / self.x_scale, y], 1)).chunk(2, dim=1)
        return mu, log_s.clamp(-8.0, 3.0)

    def decode(self, z, y):
        """p(x | z, y) in standardised units: mean (B, D), diag variances (B, D), factor
        (B, D, R)."""
        b, d, r = z.shape[0], self.n_turns, self.config.rank
        out = self.decoder(torch.cat([z, y], 1))
        mean, raw_s, w = out[:, :d], out[:, d:2 * d], out[:, 2 * d:]
        if self.config.fixed_std > 0:
            std = torch.full_like(raw_s, self.config.fixed_std)
        else:
            std = self.config.min_std + F.softplus(raw_s)
        return mean, std * std, 0.5 * w.view(b, d, r)

    def _log_lik(self, x, z, y):                                   # (B,) nats, x in radians
        mean, diag, factor = self.decode(z, y)
        w = self._whiten(x / self.x_scale - mean)                   # det B = 1: no Jacobian
        return (lowrank_normal_log_prob(w, torch.zeros_like(w), diag, factor)
                - self.n_turns * torch.log(self.x_scale))

    # -- objectives --------------------------------------------------------------------------
    def _elbo_terms(self, x, y, generator):
        mu, log_s = self.encode(x, y)
        eps = torch.randn(mu.shape, generator=generator)
        z = mu + torch.exp(log_s) * eps
        rec = self._log_lik(x, z, y)                                            # (B,)
        kl = 0.5 * (mu * mu + torch.exp(2 * log_s) - 1) - log_s                 # (B, Z)
        return rec, kl

    def loss(self, batch, *, generator=None):
        """Negative ELBO per turning angle, each latent dimension's KL floored at
        ``free_bits`` (its batch mean)."""
        x, y = batch
        y = self.condition(x.shape[0], y)
        rec, kl = self._elbo_terms(x, y, generator)
        kl_term = kl.mean(0).clamp_min(self.config.free_bits).sum()
        return (-rec.mean() + kl_term) / self.n_turns

    def train_step(self, batch, optimizer, *, generator, grad_clip=0.0):
        """One optimiser step on the free-bits ELBO (the training loop's hook for
        families whose loss draws noise). Returns the loss."""
        loss = self.loss(batch, generator=generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip:
            nn.utils.clip_grad_norm_(self.parameters(), grad_clip)
        optimizer.step()
        return float(loss.detach())

    validation_name = "neg_elbo"

    @torch.no_grad()
    def elbo(self, x, y=None, *, generator=None):
        """The evidence lower bound per river (B,), nats (one sample of q)."""
        y = self.condition(x.shape[0], y)
        rec, kl = self._elbo_terms(x, y, generator)
        return rec - kl.sum(1)

    @torch.no_grad()
    def validation_score(self, x, y, *, batch_size=1024):
        """Negative ELBO in nats per angle (an upper bound on the NLL; fixed noise)."""
        gen = torch.Generator().manual_seed(0)
        total = sum(float(-self.elbo(x[i:i + batch_size], y[i:i + batch_size],
                                     generator=gen).double().sum())
                    for i in range(0, len(x), batch_size))
        return total / (len(x) * self.n_turns)

    @torch.no_grad()
    def log_prob_estimate(self, x, y=None, *, k=1000, generator=None, chunk=65536):
        """Importance-weighted estimate of log p(x | y) per river, (B,) nats.

        log (1/K) sum_k p(x | z_k, y) p(z_k) / q(z_k | x, y), z_k ~ q(z | x, y): a lower bound
        on log p(x | y) in expectation, equal to the ELBO for K = 1, tightening as K grows.

        Parameters
        ----------
        x : Tensor, shape (B, D)
            Turning angles in radians.
        y : Tensor or dict, optional
            Conditions (see :meth:`RiverModel.condition`).
        k : int, optional
            Importance samples per river. Default 1000.
        generator : torch.Generator, optional
            Source of the samples.

        Examples
        --------
        >>> m = VAEModel(VAEModel.Config(n_turns=6, hidden=8, latent=2, rank=1))
        >>> m.log_prob_estimate(torch.zeros(2, 6), torch.zeros(2, 2), k=10).shape
        torch.Size([2])
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        y = self.condition(x.shape[0], y)
        mu, log_s = self.encode(x, y)
        out = torch.empty(x.shape[0])
        per = max(1, chunk // k)                       # rivers per chunk of K * rivers rows
        for i in range(0, x.shape[0], per):
            sl = slice(i, i + per)
            b = mu[sl].shape[0]
            eps = torch.randn(k, b, mu.shape[1], generator=generator)             # (K, b, Z)
            z = mu[sl] + torch.exp(log_s[sl]) * eps
            log_q = (-0.5 * eps * eps - log_s[sl] - 0.5 * _LOG_2PI).sum(-1)       # (K, b)
            log_pz = (-0.5 * z * z - 0.5 * _LOG_2PI).sum(-1)
            rep = lambda t: t.expand(k, *t.shape).reshape(k * b, -1)             # noqa: E731
            log_px = self._log_lik(rep(x[sl]), z.reshape(k * b, -1), rep(y[sl])).view(k, b)
            out[sl] = torch.logsumexp(log_px + log_pz - log_q, 0) - math.log(k)
        return out

    # -- sampling ----------------------------------------------------------------------------
    def _draw(self, z, y, generator, temperature):
        mean, diag, factor = self.decode(z, y)
        e1 = torch.randn(mean.shape, generator=generator)
        e2 = torch.randn(factor.shape[:1] + factor.shape[2:], generator=generator)
        w = diag.sqrt() * e1 + (factor @ e2[..., None])[..., 0]               # (n, D)
        u = mean + temperature * self._colour(w)
        return u * self.x_scale

    def _sample(self, n, y, generator, temperature):
        z = torch.randn(n, self.config.latent, generator=generator) * temperature
        return self._draw(z, y, generator, temperature)

    @torch.no_grad()
    def interpolate(self, x_a, y_a, x_b, y_b, steps: int = 8):
        """Decoder means along the straight line between two rivers' posterior means.

        The condition is interpolated linearly too, so the path morphs from river a's
        shape, sinuosity and length to river b's. Step 0 is the reconstruction of a,
        the last that of b.

        Parameters
        ----------
        x_a, x_b : Tensor, shape (D,)
            Turning angles of the two rivers.
        y_a, y_b : Tensor, shape (2,), or dict
            Their conditions.
        steps : int
            Number of shapes, >= 2.

        Returns
        -------
        Tensor, shape (steps, D)
            Turning angles, radians.

        Examples
        --------
        >>> m = VAEModel(VAEModel.Config(n_turns=6, hidden=8, latent=2, rank=1))
        >>> m.interpolate(torch.zeros(6), torch.zeros(2), torch.ones(6), torch.ones(2), 5).shape
        torch.Size([5, 6])
        """
        if steps < 2:
            raise ValueError(f"steps must be >= 2, got {steps}")
        ya, yb = self.condition(1, y_a), self.condition(1, y_b)
        za, _ = self.encode(torch.as_tensor(x_a, dtype=torch.float32).reshape(1, -1), ya)
        zb, _ = self.encode(torch.as_tensor(x_b, dtype=torch.float32).reshape(1, -1), yb)
        t = torch.linspace(0, 1, steps)[:, None]
        mean, _, _ = self.decode((1 - t) * za + t * zb, (1 - t) * ya + t * yb)
        return mean * self.x_scale

    @torch.no_grad()
    def reconstruct(self, x, y=None):
        """Decoder mean at the posterior mean, (B, D) radians."""
        y = self.condition(x.shape[0], y)
        mu, _ = self.encode(x, y)
        return self.decode(mu, y)[0] * self.x_scale

    @property
    def log_prob(self):
        # hasattr(model, "log_prob") is False: a VAE has no exact likelihood; the evaluation
        # asks for log_prob_estimate instead.
        raise AttributeError("VAEModel has no exact log_prob; use log_prob_estimate")
