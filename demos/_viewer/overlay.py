"""Heads-up drawing for the viewer: text boxes, progress spinner and bar, help, toasts.

Rendered text and translucent panels are cached, because rasterising glyphs every frame
costs more than drawing the whole map from warm tiles.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import pygame

__all__ = ["Hud", "TEXT", "DIM", "ACCENT", "ERROR", "BACKGROUND"]

TEXT = (236, 236, 236)
DIM = (165, 170, 178)
ACCENT = (255, 208, 90)
ERROR = (255, 130, 120)
BACKGROUND = (24, 26, 32)

Line = "str | tuple[str, tuple[int, int, int]]"


class Hud:
    """Draws the viewer's overlays; one per window."""

    def __init__(self):
        if not pygame.font.get_init():
            pygame.font.init()
        self._fonts: dict[int, pygame.font.Font] = {}
        self._text: OrderedDict = OrderedDict()
        self._panels: dict = {}

    def font(self, size: int) -> pygame.font.Font:
        """pygame's bundled font (the same on every machine) at ``size`` pixels."""
        if size not in self._fonts:
            self._fonts[size] = pygame.font.Font(None, size)
        return self._fonts[size]

    def text(self, s: str, size: int = 18, colour=TEXT) -> pygame.Surface:
        """Rendered, anti-aliased text (cached)."""
        key = (s, size, colour)
        surf = self._text.get(key)
        if surf is None:
            surf = self.font(size).render(s, True, colour)
            self._text[key] = surf
            if len(self._text) > 512:
                self._text.popitem(last=False)
        else:
            self._text.move_to_end(key)
        return surf

    def panel(self, target: pygame.Surface, rect, alpha: int = 175, colour=(12, 14, 18)) -> None:
        """A translucent dark box, so text reads on any part of the map."""
        rect = pygame.Rect(rect)
        key = (rect.size, alpha, colour)
        surf = self._panels.get(key)
        if surf is None:
            surf = pygame.Surface(rect.size, pygame.SRCALPHA)
            surf.fill((*colour, alpha))
            if len(self._panels) > 64:
                self._panels.clear()
            self._panels[key] = surf
        target.blit(surf, rect.topleft)

    def box(self, target: pygame.Surface, lines, pos, *, anchor: str = "topleft",
            size: int = 18, pad: int = 6, alpha: int = 175, draw: bool = True) -> pygame.Rect:
        """Lines of text on a panel; ``lines`` holds strings or ``(string, colour)``.
        ``draw=False`` only measures."""
        surfs = [self.text(*((ln, size) if isinstance(ln, str) else (ln[0], size, ln[1])))
                 for ln in lines]
        if not surfs:
            return pygame.Rect(pos, (0, 0))
        w = max(s.get_width() for s in surfs) + 2 * pad
        step = self.font(size).get_linesize()
        h = step * len(surfs) + 2 * pad - (step - surfs[-1].get_height())
        rect = pygame.Rect(0, 0, w, h)
        setattr(rect, anchor, pos)
        if not draw:
            return rect
        self.panel(target, rect, alpha)
        y = rect.y + pad
        for s in surfs:
            target.blit(s, (rect.x + pad, y))
            y += step
        return rect

    def progress(self, target: pygame.Surface, centre: tuple[int, int], fraction: float,
                 label: str, t: float, *, width: int = 360) -> pygame.Rect:
        """A spinner, a bar filled to ``fraction`` and a stage label, centred on ``centre``."""
        label_s = self.text(label, 18)
        rect = pygame.Rect(0, 0, width, 52)
        rect.center = centre
        self.panel(target, rect, 200)
        # Spinner: eight dots, the bright one going round; it moves whenever frames are drawn,
        # so a frozen window is obvious.
        sx, sy = rect.x + 24, rect.centery
        for k in range(8):
            a = 2 * math.pi * k / 8
            phase = (k - t * 10.0) % 8
            shade = int(90 + 165 * (1 - phase / 8))
            pygame.draw.circle(target, (shade, shade, shade),
                               (round(sx + 10 * math.cos(a)), round(sy + 10 * math.sin(a))), 3)
        x = rect.x + 48
        target.blit(label_s, (x, rect.y + 8))
        bar = pygame.Rect(x, rect.y + 32, rect.right - 12 - x, 10)
        pygame.draw.rect(target, (70, 74, 84), bar, border_radius=4)
        fill = bar.copy()
        fill.w = max(0, min(bar.w, round(bar.w * fraction)))
        if fill.w:
            pygame.draw.rect(target, ACCENT, fill, border_radius=4)
        return rect

    def help(self, target: pygame.Surface, keys, notes=()) -> pygame.Rect:
        """The key list in two columns, centred; the text shrinks to fit small windows."""
        room = target.get_rect().inflate(-16, -16)
        for size in (20, 18, 16, 14, 12, 10):
            rect = self._help(target, keys, notes, size, room, draw=False)
            if rect.w <= room.w and rect.h <= room.h:
                break
        return self._help(target, keys, notes, size, room, draw=True)

    def _help(self, target, keys, notes, size, room, *, draw):
        key_s = [self.text(k, size, ACCENT) for k, _ in keys]
        what_s = [self.text(w, size) for _, w in keys]
        small = max(10, size - 2)
        note_s = [self.text(*((n, small, DIM) if isinstance(n, str) else (n[0], small, n[1])))
                  for n in notes]
        title = self.text("procgen explorer: keys", size + 6)
        step = self.font(size).get_linesize() + 1
        note_step = self.font(small).get_linesize()
        pad = max(8, size)
        kw = max(s.get_width() for s in key_s)
        w = max([kw + pad + max(s.get_width() for s in what_s), title.get_width()]
                + [s.get_width() for s in note_s]) + 2 * pad
        h = (2 * pad + title.get_height() + pad // 2 + step * len(keys) + pad // 2
             + note_step * len(note_s))
        rect = pygame.Rect(0, 0, w, h)
        rect.center = room.center
        if not draw:
            return rect
        self.panel(target, rect, 215)
        y = rect.y + pad
        target.blit(title, (rect.x + pad, y))
        y += title.get_height() + pad // 2
        for ks, ws in zip(key_s, what_s):
            target.blit(ks, (rect.x + pad + kw - ks.get_width(), y))
            target.blit(ws, (rect.x + 2 * pad + kw, y))
            y += step
        y += pad // 2
        for ns in note_s:
            target.blit(ns, (rect.x + pad, y))
            y += note_step
        return rect
