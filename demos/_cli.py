"""What the demos' command lines share: one-line errors, the headless options and pygame.

Every demo (``explore``, ``coin_flip``, ``octaves``, ``tiny_game``) takes ``--frames N``
(run N frames, then exit) and ``--screenshot PNG`` (save the window after the last frame),
so each also runs headless: in tests, in CI, and to rebuild the pictures in the READMEs. With
``--frames`` on a Linux machine without a display, the SDL video driver defaults to
``dummy`` (no window; drawing is the same). A bad option prints one line,
``NAME: error: ...``, and exits with status 2.

>>> p = parser("demo", "python -m demos.demo", "A demo.")
>>> add_headless_options(p)
>>> args = p.parse_args(["--frames", "3", "--screenshot", "shot.png"])
>>> check_headless(args)
>>> args.frames, args.screenshot
(3, 'shot.png')
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["VIEWER_HINT", "parser", "add_headless_options", "check_headless", "make_folder",
           "import_pygame", "save_screenshot", "error", "run"]

#: How to get pygame. The project is on no package index, so the extra is installed from a
#: checkout, never as ``procgen-levels[viewer]``.
VIEWER_HINT = ('from a checkout run `pip install -e ".[viewer]"` (or `pip install '
               '".[viewer]"`)')


class _OneLineParser(argparse.ArgumentParser):
    """Errors are one line (``NAME: error: ...``) and exit with status 2."""

    def __init__(self, *args, name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.name = name

    def error(self, message):
        self.exit(2, f"{self.name}: error: {message}\n")


def parser(name: str, prog: str, description: str, **kwargs) -> argparse.ArgumentParser:
    """An argument parser whose errors are one line, ``name: error: ...`` (status 2)."""
    return _OneLineParser(prog=prog, description=description, name=name, **kwargs)


def add_headless_options(p: argparse.ArgumentParser, *, frames_help: str | None = None) -> None:
    """Add ``--frames N`` and ``--screenshot PNG`` to ``p``."""
    p.add_argument("--frames", type=int, metavar="N",
                   help=frames_help or "run N frames as fast as possible (no frame cap, "
                                       "time steps fixed per frame), then exit; for tests, "
                                       "benchmarks and screenshots")
    p.add_argument("--screenshot", metavar="PNG",
                   help="save the window after the last frame to this .png (folders are "
                        "created)")


def _has_display() -> bool:
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def check_headless(args) -> None:
    """Check ``--frames`` and ``--screenshot`` (errors name the option), create the
    screenshot's folder, and with ``--frames`` and no display choose SDL's dummy driver."""
    from procgen._io import check_writable_target
    from procgen._validate import check_int

    if args.frames is not None:
        check_int("--frames", args.frames, lo=1)
        if not _has_display():
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    if args.screenshot:
        shot = Path(args.screenshot)
        if shot.suffix.lower() != ".png":
            raise ValueError(f"--screenshot must be a .png path, got {args.screenshot!r}")
        if shot.is_dir():
            raise ValueError(f"--screenshot must be a file path, got the folder "
                             f"{args.screenshot!r}")
        make_folder("--screenshot", shot.parent)
        check_writable_target(shot, name="--screenshot")


def make_folder(option: str, folder) -> Path:
    """``folder`` as a Path, created with its parents if missing; errors name ``option``.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     made = make_folder("--out", Path(tmp) / "maps" / "2024")
    ...     made.is_dir()
    True
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ValueError(f"{option}: {str(folder)!r} is a file, not a folder") from None
    except NotADirectoryError:
        raise ValueError(f"{option}: {str(folder)!r} cannot be made: part of its path is a "
                         f"file") from None
    except PermissionError:
        raise ValueError(f"{option}: folder {str(folder)!r} cannot be created (permission "
                         f"denied)") from None
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{option}: folder {str(folder)!r} is not writable")
    return folder


def import_pygame():
    """pygame, or an ``ImportError`` that says how to install it."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import pygame
    except ModuleNotFoundError as exc:
        if exc.name != "pygame":
            raise
        raise ModuleNotFoundError(f"the demos need pygame, which is not installed: "
                                  f"{VIEWER_HINT}", name="pygame") from None
    return pygame


def save_screenshot(screen, path) -> Path:
    """Save a pygame surface (the window, overlays included) as PNG, atomically; returns
    the path (overwritten: it is named by the caller)."""
    import numpy as np
    import pygame

    from procgen.render import save_png

    rgb = np.ascontiguousarray(pygame.surfarray.array3d(screen).swapaxes(0, 1))
    return save_png(rgb, path)


def error(name: str, exc: BaseException) -> int:
    """Print ``name: error: <first line of exc>`` to stderr; returns the exit status 2."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    print(f"{name}: error: {message}", file=sys.stderr)
    return 2


def run(p: argparse.ArgumentParser, argv, *, prepare, play) -> int:
    """The main of a single-idea demo; returns the exit status.

    Parses ``argv`` with ``p`` (which has the headless options), checks them, imports pygame
    and calls ``prepare(args)``, which checks the demo's own options and computes what the
    demo shows; any error so far is one line and status 2. Then ``play(args, prepared)``
    runs the window (saving ``--screenshot`` after the last frame); Ctrl+C gives 130.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = p.parse_args(argv)
    except SystemExit as stop:  # --help (0) and argparse errors (2, already printed)
        return int(stop.code or 0)
    try:
        check_headless(args)
        import_pygame()
        prepared = prepare(args)
    except (ValueError, TypeError, ImportError, OSError) as exc:
        return error(p.name, exc)
    try:
        play(args, prepared)
    except KeyboardInterrupt:  # Ctrl+C in the terminal: no traceback
        return 130
    return 0
