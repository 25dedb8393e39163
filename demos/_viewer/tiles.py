"""Tile cache: a map rendered once per layer mix, cut into tiles, scaled once per zoom.

The map arrives as a mip pyramid of RGB images (level 0 is one pixel per cell, level m one
pixel per 2**m x 2**m cells). Drawing at ``zoom`` screen pixels per cell picks the tile grid
so that every tile lands on screen between 256 and 512 pixels wide:

* zoom < 1: mip ``m = -floor(log2(zoom))``, tiles of 256 x 256 mip pixels, magnified by a
  factor in [1, 2) (magnifying a box-filtered mip never aliases; minifying would);
* zoom >= 1: level 0, tiles of ``256 >> floor(log2(zoom))`` cells, so single cells show as
  crisp squares at high zoom.

Scaled tiles are kept (least recently used first out, within a byte budget), so panning at a
fixed zoom only blits cached surfaces; only tiles that come into view are scaled.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pygame

__all__ = ["TileCache", "screen_to_cell", "cell_to_screen"]


class TileCache:
    """Draw a mip pyramid at any zoom through a cache of scaled tiles.

    Parameters
    ----------
    mips : list of numpy.ndarray
        uint8 ``(h, w, 3)`` images; ``mips[0]`` has one pixel per cell, each next one half
        the size (rounded up).
    tile : int, optional
        Tile edge in source pixels at zoom < 1 (default 256).
    budget : int, optional
        Bytes of scaled tiles to keep (default 192 MiB).
    """

    def __init__(self, mips: list, *, tile: int = 256, budget: int = 192 << 20):
        self.mips = mips
        self.shape = mips[0].shape[:2]
        self.tile = tile
        self.budget = budget
        # frombuffer shares the numpy memory: no copy, so keep ``mips`` alive with the cache.
        self._sources = [pygame.image.frombuffer(m, (m.shape[1], m.shape[0]), "RGB")
                         for m in mips]
        self._blocks: dict = {}
        self._scaled: OrderedDict = OrderedDict()
        self._scratch = None
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    @property
    def nbytes(self) -> int:
        """Bytes held in scaled tiles."""
        return self._bytes

    def clear(self) -> None:
        """Drop every scaled and converted tile."""
        self._scaled.clear()
        self._blocks.clear()
        self._scratch = None
        self._bytes = 0

    def grid(self, zoom: float) -> tuple[int, int]:
        """``(mip level, tile edge in that level's pixels)`` used at ``zoom``."""
        level = math.floor(math.log2(zoom))
        if level < 0:
            return min(-level, len(self.mips) - 1), self.tile
        return 0, max(1, self.tile >> level)

    def _block(self, m, bi, bj):
        """Source block ``(bi, bj)`` of mip ``m`` (``tile`` pixels square), in the display's
        pixel format: converted once, so scaled copies need no conversion and can be scaled
        into a reused surface (``transform.scale`` needs equal formats for that)."""
        key = (m, bi, bj)
        block = self._blocks.get(key)
        if block is None:
            src = self._sources[m]
            t = self.tile
            rect = (bj * t, bi * t, min(t, src.get_width() - bj * t),
                    min(t, src.get_height() - bi * t))
            block = src.subsurface(rect)
            block = block.convert() if pygame.display.get_surface() is not None else block.copy()
            self._blocks[key] = block
        return block

    def _source(self, m, t, i, j):
        k = self.tile // t  # t divides tile: tiles of a zoomed-in grid lie inside one block
        block = self._block(m, i // k, j // k)
        if k == 1:
            return block
        x, y = (j % k) * t, (i % k) * t
        return block.subsurface((x, y, min(t, block.get_width() - x),
                                 min(t, block.get_height() - y)))

    def _cached(self, m, t, i, j, w, h):
        src = self._source(m, t, i, j)
        surf = src.copy() if src.get_size() == (w, h) else pygame.transform.scale(src, (w, h))
        key = (m, t, i, j, w, h)
        self._scaled[key] = surf
        self._bytes += w * h * 4
        while self._bytes > self.budget and len(self._scaled) > 1:
            (_, _, _, _, ow, oh), _ = self._scaled.popitem(last=False)
            self._bytes -= ow * oh * 4
        return surf

    def _transient(self, m, t, i, j, w, h):
        """Scale into a reused scratch surface: no allocation (fresh memory costs page faults,
        4x the scaling itself), for tiles drawn once, e.g. during a zoom animation."""
        src = self._source(m, t, i, j)
        if self._scratch is None or self._scratch.get_bitsize() != src.get_bitsize():
            self._scratch = pygame.Surface((2 * self.tile + 8, 2 * self.tile + 8), 0, src)
        if w > self._scratch.get_width() or h > self._scratch.get_height():
            return pygame.transform.scale(src, (w, h))
        dest = self._scratch.subsurface((0, 0, w, h))
        pygame.transform.scale(src, (w, h), dest)
        return dest

    def draw(self, target: pygame.Surface, rect, cx: float, cy: float, zoom: float, *,
             cache: bool = True, max_new: int | None = None) -> int:
        """Draw the map into ``rect`` of ``target``, centred on cell coordinates ``(cx, cy)``
        (x = column, y = row; cell ``c`` spans ``[c, c + 1)``) at ``zoom`` pixels per cell.

        ``cache=False`` (zoom animations: each zoom is seen for one frame) scales tiles that
        are not cached without keeping them; ``max_new`` caps how many tiles are added to the
        cache in this call, the rest drawn as with ``cache=False``, to spread the cost of a
        new zoom over frames. Both draw identical pixels. Returns the number of tiles drawn.
        """
        rect = pygame.Rect(rect)
        rows, cols = self.shape
        m, t = self.grid(zoom)
        src_h, src_w = self.mips[m].shape[:2]
        span = t << m  # cells per tile
        # Screen x of cell coordinate c is floor(ox + c * zoom); tiles are scaled to exactly
        # the distance between their edges, so neighbours meet without gaps or overlaps.
        ox = rect.x + rect.w / 2 - cx * zoom
        oy = rect.y + rect.h / 2 - cy * zoom
        j0 = max(0, math.floor((rect.left - ox) / zoom / span))
        j1 = min(-(-src_w // t), math.floor((rect.right - ox) / zoom / span) + 1)
        i0 = max(0, math.floor((rect.top - oy) / zoom / span))
        i1 = min(-(-src_h // t), math.floor((rect.bottom - oy) / zoom / span) + 1)
        clip = target.get_clip()
        target.set_clip(rect)
        new = 0 if cache else None
        drawn = 0
        for i in range(i0, i1):
            y0 = math.floor(oy + i * span * zoom)
            h = math.floor(oy + min((i + 1) * span, rows) * zoom) - y0
            if h <= 0:
                continue
            for j in range(j0, j1):
                x0 = math.floor(ox + j * span * zoom)
                w = math.floor(ox + min((j + 1) * span, cols) * zoom) - x0
                if w <= 0:
                    continue
                surf = self._scaled.get((m, t, i, j, w, h))
                if surf is not None:
                    self._scaled.move_to_end((m, t, i, j, w, h))
                    self.hits += 1
                else:
                    self.misses += 1
                    if new is not None and (max_new is None or new < max_new):
                        surf = self._cached(m, t, i, j, w, h)
                        new += 1
                    else:
                        surf = self._transient(m, t, i, j, w, h)
                target.blit(surf, (x0, y0))
                drawn += 1
        target.set_clip(clip)
        return drawn


def screen_to_cell(rect, cx: float, cy: float, zoom: float, pos) -> tuple[float, float]:
    """Continuous ``(x, y)`` cell coordinates under screen ``pos`` (inverse of drawing)."""
    rect = pygame.Rect(rect)
    return ((pos[0] - (rect.x + rect.w / 2)) / zoom + cx,
            (pos[1] - (rect.y + rect.h / 2)) / zoom + cy)


def cell_to_screen(rect, cx: float, cy: float, zoom: float, xy: np.ndarray) -> np.ndarray:
    """Screen positions of continuous ``(..., 2)`` cell coordinates ``(x, y)``."""
    rect = pygame.Rect(rect)
    out = np.empty(np.shape(xy), np.float64)
    out[..., 0] = (xy[..., 0] - cx) * zoom + rect.x + rect.w / 2
    out[..., 1] = (xy[..., 1] - cy) * zoom + rect.y + rect.h / 2
    return out
