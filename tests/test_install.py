"""What an install leaves behind: JIT caches outside the package, build outputs ignored."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import procgen
from procgen import _jitcache

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(procgen.__file__).resolve().parent

_RUN_A_KERNEL = ("import procgen, procgen._jitcache as j; print(j.is_cold()); "
                 "procgen.noise.fbm((8, 8), scale=4.0, seed=1); print(j.kernels_cache_path())")


def _run(env_updates, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(env_updates)
    out = subprocess.run([sys.executable, "-c", _RUN_A_KERNEL], env=env, cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout.split("\n")
    return out[0] == "True", Path(out[1])


def _index_files(folder):
    return sorted(p.name for p in Path(folder).rglob("*.nbi"))


def test_kernels_cache_per_user_and_never_inside_the_package(tmp_path):
    before = _index_files(PACKAGE)
    cold, path = _run({"XDG_CACHE_HOME": str(tmp_path / "xdg")}, tmp_path)
    assert cold
    assert path.is_relative_to(tmp_path / "xdg" / "procgen-levels")
    assert any(n.startswith("noise.") for n in _index_files(path))
    # an installed package's folder gets no cache files (pip would not remove them)
    assert _index_files(PACKAGE) == before
    cold_again, _ = _run({"XDG_CACHE_HOME": str(tmp_path / "xdg")}, tmp_path)
    assert not cold_again


def test_numba_cache_dir_overrides_the_user_cache(tmp_path):
    cold, path = _run({"NUMBA_CACHE_DIR": str(tmp_path / "nb"),
                       "XDG_CACHE_HOME": str(tmp_path / "xdg")}, tmp_path)
    assert cold and path.is_relative_to(tmp_path / "nb")
    assert _index_files(tmp_path / "nb") and not (tmp_path / "xdg").exists()


def test_only_procgen_functions_are_redirected(tmp_path):
    numba = pytest.importorskip("numba")
    from numba.core.caching import FunctionCache

    src = tmp_path / "elsewhere.py"
    src.write_text("def f(x):\n    return x + 1\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import elsewhere
        locator = FunctionCache(numba.njit(cache=True)(elsewhere.f).py_func)._impl.locator
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("elsewhere", None)
    assert not getattr(type(locator), "_procgen", False)
    if "NUMBA_CACHE_DIR" not in os.environ:   # else numba's own locator uses that folder too
        assert _jitcache.cache_dir() not in Path(locator.get_cache_path()).parents


@pytest.mark.parametrize("path", ["build/lib/procgen/__init__.py",
                                  "procgen_levels.egg-info/PKG-INFO",
                                  "dist/procgen_levels-0.1.0.whl"])
def test_pip_install_outputs_are_ignored_by_git(path):
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
    assert done.returncode == 0, f"{path} would show up in git status"
