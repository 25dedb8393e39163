"""Path statistics of rivers as turning angles (numpy only: the torch-free runtime computes
them too), and the evaluation of boosted trees stored as arrays.

:func:`river_features` is what the C2ST's boosted-tree and k-NN views
(``learned._metrics``) see; the GAN's importance resampling also scores candidates on it
(:mod:`learned.models._resample`), by trees that :func:`tree_logit` evaluates.
"""

from __future__ import annotations

import numpy as np

from procgen import paths as _paths

from ._rivers import turns_to_canonical

__all__ = ["STATS", "realised_sinuosity", "path_stats", "features", "river_features",
           "ratio_rows", "tree_logit", "ALWAYS_LEFT"]

#: The threshold of a node that sends every row left (every feature is finite: nan and
#: inf are -1), finite so that weights files hold only finite values.
ALWAYS_LEFT = float(np.finfo(np.float64).max)

#: The per-river statistics compared by Wasserstein distance.
STATS = ("sinuosity", "spread", "wavelength", "autocorrelation", "self_intersection")


def realised_sinuosity(turns) -> np.ndarray:
    """Sinuosity of the equal-step path with these turning angles, (N,)."""
    return np.asarray(_paths.sinuosity(_paths.angles_to_path(np.asarray(turns, np.float64))))


def path_stats(turns) -> dict:
    """Per-river statistics, each (N,): sinuosity, turning-angle spread (std), meander
    wavelength (in steps, nan for straight), lag-1 heading autocorrelation, self-intersection
    (0/1)."""
    t = np.asarray(turns, np.float64)
    p = _paths.angles_to_path(t)
    return {
        "sinuosity": np.asarray(_paths.sinuosity(p)),
        "spread": t.std(axis=1),
        "wavelength": np.asarray(_paths.meander_wavelength(p)),
        "autocorrelation": _paths.heading_autocorrelation(p, 1)[:, 0],
        "self_intersection": np.asarray(_paths.self_intersects(p), np.float64),
    }


def features(turns) -> np.ndarray:
    """Path statistics for the boosted classifier, (N, F), nan replaced by -1."""
    t = np.asarray(turns, np.float64)
    s = path_stats(t)
    p = _paths.angles_to_path(t)
    ac = _paths.heading_autocorrelation(p, 5)
    cols = [s["sinuosity"], s["spread"], s["wavelength"], s["self_intersection"],
            np.abs(t).mean(1), np.abs(t).max(1), t.mean(1),
            ((t - t.mean(1, keepdims=True)) ** 4).mean(1) / np.maximum(t.var(1), 1e-12) ** 2,
            np.abs(np.diff(t, axis=1)).mean(1), (np.abs(t) < 1e-3).mean(1),
            np.abs(np.cumsum(t, axis=1)).max(1), *ac.T]
    f = np.stack(cols, axis=1)
    return np.where(np.isfinite(f), f, -1.0)


def river_features(turns) -> np.ndarray:
    """A richer set of path statistics than :func:`features`, for the boosted-tree and k-NN
    views of the C2ST, (N, F), nan replaced by -1.

    Besides :func:`features`: the autocorrelation of the turning angles themselves (lags 1,
    2, 3, 5, 8), quantiles of |angle|, the spread of each third of the river and of its
    first and last five angles (ends are where smoothing and resampling leave their marks),
    how often the angles and the heading change sign (wiggles and meanders), the share of
    the angles' power in four frequency bands, and the drawn shape in the canonical frame
    (lateral amplitude, mean offset, how far it runs back beyond its source or mouth).

    Examples
    --------
    >>> import numpy as np
    >>> t = 0.2 * np.random.default_rng(0).standard_normal((5, 30))
    >>> river_features(t).shape
    (5, 44)
    """
    t = np.asarray(turns, np.float64)
    n, d = t.shape
    base = features(t)
    c = t - t.mean(1, keepdims=True)
    var = np.maximum((c * c).mean(1), 1e-12)
    acf = [(c[:, k:] * c[:, :-k]).mean(1) / var for k in (1, 2, 3, 5, 8) if k < d]
    a = np.abs(t)
    thirds = np.array_split(np.arange(d), 3)
    heading = np.cumsum(t, axis=1)
    power = np.abs(np.fft.rfft(c, axis=1)) ** 2
    bands = np.array_split(np.arange(1, power.shape[1]), 4)
    total = np.maximum(power[:, 1:].sum(1), 1e-12)
    xy = turns_to_canonical(t)
    cols = [*acf, *np.quantile(a, [0.1, 0.25, 0.5, 0.75, 0.9], axis=1),
            *[t[:, i].std(1) for i in thirds], a[:, :5].mean(1), a[:, -5:].mean(1),
            (np.diff(np.sign(t), axis=1) != 0).mean(1),
            (np.diff(np.sign(heading), axis=1) != 0).mean(1),
            heading.max(1) - heading.min(1), np.abs(np.diff(t, 2, axis=1)).mean(1),
            *[power[:, b].sum(1) / total for b in bands if len(b)],
            np.abs(xy[..., 1]).max(1), xy[..., 1].mean(1), np.abs(xy[..., 1]).mean(1),
            -np.minimum(xy[..., 0].min(1), 0.0), np.maximum(xy[..., 0].max(1) - 1.0, 0.0)]
    f = np.concatenate([base, np.stack(cols, axis=1)], axis=1)
    return np.where(np.isfinite(f), f, -1.0)


def ratio_rows(turns, y) -> np.ndarray:
    """What the density-ratio trees of importance resampling score
    (``learned.models._resample.TreeRatio``): :func:`river_features` of ``turns`` (B, D)
    radians, then the encoded conditions ``y`` (B, 2); float64 (B, 46).

    >>> import numpy as np
    >>> ratio_rows(np.zeros((3, 10)), np.ones((3, 2))).shape
    (3, 46)
    """
    return np.concatenate([river_features(turns), np.asarray(y, np.float64)], axis=1)


def tree_logit(x, feature, threshold, leaf) -> np.ndarray:
    """The summed leaf values of complete binary trees of depth d on rows ``x`` (N, F).

    Tree t's internal nodes, in breadth-first order (node i's children are 2i + 1 and
    2i + 2), are ``feature[t]`` and ``threshold[t]`` (2**d - 1 each): a row goes left where
    ``x[feature] < threshold``. Its leaves, left to right, are ``leaf[t]`` (2**d). Trees
    that stop early are stored complete, with thresholds of :data:`ALWAYS_LEFT` and the
    leaf's value repeated.

    Examples
    --------
    >>> import numpy as np
    >>> from learned._features import tree_logit
    >>> x = np.array([[0.0, 5.0], [2.0, 5.0]])
    >>> tree_logit(x, np.array([[0.0]]), np.array([[1.0]]), np.array([[-0.5, 0.5]])).tolist()
    [-0.5, 0.5]
    """
    x = np.asarray(x, np.float64)
    feature = np.asarray(feature).astype(np.int64)
    threshold = np.asarray(threshold, np.float64)
    leaf = np.asarray(leaf, np.float64)
    inner = feature.shape[1]
    trees = np.arange(len(leaf))[:, None]
    rows = np.arange(len(x))[None, :]
    node = np.zeros((len(leaf), len(x)), np.int64)            # every tree's node, every row
    for _ in range((inner + 1).bit_length() - 1):             # one level of all trees a pass
        right = x[rows, feature[trees, node]] >= threshold[trees, node]
        node = 2 * node + 1 + right
    return leaf[trees, node - inner].sum(axis=0)
