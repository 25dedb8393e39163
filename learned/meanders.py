"""Learned meanders for the drainage network: ``RiversConfig(meanders="learned:NAME")``.

``learned`` registers :func:`meander_source` under the entry-point group
``procgen.meander_sources`` (name ``learned``), so ``procgen`` draws a flow river's reaches
with a learned model's shapes without importing ``learned``. Shapes come from the torch-free
runtime (:mod:`learned.runtime`), so this works on a core install.

``procgen`` asks for the reaches of at least ``procgen.meanders.MIN_PLUGIN_CELLS`` cells
(on shorter ones a shape's 64 points would be closer than half a cell; they get the
sine-generated curve). Each reach is conditioned on its own sinuosity (from its slope and
discharge; the shape is matched to it exactly, as ``sample`` does) and length, clipped to the
range of the rivers the model was trained on (their 1st to 99th percentile: reaches are often
shorter than any river in World Data Bank II), and gets its condition and noise from its own
SeedSequence; the batch is then decoded in one call. So a reach's shape
depends only on the seed and the reach, not on the batch it was drawn in (to float32
rounding, about 1e-7 of its length: matrix products may block a batch differently; one
level always draws its reaches in the same batch, so its rivers are exactly reproducible).

>>> import numpy as np
>>> from learned.meanders import meander_source
>>> source = meander_source("ar")
>>> seqs = [np.random.SeedSequence(7, spawn_key=(k,)) for k in range(3)]
>>> shapes = source.shapes(np.array([1.1, 1.5, 2.0]), np.array([20.0, 60.0, 200.0]), seqs)
>>> [s.shape for s in shapes], [bool(np.allclose(s[[0, -1]], [[0, 0], [1, 0]])) for s in shapes]
([(64, 2), (64, 2), (64, 2)], [True, True, True])
"""

from __future__ import annotations

import numpy as np

from procgen.paths import angles_to_path, canonical

from . import runtime

__all__ = ["LearnedMeanders", "meander_source"]


def meander_source(name: str) -> "LearnedMeanders":
    """The meander source of the spec ``'learned:NAME'`` (the entry point
    ``procgen.meander_sources`` names this); raises ``FileNotFoundError`` (listing the
    models there are) when NAME has no runtime weights."""
    return LearnedMeanders(name)


class LearnedMeanders:
    """Reach shapes from the runtime model ``name`` (``learned.runtime.load(name)``)."""

    def __init__(self, name: str):
        self.model = runtime.load(name)
        self.name = f"learned:{name}"
        bank = self.model.decode_y(self.model.y_bank)
        self._range = {k: np.percentile(v, [1.0, 99.0]) for k, v in bank.items()}
        one, two = self.model.noise_shapes(1), self.model.noise_shapes(2)
        # The axis of each noise array that runs over the batch: where 1 and 2 differ.
        self._axis = {k: int(np.flatnonzero(np.array(one[k][1]) != np.array(two[k][1]))[0])
                      for k in one}

    def shapes(self, sinuosity, length_km, streams) -> list:
        """One canonical shape per reach, ``(T, 2)`` from (0, 0) to (1, 0).

        Parameters
        ----------
        sinuosity, length_km : array_like, (n,)
            Each reach's asked-for sinuosity (>= 1) and length in km.
        streams : sequence of numpy.random.SeedSequence
            Each reach's own stream: its condition and noise come from it alone.
        """
        n = len(streams)
        if n == 0:
            return []
        s = np.clip(np.asarray(sinuosity, np.float64), *self._range["sinuosity"])
        length = np.clip(np.asarray(length_km, np.float64), *self._range["length_km"])
        y = self.model.encode_y({"sinuosity": s, "length_km": length})
        shapes1 = self.model.noise_shapes(1)
        parts = {k: [] for k in shapes1}
        for seq in streams:
            rng = np.random.default_rng(seq)
            for k, (kind, shape) in shapes1.items():
                parts[k].append(rng.standard_normal(shape, dtype=np.float32) if kind == "normal"
                                else rng.random(shape, dtype=np.float32))
        noise = {k: np.concatenate(v, axis=self._axis[k]) for k, v in parts.items()}
        turns = self.model.sample_with(y, noise)
        # one batched call: every shape has the model's T points
        return list(canonical(angles_to_path(np.asarray(turns, np.float64))))
