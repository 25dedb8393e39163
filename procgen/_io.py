"""Writing files safely: a file is complete or absent, never half-written
(:func:`atomic_write`), and several files are all new or all old (:func:`atomic_write_many`).

Every write here

* goes to a temporary file beside the target, ``.NAME.<host>-<pid>.<random>.tmp``, which is
  synced to disk and then renamed over the target (a rename within one folder is atomic);
* follows symlinks: the file the link points to is replaced and the link stays a link;
* keeps an existing file's permission bits (and, run as root, its owner and group); a new file
  gets the default of the umask, as ``open()`` would give it;
* refuses a target that exists and is not a regular file (a folder, a device such as
  ``/dev/full``, a FIFO, a socket) before writing anything;
* syncs the folder after the rename, so a crash after return keeps the new file. Windows
  cannot open a folder to sync it; there the rename is as durable as NTFS makes it. macOS's
  ``fsync`` does not flush the drive's own cache;
* first removes stale temporaries of the same target, left by a writer that was killed
  (SIGKILL, power loss), by the rule of :func:`is_stale`.

A rename replaces the file, not its contents: other hard links to the old file keep the old
contents, and extended attributes and ACLs are not carried over.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = atomic_write(folder / "a.txt", lambda f: f.write(b"one"))
>>> _ = atomic_write(folder / "a.txt", lambda f: f.write(b"two"))
>>> [p.name for p in folder.iterdir()], (folder / "a.txt").read_bytes()
(['a.txt'], b'two')
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import socket
import stat
import time
from pathlib import Path
from typing import BinaryIO, Callable, Sequence

#: A temporary or backup file untouched for this long (seconds) is stale whoever wrote it.
STALE_AFTER_S = 3600.0

#: Which machine wrote a temporary: the writer's pid only means something on its own machine
#: (a folder may be shared over the network).
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]

# Leaves room in a 255-byte file name for the ".<host>-<pid>.<random>.tmp" around it.
_MAX_STEM_BYTES = 200


def check_writable_target(path: os.PathLike | str, *, name: str = "path") -> Path:
    """Return ``path`` as a Path after checking it can be written by :func:`atomic_write`.

    Checks that ``path`` (through symlinks) is a regular file or does not exist yet, and that
    its folder exists and is writable.

    Parameters
    ----------
    path : path-like
    name : str, optional
        The option or parameter that gave ``path``, for the error messages.

    Returns
    -------
    pathlib.Path
        ``path``, unchanged.

    Raises
    ------
    ValueError
        If ``path`` is a folder, device, FIFO or socket, or its folder is missing, is not a
        folder, or cannot be written; the message starts with ``name``.

    Examples
    --------
    >>> import tempfile
    >>> check_writable_target(tempfile.gettempdir(), name="--output")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: --output must name a regular file or a new one; '...' is a folder
    """
    path = Path(path)
    _resolve(path, name)
    return path


def atomic_write(path: os.PathLike | str, write: Callable[[BinaryIO], None], *,
                 name: str = "path") -> Path:
    """Write a file through ``write(fileobj)``: all of it, or (on any error) nothing.

    ``write`` fills a temporary file beside the target; only when it returns is the file
    synced and renamed over ``path``. If ``write`` or anything after it raises, the
    temporary file is removed and ``path`` keeps its old contents (or stays absent).

    Parameters
    ----------
    path : path-like
        The target: a regular file (its permission bits are kept) or a new name. A symlink
        is written through: its target is replaced and the link stays.
    write : callable
        Called once with a binary file object open for writing.
    name : str, optional
        The parameter that gave ``path``, for error messages.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        As :func:`check_writable_target`, before ``write`` is called.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "hello.bin"
    >>> _ = atomic_write(target, lambda f: f.write(b"hi"))
    >>> target.read_bytes()
    b'hi'
    """
    path = Path(path)
    real, old = _resolve(path, name)
    _remove_stale(real)
    tmp = _write_temp(real, write, old)
    try:
        os.replace(tmp, real)
    except BaseException:
        _remove([tmp])
        raise
    _sync_folder(real.parent)
    return path


def atomic_write_many(files: Sequence[tuple[os.PathLike | str, bytes, str]]) -> list[Path]:
    """Write several files so that either all of them are new or all keep their old contents.

    ``files`` is ``[(path, data, name), ...]``: ``data`` the bytes to write and ``name`` the
    parameter that named ``path``, for error messages. Each file is written as by
    :func:`atomic_write` (symlinks followed, permission bits kept), in three phases:

    1. every file's bytes go to a temporary file beside its target, synced to disk;
    2. every existing target gets a backup beside it: a hard link, or a copy where the file
       system has no hard links;
    3. the temporaries are renamed over the targets.

    A failure in phase 1 or 2 touches no target. A failure in phase 3 puts the old contents
    back into the targets already replaced (and removes those that did not exist before).
    Only a crash (power loss, SIGKILL) between two renames of phase 3 leaves a mix, of files
    that are each complete; the next write of those targets removes the leftover
    temporaries and backups.

    Returns
    -------
    list of pathlib.Path
        The targets, in the order given.

    Raises
    ------
    ValueError
        If a target is not a regular file, its folder is missing or not writable, or two
        targets are the same file. Nothing is written.
    OSError
        From the file system; the targets are as they were. If putting an old file back
        failed too, the message names the backup that holds its old contents.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> done = atomic_write_many([(folder / "a.txt", b"A", "path"),
    ...                           (folder / "b.txt", b"B", "sidecar")])
    >>> [p.name for p in done], (folder / "b.txt").read_bytes()
    (['a.txt', 'b.txt'], b'B')
    """
    targets = [Path(p) for p, _, _ in files]
    checked = [_resolve(t, name) for t, (_, _, name) in zip(targets, files)]
    reals = [real for real, _ in checked]
    if len(set(reals)) != len(reals):
        raise ValueError("output paths collide: " + ", ".join(map(str, targets)))
    temps: list[str] = []
    backups: list[str | None] = []
    try:
        for (real, old), (_, data, _name) in zip(checked, files):
            _remove_stale(real)
            temps.append(_write_temp(real, lambda f, data=data: f.write(data), old))
        for real, old in checked:
            backups.append(_backup(real, old))
    except BaseException:
        _remove(temps + backups)
        raise
    replaced: list[Path] = []
    try:
        for real, tmp in zip(reals, temps):
            os.replace(tmp, real)
            replaced.append(real)
    except BaseException as exc:
        _remove(temps[len(replaced):])
        kept = _restore(replaced, backups)
        _remove(b for b in backups if b not in kept)
        if kept and isinstance(exc, Exception):
            raise OSError(getattr(exc, "errno", None) or errno.EIO,
                          f"{exc}; putting the old files back failed too, their old contents "
                          f"are in: " + ", ".join(kept)) from exc
        raise
    _remove(backups)
    for folder in dict.fromkeys(real.parent for real in reals):
        _sync_folder(folder)
    return targets


def is_stale(name: str, *, age_s: float) -> bool:
    """Whether a temporary or backup file named ``name`` (as this module names them) belongs
    to a writer that is gone.

    The rule: stale when its writer ran on this machine and that process is no longer
    running (checked on POSIX; Windows cannot ask without side effects), or when it is
    older than :data:`STALE_AFTER_S` (``age_s`` is the time since its last change). The age
    covers a reused pid, writers on other machines sharing the folder, and Windows. A live
    writer keeps its file: its pid runs, and it keeps writing. The worst a wrong call can do
    is fail that writer's rename, with an error and its target untouched.

    Examples
    --------
    >>> mine = f".map.png.{_HOST}-{os.getpid()}.0123abcd.tmp"
    >>> is_stale(mine, age_s=5.0), is_stale(mine, age_s=2 * STALE_AFTER_S)
    (False, True)
    >>> is_stale("map.png", age_s=1e9)                   # not one of ours: never stale
    False
    """
    m = _LEFTOVER.fullmatch(name)
    if m is None:
        return False
    return (m["host"] == _HOST and _process_gone(int(m["pid"]))) or age_s > STALE_AFTER_S


# -- targets ----------------------------------------------------------------------------------
_KINDS = ((stat.S_ISDIR, "folder"), (stat.S_ISCHR, "character device"),
          (stat.S_ISBLK, "block device"), (stat.S_ISFIFO, "FIFO (named pipe)"),
          (stat.S_ISSOCK, "socket"))


def _resolve(path: Path, name: str) -> tuple[Path, os.stat_result | None]:
    """The file a write of ``path`` replaces (symlinks followed) and its stat, None when it
    does not exist yet; ValueError naming ``name`` when it cannot be written."""
    real = Path(os.path.realpath(path))
    shown = f"{str(path)!r}" if real == Path(os.path.abspath(path)) else \
        f"{str(path)!r} (a link to {str(real)!r})"
    try:
        st = os.lstat(real)
    except (FileNotFoundError, NotADirectoryError):
        st = None             # the folder checks below say what is wrong
    except OSError as exc:            # e.g. a name too long, or a folder we may not search
        raise ValueError(f"{name}: cannot write {shown}: {exc.strerror}") from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise ValueError(f"{name}: the symlinks of {str(path)!r} form a loop")
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = next((k for test, k in _KINDS if test(st.st_mode)), "special file")
        raise ValueError(f"{name} must name a regular file or a new one; {shown} is a {kind}")
    folder = real.parent
    if not folder.is_dir():
        shown_folder = str(folder if path.is_symlink() else path.parent)
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise ValueError(f"{name}: folder {shown_folder!r} {problem}")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{name}: folder {str(folder)!r} is not writable")
    return real, st


# -- temporaries and backups ------------------------------------------------------------------
_LEFTOVER = re.compile(r"\.(?P<stem>.+)\.(?P<host>[0-9a-f]{6})-(?P<pid>[0-9]{1,10})"
                       r"\.[0-9a-f]{8}\.(?:tmp|old)", re.DOTALL)


def _stem(name: str) -> str:
    """``name``, or for a very long one a shortened form that is still unique to it."""
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= _MAX_STEM_BYTES:
        return name
    short = raw[:_MAX_STEM_BYTES - 9].decode("utf-8", "ignore")
    return f"{short}~{hashlib.sha1(raw).hexdigest()[:8]}"


def _leftover_names(real: Path, kind: str):
    """Fresh names for a temporary (``kind='tmp'``) or backup (``'old'``) of ``real``."""
    prefix = f".{_stem(real.name)}.{_HOST}-{os.getpid()}."
    for _ in range(100):
        yield os.path.join(real.parent, f"{prefix}{os.urandom(4).hex()}.{kind}")
    raise FileExistsError(errno.EEXIST, "no free temporary file name", prefix)


def _create(real: Path, kind: str, mode: int) -> tuple[int, str]:
    """Create a new, empty file with a leftover name beside ``real``; its fd and path."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for candidate in _leftover_names(real, kind):
        try:
            return os.open(candidate, flags, mode), candidate
        except FileExistsError:
            continue


def _write_temp(real: Path, write: Callable[[BinaryIO], None],
                old: os.stat_result | None) -> str:
    """Fill a temporary file beside ``real`` through ``write``, with the permissions the
    target should end up with, synced to disk; its path. Removed again on any error."""
    # A new file: the kernel applies the umask to 0o666, as for open(). Over an existing
    # file: private while the bytes go in (the old file may be secret), its mode at the end.
    fd, tmp = _create(real, "tmp", 0o666 if old is None else 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            if old is not None:
                _copy_permissions(tmp, old)
            os.fsync(f.fileno())
    except BaseException:
        _remove([tmp])
        raise
    return tmp


def _copy_permissions(path: str, old: os.stat_result) -> None:
    own = os.stat(path)
    if hasattr(os, "chown") and (own.st_uid, own.st_gid) != (old.st_uid, old.st_gid):
        try:
            os.chown(path, old.st_uid, old.st_gid)
        except OSError:
            pass          # only root may give a file away; the mode below is still kept
    # After chown, which clears set-user/group-id bits.
    os.chmod(path, stat.S_IMODE(old.st_mode))


def _backup(real: Path, old: os.stat_result | None) -> str | None:
    """Keep the old contents of ``real`` under a leftover name beside it: a hard link, or a
    copy where links are refused. None when there is no old file."""
    if old is None:
        return None
    for candidate in _leftover_names(real, "old"):
        try:
            os.link(real, candidate)
            return candidate
        except FileExistsError:
            continue
        except FileNotFoundError:
            return None         # removed since we looked: nothing to keep
        except OSError:
            break               # no hard links here (FAT, some network shares): copy
    fd, backup = _create(real, "old", 0o600)
    try:
        with os.fdopen(fd, "wb") as dst, open(real, "rb") as src:
            shutil.copyfileobj(src, dst)
            dst.flush()
            _copy_permissions(backup, old)
            os.fsync(dst.fileno())
    except BaseException:
        _remove([backup])
        raise
    return backup


def _restore(replaced: list[Path], backups: list[str | None]) -> list[str]:
    """Put the old contents back into the replaced targets; the backups that could not be
    put back."""
    kept = []
    for real, backup in zip(replaced, backups):
        try:
            if backup is None:           # there was no old file: remove the new one
                real.unlink()
            else:
                os.replace(backup, real)
        except OSError:
            if backup is not None:
                kept.append(backup)
    return kept


def _remove_stale(real: Path) -> None:
    """Remove the stale temporaries and backups of ``real`` (see :func:`is_stale`)."""
    prefix = f".{_stem(real.name)}."
    now = time.time()
    try:
        entries = os.scandir(real.parent)
    except OSError:
        return
    with entries:
        for entry in entries:
            name = entry.name
            # Only this target's: its stem must be exactly ours, not a longer name's.
            if not name.startswith(prefix):
                continue
            m = _LEFTOVER.fullmatch(name)
            if m is None or m["stem"] != prefix[1:-1]:
                continue
            try:
                age = now - entry.stat(follow_symlinks=False).st_mtime
                if is_stale(name, age_s=age):
                    os.unlink(entry.path)
            except OSError:
                pass          # gone already (a concurrent cleaner) or not ours to remove


def _process_gone(pid: int) -> bool:
    if os.name != "posix" or pid == os.getpid():
        return False          # on Windows os.kill would terminate the process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):
        return False          # EPERM: it runs, as another user
    return False


def _sync_folder(folder: Path) -> None:
    """fsync a folder so that a rename in it survives a crash."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return                # Windows cannot open a folder
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some file systems cannot sync a folder; any other error is real.
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _remove(paths) -> None:
    for p in paths:
        if p is None:
            continue
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
