"""Scripted sessions: a few commands that drive the viewer as a user would.

Commands are separated by newlines or ``;``; ``#`` starts a comment. Each command runs over
one or more frames, through the same ``Explorer.handle`` as real input:

==========================  ================================================================
``key NAME [ctrl] [shift]``  press and release a key (pygame key names: ``n``, ``2``, ``tab``,
                             ``f1``, ``left``, ``+``, ...)
``hold NAME FRAMES``         hold a key down for FRAMES frames (e.g. to pan with ``right``)
``move X Y``                 move the mouse (the hover readout follows it)
``drag X0 Y0 X1 Y1 [N]``     drag with the left button over N frames (default 10)
``wheel CLICKS [X Y]``       turn the wheel (positive zooms in) at the mouse or at X Y
``wait``                     wait until generation and saving are finished
``frames N``                 let N frames pass
``save view|map|level``      save, as the keys do
``screenshot PATH``          save the whole window, overlays included
``quit``                     close the viewer
==========================  ================================================================

>>> Script("wait; key b; move 10 20  # hover").commands
[(1, 'wait', []), (1, 'key', ['b']), (1, 'move', ['10', '20'])]
"""

from __future__ import annotations

import warnings

import pygame

__all__ = ["Script"]

_ARITY = {"key": (1, 3), "hold": (2, 2), "move": (2, 2), "drag": (4, 5), "wheel": (1, 3),
          "wait": (0, 0), "frames": (1, 1), "save": (1, 1), "screenshot": (1, 1),
          "quit": (0, 0)}
_MODS = {"ctrl": pygame.KMOD_LCTRL, "shift": pygame.KMOD_LSHIFT, "alt": pygame.KMOD_LALT}


def _key(name: str, where: str) -> int:
    try:
        with warnings.catch_warnings():
            # key_code only maps names to codes; it needs no initialised pygame.
            warnings.simplefilter("ignore")
            return pygame.key.key_code(name)
    except ValueError:
        raise ValueError(f"{where}: unknown key {name!r} (use pygame key names such as "
                         f"'n', '2', 'tab', 'f1', 'left')") from None


def _ints(args, where):
    try:
        return [int(a) for a in args]
    except ValueError:
        raise ValueError(f"{where}: expected whole numbers, got {' '.join(args)!r}") from None


class Script:
    """A parsed script; :meth:`events` yields one list of events per frame.

    Raises
    ------
    ValueError
        On the first bad line, naming it (``script line 3: unknown command 'jump'``).
    """

    def __init__(self, text: str, *, source: str = "script"):
        self.commands = []
        for lineno, raw in enumerate(text.splitlines(), 1):
            for part in raw.split("#", 1)[0].split(";"):
                words = part.split()
                if not words:
                    continue
                cmd, args = words[0].lower(), words[1:]
                where = f"{source} line {lineno}"
                if cmd not in _ARITY:
                    raise ValueError(f"{where}: unknown command {cmd!r}; commands: "
                                     f"{', '.join(_ARITY)}")
                lo, hi = _ARITY[cmd]
                if not lo <= len(args) <= hi:
                    raise ValueError(f"{where}: {cmd} takes {lo}..{hi} arguments, got "
                                     f"{len(args)}")
                if cmd in ("key", "hold"):
                    _key(args[0], where)
                if cmd == "key" and any(a.lower() not in _MODS for a in args[1:]):
                    raise ValueError(f"{where}: key modifiers are ctrl, shift, alt")
                if cmd in ("move", "drag", "frames") or cmd == "hold":
                    _ints(args[1:] if cmd == "hold" else args, where)
                if cmd == "wheel":
                    _ints(args, where)
                if cmd == "save" and args[0] not in ("view", "map", "level"):
                    raise ValueError(f"{where}: save takes view, map or level")
                self.commands.append((lineno, cmd, args))

    def events(self, explorer):
        """Generator of per-frame event lists; actions without events act on ``explorer``."""
        mouse = (0, 0)
        for _, cmd, args in self.commands:
            if cmd in ("key", "hold"):
                key = _key(args[0], "")
                mod = 0
                for m in (args[1:] if cmd == "key" else []):
                    mod |= _MODS[m.lower()]
                char = args[0] if len(args[0]) == 1 else ""
                if char and mod & pygame.KMOD_SHIFT:
                    char = char.upper()
                yield [pygame.event.Event(pygame.KEYDOWN, key=key, mod=mod, unicode=char,
                                          scancode=0)]
                for _ in range(int(args[1]) if cmd == "hold" else 0):
                    yield []
                yield [pygame.event.Event(pygame.KEYUP, key=key, mod=mod, unicode=char,
                                          scancode=0)]
            elif cmd == "move":
                new = tuple(_ints(args, ""))
                yield [_motion(new, mouse, (0, 0, 0))]
                mouse = new
            elif cmd == "drag":
                x0, y0, x1, y1, *n = _ints(args, "")
                n = max(1, n[0] if n else 10)
                yield [_motion((x0, y0), mouse, (0, 0, 0)),
                       pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x0, y0), button=1)]
                mouse = (x0, y0)
                for k in range(1, n + 1):
                    p = (round(x0 + (x1 - x0) * k / n), round(y0 + (y1 - y0) * k / n))
                    yield [_motion(p, mouse, (1, 0, 0))]
                    mouse = p
                yield [pygame.event.Event(pygame.MOUSEBUTTONUP, pos=mouse, button=1)]
            elif cmd == "wheel":
                clicks, *at = _ints(args, "")
                events = []
                if at:
                    events.append(_motion(tuple(at), mouse, (0, 0, 0)))
                    mouse = tuple(at)
                events.append(pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=clicks,
                                                 flipped=False, precise_x=0.0,
                                                 precise_y=float(clicks)))
                yield events
            elif cmd == "wait":
                yield []
                while explorer.busy:
                    yield []
            elif cmd == "frames":
                for _ in range(int(args[0])):
                    yield []
            elif cmd == "save":
                getattr(explorer, f"save_{args[0]}")()
                yield []
            elif cmd == "screenshot":
                explorer.draw()
                explorer.screenshot(args[0])
                yield []
            elif cmd == "quit":
                explorer.running = False
                yield []


def _motion(pos, last, buttons):
    return pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(pos[0] - last[0],
                                                                 pos[1] - last[1]),
                              buttons=buttons)
