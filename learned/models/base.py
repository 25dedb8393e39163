"""What every river model shares: the interface, conditions y, and data statistics.

A model maps noise z and a condition y to a sequence of T-2 turning angles x (radians, left
positive). The condition is y = (sinuosity, log10 length in km), encoded (standardised) as in
``learned.data``; models also accept a dict of physical values::

    model.sample(4, {"sinuosity": 1.4, "length_km": 250.0}, generator=g)   # (4, T-2)
    model.sample(4, generator=g)           # y drawn from the training data's own y
    model.log_prob(x, y)                   # log p(x | y) per river: y is required

A likelihood is always conditional, ``log p(x | y)`` with each river's own y, as the
evaluation reports it (nats per angle on the test split, each test river scored with its own
condition). Sinuosity is observable from the angles, but length is not, so y cannot be
computed from x, and drawing it would make the score random: ``log_prob(x)`` without y
raises ``TypeError``, for every family and baseline alike (also those that ignore y), so code
that scores one model scores any.

Every model owns its default config (``get_default_config()``) and is built as
``Model(config)``; :meth:`RiverModel.fit_data` stores what it needs of the training data
(the scale of the angles and a bank of training conditions for unconditional sampling) as
buffers, so a ``state_dict`` holds everything ``sample`` and ``log_prob`` need.
"""

from __future__ import annotations

import numpy as np

from .._torch import torch
import torch.nn.functional as F

from learned import _rivers as _data
from learned._contract import ESTIMATE, EXACT, RiverContract, wrap_angle

__all__ = ["RiverModel", "EXACT", "ESTIMATE", "encode_y", "decode_y", "wrap_angle",
           "sinuosity_of", "sinuosity_error", "match_sinuosity"]


def encode_y(sinuosity, length_km) -> torch.Tensor:
    """Physical conditions -> the standardised y tensor, (B, 2) float32
    (:func:`learned.data.encode_y`)."""
    return torch.from_numpy(_data.encode_y({"sinuosity": sinuosity, "length_km": length_km}))


def decode_y(y: torch.Tensor) -> dict:
    """The standardised y tensor (B, 2) -> {"sinuosity": (B,), "length_km": (B,)} float64
    tensors (:func:`learned.data.decode_y`)."""
    return _data.decode_y(torch.as_tensor(y))


def _headings(x):
    """Heading of each of the D+1 segments, the first along +x: (B, D+1)."""
    return F.pad(torch.cumsum(x, dim=1), (1, 0))


def sinuosity_of(x):
    """Sinuosity (arc length / chord) of the equal-step path with turning angles x, (B,);
    differentiable.

    Examples
    --------
    >>> float(sinuosity_of(torch.zeros(1, 5)))
    1.0
    """
    h = _headings(x)
    chord = torch.stack([torch.cos(h).sum(1), torch.sin(h).sum(1)], 1).norm(dim=1)
    return h.shape[1] / chord.clamp_min(1e-3)


def sinuosity_error(x, y):
    """|log realised - log requested sinuosity| per river, (B,): the auxiliary term with
    which a sampler is told to honour the condition (turning angles x in radians, y
    encoded).

    Examples
    --------
    >>> y = encode_y([1.0], [100.0])
    >>> float(sinuosity_error(torch.zeros(1, 8), y)) < 1e-6
    True
    """
    requested = torch.log(decode_y(y)["sinuosity"].to(x.dtype))
    return (torch.log(sinuosity_of(x)) - requested).abs()


class RiverModel(RiverContract):
    """Base class: conditions, data statistics, and the default loss (NLL per angle).

    Subclasses set ``self.n_turns``, declare ``likelihood`` (default ``'exact'``), implement
    ``log_prob(x, y)`` (per river, summed over angles, in nats) where it is exact, and
    ``_sample(n, y, generator, temperature)``. What the loop and the evaluation read (the
    declared ``likelihood``, ``train_step``, ``make_optimizer``, ``validation_score``) is
    the contract of :class:`learned._contract.RiverContract`, which this class keeps.

    The interface:

    * ``loss(batch)``: what training minimises, ``batch = (x, y)``;
    * ``sample(n, y=None, *, generator=None)``: ``(n, T-2)`` turning angles; ``y=None``
      draws the conditions from the training data's own (with ``generator``);
    * ``log_prob(x, y)``, where the family has a likelihood: ``log p(x | y)``, ``(B,)`` nats
      per river (divide by T-2 for nats per angle). ``y`` is required: the rivers' own
      encoded conditions (``(2,)``, ``(1, 2)`` or ``(B, 2)``, e.g.
      ``learned.data.load_rivers("test").y``) or a dict with both ``sinuosity`` and
      ``length_km``. It is never drawn, so a score is deterministic; omitting it raises
      ``TypeError`` (a river's length cannot be read from its angles).

    Examples
    --------
    >>> from learned.models import ARModel
    >>> m = ARModel(ARModel.Config(n_turns=6, hidden=8, n_layers=1, n_mix=2))
    >>> x = torch.zeros(3, 6)
    >>> m.log_prob(x, {"sinuosity": 1.2, "length_km": 100.0}).shape
    torch.Size([3])
    >>> m.log_prob(x, None)
    Traceback (most recent call last):
        ...
    TypeError: log_prob needs y, the condition of each river in x: ...
    """

    @classmethod
    def get_default_config(cls):
        """The family's default ``Config`` (each subclass defines the dataclass)."""
        return cls.Config()

    def __init__(self, n_turns: int):
        super().__init__()
        if n_turns < 2:
            raise ValueError(f"n_turns must be >= 2, got {n_turns}")
        self.n_turns = int(n_turns)
        self.register_buffer("x_scale", torch.tensor(0.1))            # std of the angles

    # -- data ----------------------------------------------------------------------------
    @torch.no_grad()
    def fit_data(self, turns: torch.Tensor, y: torch.Tensor, *, generator=None):
        """Store the training data's angle scale and (up to Y_BANK rows of) its conditions."""
        if turns.ndim != 2 or turns.shape[1] != self.n_turns:
            raise ValueError(f"turns must have shape (N, {self.n_turns}), got "
                             f"{tuple(turns.shape)}")
        self.x_scale.copy_(turns.float().std().clamp_min(1e-4))
        if y.shape[0] > self.Y_BANK:
            idx = torch.randperm(y.shape[0], generator=generator)[:self.Y_BANK]
            y = y[idx.sort().values]
        self.y_bank = y.float().clone()
        return self

    # -- interface -------------------------------------------------------------------------
    def loss(self, batch) -> torch.Tensor:
        """Mean negative log-likelihood in nats per turning angle."""
        x, y = batch
        return -self.log_prob(x, y).mean() / self.n_turns

    @torch.no_grad()
    def sample(self, n: int, y=None, *, generator=None, temperature: float = 1.0,
               exact_sinuosity: bool = True):
        """(n, T-2) turning angles in radians, in (-pi, pi]; with ``exact_sinuosity`` (the
        default) each river's turns are scaled so that its shape has exactly the sinuosity
        of its condition (:func:`match_sinuosity`)."""
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        cond = self.condition(n, y, generator=generator)
        x = self._sample(n, cond, generator, float(temperature))
        return match_sinuosity(x, cond) if exact_sinuosity else wrap_angle(x)


def match_sinuosity(turns, cond) -> torch.Tensor:
    """Turning angles (n, T-2) of samples drawn for the encoded conditions ``cond`` (n, 2),
    each scaled by one factor so that the shape it draws has exactly the condition's
    sinuosity (:func:`procgen.paths.scale_to_sinuosity`), wrapped into (-pi, pi].

    A river's condition is its shape's own sinuosity (``learned.data``), so p(x | y) lives
    where the two agree; the models come close where the data is dense and drift at the
    tails (a request of 2.5 gave 1.6-2.2). Scaling keeps where and which way the river turns,
    and its correlations, and is the step ``learned.runtime`` takes too.

    Examples
    --------
    >>> import torch
    >>> from learned import _rivers
    >>> from procgen.paths import angles_to_path, sinuosity
    >>> cond = torch.from_numpy(_rivers.encode_y({"sinuosity": 1.8, "length_km": 100.0}))
    >>> noise = torch.randn(1, 62, generator=torch.Generator().manual_seed(0))
    >>> x = match_sinuosity(0.3 * noise, cond)
    >>> round(float(sinuosity(angles_to_path(x.double().numpy()))[0]), 4)
    1.8
    """
    from procgen.paths import scale_to_sinuosity

    target = _data.decode_y(cond)["sinuosity"]
    target = np.maximum(np.asarray(target, dtype=np.float64), 1.0)
    scaled = scale_to_sinuosity(turns.double().cpu().numpy(), target)
    return wrap_angle(torch.from_numpy(scaled).to(turns.dtype))
