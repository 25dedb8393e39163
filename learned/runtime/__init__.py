"""Shipped river models sampled with numpy and numba alone: what games use.

``learned.runtime.load(NAME)`` reads ``NAME.npz`` (the weights, plain numbers) and the card
``NAME.json`` from the models folder (``assets/models``) and returns a model whose
``sample(n, y=None, *, seed=None, temperature=1.0)`` gives ``(n, T-2)`` turning angles, and,
for the families with an exact likelihood (ar, flow), ``log_prob(turns, y)``. Importing it
imports neither torch nor numba (numba's kernels, GELU and the convolutional families' fused
layers, are imported and compiled on first use, then cached per user); the files are
written from trained torch models by ``python -m learned.export NAME``.

Each family (ar, flow, vae, gan, diffusion) mirrors its torch forward pass; given the same
noise (``sample_from_noise(y, noise)``) runtime and torch agree within 2e-5. A seed draws
different noise than a torch generator does, so the same seed gives other (equally
distributed) rivers than ``learned.pretrained``.

>>> from learned import runtime
>>> model = runtime.load("flow")
>>> model.sample(2, {"sinuosity": 1.5, "length_km": 300.0}, seed=7).shape
(2, 62)
"""

from __future__ import annotations

from pathlib import Path

from procgen._validate import PLAIN_NAME, check_plain_name

from .._assets import asset_dir
from . import _format
from ._ar import ARRuntime
from ._diffusion import DiffusionRuntime
from ._flow import FlowRuntime
from ._gan import GANRuntime
from ._model import RuntimeFileError, RuntimeModel
from ._vae import VAERuntime

__all__ = ["ROOT", "FAMILIES", "RuntimeModel", "RuntimeFileError", "available", "load",
           "expected_arrays", "from_arrays"]

#: Where the shipped models live (``assets/models`` in a checkout).
ROOT = asset_dir("models")

#: Family name (a card's ``name``) -> runtime class.
FAMILIES = {cls.family: cls for cls in (ARRuntime, FlowRuntime, VAERuntime, GANRuntime,
                                        DiffusionRuntime)}


def _family(card: dict, where) -> type:
    family = card.get("name")
    if family not in FAMILIES:
        raise RuntimeFileError(f"{where}: unknown model family {family!r}; the runtime "
                               f"knows {sorted(FAMILIES)}")
    return FAMILIES[family]


def expected_arrays(card: dict) -> dict:
    """Array name -> shape (None where any length goes) that a card's family and config
    need: the family's weights and the data statistics.

    >>> from learned.runtime import expected_arrays
    >>> expected_arrays({"name": "ar", "config": {"n_turns": 6, "y_dim": 2, "hidden": 4,
    ...     "n_layers": 1, "n_mix": 2}})["head.weight"]
    (6, 4)
    """
    cls = _family(card, "card")
    try:
        shapes = cls.shapes(card["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RuntimeFileError(f"card: config {card.get('config')} does not build a "
                               f"{cls.family} model ({type(exc).__name__}: {exc})") from None
    return {**_format.COMMON, **shapes}


def from_arrays(card: dict, arrays: dict, *, name=None) -> RuntimeModel:
    """A runtime model from a card and its arrays held in memory (what ``load`` builds after
    its checks; ``learned.export.to_runtime`` uses it to convert a torch model without
    files)."""
    cls = _family(card, "card")
    return cls(name or card["name"], card, arrays)


_CACHE: dict = {}


def load(name: str, *, root=None) -> RuntimeModel:
    """The shipped model ``name`` (e.g. ``'flow'``, ``'ar'``) from ``root`` (default
    :data:`ROOT`), checked against its card.

    Parameters
    ----------
    name : str
        A plain name (lower-case letter, then lower-case letters, digits or ``_``): the
        files are ``NAME.npz`` and ``NAME.json`` in ``root``, never a path.
    root : path-like, optional
        Folder of the files; default the shipped models.

    Raises
    ------
    FileNotFoundError
        The card or the weights are missing (naming the available models).
    RuntimeFileError
        A ``ValueError``: the weights' size, checksum, arrays, shapes or dtypes disagree
        with the card, or the card with its family's config. The message names the file.

    Examples
    --------
    >>> from learned import runtime
    >>> model = runtime.load("ar")
    >>> model.family, model.likelihood, model.n_turns
    ('ar', 'exact', 62)
    """
    check_plain_name("name", name)
    folder = ROOT if root is None else Path(root)
    card_path, weights = folder / f"{name}.json", folder / f"{name}.npz"
    if not card_path.is_file():
        have = ", ".join(repr(n) for n in available(folder)) or "none"
        raise FileNotFoundError(f"no runtime model {name!r}: {card_path} is missing "
                                f"(available: {have})")
    key = (str(weights.resolve()), _mtime(weights), _mtime(card_path))
    if key in _CACHE:
        return _CACHE[key]
    card = _format.read_card(card_path)
    cls = _family(card, card_path)
    rt = _format.runtime_section(card, card_path, name)
    try:
        expected = expected_arrays(card)
    except RuntimeFileError as exc:
        raise RuntimeFileError(f"{card_path}: {str(exc).split(': ', 1)[1]}") from None
    arrays = _format.read_weights(weights, rt, expected, card_path)
    try:
        model = cls(name, card, arrays, path=weights)
    except (KeyError, ValueError, TypeError) as exc:
        raise RuntimeFileError(f"{weights}: does not build a {cls.family} model with its "
                               f"card's config ({type(exc).__name__}: {exc})") from None
    _CACHE[key] = model
    return model


def _mtime(path: Path):
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def available(root=None) -> list[str]:
    """Names in ``root`` (default :data:`ROOT`) whose card has a runtime section for a known
    family and whose weights file is there (not verified: :func:`load` checks them).

    >>> from learned import runtime
    >>> {"ar", "flow"} <= set(runtime.available())
    True
    """
    folder = ROOT if root is None else Path(root)
    out = []
    for card_path in sorted(folder.glob("*.json")):
        name = card_path.stem
        if not PLAIN_NAME.fullmatch(name) or not (folder / f"{name}.npz").is_file():
            continue
        try:
            card = _format.read_card(card_path)
            _format.runtime_section(card, card_path, name)
        except (OSError, RuntimeFileError):
            continue
        if card.get("name") in FAMILIES:
            out.append(name)
    return out
