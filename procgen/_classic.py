"""Vectorised twins of the ``noise`` package: ``pnoise2``, ``pnoise3`` and ``snoise2``.

These functions reproduce ``noise`` 1.2.2 (Casey Duncan) bit for bit on numpy arrays, computed
in parallel by the numba kernels in :mod:`procgen._kernels.classic`:

* ``pnoise2`` / ``pnoise3``: Ken Perlin's improved noise (Perlin 2002, "Improving Noise",
  SIGGRAPH), with ``noise``'s fBm octave sum, repeat (tiling) periods and ``base`` offset.
* ``snoise2``: 2-D simplex noise (Gustavson 2005, "Simplex noise demystified"); with
  ``repeatx`` / ``repeaty`` it wraps each repeating axis onto a circle and samples 3-D or 4-D
  simplex noise, exactly as ``noise`` does.

Keyword names and defaults are those of ``noise``. Coordinates may be scalars or arrays; they
broadcast together and the result is a float32 array of the broadcast shape (0-d for scalars).
As in ``noise``, coordinates and float parameters are rounded to float32 first and all
arithmetic is float32, so the results equal ``noise``'s (which are float32 values returned as
Python floats).

Where the behaviour is defined differently from ``noise``:

* A NaN or infinite coordinate (also a finite float64 beyond the float32 range, which
  becomes infinite) gives NaN. ``noise`` returns NaN for Perlin noise but 0.0 for simplex
  noise there.
* Parameters are validated (``noise`` accepts e.g. ``octaves=0`` only to raise, and reads
  memory past its permutation table for ``base >= 2``). ``base`` for the Perlin functions is
  limited to 0..255; for 2..255 the result matches the compiled ``noise`` 1.2.2, whose
  out-of-bounds reads land in its GRAD4 table (see :mod:`procgen._kernels.classic`).
"""

from __future__ import annotations

import numpy as np

from ._kernels import classic as _ck
from ._validate import check_float, check_int

__all__ = ["pnoise2", "pnoise3", "snoise2"]

#: Most octaves a call may ask for (beyond ~24 octaves of lacunarity 2 the float32 frequency
#: scaling no longer adds detail, it only costs time).
MAX_OCTAVES = 30

_C_INT_MAX = 2**31 - 1


def _coordinate(name: str, value) -> np.ndarray:
    """``value`` as a float32 array, rounded the way ``noise`` parses a C ``float``."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be real numbers, got dtype {arr.dtype}")
    if arr.dtype != np.float32:
        # via float64, like Python's float() followed by C's (float) cast; values beyond
        # the float32 range become inf on purpose (they come out as NaN)
        with np.errstate(over="ignore"):
            arr = arr.astype(np.float64).astype(np.float32)
    return arr


def _flat_coordinates(**named):
    """Broadcast the named coordinates; return their flat contiguous copies and the shape."""
    arrays = [_coordinate(name, value) for name, value in named.items()]
    try:
        broadcast = np.broadcast_arrays(*arrays)
    except ValueError:
        shapes = ", ".join(f"{name} {a.shape}" for name, a in zip(named, arrays))
        raise ValueError(f"coordinates do not broadcast together: {shapes}") from None
    shape = broadcast[0].shape
    return [np.ascontiguousarray(a).reshape(-1) for a in broadcast], shape


def _float32_param(name: str, value, *, positive: bool = False) -> np.float32:
    """A finite real parameter rounded to float32, as ``noise`` parses it."""
    value = check_float(name, value, lo=0.0 if positive else None, lo_open=positive)
    with np.errstate(over="ignore", under="ignore"):
        single = np.float32(value)
    if not np.isfinite(single):
        raise ValueError(f"{name} must be within the float32 range, got {value:g}")
    if positive and single == 0:
        raise ValueError(f"{name} must be at least the smallest float32, got {value:g}")
    return single


def _octave_params(octaves, persistence, lacunarity):
    return (check_int("octaves", octaves, lo=1, hi=MAX_OCTAVES),
            _float32_param("persistence", persistence),
            _float32_param("lacunarity", lacunarity))


def _perlin_base(base) -> int:
    return check_int("base", base, lo=0, hi=_ck.MAX_BASE)


def pnoise2(x, y, octaves=1, persistence=0.5, lacunarity=2.0, repeatx=1024, repeaty=1024,
            base=0):
    """2-D Perlin improved noise, equal to ``noise.pnoise2`` element by element.

    Parameters
    ----------
    x, y : array_like of float
        Coordinates; broadcast together. Rounded to float32 like ``noise``.
    octaves : int, optional
        Number of fBm octaves, 1..30. Default 1 (plain noise).
    persistence : float, optional
        Amplitude ratio of each octave to the one below. Default 0.5.
    lacunarity : float, optional
        Frequency ratio of each octave to the one below. Default 2.0.
    repeatx, repeaty : float, optional
        Positive period of the noise along x and y (scaled with each octave's frequency).
        Non-integer periods are allowed and behave as in ``noise`` (the lattice is wrapped
        with ``fmodf``, so the noise only tiles exactly for integer periods). Default 1024.
    base : int, optional
        Offset into the permutation table giving a different noise, 0..255. Default 0.

    Returns
    -------
    numpy.ndarray
        float32 array of the broadcast shape of ``x`` and ``y`` (0-d for scalars). NaN where
        a coordinate is NaN or infinite.

    Raises
    ------
    TypeError
        If ``octaves`` or ``base`` is not an integer, a float parameter is not a real number,
        or a coordinate is not numeric.
    ValueError
        If a parameter is out of range or not finite, or the coordinates do not broadcast.

    Examples
    --------
    >>> float(pnoise2(0.5, 0.25))
    -0.038818359375
    >>> pnoise2([0.5, 1.5], 0.25, octaves=4, repeatx=8).shape
    (2,)
    """
    octaves, persistence, lacunarity = _octave_params(octaves, persistence, lacunarity)
    repeatx = _float32_param("repeatx", repeatx, positive=True)
    repeaty = _float32_param("repeaty", repeaty, positive=True)
    base = _perlin_base(base)
    (xs, ys), shape = _flat_coordinates(x=x, y=y)
    out = np.empty(xs.size, dtype=np.float32)
    _ck.pnoise2_points(xs, ys, octaves, persistence, lacunarity, repeatx, repeaty, base, out)
    return out.reshape(shape)


def pnoise3(x, y, z, octaves=1, persistence=0.5, lacunarity=2.0, repeatx=1024, repeaty=1024,
            repeatz=1024, base=0):
    """3-D Perlin improved noise, equal to ``noise.pnoise3`` element by element.

    Parameters
    ----------
    x, y, z : array_like of float
        Coordinates; broadcast together. Rounded to float32 like ``noise``.
    octaves : int, optional
        Number of fBm octaves, 1..30. Default 1 (plain noise).
    persistence : float, optional
        Amplitude ratio of each octave to the one below. Default 0.5.
    lacunarity : float, optional
        Frequency ratio of each octave to the one below. Default 2.0.
    repeatx, repeaty, repeatz : int, optional
        Integer period along each axis, 1..2**31-1; for each octave ``noise`` uses
        ``int(repeat * frequency)`` (truncated). Default 1024.
    base : int, optional
        Offset into the permutation table giving a different noise, 0..255. Default 0.

    Returns
    -------
    numpy.ndarray
        float32 array of the broadcast shape of ``x``, ``y`` and ``z`` (0-d for scalars).
        NaN where a coordinate is NaN or infinite.

    Raises
    ------
    TypeError
        If an integer parameter is not an integer, a float parameter is not a real number,
        or a coordinate is not numeric.
    ValueError
        If a parameter is out of range or not finite, or the coordinates do not broadcast.

    Examples
    --------
    >>> float(pnoise3(0.5, 0.25, 0.75))
    -0.32867860794067383
    >>> pnoise3(0.5, [[0.25], [1.25]], [0.1, 0.2, 0.3], octaves=3).shape
    (2, 3)
    """
    octaves, persistence, lacunarity = _octave_params(octaves, persistence, lacunarity)
    repeats = [check_int(name, value, lo=1, hi=_C_INT_MAX)
               for name, value in (("repeatx", repeatx), ("repeaty", repeaty),
                                   ("repeatz", repeatz))]
    base = _perlin_base(base)
    (xs, ys, zs), shape = _flat_coordinates(x=x, y=y, z=z)
    out = np.empty(xs.size, dtype=np.float32)
    _ck.pnoise3_points(xs, ys, zs, octaves, persistence, lacunarity, *repeats, base, out)
    return out.reshape(shape)


def _simplex_repeat(name: str, value) -> np.float32:
    if value is None:
        return _ck.FLT_MAX
    return _float32_param(name, value, positive=True)


def snoise2(x, y, octaves=1, persistence=0.5, lacunarity=2.0, repeatx=None, repeaty=None,
            base=0.0):
    """2-D simplex noise, equal to ``noise.snoise2`` element by element.

    Parameters
    ----------
    x, y : array_like of float
        Coordinates; broadcast together. Rounded to float32 like ``noise``.
    octaves : int, optional
        Number of fBm octaves, 1..30. Default 1 (plain noise).
    persistence : float, optional
        Amplitude ratio of each octave to the one below. Default 0.5.
    lacunarity : float, optional
        Frequency ratio of each octave to the one below. Default 2.0.
    repeatx, repeaty : float or None, optional
        Positive period along x / y, or None for no tiling (default). A repeating axis is
        wrapped onto a circle and 3-D (one axis) or 4-D (both) simplex noise is sampled, as
        in ``noise``; this uses ``noise``'s fast polynomial sine, so the result is a
        different (though similar-looking) noise from the untiled one. A period equal to
        the largest float32 counts as None, as it does in ``noise``.
    base : float, optional
        Offset added to the coordinates (to the circle's extra axes when tiled), giving a
        different noise. Default 0.0.

    Returns
    -------
    numpy.ndarray
        float32 array of the broadcast shape of ``x`` and ``y`` (0-d for scalars). NaN where
        a coordinate is NaN or infinite (``noise`` returns 0.0 there).

    Raises
    ------
    TypeError
        If ``octaves`` is not an integer, a float parameter is not a real number, or a
        coordinate is not numeric.
    ValueError
        If a parameter is out of range or not finite, or the coordinates do not broadcast.

    Examples
    --------
    >>> float(snoise2(0.5, 0.25))
    -0.6471487879753113
    >>> float(snoise2(0.5, 0.25, repeatx=4.0)) == float(snoise2(4.5, 0.25, repeatx=4.0))
    True
    """
    octaves, persistence, lacunarity = _octave_params(octaves, persistence, lacunarity)
    repeatx = _simplex_repeat("repeatx", repeatx)
    repeaty = _simplex_repeat("repeaty", repeaty)
    base = _float32_param("base", base)
    (xs, ys), shape = _flat_coordinates(x=x, y=y)
    out = np.empty(xs.size, dtype=np.float32)
    _ck.snoise2_points(xs, ys, octaves, persistence, lacunarity, repeatx, repeaty, base, out)
    return out.reshape(shape)
