"""Atomic file writing: a file is either complete or absent, never half-written
(:func:`atomic_write`), and several files are either all new or all old
(:func:`atomic_write_many`)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Sequence


def check_writable_target(path: os.PathLike | str, *, name: str = "path") -> Path:
    """Return ``path`` as a Path after checking its folder exists and is writable.

    Raises
    ------
    ValueError
        If the folder is missing, is not a folder, or cannot be written, naming ``name``.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{name} must be a file path, got the folder {str(path)!r}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"{name}: folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{name}: folder {str(folder)!r} is not writable")
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: os.PathLike | str, write: Callable[[BinaryIO], None], *,
                 name: str = "path") -> Path:
    """Write a file through ``write(fileobj)`` into a temporary file, then rename it.

    The temporary file lives in the target's folder so the final ``os.replace`` is atomic;
    if ``write`` raises, the temporary file is removed and ``path`` is left untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "hello.bin"
    >>> _ = atomic_write(target, lambda f: f.write(b"hi"))
    >>> target.read_bytes()
    b'hi'
    """
    path = check_writable_target(path, name=name)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the permissions open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_many(files: Sequence[tuple[os.PathLike | str, bytes, str]]) -> list[Path]:
    """Write several files so that either all of them are new or all keep their old contents.

    ``files`` is ``[(path, data, name), ...]``: ``data`` the bytes to write and ``name`` the
    parameter that named ``path``, for error messages. Two phases:

    1. every file's bytes go to a temporary file beside its target (synced to disk); a
       failure here removes the temporaries and touches no target;
    2. the temporaries are renamed over the targets. Before that, each existing target is
       hard-linked to a backup, so if a rename fails the targets already replaced get their
       old contents back (and targets that did not exist are removed).

    Only a crash (power loss, ``kill -9``) between two renames of phase 2 can leave a mix,
    and then every file is still complete. On file systems without hard links a failed
    rename leaves the targets already replaced new, the rest old.

    Returns
    -------
    list of pathlib.Path
        The targets, in the order given.

    Raises
    ------
    ValueError
        If a target's folder is missing or not writable, or two targets are the same file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> done = atomic_write_many([(folder / "a.txt", b"A", "path"),
    ...                           (folder / "b.txt", b"B", "sidecar")])
    >>> [p.name for p in done], (folder / "b.txt").read_bytes()
    (['a.txt', 'b.txt'], b'B')
    """
    targets = [check_writable_target(p, name=name) for p, _, name in files]
    resolved = [t.resolve() for t in targets]
    if len(set(resolved)) != len(resolved):
        raise ValueError("output paths collide: " + ", ".join(map(str, targets)))
    temps: list[str] = []
    try:
        for target, (_, data, _name) in zip(targets, files):
            temps.append(_write_temp(target, data))
    except BaseException:
        _remove(temps)
        raise
    backups: list = []
    replaced: list[Path] = []
    try:
        for target in targets:
            backups.append(_backup(target))
        for target, tmp in zip(targets, temps):
            os.replace(tmp, target)
            replaced.append(target)
    except BaseException:
        _remove(temps[len(replaced):])
        for target, backup in zip(replaced, backups):
            try:
                if backup is None:              # there was no old file: remove the new one
                    target.unlink()
                elif backup is not _NO_BACKUP:
                    os.replace(backup, target)
            except OSError:
                pass      # nothing better to do; the exception below says what went wrong
        raise
    finally:
        _remove(backups)
    return targets


def _write_temp(target: Path, data: bytes) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                               dir=target.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
    except BaseException:
        _remove([tmp])
        raise
    return tmp


#: Marks an old file that could not be hard-linked (a file system without hard links).
_NO_BACKUP = object()


def _backup(target: Path):
    """Hard-link an existing target to a fresh name beside it.

    Returns the backup's path, None when there is no old file, or ``_NO_BACKUP``.
    """
    if not target.exists():
        return None
    for attempt in range(100):
        backup = target.parent / f".{target.name}.{os.getpid()}.{attempt}.old"
        try:
            os.link(target, backup)
        except FileExistsError:
            continue
        except OSError:
            return _NO_BACKUP
        return str(backup)
    return _NO_BACKUP


def _remove(paths) -> None:
    for p in paths:
        if p is None or p is _NO_BACKUP:
            continue
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
