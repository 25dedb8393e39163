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

Training minimises the NLL, plus, where ``sinuosity_weight`` is set, the sinuosity error of
one sample per condition (see :meth:`FlowModel.train_step`): on likelihood alone the flow's
raw samples miss the requested sinuosity by a median 0.11, as sinuosity is a property of the
whole path that local coupling layers see only piecemeal. The shipped flow is trained on
likelihood alone (``sinuosity_weight=0``, 12 coupling layers, batches mirrored): ``sample``
matches each river's sinuosity exactly anyway (:func:`learned.models.base.match_sinuosity`),
and the term cost realism (C2ST on path statistics 0.647 for the weights trained with it,
0.625 retrained without it, 8 layers both).

With ``resample = K`` (the shipped flow: 16) its samples are importance-resampled by a density
ratio fitted once training ends, as the GAN's are (:mod:`learned.models._resample`; Grover et
al. 2019): one of K candidates per river is kept with probability proportional to the
exponential of a classifier's logit. That took the shipped flow's classifier two-sample test
(``learned.evaluate``, strongest of four views) from 0.581 to 0.564, at 16 times the sampling
cost. ``log_prob`` stays the flow's own density, before resampling: the resampled one is
known only up to the classifier's normaliser, which is not computed.

The conditioners are channels-last convolutions (:class:`SeqConv`), which sample about twice as
fast on CPU as ``nn.Conv1d``.

Durkan, C., Bekasov, A., Murray, I. & Papamakarios, G. (2019). "Neural Spline Flows".
NeurIPS. The spline below is written from the paper's equations (4)-(8) and its appendix A.3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._torch import torch
import torch.nn.functional as F
from torch import nn

from ._resample import Resampling
from .base import RiverModel, sinuosity_error

__all__ = ["FlowModel", "SeqConv", "rq_spline"]


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


class SeqConv(nn.Module):
    """A 1-D convolution over (B, L, C) channels-last sequences, zero-padded to length L.

    Written as one matrix product of the ``kernel`` shifted copies (im2col): for the few
    dozen channels here that runs about twice as fast on CPU as ``nn.Conv1d`` on (B, C, L),
    and keeping channels last makes every 1x1 step a plain ``nn.Linear``. ``weight[o, i *
    c_in + c]`` is tap ``i`` of input channel ``c`` (``Conv1d``'s ``weight[o, c, i]``).

    Examples
    --------
    >>> conv = SeqConv(2, 3, kernel=5, dilation=2)
    >>> ref = nn.Conv1d(2, 3, 5, padding=4, dilation=2)
    >>> with torch.no_grad():
    ...     _ = ref.weight.copy_(conv.weight.view(3, 5, 2).permute(0, 2, 1))
    ...     _ = ref.bias.copy_(conv.bias)
    >>> x = torch.randn(4, 9, 2, generator=torch.Generator().manual_seed(0))
    >>> torch.allclose(conv(x), ref(x.transpose(1, 2)).transpose(1, 2), atol=1e-5)
    True
    """

    def __init__(self, c_in: int, c_out: int, *, kernel: int, dilation: int = 1):
        super().__init__()
        if kernel % 2 != 1:
            raise ValueError(f"kernel must be odd, got {kernel}")
        self.kernel, self.dilation = kernel, dilation
        ref = nn.Conv1d(c_in, c_out, kernel)          # Conv1d's default initialisation
        self.weight = nn.Parameter(ref.weight.detach().permute(0, 2, 1).reshape(c_out, -1))
        self.bias = nn.Parameter(ref.bias.detach().clone())

    def forward(self, h):                                                      # (B, L, C)
        length, d = h.shape[1], self.dilation
        pad = d * (self.kernel - 1) // 2
        hp = F.pad(h, (0, 0, pad, pad))
        cols = torch.cat([hp[:, i * d:i * d + length] for i in range(self.kernel)], -1)
        return F.linear(cols, self.weight, self.bias)


class _ResBlock(nn.Module):
    """Dilated residual block; y (and, with ``pooled``, the mean of the features over the
    whole river) enters as a per-channel bias, so every position knows the condition and
    the river's global state, which a local convolution alone cannot see."""

    def __init__(self, channels: int, kernel: int, dilation: int, y_dim: int, pooled: bool):
        super().__init__()
        self.pooled = pooled
        self.bias = nn.Linear(y_dim + (channels if pooled else 0), channels)
        self.conv1 = SeqConv(channels, channels, kernel=kernel, dilation=dilation)
        self.conv2 = nn.Linear(channels, channels)

    def forward(self, h, y):                                                   # (B, L, C)
        ctx = torch.cat([y, h.mean(1)], 1) if self.pooled else y
        g = F.gelu(h + self.bias(ctx)[:, None, :])
        return h + self.conv2(F.gelu(self.conv1(g)))


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
                 *, kernel: int = 5, dilations=(1, 2, 4), pooled: bool = True):
        super().__init__()
        self.register_buffer("keep_mask", mask.float(), persistent=False)
        self.register_buffer("move", torch.nonzero(~mask)[:, 0], persistent=False)
        self.register_buffer("pos", torch.linspace(-1.0, 1.0, len(mask)), persistent=False)
        self.bins, self.bound = bins, bound
        self.inp = SeqConv(3 + y_dim, hidden, kernel=kernel)
        self.blocks = nn.ModuleList(_ResBlock(hidden, kernel, d, y_dim, pooled)
                                    for d in dilations)
        self.out = nn.Linear(hidden, 3 * bins - 1)
        nn.init.zeros_(self.out.weight)          # identity at initialisation
        nn.init.zeros_(self.out.bias)

    def forward(self, x, y, inverse=False):                                    # x: (B, D)
        b, d = x.shape
        k = self.bins
        y = y.to(x.dtype)
        chans = torch.cat([torch.stack([x * self.keep_mask, self.keep_mask.expand(b, d),
                                        self.pos.to(x.dtype).expand(b, d)], dim=-1),
                           y[:, None, :].expand(b, d, y.shape[1])], -1)         # (B, D, 3+Y)
        h = self.inp(chans)
        for block in self.blocks:
            h = block(h, y)
        params = self.out(h[:, self.move])                                     # (B, Dm, 3K-1)
        w, h, dd = params[..., :k], params[..., k:2 * k], params[..., 2 * k:]
        moved, ld = rq_spline(x[:, self.move], w, h, dd, inverse=inverse, bound=self.bound)
        out = x.clone()
        out[:, self.move] = moved
        return out, ld.sum(-1)


class FlowModel(Resampling, RiverModel):
    """Conditional neural spline flow over the whole sequence of turning angles."""

    @dataclass
    class Config:
        n_turns: int = 126          # D = T - 2 angles per river
        y_dim: int = 2              # (sinuosity, log10 length), encoded
        n_layers: int = 8           # coupling layers
        hidden: int = 32            # channels of each convolutional conditioner
        kernel: int = 5             # conditioner kernel size (dilations 1, 2, 4)
        pooled: bool = True         # conditioner blocks see the river-wide mean feature
        bins: int = 8               # spline bins of the coupling layers
        tail_bound: float = 4.0     # coupling splines act on [-B, B] (standardised units)
        marginal_bins: int = 16     # bins of the first, per-position spline
        sinuosity_weight: float = 1.0   # weight of the samples' sinuosity term (0: pure MLE)
        #: candidates per river for importance resampling by a density ratio fitted once
        #: training ends (``learned.models._resample``); 0 = none
        resample: int = 0
        ratio_epochs: int = 40      # epochs of the density-ratio classifier's fit
        ratio_lr: float = 1e-3      # its Adam learning rate
        #: rounds of boosted trees on path statistics added to its logit (0 = none)
        ratio_trees: int = 0
        ratio_tree_depth: int = 2   # their depth
        ratio_channels: int = 32    # its convolution channels (x2 after the first stride)
        ratio_hidden: int = 256     # its head's width

    def __init__(self, config: "FlowModel.Config"):
        super().__init__(config.n_turns)
        self.config = config
        d = config.n_turns
        self.register_buffer("v_scale", torch.tensor(1.0))
        self.marginal = MarginalSpline(d, config.marginal_bins, bound=config.tail_bound)
        # On the CPU even when the module is built on the meta device (to size it before
        # allocating): the masks are constants whose nonzero() the meta device cannot compute.
        pos = torch.arange(d, device="cpu")
        # Local masks (alternate angles, alternate pairs), so every moved angle has kept
        # neighbours within the conditioner's reach.
        masks = [pos % 2 == 0, pos % 2 == 1, (pos // 2) % 2 == 0, (pos // 2) % 2 == 1]
        self.layers = nn.ModuleList(
            Coupling(masks[i % 4], config.y_dim, config.hidden, config.bins,
                     config.tail_bound, kernel=config.kernel, pooled=config.pooled)
            for i in range(config.n_layers))
        self._init_resampling(config, channels=config.ratio_channels,
                              hidden=config.ratio_hidden)

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

    def log_prob(self, x, y):                                                  # (B,) nats
        y = self.scored_condition(x, y)
        z, logdet = self(x, y)
        base = -0.5 * (z ** 2).sum(-1) - 0.5 * self.n_turns * math.log(2 * math.pi)
        return base + logdet

    def train_step(self, batch, optimizer, *, generator, grad_clip=0.0):
        """One optimiser step on the NLL per angle plus ``sinuosity_weight`` times the mean
        |log realised - log requested sinuosity| (capped at 1) of one sample per batch
        condition.

        Why the second term: likelihood alone leaves the realised sinuosity of the flow's
        samples loose (median error 0.11 at sinuosity_weight 0), since sinuosity is a
        property of the whole path that the local coupling layers only see piecemeal. The
        term goes through the sampler (the inverse pass), as in the GAN. Returns the loss.
        """
        x, y = batch
        y = self.condition(x.shape[0], y)
        loss = self.loss((x, y))
        if self.config.sinuosity_weight:
            z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
            # capped: a sample whose path nearly closes on itself has a huge sinuosity and
            # a gradient ~ 1/chord that would swamp the step; the likelihood handles those
            err = sinuosity_error(self.inverse(z, y), y).clamp(max=1.0)
            loss = loss + self.config.sinuosity_weight * err.mean()
        return self._descend(loss, optimizer, grad_clip)

    #: Rivers per inverse pass when sampling: the conditioner's activations for a few
    #: hundred rivers stay in cache, which samples 1.3-2x faster per river than one pass
    #: over 2,000 (measured on a 2-core CPU).
    SAMPLE_CHUNK = 512

    def _noise(self, n, generator, temperature):
        """z (n, D), scaled by the temperature."""
        return (torch.randn(n, self.n_turns, generator=generator) * temperature,)

    def _generate(self, z, y):
        k = self.SAMPLE_CHUNK                   # one (empty) pass where there are no rivers
        return torch.cat([self.inverse(z[i:i + k], y[i:i + k])
                          for i in range(0, max(len(z), 1), k)])
