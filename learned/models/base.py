"""What every river model shares: the interface, conditions y, and data statistics.

A model maps noise z and a condition y to a sequence of T-2 turning angles x (radians, left
positive). The condition is y = (sinuosity, log10 length in km), encoded (standardised) as in
``learned.data``; models also accept a dict of physical values::

    model.sample(4, {"sinuosity": 1.4, "length_km": 250.0}, generator=g)   # (4, T-2)
    model.sample(4, generator=g)           # y drawn from the training data's own y

Every model owns its default config (``get_default_config()``) and is built as
``Model(config)``; :meth:`RiverModel.fit_data` stores what it needs of the training data
(the scale of the angles and a bank of training conditions for unconditional sampling) as
buffers, so a ``state_dict`` holds everything ``sample`` and ``log_prob`` need.
"""

from __future__ import annotations

import torch
from torch import nn

from learned import data as _data
from learned.baselines import wrap_angle

__all__ = ["RiverModel", "encode_y", "decode_y", "wrap_angle"]


def encode_y(sinuosity, length_km) -> torch.Tensor:
    """Physical conditions -> the standardised y tensor, (B, 2) float32
    (:func:`learned.data.encode_y`)."""
    return torch.from_numpy(_data.encode_y({"sinuosity": sinuosity, "length_km": length_km}))


def decode_y(y: torch.Tensor) -> dict:
    """The standardised y tensor (B, 2) -> {"sinuosity": (B,), "length_km": (B,)} float64
    tensors (:func:`learned.data.decode_y`)."""
    return _data.decode_y(torch.as_tensor(y))


class RiverModel(nn.Module):
    """Base class: conditions, data statistics, and the default loss (NLL per angle).

    Subclasses set ``self.n_turns`` and implement ``log_prob(x, y)`` (per river, summed over
    angles, in nats) and ``_sample(n, y, generator, temperature)``.
    """

    #: Rows of training conditions kept for unconditional sampling.
    Y_BANK = 4096

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
        self.register_buffer("y_bank", torch.zeros(1, 2))              # (M, 2) encoded y

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

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        bank = state_dict.get(prefix + "y_bank")
        if bank is not None and bank.ndim == 2 and bank.shape[1] == 2:
            self.y_bank = torch.empty_like(bank)     # the bank's length is the data's
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # -- conditions ------------------------------------------------------------------------
    def condition(self, n: int, y=None, *, generator=None) -> torch.Tensor:
        """The (n, 2) encoded condition for ``sample``: drawn from the bank when y is None."""
        if y is None:
            idx = torch.randint(self.y_bank.shape[0], (n,), generator=generator)
            return self.y_bank[idx]
        if isinstance(y, dict):
            unknown = set(y) - {"sinuosity", "length_km"}
            if unknown:
                raise ValueError(f"y keys must be 'sinuosity' and 'length_km', got "
                                 f"{sorted(y)}")
            bank = decode_y(self.y_bank)
            if "sinuosity" in y and "length_km" in y:
                s, length = y["sinuosity"], y["length_km"]
            else:   # the missing one from the data's own distribution
                idx = torch.randint(self.y_bank.shape[0], (n,), generator=generator)
                s = y.get("sinuosity", bank["sinuosity"][idx])
                length = y.get("length_km", bank["length_km"][idx])
            y = encode_y(s, length)
        y = torch.as_tensor(y, dtype=torch.float32)
        if y.ndim == 1:
            y = y.reshape(1, 2)
        if y.shape[0] == 1:
            y = y.expand(n, 2)
        if y.shape != (n, 2):
            raise ValueError(f"y must have shape (2,), (1, 2) or ({n}, 2), got "
                             f"{tuple(y.shape)}")
        return y

    # -- interface -------------------------------------------------------------------------
    def loss(self, batch) -> torch.Tensor:
        """Mean negative log-likelihood in nats per turning angle."""
        x, y = batch
        return -self.log_prob(x, y).mean() / self.n_turns

    def log_prob(self, x: torch.Tensor, y=None) -> torch.Tensor:   # (B,) nats per river
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, n: int, y=None, *, generator=None, temperature: float = 1.0):
        """(n, T-2) turning angles in radians, in (-pi, pi]."""
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        cond = self.condition(n, y, generator=generator)
        x = self._sample(n, cond, generator, float(temperature))
        return wrap_angle(x)
