"""Pretrained river models shipped in ``assets/models``.

Each model NAME is two files: ``NAME.pt``, its ``state_dict`` (loaded with
``torch.load(weights_only=True)``, so no code is unpickled), and ``NAME.json``, its card: the
family, the model config, the data checksum, metrics and training time.

>>> from learned import pretrained
>>> names = pretrained.available()          # e.g. ['ar', 'flow']
"""

from __future__ import annotations

import json
from pathlib import Path

from procgen._validate import PLAIN_NAME, check_plain_name

from ._torch import torch

from ._assets import asset_dir
from .models import LEARNED

__all__ = ["ROOT", "PretrainedError", "available", "load", "card"]

#: Where the shipped weights live (``assets/models`` in a checkout).
ROOT = asset_dir("models")


class PretrainedError(ValueError):
    """A pretrained model's files exist but cannot be used (corrupt or mismatched)."""


def _paths(name: str, root) -> tuple[Path, Path]:
    # A name is looked up in one folder, never used as a path: other places only via root=.
    check_plain_name("name", name)
    root = ROOT if root is None else Path(root)
    return root / f"{name}.pt", root / f"{name}.json"


def available(root=None) -> list[str]:
    """Names whose weights and card are both present and whose card names a known family."""
    root = ROOT if root is None else Path(root)
    out = []
    for card_path in sorted(root.glob("*.json")):
        name = card_path.stem
        if not PLAIN_NAME.fullmatch(name):
            continue
        try:
            c = card(name, root=root)
        except (FileNotFoundError, PretrainedError):
            continue
        if (root / f"{name}.pt").exists() and c.get("name") in LEARNED:
            out.append(name)
    return out


def card(name: str, *, root=None) -> dict:
    """The JSON card of a pretrained model."""
    weights, card_path = _paths(name, root)
    if not card_path.exists():
        have = ", ".join(repr(n) for n in available(root)) or "none"
        raise FileNotFoundError(f"no pretrained model {name!r}: {card_path} is missing "
                                f"(available: {have}); train one with "
                                f"`python -m learned.train {name} --out {card_path.parent}`")
    try:
        c = json.loads(card_path.read_text())
    except (OSError, ValueError) as exc:
        raise PretrainedError(f"{card_path} is corrupt: not a JSON card ({exc})") from None
    if not isinstance(c, dict) or not isinstance(c.get("config"), dict) or "name" not in c:
        raise PretrainedError(f"{card_path} is corrupt: a card needs 'name' and 'config'")
    return c


_CACHE: dict = {}


def _check_size(cls, config, weights: Path, card_path: Path) -> None:
    """Refuse a card whose config would need far more memory than its weights file holds.

    The module is first built on the meta device (shapes only, nothing allocated), so a
    tampered card asking for ``hidden=10**7`` fails here in milliseconds, naming the sizes,
    instead of trying to allocate petabytes.
    """
    try:
        with torch.device("meta"):
            shapes = cls(config).state_dict()
    except Exception as exc:   # noqa: BLE001 - any config value the family cannot build from
        raise PretrainedError(f"{card_path}: config does not build a {cls.__name__} "
                              f"({type(exc).__name__}: {exc})") from None
    need = sum(t.numel() * t.element_size() for t in shapes.values())
    have = weights.stat().st_size
    if need > 2 * have + (1 << 20):
        raise PretrainedError(f"{card_path}: its config needs {need / 1e6:,.1f} MB of weights "
                              f"but {weights.name} holds {have / 1e6:,.1f} MB; refusing to "
                              "allocate it (is the card from another model?)")


def load(name: str, *, root=None):
    """The pretrained model ``name`` (e.g. ``'flow'``, ``'ar'``), in eval mode.

    Raises
    ------
    FileNotFoundError
        The weights or the card are missing.
    PretrainedError
        A file is corrupt, or the weights do not match the card's config.
    """
    weights, card_path = _paths(name, root)
    c = card(name, root=root)
    if not weights.exists():
        raise FileNotFoundError(f"no pretrained model {name!r}: {weights} is missing "
                                f"(its card {card_path.name} is there)")
    key = (str(weights), weights.stat().st_mtime_ns, card_path.stat().st_mtime_ns)
    if key in _CACHE:
        return _CACHE[key]
    family = c["name"]
    if family not in LEARNED:
        raise PretrainedError(f"{card_path}: unknown model family {family!r}; known: "
                              f"{sorted(LEARNED)}")
    cls = LEARNED[family]
    try:
        config = cls.Config(**c["config"])
    except TypeError as exc:
        raise PretrainedError(f"{card_path}: config does not fit {cls.__name__} ({exc})") \
            from None
    _check_size(cls, config, weights, card_path)
    try:
        state = torch.load(weights, weights_only=True, map_location="cpu")
    except Exception as exc:   # noqa: BLE001 - torch raises many kinds for a bad file
        raise PretrainedError(f"{weights} is corrupt: could not be read ({type(exc).__name__}"
                              f": {exc})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise PretrainedError(f"{weights} is corrupt: not a state_dict of tensors")
    model = cls(config)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise PretrainedError(f"{weights} does not match its card {card_path.name} "
                              f"({family}, config {c['config']}): {' '.join(first[1:3])}") \
            from None
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    _CACHE[key] = model
    return model
