"""Sample-quality metrics of the evaluation protocol (numpy, plus small torch classifiers).

All take turning-angle arrays (N, D) in radians, the representation every model emits.

Classifier two-sample tests (C2ST) run through one out-of-fold loop (:func:`c2st_test`) with
any of the classifier :data:`VIEWS`: folds stratified by class (and optionally by a stratum
such as a length bin), repeated with fresh folds, and a bootstrap interval over rivers.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> a, b = 0.2 * rng.standard_normal((200, 30)), 0.2 * rng.standard_normal((200, 30))
>>> r = c2st_test(a, b, view="knn", repeats=2, n_boot=200, rng=0)
>>> 0.4 < r.accuracy < 0.6, r.low <= r.accuracy <= r.high, len(r.runs)
(True, True, 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ._torch import torch
from torch import nn

from ._features import (ALWAYS_LEFT, STATS, features, path_stats, realised_sinuosity,
                        river_features)
from ._rivers import turns_to_canonical

__all__ = ["path_stats", "features", "river_features", "wasserstein1", "mmd2", "StumpBoost",
           "BoostedTrees", "cnn_c2st", "c2st", "c2st_test", "C2STResult", "VIEWS",
           "stratified_folds", "bootstrap_interval", "nearest_distances", "memorisation_ratio",
           "realised_sinuosity", "STATS"]


def wasserstein1(a, b, *, n_quantiles: int = 1000) -> float:
    """1-Wasserstein distance between two 1-D samples (nan entries dropped)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return float("nan")
    q = (np.arange(n_quantiles) + 0.5) / n_quantiles
    return float(np.mean(np.abs(np.quantile(a, q) - np.quantile(b, q))))


def mmd2(x, y, *, max_n: int = 2000, rng=0) -> float:
    """Unbiased squared MMD with a Gaussian kernel, bandwidth by the median heuristic
    (the median pairwise distance of the pooled sample)."""
    rng = np.random.default_rng(rng)
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    x = x[rng.permutation(len(x))[:max_n]]
    y = y[rng.permutation(len(y))[:max_n]]
    z = torch.from_numpy(np.concatenate([x, y]))
    d2 = torch.cdist(z, z).pow(2)
    sigma2 = float(torch.median(d2[torch.triu_indices(len(z), len(z), 1).unbind()]))
    k = torch.exp(-d2 / max(sigma2, 1e-12)).numpy()
    n, m = len(x), len(y)
    kxx, kyy, kxy = k[:n, :n], k[n:, n:], k[:n, n:]
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1))
                 + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean())


class _BinnedBoost:
    """What both boosted classifiers share: features binned at quantiles of the training
    rows, a start at the log odds of the labels, a sum of shrunk learners (``_learners``,
    each applied by ``_score``) as the decision function."""

    def _bin(self, x):
        return np.stack([np.searchsorted(e, x[:, j], side="right")
                         for j, e in enumerate(self.edges)], axis=1)

    def _start(self, x, y):
        """``(x, y, bins, f)`` for a fit: float64 arrays, each row's bins (N, F) in
        0..n_bins-1, and the starting decision values (the labels' log odds)."""
        x = np.asarray(x, np.float64)
        y = np.asarray(y, np.float64)
        q = np.linspace(0, 1, self.n_bins + 1)[1:-1]
        self.edges = [np.unique(np.quantile(x[:, j], q)) for j in range(x.shape[1])]
        p0 = np.clip(y.mean(), 1e-6, 1 - 1e-6)
        self.base = np.log(p0 / (1 - p0))
        return x, y, self._bin(x), np.full(len(y), self.base)

    def decision_function(self, x):
        b = self._bin(np.asarray(x, np.float64))
        f = np.full(len(b), self.base)
        for learner in self._learners():
            f += self.lr * self._score(learner, b)
        return f

    def predict(self, x):
        return (self.decision_function(x) > 0).astype(np.int64)


class StumpBoost(_BinnedBoost):
    """Gradient-boosted decision stumps for binary classification (logistic loss, Newton
    leaf values, features binned at quantiles). A small stand-in for scikit-learn's
    GradientBoostingClassifier."""

    def __init__(self, n_rounds: int = 150, learning_rate: float = 0.2, n_bins: int = 32,
                 l2: float = 1.0):
        self.n_rounds, self.lr, self.n_bins, self.l2 = n_rounds, learning_rate, n_bins, l2

    def _learners(self):
        return self.stumps

    @staticmethod
    def _score(stump, b):
        j, k, left, right = stump
        return np.where(b[:, j] <= k, left, right)

    def fit(self, x, y):
        x, y, b, f = self._start(x, y)
        self.stumps = []
        nb = self.n_bins
        for _ in range(self.n_rounds):
            p = 1 / (1 + np.exp(-f))
            g, h = p - y, p * (1 - p)
            best = (0.0, None)
            for j in range(x.shape[1]):
                gs = np.cumsum(np.bincount(b[:, j], g, nb))
                hs = np.cumsum(np.bincount(b[:, j], h, nb))
                gl, hl = gs[:-1], hs[:-1]
                gr, hr = gs[-1] - gl, hs[-1] - hl
                gain = gl ** 2 / (hl + self.l2) + gr ** 2 / (hr + self.l2)
                k = int(np.argmax(gain))
                if gain[k] > best[0]:
                    best = (gain[k], (j, k, -gl[k] / (hl[k] + self.l2),
                                      -gr[k] / (hr[k] + self.l2)))
            if best[1] is None:
                break
            j, k, left, right = best[1]
            self.stumps.append(best[1])
            f += self.lr * np.where(b[:, j] <= k, left, right)
        return self


class BoostedTrees(_BinnedBoost):
    """Gradient-boosted trees of depth ``max_depth`` for binary classification: logistic
    loss, Newton leaf values, features binned at quantiles, splits grown greedily from
    histograms (as LightGBM does). Depth 1 gives stumps, which add up one feature at a time;
    depth 2 and more also see interactions (e.g. the spread of the angles *given* the
    sinuosity).

    Parameters
    ----------
    n_rounds : int, optional
        Trees. Default 200.
    learning_rate : float, optional
        Shrinkage of each tree. Default 0.1.
    max_depth : int, optional
        Depth of each tree. Default 2.
    n_bins : int, optional
        Quantile bins per feature. Default 32.
    l2 : float, optional
        L2 penalty on leaf values. Default 1.0.
    min_leaf : int, optional
        Fewest rows a leaf may hold. Default 10.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((400, 2))
    >>> y = (x[:, 0] * x[:, 1] > 0).astype(float)          # XOR: stumps cannot, trees can
    >>> clf = BoostedTrees(max_depth=2).fit(x, y)
    >>> float((clf.predict(x) == y).mean()) > 0.9
    True
    """

    def __init__(self, n_rounds: int = 200, learning_rate: float = 0.1, *, max_depth: int = 2,
                 n_bins: int = 32, l2: float = 1.0, min_leaf: int = 10):
        if max_depth < 1:
            raise ValueError(f"max_depth must be >= 1, got {max_depth}")
        self.n_rounds, self.lr, self.max_depth = n_rounds, learning_rate, max_depth
        self.n_bins, self.l2, self.min_leaf = n_bins, l2, min_leaf

    def _learners(self):
        return self.trees

    def _score(self, tree, b):
        return self._apply(tree, b)

    def _split(self, flat, rows, g, h):
        """Best (feature, bin) split of ``rows`` and its gain, or None."""
        nb, nf = self.n_bins, flat.shape[1]
        idx = flat[rows].ravel()                           # one bincount for every feature
        gs = np.bincount(idx, np.repeat(g[rows], nf), nb * nf).reshape(nf, nb).cumsum(1)
        hs = np.bincount(idx, np.repeat(h[rows], nf), nb * nf).reshape(nf, nb).cumsum(1)
        cs = np.bincount(idx, minlength=nb * nf).reshape(nf, nb).cumsum(1)
        gl, hl, cl = gs[:, :-1], hs[:, :-1], cs[:, :-1]
        gr, hr, cr = gs[:, -1:] - gl, hs[:, -1:] - hl, cs[:, -1:] - cl
        gain = gl ** 2 / (hl + self.l2) + gr ** 2 / (hr + self.l2) \
            - gs[:, -1:] ** 2 / (hs[:, -1:] + self.l2)
        gain = np.where((cl >= self.min_leaf) & (cr >= self.min_leaf), gain, -np.inf)
        j, k = np.unravel_index(int(np.argmax(gain)), gain.shape)
        return (int(j), int(k)) if gain[j, k] > 1e-12 else None

    def _grow(self, b, flat, rows, g, h, depth):
        split = self._split(flat, rows, g, h) if depth < self.max_depth else None
        if split is None:
            return (None, float(-g[rows].sum() / (h[rows].sum() + self.l2)))
        j, k = split
        go = b[rows, j] <= k
        return (j, k, self._grow(b, flat, rows[go], g, h, depth + 1),
                self._grow(b, flat, rows[~go], g, h, depth + 1))

    @staticmethod
    def _apply(node, b):
        if node[0] is None:
            return np.full(len(b), node[1])
        j, k, left, right = node
        go = b[:, j] <= k
        out = np.empty(len(b))
        out[go] = BoostedTrees._apply(left, b[go])
        out[~go] = BoostedTrees._apply(right, b[~go])
        return out

    def fit(self, x, y, *, offset=None):
        """Fit to rows ``x`` (N, F) and labels ``y`` (N,) in {0, 1}. ``offset`` (N,), if
        given, is added to every row's decision value throughout, so the trees learn a
        correction to another model's logit (which :meth:`decision_function` leaves out)."""
        x, y, b, f = self._start(x, y)
        if offset is not None:
            f = f + np.asarray(offset, np.float64)
        flat = b + self.n_bins * np.arange(x.shape[1])                # (N, F) distinct per F
        self.trees = []
        rows = np.arange(len(y))
        for _ in range(self.n_rounds):
            p = 1 / (1 + np.exp(-f))
            tree = self._grow(b, flat, rows, p - y, p * (1 - p), 0)
            if tree[0] is None:
                break
            self.trees.append(tree)
            f += self.lr * self._apply(tree, b)
        return self

    def to_arrays(self, rounds: int | None = None) -> tuple:
        """The fitted trees as arrays for :func:`learned._features.tree_logit`:
        ``(feature, threshold, leaf)``, (rounds, 2**d - 1), (rounds, 2**d - 1) and
        (rounds, 2**d) for d = ``max_depth``, float32 but for the thresholds (float64: the
        bins' edges exactly, so the arrays decide as the trees do). The shrinkage is in the
        leaves and the start (the labels' log odds) in the first tree's. A split on bin k
        becomes ``x < edge k``. Trees that stopped early are completed (thresholds at
        :data:`~learned._features.ALWAYS_LEFT`, the leaf repeated), and missing rounds
        (boosting that ended early) are trees of zeros. ``rounds`` defaults to
        ``n_rounds``.

        >>> import numpy as np
        >>> from learned._features import tree_logit
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal((300, 3))
        >>> clf = BoostedTrees(20).fit(x, (x[:, 0] > 0.3).astype(float))
        >>> bool(np.allclose(tree_logit(x, *clf.to_arrays()), clf.decision_function(x),
        ...                  atol=1e-5))
        True
        """
        d, rounds = self.max_depth, self.n_rounds if rounds is None else rounds
        if len(self.trees) > rounds:
            raise ValueError(f"rounds must be >= the {len(self.trees)} trees fitted, "
                             f"got {rounds}")
        feature = np.zeros((rounds, 2 ** d - 1), np.float32)
        threshold = np.full((rounds, 2 ** d - 1), ALWAYS_LEFT)
        leaf = np.zeros((rounds, 2 ** d), np.float32)

        def fill(t, node, i, level):
            if level == d:
                leaf[t, i - (2 ** d - 1)] = self.lr * node[1]
                return
            if node[0] is None:                  # a leaf above the last level: always left
                fill(t, node, 2 * i + 1, level + 1)
                fill(t, node, 2 * i + 2, level + 1)
                return
            j, k, left, right = node
            edges = self.edges[j]
            feature[t, i] = j
            threshold[t, i] = edges[k] if k < len(edges) else ALWAYS_LEFT
            fill(t, left, 2 * i + 1, level + 1)
            fill(t, right, 2 * i + 2, level + 1)

        for t, tree in enumerate(self.trees):
            fill(t, tree, 0, 0)
        if rounds:
            leaf[0] += np.float32(self.base)
        return feature, threshold, leaf


def stratified_folds(labels, k: int, *, rng=0) -> list:
    """``k`` disjoint index arrays covering ``range(len(labels))``, each holding every label
    in the proportion of the whole (to within one row).

    Why stratify: with plain random folds, a test fold that happens to hold more of one
    class leaves a training set with more of the other, and a classifier that has learnt
    nothing but the majority is then wrong more often than chance: on two samples of one
    distribution, accuracy sits below 0.5 (0.49 instead of 0.50 in a 5-fold test).

    Examples
    --------
    >>> folds = stratified_folds([1] * 6 + [0] * 4, 2, rng=0)
    >>> [int((f < 6).sum()) for f in folds], [int((f >= 6).sum()) for f in folds]
    ([3, 3], [2, 2])
    """
    rng = np.random.default_rng(rng)
    labels = np.asarray(labels)
    fold_of = np.empty(len(labels), np.int64)
    start = 0
    for value in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == value))
        # dealt round-robin, each class starting where the last stopped: sizes within one
        fold_of[idx] = (start + np.arange(len(idx))) % k
        start += len(idx)
    return [np.flatnonzero(fold_of == i) for i in range(k)]


def bootstrap_interval(correct, labels, *, n_boot: int = 1000, level: float = 0.95,
                       rng=0) -> tuple:
    """Percentile bootstrap interval of a classifier's accuracy, resampling rivers within
    each class (both classes keep their sizes, so chance stays at the same level).

    ``correct`` is (N,) per-river accuracy (0/1, or a mean over repeats).

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = bootstrap_interval(np.r_[np.ones(60), np.zeros(40)], np.r_[np.ones(50),
    ...                             np.zeros(50)], n_boot=500)
    >>> bool(lo < 0.6 < hi), bool(hi - lo < 0.25)
    (True, True)
    """
    rng = np.random.default_rng(rng)
    correct = np.asarray(correct, np.float64)
    labels = np.asarray(labels)
    total = np.zeros(n_boot)
    for value in np.unique(labels):
        c = correct[labels == value]
        for i in range(0, n_boot, 100):          # a block of draws at a time: bounded memory
            m = min(100, n_boot - i)
            total[i:i + m] += c[rng.integers(0, len(c), (m, len(c)))].sum(1)
    acc = total / len(correct)
    a = (1 - level) / 2
    lo, hi = np.quantile(acc, [a, 1 - a])
    return float(lo), float(hi)


@dataclass(frozen=True)
class C2STResult:
    """A classifier two-sample test: the accuracy (mean over ``runs``, one per repetition
    with fresh folds), its bootstrap interval ``[low, high]`` and each run's accuracy."""

    accuracy: float
    low: float
    high: float
    runs: tuple

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "low": self.low, "high": self.high,
                "runs": list(self.runs)}

    @classmethod
    def from_dict(cls, d: dict) -> "C2STResult":
        return cls(d["accuracy"], d["low"], d["high"], tuple(d["runs"]))


def _seeded_init(make, seed: int):
    """A torch module built with its initial weights drawn from ``seed`` (the global RNG is
    forked and restored: callers' random state is untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make()


def _train_classifier(net, x, y, *, epochs: int, batch: int, lr: float, seed: int):
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            loss = nn.functional.binary_cross_entropy_with_logits(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net


class _View:
    """One classifier view of a river: ``prepare`` maps turning angles to the classifier's
    input (per river, without labels), ``fit_predict`` trains on one set and predicts
    0/1 labels for another."""

    def prepare(self, turns):
        return np.asarray(turns, np.float64)

    def fit_predict(self, x_train, y_train, x_test, seed: int):
        raise NotImplementedError


class BoostView(_View):
    """Boosted trees (:class:`BoostedTrees`, depth 2) on :func:`river_features`."""

    def __init__(self, *, n_rounds: int = 200, max_depth: int = 2):
        self.n_rounds, self.max_depth = n_rounds, max_depth

    def prepare(self, turns):
        return river_features(turns)

    def fit_predict(self, x_train, y_train, x_test, seed):
        clf = BoostedTrees(self.n_rounds, max_depth=self.max_depth).fit(x_train, y_train)
        return clf.predict(x_test)


class StumpView(BoostView):
    """The earlier view: boosted stumps (:class:`StumpBoost`) on :func:`features`."""

    def prepare(self, turns):
        return features(turns)

    def fit_predict(self, x_train, y_train, x_test, seed):
        return StumpBoost().fit(x_train, y_train).predict(x_test)


class KNNView(_View):
    """k nearest neighbours (majority vote, ``k`` odd) on :func:`river_features`,
    standardised with the training rows' mean and spread."""

    def __init__(self, *, k: int = 25):
        self.k = k

    def prepare(self, turns):
        return river_features(turns)

    def fit_predict(self, x_train, y_train, x_test, seed):
        mu, sd = x_train.mean(0), np.maximum(x_train.std(0), 1e-9)
        a = torch.from_numpy((x_train - mu) / sd)
        b = torch.from_numpy((x_test - mu) / sd)
        yt = torch.from_numpy(np.asarray(y_train, np.float64))
        k = min(self.k, len(a))
        out = []
        for i in range(0, len(b), 2048):
            near = torch.cdist(b[i:i + 2048], a).topk(k, largest=False).indices
            out.append((yt[near].mean(1) > 0.5).numpy())
        return np.concatenate(out).astype(np.int64)


class _MLP(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, hidden),
                                 nn.GELU(), nn.Linear(hidden, 1))

    def forward(self, x):                                                   # (B, d) -> (B,)
        return self.net(x)[:, 0]


class CoordinatesView(_View):
    """A small MLP on the raw coordinates of the drawn river: the T points of its canonical
    shape (source at (0, 0), mouth at (1, 0)), standardised per coordinate."""

    def __init__(self, *, epochs: int = 12, hidden: int = 128):
        self.epochs, self.hidden = epochs, hidden

    def prepare(self, turns):
        xy = turns_to_canonical(np.asarray(turns, np.float64))
        return xy.reshape(len(xy), -1)

    def fit_predict(self, x_train, y_train, x_test, seed):
        mu, sd = x_train.mean(0), np.maximum(x_train.std(0), 1e-6)
        a = torch.from_numpy(((x_train - mu) / sd).astype(np.float32))
        b = torch.from_numpy(((x_test - mu) / sd).astype(np.float32))
        net = _seeded_init(lambda: _MLP(a.shape[1], self.hidden), seed)
        _train_classifier(net, a, torch.from_numpy(np.asarray(y_train, np.float32)),
                          epochs=self.epochs, batch=256, lr=3e-3, seed=seed)
        with torch.no_grad():
            return (net(b) > 0).numpy().astype(np.int64)


class _CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(2, 32, 5, padding=2), nn.ReLU(),
            nn.Conv1d(32, 32, 5, padding=2, stride=2), nn.ReLU(),
            nn.Conv1d(32, 32, 5, padding=2, stride=2), nn.ReLU())
        self.out = nn.Linear(64, 1)

    def forward(self, t):                                                    # t: (B, D)
        heading = torch.cumsum(t, dim=1)
        h = self.net(torch.stack([t * 5, torch.sin(heading)], dim=1))        # (B, 32, D/4)
        return self.out(torch.cat([h.mean(-1), h.amax(-1)], dim=1))[:, 0]    # (B,)


class CNNView(_View):
    """A small 1-D CNN on the turning angles and the sine of the heading."""

    def __init__(self, *, epochs: int = 12, batch: int = 128):
        self.epochs, self.batch = epochs, batch

    def prepare(self, turns):
        return np.asarray(turns, np.float32)

    def fit_predict(self, x_train, y_train, x_test, seed):
        net = _seeded_init(_CNN, seed)
        _train_classifier(net, torch.from_numpy(x_train),
                          torch.from_numpy(np.asarray(y_train, np.float32)),
                          epochs=self.epochs, batch=self.batch, lr=3e-3, seed=seed)
        with torch.no_grad():
            return (net(torch.from_numpy(x_test)) > 0).numpy().astype(np.int64)


#: The classifier views of :func:`c2st_test`, by name.
VIEWS = {"boost": BoostView, "cnn": CNNView, "coordinates": CoordinatesView, "knn": KNNView,
         "stumps": StumpView}


def _out_of_fold(x, labels, view, *, folds, repeats, rng) -> np.ndarray:
    """(repeats, N) bool: whether each row was classified correctly by the classifier trained
    on the other folds, with fresh stratified folds per repetition."""
    correct = np.zeros((repeats, len(labels)), bool)
    for r in range(repeats):
        for i, test in enumerate(stratified_folds(labels, folds, rng=[rng, r])):
            train = np.setdiff1d(np.arange(len(labels)), test)
            pred = view.fit_predict(x[train], labels[train], x[test],
                                    seed=(rng * 1000 + r) * folds + i)
            correct[r, test] = pred == labels[test]
    return correct


def c2st_test(real, fake, *, view: str = "boost", folds: int = 5, repeats: int = 3,
              n_boot: int = 1000, rng: int = 0, **view_options) -> C2STResult:
    """Classifier two-sample test of two sets of rivers with one classifier view.

    The first ``n = min(len(real), len(fake))`` rivers of each set are pooled, labelled, and
    classified out of fold (``folds`` stratified folds), ``repeats`` times with fresh folds
    and fresh classifier seeds. 0.5 means the classifier cannot tell the sets apart.

    Parameters
    ----------
    real, fake : array_like, (N, D)
        Turning angles, radians.
    view : {'boost', 'cnn', 'coordinates', 'knn', 'stumps'}, optional
        The classifier and what it sees (:data:`VIEWS`). Default ``'boost'``.
    folds : int, optional
        Folds per repetition. Default 5.
    repeats : int, optional
        Repetitions with fresh folds; the accuracy is their mean. Default 3.
    n_boot : int, optional
        Bootstrap resamples of the rivers for the 95 % interval. Default 1000.
    rng : int, optional
        Seed of the folds, the classifiers and the bootstrap.
    **view_options
        Passed to the view (e.g. ``epochs`` for ``'cnn'``, ``k`` for ``'knn'``).

    Returns
    -------
    C2STResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> a, b = 0.1 * rng.standard_normal((150, 20)), 0.3 * rng.standard_normal((150, 20))
    >>> c2st_test(a, b, view="boost", repeats=1, n_boot=100).accuracy > 0.9
    True
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {sorted(VIEWS)}, got {view!r}")
    v = VIEWS[view](**view_options)
    n = min(len(real), len(fake))
    if n < folds:
        raise ValueError(f"need at least {folds} rivers in each set for {folds} folds, got "
                         f"{len(real)} and {len(fake)}")
    x = np.concatenate([v.prepare(np.asarray(real)[:n]), v.prepare(np.asarray(fake)[:n])])
    labels = np.concatenate([np.ones(n, np.int64), np.zeros(n, np.int64)])
    correct = _out_of_fold(x, labels, v, folds=folds, repeats=repeats, rng=rng)
    runs = tuple(float(c) for c in correct.mean(1))
    lo, hi = bootstrap_interval(correct.mean(0), labels, n_boot=n_boot, rng=rng)
    return C2STResult(float(np.mean(runs)), lo, hi, runs)


class _FeatureView(_View):
    """Given features and a classifier class (the old :func:`c2st` signature)."""

    def __init__(self, classifier):
        self.classifier = classifier

    def fit_predict(self, x_train, y_train, x_test, seed):
        return self.classifier().fit(x_train, y_train).predict(x_test)


def c2st(real_features, fake_features, *, folds: int = 5, rng=0, classifier=None) -> float:
    """Classifier two-sample test accuracy (k-fold, stratified, balanced classes) with
    StumpBoost (or ``classifier``) on given features; one run, no interval (see
    :func:`c2st_test`)."""
    n = min(len(real_features), len(fake_features))
    x = np.concatenate([np.asarray(real_features, np.float64)[:n],
                        np.asarray(fake_features, np.float64)[:n]])
    labels = np.concatenate([np.ones(n, np.int64), np.zeros(n, np.int64)])
    view = _FeatureView(classifier or StumpBoost)
    return float(_out_of_fold(x, labels, view, folds=folds, repeats=1, rng=rng).mean())


def cnn_c2st(real, fake, *, folds: int = 5, epochs: int = 12, rng=0) -> float:
    """Classifier two-sample test accuracy (k-fold, stratified) with a small 1-D CNN on the
    angles; one run, no interval (see :func:`c2st_test`)."""
    return c2st_test(real, fake, view="cnn", folds=folds, repeats=1, n_boot=1, rng=rng,
                     epochs=epochs).accuracy


def nearest_distances(rivers, reference, *, max_shift: int = 3,
                      symmetries: bool = True) -> np.ndarray:
    """Distance of each river to its nearest river of ``reference``, (N,).

    Euclidean on the angle vectors, minimised over the reference rivers shifted by up to
    ``max_shift`` angles either way (compared where they overlap, scaled to the full
    length) and, with ``symmetries``, over their mirror images (every angle negated), the
    same rivers walked backwards, and both. A copy of a training river moved along by one
    angle or drawn mirrored is then as near as the river itself.

    Examples
    --------
    >>> import numpy as np
    >>> ref = 0.2 * np.random.default_rng(0).standard_normal((50, 30))
    >>> shifted = np.concatenate([ref[:5, 1:], ref[:5, -1:]], axis=1)
    >>> bool(nearest_distances(shifted, ref).max() < 0.3 < nearest_distances(shifted, ref,
    ...      max_shift=0, symmetries=False).min())
    True
    >>> float(nearest_distances(-ref[:3], ref).max())
    0.0
    """
    a = torch.from_numpy(np.asarray(rivers, np.float64))
    ref = np.asarray(reference, np.float64)
    d = a.shape[1]
    variants = [ref, -ref, -ref[:, ::-1], ref[:, ::-1]] if symmetries else [ref]
    best = torch.full((len(a),), float("inf"), dtype=torch.float64)
    for r in variants:
        r = torch.from_numpy(np.ascontiguousarray(r))
        for s in range(-max_shift, max_shift + 1):
            if abs(s) >= d:
                continue
            # river[j] against reference[j - s]: the reference moved along by s angles
            da, dr = (a[:, s:], r[:, :d - s]) if s >= 0 else (a[:, :d + s], r[:, -s:])
            dist = torch.cdist(da.contiguous(), dr.contiguous(),
                               compute_mode="donot_use_mm_for_euclid_dist").min(1).values
            best = torch.minimum(best, dist * np.sqrt(d / (d - abs(s))))
    return best.numpy()


def memorisation_ratio(generated, test, train, *, max_n: int = 1000, rng=0,
                       max_shift: int = 3, symmetries: bool = True) -> float:
    """Median nearest-train-neighbour distance of generated rivers over that of test rivers
    (:func:`nearest_distances`: under shifts and mirror images). Near 1: as far from the
    training set as unseen real rivers are; well below 1: copies of training rivers, also
    copies moved along by an angle or drawn mirrored.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> train, test = 0.2 * rng.standard_normal((2, 300, 20))
    >>> memorisation_ratio(-train[:100], test, train) < 0.1          # mirrored copies
    True
    """
    rng = np.random.default_rng(rng)

    def median_nn(a):
        a = np.asarray(a, np.float64)
        a = a[rng.permutation(len(a))[:max_n]]
        return float(np.median(nearest_distances(a, train, max_shift=max_shift,
                                                 symmetries=symmetries)))

    den = median_nn(test)
    if den == 0:        # test rivers in the training set: no scale to measure copying by
        return float("nan")
    return median_nn(generated) / den
