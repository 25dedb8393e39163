"""Learned river shapes placed in Levels: the river-generator protocol for learned models.

``learned`` registers :func:`river_generator` under the entry-point group
``procgen.river_generators`` (name ``learned``), so ``procgen`` finds it without importing
``learned``: ``procgen.generate_level(..., rivers="learned:flow")`` calls
``river_generator("flow")``, which builds ``LearnedRivers("flow")``: it samples turning
angles from the shipped model with the numpy runtime (:mod:`learned.runtime`, no torch) for a
requested sinuosity and length (or from the data's own distribution of them), turns them into
canonical shapes (start at the origin, end at (1, 0)) and puts them on the terrain with
``procgen.rivers.place_shapes``, so sources, mouths, clipping and the downhill carving are the
same as for every generator.

Determinism: the shapes are a function of the level's rivers stream (one 63-bit integer drawn
from it seeds the runtime), the config and the model files, so the same seed and config give
the same level on any machine with the same package version. Since the runtime (issue 18) a
seed gives other learned shapes than before, when torch's generator drew the noise: the same
models, the same distribution, different draws. Terrain, sources and every other generator's
rivers are unchanged.

>>> from procgen import generate_level
>>> level = generate_level(seed=3, shape=(64, 64), cell_size=2500.0, preset="continent",
...                        rivers="learned:ar")
>>> all(r.generator == "learned:ar" for r in level.rivers)
True
"""

from __future__ import annotations

import numpy as np

from procgen.rivers import place_shapes

from . import runtime
from ._rivers import turns_to_canonical

__all__ = ["LearnedRivers", "river_generator"]

#: Families the runtime does not run (its sampler is a Markov chain on the energy network):
#: they are sampled with torch, which they then need.
TORCH_ONLY = ("ebm",)


def _torch_only(name: str) -> bool:
    """Whether the shipped model ``name`` is of a family only torch samples."""
    import json

    from procgen._validate import check_plain_name
    check_plain_name("name", name)
    card = runtime.ROOT / f"{name}.json"
    try:
        return json.loads(card.read_text()).get("name") in TORCH_ONLY
    except (OSError, ValueError, AttributeError):
        return False        # runtime.load says what is wrong with it


class _TorchModel:
    """A shipped torch model behind the runtime's ``sample(n, y, *, seed, temperature)``."""

    def __init__(self, name: str):
        from . import pretrained               # needs torch: its error says how to get it
        self.model = pretrained.load(name)

    def sample(self, n, y=None, *, seed=None, temperature=1.0,
               exact_sinuosity=True) -> np.ndarray:
        from ._torch import torch
        gen = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            return self.model.sample(n, y, generator=gen, temperature=temperature,
                                     exact_sinuosity=exact_sinuosity).numpy()


def river_generator(name: str) -> "LearnedRivers":
    """The river generator of the spec ``'learned:NAME'``: ``LearnedRivers(name)``, the
    shipped model ``name`` run by :mod:`learned.runtime` (the entry point
    ``procgen.river_generators`` names this).

    Raises ``ValueError`` for a name that is not a plain name, ``FileNotFoundError`` (listing
    the available ones) for a name with no model, and :class:`learned.runtime.
    RuntimeFileError` (a ``ValueError``) for weights that disagree with their card. Needs no
    torch, except for the energy-based ``ebm`` (:data:`TORCH_ONLY`), which torch samples.

    Examples
    --------
    >>> river_generator("flow").name
    'learned:flow'
    """
    return LearnedRivers(name)


class LearnedRivers:
    """River generator backed by a shipped model (``learned.runtime.load(name)``).

    Parameters
    ----------
    name : str
        Model name, e.g. ``'flow'`` or ``'ar'``.
    sinuosity, length_km : float, optional
        Requested conditions; None (default) draws them from the training data's own
        distribution (``RiversConfig.sinuosity``, when set, overrides ``sinuosity``).
    temperature : float, optional
        Sampling temperature (1 = the model's distribution). Default 1.
    model : RuntimeModel or torch RiverModel, optional
        Use this model instead of loading ``name``: a :class:`learned.runtime.RuntimeModel`
        (e.g. ``learned.runtime.load(name, root=folder)``), or a trained torch model, which
        is converted in memory (``learned.export.to_runtime``; needs torch), so it gives
        the shapes its exported files would.

    Examples
    --------
    >>> import numpy as np
    >>> gen = LearnedRivers("ar", sinuosity=1.5, length_km=200.0)
    >>> gen.shapes(2, rng=np.random.default_rng(0), sinuosity=1.5, length_km=200.0).shape
    (2, 64, 2)
    """

    def __init__(self, name: str, *, sinuosity=None, length_km=None, temperature=1.0,
                 model=None):
        self.name = f"learned:{name}"
        if model is None:
            model = _TorchModel(name) if _torch_only(name) else runtime.load(name)
        elif not isinstance(model, runtime.RuntimeModel):
            from .export import to_runtime          # torch, only for a torch model
            model = to_runtime(model)
        self.model = model
        self.sinuosity, self.length_km, self.temperature = sinuosity, length_km, temperature

    def shapes(self, n: int, *, rng, sinuosity=None, length_km=None) -> np.ndarray:
        """``n`` canonical shapes, (n, T, 2), sampled with a seed drawn from ``rng``."""
        # one draw from rng, whatever n is: the caller's stream moves by the same amount
        seed = int(rng.integers(0, 2 ** 63 - 1))
        y = {}
        if sinuosity is not None:
            y["sinuosity"] = float(sinuosity)
        if length_km is not None:
            y["length_km"] = float(length_km)
        turns = self.model.sample(n, y or None, seed=seed, temperature=self.temperature)
        return turns_to_canonical(turns.astype(np.float64))

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
