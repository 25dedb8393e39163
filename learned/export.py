"""Convert a trained river model to the runtime's files: ``python -m learned.export NAME``.

Reads the torch model ``NAME`` (``learned.pretrained.load``: ``NAME.pt`` and its card
``NAME.json``, as ``python -m learned.train`` writes them) and writes, both at once
(``procgen._io.atomic_write_many``: both new or both old):

* ``NAME.npz``: the arrays sampling needs (the state_dict without what only training uses:
  the GAN's critic, the VAE's encoder) as float32, plus the training conditions' mean and
  std (float64) so that the runtime encodes y without the dataset;
* ``NAME.json``: the same card with a ``runtime`` section: format, file, size, SHA-256 and
  every array's name, shape and dtype (see ``learned.runtime._format``).

Needs torch; the result does not (``learned.runtime``).

>>> from learned import pretrained
>>> from learned.export import runtime_arrays
>>> arrays = runtime_arrays(pretrained.load("gan"), "gan")
>>> any(k.startswith("critic.") for k in arrays), arrays["y_mean"].dtype
(False, dtype('float64'))
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np

from procgen._io import atomic_write_many
from procgen._validate import check_plain_name

from . import _rivers
from . import runtime as _runtime
from .runtime import _format

__all__ = ["runtime_arrays", "to_runtime", "export", "main"]

#: state_dict prefixes that only training uses, per family.
_TRAINING_ONLY = {"gan": ("critic.",), "vae": ("encoder.",)}


def runtime_arrays(model, family: str) -> dict:
    """The runtime's arrays of a torch river model of ``family`` (numpy, in the dtypes
    ``learned.runtime`` reads).

    Parameters
    ----------
    model : learned.models.RiverModel
        A trained model (``learned.pretrained.load(NAME)``).
    family : {'ar', 'flow', 'vae', 'gan', 'diffusion'}
        Its family, the card's ``name``.

    Returns
    -------
    dict of str to numpy.ndarray
    """
    if family not in _runtime.FAMILIES:
        raise ValueError(f"family must be one of {sorted(_runtime.FAMILIES)}, got {family!r}")
    skip = _TRAINING_ONLY.get(family, ())
    out = {}
    for key, tensor in model.state_dict().items():
        if key.startswith(skip):
            continue
        out[key] = tensor.detach().cpu().numpy().astype(_format.dtype_of(key))
    mean, std = _rivers.y_stats()
    out["y_mean"] = np.asarray(mean, dtype=np.float64)
    out["y_std"] = np.asarray(std, dtype=np.float64)
    return out


def to_runtime(model, family: str = None, *, card: dict = None):
    """The runtime model of a torch model, built in memory (no files): what
    ``learned.runtime.load`` would give after exporting it.

    Examples
    --------
    >>> from learned import pretrained
    >>> from learned.export import to_runtime
    >>> to_runtime(pretrained.load("ar")).sample(2, seed=0).shape
    (2, 62)
    """
    import dataclasses

    family = family or _family_of(model)
    card = dict(card or {"name": family, "config": dataclasses.asdict(model.config)})
    return _runtime.from_arrays(card, runtime_arrays(model, family))


def _family_of(model) -> str:
    from .models import LEARNED

    for name, cls in LEARNED.items():
        if type(model) is cls:
            return name
    raise ValueError(f"model must be one of the learned families {sorted(LEARNED)}, got "
                     f"{type(model).__name__}")


def _npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)                 # uncompressed: the loader refuses compression
    return buf.getvalue()


def _card_text(card: dict) -> str:
    """The card as indented JSON, each array of the runtime section on one line (a card
    stays readable, and a diff of it shows which arrays changed)."""
    specs = card["runtime"]["arrays"]
    tokens = {f"@array{i}@": spec for i, spec in enumerate(specs.values())}
    shown = dict(card, runtime=dict(card["runtime"], arrays=dict(zip(specs, tokens))))
    text = json.dumps(shown, indent=2)
    for token, spec in tokens.items():
        text = text.replace(json.dumps(token), json.dumps(spec))
    return text + "\n"


def export(name: str, *, root=None, out=None) -> list[Path]:
    """Write ``NAME.npz`` and the card ``NAME.json`` with its runtime section into ``out``
    (default: ``root``, the folder the torch model is read from, default the shipped
    models). Returns the two paths.

    Raises
    ------
    FileNotFoundError, learned.pretrained.PretrainedError
        As ``learned.pretrained.load`` for the torch model.
    """
    from . import pretrained

    check_plain_name("name", name)
    root = pretrained.ROOT if root is None else Path(root)
    out = root if out is None else Path(out)
    model = pretrained.load(name, root=root)
    card = pretrained.card(name, root=root)
    arrays = runtime_arrays(model, card["name"])
    data = _npz_bytes(arrays)
    card = {k: v for k, v in card.items() if k != "runtime"}
    card["runtime"] = _format.write_section(name, data, arrays)
    card_bytes = _card_text(card).encode()
    written = atomic_write_many([(out / f"{name}.npz", data, "out"),
                                 (out / f"{name}.json", card_bytes, "out")])
    # round trip: the files load and give the torch model's arrays back
    check = _runtime.load(name, root=out)
    assert check.family == card["name"]
    return written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m learned.export",
                                description="Convert trained river models to the numpy "
                                            "runtime's files (NAME.npz + the card's runtime "
                                            "section).")
    p.add_argument("names", nargs="+", metavar="NAME", help="model names, e.g. flow ar")
    p.add_argument("--root", default=None, help="folder of NAME.pt and NAME.json "
                                                "(default: the shipped models)")
    p.add_argument("--out", default=None, help="where to write (default: --root)")
    a = p.parse_args(argv)
    for name in a.names:
        try:
            paths = export(name, root=a.root, out=a.out)
        except (FileNotFoundError, ValueError) as exc:
            print(f"learned.export: {name}: {exc}", file=sys.stderr)
            return 1
        size = paths[0].stat().st_size
        print(f"{name}: {paths[0]} ({size / 1e6:.2f} MB), {paths[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
