"""numpy twin of ``_kernels.gelu_flat``: the same rational erf, without numba (kept apart
from ``_kernels`` so that importing it does not import numba)."""

from __future__ import annotations

import numpy as np

# erf(a) = a P(a^2) / Q(a^2) on [-4, 4]: the fit described in learned.runtime._kernels
P = (1.12837916e+00, 1.87214293e-01, 5.22985840e-02, 3.62618168e-03, 2.81165323e-04,
     2.06286418e-06)
Q = (1.0, 4.99247503e-01, 1.12765470e-01, 1.46839093e-02, 1.12807599e-03, 3.80397957e-05)
_P32 = [np.float32(c) for c in P]
_Q32 = [np.float32(c) for c in Q]


def gelu_np(x):
    """GELU of a float32 array with erf(a) = a P(a^2) / Q(a^2), a clipped to [-4, 4]."""
    a = np.clip(x * np.float32(0.7071067811865476), np.float32(-4.0), np.float32(4.0))
    s = a * a
    num = _P32[5]
    for c in _P32[4::-1]:
        num = num * s + c
    den = _Q32[5]
    for c in _Q32[4::-1]:
        den = den * s + c
    return np.float32(0.5) * x * (np.float32(1.0) + a * num / den)
