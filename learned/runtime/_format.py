"""The runtime's files: ``NAME.npz`` (the weights, numbers only) beside ``NAME.json`` (the
card, whose ``runtime`` section describes the weights).

The card's ``runtime`` section::

    {"format": 1, "file": "NAME.npz", "sha256": "<hex>", "bytes": <size>,
     "arrays": {"<array name>": {"shape": [...], "dtype": "float32"}, ...}}

Loading checks, in order, and refuses with one :class:`RuntimeFileError` that names the file:
the card has a runtime section of this format for a known family; the file's size and SHA-256
are the card's; every array the card lists is in the file with the listed shape and dtype, and
no other; the shapes are those the card's ``config`` builds for the family. The weights are
read with ``numpy.load(allow_pickle=False)`` from an uncompressed zip of ``.npy`` files:
numbers only, nothing is ever unpickled or executed.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from ._model import RuntimeFileError

#: Version of the runtime section of a card and of the weights file.
FORMAT = 1
#: Arrays every family has besides its own weights: the data statistics.
COMMON = {"x_scale": (), "y_bank": (None, 2), "y_mean": (2,), "y_std": (2,)}
_DTYPES = {"y_mean": "float64", "y_std": "float64", "ratio_trees.threshold": "float64"}


def dtype_of(key: str) -> str:
    """The dtype an array is stored in: float64 for the condition statistics (as
    ``learned.data`` encodes y in float64) and the density-ratio trees' thresholds (the
    edges of bins of float64 path statistics), float32 for everything else."""
    return _DTYPES.get(key, "float32")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_card(card_path: Path) -> dict:
    if not card_path.is_file():
        raise FileNotFoundError(f"no runtime model card {card_path}")
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError) as exc:
        raise RuntimeFileError(f"{card_path} is corrupt: not a JSON card ({exc})") from None
    if not isinstance(card, dict) or not isinstance(card.get("config"), dict) \
            or "name" not in card:
        raise RuntimeFileError(f"{card_path} is corrupt: a card needs 'name' and 'config'")
    return card


def runtime_section(card: dict, card_path: Path, name: str) -> dict:
    rt = card.get("runtime")
    if not isinstance(rt, dict):
        raise RuntimeFileError(f"{card_path} has no 'runtime' section: the weights were not "
                               f"converted for the runtime; run `python -m learned.export "
                               f"{name} --out {card_path.parent}` (needs torch)")
    if rt.get("format") != FORMAT:
        raise RuntimeFileError(f"{card_path}: runtime format {rt.get('format')!r} is not "
                               f"supported (this version reads format {FORMAT})")
    if rt.get("file") != f"{name}.npz" or not isinstance(rt.get("sha256"), str) \
            or not isinstance(rt.get("arrays"), dict) or not isinstance(rt.get("bytes"), int):
        raise RuntimeFileError(f"{card_path}: the runtime section needs 'file' = "
                               f"'{name}.npz', 'sha256', 'bytes' and 'arrays'")
    for key, spec in rt["arrays"].items():
        if not isinstance(spec, dict) or not isinstance(spec.get("shape"), list) \
                or spec.get("dtype") not in ("float32", "float64"):
            raise RuntimeFileError(f"{card_path}: runtime array {key!r} must be described as "
                                   f"{{'shape': [...], 'dtype': 'float32' or 'float64'}}, "
                                   f"got {spec!r}")
    return rt


def read_weights(path: Path, rt: dict, expected: dict, card_path: Path) -> dict:
    """The arrays of ``path``, checked against the card's runtime section ``rt`` and the
    family's ``expected`` shapes (None: any length)."""
    if not path.is_file():
        raise FileNotFoundError(f"no runtime weights {path} (its card {card_path.name} is "
                                f"there); run `python -m learned.export {path.stem}`")
    size = path.stat().st_size
    if size != rt["bytes"]:
        raise RuntimeFileError(f"{path}: {size} bytes, but its card {card_path.name} says "
                               f"{rt['bytes']}; refusing a file that is not the exported one")
    data = path.read_bytes()
    digest = sha256(data)
    if digest != rt["sha256"]:
        raise RuntimeFileError(f"{path}: SHA-256 {digest[:16]}... does not match its card "
                               f"{card_path.name} ({str(rt['sha256'])[:16]}...); the file "
                               f"was changed or the card is another model's")
    listed = rt["arrays"]
    if set(listed) != set(expected):
        missing, extra = sorted(set(expected) - set(listed)), sorted(set(listed) - set(expected))
        raise RuntimeFileError(f"{card_path}: the arrays its runtime section lists do not "
                               f"fit its family and config (missing {missing}, unexpected "
                               f"{extra})")
    arrays = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.infolist()
            if any(m.compress_type != zipfile.ZIP_STORED for m in members):
                raise RuntimeFileError(f"{path}: compressed members; runtime weights are "
                                       f"written uncompressed (np.savez)")
            names = sorted(m.filename for m in members)
        if names != sorted(f"{k}.npy" for k in listed):
            raise RuntimeFileError(f"{path}: holds {len(names)} arrays, its card "
                                   f"{card_path.name} lists {len(listed)}")
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            for key, spec in listed.items():
                a = z[key]
                if list(a.shape) != spec["shape"] or a.dtype != np.dtype(spec["dtype"]):
                    raise RuntimeFileError(
                        f"{path}: array {key!r} is {a.dtype} {list(a.shape)}, its card "
                        f"{card_path.name} says {spec.get('dtype')} {spec.get('shape')}")
                arrays[key] = a
    except RuntimeFileError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, TypeError, KeyError) as exc:
        # allow_pickle=False makes an object array a ValueError here: never unpickled
        raise RuntimeFileError(f"{path} is corrupt or not plain numbers: "
                               f"{type(exc).__name__}: {exc}") from None
    for key, shape in expected.items():
        a = arrays[key]
        if a.dtype != np.dtype(dtype_of(key)) or len(a.shape) != len(shape) or any(
                s is not None and s != t for s, t in zip(shape, a.shape)):
            want = [("any" if s is None else s) for s in shape]
            raise RuntimeFileError(f"{path}: array {key!r} is {a.dtype} {list(a.shape)}, but "
                                   f"the card's config needs {dtype_of(key)} {want}")
        if not np.all(np.isfinite(a)):
            raise RuntimeFileError(f"{path}: array {key!r} holds non-finite values")
    if len(arrays["y_bank"]) < 1:
        raise RuntimeFileError(f"{path}: array 'y_bank' is empty")
    return arrays


def write_section(name: str, data: bytes, arrays: dict) -> dict:
    """The card's runtime section for the weights file ``data`` holding ``arrays``."""
    return {"format": FORMAT, "file": f"{name}.npz", "sha256": sha256(data),
            "bytes": len(data),
            "arrays": {k: {"shape": list(v.shape), "dtype": str(v.dtype)}
                       for k, v in arrays.items()}}
