"""Where numba keeps the compiled kernels of procgen: a per-user cache, never the package.

numba's default for ``cache=True`` is a ``__pycache__`` folder beside the source. For an
installed package that is ``site-packages/procgen/_kernels/__pycache__``: a folder pip does
not own, so ``pip uninstall`` leaves it behind, and the orphaned ``procgen/`` directory then
shadows a later editable install as a namespace package (``cannot import name ... from
'procgen._kernels' (unknown location)``). It also fails on read-only installs.

So procgen's kernels cache into a per-user folder instead:

* ``$NUMBA_CACHE_DIR`` when it is set (numba's own rule, applied by numba itself);
* otherwise the platform's user cache folder: ``$XDG_CACHE_HOME/procgen-levels`` or
  ``~/.cache/procgen-levels`` on Linux, ``~/Library/Caches/procgen-levels`` on macOS,
  ``%LOCALAPPDATA%\\procgen-levels\\Cache`` on Windows.

Inside it, numba's own layout applies: one sub-folder per source folder, named after a hash of
its absolute path, so two installs of procgen never share (or clobber) compiled code. Only
functions defined under this package are redirected; other libraries' numba caches are left
as numba places them.

>>> from procgen import _jitcache
>>> import os
>>> _jitcache.cache_dir().name in {"procgen-levels", "Cache"} or "NUMBA_CACHE_DIR" in os.environ
True
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_APP = "procgen-levels"


def cache_dir() -> Path:
    """The folder that holds procgen's compiled kernels (see the module docstring)."""
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        return Path(env)
    home = Path.home()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(base) / _APP / "Cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / _APP
    return Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / _APP


def _numba_caching():
    """numba's caching classes, whose names lost their underscore in numba 0.61."""
    from numba.core import caching

    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl")
    user_wide = (getattr(caching, "UserWideCacheLocator", None)
                 or getattr(caching, "_UserWideCacheLocator"))
    return impl, user_wide


def kernels_cache_path() -> Path:
    """The sub-folder of :func:`cache_dir` that holds the kernels of ``procgen._kernels``."""
    _, user_wide = _numba_caching()
    kernels_file = _PACKAGE_DIR / "_kernels" / "__init__.py"
    return cache_dir() / user_wide.get_suitable_cache_subpath(str(kernels_file))


def is_cold() -> bool:
    """True when no kernel of ``procgen._kernels`` has been compiled into the cache yet.

    The CLI uses it to say "compiling kernels, first run only" before a long first call.
    """
    path = kernels_cache_path()
    try:
        return not any(name.endswith(".nbi") for name in os.listdir(path))
    except OSError:
        return True


def install() -> None:
    """Route ``cache=True`` kernels defined under procgen to :func:`cache_dir`.

    Must run before the kernel modules are imported (``procgen._kernels`` calls it first
    thing), because numba picks a cache locator when ``@njit(cache=True)`` decorates.
    Idempotent.
    """
    impl, user_wide = _numba_caching()
    if any(getattr(c, "_procgen", False) for c in impl._locator_classes):
        return

    class ProcgenCacheLocator(user_wide):
        _procgen = True

        def __init__(self, py_func, py_file):
            super().__init__(py_func, py_file)
            self._cache_path = str(cache_dir() / self.get_suitable_cache_subpath(py_file))

        @classmethod
        def from_function(cls, py_func, py_file):
            try:
                Path(py_file).resolve().relative_to(_PACKAGE_DIR)
            except (ValueError, OSError):
                return None
            # A user's NUMBA_CACHE_DIR is honoured by numba's own first locator.
            return super().from_function(py_func, py_file)

    # After numba's NUMBA_CACHE_DIR locator, before the in-tree __pycache__ one.
    impl._locator_classes.insert(1, ProcgenCacheLocator)
