"""The contract between a river model and the code that trains, scores and places it.

Every model, learned family or hand-written baseline, is a :class:`RiverContract`. What the
training loop (``learned.train``) and the evaluation (``learned.evaluate``) need to know they
read from it, never by probing with ``hasattr``:

* ``likelihood``: the declared capability, one of :data:`LIKELIHOODS`: ``'exact'`` (``log_prob``
  is ``log p(x | y)``), ``'estimate'`` (only ``log_prob_estimate``, e.g. a VAE's importance-
  weighted bound) or ``None`` (no density: a GAN, a flow-matching sampler);
* ``train_step(batch, optimizer, *, generator, grad_clip)``: the one public training step;
  the default minimises ``loss(batch)``;
* ``make_optimizer(*, lr, weight_decay)``: default one Adam over every parameter;
* ``validation_score(x, y)`` (lower is better) and ``validation_name``: default the
  validation NLL in nats per angle, named ``'nll'``.

:func:`nll_per_angle`, :func:`nll_estimate_per_angle` and :func:`likelihood_score` are the scores of
a model's likelihood, written once for both the loop and the evaluation.

>>> from learned.baselines import CoinFlip
>>> CoinFlip.likelihood, CoinFlip.validation_name
('exact', 'nll')
"""

from __future__ import annotations

import math

from ._torch import torch
from torch import nn

from ._conditions import Conditioned

__all__ = ["EXACT", "ESTIMATE", "LIKELIHOODS", "RiverContract", "wrap_angle", "nll_per_angle",
           "nll_estimate_per_angle", "likelihood_score"]

#: ``likelihood = EXACT``: ``log_prob(x, y)`` is the exact ``log p(x | y)``.
EXACT = "exact"
#: ``likelihood = ESTIMATE``: only ``log_prob_estimate(x, y, *, k, generator)``.
ESTIMATE = "estimate"
#: Every value ``likelihood`` may take (None: the model defines no density).
LIKELIHOODS = (EXACT, ESTIMATE, None)


def wrap_angle(x: torch.Tensor) -> torch.Tensor:
    """Angles into (-pi, pi] (values already there are returned unchanged).

    >>> import torch
    >>> wrap_angle(torch.tensor([0.5, 4.0, -math.pi, 7.0])).tolist()  # doctest: +ELLIPSIS
    [0.5, -2.28318..., 3.14159..., 0.71681...]
    """
    out = torch.remainder(x + math.pi, 2.0 * math.pi) - math.pi
    out = torch.where(out <= -math.pi, out + 2.0 * math.pi, out)
    return torch.where((x > -math.pi) & (x <= math.pi), x, out)


class RiverContract(Conditioned):
    """What every river model offers the loop and the evaluation (see the module docstring).

    Adds no parameters or buffers: a ``state_dict`` is the model's own.
    """

    #: What score of ``log p(x | y)`` the model has: one of :data:`LIKELIHOODS`.
    likelihood = EXACT
    #: The name the validation score is logged under (``val_<name>``).
    validation_name = "nll"

    def log_prob(self, x, y) -> torch.Tensor:                       # (B,) nats per river
        """``log p(x | y)`` per river, nats; only where ``likelihood == 'exact'``."""
        if self.likelihood != EXACT:
            raise NotImplementedError(
                f"{type(self).__name__} has no exact likelihood (likelihood="
                f"{self.likelihood!r})" + ("; use log_prob_estimate" if self.likelihood ==
                                           ESTIMATE else ""))
        raise NotImplementedError(f"{type(self).__name__} must implement log_prob")

    def make_optimizer(self, *, lr: float, weight_decay: float = 0.0):
        """The optimizer the loop steps (a param group's ``lr_scale`` multiplies the scheduled
        learning rate). Default: one Adam over every parameter."""
        return torch.optim.Adam(self.parameters(), lr=lr, weight_decay=weight_decay)

    def train_step(self, batch, optimizer, *, generator=None, grad_clip: float = 0.0) -> float:
        """One training step on ``batch = (x, y)``; returns the batch loss as a float, after
        the model has updated itself. ``generator`` (seeded by the loop from seed and global
        step, so a resumed run draws the same noise) feeds any noise the step draws.
        Default: one step down ``loss(batch)``."""
        return self._descend(self.loss(batch), optimizer, grad_clip)

    def _descend(self, loss, optimizer, grad_clip: float = 0.0) -> float:
        """One optimiser step down ``loss`` (gradients clipped to norm ``grad_clip`` when
        set), for the families' ``train_step``. Returns the loss."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip:
            nn.utils.clip_grad_norm_(self.parameters(), grad_clip)
        optimizer.step()
        return float(loss.detach())

    def after_training(self, turns, y) -> None:
        """Called by the loop once training ends, on the best weights, with the training
        split (``turns`` (N, D) radians, ``y`` (N, 2) encoded): for what a family fits
        after gradient descent. Default: nothing."""

    def validation_score(self, x, y) -> float:
        """Lower is better; early stopping and the best weights follow it. Default: the NLL
        in nats per angle (:func:`nll_per_angle`)."""
        return nll_per_angle(self, x, y)


@torch.no_grad()
def nll_per_angle(model, turns, y, *, batch_size: int = 1024) -> float:
    """Mean negative log-likelihood of (turns, y) in nats per turning angle (exact)."""
    model.eval()
    total = 0.0
    for i in range(0, len(turns), batch_size):
        total += float(-model.log_prob(turns[i:i + batch_size], y[i:i + batch_size]).double()
                       .sum())
    return total / (len(turns) * turns.shape[1])


@torch.no_grad()
def nll_estimate_per_angle(model, turns, y, *, k: int = 1000, batch_size: int = 64,
                           seed: int = 0) -> float:
    """Mean of ``-model.log_prob_estimate`` in nats per turning angle (K importance samples;
    for an IWAE estimate, an upper bound on the true NLL in expectation)."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    total = 0.0
    for i in range(0, len(turns), batch_size):
        total += float(-model.log_prob_estimate(turns[i:i + batch_size], y[i:i + batch_size],
                                                k=k, generator=gen).double().sum())
    return total / (len(turns) * turns.shape[1])


def likelihood_score(model, turns, y, *, k: int = 1000, seed: int = 0) -> tuple:
    """``(nats per angle, kind)`` as the model's declared ``likelihood`` allows: the exact NLL
    (kind ``'exact'``), an importance-weighted estimate with ``k`` samples (``'estimate'``),
    or ``(None, None)`` for a model without a density: never a made-up number."""
    kind = model.likelihood
    if kind == EXACT:
        return nll_per_angle(model, turns, y), EXACT
    if kind == ESTIMATE:
        return nll_estimate_per_angle(model, turns, y, k=k, seed=seed), ESTIMATE
    if kind is None:
        return None, None
    raise ValueError(f"{type(model).__name__}.likelihood must be one of {LIKELIHOODS}, "
                     f"got {kind!r}")

