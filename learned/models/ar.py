"""Conditional autoregressive model of turning angles: a GRU with a mixture-of-logistics head.

p(x | y) = prod_t p(x_t | x_<t, y); each factor is a mixture of K logistic distributions on
the standardised angle x_t / x_scale, whose weights, means and scales the GRU emits from the
previous angles, the condition y and the position t / D. Sampling draws one angle at a time;
``temperature`` scales the logits (divided by it) and the component scales (multiplied by it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._torch import torch
import torch.nn.functional as F
from torch import nn

from .base import RiverModel

__all__ = ["ARModel"]


class ARModel(RiverModel):
    """GRU over turning angles, conditioned on y, with a mixture-of-logistics output."""

    @dataclass
    class Config:
        n_turns: int = 126          # D = T - 2 angles per river
        y_dim: int = 2              # (sinuosity, log10 length), encoded
        hidden: int = 256           # GRU state size
        n_layers: int = 2           # stacked GRU layers
        n_mix: int = 8              # logistic components per angle

    def __init__(self, config: "ARModel.Config"):
        super().__init__(config.n_turns)
        self.config = config
        c = config
        self.h0 = nn.Linear(c.y_dim, c.n_layers * c.hidden)
        self.gru = nn.GRU(1 + c.y_dim + 1, c.hidden, num_layers=c.n_layers, batch_first=True)
        self.head = nn.Linear(c.hidden, 3 * c.n_mix)

    def _init_state(self, y):                                                  # y: (B, 2)
        c = self.config
        h = torch.tanh(self.h0(y)).view(-1, c.n_layers, c.hidden)              # (B, L, H)
        return h.transpose(0, 1).contiguous()                                  # (L, B, H)

    def _inputs(self, prev, y, t0):
        """GRU inputs for previous standardised angles prev (B, S) at positions t0.."""
        b, s = prev.shape
        pos = (torch.arange(t0, t0 + s, dtype=prev.dtype) / self.n_turns).expand(b, s)
        return torch.cat([prev[..., None], y[:, None, :].expand(b, s, y.shape[1]),
                          pos[..., None]], dim=-1)                              # (B, S, 4)

    def _mixture(self, out):                                                   # (B, S, H)
        logits, mu, log_s = self.head(out).chunk(3, dim=-1)                    # (B, S, K) each
        return logits, mu, log_s.clamp(-7.0, 5.0)

    def log_prob(self, x, y):                                                  # (B,) nats
        return self.log_prob_given(x, self.scored_condition(x, y))

    def log_prob_given(self, x, y):
        """log p(x | y) (B,) for an already encoded condition y (B, y_dim) of any width
        (the VAE's decoder conditions on (z, y))."""
        u = x / self.x_scale                                                   # (B, D)
        prev = F.pad(u[:, :-1], (1, 0))                                        # (B, D)
        out, _ = self.gru(self._inputs(prev, y, 0), self._init_state(y))       # (B, D, H)
        logits, mu, log_s = self._mixture(out)
        z = (u[..., None] - mu) * torch.exp(-log_s)                            # (B, D, K)
        # log density of a logistic: -z - log_s - 2 softplus(-z)
        comp = -z - log_s - 2 * F.softplus(-z)
        lp = torch.logsumexp(F.log_softmax(logits, -1) + comp, dim=-1)         # (B, D)
        return lp.sum(-1) - self.n_turns * torch.log(self.x_scale)

    def _sample(self, n, y, generator, temperature):
        h = self._init_state(y)
        prev = torch.zeros(n, 1)
        out = torch.empty(n, self.n_turns)
        for t in range(self.n_turns):
            o, h = self.gru(self._inputs(prev, y, t), h)                       # (n, 1, H)
            logits, mu, log_s = (v[:, 0] for v in self._mixture(o))            # (n, K)
            k = torch.multinomial(torch.softmax(logits / temperature, -1), 1,
                                  generator=generator)                         # (n, 1)
            m = mu.gather(1, k)[:, 0]
            s = torch.exp(log_s.gather(1, k)[:, 0]) * temperature
            p = torch.rand(n, generator=generator).clamp(1e-6, 1 - 1e-6)
            u = m + s * (torch.log(p) - torch.log1p(-p))                       # logistic draw
            u = u.clamp(-math.pi / self.x_scale, math.pi / self.x_scale)
            out[:, t] = u
            prev = u[:, None]
        return out * self.x_scale
