"""How river-like is a path? The energy of the ``ebm`` model, calibrated against real rivers.

:func:`score` takes any polylines (a designer's hand-drawn river, a walker's output, a learned
sample, a river from a saved Level), in cells or in metres, of any number of points, and
gives each a **realism score in [0, 1] calibrated on real rivers**: the 469 rivers of the
test split (unseen places, never trained on) score uniformly on [0, 1], median 0.5. A path
scoring 0.05 is less typical than 95 % of real rivers; 0 than every one of them.

How. Each path is preprocessed exactly as the dataset's rivers were (``learned._wdb``:
Gaussian smoothing at half the final spacing, uniform arc-length resampling to 64 points,
62 turning angles), its condition y is read from it (sinuosity of the resampled shape, length
in km), and the EBM (``learned.models.ebm``) rates it. The raw energy E(x, y) is a poor
realism score on its own: a density rewards any smooth, low-complexity sequence, so a
random walk's resampled zig-zag can have a lower energy than a real meander of the same
sinuosity, and a ruler-straight line the lowest of all (Nalisnick et al. 2019, "Do deep
generative models know what they don't know?", ICLR). The score therefore uses the energy
relative to the tractable noise density the EBM was trained against (its NCE classifier's
log odds, :meth:`~learned.models.ebm.EBMModel.log_odds_real`,
``-E(x, y) - log noise(x | y)``): a likelihood ratio, which discounts that complexity (Ren et
al. 2019, "Likelihood ratios for out-of-distribution detection", NeurIPS). With F the
distribution of the real test rivers' log odds (mid-ranks), higher log odds are more
river-like up to a point: a path more regular than any real river (a ruler-straight line, three
points smoothed into one bend) has log odds above them all, and a typicality test flags both
tails (Nalisnick, Matsukawa, Teh & Lakshminarayanan 2019, "Detecting out-of-distribution
inputs to deep generative models using typicality"). So the score rises with F up to the
real rivers' :data:`PEAK` (0.9) quantile and falls beyond it::

    score = F / PEAK                 if F < PEAK      (0: noisier than every real river)
            (1 - F) / (1 - PEAK)     otherwise        (0: more regular than every one)

Both branches are uniform on [0, 1] for real rivers, so the score is too (median 0.5). The
peak sits high because real rivers that the model finds most river-like are common and
walkers are not: with the peak at the median (a symmetric test) walkers and the real
rivers' own regular tail would tie more often (ROC AUC 0.94 instead of 0.96).

A closed path (it returns to its start) has no chord, so its sinuosity arc length / chord is
infinite; it is taken as 10, the largest the dataset keeps (rivers whose arc length exceeds
10 chords were dropped as nearly closed), and the path is scored like any other.

>>> import numpy as np
>>> from learned.score import score
>>> t = np.linspace(0.0, 1.0, 200)
>>> meander = np.stack([-8e3 * np.sin(12 * np.pi * t), 1e5 * t], axis=1)   # metres
>>> s = score([meander])
>>> s.shape, bool(0.0 <= s[0] <= 1.0)
((1,), True)

The command line: ``procgen score level.npz`` (or ``python -m learned.score level.npz``)
prints a table per river of a saved Level.
"""

from __future__ import annotations

import argparse
import functools
import sys
import types
from pathlib import Path

import numpy as np

from . import _rivers as _data
from ._polylines import MAX_SINUOSITY, path_turns

__all__ = ["score", "score_details", "path_turns", "MAX_SINUOSITY", "PEAK", "main"]

#: The quantile of the real rivers' log odds where the score peaks (see the module docstring).
PEAK = 0.9


# -- the calibration ---------------------------------------------------------------------------
class _Calibration:
    """The sorted log odds of the real test rivers under one model."""

    def __init__(self, model):
        import torch
        self.model = model
        test = _data.load_rivers("test")
        x_te, y_te = torch.from_numpy(np.asarray(test.turns, np.float32)), \
            torch.from_numpy(test.y)
        self.test_log_odds = np.sort(self.log_odds(x_te, y_te))

    def log_odds(self, x, y) -> np.ndarray:
        import torch
        with torch.no_grad():
            return np.concatenate([self.model.log_odds_real(x[i:i + 1024], y[i:i + 1024])
                                   .double().numpy() for i in range(0, len(x), 1024)])

    def energy(self, x, y) -> np.ndarray:
        import torch
        with torch.no_grad():
            return self.model.energy(x, y).double().numpy()

    def percentile(self, v) -> np.ndarray:
        """F(v), the empirical CDF of the test rivers' log odds at v, with mid-ranks (ties
        count half), in [0, 1]."""
        ref = self.test_log_odds
        return (np.searchsorted(ref, v, side="left") + np.searchsorted(ref, v, side="right")) \
            / (2.0 * len(ref))


@functools.lru_cache(maxsize=4)
def _calibration(key) -> _Calibration:
    from . import pretrained
    return _Calibration(pretrained.load("ebm"))


def _calibration_for(model) -> _Calibration:
    if model is None:
        from . import pretrained
        weights = pretrained.ROOT / "ebm.pt"
        key = (str(weights), weights.stat().st_mtime_ns if weights.exists() else 0)
        return _calibration(key)
    cal = getattr(model, "_score_calibration", None)
    if cal is None:
        cal = _Calibration(model)
        model._score_calibration = cal            # one calibration per model object
    return cal


def score_details(paths, y=None, *, cell_size=None, model=None) -> dict:
    """:func:`score` with what it is made of: a dict of (B,) float64 arrays ``score``,
    ``log_odds`` (the statistic the score ranks), ``percentile`` (its F among the real test
    rivers: near 0 noise-like, near 1 more regular than real rivers), ``energy`` (nats, up to
    a constant per y),
    ``sinuosity`` and ``length_km`` (the conditions used). Same parameters as :func:`score`.

    Examples
    --------
    >>> d = score_details([[[0, 0], [3, 40], [0, 80], [2, 120]]], cell_size=1000.0)
    >>> sorted(d)
    ['energy', 'length_km', 'log_odds', 'percentile', 'score', 'sinuosity']
    """
    import torch
    turns, sin, length = path_turns(paths, cell_size=cell_size)
    cal = _calibration_for(model)
    if y is None:
        cond = torch.from_numpy(_data.encode_y({"sinuosity": sin, "length_km": length}))
    else:
        cond = cal.model.condition(len(turns), y)
        phys = _data.decode_y(cond)
        sin, length = phys["sinuosity"].numpy(), phys["length_km"].numpy()
    x = torch.from_numpy(turns)
    odds = cal.log_odds(x, cond)
    pct = cal.percentile(odds)
    calibrated = np.where(pct < PEAK, pct / PEAK, (1.0 - pct) / (1.0 - PEAK))
    return {"score": calibrated, "percentile": pct, "log_odds": odds,
            "energy": cal.energy(x, cond),
            "sinuosity": np.asarray(sin, np.float64),
            "length_km": np.asarray(length, np.float64)}


def score(paths, y=None, *, cell_size=None, model=None) -> np.ndarray:
    """Realism score of each path in [0, 1]: real test rivers score uniformly (median 0.5).

    Parameters
    ----------
    paths : sequence of array_like (N_i, 2), or one (N, 2) array
        Polylines ``(row, col)`` (or any consistent (x, y) order: the score does not depend
        on the path's orientation or handedness convention), from source to mouth, at least
        3 points each, finite, of positive length; any number of points (each is smoothed
        and resampled to 64 as the dataset's rivers were).
    y : dict or array_like, optional
        The conditions to score against: ``{"sinuosity": ..., "length_km": ...}`` (one value
        or one per path) or encoded (B, 2). Default None: each path's own (sinuosity of its
        resampled shape, capped at 10; length from its arc length).
    cell_size : float, optional
        Metres per cell when ``paths`` are in cells (a Level's ``cell_size``). Default None:
        ``paths`` are in metres.
    model : EBMModel, optional
        The energy model; default the shipped ``ebm`` (``learned.pretrained.load('ebm')``).

    Returns
    -------
    numpy.ndarray, (B,) float64
        Uniform on [0, 1] (median 0.5) for real rivers: from F, the percentile of the path's
        log odds of being a real river among the real test rivers', rising to 1 at F = 0.9
        and falling beyond (see the module docstring); 0 = beyond every real river (more
        noise-like, or more regular).

    Raises
    ------
    ValueError
        A path with fewer than 3 points, a non-finite point, zero length, or a bad
        ``cell_size``; the message names ``paths[i]`` (or ``cell_size``) and the value.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.walkers import coin_flip
    >>> walkers = coin_flip(3, 200, turn=np.pi / 10, rng=0)     # (3, 201, 2) cells
    >>> s = score(walkers, cell_size=500.0)
    >>> s.shape, bool((s < 0.05).all())
    ((3,), True)
    >>> score([[[0, 0], [1, 1]]])
    Traceback (most recent call last):
        ...
    ValueError: paths[0] must have at least 3 points, got 2
    """
    return score_details(paths, y, cell_size=cell_size, model=model)["score"]


# -- the command -------------------------------------------------------------------------------
def _looks(pct: float) -> str:
    """Which way a path is atypical: within the real rivers' outer 5 % on either side of
    the peak (score < 0.05), noise-like or too regular."""
    if pct < 0.05 * PEAK:
        return "noisy"
    return "regular" if pct > 1.0 - 0.05 * (1.0 - PEAK) else "river"


def _table(level, details) -> str:
    head = f"{'river':>5s}  {'generator':16s}  {'points':>6s}  {'length km':>9s}  " \
           f"{'sinuosity':>9s}  {'score':>5s}  {'looks':8s}"
    lines = [head, "-" * len(head)]
    for i, r in enumerate(level.rivers):
        lines.append(f"{i:5d}  {str(r.generator)[:16]:16s}  {len(r.path):6d}  "
                     f"{details['length_km'][i]:9.1f}  {details['sinuosity'][i]:9.3f}  "
                     f"{details['score'][i]:5.3f}  {_looks(details['percentile'][i])}")
    s = details["score"]
    lines.append(f"{len(s)} rivers: median score {np.median(s):.3f} (real rivers score "
                 "uniformly on [0, 1], median 0.5; near 0: unlike any real river)")
    return "\n".join(lines)


def main(argv=None, *, prog: str = "procgen score") -> int:
    """``procgen score LEVEL.npz``: the realism score of every river of a saved Level, as a
    table (exit 0), or one line ``procgen score: error: ...`` (exit 2)."""
    p = argparse.ArgumentParser(prog=prog, description=(
        "Score how river-like each river of a saved Level is: the energy-based model's "
        "realism score, calibrated so that real rivers score uniformly in [0, 1] (median "
        "0.5)."))
    p.add_argument("level", help="a Level file written by Level.save or procgen map --level")
    a = p.parse_args(argv)
    try:
        import procgen
        path = Path(a.level)
        if not path.is_file():
            raise ValueError(f"level: no such file {str(path)!r}")
        level = procgen.Level.load(path)
        if not level.rivers:
            raise ValueError(f"level: {str(path)!r} has no rivers to score")
        details = score_details([r.path for r in level.rivers], cell_size=level.cell_size)
    except (ValueError, OSError, ImportError) as exc:
        print(f"{prog}: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    print(_table(level, details))
    return 0


class _CallableModule(types.ModuleType):
    """``learned.score(paths)`` calls :func:`score`: the package's name ``score`` is this
    module, and it means the same whether the module or the function was reached first."""

    def __call__(self, paths, y=None, *, cell_size=None, model=None):
        return score(paths, y, cell_size=cell_size, model=model)


sys.modules[__name__].__class__ = _CallableModule


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(prog="python -m learned.score"))
