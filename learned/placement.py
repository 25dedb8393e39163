"""Learned river shapes placed in Levels: the river-generator protocol for learned models.

``learned`` registers :func:`river_generator` under the entry-point group
``procgen.river_generators`` (name ``learned``), so ``procgen`` finds it without importing
``learned``: ``procgen.generate_level(..., rivers="learned:flow")`` calls
``river_generator("flow")``, which builds ``LearnedRivers("flow")``: it
samples turning angles from the pretrained model for a requested sinuosity and length (or
from the data's own distribution of them), turns them into canonical shapes (start at the
origin, end at (1, 0)) and puts them on the terrain with ``procgen.rivers.place_shapes``, so
sources, mouths, clipping and the downhill carving are the same as for every generator.
"""

from __future__ import annotations

import numpy as np
from ._torch import torch

from procgen.rivers import place_shapes

from . import pretrained
from ._rivers import turns_to_canonical

__all__ = ["LearnedRivers", "river_generator"]


def river_generator(name: str) -> "LearnedRivers":
    """The river generator of the spec ``'learned:NAME'``: ``LearnedRivers(name)``, the
    pretrained model ``name`` (the entry point ``procgen.river_generators`` names this).

    Raises ``ValueError`` for a name that is not a plain name, ``FileNotFoundError`` (listing
    the available ones) for a name with no model, and ``ModuleNotFoundError`` (naming the
    install command) without torch.
    """
    return LearnedRivers(name)


class LearnedRivers:
    """River generator backed by a pretrained model (``learned.pretrained.load(name)``).

    Parameters
    ----------
    name : str
        Pretrained model name, e.g. ``'flow'`` or ``'ar'``.
    sinuosity, length_km : float, optional
        Requested conditions; None (default) draws them from the training data's own
        distribution (a ``RiversConfig`` with such attributes overrides these).
    temperature : float, optional
        Sampling temperature (1 = the model's distribution). Default 1.
    model : RiverModel, optional
        Use this model instead of loading the pretrained one.
    """

    def __init__(self, name: str, *, sinuosity=None, length_km=None, temperature=1.0,
                 model=None):
        self.name = f"learned:{name}"
        self.model = pretrained.load(name) if model is None else model
        self.sinuosity, self.length_km, self.temperature = sinuosity, length_km, temperature

    def shapes(self, n: int, *, rng, sinuosity=None, length_km=None) -> np.ndarray:
        """``n`` canonical shapes, (n, T, 2), drawn with a torch generator seeded from rng."""
        gen = torch.Generator().manual_seed(int(rng.integers(0, 2 ** 63 - 1)))
        y = {}
        if sinuosity is not None:
            y["sinuosity"] = float(sinuosity)
        if length_km is not None:
            y["length_km"] = float(length_km)
        turns = self.model.sample(n, y or None, generator=gen, temperature=self.temperature)
        return turns_to_canonical(turns.double().numpy())

    def generate(self, drainage, *, rng, config, sources=None) -> list:
        """Sample ``config.count`` shapes with ``rng`` and place them with ``sources`` (the
        pipeline's own stream for picking sources, so that ``count`` does not move them;
        ``rng`` when not given)."""
        if config.count == 0:
            return []
        sin = getattr(config, "sinuosity", None) or self.sinuosity
        length = getattr(config, "length_km", None) or self.length_km
        shapes = self.shapes(config.count, rng=rng, sinuosity=sin, length_km=length)
        return place_shapes(shapes, drainage, rng=rng if sources is None else sources,
                            config=config, generator=self.name)
