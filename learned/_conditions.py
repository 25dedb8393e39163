"""The condition y every river model and baseline takes, and the bank of training conditions
that unconditional sampling draws from."""

from __future__ import annotations

from ._torch import torch
from torch import nn

from . import _rivers as _data

__all__ = ["Conditioned"]


class Conditioned(nn.Module):
    """Holds ``y_bank`` (M, 2), encoded training conditions, as a buffer whose length is
    the data's, and turns what callers pass as y into the (n, 2) encoded tensor."""

    #: Rows of training conditions kept for ``y=None``.
    Y_BANK = 4096

    def __init__(self):
        super().__init__()
        self.register_buffer("y_bank", torch.zeros(1, 2))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        bank = state_dict.get(prefix + "y_bank")
        if bank is not None and bank.ndim == 2 and bank.shape[1] == 2:
            self.y_bank = torch.empty_like(bank)     # the bank's length is the data's
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def condition(self, n: int, y=None, *, generator=None) -> torch.Tensor:
        """The ``(n, 2)`` encoded condition: ``y`` as given (an encoded tensor of shape (2,),
        (1, 2) or (n, 2), or a dict of physical values ``sinuosity`` and ``length_km``, one
        value or one per sample), or rows of the training bank when ``y`` is None. A dict
        that gives only one of the two draws the other from the bank."""
        if y is None:
            return self.y_bank[torch.randint(len(self.y_bank), (n,), generator=generator)]
        if isinstance(y, dict):
            unknown = set(y) - {"sinuosity", "length_km"}
            if unknown:
                raise ValueError(f"y keys must be 'sinuosity' and 'length_km', got {sorted(y)}")
            phys = dict(y)
            if len(phys) < 2:
                bank = _data.decode_y(self.y_bank)
                idx = torch.randint(len(self.y_bank), (n,), generator=generator)
                for k in ("sinuosity", "length_km"):
                    phys.setdefault(k, bank[k][idx])
            y = torch.from_numpy(_data.encode_y(phys))
        y = torch.as_tensor(y, dtype=torch.float32)
        if y.ndim == 1:
            y = y.reshape(1, 2)
        if y.shape[0] == 1:
            y = y.expand(n, 2)
        if tuple(y.shape) != (n, 2):
            raise ValueError(f"y must have shape (2,), (1, 2) or ({n}, 2), got {tuple(y.shape)}")
        return y

    def scored_condition(self, x, y, *, method: str = "log_prob") -> torch.Tensor:
        """The ``(len(x), 2)`` encoded condition of rivers ``x`` being scored: ``y`` as
        :meth:`condition` takes it, but never drawn.

        A likelihood is ``log p(x | y)`` with each river's own y. Sinuosity could be read off
        the angles, but a river's length cannot, so y is required, and a dict must give both
        keys: nothing is drawn at random where a score is computed.

        Raises
        ------
        TypeError
            ``y`` is None.
        ValueError
            A dict without both ``sinuosity`` and ``length_km``, or a wrong shape.
        """
        if y is None:
            raise TypeError(
                f"{method} needs y, the condition of each river in x: the likelihood is "
                f"log p(x | y), and a river's length cannot be read from its turning angles. "
                f"Pass the rivers' own encoded y (e.g. learned.data.load_rivers('test').y) or "
                f"a dict {{'sinuosity': ..., 'length_km': ...}}; got y=None")
        if isinstance(y, dict) and set(y) != {"sinuosity", "length_km"}:
            raise ValueError(f"{method} needs y with both 'sinuosity' and 'length_km' (a "
                             f"missing one is not drawn when scoring), got keys {sorted(y)}")
        return self.condition(len(x), y)
