"""Conditional flow matching over a whole river's turning angles (a diffusion-family model).

Noise u0 ~ N(0, I) is carried to data u1 = x / x_scale along straight lines
u_t = (1 - t) u0 + t u1; a small 1-D convolutional network v(u_t, t, y) learns the velocity
u1 - u0 by least squares (Lipman et al. 2023, "Flow Matching for Generative Modeling";
Liu et al. 2023, "Flow Straight and Fast"). Sampling integrates du/dt = v from t = 0 to 1
with ``sample_steps`` steps of Heun's method (or Euler), so speed trades against accuracy
through one number. The network is a stack of residual dilated convolutions (dilations
1, 2, 4, 8, 16, 1, ... so that every angle sees the whole river: sinuosity is a global
property) modulated by the time and the condition (FiLM).

Classifier-free guidance (Ho & Salimans 2022): during training the condition is dropped with
probability ``cond_dropout`` (replaced by a learned null condition); sampling may extrapolate
v = v(y) + guidance * (v(y) - v(null)) to tighten the sinuosity control.

The model has no ``log_prob`` (``likelihood = None``: an exact one needs the divergence
integrated along the ODE);
its validation score is the flow-matching loss on the validation split with fixed noise.

>>> import torch
>>> from learned.models.diffusion import DiffusionModel
>>> model = DiffusionModel(DiffusionModel.Config(n_turns=10, channels=8, n_blocks=2))
>>> _ = model.fit_data(0.3 * torch.randn(32, 10), torch.randn(32, 2))
>>> model.sample(3, generator=torch.Generator().manual_seed(0), steps=4).shape
torch.Size([3, 10])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._torch import torch
import torch.nn.functional as F
from torch import nn

from .base import RiverModel, match_sinuosity, wrap_angle

__all__ = ["DiffusionModel"]


def time_embedding(t, dim):
    """Sinusoidal features of t in [0, 1], (B, dim)."""
    half = dim // 2
    freq = torch.exp(torch.arange(half, dtype=t.dtype) * (-math.log(1000.0) / max(1, half - 1)))
    arg = 1000.0 * t[:, None] * freq[None]
    return torch.cat([torch.sin(arg), torch.cos(arg)], 1)


class _Block(nn.Module):
    def __init__(self, ch, emb, dilation):
        super().__init__()
        self.norm = nn.GroupNorm(8 if ch % 8 == 0 else 1, ch)
        self.conv1 = nn.Conv1d(ch, ch, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv1d(ch, ch, 3, padding=1)
        self.film = nn.Linear(emb, 2 * ch)
        nn.init.zeros_(self.conv2.weight)          # each block starts as the identity
        nn.init.zeros_(self.conv2.bias)

    def forward(self, h, e):                                          # (B, C, L), (B, E)
        scale, shift = self.film(e)[:, :, None].chunk(2, dim=1)
        a = self.norm(h) * (1 + scale) + shift
        return h + self.conv2(F.gelu(self.conv1(F.gelu(a))))


class DiffusionModel(RiverModel):
    """Conditional flow matching with a dilated 1-D conv net and an ODE sampler."""

    likelihood = None
    validation_name = "fm_mse"

    @dataclass
    class Config:
        n_turns: int = 126          # D = T - 2 angles per river
        y_dim: int = 2              # (sinuosity, log10 length), encoded
        channels: int = 64          # conv channels
        n_blocks: int = 8           # residual blocks (dilations cycle 1, 2, 4, 8, 16)
        emb: int = 128              # time + condition embedding width
        cond_dropout: float = 0.1   # probability of training without y (for guidance)
        guidance: float = 0.0       # classifier-free guidance weight at sampling
        sample_steps: int = 24      # ODE steps when sampling
        solver: str = "heun"        # 'heun' (2 evaluations per step) or 'euler'

    def __init__(self, config: "DiffusionModel.Config"):
        super().__init__(config.n_turns)
        self.config = c = config
        if c.solver not in ("heun", "euler"):
            raise ValueError(f"solver must be 'heun' or 'euler', got {c.solver!r}")
        self.t_mlp = nn.Sequential(nn.Linear(c.emb, c.emb), nn.GELU(), nn.Linear(c.emb, c.emb))
        self.y_mlp = nn.Sequential(nn.Linear(c.y_dim, c.emb), nn.GELU(),
                                   nn.Linear(c.emb, c.emb))
        self.null_y = nn.Parameter(torch.zeros(c.emb))
        self.pos = nn.Parameter(torch.zeros(1, c.channels, c.n_turns))
        self.inp = nn.Conv1d(1, c.channels, 3, padding=1)
        dil = [1, 2, 4, 8, 16]
        self.blocks = nn.ModuleList(_Block(c.channels, c.emb, dil[i % len(dil)])
                                    for i in range(c.n_blocks))
        self.out = nn.Conv1d(c.channels, 1, 3, padding=1)

    def velocity(self, u, t, y, *, keep=None):
        """v(u_t, t, y), (B, D); ``keep`` (B,) bool: where False, the null condition."""
        ey = self.y_mlp(y)
        if keep is not None:
            ey = torch.where(keep[:, None], ey, self.null_y.expand_as(ey))
        e = F.gelu(self.t_mlp(time_embedding(t, self.config.emb)) + ey)
        h = self.inp(u[:, None]) + self.pos
        for block in self.blocks:
            h = block(h, e)
        return self.out(F.gelu(h))[:, 0]

    def loss(self, batch, *, generator=None):
        """Flow-matching loss: mean squared error of the velocity, per angle."""
        x, y = batch
        y = self.condition(x.shape[0], y)
        u1 = x / self.x_scale
        u0 = torch.randn(u1.shape, generator=generator)
        t = torch.rand(u1.shape[0], generator=generator)
        keep = torch.rand(u1.shape[0], generator=generator) >= self.config.cond_dropout
        ut = (1 - t[:, None]) * u0 + t[:, None] * u1
        return (self.velocity(ut, t, y, keep=keep) - (u1 - u0)).pow(2).mean()

    def train_step(self, batch, optimizer, *, generator, grad_clip=0.0):
        """One optimiser step on the flow-matching loss (the loss draws noise and times from
        ``generator``, which the training loop derives from the seed and the step)."""
        loss = self.loss(batch, generator=generator)
        return self._descend(loss, optimizer, grad_clip)

    @torch.no_grad()
    def validation_score(self, x, y):
        """Flow-matching loss on (x, y) with fixed noise, always conditioned (per angle)."""
        gen = torch.Generator().manual_seed(0)
        u1 = x / self.x_scale
        total = 0.0
        for rep in range(4):                    # 4 noise draws per river: a steadier number
            u0 = torch.randn(u1.shape, generator=gen)
            t = (torch.arange(len(x)) + torch.rand(len(x), generator=gen)) / len(x)
            t = t[torch.randperm(len(x), generator=gen)]          # stratified times
            ut = (1 - t[:, None]) * u0 + t[:, None] * u1
            total += float((self.velocity(ut, t, y) - (u1 - u0)).pow(2).mean())
        return total / 4

    # -- sampling ----------------------------------------------------------------------------
    def _guided(self, u, t, y):
        tt = torch.full((u.shape[0],), t)
        v = self.velocity(u, tt, y)
        w = self.config.guidance
        if w:
            v_null = self.velocity(u, tt, y, keep=torch.zeros(u.shape[0], dtype=torch.bool))
            v = v + w * (v - v_null)
        return v

    @torch.no_grad()
    def sample(self, n: int, y=None, *, generator=None, temperature: float = 1.0,
               steps: int | None = None, exact_sinuosity: bool = True):
        """(n, T-2) turning angles in radians, in (-pi, pi].

        Parameters
        ----------
        n : int
            Number of rivers.
        y : Tensor or dict, optional
            Conditions (see :meth:`RiverModel.condition`); None draws them from the data.
        generator : torch.Generator, optional
            Source of the noise.
        temperature : float, optional
            Scale of the initial noise (1 = the model's distribution).
        steps : int, optional
            ODE steps; default ``config.sample_steps``.
        exact_sinuosity : bool, optional
            Scale each river to its condition's sinuosity (:func:`match_sinuosity`).
            Default True.

        Examples
        --------
        >>> m = DiffusionModel(DiffusionModel.Config(n_turns=6, channels=8, n_blocks=1))
        >>> m.sample(2, steps=3, generator=torch.Generator().manual_seed(0)).shape
        torch.Size([2, 6])
        """
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        steps = self.config.sample_steps if steps is None else int(steps)
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        y = self.condition(n, y, generator=generator)
        u = torch.randn(n, self.n_turns, generator=generator) * temperature
        dt = 1.0 / steps
        for i in range(steps):
            t = i * dt
            v = self._guided(u, t, y)
            if self.config.solver == "heun":
                u_end = u + dt * v
                u = u + 0.5 * dt * (v + self._guided(u_end, t + dt, y))
            else:
                u = u + dt * v
        x = u * self.x_scale
        return match_sinuosity(x, y) if exact_sinuosity else wrap_angle(x)

    def _sample(self, n, y, generator, temperature):
        return self.sample(n, y, generator=generator, temperature=temperature,
                           exact_sinuosity=False)
