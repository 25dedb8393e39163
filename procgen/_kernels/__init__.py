"""Every numba kernel of procgen: arrays in, arrays out, no defaults, no I/O.

Compiled kernels are cached per user, not beside these files (see :mod:`procgen._jitcache`).
"""
from .._jitcache import install as _install_jit_cache

_install_jit_cache()
