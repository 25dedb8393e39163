"""Input checks shared by every public function: errors name the parameter, the value and
what is allowed."""

from __future__ import annotations

import enum
import math
import numbers
from typing import TypeVar

E = TypeVar("E", bound=enum.Enum)

#: Largest grid (cells) a call makes unless the caller raises the cap with ``max_cells``.
DEFAULT_MAX_CELLS = 8192 * 8192


def check_int(name: str, value, *, lo: int | None = None, hi: int | None = None) -> int:
    """Return ``value`` as an int, or raise naming ``name`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{name} must be in {_range_text(lo, hi)}, got {value}")
    return value


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
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (int(shape), int(shape))
    try:
        rows, cols = shape
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an int or a (rows, cols) pair, got {shape!r}") from None
    rows = check_int(f"{name}[0]", rows, lo=1)
    cols = check_int(f"{name}[1]", cols, lo=1)
    if max_cells is not None and rows * cols > max_cells:
        raise ValueError(
            f"{name} {rows}x{cols} is {rows * cols:,} cells, over the cap of {max_cells:,}; "
            f"pass max_cells=None (or a larger cap) if you really want it")
    return rows, cols


def _range_text(lo, hi) -> str:
    return f"{'-inf' if lo is None else lo}..{'inf' if hi is None else hi}"
