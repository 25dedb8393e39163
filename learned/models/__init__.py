"""Every river model behind one interface (see ``base.RiverModel``), by name.

>>> from learned.models import MODELS, LEARNED
>>> sorted(LEARNED)
['ar', 'diffusion', 'ebm', 'flow', 'gan', 'vae']

Each declares the likelihood it has, which the loop and the evaluation read
(``learned._contract``):

>>> {name: cls.likelihood for name, cls in sorted(MODELS.items())}
... # doctest: +NORMALIZE_WHITESPACE
{'ar': 'exact', 'ar2_heading': 'exact', 'coin_flip': 'exact', 'diffusion': None,
 'ebm': None, 'flow': 'exact', 'gan': None, 'sine_curve': 'exact', 'vae': 'estimate'}
"""

from __future__ import annotations

from .._contract import ESTIMATE, EXACT, LIKELIHOODS, RiverContract
from ..baselines import BASELINES
from .ar import ARModel
from .base import RiverModel, decode_y, encode_y
from .diffusion import DiffusionModel
from .ebm import EBMModel
from .flow import FlowModel
from .gan import GANModel
from .vae import VAEModel

__all__ = ["MODELS", "LEARNED", "BASELINES", "RiverContract", "LIKELIHOODS", "EXACT",
           "ESTIMATE", "RiverModel", "ARModel", "FlowModel", "VAEModel", "GANModel",
           "DiffusionModel", "EBMModel", "encode_y", "decode_y", "get_model_class"]

#: The neural families, trained by ``python -m learned.train NAME``.
LEARNED = {"flow": FlowModel, "ar": ARModel, "vae": VAEModel, "gan": GANModel,
           "diffusion": DiffusionModel, "ebm": EBMModel}

#: Every registered model (the hand-written ``BASELINES`` come from ``learned.baselines``): name -> class.
MODELS = {**LEARNED, **BASELINES}


def get_model_class(name: str):
    if name not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {name!r}")
    return MODELS[name]
