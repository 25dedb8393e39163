"""numba for the runtime, imported only when a kernel first runs, cached per user.

``import learned.runtime`` must stay fast (games import it at start-up), and numba alone costs
more than the whole budget, so :func:`kernels` imports ``_kernels`` (and with it numba) on first
use. Compiled kernels are cached like procgen's (``procgen._jitcache``): in the per-user
folder, never in ``__pycache__`` beside the installed source, which ``pip uninstall`` would
leave behind.
"""

from __future__ import annotations

import threading
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_KERNELS = None
_LOCK = threading.Lock()


def _install_locator() -> None:
    from procgen import _jitcache

    impl, user_wide = _jitcache._numba_caching()
    if any(getattr(c, "_learned_runtime", False) for c in impl._locator_classes):
        return

    class RuntimeCacheLocator(user_wide):
        _learned_runtime = True

        def __init__(self, py_func, py_file):
            super().__init__(py_func, py_file)
            self._cache_path = str(_jitcache.cache_dir()
                                   / self.get_suitable_cache_subpath(py_file))

        @classmethod
        def from_function(cls, py_func, py_file):
            try:
                Path(py_file).resolve().relative_to(_HERE)
            except (ValueError, OSError):
                return None
            return super().from_function(py_func, py_file)

    # after numba's NUMBA_CACHE_DIR locator (a user's choice wins), before the in-tree one
    impl._locator_classes.insert(1, RuntimeCacheLocator)


def kernels():
    """The module of compiled kernels (``learned.runtime._kernels``), imported once.

    Under a lock: the runtime's threads may ask at the same moment, and two threads
    importing numba at once can see its modules half-initialised (an ImportError)."""
    global _KERNELS
    if _KERNELS is None:
        with _LOCK:
            if _KERNELS is None:
                _install_locator()
                import learned.runtime._kernels as _kernels
                _KERNELS = _kernels
    return _KERNELS
