"""Background generation for the viewer: levels, rendered layers and mip pyramids.

Nothing here imports pygame: the work runs in a child process (default) or a thread, and
returns plain numpy arrays that the window turns into tiles.

Why a process by default: procgen's numba kernels hold the GIL while they run (a 4096 x 4096
depression fill holds it for about 2 s), so a worker *thread* would freeze the window for that
long. A spawned child process keeps the window at full frame rate; the thread backend is kept
for tests and for platforms where a child process cannot start.

Levels are made by :func:`procgen.pipeline.run`, the pipeline :func:`procgen.generate_level`
runs, with a :class:`~procgen.pipeline.StageCache`: the child keeps the terrain and drainage
of the last maps, so choosing another river generator on the same seed only reruns the
rivers, carve and biomes stages and rendering.
"""

from __future__ import annotations

import importlib.util
import multiprocessing as mp
import queue
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np


__all__ = ["Layers", "LevelKey", "Job", "PaneResult", "Builder", "render_layers", "contour_mask", "mip_pyramid", "river_index", "discover_learned",
           "ThreadWorker", "ProcessWorker", "make_worker", "RIVER_COLOUR", "DIED"]

#: River colour of :func:`procgen.render.render_map` (its default), used by every layer mix.
RIVER_COLOUR = (60, 110, 200)
#: Rivers are first drawn in this colour, which the terrain ramps never produce, so contour
#: lines can be kept off river pixels without a second render.
_SENTINEL = (255, 0, 255)

DIED = "the worker process died"

#: Expected seconds per million cells of each stage on a 2-core machine (measured on a
#: 4096 x 4096 continent); the worker refines them as it goes, and the progress bar uses them
#: to move smoothly within a stage.
_RATES = {"terrain": 0.2, "erosion": 0.1, "hydrology": 0.3, "rivers": 0.1, "carve": 0.3,
          "biomes": 0.15, "render": 0.08, "tiles": 0.07}
#: Progress-bar labels of the pipeline's stages (procgen.pipeline.STAGES).
_LABELS = {"carve": "carving"}


@dataclass(frozen=True)
class Layers:
    """Which layers the map shows."""

    hillshade: bool = True
    rivers: bool = True
    contours: bool = False
    water: bool = True


@dataclass(frozen=True)
class LevelKey:
    """Everything that decides a Level's arrays."""

    seed: int
    size: int
    cell_size: float
    preset: str
    generator: str
    meanders: str = "curve"
    sinuosity: float | None = None     # asked of learned generators; None: drawn

    @property
    def d8(self) -> bool:
        """Flow rivers left on their D8 cells (meanders off)."""
        return self.generator == "flow" and self.meanders == "none"

    @property
    def label(self) -> str:
        """The generator, noting D8 paths when meanders are off and a requested sinuosity."""
        return (self.generator + (" (D8 paths)" if self.d8 else "")
                + (f", sinuosity {self.sinuosity:g}" if self.sinuosity is not None else ""))

    @property
    def terrain(self) -> tuple:
        """The part that decides terrain and drainage (not the river generator)."""
        return (self.seed, self.size, self.cell_size, self.preset)


@dataclass(frozen=True)
class Job:
    """One request: the levels of the panes, rendered with ``layers``.

    ``send_level[i]`` is False when the window already holds pane i's Level, so only the
    pictures travel back.
    """

    id: int
    keys: tuple
    layers: Layers
    send_level: tuple


@dataclass
class PaneResult:
    """What the window needs to show one pane."""

    key: LevelKey
    layers: Layers
    mips: list                      # uint8 (h, w, 3) RGB; mips[0] is full resolution
    level: object = None            # procgen.Level, or None if the window has it
    river_index: np.ndarray = None  # int (rows, cols): index into level.rivers, -1 elsewhere


# -- the stages ------------------------------------------------------------------------------
def _context(key: LevelKey):
    """The pipeline context and config of a key (the river generator is resolved by the
    pipeline itself)."""
    from procgen.level import LevelConfig
    from procgen.pipeline import context

    from dataclasses import replace

    ctx = context(seed=key.seed, shape=(key.size, key.size), cell_size=key.cell_size,
                  max_cells=None)
    config = LevelConfig.from_preset(key.preset)
    return ctx, replace(config, rivers=replace(config.rivers, meanders=key.meanders,
                                               sinuosity=key.sinuosity))


def contour_mask(height: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Contour lines of a height grid: ``(line, index_line)`` bool masks.

    Land and sea get their own interval (the smallest of 10, 20, 50, 100, 200, 250, 500,
    1000, 2000 m giving at most 20 lines over their range); every fifth line, the coast
    included, is an index contour. A cell is on a line where its band differs from its east
    or south neighbour.
    """
    def interval(span):
        for step in (10.0, 20.0, 50.0, 100.0, 200.0, 250.0, 500.0, 1000.0, 2000.0):
            if span / step <= 20:
                return step
        return 5000.0

    h = np.asarray(height, np.float32)
    land_step = interval(max(float(h.max()), 1.0))
    sea_step = interval(max(-float(h.min()), 1.0))
    # Band k >= 0 holds heights [k, k+1) * land_step; band -k-1 depths [k, k+1) * sea_step,
    # so the boundary between bands a < b is line number |b| (0 = the coast).
    band = np.where(h >= 0, np.floor(h / land_step),
                    -1.0 - np.floor(-h / sea_step)).astype(np.int32)
    line = np.zeros(h.shape, bool)
    index = np.zeros(h.shape, bool)
    for a, b, lo in ((band[:, :-1], band[:, 1:], np.s_[:, :-1]),
                     (band[:-1, :], band[1:, :], np.s_[:-1, :])):
        edge = a != b
        line[lo] |= edge
        index[lo] |= edge & (np.abs(np.maximum(a, b)) % 5 == 0)
    return line, index


def render_layers(level, layers: Layers) -> np.ndarray:
    """Render a Level with the chosen layers to a full-resolution uint8 RGB image.

    ``water`` off draws the bare relief: no cell is water, so the sea floor takes the lowest
    land tint and is hillshaded like the land.
    """
    from procgen.render import render_map

    water = level.water if layers.water else np.zeros(level.water.shape, bool)
    sentinel = layers.contours and layers.rivers and bool(level.rivers)
    rgb = render_map(level.height, cell_size=level.cell_size, water=water,
                     rivers=level.rivers if layers.rivers else (), shade=layers.hillshade,
                     river_color=_SENTINEL if sentinel else RIVER_COLOUR)
    if layers.contours:
        line, index = contour_mask(level.height)
        river_px = np.all(rgb == np.array(_SENTINEL, np.uint8), axis=2) if sentinel else None
        if river_px is not None:
            line &= ~river_px
            index &= ~river_px
        # Darken rather than paint a fixed colour, so lines read on every tint.
        rgb[line] = (rgb[line] * np.float32(0.68)).astype(np.uint8)
        rgb[index] = (rgb[index] * np.float32(0.6)).astype(np.uint8)
        if river_px is not None:
            rgb[river_px] = RIVER_COLOUR
    return rgb


def mip_pyramid(rgb: np.ndarray) -> list[np.ndarray]:
    """Halve the image (2 x 2 box filter) down to one pixel; level 0 is ``rgb`` itself.

    Odd sizes are padded by repeating the last row or column, so pixel ``i`` of level ``m``
    always covers cells ``[i * 2**m, (i + 1) * 2**m)``. The levels below the first add a
    third to the memory and let any zoom magnify a mip rather than skip pixels.
    """
    mips = [np.ascontiguousarray(rgb, np.uint8)]
    while max(mips[-1].shape[:2]) > 1:
        a = mips[-1]
        h, w = a.shape[:2]
        if h % 2 or w % 2:
            a = np.pad(a, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
            h, w = a.shape[:2]
        s = a.reshape(h // 2, 2, w // 2, 2, 3).sum(axis=(1, 3), dtype=np.uint16)
        mips.append(((s + 2) // 4).astype(np.uint8))
    return mips


def river_index(level) -> np.ndarray:
    """Which river each cell belongs to: an index into ``level.rivers``, -1 off rivers.

    Rivers are painted smallest discharge first, so at a confluence the cell names the river
    that carries on.
    """
    from procgen.rivers import river_cells

    dtype = np.int16 if len(level.rivers) < np.iinfo(np.int16).max else np.int32
    index = np.full(level.shape, -1, dtype)
    order = np.argsort([r.discharge for r in level.rivers], kind="stable")
    for k in order:
        cells, _ = river_cells(level.rivers[k], level.shape)
        index[cells[:, 0], cells[:, 1]] = k
    return index


def discover_learned() -> tuple[list[str], str]:
    """Names of the installed learned generators (``'learned:NAME'``), and a message.

    Lists the models the torch-free runtime runs (``learned.runtime.available()``), and,
    when torch imports, the torch-only ones (the energy-based model); otherwise the list is
    empty and the message says why.
    """
    try:
        if importlib.util.find_spec("learned.runtime") is None:
            return [], "no learned generators: the learned package is not installed"
        # import_module reads sys.modules, unlike ``from learned import runtime``, which
        # prefers a stale attribute on the package.
        runtime = importlib.import_module("learned.runtime")
        names = [str(n) for n in runtime.available()]
    except Exception as exc:  # a broken install must not stop the viewer
        return [], f"learned generators unavailable: {type(exc).__name__}: {exc}"
    if importlib.util.find_spec("torch") is not None:
        try:
            placement = importlib.import_module("learned.placement")
            pretrained = importlib.import_module("learned.pretrained")
            names += [n for n in pretrained.available()
                      if n not in names and placement._torch_only(n)]
        except Exception:     # torch broken: the runtime's models still work
            pass
    if not names:
        return [], "no learned models are installed"
    return [n if n.startswith("learned:") else f"learned:{n}" for n in names], ""


class Superseded(Exception):
    """A newer job arrived; this one stops at the next stage boundary."""


class Builder:
    """Runs jobs, caching terrain, drainage and levels between them (one per worker)."""

    def __init__(self, *, drainages: int = 2, levels: int = 4):
        from procgen.pipeline import StageCache

        self._stages = StageCache(drainages)
        self._levels: OrderedDict = OrderedDict()
        self._max_levels = levels
        self._scores: OrderedDict = OrderedDict()
        self.rates = dict(_RATES)

    def scores(self, key: LevelKey):
        """The realism scores of the rivers of the level of ``key`` (cached; None where
        they cannot be computed)."""
        if key not in self._scores:
            entry = self._levels.get(key)
            self._scores[key] = None if entry is None else river_scores(entry[0])
            while len(self._scores) > 2 * self._max_levels:
                self._scores.popitem(last=False)
        return self._scores[key]

    def plan(self, job: Job) -> list[tuple[str, str, float]]:
        """``(stage, label, expected seconds)`` for each stage the job will run."""
        from procgen.pipeline import STAGES, StageCache

        stages = []
        cached, planned = set(), set()
        for key in job.keys:
            if key in self._levels or key in planned:
                continue
            planned.add(key)
            ctx, config = _context(key)
            grid = StageCache.key(ctx, config)
            skip = grid in self._stages or grid in cached
            cached.add(grid)
            for name in STAGES:
                if skip and name in ("terrain", "erosion", "hydrology"):
                    continue
                label = f"rivers: {key.label}" if name == "rivers" else _LABELS.get(name, name)
                stages.append((name, label))
        for i, _ in enumerate(job.keys):
            part = f" ({i + 1}/{len(job.keys)})" if len(job.keys) > 1 else ""
            stages += [("render", "rendering" + part), ("tiles", "tiles" + part)]
        mcells = job.keys[0].size ** 2 / 1e6
        return [(s, label, 0.02 + self.rates[s] * mcells) for s, label in stages]

    def run(self, job: Job, report, cancelled) -> list[PaneResult]:
        """Run ``job``; ``report(stage_number)`` marks each stage start; ``cancelled()`` asks
        whether a newer job is waiting (checked between stages)."""
        from procgen.level import level_from
        from procgen.pipeline import run as run_pipeline

        stage = [0]
        mcells = job.keys[0].size ** 2 / 1e6
        last = [time.perf_counter(), None]

        def begin(name):
            now = time.perf_counter()
            if last[1] is not None:  # learn this machine's speed for the next plan
                seen = (now - last[0]) / max(mcells, 1e-3)
                self.rates[last[1]] = 0.5 * self.rates[last[1]] + 0.5 * seen
            if cancelled():
                raise Superseded
            report(stage[0])
            stage[0] += 1
            last[:] = [now, name]

        results = []
        for key in job.keys:
            if key in self._levels:
                self._levels.move_to_end(key)
                continue
            ctx, config = _context(key)
            out = run_pipeline(ctx, config, rivers=key.generator, cache=self._stages,
                               on_stage=begin)
            level = level_from(ctx, out)
            self._levels[key] = (level, river_index(level))
            self._levels.move_to_end(key)
            while len(self._levels) > self._max_levels:
                self._levels.popitem(last=False)
        for key, send in zip(job.keys, job.send_level):
            level, index = self._levels[key]
            begin("render")
            rgb = render_layers(level, job.layers)
            begin("tiles")
            results.append(PaneResult(key=key, layers=job.layers, mips=mip_pyramid(rgb),
                                      level=level if send else None,
                                      river_index=index if send else None))
        begin(None)
        return results


def river_scores(level):
    """Each river's realism score (``learned.score``, the energy-based model, calibrated so
    that real rivers score uniformly in [0, 1]), or None without torch or the model."""
    if not level.rivers:
        return np.zeros(0)
    try:
        from learned.score import score_details
        details = score_details([r.path for r in level.rivers], cell_size=level.cell_size)
    except (ImportError, OSError, ValueError):
        return None
    return np.asarray(details["score"], np.float64)


def _serve(job: Job, builder: Builder, post, latest) -> None:
    """Run one job and post its messages: plan, stage numbers, then done or error; then,
    unless a newer job waits, the rivers' realism scores of its levels."""
    try:
        post(("plan", job.id, builder.plan(job)))
        results = builder.run(job, lambda i: post(("stage", job.id, i)),
                              lambda: latest() != job.id)
        post(("done", job.id, results))
        for key in job.keys:
            if latest() != job.id:
                break
            post(("scores", key, builder.scores(key)))
    except Superseded:
        post(("superseded", job.id))
    except Exception as exc:  # report, keep serving: a bad generator must not kill the viewer
        line = str(exc).splitlines()[0] if str(exc) else ""
        post(("error", job.id, f"{type(exc).__name__}: {line}", traceback.format_exc()))


# -- the two backends ------------------------------------------------------------------------
def _drain(q) -> list:
    """Everything waiting in queue ``q``, without blocking."""
    out = []
    while True:
        try:
            out.append(q.get_nowait())
        except queue.Empty:
            return out


def _serve_forever(get, post, latest) -> None:
    """The worker loop of both backends: take items from ``get()`` until None; a Job is run
    unless a newer one was submitted while it waited (``latest()`` is the newest id)."""
    builder = Builder()
    while True:
        item = get()
        if item is None:
            return
        if item == "learned":
            post(("learned", *discover_learned()))
        elif item.id == latest():  # skip jobs superseded while queued
            _serve(item, builder, post, latest)
        else:
            post(("superseded", item.id))


class Worker:
    """What the window talks to: submit jobs, poll finished messages, close.

    A backend provides ``_send(item)`` (a Job, ``'learned'`` or None to stop),
    ``_set_latest(job_id)``, ``_received`` (a local queue of finished messages) and
    ``_stop_backend()``.
    """

    kind = ""

    def submit(self, job: Job) -> None:
        self._set_latest(job.id)
        self._send(job)

    def request_learned(self) -> None:
        self._send("learned")

    def poll(self) -> list:
        return _drain(self._received)

    def close(self) -> None:
        self._set_latest(-1)
        try:
            self._send(None)
        except (OSError, ValueError):  # the process's queue may already be closed
            pass
        self._stop_backend()


class ThreadWorker(Worker):
    """Runs jobs on a daemon thread of this process (tests; fallback)."""

    kind = "thread"

    def __init__(self):
        self._inbox: queue.Queue = queue.Queue()
        self._received: queue.Queue = queue.Queue()
        self._latest = 0
        self._thread = threading.Thread(
            target=_serve_forever, name="procgen-viewer-worker", daemon=True,
            args=(self._inbox.get, self._received.put, lambda: self._latest))
        self._thread.start()

    def _send(self, item) -> None:
        self._inbox.put(item)

    def _set_latest(self, job_id: int) -> None:
        self._latest = job_id

    def _stop_backend(self) -> None:
        # A numba kernel cannot be interrupted; the daemon thread dies with the process.
        self._thread.join(timeout=0.2)


def _child_main(inbox, outbox, latest) -> None:
    _serve_forever(inbox.get, outbox.put, lambda: latest.value)


class ProcessWorker(Worker):
    """Runs jobs in a spawned child process; a parent thread receives the results.

    Receiving (reading the pipe, unpickling the arrays) happens on that thread, so the window
    only ever takes finished messages from a local queue.
    """

    kind = "process"

    def __init__(self):
        ctx = mp.get_context("spawn")  # fork after SDL and threads are up is unsafe
        self._inbox = ctx.Queue()
        self._outbox = ctx.Queue()
        self._latest = ctx.Value("q", 0, lock=False)
        self._received: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._process = ctx.Process(target=_child_main, name="procgen-viewer-worker",
                                    args=(self._inbox, self._outbox, self._latest), daemon=True)
        self._process.start()
        self._pending: set[int] = set()
        self._dead = False
        self._receiver = threading.Thread(target=self._receive, name="procgen-viewer-receiver",
                                          daemon=True)
        self._receiver.start()

    def _receive(self):
        while not self._stop.is_set():
            try:
                message = self._outbox.get(timeout=0.1)
            except queue.Empty:
                if not self._process.is_alive() and not self._dead:
                    self._dead = True
                    text = f"{DIED} (exit code {self._process.exitcode})"
                    for job_id in sorted(self._pending):
                        self._received.put(("error", job_id, text, ""))
                    self._pending.clear()
                    self._received.put(("learned", [], text))
                continue
            except (EOFError, OSError):
                return
            if message[0] in ("done", "error", "superseded"):
                self._pending.discard(message[1])
            self._received.put(message)

    def _send(self, item) -> None:
        if isinstance(item, Job):
            self._pending.add(item.id)
        self._inbox.put(item)

    def _set_latest(self, job_id: int) -> None:
        self._latest.value = job_id

    def _stop_backend(self) -> None:
        stop_process(self._process, self._stop, self._receiver, (self._inbox, self._outbox))


def stop_process(process, stop, receiver, queues) -> None:
    """Let a worker process end (it was sent None), else terminate it; then stop its
    receiving thread and close its queues."""
    process.join(timeout=0.5)
    if process.is_alive():  # mid-kernel: nothing of value is lost
        process.terminate()
        process.join(timeout=2.0)
    stop.set()
    receiver.join(timeout=0.5)
    for q in queues:
        q.cancel_join_thread()
        q.close()


def make_worker(kind: str):
    """A ``'process'`` or ``'thread'`` worker."""
    if kind == "process":
        return ProcessWorker()
    if kind == "thread":
        return ThreadWorker()
    raise ValueError(f"worker must be 'process' or 'thread', got {kind!r}")
