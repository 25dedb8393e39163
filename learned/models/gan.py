"""Conditional GAN over a whole river's turning angles.

Generator g(z, y): an MLP lifts (z, y) to a short sequence of feature vectors, which 1-D
convolutions upsample to the T-2 standardised turning angles. The critic sees the angles
*and the path they make* (headings h = cumsum(x) as cos h, sin h, and the canonical xy path:
start at the origin, chord along +x, chord length 1), since the shape features a classifier
judges (sinuosity, meander wavelength, self-intersections) are plain in xy and buried in the
angles. It is a projection critic (Miyato & Koyama 2018, "cGANs with Projection
Discriminator"): score = psi(phi(x)) + <embed(y), phi(x)>, with spectral normalisation on
every layer (Miyato et al. 2018) and the hinge loss. The generator also pays
``sinuosity_weight`` * |log realised - log requested sinuosity|, an auxiliary regression term
that makes the condition bind (as in AC-GAN, Odena et al. 2017).

With ``resample = K`` (the shipped model: 32) sampling corrects the generator's bias by
importance resampling (:mod:`learned.models._resample`; Grover et al. 2019, "Bias Correction
of Learned Generative Models using Likelihood-Free Importance Weighting"): once training ends,
``after_training`` fits a classifier (the critic's architecture without spectral
normalisation, logistic loss) to tell training rivers from the generator's samples, and each
river is one of K candidates kept with probability proportional to exp(its logit). The
candidates are scored as ``sample`` returns them (mirrored, matched to the requested
sinuosity); as sampling mirrors them, the classifier is fitted on training rivers and their
mirror images. With ``ratio_trees`` (the shipped model: 200 trees of depth 3) boosted trees on
the candidates' path statistics, fitted from the network's logit, correct it: the network
alone left the shipped GAN's rivers under 100 km at C2ST 0.610 (boosted trees), with them
and 32 candidates 0.572 (its strongest view, the coordinates MLP). The shipped GAN (batches
of 32, 90 epochs, ``latent=128``, ``critic_batch_std``, ``ratio_lr=3e-4``) scores
0.519-0.557 over the four views of the classifier two-sample test (``learned.evaluate``;
0.540-0.572 with the network alone and 16 candidates); an earlier one trained for a third as
many steps (batches of 64, 60 epochs), 0.592-0.645, and those weights drawn plainly, 0.648
(coordinates) and 0.678 (path statistics) in one draw.

With ``critic_batch_std`` the critic also sees how much rivers differ within groups of four
("minibatch standard deviation", Karras et al. 2018, "Progressive Growing of GANs"), so a
generator whose rivers are too alike is told apart: with it and a latent of 128, the spread
of short rivers' smoothness widened towards the real one.

A GAN has no likelihood (it declares ``likelihood = None``; ``log_prob`` raises), and the
evaluation table shows a dash.
Its validation score (``feature_w1``) is a sample-quality number: the mean, over a few path
statistics, of the 1-Wasserstein distance between samples for the validation conditions and
the validation rivers, divided by the statistic's spread, plus the median absolute log
sinuosity error.

>>> import torch
>>> from learned.models.gan import GANModel
>>> model = GANModel(GANModel.Config(n_turns=12, hidden=16, channels=8, critic_channels=8))
>>> _ = model.fit_data(0.3 * torch.randn(32, 12), torch.randn(32, 2))
>>> model.sample(3, generator=torch.Generator().manual_seed(0)).shape
torch.Size([3, 12])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._torch import torch
import torch.nn.functional as F
from torch import nn

from ._resample import PathClassifier, Resampling, path_channels
from .base import RiverModel, match_sinuosity, sinuosity_error, sinuosity_of

__all__ = ["GANModel", "path_channels", "sinuosity_of"]


class _Generator(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.l0 = math.ceil(c.n_turns / 4)                      # upsampled twice by 2
        self.lift = nn.Sequential(
            nn.Linear(c.latent + c.y_dim, c.hidden), nn.GELU(),
            nn.Linear(c.hidden, c.hidden), nn.GELU(),
            nn.Linear(c.hidden, c.channels * self.l0))
        ch = c.channels
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv1d(ch + c.y_dim, ch, 5, padding=2), nn.GELU(),
                          nn.Conv1d(ch, ch, 5, padding=2), nn.GELU())
            for _ in range(3))
        self.out = nn.Conv1d(ch, 1, 5, padding=2)

    def forward(self, z, y):                                              # (B, Z), (B, 2)
        b = z.shape[0]
        h = self.lift(torch.cat([z, y], 1)).view(b, self.c.channels, self.l0)
        for i, block in enumerate(self.blocks):
            if i:                                                         # 2 upsamplings
                h = F.interpolate(h, scale_factor=2, mode="linear", align_corners=False)
            yy = y[:, :, None].expand(b, y.shape[1], h.shape[2])
            h = h + block(torch.cat([h, yy], 1))
        u = self.out(h)[:, 0]                                             # (B, 4 l0)
        start = (u.shape[1] - self.c.n_turns) // 2
        return u[:, start:start + self.c.n_turns]


def _stats(x):
    """Per-river statistics for the validation score, (B, 5)."""
    u = x - x.mean(1, keepdim=True)
    ac = (u[:, 1:] * u[:, :-1]).mean(1) / u.pow(2).mean(1).clamp_min(1e-12)
    return torch.stack([torch.log(sinuosity_of(x)), x.std(1), x.abs().mean(1), ac,
                        (x[:, 1:] - x[:, :-1]).abs().mean(1)], 1)


def _w1(a, b, n_q=200):
    q = (torch.arange(n_q, dtype=torch.float64) + 0.5) / n_q
    return (torch.quantile(a.double(), q) - torch.quantile(b.double(), q)).abs().mean()


class GANModel(Resampling, RiverModel):
    """Conditional hinge GAN with a spectrally normalised projection critic on angles and
    path."""

    #: No likelihood of any kind: the evaluation shows a dash.
    likelihood = None
    validation_name = "feature_w1"

    @dataclass
    class Config:
        n_turns: int = 126          # D = T - 2 angles per river
        y_dim: int = 2              # (sinuosity, log10 length), encoded
        latent: int = 32            # dimension of z
        hidden: int = 256           # generator MLP width, critic head width
        channels: int = 64          # generator conv channels
        critic_channels: int = 64   # critic conv channels (x2 after the first stride)
        #: the critic also sees how much rivers differ within groups of 4 ("minibatch
        #: standard deviation", Karras et al. 2018), so a generator whose rivers are too alike
        #: is told apart
        critic_batch_std: bool = False
        critic_steps: int = 2       # critic updates per generator update
        critic_lr_scale: float = 2.0  # critic learning rate / generator learning rate
        sinuosity_weight: float = 1.0  # weight of the generator's sinuosity regression term
        #: sampling mirrors each river (x -> -x) on an independent fair coin. Real rivers
        #: are mirror-symmetric as a population (mean turn and mean lateral offset 0); the
        #: shipped generator learned a bias to one side, which the coin removes and which a
        #: classifier had used (C2ST, coordinates view, 0.80 -> 0.73). A mixture of a model
        #: and its mirror image is never further from a symmetric distribution (convexity).
        mirror: bool = True
        #: candidates per river for importance resampling by the fitted density ratio
        #: (``after_training``); 0 = none
        resample: int = 0
        ratio_epochs: int = 40      # epochs of the density-ratio classifier's fit
        ratio_lr: float = 1e-3      # its Adam learning rate
        #: rounds of boosted trees on path statistics added to its logit (0 = none)
        ratio_trees: int = 0
        ratio_tree_depth: int = 2   # their depth

    def __init__(self, config: "GANModel.Config"):
        super().__init__(config.n_turns)
        self.config = config
        self.generator = _Generator(config)
        self.critic = PathClassifier(channels=config.critic_channels, hidden=config.hidden,
                                     y_dim=config.y_dim, batch_std=config.critic_batch_std)
        # the density ratio: the critic's architecture without spectral normalisation
        self._init_resampling(config, channels=config.critic_channels, hidden=config.hidden)

    # -- the training loop's hooks -----------------------------------------------------------
    def make_optimizer(self, *, lr, weight_decay=0.0):
        """One Adam with two parameter groups; ``lr_scale`` sets the critic's rate relative
        to the generator's under the loop's schedule. betas (0, 0.9), as usual for GANs:
        momentum lags behind a moving target."""
        return torch.optim.Adam([
            {"params": list(self.generator.parameters()), "lr_scale": 1.0},
            {"params": list(self.critic.parameters()),
             "lr_scale": self.config.critic_lr_scale}],
            lr=lr, betas=(0.0, 0.9), weight_decay=weight_decay)

    def _fake(self, y, generator):
        z = torch.randn(y.shape[0], self.config.latent, generator=generator)
        return self.generator(z, y)                                          # standardised

    def _score(self, u, y):
        return self.critic(u, u * self.x_scale, y)

    def train_step(self, batch, optimizer, *, generator, grad_clip=0.0):
        """``critic_steps`` critic updates (hinge loss), then one generator update; both
        in the one optimizer (gradients of the other network are dropped before each
        step). Returns the critic's hinge loss."""
        x, y = batch
        u = x / self.x_scale
        g_params = list(self.generator.parameters())
        c_params = list(self.critic.parameters())
        for _ in range(self.config.critic_steps):
            with torch.no_grad():
                fake = self._fake(y, generator)
            d_loss = F.relu(1 - self._score(u, y)).mean() + F.relu(1 + self._score(fake, y)).mean()
            optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            if grad_clip:
                nn.utils.clip_grad_norm_(c_params, grad_clip)
            optimizer.step()
        fake = self._fake(y, generator)
        sin_err = sinuosity_error(fake * self.x_scale, y).mean()
        g_loss = -self._score(fake, y).mean() + self.config.sinuosity_weight * sin_err
        optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        for p in c_params:
            p.grad = None
        if grad_clip:
            nn.utils.clip_grad_norm_(g_params, grad_clip)
        optimizer.step()
        return float(d_loss.detach())

    def loss(self, batch, *, generator=None):
        """The critic's hinge loss on a batch (what ``train_step`` reports; a GAN is trained
        by ``train_step``, not by minimising this)."""
        x, y = batch
        y = self.condition(x.shape[0], y)
        fake = self._fake(y, generator)
        return (F.relu(1 - self._score(x / self.x_scale, y)).mean()
                + F.relu(1 + self._score(fake, y)).mean())

    @torch.no_grad()
    def validation_score(self, x, y):
        """Mean over path statistics of W1(samples, rivers) / std(rivers), plus the median
        |log realised - log requested sinuosity| (lower is better; fixed noise)."""
        gen = torch.Generator().manual_seed(0)
        fake = match_sinuosity(self._draw(len(x), y, gen, 1.0), y)
        sf, sr = _stats(fake), _stats(x)
        w = torch.stack([_w1(sf[:, j], sr[:, j]) / sr[:, j].double().std().clamp_min(1e-9)
                         for j in range(sr.shape[1])])
        sin_err = sinuosity_error(fake, y).median()
        return float(w.mean() + sin_err)

    # -- sampling ----------------------------------------------------------------------------
    def _noise(self, n, generator, temperature):
        """z (n, latent), scaled by the temperature, then the mirror coins (n,) or None."""
        z = torch.randn(n, self.config.latent, generator=generator) * temperature
        coin = torch.rand(n, generator=generator) if self.config.mirror else None
        return z, coin

    def _generate(self, z, coin, y):
        x = self.generator(z, y) * self.x_scale
        return x if coin is None else torch.where((coin < 0.5)[:, None], -x, x)
