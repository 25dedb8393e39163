"""Every river model behind one interface (see ``base.RiverModel``), by name.

>>> from learned.models import MODELS, LEARNED
>>> sorted(LEARNED)
['ar', 'diffusion', 'flow', 'gan', 'vae']
"""

from __future__ import annotations

from .ar import ARModel
from .base import RiverModel, decode_y, encode_y
from .diffusion import DiffusionModel
from .flow import FlowModel
from .gan import GANModel
from .vae import VAEModel

__all__ = ["MODELS", "LEARNED", "BASELINES", "RiverModel", "ARModel", "FlowModel",
           "VAEModel", "GANModel", "DiffusionModel", "encode_y", "decode_y",
           "get_model_class"]

#: The neural families, trained by ``python -m learned.train NAME``.
LEARNED = {"flow": FlowModel, "ar": ARModel, "vae": VAEModel, "gan": GANModel,
           "diffusion": DiffusionModel}


def _baselines() -> dict:
    """Hand-written models of ``learned.baselines`` (empty until that module exists)."""
    try:
        from learned import baselines as _b
    except ImportError:
        return {}
    names = getattr(_b, "BASELINES", None)
    if isinstance(names, dict):
        return dict(names)
    out = {}
    for attr in dir(_b):
        obj = getattr(_b, attr)
        if (isinstance(obj, type) and issubclass(obj, __import__("torch").nn.Module)
                and obj.__module__ == _b.__name__ and hasattr(obj, "log_prob")
                and hasattr(obj, "sample") and not attr.startswith("_")):
            out[getattr(obj, "name", attr)] = obj
    return out


#: Hand-written baselines with a likelihood.
BASELINES = _baselines()
#: Every registered model: name -> class.
MODELS = {**LEARNED, **BASELINES}


def get_model_class(name: str):
    if name not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {name!r}")
    return MODELS[name]
