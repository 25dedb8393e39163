"""Writes under hostile conditions: injected failures (exception, ENOSPC, failed rename),
SIGKILL mid-write, symlinks, permission bits, and targets that are not regular files.

Every public saver goes through :mod:`procgen._io`; the tests run each case over all of them.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

import procgen._io as io_module
from procgen import generate_level
from procgen.level import Level

IO_SOURCE = Path(io_module.__file__)
LEFTOVER = re.compile(r"\..+\.[0-9a-f]{6}-[0-9]+\.[0-9a-f]{8}\.(?:tmp|old)", re.DOTALL)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file semantics")


@pytest.fixture(scope="module")
def level():
    return generate_level(seed=2, shape=48, cell_size=1000.0)   # with land


def leftovers(folder) -> list[str]:
    return sorted(n for n in os.listdir(folder) if LEFTOVER.fullmatch(n))


def snapshot(folder) -> dict:
    """Every file's name, bytes and permission bits."""
    return {p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
            for p in sorted(Path(folder).iterdir())}


# -- the savers --------------------------------------------------------------------------------
def _turns(v):
    return np.random.default_rng(v).normal(0.0, 0.2, (2, 30))


def _save_render_png(lv, p, v):
    from procgen.render import save_png
    save_png(np.full((4, 6), 10 + v, np.uint8), p)


def _save_heightmap(fmt):
    def save(lv, p, v):
        from procgen.export import save_heightmap
        save_heightmap(lv, p, format=fmt, sea_floor=-10.0 if v else None)
    return save


def _save_tiled(lv, p, v):
    from procgen.export import save_tiled
    save_tiled(lv, p, tile_size=4 + 4 * v)


def _save_geojson(lv, p, v):
    from procgen.export import save_geojson
    save_geojson(lv, p, geo_origin=(float(v), 0.0))


def _save_geotiff(lv, p, v):
    from procgen.export import save_geotiff
    save_geotiff(lv, p, geo_origin=(float(v), 0.0))


def _save_data_gallery(lv, p, v):
    from learned.data import gallery
    gallery(_turns(v), {"model": _turns(v + 1)}, p, rows=2, cell=40)


def _save_evaluate_gallery(lv, p, v):
    pytest.importorskip("torch")
    from learned.evaluate import gallery
    gallery(_turns(v), {"model": _turns(v + 1)}, p, rows=2, cell=40)


def _save_checkpoint(lv, p, v):
    pytest.importorskip("torch")
    import torch

    from learned.train import _atomic_save             # what train() writes models with
    _atomic_save({"weight": torch.full((3,), float(v))}, p)


@dataclass(frozen=True)
class Saver:
    name: str
    suffix: str
    save: Callable                  # (level, path, variant) -> None; variants differ in bytes


SAVERS = [
    Saver("Level.save", ".npz", lambda lv, p, v: lv.save(p, compress=bool(v))),
    Saver("Level.save_png", ".png", lambda lv, p, v: lv.save_png(p, shade=bool(v))),
    Saver("render.save_png", ".png", _save_render_png),
    Saver("export.save_heightmap-png16", ".png", _save_heightmap("heightmap16")),
    Saver("export.save_heightmap-raw16", ".raw", _save_heightmap("raw16")),
    Saver("export.save_tiled", ".tmj", _save_tiled),
    Saver("export.save_geojson", ".geojson", _save_geojson),
    Saver("export.save_geotiff", ".tif", _save_geotiff),
    Saver("learned.data.gallery", ".png", _save_data_gallery),
    Saver("learned.evaluate.gallery", ".png", _save_evaluate_gallery),
    Saver("learned.train checkpoint", ".pt", _save_checkpoint),
]
each_saver = pytest.mark.parametrize("saver", SAVERS, ids=[s.name for s in SAVERS])


# -- a writer in another process ---------------------------------------------------------------
# Loads _io.py alone (it needs only the standard library) so that starting it is quick. It
# writes 1 MB, says so, and waits for a line on stdin before it finishes.
_WRITER = r"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("procgen_io_alone", sys.argv[1])
io = importlib.util.module_from_spec(spec)
spec.loader.exec_module(io)

def write(f):
    f.write(b"x" * 1_000_000)
    f.flush()
    print("writing", flush=True)
    sys.stdin.readline()
    f.write(b"done")

io.atomic_write(sys.argv[2], write)
print("wrote", flush=True)
"""


class Writer:
    """A writer process paused in the middle of ``atomic_write(target, ...)``."""

    def __init__(self, target):
        self.proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(IO_SOURCE),
                                      str(target)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line == "writing\n", f"writer did not start: {line!r}"

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def finish(self) -> str:
        out, _ = self.proc.communicate("go\n", timeout=30)
        return out

    def close(self):
        if self.proc.poll() is None:
            self.kill()
        for f in (self.proc.stdin, self.proc.stdout):
            f.close()


@pytest.fixture
def writers():
    started = []

    def start(target):
        started.append(Writer(target))
        return started[-1]

    yield start
    for w in started:
        w.close()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def fake_leftover(target: Path, *, pid: int, host: str = io_module._HOST,
                  kind: str = "tmp", age_s: float = 0.0) -> Path:
    token = os.urandom(4).hex()
    p = target.parent / f".{io_module._stem(target.name)}.{host}-{pid}.{token}.{kind}"
    p.write_bytes(b"half a file")
    if age_s:
        t = time.time() - age_s
        os.utime(p, (t, t))
    return p


# -- SIGKILL mid-write -------------------------------------------------------------------------
@each_saver
def test_sigkill_mid_write_keeps_the_old_file_and_the_next_save_cleans_up(
        saver, level, tmp_path, writers):
    target = tmp_path / f"out{saver.suffix}"
    saver.save(level, target, 0)
    before = target.read_bytes()
    writers(target).kill()
    assert target.read_bytes() == before
    [temp] = leftovers(tmp_path)
    assert temp.startswith(f".{target.name}.") and temp.endswith(".tmp")
    saver.save(level, target, 1)
    assert leftovers(tmp_path) == []
    assert target.read_bytes() != before


def _size(path) -> int:
    try:
        return os.path.getsize(path)
    except FileNotFoundError:                       # renamed or removed since listed
        return 0


def test_level_save_killed_at_a_random_moment(tmp_path):
    """A real Level.save, killed while its temporary is being filled: the target still loads,
    and the next save removes the leftover."""
    small = generate_level(seed=1, shape=8, cell_size=5000.0)
    target = tmp_path / "level.npz"
    small.save(target)
    script = (
        "import sys, numpy as np\n"
        "from procgen.level import Level, LevelConfig\n"
        "n = 1024\n"
        "h = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)\n"
        "lv = Level(config=LevelConfig(), seed=2, cell_size=1.0, height=h,\n"
        "           water=np.zeros((n, n), bool), lakes=np.zeros((n, n), np.int32),\n"
        "           biomes=np.zeros((n, n), np.uint8))\n"
        "while True:\n"
        "    lv.save(sys.argv[1], compress=True)\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(target)])
    try:
        # Kill once a temporary holds some but far from all of its ~4 MB.
        deadline = time.monotonic() + 60
        while not any(0 < _size(tmp_path / n) < 1_000_000 for n in leftovers(tmp_path)):
            assert proc.poll() is None and time.monotonic() < deadline, "no save started"
            time.sleep(0.001)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert leftovers(tmp_path), "killed between two saves: nothing was mid-write"
    back = Level.load(target)                       # the old level or a complete new one
    assert back.seed in (1, 2)
    small.save(target)
    assert leftovers(tmp_path) == [] and Level.load(target).seed == 1


# -- which leftovers are stale -----------------------------------------------------------------
def test_a_live_writer_in_another_process_keeps_its_temporary(level, tmp_path, writers):
    target = tmp_path / "out.png"
    writer = writers(target)
    level.save_png(target)                          # cleans up: must leave the live one alone
    assert len(leftovers(tmp_path)) == 1
    assert writer.finish() == "wrote\n"
    assert writer.proc.returncode == 0
    assert target.read_bytes() == b"x" * 1_000_000 + b"done"
    assert leftovers(tmp_path) == []


def test_a_concurrent_thread_keeps_its_temporary(tmp_path):
    target = tmp_path / "out.bin"
    started, go = threading.Event(), threading.Event()
    errors = []

    def slow(f):
        f.write(b"slow")
        started.set()
        go.wait(30)

    def run():
        try:
            io_module.atomic_write(target, slow)
        except BaseException as exc:                # reported below
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert started.wait(30)
        io_module.atomic_write(target, lambda f: f.write(b"fast"))
        assert len(leftovers(tmp_path)) == 1        # the slow writer's, still there
    finally:
        go.set()
        thread.join(30)
    assert errors == [] and target.read_bytes() == b"slow" and leftovers(tmp_path) == []


def test_stale_rule(level, tmp_path):
    target = tmp_path / "out.png"
    hour = io_module.STALE_AFTER_S
    dead = dead_pid()
    removed = [
        fake_leftover(target, pid=dead),                                # writer gone
        fake_leftover(target, pid=dead, kind="old"),                    # its backup too
        fake_leftover(target, pid=os.getpid(), age_s=hour + 60),        # pid reused
        fake_leftover(target, pid=dead, host="abcdef", age_s=hour + 60),
    ]
    kept = [
        fake_leftover(target, pid=os.getpid()),                         # a live writer
        fake_leftover(target, pid=dead, host="abcdef"),  # another machine: pid says nothing
        fake_leftover(tmp_path / "other.png", pid=dead),                # another target
        fake_leftover(tmp_path / "out.png.bak", pid=dead),              # a longer name
    ]
    (tmp_path / ".out.png.123.tmp").write_bytes(b"not one of ours")
    level.save_png(target)
    assert not any(p.exists() for p in removed)
    assert all(p.exists() for p in kept)
    assert (tmp_path / ".out.png.123.tmp").exists()


def test_long_names_are_cleaned_up_too(level, tmp_path, writers):
    target = tmp_path / ("a" * 240 + ".npz")
    level.save(target)
    writers(target).kill()
    assert len(leftovers(tmp_path)) == 1
    level.save(target)
    assert leftovers(tmp_path) == [] and Level.load(target).seed == level.seed


# -- symlinks ----------------------------------------------------------------------------------
@each_saver
def test_a_symlink_is_written_through(saver, level, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "links").mkdir()
    real = tmp_path / "data" / f"real{saver.suffix}"
    link = tmp_path / "links" / f"link{saver.suffix}"
    saver.save(level, real, 0)
    before = real.read_bytes()
    os.symlink(os.path.join("..", "data", real.name), link)
    saver.save(level, link, 1)
    assert link.is_symlink() and os.readlink(link) == os.path.join("..", "data", real.name)
    assert real.read_bytes() != before
    (tmp_path / "fresh").mkdir()
    fresh = tmp_path / "fresh" / link.name           # same name: some files name each other
    saver.save(level, fresh, 1)
    if saver.suffix not in (".npz", ".pt"):         # zip members carry the time of writing
        assert real.read_bytes() == fresh.read_bytes()
    assert leftovers(tmp_path / "data") == leftovers(tmp_path / "links") == []


def test_a_dangling_symlink_creates_its_target(level, tmp_path):
    link = tmp_path / "link.npz"
    os.symlink("made.npz", link)
    level.save(link)
    assert link.is_symlink() and Level.load(tmp_path / "made.npz").seed == level.seed


def test_symlink_loops_and_colliding_links_are_refused(level, tmp_path):
    from procgen.export import save_heightmap
    os.symlink("b.npz", tmp_path / "a.npz")
    os.symlink("a.npz", tmp_path / "b.npz")
    with pytest.raises(ValueError, match=r"path: the symlinks of '.*a\.npz' form a loop"):
        level.save(tmp_path / "a.npz")
    # The sidecar a link to the heightmap: one file would be written twice.
    os.symlink("h.raw", tmp_path / "h.json")
    with pytest.raises(ValueError, match="output paths collide"):
        save_heightmap(level, tmp_path / "h.raw", format="raw16")
    assert sorted(os.listdir(tmp_path)) == ["a.npz", "b.npz", "h.json"]


# -- permission bits ---------------------------------------------------------------------------
@each_saver
@pytest.mark.parametrize("mode", [0o600, 0o755])
def test_an_existing_file_keeps_its_permission_bits(saver, mode, level, tmp_path):
    target = tmp_path / f"out{saver.suffix}"
    saver.save(level, target, 0)
    os.chmod(target, mode)
    saver.save(level, target, 1)
    assert stat.S_IMODE(target.stat().st_mode) == mode


@each_saver
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_new_file_gets_the_umask_default(saver, umask, level, tmp_path):
    target = tmp_path / f"out{saver.suffix}"
    old = os.umask(umask)
    try:
        saver.save(level, target, 0)
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may give a file away")
def test_root_keeps_the_owner(level, tmp_path):
    target = tmp_path / "out.npz"
    level.save(target)
    os.chown(target, 12345, 23456)
    level.save(target)
    st = target.stat()
    assert (st.st_uid, st.st_gid) == (12345, 23456)


def test_a_private_file_stays_private_while_being_written(tmp_path):
    target = tmp_path / "secret.bin"
    target.write_bytes(b"old secret")
    os.chmod(target, 0o600)
    seen = []

    def write(f):
        f.write(b"new secret")
        seen.append(stat.S_IMODE(os.fstat(f.fileno()).st_mode))

    io_module.atomic_write(target, write)
    assert seen == [0o600] and target.read_bytes() == b"new secret"


# -- targets that are not regular files --------------------------------------------------------
# Device nodes are made here, like /dev/full (1, 7), not taken from /dev: a regressed writer
# must not be able to replace the system's own.
def _mknod_full(path: Path) -> None:
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except PermissionError:
        pytest.skip("making a device node needs root")


def _make(kind: str, path: Path) -> None:
    if kind == "folder":
        path.mkdir()
    elif kind == "FIFO":
        os.mkfifo(path)
    elif kind == "character device":
        _mknod_full(path)
    else:
        _mknod_full(path.parent / "full")
        os.symlink("full", path)


def _same_kind(kind: str, path: Path) -> bool:
    st = os.lstat(path)
    if kind == "folder":
        return stat.S_ISDIR(st.st_mode)
    if kind == "FIFO":
        return stat.S_ISFIFO(st.st_mode)
    if kind == "character device":
        return stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 7)
    return stat.S_ISLNK(st.st_mode) and _same_kind("character device", path.parent / "full")


@each_saver
@pytest.mark.parametrize("kind", ["folder", "FIFO", "character device", "link to a device"])
def test_a_target_that_is_not_a_regular_file_is_refused(saver, kind, level, tmp_path):
    target = tmp_path / f"out{saver.suffix}"
    _make(kind, target)
    before = sorted(os.listdir(tmp_path))
    link = r" \(a link to '.*full'\)" if kind == "link to a device" else ""
    shown = "character device" if link else kind
    with pytest.raises(ValueError, match=rf"path must name a regular file or a new one; "
                                         rf"'.*out{re.escape(saver.suffix)}'{link} is a "
                                         rf"{shown}"):
        saver.save(level, target, 0)
    assert _same_kind(kind, target)
    assert sorted(os.listdir(tmp_path)) == before        # nothing written beside it either


@pytest.mark.parametrize("save", [lambda lv, p: lv.save(p), lambda lv, p: lv.save_png(p)],
                         ids=["Level.save", "Level.save_png"])
def test_a_device_is_left_alone(save, level, tmp_path):
    """Issue 14: ``Level.save('/dev/full')`` replaced the device with a regular file."""
    full = tmp_path / "full"
    _mknod_full(full)
    before = os.lstat(full)
    with pytest.raises(ValueError, match="path must name a regular file or a new one; "
                                         "'.*full' is a character device"):
        save(level, full)
    after = os.lstat(full)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino and os.listdir(tmp_path) == ["full"]


def test_a_special_sidecar_is_refused_before_anything_is_written(level, tmp_path):
    from procgen.export import save_heightmap
    os.mkfifo(tmp_path / "h.json")
    with pytest.raises(ValueError, match=r"'.*h\.json' is a FIFO"):
        save_heightmap(level, tmp_path / "h.raw", format="raw16")
    assert os.listdir(tmp_path) == ["h.json"]


def test_check_writable_target_names_the_option(tmp_path):
    from procgen._io import check_writable_target
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(ValueError, match=r"--output: folder '.*file' is not a folder"):
        check_writable_target(tmp_path / "file" / "map.png", name="--output")
    with pytest.raises(ValueError, match=r"--level must name a regular file .* is a folder"):
        check_writable_target(tmp_path, name="--level")
    assert check_writable_target(tmp_path / "new.png") == tmp_path / "new.png"


# -- several files: all old or all new ---------------------------------------------------------
def _fail_on_call(monkeypatch, module, name, ks, error):
    """Make ``module.name`` raise ``error`` on its calls numbered ``ks`` (1-based)."""
    real = getattr(module, name)
    calls = []

    def flaky(*args, **kwargs):
        calls.append(args)
        if len(calls) in ks:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, flaky)
    return calls


ENOSPC = OSError(errno.ENOSPC, "No space left on device")


def _enospc_writing(monkeypatch, suffix):
    """The write of the temporary for the target ending in ``suffix`` puts a few bytes on
    disk, then runs out of space."""
    real = io_module._write_temp

    def write_temp(target, write, old):
        if Path(target).suffix != suffix:
            return real(target, write, old)

        def partial(f):
            f.write(b"{\n \"fi")
            f.flush()
            raise ENOSPC
        return real(target, partial, old)

    monkeypatch.setattr(io_module, "_write_temp", write_temp)


def _enospc_syncing(monkeypatch, suffix):
    """fsync of the temporary for the target ending in ``suffix`` fails (delayed allocation
    reports a full disk there)."""
    real = os.fsync

    def fsync(fd):
        name = os.readlink(f"/proc/self/fd/{fd}")
        if LEFTOVER.fullmatch(os.path.basename(name)) and f"{suffix}." in name:
            raise ENOSPC
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


FAILURES = {
    "ENOSPC writing the heightmap": lambda mp: _enospc_writing(mp, ".raw"),
    "ENOSPC writing the sidecar": lambda mp: _enospc_writing(mp, ".json"),
    "ENOSPC syncing the sidecar": lambda mp: _enospc_syncing(mp, ".json"),
    "exception writing a splat map": lambda mp: _fail_on_call(
        mp, io_module, "_write_temp", {3}, RuntimeError("bug")),
    "ENOSPC copying a backup (no hard links)": lambda mp: (
        _fail_on_call(mp, os, "link", range(1, 100), OSError(errno.EPERM, "no links")),
        _fail_on_call(mp, shutil, "copyfileobj", {2}, ENOSPC)),
    "renaming the heightmap": lambda mp: _fail_on_call(mp, os, "replace", {1}, ENOSPC),
    "renaming the sidecar": lambda mp: _fail_on_call(mp, os, "replace", {2}, ENOSPC),
    "renaming the last splat map": lambda mp: _fail_on_call(mp, os, "replace", {5}, ENOSPC),
}


@pytest.mark.parametrize("failure", FAILURES)
def test_heightmap_and_sidecar_stay_old_under_any_failure(failure, level, tmp_path,
                                                          monkeypatch):
    """Issue 14 item 2: a re-export that fails must not lose the good export."""
    from procgen.export import save_heightmap
    if "syncing" in failure and not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd")
    save_heightmap(level, tmp_path / "h.raw", format="raw16", splat="rgba")
    os.chmod(tmp_path / "h.raw", 0o600)
    before = snapshot(tmp_path)
    FAILURES[failure](monkeypatch)
    with pytest.raises((OSError, RuntimeError)) as info:
        save_heightmap(level, tmp_path / "h.raw", format="raw16", splat="rgba",
                       sea_floor=-10.0)
    assert isinstance(info.value, RuntimeError) or info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert snapshot(tmp_path) == before               # same files, bytes and modes
    save_heightmap(level, tmp_path / "h.raw", format="raw16", splat="rgba", sea_floor=-10.0)
    assert snapshot(tmp_path).keys() == before.keys()


def test_without_hard_links_the_backup_is_a_copy(level, tmp_path, monkeypatch):
    from procgen.export import save_heightmap
    save_heightmap(level, tmp_path / "h.raw", format="raw16")
    os.chmod(tmp_path / "h.raw", 0o640)
    before = snapshot(tmp_path)
    _fail_on_call(monkeypatch, os, "link", range(1, 100),
                  OSError(errno.EPERM, "Operation not permitted"))
    _fail_on_call(monkeypatch, os, "replace", {2}, ENOSPC)
    with pytest.raises(OSError, match="No space left"):
        save_heightmap(level, tmp_path / "h.raw", format="raw16", sea_floor=-10.0)
    monkeypatch.undo()
    assert snapshot(tmp_path) == before


def test_a_failed_restore_says_where_the_old_file_is(level, tmp_path, monkeypatch):
    from procgen.export import save_heightmap
    save_heightmap(level, tmp_path / "h.raw", format="raw16")
    old = (tmp_path / "h.raw").read_bytes()
    # The sidecar's rename fails, and so does putting the old heightmap back.
    _fail_on_call(monkeypatch, os, "replace", {2, 3}, ENOSPC)
    with pytest.raises(OSError, match=r"old contents are in: .*\.h\.raw\..*\.old") as info:
        save_heightmap(level, tmp_path / "h.raw", format="raw16", sea_floor=-10.0)
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC
    backup = re.search(r"in: (\S+)", str(info.value))[1]
    assert Path(backup).read_bytes() == old
    [kept] = leftovers(tmp_path)
    assert (tmp_path / kept) == Path(backup)
    # Every file is complete: the heightmap new, the sidecar old.
    assert (tmp_path / "h.raw").stat().st_size == len(old)


# -- durability --------------------------------------------------------------------------------
def _trace(monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("sync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "sync file")
        return real_fsync(fd)

    def replace(src, dst):
        events.append("rename")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


def test_file_synced_before_rename_and_folder_after(level, tmp_path, monkeypatch):
    from procgen.export import save_heightmap
    level.save(tmp_path / "l.npz")
    save_heightmap(level, tmp_path / "h.raw", format="raw16")
    events = _trace(monkeypatch)
    level.save(tmp_path / "l.npz")
    assert events == ["sync file", "rename", "sync folder"]
    events.clear()
    save_heightmap(level, tmp_path / "h.raw", format="raw16", sea_floor=-10.0)
    assert events == ["sync file", "sync file", "rename", "rename", "sync folder"]


def test_folder_sync_unsupported_is_skipped_but_io_errors_are_raised(level, tmp_path,
                                                                     monkeypatch):
    real = os.fsync

    def fsync_with(err):
        def fsync(fd):
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                raise OSError(err, os.strerror(err))
            return real(fd)
        return fsync

    monkeypatch.setattr(os, "fsync", fsync_with(errno.EINVAL))
    level.save(tmp_path / "l.npz")
    assert Level.load(tmp_path / "l.npz").seed == level.seed
    monkeypatch.setattr(os, "fsync", fsync_with(errno.EIO))
    with pytest.raises(OSError, match="Input/output error"):
        level.save(tmp_path / "l.npz")
    assert Level.load(tmp_path / "l.npz").seed == level.seed and leftovers(tmp_path) == []
