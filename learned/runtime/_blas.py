"""One BLAS thread for small batches.

A level samples a dozen rivers: matrix products of a few dozen rows, for which OpenBLAS's
threads cost more than the work (20 us on one thread, 40 us to 2.5 ms on two, the more the
busier the other cores are; measured on the project's 2-core machines). numpy offers no
switch, so :func:`one_thread` calls OpenBLAS's own ``set_num_threads`` in the library numpy
ships with (found through ctypes; nothing is installed or downloaded) and restores the count
afterwards. Where numpy's BLAS is another library, or the symbol is not there, it does
nothing. The count is process-wide: another thread's numpy work inside the block runs on one
thread too.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from contextlib import contextmanager

_SYMBOLS = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
            ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
            ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
            ("openblas_get_num_threads", "openblas_set_num_threads"))
_LOCK = threading.Lock()
_FOUND: list = []


def _functions():
    """(get, set) of numpy's OpenBLAS, or None."""
    if _FOUND:
        return _FOUND[0]
    import numpy as np

    here = os.path.dirname(np.__file__)
    libs = (glob.glob(os.path.join(here, "..", "numpy.libs", "*openblas*"))
            + glob.glob(os.path.join(here, ".dylibs", "*openblas*")))
    found = None
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in _SYMBOLS:
            if hasattr(lib, get_name) and hasattr(lib, set_name):
                get, set_ = getattr(lib, get_name), getattr(lib, set_name)
                get.restype, get.argtypes = ctypes.c_int, []
                set_.restype, set_.argtypes = None, [ctypes.c_int]
                found = (get, set_)
                break
        if found:
            break
    _FOUND.append(found)
    return found


@contextmanager
def one_thread(enabled: bool = True):
    """Run the block with numpy's OpenBLAS on one thread (when ``enabled`` and found)."""
    funcs = _functions() if enabled else None
    if funcs is None:
        yield
        return
    get, set_ = funcs
    with _LOCK:
        before = get()
        set_(1)
        try:
            yield
        finally:
            set_(before)
