"""The one progress bar of ``learned`` (no tqdm): dataset build, baselines, training and
evaluation all draw it on stderr."""

from __future__ import annotations

import math
import sys
import time

__all__ = ["Progress"]


class Progress:
    """A small text progress bar on stderr (no tqdm).

    Parameters
    ----------
    total : int
        Number of steps.
    label : str
        Shown before the bar.
    enabled : bool, optional
        False makes every call a no-op. Default True.
    stream : file, optional
        Default ``sys.stderr``.
    every : float, optional
        Seconds between redraws (the last step, a forced update and :meth:`close` always
        draw). Default 0.1.

    Examples
    --------
    >>> import io
    >>> buf = io.StringIO()
    >>> bar = Progress(4, "demo", stream=buf, every=0.0)
    >>> for _ in range(4):
    ...     bar.update()
    >>> bar.close()
    >>> buf.getvalue().splitlines()[-1].startswith("demo [##############################] 4/4")
    True
    """

    def __init__(self, total: int, label: str, *, enabled: bool = True, stream=None,
                 width: int = 30, every: float = 0.1):
        self.total, self.label, self.enabled = max(int(total), 1), label, enabled
        self.stream = sys.stderr if stream is None else stream
        self.width, self.every = width, every
        self.done, self.t0, self.last = 0, time.monotonic(), -math.inf
        self.drawn = -1
        self.text, self.shown = "", 0

    def update(self, k: int = 1, *, text: str | None = None, force: bool = False):
        """``k`` more steps done; ``text``, if given, replaces what follows the bar."""
        self.done += k
        if text is not None:
            self.text = text
        now = time.monotonic()
        if self.enabled and (force or now - self.last >= self.every
                             or self.done >= self.total):
            self.last = now
            self._draw(now)

    def _draw(self, now):
        self.drawn = self.done
        frac = min(self.done / self.total, 1.0)
        fill = int(round(frac * self.width))
        line = (f"{self.label} [{'#' * fill}{'.' * (self.width - fill)}] "
                f"{self.done}/{self.total} {now - self.t0:5.1f}s")
        if self.text:
            line = f"{line} {self.text}"[:200]
        # pad with spaces over what a longer previous line left
        self.stream.write("\r" + line.ljust(self.shown))
        self.shown = len(line)
        self.stream.flush()

    def close(self):
        if self.enabled:
            if self.drawn != self.done:
                self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
