"""Importance resampling by a fitted density ratio, for any family that samples from explicit
noise (Grover et al. 2019, "Bias Correction of Learned Generative Models using
Likelihood-Free Importance Weighting").

Once training ends, a classifier c(x, y) is fitted to tell training rivers from the model's
samples for their conditions (logistic loss, fresh samples every epoch, the epoch with the
lowest loss on a held-out tenth kept). Its logit estimates log p_data(x | y) / p_model(x | y),
so drawing K candidates for a condition and keeping one with probability proportional to
exp(logit) draws from a distribution closer to the data's. Candidates are scored as
``sample`` returns them (matched to the requested sinuosity). The classifier,
:class:`PathClassifier`, sees the turning angles and the path they draw; the GAN's critic is
the same network with spectral normalisation.

A family mixes in :class:`Resampling` and defines ``_noise(n, generator, temperature)`` (a
tuple of tensors, or ``None`` entries, whose first dimension is the river) and
``_generate(*noise, y)`` (angles in radians). All noise is drawn first, K candidates per
river, then one uniform per river picks by the inverse CDF of softmax(logit), so
``learned.runtime`` replays the same rivers from the same noise.

With ``ratio_trees = R`` the logit gets a second term: boosted trees (depth
``ratio_tree_depth``) on the path statistics of :func:`learned._features.river_features` and
y, fitted after the network with its logit as their starting point, so that they learn what
it misses (log-loss boosting from an offset; Friedman 2001, "Greedy Function Approximation").
The network sees the angles through convolutions and pooling; the trees see statistics such
as quantiles of |angle| and sign-change rates, on which the shipped GAN's short rivers
(under 100 km) had stayed apart from real ones (C2ST 0.610 on boosted trees). They are
stored as arrays (:class:`TreeRatio`) that the torch-free runtime evaluates alike.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from .._features import ALWAYS_LEFT, ratio_rows, tree_logit
from .._metrics import BoostedTrees
from .._torch import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .base import _headings, match_sinuosity, sinuosity_of

__all__ = ["PathClassifier", "Resampling", "TreeRatio", "path_channels"]


def path_channels(x):
    """Inputs of :class:`PathClassifier` from the path: cos h, sin h and the canonical x, y
    of the D+1 segment ends of angles ``x`` (B, D) radians, (B, 4, D+1)."""
    h = _headings(x)
    step = torch.stack([torch.cos(h), torch.sin(h)], 1)                   # (B, 2, D+1)
    pos = torch.cumsum(step, dim=2)                                       # segment ends
    chord = pos[:, :, -1]                                                 # (B, 2)
    length = chord.norm(dim=1).clamp_min(1e-3)
    c, s = chord[:, 0] / length, chord[:, 1] / length
    px = (c[:, None] * pos[:, 0] + s[:, None] * pos[:, 1]) / length[:, None]   # rotate by -a
    py = (-s[:, None] * pos[:, 0] + c[:, None] * pos[:, 1]) / length[:, None]
    return torch.cat([step, px[:, None], py[:, None]], 1)


class PathClassifier(nn.Module):
    """A projection classifier (Miyato & Koyama 2018) on the standardised angles and the
    path they draw: strided 1-D convolutions, mean- and max-pooled, plus the log sinuosity,
    the spread and the lag-1 product of the angles; score = psi(phi(x)) + <embed(y), phi(x)>.
    ``spectral`` puts spectral normalisation on every layer (the GAN's critic); the density
    ratio, fitted with the logistic loss, needs no Lipschitz bound. ``batch_std`` adds one
    feature, how much the rivers of each group of ``GROUP`` in the batch differ (a critic's
    view of the batch; the density ratio scores rivers one by one and never has it)."""

    #: rivers per group whose spread the minibatch-deviation feature measures
    GROUP = 4

    def __init__(self, *, channels: int, hidden: int, y_dim: int, spectral: bool = True,
                 batch_std: bool = False):
        super().__init__()
        self.batch_std = batch_std
        ch = channels
        sn = spectral_norm if spectral else (lambda module: module)
        self.convs = nn.ModuleList([
            sn(nn.Conv1d(5, ch, 5, padding=2)),
            sn(nn.Conv1d(ch, ch, 5, padding=2)),
            sn(nn.Conv1d(ch, 2 * ch, 5, padding=2, stride=2)),
            sn(nn.Conv1d(2 * ch, 2 * ch, 5, padding=2)),
            sn(nn.Conv1d(2 * ch, 2 * ch, 5, padding=2, stride=2))])
        # mean- and max-pooled, plus 3 global features (and the group's spread)
        n_feat = 4 * ch + 3 + int(batch_std)
        self.head = nn.Sequential(sn(nn.Linear(n_feat, hidden)), nn.LeakyReLU(0.2),
                                  sn(nn.Linear(hidden, 1)))
        self.embed = sn(nn.Linear(y_dim, n_feat))

    def forward(self, u, x, y):                      # u standardised, x radians: (B, D)
        path = path_channels(x)                                           # (B, 4, D+1)
        h = torch.cat([F.pad(u, (0, 1))[:, None], path], 1)               # (B, 5, D+1)
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
        log_sin = torch.log(sinuosity_of(x))
        feat = torch.cat([h.mean(-1), h.amax(-1), log_sin[:, None], u.std(1)[:, None],
                          (u[:, 1:] * u[:, :-1]).mean(1)[:, None]], 1)
        if self.batch_std:
            feat = torch.cat([feat, self._group_spread(h)], 1)
        return self.head(feat)[:, 0] + (self.embed(y) * feat).sum(1)

    def _group_spread(self, h):
        """(B, 1): for each river, the spread of the convolution features over its group of
        ``GROUP`` rivers (the whole batch where it does not divide), averaged over channels
        and positions; "minibatch standard deviation", Karras et al. 2018."""
        b = h.shape[0]
        g = self.GROUP if b % self.GROUP == 0 else b
        spread = h.view(b // g, g, *h.shape[1:]).std(1, unbiased=False).mean((1, 2))
        return spread.repeat_interleave(g)[:, None]


class TreeRatio(nn.Module):
    """Boosted trees of depth ``depth`` as buffers (``feature``, ``threshold``, ``leaf``; the
    arrays of :meth:`learned._metrics.BoostedTrees.to_arrays`), scoring rivers on their path
    statistics and condition (:func:`learned._features.ratio_rows`). All zeros (score 0)
    until :meth:`Resampling.fit_ratio` sets them."""

    def __init__(self, rounds: int, depth: int):
        super().__init__()
        inner, leaves = 2 ** depth - 1, 2 ** depth
        self.register_buffer("feature", torch.zeros(rounds, inner))
        self.register_buffer("threshold", torch.full((rounds, inner), ALWAYS_LEFT,
                                                     dtype=torch.float64))
        self.register_buffer("leaf", torch.zeros(rounds, leaves))

    def forward(self, x, y):
        """The trees' score of rivers ``x`` (B, D) radians for conditions ``y`` (B, 2)."""
        rows = ratio_rows(x.detach().cpu().numpy(), y.detach().cpu().numpy())
        return torch.from_numpy(tree_logit(rows, self.feature.numpy(), self.threshold.numpy(),
                                           self.leaf.numpy())).to(x.dtype)

    def set(self, feature, threshold, leaf) -> None:
        """Take the fitted trees' arrays (shapes as the buffers')."""
        for name, value in (("feature", feature), ("threshold", threshold), ("leaf", leaf)):
            buf = getattr(self, name)
            buf.copy_(torch.as_tensor(value, dtype=buf.dtype))


class Resampling:
    """Importance resampling for a :class:`~learned.models.base.RiverModel` (a mixin; see
    the module docstring). The family's config holds ``resample`` (K candidates per river,
    0 = none), ``ratio_epochs``, ``ratio_lr``, ``ratio_trees`` (0 = the network alone) and
    ``ratio_tree_depth``; its ``__init__`` calls :meth:`_init_resampling`, and the training
    loop's ``after_training`` hook fits the ratio."""

    #: rivers whose candidates are generated and scored at once (memory, not results)
    RESAMPLE_CHUNK = 256

    def _init_resampling(self, config, *, channels: int, hidden: int) -> None:
        if config.resample < 0:
            raise ValueError(f"resample must be >= 0 (0: no resampling), got {config.resample}")
        if config.resample and config.ratio_epochs < 1:
            raise ValueError(f"ratio_epochs must be >= 1 where resample is set, got "
                             f"{config.ratio_epochs}")
        if config.resample and not config.ratio_lr > 0:
            raise ValueError(f"ratio_lr must be > 0 where resample is set, got "
                             f"{config.ratio_lr}")
        if config.ratio_trees < 0:
            raise ValueError(f"ratio_trees must be >= 0 (0: no trees), got "
                             f"{config.ratio_trees}")
        if config.ratio_trees and not 1 <= config.ratio_tree_depth <= 6:
            raise ValueError(f"ratio_tree_depth must be in 1..6 where ratio_trees is set, got "
                             f"{config.ratio_tree_depth}")
        if config.resample:
            self.ratio = PathClassifier(channels=channels, hidden=hidden, y_dim=config.y_dim,
                                        spectral=False)
            if config.ratio_trees:
                self.ratio_trees = TreeRatio(config.ratio_trees, config.ratio_tree_depth)
            # 1 once fit_ratio has run: until then sampling draws plainly
            self.register_buffer("ratio_fitted", torch.zeros(()))

    def ratio_logit(self, x, y):
        """The fitted classifier's logit, an estimate of log p_data(x | y) / p_model(x | y),
        for rivers ``x`` (B, D) radians as ``sample`` returns them: the network's, plus the
        trees' where the config has them."""
        logit = self._network_logit(x, y)
        return logit + self.ratio_trees(x, y) if self.config.ratio_trees else logit

    def _network_logit(self, x, y):
        return self.ratio(x / self.x_scale, x, y)

    def _draw(self, n, y, generator, temperature):
        """Plain draws: ``_generate`` of fresh ``_noise``."""
        return self._generate(*self._noise(n, generator, temperature), y)

    def after_training(self, turns, y) -> None:
        """The training loop's hook: :meth:`fit_ratio`."""
        self.fit_ratio(turns, y)

    def fit_ratio(self, turns, y) -> None:
        """Fit the density-ratio classifier (where ``resample`` is set) on the final weights:
        training rivers against fresh samples for their conditions each epoch, logistic
        loss, the epoch with the lowest loss on a held-out tenth kept. Where the family
        mirrors its samples on a coin (its config's ``mirror``), each training river's
        mirror image joins it, on the same side of the split. Then, where the config has
        ``ratio_trees``, the trees: on every training river (and mirror image) against one
        fresh sample for its condition, starting from the network's logit. Seeded:
        same data, same classifier."""
        if not self.config.resample:
            return
        gen = torch.Generator().manual_seed(1)
        perm = torch.randperm(len(turns), generator=gen)
        n_hold = max(1, len(turns) // 10)
        hold, fit = perm[:n_hold], perm[n_hold:]
        if getattr(self.config, "mirror", False):
            # Real rivers are mirror-symmetric as a population, and these samples are by
            # construction: a mirror image is as real as its river, and twice the rivers
            # leave the classifier fewer accidents of the sample to mistake for the model's
            # bias (the shipped GAN's C2ST 0.583 -> 0.579, under 100 km 0.624 -> 0.616).
            n = len(turns)
            turns, y = torch.cat([turns, -turns]), torch.cat([y, y])
            hold, fit = torch.cat([hold, hold + n]), torch.cat([fit, fit + n])
        opt = torch.optim.Adam(self.ratio.parameters(), lr=self.config.ratio_lr)

        def fakes(cond, g):
            with torch.no_grad():
                return match_sinuosity(self._draw(len(cond), cond, g, 1.0), cond)

        def bce(real, fake, cond):
            return (F.softplus(-self._network_logit(real, cond)).mean()
                    + F.softplus(self._network_logit(fake, cond)).mean())

        hold_fake = fakes(y[hold], torch.Generator().manual_seed(2))
        best, best_state = math.inf, None
        for _ in range(self.config.ratio_epochs):
            self.ratio.train()
            fake = fakes(y[fit], gen)
            order = torch.randperm(len(fit), generator=gen)
            for i in range(0, len(fit), 64):
                j = order[i:i + 64]
                loss = bce(turns[fit[j]], fake[j], y[fit[j]])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            self.ratio.eval()
            with torch.no_grad():
                score = float(bce(turns[hold], hold_fake, y[hold]))
            if score < best:
                best, best_state = score, copy.deepcopy(self.ratio.state_dict())
        self.ratio.load_state_dict(best_state)
        self.ratio.requires_grad_(False)
        self.ratio.eval()
        if self.config.ratio_trees:
            self._fit_trees(turns, y, fakes)
        self.ratio_fitted.fill_(1.0)

    def _fit_trees(self, turns, y, fakes) -> None:
        """Fit :class:`TreeRatio` to ``turns`` against fresh ``fakes(y, generator)``,
        boosting from the network's logit (its correction, not a second estimate)."""
        fake = fakes(y, torch.Generator().manual_seed(3))
        with torch.no_grad():
            offset = torch.cat([self._network_logit(turns, y),
                                self._network_logit(fake, y)]).double().numpy()
        rows = np.concatenate([ratio_rows(turns.numpy(), y.numpy()),
                               ratio_rows(fake.numpy(), y.numpy())])
        labels = np.r_[np.ones(len(turns)), np.zeros(len(fake))]
        trees = BoostedTrees(self.config.ratio_trees, max_depth=self.config.ratio_tree_depth)
        self.ratio_trees.set(*trees.fit(rows, labels, offset=offset).to_arrays())

    def _sample(self, n, y, generator, temperature):
        k = self.config.resample
        if not k or not self.ratio_fitted or not n:
            return self._draw(n, y, generator, temperature)
        # K candidates per river (river i's are rows i*K .. i*K+K-1), scored as sample
        # returns them, one kept with probability softmax(logit): inverse CDF of a uniform.
        # All noise is drawn first, so the chunking does not change the rivers.
        noise = self._noise(n * k, generator, temperature)
        u = torch.rand(n, generator=generator).double()
        out = []
        for i in range(0, n, self.RESAMPLE_CHUNK):
            rivers = torch.arange(i, min(n, i + self.RESAMPLE_CHUNK))
            rows = slice(i * k, (i + len(rivers)) * k)
            yk = y[rivers].repeat_interleave(k, 0)
            raw = self._generate(*(None if t is None else t[rows] for t in noise), yk)
            logit = self.ratio_logit(match_sinuosity(raw, yk), yk).view(len(rivers), k)
            cdf = torch.softmax(logit.double(), 1).cumsum(1)
            pick = (cdf < u[rivers, None]).sum(1).clamp(max=k - 1)
            out.append(raw.view(len(rivers), k, -1)[torch.arange(len(rivers)), pick])
        return torch.cat(out)
