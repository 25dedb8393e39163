"""The Explorer: a pygame window onto procgen Levels.

One frame is ``handle`` every event, ``update`` (take finished work from the background
worker, move the view), ``draw`` (visible tiles, overlays, flip). Nothing in a frame waits for
generation or for a file to be written: levels are made by a worker process, files are
written by a saver thread, and the window polls both.
"""

from __future__ import annotations

import math
import random
import re
import sys
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pygame

from procgen.terrain import PRESETS

from . import overlay
from .overlay import Hud
from .script import Script
from .tiles import TileCache, cell_to_screen, screen_to_cell
from .worker import DIED, Job, Layers, LevelKey, make_worker

__all__ = ["Explorer", "Options", "KEYS", "BUILTIN_ORDER", "unique_path"]

#: River generators on the number keys 1..5, in order; learned models follow on 6..9 and 0.
BUILTIN_ORDER = ("flow", "walker", "persistent", "sine", "downhill")
_LABELS = {"flow": "flow", "walker": "coin-flip walker", "persistent": "persistent walker",
           "sine": "sine curve", "downhill": "downhill walker", "none": "no rivers"}

def _label(key: LevelKey) -> str:
    """A pane's rivers in words: the generator, D8 paths, a requested sinuosity."""
    return (_LABELS.get(key.generator, key.generator) + (" (D8 paths)" if key.d8 else "")
            + (f", sinuosity {key.sinuosity:g}" if key.sinuosity is not None else ""))


#: What [ and ] step through: the sinuosity asked of learned rivers (None: drawn from the
#: model's training rivers), the targets the learned layer's evaluation checks.
SINUOSITY_STEPS = (None, 1.05, 1.1, 1.3, 1.6, 2.0, 2.5)

#: Every key binding, as the help overlay (H, F1) lists them.
KEYS = (
    ("drag, arrows, WASD", "pan (hold Shift to pan faster)"),
    ("wheel, + and -", "zoom (the wheel zooms at the cursor)"),
    ("F or Home", "fit the whole map"),
    ("N / Shift+N", "new seed / back to the previous seed"),
    ("P / Shift+P", "next / previous terrain preset"),
    ("1 2 3 4 5", "rivers: flow, coin-flip walker, persistent, sine curve, downhill"),
    ("6 7 8 9 0", "rivers: learned generators (when installed)"),
    ("G", "layer: hillshade"),
    ("R", "layer: rivers"),
    ("C", "layer: contours"),
    ("O", "layer: water (off shows the bare relief)"),
    ("E", "flow rivers: meanders off / on (the active pane)"),
    ("[ and ]", "learned rivers: lower / raise the sinuosity asked for (first step: drawn)"),
    ("B", "side by side: two river generators, same terrain and seed"),
    ("Tab", "side by side: which pane the number keys set"),
    ("Ctrl+S or F12", "save the view as PNG"),
    ("Ctrl+Shift+S or M", "save the full map as PNG"),
    ("L", "save the Level file (.npz)"),
    ("H or F1", "show / hide this help"),
    ("Esc or Q", "close the help, else quit"),
)

_PAN = {pygame.K_LEFT: (-1, 0), pygame.K_a: (-1, 0), pygame.K_RIGHT: (1, 0),
        pygame.K_d: (1, 0), pygame.K_UP: (0, -1), pygame.K_w: (0, -1),
        pygame.K_DOWN: (0, 1), pygame.K_s: (0, 1)}
#: Number keys -> 1..10 (0 is the tenth, after 9, as on the keyboard).
_NUMBERS = {**{getattr(pygame, f"K_{n}"): n or 10 for n in range(10)},
            **{getattr(pygame, f"K_KP{n}"): n or 10 for n in range(10)}}
#: How many learned generators get a key (6..9, 0).
LEARNED_KEYS = 10 - len(BUILTIN_ORDER)
_ZOOM_IN = {pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS}
_ZOOM_OUT = {pygame.K_MINUS, pygame.K_KP_MINUS, pygame.K_UNDERSCORE}
_LAYER_KEYS = {pygame.K_g: "hillshade", pygame.K_r: "rivers", pygame.K_c: "contours",
               pygame.K_o: "water"}

PAN_SPEED = 900.0      # screen pixels per second for held pan keys
WHEEL_STEP = 2 ** 0.25  # zoom factor per wheel click
KEY_STEP = 2 ** 0.5     # zoom factor per +/- press
MAX_ZOOM = 64.0         # screen pixels per cell: single cells are 64 px squares


@dataclass
class Options:
    """Start-up settings of the viewer (the command-line options of ``demos.explore``).

    Attributes
    ----------
    seed : int
        Root seed of the first level. Default 7.
    size : int
        Map width and height in cells. Default 1024.
    preset : str
        Terrain preset (``procgen.terrain.PRESETS``). Default ``'continent'``.
    rivers : str
        River generator of the (left) pane. Default ``'flow'``.
    cell_size : float
        Metres per cell. Default 500.
    out : str or Path
        Folder for saved files. Default the current folder.
    width, height : int
        Window size in pixels. Default 1280 x 800.
    compare : str or None
        A second river generator: start side by side. Default None.
    worker : {'process', 'thread'}
        Where levels are generated: a child process keeps the window live; a thread starts
        faster (tests). Default ``'process'``.
    fps : int
        Frame cap; 0 for none. Default 60.
    """

    seed: int = 7
    size: int = 1024
    preset: str = "continent"
    rivers: str = "flow"
    cell_size: float = 500.0
    out: str | Path = "."
    width: int = 1280
    height: int = 800
    compare: str | None = None
    worker: str = "process"
    fps: int = 60


@dataclass
class _Pane:
    key: LevelKey
    layers: Layers
    tiles: TileCache
    level: object
    river_index: np.ndarray


@dataclass
class _Job:
    id: int
    keys: tuple
    layers: Layers
    started: float
    plan: list = None
    stage: int = 0
    stage_started: float = 0.0


def unique_path(folder: Path, stem: str, suffix: str, taken=()) -> Path:
    """``folder/stem.suffix``, or ``stem_1``, ``stem_2``, ... if that exists or is ``taken``."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem)
    path = folder / f"{stem}{suffix}"
    n = 0
    while path.exists() or path in taken:
        n += 1
        path = folder / f"{stem}_{n}{suffix}"
    return path


def _biome_name(level, r: int, c: int) -> str:
    """The biome of a cell, where procgen's Level has biomes ('' otherwise)."""
    biomes = getattr(level, "biomes", None)
    if biomes is None:
        return ""
    try:
        from procgen.biomes import Biome

        return Biome(int(biomes[r, c])).name.lower().replace("_", " ")
    except (ImportError, ValueError):
        return ""


class Explorer:
    """The viewer window. Tests drive it with :meth:`handle`, :meth:`update`, :meth:`draw`
    (or :meth:`step`) and :meth:`wait_idle`.

    Parameters
    ----------
    options : Options, optional
        Start-up settings; keywords override single fields (``Explorer(size=128)``).
    """

    def __init__(self, options: Options | None = None, **overrides):
        opts = replace(options or Options(), **overrides)
        self.options = opts
        self.out = Path(opts.out)
        pygame.display.init()
        pygame.font.init()
        pygame.key.set_repeat()  # held keys are tracked per frame, not by repeat events
        self.screen = pygame.display.set_mode((opts.width, opts.height), pygame.RESIZABLE)
        pygame.display.set_caption("procgen explorer")
        self._caption = ""
        self.hud = Hud()
        self.clock = pygame.time.Clock()

        self.seed = opts.seed
        self.seed_history: list[int] = []
        self._seed_rng = random.Random(opts.seed)  # N gives the same seeds in every session
        self.preset = opts.preset
        self.generators = [opts.rivers, opts.compare or self._other(opts.rivers)]
        self.meanders = ["curve", "curve"]    # per pane: how flow rivers' reaches are drawn
        self.sinuosity = [None, None]         # per pane: asked of learned rivers
        self.split = opts.compare is not None
        self.active = 0
        self.layers = Layers()
        self.help = False

        self.cx = self.cy = opts.size / 2
        self.zoom = self.zoom_target = 1.0
        self._anchor = None
        self._fitted = True
        self._held: set[int] = set()
        self._mods = 0
        self._drag = None
        self.mouse = None

        self.learned: list[str] | None = None
        self.learned_note = "looking for learned generators..."
        self._levels: OrderedDict = OrderedDict()
        self._scores: dict = {}               # LevelKey -> each river's realism score
        self._panes: OrderedDict = OrderedDict()
        self.shown: list[_Pane | None] = [None, None]
        self._limit = 6 if opts.size <= 2048 else 3  # cached panes: 4096^2 ones are ~250 MB
        self._job: _Job | None = None
        self._job_ids = 0
        self._dirty = True
        self.errors: list[str] = []

        self._saver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="viewer-save")
        self._saves: list = []
        self._reserved: set[Path] = set()
        self.saved: list[Path] = []
        self._toasts: list[tuple[str, tuple, float]] = []

        self.running = True
        self.frame = 0
        self._last = time.perf_counter()
        self._t = 0.0
        self._frame_times: list[float] = []
        self.fps = 0.0
        self._fps_text = ""
        self._hover_cache = (None, None)

        self.worker = make_worker(opts.worker)
        self._asked_learned = False

    # -- state ----------------------------------------------------------------------------
    @staticmethod
    def _other(gen: str) -> str:
        return "walker" if gen != "walker" else "flow"

    @property
    def panes(self) -> int:
        """How many panes are shown (2 side by side)."""
        return 2 if self.split else 1

    def wanted(self) -> list[LevelKey]:
        """The Level of each pane, as the current seed, preset and generators ask."""
        o = self.options
        return [LevelKey(self.seed, o.size, o.cell_size, self.preset, g, m,
                         s if g.startswith("learned:") else None)
                for g, m, s in zip(self.generators[:self.panes], self.meanders,
                                   self.sinuosity)]

    @property
    def busy(self) -> bool:
        """True while a level is generated, a file is written, the zoom is moving, or the
        worker is still looking for learned generators."""
        return (self._dirty or self._job is not None or bool(self._saves)
                or self.zoom != self.zoom_target or (self._asked_learned and self.learned is None))

    def pane_rects(self, size=None) -> list[pygame.Rect]:
        """Screen rectangles of the panes."""
        w, h = size or self.screen.get_size()
        if not self.split:
            return [pygame.Rect(0, 0, w, h)]
        half = w // 2
        return [pygame.Rect(0, 0, half - 1, h), pygame.Rect(half + 1, 0, w - half - 1, h)]

    def _fit_zoom(self) -> float:
        rect = self.pane_rects()[0]
        n = self.options.size
        return max(1e-3, min(rect.w / n, rect.h / n) * 0.96)

    def fit(self) -> None:
        """Show the whole map."""
        self.zoom = self.zoom_target = self._fit_zoom()
        self.cx = self.cy = self.options.size / 2
        self._anchor = None
        self._fitted = True

    def _clamp(self) -> None:
        n = self.options.size
        self.cx = min(max(self.cx, 0.0), float(n))
        self.cy = min(max(self.cy, 0.0), float(n))

    def zoom_by(self, factor: float, pos=None) -> None:
        """Zoom smoothly by ``factor``, keeping the cell under screen ``pos`` in place."""
        rects = self.pane_rects()
        if pos is None:
            rect = rects[self.active if self.split else 0]
            pos = rect.center
        rect = next((r for r in rects if r.collidepoint(pos)), rects[0])
        self.zoom_target = min(max(self.zoom_target * factor, self._fit_zoom() / 2), MAX_ZOOM)
        self._anchor = (pos, screen_to_cell(rect, self.cx, self.cy, self.zoom, pos), rect)
        self._fitted = False

    def pan(self, dx: float, dy: float) -> None:
        """Move the view by screen pixels (the map follows the hand: drag right, map right)."""
        self.cx -= dx / self.zoom
        self.cy -= dy / self.zoom
        self._clamp()
        self._anchor = None
        self._fitted = False

    def _toast(self, text: str, colour=overlay.TEXT, seconds: float = 4.0) -> None:
        self._toasts.append((text, colour, time.perf_counter() + seconds))
        self._toasts = self._toasts[-5:]

    @property
    def messages(self) -> list[str]:
        """Texts of the messages now on screen (newest last)."""
        return [t for t, _, _ in self._toasts]

    # -- input ----------------------------------------------------------------------------
    def handle(self, event: pygame.event.Event) -> None:
        """React to one pygame event."""
        et = event.type
        if et == pygame.QUIT:
            self.running = False
        elif et in (pygame.VIDEORESIZE, pygame.WINDOWSIZECHANGED):
            self.screen = pygame.display.get_surface()
            if self._fitted:
                self.fit()
        elif et == pygame.WINDOWFOCUSLOST:
            self._held.clear()
            self._drag = None
        elif et == pygame.KEYDOWN:
            self._key(event)
        elif et == pygame.KEYUP:
            self._mods = getattr(event, "mod", 0)
            self._held.discard(event.key)
        elif et == pygame.MOUSEMOTION:
            if self._drag is not None:
                self.pan(event.pos[0] - self._drag[0], event.pos[1] - self._drag[1])
                self._drag = event.pos
            self.mouse = event.pos
        elif et == pygame.MOUSEBUTTONDOWN and event.button == 1:
            self._drag = event.pos
            self.mouse = event.pos
            if self.split:
                self.active = 0 if event.pos[0] < self.screen.get_width() // 2 else 1
        elif et == pygame.MOUSEBUTTONUP and event.button == 1:
            self._drag = None
        elif et == pygame.MOUSEWHEEL:
            # pygame 2 also sends buttons 4/5 for the wheel; those are ignored above.
            clicks = -event.y if getattr(event, "flipped", False) else event.y
            if clicks:
                self.zoom_by(WHEEL_STEP ** clicks, self.mouse)

    def _key(self, event) -> None:
        k = event.key
        mod = getattr(event, "mod", 0)
        self._mods = mod
        ctrl, shift = mod & pygame.KMOD_CTRL, mod & pygame.KMOD_SHIFT
        char = getattr(event, "unicode", "")
        if self.help and k in (pygame.K_ESCAPE, pygame.K_h, pygame.K_F1):
            self.help = False
        elif k in (pygame.K_h, pygame.K_F1):
            self.help = True
        elif k in (pygame.K_ESCAPE, pygame.K_q):
            self.running = False
        elif ctrl and k == pygame.K_s:
            self.save_map() if shift else self.save_view()
        elif k == pygame.K_F12:
            self.save_view()
        elif k == pygame.K_m:
            self.save_map()
        elif k == pygame.K_l:
            self.save_level()
        elif k in _PAN and not ctrl:
            self._held.add(k)
        elif k in _ZOOM_IN or char == "+":
            self.zoom_by(KEY_STEP)
        elif k in _ZOOM_OUT or char == "-":
            self.zoom_by(1 / KEY_STEP)
        elif k in (pygame.K_f, pygame.K_HOME):
            self.fit()
        elif k == pygame.K_n:
            self.previous_seed() if shift else self.new_seed()
        elif k == pygame.K_p:
            self.next_preset(-1 if shift else 1)
        elif k in _NUMBERS:
            self.choose_generator(_NUMBERS[k])
        elif k in _LAYER_KEYS:
            self.toggle_layer(_LAYER_KEYS[k])
        elif k == pygame.K_b:
            self.split = not self.split
            self.active = 0
            if self.generators[1] == self.generators[0]:
                self.generators[1] = self._other(self.generators[0])
            self._dirty = True
            if self._fitted:
                self.fit()
        elif k == pygame.K_TAB and self.split:
            self.active = 1 - self.active
        elif k == pygame.K_e:
            self.toggle_meanders()
        elif k in (pygame.K_LEFTBRACKET, pygame.K_RIGHTBRACKET):
            self.step_sinuosity(1 if k == pygame.K_RIGHTBRACKET else -1)

    # -- actions --------------------------------------------------------------------------
    def new_seed(self) -> None:
        """Switch to a new seed (the same sequence in every session with the same --seed)."""
        seed = self.seed
        while seed == self.seed:
            seed = self._seed_rng.randrange(2 ** 32)
        self.seed_history.append(self.seed)
        self.seed = seed
        self._dirty = True

    def previous_seed(self) -> None:
        """Go back to the seed before the last :meth:`new_seed`."""
        if self.seed_history:
            self.seed = self.seed_history.pop()
            self._dirty = True
        else:
            self._toast("no previous seed")

    def next_preset(self, step: int = 1) -> None:
        """Step through the terrain presets."""
        names = list(PRESETS)
        self.preset = names[(names.index(self.preset) + step) % len(names)]
        self._dirty = True

    def generator_keys(self) -> list[str]:
        """Generators on the number keys 1.., builtins first, then learned ones."""
        return list(BUILTIN_ORDER) + (self.learned or [])[:LEARNED_KEYS]

    def choose_generator(self, number: int) -> None:
        """Number key ``number``: the river generator of the active pane."""
        keys = self.generator_keys()
        if number > len(keys):
            if number <= len(BUILTIN_ORDER) + LEARNED_KEYS:  # a learned key: say why empty
                note = self.learned_note or f"no learned generator on key {number}"
                self._toast(f"{number}: {note}", overlay.ACCENT, 6.0)
            return
        pane = self.active if self.split else 0
        self.generators[pane] = keys[number - 1]
        self._dirty = True

    def toggle_meanders(self) -> None:
        """Flow rivers of the active pane: meanders (``'curve'``) on or off."""
        pane = self.active if self.split else 0
        self.meanders[pane] = "none" if self.meanders[pane] == "curve" else "curve"
        if self.generators[pane] != "flow":
            self._toast("meanders apply to flow rivers (key 1)")
        self._dirty = True

    def step_sinuosity(self, step: int) -> None:
        """The sinuosity the active pane's learned rivers ask for, ``step`` places along
        :data:`SINUOSITY_STEPS` (clamped at both ends)."""
        pane = self.active if self.split else 0
        i = SINUOSITY_STEPS.index(self.sinuosity[pane]) + step
        self.sinuosity[pane] = SINUOSITY_STEPS[min(max(i, 0), len(SINUOSITY_STEPS) - 1)]
        s = self.sinuosity[pane]
        self._toast("learned rivers: " + (f"sinuosity {s:g}" if s is not None
                                          else "sinuosity drawn from real rivers"))
        if not self.generators[pane].startswith("learned:"):
            self._toast("sinuosity applies to learned rivers (keys 6-9, 0)")
        self._dirty = True

    def toggle_layer(self, name: str) -> None:
        """Turn a layer on or off (``hillshade``, ``rivers``, ``contours``, ``water``)."""
        self.layers = replace(self.layers, **{name: not getattr(self.layers, name)})
        self._dirty = True

    # -- background work ------------------------------------------------------------------
    def _request(self) -> None:
        self._dirty = False
        keys = tuple(self.wanted())
        if all((k, self.layers) in self._panes for k in keys):
            self._show()
            self._job = None  # what was on its way is no longer wanted
            return
        if self._job is not None and (self._job.keys, self._job.layers) == (keys, self.layers):
            return
        self._job_ids += 1
        now = time.perf_counter()
        self._job = _Job(self._job_ids, keys, self.layers, now, stage_started=now)
        self.worker.submit(Job(self._job_ids, keys, self.layers,
                               tuple(k not in self._levels for k in keys)))
        if not self._asked_learned:
            # After the first level: finding learned models may import torch (seconds).
            self.worker.request_learned()
            self._asked_learned = True
        self._show()  # panes already cached appear at once

    def _show(self) -> None:
        first = all(p is None for p in self.shown)
        for i, key in enumerate(self.wanted()):
            pane = self._panes.get((key, self.layers))
            if pane is not None:
                self._panes.move_to_end((key, self.layers))
                self.shown[i] = pane
        if not self.split:
            self.shown[1] = None
        if first and self.shown[0] is not None:
            self.fit()

    def _receive(self, message) -> None:
        kind, job_id = message[0], message[1]
        job = self._job if self._job is not None and self._job.id == job_id else None
        now = time.perf_counter()
        if kind == "learned":
            self.learned, self.learned_note = message[1], message[2]
        elif kind == "scores":
            self._scores[message[1]] = message[2]
        elif kind == "plan" and job:
            job.plan, job.stage, job.stage_started = message[2], 0, now
        elif kind == "stage" and job:
            job.stage, job.stage_started = message[2], now
        elif kind == "done":
            for r in message[2]:
                if r.level is not None:
                    self._levels[r.key] = (r.level, r.river_index)
                if r.key not in self._levels:  # evicted meanwhile: ask again, with the level
                    self._dirty = True
                    continue
                self._levels.move_to_end(r.key)
                level, index = self._levels[r.key]
                self._panes[(r.key, r.layers)] = _Pane(r.key, r.layers, TileCache(r.mips),
                                                       level, index)
            self._evict()
            if job:
                self._job = None
            self._show()
        elif kind == "error" and message[2].startswith(DIED) and self.worker.kind == "process":
            # The child could not start (e.g. no importable __main__) or was killed: carry on
            # in a thread; the window may then pause while numba kernels run.
            self.worker.close()
            self.worker = make_worker("thread")
            self._job, self._dirty, self._asked_learned = None, True, False
            self._toast(f"{message[2]}; generating in a thread from now on", overlay.ERROR, 8.0)
            print(f"explore: {message[2]}; falling back to a worker thread", file=sys.stderr)
        elif kind == "error":
            if job:
                self._job = None
            self.errors.append(message[2])
            self._toast(f"could not generate: {message[2]}", overlay.ERROR, 8.0)
            print(f"explore: generation failed: {message[2]}", file=sys.stderr)
        elif kind == "superseded" and job:  # cannot happen for the newest job; be safe
            self._job = None
            self._dirty = True

    def _evict(self) -> None:
        keep = {id(p) for p in self.shown if p is not None}
        while len(self._panes) > self._limit:
            key = next((k for k, p in self._panes.items() if id(p) not in keep), None)
            if key is None:
                break
            self._panes.pop(key).tiles.clear()
        needed = {p.key for p in self._panes.values()}
        while len(self._levels) > self._limit:
            key = next((k for k in self._levels if k not in needed), None)
            if key is None:
                break
            del self._levels[key]

    # -- saving ---------------------------------------------------------------------------
    def _name(self, kind: str, panes) -> str:
        key = panes[0].key
        gens = "-vs-".join(p.key.generator + ("-d8" if p.key.d8 else "") for p in panes)
        return f"{kind}_{key.preset}_seed{key.seed}_{gens}"

    def _submit_save(self, path: Path, write) -> Path:
        self._reserved.add(path)

        def task():
            write(path)
            return path
        self._saves.append((path, self._saver.submit(task)))
        return path

    def _visible(self) -> list[_Pane]:
        return [p for p in self.shown[:self.panes] if p is not None]

    def save_view(self) -> list[Path]:
        """Save the map as seen (panes without the overlays) as a PNG in the output folder."""
        from procgen.render import save_png

        panes = self._visible()
        if not panes:
            self._toast("nothing to save yet")
            return []
        surf = pygame.Surface(self.screen.get_size())
        self._draw_panes(surf, labels=self.split, highlight=False)
        rgb = np.ascontiguousarray(pygame.surfarray.array3d(surf).swapaxes(0, 1))
        path = unique_path(self.out, self._name("view", panes), ".png", self._reserved)
        return [self._submit_save(path, lambda p: save_png(rgb, p))]

    def save_map(self) -> list[Path]:
        """Save each shown pane's full map (one pixel per cell, current layers) as PNG."""
        from procgen.render import save_png

        paths = []
        for pane in self._visible():
            rgb = pane.tiles.mips[0]
            path = unique_path(self.out, self._name("map", [pane]), ".png", self._reserved)
            paths.append(self._submit_save(path, lambda p, rgb=rgb: save_png(rgb, p)))
        if not paths:
            self._toast("nothing to save yet")
        return paths

    def save_level(self) -> list[Path]:
        """Save each shown pane's Level file (``Level.save``: atomic, loads bit-identical)."""
        paths = []
        for pane in self._visible():
            path = unique_path(self.out, self._name("level", [pane]), ".npz", self._reserved)
            paths.append(self._submit_save(path, lambda p, lv=pane.level: lv.save(p)))
        if not paths:
            self._toast("nothing to save yet")
        return paths

    def screenshot(self, path) -> Path:
        """Save the whole window, overlays included, to ``path`` (overwrites: named by you)."""
        from demos._cli import save_screenshot

        return save_screenshot(self.screen, path)

    def _poll_saves(self) -> None:
        pending = []
        for path, future in self._saves:
            if not future.done():
                pending.append((path, future))
                continue
            self._reserved.discard(path)
            exc = future.exception()
            if exc is None:
                self.saved.append(path)
                self._toast(f"saved {path.name}")
                print(f"saved {path}")
            else:
                self.errors.append(str(exc))
                self._toast(f"could not save {path.name}: {exc}", overlay.ERROR, 8.0)
        self._saves = pending

    # -- per frame ------------------------------------------------------------------------
    def update(self, dt: float | None = None) -> None:
        """Take finished work, then move the view (held keys, zoom animation)."""
        now = time.perf_counter()
        if dt is None:
            dt = min(now - self._last, 0.1)
        self._last = now
        self._t += dt
        for message in self.worker.poll():
            self._receive(message)
        if self._dirty:
            self._request()
        self._poll_saves()
        vx = sum(_PAN[k][0] for k in self._held if k in _PAN)
        vy = sum(_PAN[k][1] for k in self._held if k in _PAN)
        if vx or vy:
            speed = PAN_SPEED * (3 if self._mods & pygame.KMOD_SHIFT else 1) * dt
            self.pan(-vx * speed, -vy * speed)
        if self.zoom != self.zoom_target:
            # Exponential approach in log-zoom: quick, smooth, frame-rate independent.
            a = 1.0 - math.exp(-dt * 14.0)
            z = math.exp(math.log(self.zoom) + a * math.log(self.zoom_target / self.zoom))
            self.zoom = self.zoom_target if abs(math.log(self.zoom_target / z)) < 2e-3 else z
            if self._anchor is not None:
                pos, (ax, ay), rect = self._anchor
                self.cx = ax - (pos[0] - (rect.x + rect.w / 2)) / self.zoom
                self.cy = ay - (pos[1] - (rect.y + rect.h / 2)) / self.zoom
                self._clamp()
        self._toasts = [t for t in self._toasts if t[2] > now]
        caption = (f"procgen explorer: {self.preset}, seed {self.seed}, "
                   f"{' vs '.join(self.generators[:self.panes])}")
        if caption != self._caption:
            pygame.display.set_caption(caption)
            self._caption = caption

    def _draw_panes(self, target: pygame.Surface, *, labels: bool, highlight: bool) -> None:
        target.fill(overlay.BACKGROUND)
        for i, rect in enumerate(self.pane_rects(target.get_size())):
            pane = self.shown[i]
            if pane is not None:
                # While the zoom moves each zoom is drawn once: scale without caching. At
                # rest, cache at most 8 new tiles a frame so a settled zoom costs no hitch.
                still = self.zoom == self.zoom_target
                pane.tiles.draw(target, rect, self.cx, self.cy, self.zoom, cache=still,
                                max_new=8 if highlight else None)
            if highlight and pane is not None:
                self._draw_hovered_river(target, i, rect)
            if labels and self.split:
                key = pane.key if pane is not None else self.wanted()[i]
                text = _label(key)
                if pane is not None:
                    text += f"  ({len(pane.level.rivers)} rivers)"
                colour = overlay.ACCENT if (i == self.active and highlight) else overlay.TEXT
                self.hud.box(target, [(text, colour)], (rect.x + 8, rect.y + 8), size=20)
        if self.split:
            half = target.get_width() // 2
            pygame.draw.line(target, (10, 10, 12), (half, 0), (half, target.get_height()), 2)

    def _hover(self):
        """``(pane index, (row, col), river index or -1)`` under the mouse, or None."""
        state = (self.mouse, self.cx, self.cy, self.zoom, self.split,
                 tuple(id(p) for p in self.shown))
        if self._hover_cache[0] != state:
            self._hover_cache = (state, self._find_hover())
        return self._hover_cache[1]

    def _find_hover(self):
        if self.mouse is None:
            return None
        for i, rect in enumerate(self.pane_rects()):
            pane = self.shown[i]
            if pane is None or not rect.collidepoint(self.mouse):
                continue
            x, y = screen_to_cell(rect, self.cx, self.cy, self.zoom, self.mouse)
            r, c = math.floor(y), math.floor(x)
            n = pane.level.shape
            if not (0 <= r < n[0] and 0 <= c < n[1]):
                return None
            # Search a few screen pixels around the cursor, so thin rivers are easy to hit.
            rad = min(8, math.ceil(4.0 / self.zoom))
            win = pane.river_index[max(0, r - rad):r + rad + 1, max(0, c - rad):c + rad + 1]
            hits = np.argwhere(win >= 0)
            river = -1
            if len(hits):
                rr = hits[:, 0] + max(0, r - rad) + 0.5 - y
                cc = hits[:, 1] + max(0, c - rad) + 0.5 - x
                best = hits[int(np.argmin(rr * rr + cc * cc))]
                river = int(win[best[0], best[1]])
            return i, (r, c), river
        return None

    def hover_text(self) -> list[str]:
        """The hover readout: cell, height, and the river under the cursor."""
        hit = self._hover()
        if hit is None:
            return []
        i, (r, c), river = hit
        pane = self.shown[i]
        level = pane.level
        h = float(level.height[r, c])
        km = level.cell_size / 1000.0
        lines = [f"cell row {r}, col {c}  ({c * km:.1f} km E, {r * km:.1f} km S of the NW corner)"]
        if level.lakes[r, c] > 0:
            lines.append(f"height {h:.0f} m  (lake {int(level.lakes[r, c])}, bed)")
        elif level.water[r, c]:
            lines.append(f"height {h:.0f} m  (sea, {-h:.0f} m deep)")
        else:
            lines.append(f"height {h:.0f} m")
        biome = _biome_name(level, r, c)
        if biome:
            lines[-1] += f", {biome}"
        if river >= 0:
            rv = level.rivers[river]
            length = rv.length_cells * km
            lines.append(f"river {river + 1}/{len(level.rivers)}: {rv.generator}, order "
                         f"{rv.order}, {rv.discharge:.0f} m\u00b3/s, {length:.1f} km, "
                         f"{float(rv.width.max()):.0f} m wide")
            scores = self._scores.get(pane.key)
            if scores is not None and river < len(scores):
                lines.append(f"realism {scores[river]:.2f} (real rivers score 0..1, "
                             f"median 0.5)")
        return lines

    def _draw_hovered_river(self, target, i, rect) -> None:
        hit = self._hover()
        if hit is None:
            return
        if hit[0] != i:
            # Mark the same cell in the other pane, to compare the two generators there.
            (r, c) = hit[1]
            x, y = cell_to_screen(rect, self.cx, self.cy, self.zoom, np.array([c + 0.5, r + 0.5]))
            for colour, width in (((0, 0, 0), 4), (overlay.ACCENT, 2)):
                pygame.draw.line(target, colour, (x - 9, y), (x + 9, y), width)
                pygame.draw.line(target, colour, (x, y - 9), (x, y + 9), width)
            return
        if hit[2] < 0:
            return
        path = self.shown[i].level.rivers[hit[2]].path
        step = max(1, len(path) // 4000)
        xy = cell_to_screen(rect, self.cx, self.cy, self.zoom, path[::step, ::-1] + 0.5)
        if len(xy) >= 2:
            clip = target.get_clip()
            target.set_clip(rect)
            pygame.draw.lines(target, overlay.ACCENT, False, xy.tolist(), 3)
            target.set_clip(clip)

    def _status(self) -> str:
        o = self.options
        gens = " vs ".join(_label(k) for k in self.wanted())
        on = [n for n in ("hillshade", "rivers", "contours", "water") if getattr(self.layers, n)]
        return (f"seed {self.seed} | {self.preset} | {o.size}x{o.size} cells of {o.cell_size:g} m"
                f" | rivers: {gens} | layers: {', '.join(on) or 'none'} | "
                f"zoom {self.zoom:.3g} px/cell | {self._fps_text or '...'} | H: help")

    def _progress(self) -> tuple[float, str]:
        job = self._job
        now = time.perf_counter()
        if job is None or not job.plan:
            return 0.0, "starting the worker..." if self.shown[0] is None else "queued..."
        total = sum(e for _, _, e in job.plan)
        done = sum(e for _, _, e in job.plan[:job.stage])
        if job.stage < len(job.plan):
            _, label, expected = job.plan[job.stage]
            done += expected * min(0.95, (now - job.stage_started) / expected)
        else:
            label = "sending"
        return (done / total if total else 1.0,
                f"{label} ({min(job.stage + 1, len(job.plan))}/{len(job.plan)})  "
                f"{now - job.started:.1f} s")

    def draw(self) -> None:
        """Draw the frame: map panes, then overlays; flips the display."""
        screen = self.screen
        self._draw_panes(screen, labels=True, highlight=True)
        w, h = screen.get_size()
        hud = self.hud
        # Status bar.
        bar = hud.text(self._status(), 17, overlay.DIM)
        hud.panel(screen, (0, h - 24, w, 24), 190)
        screen.blit(bar, (8, h - 24 + (24 - bar.get_height()) // 2))
        # Hover readout, beside the cursor (flipped to stay on screen).
        lines = self.hover_text()
        if lines:
            mx, my = self.mouse
            rect = hud.box(screen, lines, (0, 0), draw=False)
            x = mx + 18 if mx + 18 + rect.w <= w else mx - 12 - rect.w
            y = my + 18 if my + 18 + rect.h <= h - 26 else my - 12 - rect.h
            hud.box(screen, lines, (max(0, x), max(0, y)))
        # Progress.
        if self._job is not None:
            fraction, label = self._progress()
            centre = (w // 2, h // 2) if self.shown[0] is None else (w // 2, 40)
            hud.progress(screen, centre, fraction, label, self._t)
        if self.shown[0] is None and self._job is None and self.errors:
            hud.box(screen, [("could not generate this level:", overlay.ERROR), self.errors[-1]],
                    (w // 2, h // 2), anchor="center")
        # Messages.
        y = h - 32
        for text, colour, _ in reversed(self._toasts):
            rect = hud.box(screen, [(text, colour)], (8, y), anchor="bottomleft")
            y = rect.top - 4
        if self.help:
            hud.help(screen, KEYS, self.help_notes())
        pygame.display.flip()

    def help_notes(self) -> list:
        """The lines under the key list: generators on the number keys, where files go."""
        gens = self.generator_keys()
        notes = ["number keys: " + ", ".join(f"{n % 10} {g}" for n, g in enumerate(gens, 1))]
        if not self.learned:
            notes.append((f"6-9, 0: {self.learned_note}", overlay.ACCENT))
        notes.append(f"saving to {self.out.resolve()}")
        notes.append(f"files are named like map_{self.preset}_seed{self.seed}_"
                     f"{self.generators[0].replace(':', '-')}.png; none is overwritten")
        return notes

    def _tick_fps(self) -> None:
        now = time.perf_counter()
        self._frame_times.append(now)
        while self._frame_times and now - self._frame_times[0] > 1.0:
            self._frame_times.pop(0)
        if self.frame % 15 == 0 and len(self._frame_times) > 1:
            span = self._frame_times[-1] - self._frame_times[0]
            self.fps = (len(self._frame_times) - 1) / span if span > 0 else 0.0
            self._fps_text = f"{self.fps:.0f} fps"

    def step(self, events=None, dt: float | None = None) -> None:
        """One frame: handle ``events`` (default: pygame's queue), update, draw."""
        for event in pygame.event.get() if events is None else events:
            self.handle(event)
        self.update(dt)
        self.draw()
        self.frame += 1
        self._tick_fps()

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Run frames until no generation, save or zoom animation is pending (tests).

        Raises
        ------
        TimeoutError
            If still busy after ``timeout`` seconds.
        """
        deadline = time.perf_counter() + timeout
        while self.busy:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"viewer still busy after {timeout:g} s "
                                   f"(job {self._job}, {len(self._saves)} saves)")
            # Fast-forward the zoom animation; otherwise just poll.
            self.step([], dt=0.05 if self.zoom != self.zoom_target else None)
            time.sleep(0.002)

    def run(self, *, frames: int | None = None, script: Script | None = None) -> None:
        """The main loop: until closed, or until ``frames`` frames have run and the first
        level is on screen (so ``--frames 1 --screenshot`` shows a map)."""
        events = script.events(self) if script is not None else None
        while self.running:
            extra = []
            if events is not None:
                try:
                    extra = next(events)
                except StopIteration:
                    events = None
            self.step(pygame.event.get() + extra)
            if frames is not None and self.frame >= frames and (
                    self.shown[0] is not None or (self.errors and self._job is None)) \
                    and events is None:
                break
            if self.options.fps:
                self.clock.tick(self.options.fps)
            elif self.busy:
                # Uncapped, a frame loop that never sleeps starves the worker and saver
                # threads of the GIL (each numpy call they make hands it back for 5 ms).
                time.sleep(0.001)

    def close(self) -> None:
        """Finish pending saves, stop the worker, close the window."""
        self._saver.shutdown(wait=True)  # a save the user asked for is never dropped
        self._poll_saves()
        self.worker.close()
        for pane in self._panes.values():
            pane.tiles.clear()
        pygame.display.quit()
