"""The endless-world window (``procgen view --world``): pan forever over a procgen World.

The map is cut into chunks of :data:`CHUNK` cells, each one ``World.region`` rendered at one
pixel per cell. A worker (a child process by default, so no frame waits on a kernel) renders
the chunks nearest the view first, at most :data:`IN_FLIGHT` at a time, so chunks the view
has left are never made; the window draws whatever is ready (a dark square for the rest),
scaled once per zoom level and cached. Regions of a World are exact crops of each other, so
chunks made separately meet without a seam (each is rendered with a one-cell margin so that
its hillshade at the edge sees the true neighbours).
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import random
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pygame

from procgen.terrain import PRESETS

from .app import _PAN, PAN_SPEED
from .overlay import Hud
from .worker import stop_process

__all__ = ["WorldOptions", "WorldExplorer", "CHUNK", "WORLD_KEYS", "render_chunk"]

#: Cells along each side of a chunk.
CHUNK = 256
#: Chunks being made at once: enough to keep the worker busy, few enough that a pan
#: re-prioritises quickly.
IN_FLIGHT = 3
#: Zoom levels, screen pixels per cell.
ZOOMS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0)
#: Rendered chunks kept (each 196 KB of pixels, plus its scaled copies).
CACHE_CHUNKS = 600

WORLD_KEYS = (
    ("drag, arrows, WASD", "pan, without end (hold Shift to pan faster)"),
    ("wheel, + and -", "zoom"),
    ("Home", "back to cell (0, 0)"),
    ("T", "jump a trillion cells away"),
    ("N / P", "new seed / next preset"),
    ("Ctrl+S or F12", "save the view as PNG"),
    ("Esc or Q", "quit"),
)



@dataclass(frozen=True)
class WorldOptions:
    """Start-up settings of the world window.

    Attributes
    ----------
    seed : int
    preset : str
    rivers : str
    cell_size : float
    at : (int, int)
        Global cell at the centre of the window at start.
    out : str or Path
        Folder for saved views.
    width, height : int
    worker : {'process', 'thread'}
    fps : int
    """

    seed: int = 7
    preset: str = "continent"
    rivers: str = "flow"
    cell_size: float = 500.0
    at: tuple = (0, 0)
    out: str | Path = "."
    width: int = 1280
    height: int = 800
    worker: str = "process"
    fps: int = 60


def render_chunk(world, i: int, j: int) -> np.ndarray:
    """``(CHUNK, CHUNK, 3)`` uint8 picture of chunk ``(i, j)`` of ``world``."""
    from procgen.render import render_map
    level = world.region(i * CHUNK - 1, j * CHUNK - 1, (CHUNK + 2, CHUNK + 2))
    rgb = render_map(level.height, cell_size=level.cell_size, water=level.water,
                     rivers=level.rivers)
    return np.ascontiguousarray(rgb[1:-1, 1:-1])


def _make_world(key):
    from procgen.world import World
    seed, preset, rivers, cell_size = key
    return World(seed, preset=preset, cell_size=cell_size, rivers=rivers)


def _serve(get, post) -> None:
    """Worker loop: ``(key, i, j)`` requests in, ``(key, i, j, rgb or error)`` out."""
    worlds: OrderedDict = OrderedDict()
    while True:
        item = get()
        if item is None:
            return
        key, i, j = item
        try:
            if key not in worlds:
                worlds[key] = _make_world(key)
                while len(worlds) > 2:
                    worlds.popitem(last=False)
            post((key, i, j, render_chunk(worlds[key], i, j)))
        except Exception as exc:  # report, keep serving
            post((key, i, j, f"{type(exc).__name__}: {exc}"))


class _ChunkWorker:
    """Makes chunks on a daemon thread, or in a spawned child process (default)."""

    def __init__(self, kind: str):
        self.received: queue.Queue = queue.Queue()
        if kind == "thread":
            self._inbox: queue.Queue = queue.Queue()
            self._thread = threading.Thread(target=_serve, daemon=True,
                                            args=(self._inbox.get, self.received.put))
            self._thread.start()
            self._process = None
        elif kind == "process":
            ctx = mp.get_context("spawn")  # fork after SDL and threads are up is unsafe
            self._inbox = ctx.Queue()
            self._outbox = ctx.Queue()
            self._process = ctx.Process(target=_child, args=(self._inbox, self._outbox),
                                        daemon=True, name="procgen-world-worker")
            self._process.start()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._receive, daemon=True)
            self._thread.start()
        else:
            raise ValueError(f"worker must be 'process' or 'thread', got {kind!r}")

    def _receive(self):
        while not self._stop.is_set():
            try:
                self.received.put(self._outbox.get(timeout=0.1))
            except queue.Empty:
                continue
            except (EOFError, OSError):
                return

    def submit(self, item) -> None:
        self._inbox.put(item)

    def close(self) -> None:
        try:
            self._inbox.put(None)
        except (OSError, ValueError):
            pass
        if self._process is not None:
            stop_process(self._process, self._stop, self._thread, (self._inbox, self._outbox))
        else:
            self._thread.join(timeout=0.2)


def _child(inbox, outbox) -> None:
    _serve(inbox.get, outbox.put)


class WorldExplorer:
    """A window onto an endless :class:`procgen.world.World`; see the module docstring."""

    def __init__(self, options: WorldOptions | None = None, **overrides):
        opts = replace(options or WorldOptions(), **overrides)
        self.options = opts
        self.out = Path(opts.out)
        pygame.display.init()
        pygame.font.init()
        self.screen = pygame.display.set_mode((opts.width, opts.height), pygame.RESIZABLE)
        pygame.display.set_caption("procgen world")
        self.hud = Hud()
        self.clock = pygame.time.Clock()
        self.seed, self.preset = opts.seed, opts.preset
        self._seed_rng = random.Random(opts.seed)
        # The view's centre in global cells: Python floats hold 10**12 to 1e-4 of a cell.
        self.cy, self.cx = float(opts.at[0]), float(opts.at[1])
        self.zoom_index = ZOOMS.index(1.0)
        self._held: set[int] = set()
        self._mods = 0
        self._drag = None
        self._chunks: OrderedDict = OrderedDict()     # (key, i, j) -> Surface at 1 px/cell
        self._scaled: OrderedDict = OrderedDict()     # (key, i, j, zoom) -> Surface
        self._pending: set = set()
        self.errors: list[str] = []
        self.saved: list[Path] = []
        self.running = True
        self.frame = 0
        self._last = time.perf_counter()
        self._frame_times: list[float] = []
        self.fps = 0.0
        self.worker = _ChunkWorker(opts.worker)

    # -- state -------------------------------------------------------------------------------
    @property
    def key(self) -> tuple:
        return (self.seed, self.preset, self.options.rivers, self.options.cell_size)

    @property
    def zoom(self) -> float:
        return ZOOMS[self.zoom_index]

    def visible(self) -> list[tuple[int, int]]:
        """Chunks on screen, nearest the centre first."""
        w, h = self.screen.get_size()
        half_r, half_c = h / 2 / self.zoom, w / 2 / self.zoom
        i0, i1 = int((self.cy - half_r) // CHUNK), int((self.cy + half_r) // CHUNK)
        j0, j1 = int((self.cx - half_c) // CHUNK), int((self.cx + half_c) // CHUNK)
        ci, cj = self.cy / CHUNK - 0.5, self.cx / CHUNK - 0.5
        out = [(i, j) for i in range(i0, i1 + 1) for j in range(j0, j1 + 1)]
        return sorted(out, key=lambda ij: (ij[0] - ci) ** 2 + (ij[1] - cj) ** 2)

    @property
    def ready(self) -> bool:
        """Every visible chunk is drawn (or failed)."""
        return all((self.key, i, j) in self._chunks for i, j in self.visible())

    # -- input -------------------------------------------------------------------------------
    def handle(self, event) -> None:
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.KEYDOWN:
            self._mods = event.mod
            self._key(event)
        elif event.type == pygame.KEYUP:
            self._held.discard(event.key)
            self._mods = event.mod
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            self._drag = event.pos
        elif event.type == pygame.MOUSEBUTTONUP and event.button == 1:
            self._drag = None
        elif event.type == pygame.MOUSEMOTION and self._drag is not None:
            dx, dy = event.pos[0] - self._drag[0], event.pos[1] - self._drag[1]
            self._drag = event.pos
            self.cx -= dx / self.zoom
            self.cy -= dy / self.zoom
        elif event.type == pygame.MOUSEWHEEL:
            self.zoom_by(1 if event.y > 0 else -1)

    def _key(self, event) -> None:
        k = event.key
        if k in (pygame.K_ESCAPE, pygame.K_q):
            self.running = False
        elif k in _PAN:
            self._held.add(k)
        elif k in (pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS):
            self.zoom_by(1)
        elif k in (pygame.K_MINUS, pygame.K_KP_MINUS):
            self.zoom_by(-1)
        elif k == pygame.K_HOME:
            self.cy = self.cx = 0.0
        elif k == pygame.K_t:
            self.cy += 10.0 ** 12
            self.cx -= 10.0 ** 12
        elif k == pygame.K_n:
            self.seed = self._seed_rng.randrange(2 ** 32)
        elif k == pygame.K_p:
            names = list(PRESETS)
            self.preset = names[(names.index(self.preset) + 1) % len(names)]
        elif k == pygame.K_F12 or (k == pygame.K_s and event.mod & pygame.KMOD_CTRL):
            self._held.discard(pygame.K_s)
            self.save_view()

    def zoom_by(self, steps: int) -> None:
        self.zoom_index = min(max(self.zoom_index + steps, 0), len(ZOOMS) - 1)

    # -- frames ------------------------------------------------------------------------------
    def update(self, dt: float | None = None) -> None:
        now = time.perf_counter()
        dt = now - self._last if dt is None else dt
        self._last = now
        speed = PAN_SPEED * (3.0 if self._mods & pygame.KMOD_SHIFT else 1.0) / self.zoom
        for k in self._held:
            dx, dy = _PAN[k]
            self.cx += dx * speed * dt
            self.cy += dy * speed * dt
        while True:
            try:
                key, i, j, result = self.worker.received.get_nowait()
            except queue.Empty:
                break
            self._pending.discard((key, i, j))
            if isinstance(result, str):
                self.errors.append(result)
                surf = pygame.Surface((CHUNK, CHUNK))
                surf.fill((90, 20, 20))
            else:
                surf = pygame.surfarray.make_surface(result.swapaxes(0, 1))
            self._chunks[(key, i, j)] = surf
            while len(self._chunks) > CACHE_CHUNKS:
                self._chunks.popitem(last=False)
        for i, j in self.visible():
            if len(self._pending) >= IN_FLIGHT:
                break
            want = (self.key, i, j)
            if want not in self._chunks and want not in self._pending:
                self._pending.add(want)
                self.worker.submit(want)

    def _surface(self, key) -> pygame.Surface | None:
        base = self._chunks.get(key)
        if base is None:
            return None
        self._chunks.move_to_end(key)
        if self.zoom == 1.0:
            return base
        skey = (*key, self.zoom)
        surf = self._scaled.get(skey)
        if surf is None:
            side = max(1, round(CHUNK * self.zoom))
            surf = (pygame.transform.scale(base, (side, side)) if self.zoom > 1
                    else pygame.transform.smoothscale(base, (side, side)))
            self._scaled[skey] = surf
            while len(self._scaled) > CACHE_CHUNKS:
                self._scaled.popitem(last=False)
        self._scaled.move_to_end(skey)
        return surf

    def draw(self) -> None:
        target = self.screen
        target.fill((14, 16, 22))
        w, h = target.get_size()
        z = self.zoom
        for i, j in self.visible():
            x = round((j * CHUNK - self.cx) * z + w / 2)
            y = round((i * CHUNK - self.cy) * z + h / 2)
            surf = self._surface((self.key, i, j))
            if surf is None:
                side = round(CHUNK * z)
                pygame.draw.rect(target, (30, 34, 44), (x, y, side, side), 1)
            else:
                target.blit(surf, (x, y))
        lines = [f"seed {self.seed} · {self.preset} · {self.options.rivers} · "
                 f"{self.options.cell_size:g} m/cell",
                 f"row {self.cy:,.0f}  col {self.cx:,.0f}  ·  zoom {z:g}x",
                 f"{self.fps:.0f} fps · {len(self._pending)} chunks in the making"]
        if self.errors:
            lines.append(f"error: {self.errors[-1][:100]}")
        self.hud.box(target, lines, (10, 10))
        pygame.display.flip()

    def _tick_fps(self) -> None:
        now = time.perf_counter()
        self._frame_times.append(now)
        while self._frame_times and now - self._frame_times[0] > 1.0:
            self._frame_times.pop(0)
        if len(self._frame_times) > 1:
            span = self._frame_times[-1] - self._frame_times[0]
            self.fps = (len(self._frame_times) - 1) / span if span > 0 else 0.0

    def step(self, events=None, dt: float | None = None) -> None:
        for event in pygame.event.get() if events is None else events:
            self.handle(event)
        self.update(dt)
        self.draw()
        self.frame += 1
        self._tick_fps()

    def run(self, *, frames: int | None = None, timeout: float = 300.0) -> None:
        """Until closed; with ``frames``, until that many frames have run and every visible
        chunk is drawn (at most ``timeout`` seconds)."""
        start = time.perf_counter()
        while self.running:
            self.step()
            if frames is not None and self.frame >= frames and (
                    self.ready or time.perf_counter() - start > timeout):
                break
            if self.options.fps:
                self.clock.tick(self.options.fps)
            else:
                time.sleep(0.001)

    def screenshot(self, path) -> Path:
        """Save the window as a PNG (atomically)."""
        from procgen.render import save_png
        rgb = pygame.surfarray.array3d(self.screen).swapaxes(0, 1)
        return save_png(np.ascontiguousarray(rgb), Path(path))

    def save_view(self) -> Path:
        from .app import unique_path
        path = unique_path(self.out, f"world_seed{self.seed}_{self.preset}_"
                                     f"r{self.cy:.0f}_c{self.cx:.0f}", ".png")
        self.saved.append(self.screenshot(path))
        return path

    def close(self) -> None:
        self.worker.close()
        pygame.display.quit()
