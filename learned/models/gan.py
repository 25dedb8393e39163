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

With ``resample = K`` (the shipped model: 16) sampling corrects the generator's bias by
importance resampling (Grover et al. 2019, "Bias Correction of Learned Generative Models
using Likelihood-Free Importance Weighting"): once training ends, ``after_training`` fits a
classifier c(x, y) (the critic's architecture, logistic loss, fresh samples every epoch) to
tell training rivers from the generator's samples. Its logit estimates log p_data(x | y) /
p_g(x | y), so drawing K candidates for a condition and keeping one with probability
proportional to exp(logit) draws from a distribution closer to the data's. The candidates are
scored as ``sample`` returns them (mirrored, matched to the requested sinuosity). With
K = 16 the shipped GAN scores 0.592-0.645 over the four views of the classifier two-sample
test (``learned.evaluate``); a generator trained the same way, drawn plainly, scored 0.648
(coordinates) and 0.678 (path statistics) in one draw.

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

import copy
import math
from dataclasses import dataclass

from .._torch import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .base import RiverModel, _headings, match_sinuosity, sinuosity_error, sinuosity_of

__all__ = ["GANModel", "path_channels", "sinuosity_of"]


def path_channels(x):
    """Critic inputs of the path: cos h, sin h and the canonical x, y of the D+1 segment
    ends, (B, 4, D+1)."""
    h = _headings(x)
    step = torch.stack([torch.cos(h), torch.sin(h)], 1)                   # (B, 2, D+1)
    pos = torch.cumsum(step, dim=2)                                       # segment ends
    chord = pos[:, :, -1]                                                 # (B, 2)
    length = chord.norm(dim=1).clamp_min(1e-3)
    c, s = chord[:, 0] / length, chord[:, 1] / length
    px = (c[:, None] * pos[:, 0] + s[:, None] * pos[:, 1]) / length[:, None]   # rotate by -a
    py = (-s[:, None] * pos[:, 0] + c[:, None] * pos[:, 1]) / length[:, None]
    return torch.cat([step, px[:, None], py[:, None]], 1)


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


class _Critic(nn.Module):
    """The critic, or with ``spectral=False`` the density-ratio classifier (trained with the
    logistic loss, which needs no Lipschitz bound)."""

    def __init__(self, c, *, spectral: bool = True):
        super().__init__()
        ch = c.critic_channels
        sn = spectral_norm if spectral else (lambda module: module)
        self.convs = nn.ModuleList([
            sn(nn.Conv1d(5, ch, 5, padding=2)),
            sn(nn.Conv1d(ch, ch, 5, padding=2)),
            sn(nn.Conv1d(ch, 2 * ch, 5, padding=2, stride=2)),
            sn(nn.Conv1d(2 * ch, 2 * ch, 5, padding=2)),
            sn(nn.Conv1d(2 * ch, 2 * ch, 5, padding=2, stride=2))])
        n_feat = 4 * ch + 3                  # mean- and max-pooled, plus 3 global features
        self.head = nn.Sequential(sn(nn.Linear(n_feat, c.hidden)), nn.LeakyReLU(0.2),
                                  sn(nn.Linear(c.hidden, 1)))
        self.embed = sn(nn.Linear(c.y_dim, n_feat))

    def forward(self, u, x, y):                      # u standardised, x radians: (B, D)
        path = path_channels(x)                                           # (B, 4, D+1)
        h = torch.cat([F.pad(u, (0, 1))[:, None], path], 1)               # (B, 5, D+1)
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
        log_sin = torch.log(sinuosity_of(x))
        feat = torch.cat([h.mean(-1), h.amax(-1), log_sin[:, None], u.std(1)[:, None],
                          (u[:, 1:] * u[:, :-1]).mean(1)[:, None]], 1)
        return self.head(feat)[:, 0] + (self.embed(y) * feat).sum(1)


def _stats(x):
    """Per-river statistics for the validation score, (B, 5)."""
    u = x - x.mean(1, keepdim=True)
    ac = (u[:, 1:] * u[:, :-1]).mean(1) / u.pow(2).mean(1).clamp_min(1e-12)
    return torch.stack([torch.log(sinuosity_of(x)), x.std(1), x.abs().mean(1), ac,
                        (x[:, 1:] - x[:, :-1]).abs().mean(1)], 1)


def _w1(a, b, n_q=200):
    q = (torch.arange(n_q, dtype=torch.float64) + 0.5) / n_q
    return (torch.quantile(a.double(), q) - torch.quantile(b.double(), q)).abs().mean()


class GANModel(RiverModel):
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

    def __init__(self, config: "GANModel.Config"):
        super().__init__(config.n_turns)
        if config.resample < 0:
            raise ValueError(f"resample must be >= 0 (0: no resampling), got {config.resample}")
        if config.resample and config.ratio_epochs < 1:
            raise ValueError(f"ratio_epochs must be >= 1 where resample is set, got "
                             f"{config.ratio_epochs}")
        self.config = config
        self.generator = _Generator(config)
        self.critic = _Critic(config)
        if config.resample:
            self.ratio = _Critic(config, spectral=False)
            # 1 once after_training has fitted the ratio: until then sampling draws plainly
            self.register_buffer("ratio_fitted", torch.zeros(()))

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

    # -- the density ratio -------------------------------------------------------------------
    def ratio_logit(self, x, y):
        """The fitted classifier's logit, an estimate of log p_data(x | y) / p_g(x | y), for
        rivers ``x`` (B, D) radians as ``sample`` returns them."""
        return self.ratio(x / self.x_scale, x, y)

    def after_training(self, turns, y):
        """Fit the density-ratio classifier (where ``resample`` is set) on the final weights:
        training rivers against fresh samples for their conditions each epoch, logistic loss,
        the epoch with the lowest loss on a held-out tenth kept. Seeded: same data, same
        classifier."""
        if not self.config.resample:
            return
        gen = torch.Generator().manual_seed(1)
        perm = torch.randperm(len(turns), generator=gen)
        n_hold = max(1, len(turns) // 10)
        hold, fit = perm[:n_hold], perm[n_hold:]
        opt = torch.optim.Adam(self.ratio.parameters(), lr=1e-3)

        def fakes(cond, g):
            with torch.no_grad():
                return match_sinuosity(self._draw(len(cond), cond, g, 1.0), cond)

        def bce(real, fake, cond):
            return (F.softplus(-self.ratio_logit(real, cond)).mean()
                    + F.softplus(self.ratio_logit(fake, cond)).mean())

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
        self.ratio_fitted.fill_(1.0)

    # -- sampling ----------------------------------------------------------------------------
    #: rivers whose candidates are generated and scored at once (memory, not results)
    RESAMPLE_CHUNK = 256

    def _noise(self, n, generator, temperature):
        """z (n, latent), scaled by the temperature, then the mirror coins (n,) or None."""
        z = torch.randn(n, self.config.latent, generator=generator) * temperature
        coin = torch.rand(n, generator=generator) if self.config.mirror else None
        return z, coin

    def _generate(self, z, coin, y):
        x = self.generator(z, y) * self.x_scale
        return x if coin is None else torch.where((coin < 0.5)[:, None], -x, x)

    def _draw(self, n, y, generator, temperature):
        """Plain draws of the generator (mirrored on a coin where the config says so)."""
        return self._generate(*self._noise(n, generator, temperature), y)

    def _sample(self, n, y, generator, temperature):
        k = self.config.resample
        if not k or not self.ratio_fitted or not n:
            return self._draw(n, y, generator, temperature)
        # K candidates per river (river i's are rows i*K .. i*K+K-1), scored as sample
        # returns them, one kept with probability softmax(logit): inverse CDF of a uniform.
        # All noise is drawn first, so the chunking does not change the rivers.
        z, coin = self._noise(n * k, generator, temperature)
        u = torch.rand(n, generator=generator).double()
        out = []
        for i in range(0, n, self.RESAMPLE_CHUNK):
            rivers = torch.arange(i, min(n, i + self.RESAMPLE_CHUNK))
            rows = slice(i * k, (i + len(rivers)) * k)
            yk = y[rivers].repeat_interleave(k, 0)
            raw = self._generate(z[rows], None if coin is None else coin[rows], yk)
            logit = self.ratio_logit(match_sinuosity(raw, yk), yk).view(len(rivers), k)
            cdf = torch.softmax(logit.double(), 1).cumsum(1)
            pick = (cdf < u[rivers, None]).sum(1).clamp(max=k - 1)
            out.append(raw.view(len(rivers), k, -1)[torch.arange(len(rivers)), pick])
        return torch.cat(out)
