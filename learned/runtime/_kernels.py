"""numba kernels of the runtime: what numpy has no fast ufunc for (arrays in, arrays out).

GELU is ``x * Phi(x)`` with the exact (erf) Phi, as ``torch.nn.GELU()`` computes it. numpy has
no erf; numba's ``math.erf`` is a scalar libm call that runs about 3x slower than torch's
vectorised GELU, so erf is a rational function of x^2 (degree 5 over 5) on the clamped
argument, fitted for this project by iteratively reweighted least squares on [0, 4]
(erf(4) = 1 - 1.5e-8): no exp, no branch, so LLVM vectorises the loop (about 0.2 ns per
element on one core, several times torch's speed). Its largest error
evaluated in float32 is 4e-7, below float32's own rounding of the GELU.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# erf(a) = a * P(a^2) / Q(a^2), |a| <= 4: one copy of the coefficients, the numpy twin's
from ._kernels_np import P as _P, Q as _Q


# error_model="numpy": no ZeroDivisionError check on the division (den >= 1), whose branch
# kept LLVM from vectorising the loop (11x slower)
@njit(cache=True, fastmath=True, error_model="numpy")
def gelu_flat(x, out):
    """``out[i] = gelu(x[i])`` for flat float32 arrays."""
    p0, p1, p2 = np.float32(_P[0]), np.float32(_P[1]), np.float32(_P[2])
    p3, p4, p5 = np.float32(_P[3]), np.float32(_P[4]), np.float32(_P[5])
    q1, q2, q3 = np.float32(_Q[1]), np.float32(_Q[2]), np.float32(_Q[3])
    q4, q5 = np.float32(_Q[4]), np.float32(_Q[5])
    half, one, lim = np.float32(0.5), np.float32(1.0), np.float32(4.0)
    r2 = np.float32(0.7071067811865476)
    for i in range(x.size):
        v = x[i]
        a = min(max(v * r2, -lim), lim)
        s = a * a
        num = p0 + s * (p1 + s * (p2 + s * (p3 + s * (p4 + s * p5))))
        den = one + s * (q1 + s * (q2 + s * (q3 + s * (q4 + s * q5))))
        out[i] = half * v * (one + a * num / den)
