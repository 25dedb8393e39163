"""Conditional energy-based model of turning angles: a residual energy on a tractable base.

The density is defined only up to its normaliser::

    p(x | y) ∝ exp(-E(x, y)),     E(x, y) = -log q(x | y) - f(x, y)

q is a tractable *base* model with an exact likelihood and a fast sampler (by default a
GRU autoregressive model, the weights of the shipped ``ar`` model, frozen; or Ferguson's AR(2)
heading model, ``base='ar2_heading'``, fitted by maximum likelihood to the training rivers),
and f is a small 1-D convolutional network that sees the angles, the path they draw and the
condition y. This is a *residual* EBM (Deng, Bakhtin, Ott, Szlam & Ranzato 2020, "Residual
Energy-Based Models for Text Generation", ICLR): the base carries what a likelihood model
already gets right, the energy corrects what it gets wrong (the whole-path features a local
autoregression sees only piecemeal).

**Training: noise-contrastive estimation** (Gutmann & Hyvärinen 2010, "Noise-contrastive
estimation: a new estimation principle for unnormalized statistical models", AISTATS) with
the base as the noise distribution. Each real river (x, y) is paired with one river drawn
from q(. | y) at the same condition; a logistic classifier with logit
``log p(x | y) - log q(x | y) = f(x, y)`` tells them apart, and at its optimum
``exp(f) = p_data / q``, so q exp(f) is the data density and is self-normalised for every y.
Why NCE here: (i) the noise density is tractable and the noise is cheap to draw (one batch
from the base per step); (ii) every noise density below is exact, so the logit needs no
normaliser and no MCMC inside the training loop (contrastive divergence would need Langevin
chains through the GRU at every step, denoising score matching a score on the circle of
angles); (iii) NCE is efficient when the noise is close to the data (Gutmann & Hyvärinen
2012, JMLR), and the ``ar`` base is already hard to tell from real rivers. The
validation score (``val_nce``) is the NCE loss on the validation rivers against fixed noise
(four noise rivers per validation river, to steady it; 2 log 2 ≈ 1.386 per pair is a
classifier no better than chance; the shipped model reaches 0.996).

**Noise and negatives.** The noise is a mixture: the base (a fraction ``1 - contrast``) and
the hand-written baselines with exact likelihoods, Ferguson's AR(2) heading model and the
coin flip (``contrast`` / 2 each); the logit is then ``log q + f - log noise``, all terms
exact. NCE teaches f only where noise falls, and none of these draws looks like a
hand-written walker's path once resampled, so f would stay at 0 there. A second term
(``negatives``, a "negative data augmentation", Sinha et al. 2021, ICLR) pushes the logit of
coin-flip walker paths, smoothed and resampled like the rivers (a bank of ``n_negatives``
drawn in :meth:`EBMModel.fit_data`), to the noise side: where real rivers never go the NCE
optimum of f is -inf anyway, so this moves f towards its target there and barely anywhere
else (boosted stumps tell such walkers from real rivers 98 % of the time). It is what lets
:func:`learned.score.score` tell walkers from rivers; see its docstring for what is held out.

**Sampling: independence Metropolis-Hastings** initialised from the base. A chain starts
at a draw from q(. | y) and takes ``n_candidates - 1`` further proposals from q(. | y); a
proposal x' replaces the state x with probability ``min(1, exp(f(x') - f(x)))`` (the base
densities cancel, as the proposal is the base itself), so the chain targets
q exp(f) ∝ exp(-E) exactly (Tierney 1994, Ann. Statist.) and its last state is returned. All
proposals are drawn in one batched pass of the base; the chain costs only f's forward pass.
``sinuosity_weight`` (default 20) adds ``|log realised - log requested sinuosity|`` times
itself to the chain's energy: in the data y is read off the shape, so p(x | y) lives where
the two agree, and the penalty sharpens the chain towards that set (a requested sinuosity of
4 is realised at a median 3.4 with 4 candidates; the base alone reaches 2.2).
``refine_steps`` adds Langevin steps on E (:meth:`EBMModel.refine`), which need the
gradient of log q and cost more. :meth:`EBMModel.select` uses the energy as a critic of any
other model's samples.

**No likelihood is reported.** The model declares ``likelihood = None``; its unnormalised log
density is :meth:`EBMModel.log_density_unnormalised` (= ``-energy``), nats per river up to an
unknown constant per condition y: not a normalised likelihood and never compared as one.

>>> import torch
>>> from learned.models.ebm import EBMModel
>>> cfg = EBMModel.Config(n_turns=12, base="ar2_heading", channels=4, hidden=8,
...                       n_negatives=32)
>>> model = EBMModel(cfg).fit_data(0.3 * torch.randn(64, 12), torch.randn(64, 2))
>>> model.sample(3, generator=torch.Generator().manual_seed(0)).shape
torch.Size([3, 12])
>>> model.energy(torch.zeros(2, 12), {"sinuosity": 1.0, "length_km": 100.0}).shape
torch.Size([2])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._torch import torch
import torch.nn.functional as F
from torch import nn

from ..baselines import CoinFlip, FergusonAR2
from .ar import ARModel
from .._contract import wrap_angle
from .base import RiverModel, _headings, encode_y, match_sinuosity, sinuosity_error

__all__ = ["EBMModel", "BASES"]

#: The tractable bases q(x | y) an EBM can sit on.
BASES = ("ar", "ar2_heading")


def _path_inputs(x):
    """Inputs of the energy net that describe the path, (B, 4, D+1): the heading relative
    to the chord as cos, sin, and the segment ends in the chord frame, in units of the arc
    length (not of the chord: a path that ends where it started has no chord, and its
    inputs must stay bounded)."""
    h = _headings(x)                                                      # (B, D+1)
    chord_angle = torch.atan2(torch.sin(h).sum(1), torch.cos(h).sum(1))   # (B,)
    rel = h - chord_angle[:, None]
    step = torch.stack([torch.cos(rel), torch.sin(rel)], 1)               # (B, 2, D+1)
    pos = torch.cumsum(step, dim=2) / h.shape[1]                          # in [-1, 1]
    return torch.cat([step, pos], 1)


class _Energy(nn.Module):
    """f(x, y): convolutions over angles and path, pooled, then an MLP with y."""

    def __init__(self, c):
        super().__init__()
        ch = c.channels
        self.convs = nn.ModuleList([
            nn.Conv1d(5, ch, 5, padding=2),
            nn.Conv1d(ch, ch, 5, padding=2, stride=2),
            nn.Conv1d(ch, 2 * ch, 5, padding=2, stride=2),
            nn.Conv1d(2 * ch, 2 * ch, 5, padding=2)])
        n_feat = 4 * ch + 3                  # mean- and max-pooled, plus 3 global features
        self.head = nn.Sequential(nn.Linear(n_feat + c.y_dim, c.hidden), nn.SiLU(),
                                  nn.Linear(c.hidden, c.hidden), nn.SiLU(),
                                  nn.Linear(c.hidden, 1))

    def forward(self, u, x, y):                  # u standardised, x radians: (B, D); y (B, 2)
        h = torch.cat([F.pad(u, (0, 1))[:, None], _path_inputs(x)], 1)    # (B, 5, D+1)
        for conv in self.convs:
            h = F.silu(conv(h))                                           # smooth: Langevin
        hd = _headings(x)
        chord = torch.stack([torch.cos(hd).sum(1), torch.sin(hd).sum(1)], 1).norm(dim=1)
        # log sinuosity, capped where real rivers never go (<= 10) so closed paths stay finite
        log_sin = torch.log(hd.shape[1] / chord.clamp_min(hd.shape[1] / 20.0))
        uc = u - u.mean(1, keepdim=True)
        ac = (uc[:, 1:] * uc[:, :-1]).mean(1) / uc.pow(2).mean(1).clamp_min(1e-6)
        feat = torch.cat([h.mean(-1), h.amax(-1), log_sin[:, None], u.std(1)[:, None],
                          ac[:, None], y], 1)                             # (B, 4C+3+2)
        return self.head(feat)[:, 0]                                      # (B,)


def _shipped_ar_state(config) -> dict:
    """The shipped ``ar`` model's state_dict (``assets/models/ar.pt``, read tensors-only),
    after checking that its card's GRU sizes are the base's. Read here rather than through
    ``learned.pretrained``, which imports every family, this one included."""
    import json

    from .._assets import asset_dir
    root = asset_dir("models")
    card_path, weights = root / "ar.json", root / "ar.pt"
    if not (card_path.exists() and weights.exists()):
        raise FileNotFoundError(f"the ebm's base is the shipped ar model, but {weights} or "
                                f"{card_path} is missing; train it first (`python -m "
                                f"learned.train ar`) or use base='ar2_heading'")
    cfg = json.loads(card_path.read_text()).get("config", {})
    want = (config.base_hidden, config.base_layers, config.base_mix)
    got = (cfg.get("hidden"), cfg.get("n_layers"), cfg.get("n_mix"))
    if want != got:
        raise ValueError(f"base_hidden, base_layers, base_mix must match the shipped ar "
                         f"model {got}, got {want}")
    return torch.load(weights, weights_only=True, map_location="cpu")


def walker_negatives(n: int, n_points: int, *, rng) -> tuple:
    """``n`` coin-flip walker paths as the dataset sees rivers: ``(turns (n, n_points - 2),
    y (n, 2) encoded)``, each smoothed and resampled like a river (``learned.score.
    path_turns``, as ``learned.score`` reads paths), with its own sinuosity and length as y.

    Walkers come in groups of 32 with a random number of steps (log-uniform in 50..800),
    turn (uniform in pi/30..pi/6) and length (log-uniform in 50..1000 km): the hand-written
    walker's shapes at every scale the dataset covers.

    Examples
    --------
    >>> turns, y = walker_negatives(4, 10, rng=0)
    >>> turns.shape, y.shape
    (torch.Size([4, 8]), torch.Size([4, 2]))
    """
    import numpy as np

    from procgen.walkers import coin_flip
    from learned._polylines import path_turns
    gen = np.random.default_rng(rng)
    turns, sin, length = [], [], []
    for start in range(0, n, 32):
        k = min(32, n - start)
        steps = int(round(np.exp(gen.uniform(np.log(50), np.log(800)))))
        turn = float(gen.uniform(np.pi / 30, np.pi / 6))
        walks = coin_flip(k, steps, turn=turn, rng=gen)                   # unit steps
        km = np.exp(gen.uniform(np.log(50), np.log(1000), k)) / steps      # km per step
        t, s, ln = path_turns(list(walks * (km[:, None, None] * 1000.0)), n_points=n_points)
        turns.append(t)
        sin.append(s)
        length.append(ln)
    y = encode_y(np.concatenate(sin), np.concatenate(length))
    return torch.from_numpy(np.concatenate(turns)), y


class EBMModel(RiverModel):
    """Residual energy-based model ``p(x | y) ∝ q(x | y) exp(f(x, y))`` trained by NCE
    against its base q, sampled by independence Metropolis-Hastings from q (see the
    module docstring)."""

    #: No normalised density: ``log_density_unnormalised`` is known up to log Z(y) only.
    likelihood = None
    validation_name = "nce"

    @dataclass
    class Config:
        n_turns: int = 126          # D = T - 2 angles per river
        y_dim: int = 2              # (sinuosity, log10 length), encoded
        base: str = "ar"            # 'ar' (the shipped ar weights, frozen) or 'ar2_heading'
        base_hidden: int = 128      # the AR base's GRU size (must match the shipped ar)
        base_layers: int = 2        # its stacked GRU layers
        base_mix: int = 8           # its logistic components per angle
        channels: int = 32          # energy net conv channels (x2 after the first stride)
        hidden: int = 64            # energy net MLP width
        n_candidates: int = 4       # base proposals per sample (independence MH chain)
        sinuosity_weight: float = 20.0  # sampling: weight of |log realised - log requested|
        contrast: float = 0.5       # fraction of NCE noise from the hand-written baselines
        negatives: float = 1.0      # weight of the walker negatives (0: plain NCE)
        n_negatives: int = 2048     # coin-flip walker paths drawn once, in fit_data

    def __init__(self, config: "EBMModel.Config"):
        super().__init__(config.n_turns)
        c = config
        if c.base not in BASES:
            raise ValueError(f"base must be one of {BASES}, got {c.base!r}")
        if not (isinstance(c.n_candidates, int) and c.n_candidates >= 1):
            raise ValueError(f"n_candidates must be an integer >= 1, got {c.n_candidates!r}")
        self.config = config
        if c.base == "ar":
            self.base = ARModel(ARModel.Config(n_turns=c.n_turns, y_dim=c.y_dim,
                                               hidden=c.base_hidden, n_layers=c.base_layers,
                                               n_mix=c.base_mix))
        else:
            self.base = FergusonAR2(c.n_turns)
        if not 0.0 <= c.contrast <= 1.0:
            raise ValueError(f"contrast must be in [0, 1], got {c.contrast!r}")
        # hand-written noise (fitted in fit_data): negatives far from the base's rivers
        self.hand = nn.ModuleDict({"ar2_heading": FergusonAR2(c.n_turns),
                                   "coin_flip": CoinFlip(c.n_turns)})
        self.base.requires_grad_(False)          # the base is fixed: only f is trained
        self.hand.requires_grad_(False)
        self.energy_net = _Energy(c)

    # -- data ----------------------------------------------------------------------------------
    @torch.no_grad()
    def fit_data(self, turns, y, *, generator=None):
        """Store the data statistics (:meth:`RiverModel.fit_data`), set the base (the
        shipped ``ar`` weights, ``base='ar'``, or Ferguson's AR(2) fitted to ``turns`` by
        maximum likelihood, ``base='ar2_heading'``) and fit the hand-written noise
        baselines (AR(2) heading and coin flip, maximum likelihood)."""
        super().fit_data(turns, y, generator=generator)
        if self.config.base == "ar":
            self.base.load_state_dict(_shipped_ar_state(self.config))
        else:
            self.base.load_state_dict(FergusonAR2.fit(turns, y).state_dict())
        for name, cls in (("ar2_heading", FergusonAR2), ("coin_flip", CoinFlip)):
            self.hand[name].load_state_dict(cls.fit(turns, y).state_dict())
        self.base.requires_grad_(False)
        self.hand.requires_grad_(False)
        if self.config.negatives > 0:
            # drawn from the data generator's seed, so a resumed run draws the same bank; an
            # attribute, not a buffer: sampling and scoring never need it
            seed = int(torch.randint(2 ** 62, (1,), generator=generator)) if generator \
                else 0
            self._negatives = walker_negatives(self.config.n_negatives, self.n_turns + 2,
                                               rng=seed)
        return self

    # -- the energy ----------------------------------------------------------------------------
    def residual(self, x, y) -> torch.Tensor:
        """f(x, y), (B,): the learned log density ratio p / q (the NCE logit)."""
        x = torch.as_tensor(x, dtype=torch.float32)
        return self.energy_net(x / self.x_scale, x, y)

    def energy(self, x, y) -> torch.Tensor:
        """E(x, y) = -log q(x | y) - f(x, y), (B,) nats per river, **up to an unknown
        additive constant per condition y** (lower = more river-like).

        ``y`` is required, as for every score: the rivers' own encoded conditions or a dict
        with both ``sinuosity`` and ``length_km``.

        Examples
        --------
        >>> import torch
        >>> m = EBMModel(EBMModel.Config(n_turns=6, base="ar2_heading", channels=4, hidden=8,
        ...                              n_negatives=32))
        >>> _ = m.fit_data(0.2 * torch.randn(40, 6), torch.randn(40, 2))
        >>> e = m.energy(torch.zeros(3, 6), {"sinuosity": 1.0, "length_km": 80.0})
        >>> e.shape, bool(torch.isfinite(e).all())
        (torch.Size([3]), True)
        """
        y = self.scored_condition(x, y, method="energy")
        x = torch.as_tensor(x, dtype=torch.float32)
        return -self.base.log_prob(x, y).to(x.dtype) - self.residual(x, y)

    def log_density_unnormalised(self, x, y) -> torch.Tensor:
        """``-energy(x, y)``: log p(x | y) + log Z(y) with log Z(y) unknown, (B,) nats per
        river. Not a likelihood: compare it only between rivers of the same condition, or
        through :func:`learned.score.score`, which calibrates it."""
        return -self.energy(x, y)

    # -- training ------------------------------------------------------------------------------
    def make_optimizer(self, *, lr, weight_decay=0.0):
        """Adam over the energy net only (the base and the noise baselines are fixed)."""
        return torch.optim.Adam(self.energy_net.parameters(), lr=lr, weight_decay=weight_decay)

    def _noise_counts(self, b: int) -> list[int]:
        """How many of ``b`` noise rivers each component draws (stratified, not sampled)."""
        n_hand = int(round(b * self.config.contrast))
        return [b - n_hand, n_hand // 2, n_hand - n_hand // 2]

    @torch.no_grad()
    def _noise(self, y, generator):
        """One noise river per condition, (B, D): from the base, then from the hand-written
        baselines (``contrast`` of them, half each), in that order."""
        counts = self._noise_counts(len(y))
        parts, start = [], 0
        for model, k in zip([self.base, *self.hand.values()], counts):
            if k:
                # raw draws (no sinuosity match): their densities must be the exact ones
                kw = {"exact_sinuosity": False} if isinstance(model, RiverModel) else {}
                parts.append(model.sample(k, y[start:start + k], generator=generator,
                                          **kw).float())
            start += k
        return torch.cat(parts)

    def _log_noise(self, x, y) -> torch.Tensor:
        """log of the noise density, the mixture of the base and the hand-written baselines
        (exact: every component has an exact likelihood), (B,)."""
        c = self.config.contrast
        lq = self.base.log_prob(x, y).float()
        if c <= 0:
            return lq
        terms = [math.log(1 - c) + lq] if c < 1 else []
        terms += [math.log(c / 2) + m.log_prob(x, y).float() for m in self.hand.values()]
        return torch.logsumexp(torch.stack(terms), 0)

    def _logit(self, x, y) -> torch.Tensor:
        """The NCE logit log p(x | y) - log noise(x | y) = log q + f - log noise, (B,)."""
        if self.config.contrast <= 0:
            return self.residual(x, y)             # the noise is the base: the logit is f
        with torch.no_grad():
            offset = self.base.log_prob(x, y).float() - self._log_noise(x, y)
        return offset + self.residual(x, y)

    def log_odds_real(self, x, y) -> torch.Tensor:
        """The NCE classifier's log odds that ``x`` is a real river rather than a draw of the
        noise (the base and the hand-written baselines), (B,):
        ``-E(x, y) - log noise(x | y)``, the model's log density relative to a tractable
        reference density. A likelihood ratio, not a likelihood: it discounts what the raw
        density rewards in any smooth sequence (Ren et al. 2019, "Likelihood ratios for
        out-of-distribution detection", NeurIPS), which is what :func:`learned.score.score`
        calibrates. ``y`` is required."""
        y = self.scored_condition(x, y, method="log_odds_real")
        return self._logit(torch.as_tensor(x, dtype=torch.float32), y)

    def nce_loss(self, x, y, noise) -> torch.Tensor:
        """Binary NCE with one noise river per real one: -log s(logit(x)) - log(1 -
        s(logit(x~))) averaged over the pairs (s the logistic function)."""
        return (F.softplus(-self._logit(x, y)) + F.softplus(self._logit(noise, y))).mean()

    def negative_loss(self, generator) -> torch.Tensor:
        """``negatives`` x mean softplus(logit) over a batch of walker paths from the bank
        (zero without one): walkers are pushed to the noise side of the classifier."""
        bank = getattr(self, "_negatives", None)
        if bank is None or self.config.negatives <= 0:
            return torch.zeros(())
        turns, y = bank
        idx = torch.randint(len(turns), (64,), generator=generator)
        return self.config.negatives * F.softplus(self._logit(turns[idx], y[idx])).mean()

    def train_step(self, batch, optimizer, *, generator=None, grad_clip=0.0):
        """One NCE step: draws one noise river per condition of the batch with
        ``generator`` (a pure function of seed and step, so resuming redraws the same
        noise), plus the walker term (:meth:`negative_loss`)."""
        x, y = batch
        noise = self._noise(y, generator)
        loss = self.nce_loss(x, y, noise) + self.negative_loss(generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip:
            nn.utils.clip_grad_norm_(self.energy_net.parameters(), grad_clip)
        optimizer.step()
        return float(loss.detach())

    def loss(self, batch, *, generator=None):
        """The NCE loss of a batch with fresh noise (what ``train_step`` descends)."""
        x, y = batch
        y = self.scored_condition(x, y, method="loss")
        return self.nce_loss(x, y, self._noise(y, generator))

    @torch.no_grad()
    def validation_score(self, x, y, *, n_noise: int = 4):
        """The NCE loss on (x, y) against fixed noise (``n_noise`` draws per river, seed
        0), averaged; 2 log 2 = no better than chance at telling noise from real rivers."""
        gen = torch.Generator().manual_seed(0)
        return float(torch.stack([self.nce_loss(x, y, self._noise(y, gen))
                                  for _ in range(n_noise)]).mean())

    # -- sampling ------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, y=None, *, generator=None, temperature: float = 1.0,
               n_candidates: int | None = None, refine_steps: int = 0,
               step_size: float = 1e-3, exact_sinuosity: bool = True):
        """(n, T-2) turning angles in radians, in (-pi, pi].

        Parameters
        ----------
        n : int
        y : dict or Tensor, optional
            Conditions (see :meth:`RiverModel.sample`); None draws them from the data's own.
        generator : torch.Generator, optional
        temperature : float, optional
            The base's sampling temperature (> 0; 1 = its own distribution); the residual
            energy is applied unchanged. Default 1.
        n_candidates : int, optional
            Base proposals per sample, the length of each independence Metropolis-Hastings
            chain (1 = the base alone). Default ``config.n_candidates``.
        refine_steps, step_size : int, float, optional
            Langevin steps on the energy after the chain (:meth:`refine`). Default 0.
        exact_sinuosity : bool, optional
            Scale each river to its condition's sinuosity after the chain
            (:func:`learned.models.base.match_sinuosity`). Default True.

        Returns
        -------
        Tensor, (n, T-2) float32

        Examples
        --------
        >>> import torch
        >>> m = EBMModel(EBMModel.Config(n_turns=6, base="ar2_heading", channels=4, hidden=8,
        ...                              n_negatives=32))
        >>> _ = m.fit_data(0.2 * torch.randn(40, 6), torch.randn(40, 2))
        >>> g = torch.Generator().manual_seed(0)
        >>> m.sample(2, {"sinuosity": 1.2, "length_km": 90.0}, generator=g).shape
        torch.Size([2, 6])
        """
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        k = self.config.n_candidates if n_candidates is None else n_candidates
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"n_candidates must be an integer >= 1, got {k!r}")
        cond = self.condition(n, y, generator=generator)
        base_kw = ({"temperature": temperature, "exact_sinuosity": False}
                   if self.config.base == "ar" else {})
        cand = self.base.sample(n * k, cond.repeat(k, 1), generator=generator,
                                **base_kw).float().view(k, n, -1)        # (K, n, D)
        if temperature != 1.0 and self.config.base != "ar":
            cand = cand * temperature           # the Gaussian base: scale its draws
        flat, fcond = cand.reshape(k * n, -1), cond.repeat(k, 1)
        f = self.residual(flat, fcond)
        if self.config.sinuosity_weight:
            # p(x | y) lives where the realised sinuosity is the requested one (y is read off
            # the shape): a penalty on the miss sharpens the chain's target towards that set
            f = f - self.config.sinuosity_weight * sinuosity_error(flat, fcond)
        f = f.view(k, n)
        x, fx = cand[0], f[0]
        u = torch.rand(k, n, generator=generator)
        for j in range(1, k):                   # independence MH: accept w.p. e^(f' - f)
            accept = torch.log(u[j]) < f[j] - fx
            x = torch.where(accept[:, None], cand[j], x)
            fx = torch.where(accept, f[j], fx)
        if refine_steps:
            x = self.refine(x, cond, steps=refine_steps, step_size=step_size,
                            generator=generator)
        return match_sinuosity(x, cond) if exact_sinuosity else wrap_angle(x)

    @torch.no_grad()
    def select(self, candidates, y, *, temperature: float = 1.0, by: str = "residual",
               generator=None):
        """Energy as a critic of any model: of K candidate rivers per condition, keep one,
        drawn with probability proportional to ``exp(f(x, y) / temperature)`` (``by=
        'residual'``: f estimates log p_data / q, so for candidates drawn from q this is
        sampling-importance-resampling towards the data) or ``exp(-E(x, y) / temperature)``
        (``by='energy'``: favours low energy, i.e. smooth, regular rivers). As temperature
        -> inf either is a uniform pick, the model's own distribution.

        Parameters
        ----------
        candidates : Tensor, (K, n, D)
            K rivers for each of n conditions (e.g. K draws of another family).
        y : dict or Tensor
            The n conditions (required).
        temperature : float, optional
            > 0. Default 1.
        by : {'residual', 'energy'}, optional
            What the weights exponentiate. Default 'residual'.
        generator : torch.Generator, optional

        Returns
        -------
        Tensor, (n, D): the chosen river of each condition.
        """
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        c = torch.as_tensor(candidates, dtype=torch.float32)
        if c.ndim != 3 or c.shape[2] != self.n_turns:
            raise ValueError(f"candidates must have shape (K, n, {self.n_turns}), got "
                             f"{tuple(c.shape)}")
        if by not in ("residual", "energy"):
            raise ValueError(f"by must be 'residual' or 'energy', got {by!r}")
        k, n, _ = c.shape
        cond = self.condition(n, y)
        flat, fcond = c.reshape(k * n, -1), cond.repeat(k, 1)
        logw = (self.residual(flat, fcond) if by == "residual"
                else -self.energy(flat, fcond)).view(k, n)
        pick = torch.multinomial(torch.softmax(logw.T / temperature, dim=1), 1,
                                 generator=generator)[:, 0]                      # (n,)
        return c[pick, torch.arange(n)]

    def refine(self, x, y, *, steps: int = 10, step_size: float = 1e-3,
               temperature: float = 1.0, generator=None) -> torch.Tensor:
        """Unadjusted Langevin dynamics on E / temperature from ``x``:
        ``x <- x - (step_size / 2) grad E(x, y) / temperature + sqrt(step_size) * noise``
        (Roberts & Tweedie 1996), ``steps`` times; any model's samples can be refined.

        Parameters
        ----------
        x : Tensor, (B, D)
            Starting angles, radians.
        y : dict or Tensor
            Their conditions (required).
        steps : int, optional
            >= 0. Default 10.
        step_size : float, optional
            > 0, radians². Default 1e-3.
        temperature : float, optional
            > 0; below 1 sharpens the target towards low energy. Default 1.
        generator : torch.Generator, optional

        Returns
        -------
        Tensor, (B, D) float32
        """
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
        if not step_size > 0:
            raise ValueError(f"step_size must be > 0, got {step_size!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        cond = self.scored_condition(x, y, method="refine")
        x = torch.as_tensor(x, dtype=torch.float32).detach().clone()
        scale = math.sqrt(step_size)
        for _ in range(steps):
            with torch.enable_grad():
                x.requires_grad_(True)
                e = self.energy(x, cond).sum() / temperature
                (grad,) = torch.autograd.grad(e, x)
            noise = torch.randn(x.shape, generator=generator)
            x = (x.detach() - 0.5 * step_size * grad + scale * noise).clamp(-math.pi, math.pi)
        return x.detach()
