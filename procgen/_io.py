"""Atomic file writing: a file is either complete or absent, never half-written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, BinaryIO


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
