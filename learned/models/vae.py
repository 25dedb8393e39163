"""Conditional variational autoencoder over a whole river's turning angles.

Encoder q(z | x, y) = N(mu(x, y), diag sigma^2(x, y)) (an MLP), training prior p(z) = N(0, I),
and an *autoregressive* decoder p(x | z, y) = prod_t p(x_t | x_<t, z, y): the GRU with a
mixture-of-logistics head of :class:`learned.models.ar.ARModel`, conditioned on (z, y).
Why not a Gaussian decoder: a factorised (or low-rank) Gaussian around a mean m(z, y) puts
independent noise on every angle, and the sum of that noise makes the heading wander, so its
rivers were far too sinuous and a two-sample classifier told them apart 77 % of the time. An
autoregressive decoder models the angle-to-angle dependence exactly, while z carries the
river's overall shape (Bowman et al. 2016, "Generating Sentences from a Continuous Space",
CoNLL; Chen et al. 2017, "Variational Lossy Autoencoder", ICLR).

Such a decoder can model the data without z, so the posterior tends to collapse to the prior.
Training maximises the evidence lower bound (ELBO) with *free bits*: each latent dimension's
batch-mean KL counts as at least ``free_bits`` nats, so the optimiser gains nothing by
switching a dimension off (Kingma et al. 2016, "Improved Variational Inference with Inverse
Autoregressive Flow", NeurIPS). The validation score is the plain negative ELBO per angle
(no free bits), an upper bound on the NLL.

Samples are drawn with z from a **fitted prior**: the Gaussian with the aggregate posterior's
mean and covariance, (1/N) sum_i q(z | x_i, y_i) over the training rivers, fitted once
training ends (:meth:`VAEModel.fit_latent_prior`). With free bits every latent dimension sits
at its floor of KL, and the aggregate posterior is narrower than N(0, I) and correlated
across dimensions; decoding z from N(0, I) lands where the decoder saw no training codes.
Fitting a density to the codes after training is the "ex-post density estimation" of Ghosh
et al. (2020), "From Variational to Deterministic Autoencoders", ICLR. With the same weights
it moved the classifier two-sample test on path statistics from 0.640 to 0.567-0.577 (three
draws of one sample per real river, against all 4,580). Until it is fitted the prior is N(0, I).

log p(x | y) is intractable, so the model has **no** exact ``log_prob`` (it declares
``likelihood = 'estimate'``); :meth:`VAEModel.
log_prob_estimate` gives the importance-weighted (IWAE) estimate with K samples of q, a
stochastic lower bound on log p(x | y) that tightens as K grows (Burda, Grosse & Salakhutdinov
2016, "Importance Weighted Autoencoders", ICLR). Kingma & Welling (2014), "Auto-Encoding
Variational Bayes".

>>> import torch
>>> from learned.models.vae import VAEModel
>>> model = VAEModel(VAEModel.Config(n_turns=10, hidden=16, latent=4, decoder_hidden=16))
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

from .._torch import torch
from torch import nn

from .ar import ARModel
from .base import ESTIMATE, RiverModel

__all__ = ["VAEModel"]

_LOG_2PI = math.log(2 * math.pi)


def _mlp(n_in, hidden, n_out, depth):
    layers, d = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(d, hidden), nn.GELU()]
        d = hidden
    layers.append(nn.Linear(d, n_out))
    return nn.Sequential(*layers)


class VAEModel(RiverModel):
    """Conditional VAE: MLP encoder, autoregressive (GRU, logistic-mixture) decoder."""

    #: What the evaluation reports for it: an importance-weighted estimate, not exact.
    likelihood = ESTIMATE

    @dataclass
    class Config:
        n_turns: int = 126          # D = T - 2 angles per river
        y_dim: int = 2              # (sinuosity, log10 length), encoded
        latent: int = 16            # dimension of z
        hidden: int = 256           # width of the encoder MLP
        depth: int = 2              # hidden layers of the encoder MLP
        decoder_hidden: int = 128   # GRU state size of the decoder
        decoder_layers: int = 1     # stacked GRU layers of the decoder
        n_mix: int = 8              # logistic components per angle
        free_bits: float = 0.5      # nats per latent dimension (0 = plain ELBO)

    def __init__(self, config: "VAEModel.Config"):
        super().__init__(config.n_turns)
        self.config = c = config
        if c.latent < 1:
            raise ValueError(f"latent must be >= 1, got {c.latent}")
        self.encoder = _mlp(c.n_turns + c.y_dim, c.hidden, 2 * c.latent, c.depth)
        self.decoder = ARModel(ARModel.Config(
            n_turns=c.n_turns, y_dim=c.latent + c.y_dim, hidden=c.decoder_hidden,
            n_layers=c.decoder_layers, n_mix=c.n_mix))
        # the sampling prior N(latent_mean, L L^T), L = latent_chol; N(0, I) until fitted
        self.register_buffer("latent_mean", torch.zeros(c.latent))
        self.register_buffer("latent_chol", torch.eye(c.latent))

    @torch.no_grad()
    def fit_data(self, turns, y, *, generator=None):
        super().fit_data(turns, y, generator=generator)
        self.decoder.x_scale.copy_(self.x_scale)
        return self

    def encode(self, x, y):
        """q(z | x, y): (mean (B, Z), log std (B, Z))."""
        y = self.condition(x.shape[0], y)
        mu, log_s = self.encoder(torch.cat([x / self.x_scale, y], 1)).chunk(2, dim=1)
        return mu, log_s.clamp(-8.0, 3.0)

    @torch.no_grad()
    def fit_latent_prior(self, x, y, *, batch_size: int = 4096) -> "VAEModel":
        """Set the sampling prior to the Gaussian with the exact mean and covariance of the
        aggregate posterior (1/N) sum_i q(z | x_i, y_i) of the rivers ``x`` (N, D) radians
        with conditions ``y``: mean = mean_i mu_i, covariance = the covariance of the mu_i
        plus the mean of diag(sigma_i^2). Deterministic. Returns the model.

        Examples
        --------
        >>> m = VAEModel(VAEModel.Config(n_turns=6, hidden=8, latent=2, decoder_hidden=8))
        >>> _ = m.fit_latent_prior(0.3 * torch.randn(50, 6), torch.zeros(50, 2))
        >>> m.latent_chol.shape, bool(m.latent_chol[0, 1] == 0)
        (torch.Size([2, 2]), True)
        """
        y = self.scored_condition(x, y, method="fit_latent_prior")
        mus, variances = [], []
        for i in range(0, x.shape[0], batch_size):
            mu, log_s = self.encode(x[i:i + batch_size], y[i:i + batch_size])
            mus.append(mu.double())
            variances.append(torch.exp(2 * log_s.double()))
        mu, var = torch.cat(mus), torch.cat(variances)
        mean = mu.mean(0)
        d = mu - mean
        cov = d.T @ d / len(mu) + torch.diag(var.mean(0))
        self.latent_mean.copy_(mean.float())
        self.latent_chol.copy_(torch.linalg.cholesky(cov).float())
        return self

    def after_training(self, turns, y) -> None:
        """The loop's hook: fit the sampling prior on the training rivers."""
        self.fit_latent_prior(turns, y)

    def _log_prior(self, z):                                       # (..., ) nats
        """log N(z; latent_mean, L L^T), summed over the latent dimensions."""
        L = self.latent_chol
        e = torch.linalg.solve_triangular(L, (z - self.latent_mean).unsqueeze(-1),
                                          upper=False).squeeze(-1)
        return (-0.5 * e * e - 0.5 * _LOG_2PI).sum(-1) - torch.log(torch.diagonal(L)).sum()

    def _log_lik(self, x, z, y):                                   # (B,) nats, x in radians
        return self.decoder.log_prob_given(x, torch.cat([z, y], 1))

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
        return self._descend(loss, optimizer, grad_clip)

    validation_name = "neg_elbo"

    @torch.no_grad()
    def elbo(self, x, y, *, generator=None):
        """The evidence lower bound per river (B,), nats (one sample of q); ``y`` is
        required, as for every likelihood (:meth:`RiverModel.log_prob`)."""
        y = self.scored_condition(x, y, method="elbo")
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
    def log_prob_estimate(self, x, y, *, k=1000, generator=None, chunk=16384):
        """Importance-weighted estimate of log p(x | y) per river, (B,) nats.

        log (1/K) sum_k p(x | z_k, y) p(z_k) / q(z_k | x, y), z_k ~ q(z | x, y), with p(z)
        the prior samples are drawn from (fitted, :meth:`fit_latent_prior`): a lower bound
        on log p(x | y) in expectation, equal to the ELBO under that prior for K = 1,
        tightening as K grows.

        Parameters
        ----------
        x : Tensor, shape (B, D)
            Turning angles in radians.
        y : Tensor or dict
            The rivers' conditions, required (see :meth:`RiverModel.log_prob`).
        k : int, optional
            Importance samples per river. Default 1000.
        generator : torch.Generator, optional
            Source of the samples.

        Examples
        --------
        >>> m = VAEModel(VAEModel.Config(n_turns=6, hidden=8, latent=2, decoder_hidden=8))
        >>> m.log_prob_estimate(torch.zeros(2, 6), torch.zeros(2, 2), k=10).shape
        torch.Size([2])
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        y = self.scored_condition(x, y, method="log_prob_estimate")
        mu, log_s = self.encode(x, y)
        out = torch.empty(x.shape[0])
        per = max(1, chunk // k)                       # rivers per chunk of K * rivers rows
        for i in range(0, x.shape[0], per):
            sl = slice(i, i + per)
            b = mu[sl].shape[0]
            eps = torch.randn(k, b, mu.shape[1], generator=generator)             # (K, b, Z)
            z = mu[sl] + torch.exp(log_s[sl]) * eps
            log_q = (-0.5 * eps * eps - log_s[sl] - 0.5 * _LOG_2PI).sum(-1)       # (K, b)
            log_pz = self._log_prior(z)
            rep = lambda t: t.expand(k, *t.shape).reshape(k * b, -1)             # noqa: E731
            log_px = self._log_lik(rep(x[sl]), z.reshape(k * b, -1), rep(y[sl])).view(k, b)
            out[sl] = torch.logsumexp(log_px + log_pz - log_q, 0) - math.log(k)
        return out

    # -- sampling ----------------------------------------------------------------------------
    def decode(self, z, y, *, generator=None, temperature: float = 1.0):
        """Angles (B, D) radians drawn from p(x | z, y) (y encoded, (B, 2))."""
        return self.decoder._sample(z.shape[0], torch.cat([z, y], 1), generator,
                                    float(temperature))

    def _sample(self, n, y, generator, temperature):
        eps = torch.randn(n, self.config.latent, generator=generator) * temperature
        z = self.latent_mean + eps @ self.latent_chol.T
        return self.decode(z, y, generator=generator, temperature=temperature)

    @torch.no_grad()
    def interpolate(self, x_a, y_a, x_b, y_b, steps: int = 8, *, generator=None,
                    temperature: float = 0.5):
        """Rivers decoded along the straight line between two rivers' posterior means.

        The condition is interpolated linearly too, so the path morphs from river a's
        shape, sinuosity and length to river b's. Every step is decoded with the same
        random numbers (the generator's state is rewound), so neighbouring steps differ only
        through (z, y). Step 0 is :meth:`reconstruct` of a, the last that of b, for a
        generator in the same state.

        Parameters
        ----------
        x_a, x_b : Tensor, shape (D,)
            Turning angles of the two rivers.
        y_a, y_b : Tensor, shape (2,), or dict
            Their conditions.
        steps : int
            Number of shapes, >= 2.
        generator : torch.Generator, optional
            Source of the decoder's noise (default: seeded with 0).
        temperature : float
            Decoder temperature; lower is closer to the most likely river for each z.

        Returns
        -------
        Tensor, shape (steps, D)
            Turning angles, radians.

        Examples
        --------
        >>> m = VAEModel(VAEModel.Config(n_turns=6, hidden=8, latent=2, decoder_hidden=8))
        >>> m.interpolate(torch.zeros(6), torch.zeros(2), torch.ones(6), torch.ones(2), 5).shape
        torch.Size([5, 6])
        """
        if steps < 2:
            raise ValueError(f"steps must be >= 2, got {steps}")
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        ya, yb = self.condition(1, y_a), self.condition(1, y_b)
        za, _ = self.encode(torch.as_tensor(x_a, dtype=torch.float32).reshape(1, -1), ya)
        zb, _ = self.encode(torch.as_tensor(x_b, dtype=torch.float32).reshape(1, -1), yb)
        t = torch.linspace(0, 1, steps)[:, None]
        return self._decode_rewound((1 - t) * za + t * zb, (1 - t) * ya + t * yb, gen,
                                    temperature)

    @torch.no_grad()
    def reconstruct(self, x, y, *, generator=None, temperature: float = 0.5):
        """Rivers decoded at the posterior mean, (B, D) radians, each with the generator
        rewound to the same state (as in :meth:`interpolate`); ``y``, the rivers' own
        conditions, is required (their posterior depends on it)."""
        y = self.scored_condition(x, y, method="reconstruct")
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        mu, _ = self.encode(x, y)
        return self._decode_rewound(mu, y, gen, temperature)

    def _decode_rewound(self, z, y, generator, temperature):
        """Decode each row of (z, y) with the generator rewound to its current state, so
        every row draws the same random numbers. (B, D) radians."""
        state = generator.get_state()
        out = []
        for i in range(z.shape[0]):
            generator.set_state(state)
            out.append(self.decode(z[i:i + 1], y[i:i + 1], generator=generator,
                                   temperature=temperature))
        return torch.cat(out)
