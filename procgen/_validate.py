"""Input checks shared by every public function: errors name the parameter, the value and
what is allowed."""

from __future__ import annotations

import enum
import math
import numbers
import re
from typing import TypeVar

E = TypeVar("E", bound=enum.Enum)

#: Largest grid (cells) a call makes unless the caller raises the cap with ``max_cells``.
DEFAULT_MAX_CELLS = 8192 * 8192

#: Seeds are 64-bit integers read either way, signed or unsigned: ``-2**63 <= seed <= 2**64 - 1``.
#: A negative seed wraps modulo 2**64 (two's complement), so ``-1`` and ``2**64 - 1`` are one
#: seed. The same rule holds for every ``seed`` and integer ``rng`` in procgen.
SEED_MIN = -(1 << 63)
SEED_MAX = (1 << 64) - 1

#: What a name that picks a file by itself (``learned:NAME``) may be: a lower-case letter, then
#: up to 63 lower-case letters, digits or underscores. No dots, slashes or separators, so the
#: name cannot leave the folder it is looked up in.
PLAIN_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
PLAIN_NAME_RULE = ("a lower-case letter, then up to 63 lower-case letters, digits or '_' "
                   "(e.g. 'flow')")


def check_int(name: str, value, *, lo: int | None = None, hi: int | None = None) -> int:
    """Return ``value`` as an int, or raise naming ``name`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{name} must be in {_range_text(lo, hi)}, got {value}")
    return value


#: Metres per cell that every stage accepts: from 1 mm (finer, and squared areas underflow in
#: the hillshade and carving maths) to 1,000 km.
CELL_SIZE_MIN, CELL_SIZE_MAX = 1e-3, 1e6


def check_cell_size(value, *, name: str = "cell_size") -> float:
    """``value`` as metres per cell in [:data:`CELL_SIZE_MIN`, :data:`CELL_SIZE_MAX`].

    >>> check_cell_size(250)
    250.0
    >>> check_cell_size(0.0)
    Traceback (most recent call last):
    ...
    ValueError: cell_size must be in [0.001, 1e+06], got 0
    """
    return check_float(name, value, lo=CELL_SIZE_MIN, hi=CELL_SIZE_MAX)


def check_float(name: str, value, *, lo: float | None = None, hi: float | None = None,
                lo_open: bool = False, hi_open: bool = False) -> float:
    """Return ``value`` as a finite float within bounds, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    too_low = lo is not None and (value <= lo if lo_open else value < lo)
    too_high = hi is not None and (value >= hi if hi_open else value > hi)
    if too_low or too_high:
        lo_b = "(" if lo_open else "["
        hi_b = ")" if hi_open else "]"
        lo_t = "-inf" if lo is None else f"{lo:g}"
        hi_t = "inf" if hi is None else f"{hi:g}"
        raise ValueError(f"{name} must be in {lo_b}{lo_t}, {hi_t}{hi_b}, got {value:g}")
    return value


def check_seed(name: str, value) -> int:
    """Return a seed as an int in ``0..2**64 - 1`` (see :data:`SEED_MIN`, :data:`SEED_MAX`).

    Examples
    --------
    >>> from procgen._validate import check_seed
    >>> check_seed("seed", -1) == 2**64 - 1
    True
    """
    rule = f"-2**63..2**64-1 (negative seeds wrap modulo 2**64), got {value!r}"
    if not _is_int(value):
        raise TypeError(f"{name} must be an integer in {rule}")
    if not SEED_MIN <= int(value) <= SEED_MAX:
        raise ValueError(f"{name} must be in {rule}")
    return int(value) & SEED_MAX


def check_max_cells(name: str, value) -> int | None:
    """Return a cell cap: None (no cap) or an int >= 1."""
    if value is None:
        return None
    rule = f"{name} must be None (no cap) or an integer >= 1, got {value!r}"
    if not _is_int(value):
        raise TypeError(rule)
    if value < 1:
        raise ValueError(rule)
    return int(value)


def check_plain_name(name: str, value) -> str:
    """Return ``value`` if it is a plain name (:data:`PLAIN_NAME`), or raise saying what is.

    For names that pick a file in a fixed folder, so that none can reach outside it.

    Examples
    --------
    >>> from procgen._validate import check_plain_name
    >>> check_plain_name("model", "flow_v2")
    'flow_v2'
    >>> check_plain_name("model", "../elsewhere")               # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: model must be a plain name: a lower-case letter, then ...; got '../elsewhere'
    """
    if not isinstance(value, str) or not PLAIN_NAME.fullmatch(value):
        raise ValueError(f"{name} must be a plain name: {PLAIN_NAME_RULE}; got {value!r}")
    return value


def check_enum(name: str, value, enum_type: type[E]) -> E:
    """Return the member of ``enum_type`` named or valued ``value``, or raise listing them."""
    if isinstance(value, enum_type):
        return value
    for member in enum_type:
        if value == member.value or (isinstance(value, str) and value.lower() == member.name.lower()):
            return member
    allowed = ", ".join(repr(m.value) for m in enum_type)
    raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def check_shape(name: str, shape, *, max_cells: int | None = DEFAULT_MAX_CELLS) -> tuple[int, int]:
    """Return a 2-D grid shape ``(rows, cols)`` of positive ints under the memory cap.

    An int means a square grid. ``max_cells=None`` lifts the cap.
    """
    max_cells = check_max_cells("max_cells", max_cells)
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (int(shape), int(shape))
    try:
        # A str unpacks too ("64" into "6" and "4"): refuse it as a whole.
        if isinstance(shape, (str, bytes)):
            raise TypeError
        rows, cols = shape
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an int or a (rows, cols) pair of ints, "
                         f"got {shape!r}") from None
    rows = check_int(f"{name}[0]", rows, lo=1)
    cols = check_int(f"{name}[1]", cols, lo=1)
    if max_cells is not None and rows * cols > max_cells:
        raise ValueError(
            f"{name} {rows}x{cols} is {rows * cols:,} cells, over the cap of {max_cells:,}; "
            f"pass max_cells=None (or a larger cap) if you really want it")
    return rows, cols


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _range_text(lo, hi) -> str:
    return f"{'-inf' if lo is None else lo}..{'inf' if hi is None else hi}"
