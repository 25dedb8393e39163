"""Conditional normalizing flow over a whole river's turning angles.

x (B, D) turning angles, D = T-2  ->  z (B, D) ~ N(0, I), given y (B, 2):

1. squash the heavy tails with a fixed map: v = asinh(x / x_scale) / v_scale (x_scale the
   training angles' std, v_scale the std of asinh(x / x_scale); both fixed buffers);
2. a marginal rational-quadratic spline per position (unconditional), which learns the
   shape of each position's angle distribution;
3. ``n_layers`` conditional coupling layers: half of the positions (alternately the even and
   the odd ones, then alternate pairs) pass unchanged and, with y, parametrise a
   rational-quadratic spline on the other half (identity outside [-tail_bound, tail_bound])
   through a small 1-D convolutional network.

log p(x | y) = log N(z; 0, I) + sum of the log-determinants (change of variables).

Durkan, C., Bekasov, A., Murray, I. & Papamakarios, G. (2019). "Neural Spline Flows".
NeurIPS. The spline below is written from the paper's equations (4)-(8) and its appendix A.3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .base import RiverModel

__all__ = ["FlowModel", "rq_spline"]


def rq_spline(x, w, h, d, *, inverse=False, bound=3.0, min_width=1e-3, min_height=1e-3,
              min_derivative=1e-3):
    """Monotone rational-quadratic spline on [-bound, bound], the identity outside.

    Parameters
    ----------
    x : Tensor, shape (...)
        Inputs (outputs of the forward map when ``inverse``).
    w, h : Tensor, shape (..., K)
        Unnormalised bin widths and heights (softmax-ed).
    d : Tensor, shape (..., K - 1)
        Unnormalised derivatives at the K - 1 interior knots (softplus-ed; a raw 0 gives a
        derivative of 1); the derivative at both ends is 1, so the map is C1 at the tails.
    inverse : bool
        Evaluate the inverse map.

    Returns
    -------
    (Tensor, Tensor)
        The mapped values (...) and log |d out / d in| (...) elementwise.
    """
    k = w.shape[-1]
    inside = (x >= -bound) & (x <= bound)
    xc = x.clamp(-bound, bound)

    def knots(raw, minimum):
        p = minimum + (1 - minimum * k) * torch.softmax(raw, dim=-1)           # (..., K)
        c = F.pad(torch.cumsum(p, dim=-1), (1, 0))                              # (..., K+1)
        c = 2 * bound * c - bound
        c = torch.cat([torch.full_like(c[..., :1], -bound), c[..., 1:-1],
                       torch.full_like(c[..., :1], bound)], dim=-1)
        return c, c[..., 1:] - c[..., :-1]

    cw, widths = knots(w, min_width)
    ch, heights = knots(h, min_height)
    shift = math.log(math.expm1(1 - min_derivative))      # softplus(0 + shift) = 1 - min
    deriv = min_derivative + F.softplus(d + shift)                              # (..., K-1)
    ones = torch.ones_like(deriv[..., :1])
    deriv = torch.cat([ones, deriv, ones], dim=-1)                              # (..., K+1)

    edges = ch if inverse else cw
    idx = torch.searchsorted(edges[..., 1:-1].contiguous(), xc[..., None].contiguous(),
                             right=True)                                        # (..., 1)
    gather = lambda t: t.gather(-1, idx)[..., 0]                                # noqa: E731
    x_k, w_k = gather(cw), gather(widths)
    y_k, h_k = gather(ch), gather(heights)
    d_k, d_k1 = gather(deriv[..., :-1]), gather(deriv[..., 1:])
    s = h_k / w_k
    if not inverse:
        theta = (xc - x_k) / w_k
        t1m = theta * (1 - theta)
        denom = s + (d_k1 + d_k - 2 * s) * t1m
        out = y_k + h_k * (s * theta ** 2 + d_k * t1m) / denom
    else:
        dy = xc - y_k
        a = h_k * (s - d_k) + dy * (d_k1 + d_k - 2 * s)
        b = h_k * d_k - dy * (d_k1 + d_k - 2 * s)
        c = -s * dy
        disc = (b * b - 4 * a * c).clamp_min(0)
        theta = (2 * c) / (-b - torch.sqrt(disc))
        t1m = theta * (1 - theta)
        denom = s + (d_k1 + d_k - 2 * s) * t1m
        out = theta * w_k + x_k
    logdet = (2 * torch.log(s) + torch.log(d_k1 * theta ** 2 + 2 * s * t1m
                                           + d_k * (1 - theta) ** 2) - 2 * torch.log(denom))
    if inverse:
        logdet = -logdet
    out = torch.where(inside, out, x)
    logdet = torch.where(inside, logdet, torch.zeros_like(logdet))
    return out, logdet


class MarginalSpline(nn.Module):
    """One unconditional spline per position (identity at initialisation)."""

    def __init__(self, dim: int, bins: int, bound: float):
        super().__init__()
        self.bound = bound
        self.w = nn.Parameter(torch.zeros(dim, bins))
        self.h = nn.Parameter(torch.zeros(dim, bins))
        self.d = nn.Parameter(torch.zeros(dim, bins - 1))

    def forward(self, x, inverse=False):                                        # x: (B, D)
        b = x.shape[0]
        expand = lambda t: t.expand(b, *t.shape)                                # noqa: E731
        out, ld = rq_spline(x, expand(self.w), expand(self.h), expand(self.d),
                            inverse=inverse, bound=self.bound)
        return out, ld.sum(-1)


class _ResBlock(nn.Module):
    def __init__(self, channels: int, kernel: int, dilation: int):
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.conv1 = nn.Conv1d(channels, channels, kernel, padding=pad, dilation=dilation)
        self.conv2 = nn.Conv1d(channels, channels, 1)

    def forward(self, h):
        return h + self.conv2(F.gelu(self.conv1(F.gelu(h))))


class Coupling(nn.Module):
    """x[mask] passes; x[~mask] goes through a spline parametrised by (x[mask], y).

    The conditioner is a 1-D convolutional network over the whole sequence, which sees the
    kept angles (the moved ones zeroed), the mask, the condition y and the position, and
    emits spline parameters at every position, of which the moved ones are used. Its weights
    are shared along the river, so it learns local meander structure rather than memorising
    whole training rivers (an MLP conditioner over 62 angles overfits 3,800 rivers within a
    few epochs).
    """

    def __init__(self, mask: torch.Tensor, y_dim: int, hidden: int, bins: int, bound: float,
                 *, kernel: int = 5, dilations=(1, 2, 4)):
        super().__init__()
        self.register_buffer("keep_mask", mask.float(), persistent=False)
        self.register_buffer("move", torch.nonzero(~mask)[:, 0], persistent=False)
        self.register_buffer("pos", torch.linspace(-1.0, 1.0, len(mask)), persistent=False)
        self.bins, self.bound = bins, bound
        self.inp = nn.Conv1d(3 + y_dim, hidden, kernel, padding=(kernel - 1) // 2)
        self.blocks = nn.Sequential(*[_ResBlock(hidden, kernel, d) for d in dilations])
        self.out = nn.Conv1d(hidden, 3 * bins - 1, 1)
        nn.init.zeros_(self.out.weight)          # identity at initialisation
        nn.init.zeros_(self.out.bias)

    def forward(self, x, y, inverse=False):                                    # x: (B, D)
        b, d = x.shape
        k = self.bins
        chans = torch.stack([x * self.keep_mask, self.keep_mask.expand(b, d),
                             self.pos.to(x.dtype).expand(b, d)], dim=1)          # (B, 3, D)
        chans = torch.cat([chans, y[:, :, None].to(x.dtype).expand(b, y.shape[1], d)], 1)
        params = self.out(self.blocks(self.inp(chans)))                        # (B, 3K-1, D)
        params = params[:, :, self.move].transpose(1, 2)                       # (B, Dm, 3K-1)
        w, h, dd = params[..., :k], params[..., k:2 * k], params[..., 2 * k:]
        moved, ld = rq_spline(x[:, self.move], w, h, dd, inverse=inverse, bound=self.bound)
        out = x.clone()
        out[:, self.move] = moved
        return out, ld.sum(-1)


class FlowModel(RiverModel):
    """Conditional neural spline flow over the whole sequence of turning angles."""

    @dataclass
    class Config:
        n_turns: int = 126          # D = T - 2 angles per river
        y_dim: int = 2              # (sinuosity, log10 length), encoded
        n_layers: int = 8           # coupling layers
        hidden: int = 64            # channels of each convolutional conditioner
        kernel: int = 5             # conditioner kernel size (dilations 1, 2, 4)
        bins: int = 8               # spline bins of the coupling layers
        tail_bound: float = 4.0     # coupling splines act on [-B, B] (standardised units)
        marginal_bins: int = 16     # bins of the first, per-position spline

    def __init__(self, config: "FlowModel.Config"):
        super().__init__(config.n_turns)
        self.config = config
        d = config.n_turns
        self.register_buffer("v_scale", torch.tensor(1.0))
        self.marginal = MarginalSpline(d, config.marginal_bins, bound=config.tail_bound)
        pos = torch.arange(d)
        # Local masks (alternate angles, alternate pairs), so every moved angle has kept
        # neighbours within the conditioner's reach.
        masks = [pos % 2 == 0, pos % 2 == 1, (pos // 2) % 2 == 0, (pos // 2) % 2 == 1]
        self.layers = nn.ModuleList(
            Coupling(masks[i % 4], config.y_dim, config.hidden, config.bins,
                     config.tail_bound, kernel=config.kernel) for i in range(config.n_layers))

    @torch.no_grad()
    def fit_data(self, turns, y, *, generator=None):
        super().fit_data(turns, y, generator=generator)
        self.v_scale.copy_(torch.asinh(turns.float() / self.x_scale).std().clamp_min(1e-4))
        return self

    def forward(self, x, y):
        """x (B, D) -> (z (B, D), log|det dz/dx| (B,))."""
        u = x / self.x_scale                                                    # (B, D)
        logdet = (-0.5 * torch.log1p(u * u).sum(-1)
                  - self.n_turns * (torch.log(self.x_scale) + torch.log(self.v_scale)))
        u, ld = self.marginal(torch.asinh(u) / self.v_scale)
        logdet = logdet + ld
        for layer in self.layers:
            u, ld = layer(u, y)
            logdet = logdet + ld
        return u, logdet

    def inverse(self, z, y):
        """z (B, D) -> x (B, D)."""
        u = z
        for layer in reversed(self.layers):
            u, _ = layer(u, y, inverse=True)
        u, _ = self.marginal(u, inverse=True)
        return torch.sinh(u * self.v_scale) * self.x_scale

    def log_prob(self, x, y=None):                                             # (B,) nats
        y = self.condition(x.shape[0], y)
        z, logdet = self(x, y)
        base = -0.5 * (z ** 2).sum(-1) - 0.5 * self.n_turns * math.log(2 * math.pi)
        return base + logdet

    def _sample(self, n, y, generator, temperature):
        z = torch.randn(n, self.n_turns, generator=generator) * temperature
        return self.inverse(z, y)
