"""Sample-quality metrics of the evaluation protocol (numpy, plus a small torch CNN).

All take turning-angle arrays (N, D) in radians, the representation every model emits.
"""

from __future__ import annotations

import numpy as np
from ._torch import torch
from torch import nn

from procgen import paths as _paths

__all__ = ["path_stats", "features", "wasserstein1", "mmd2", "StumpBoost", "cnn_c2st",
           "c2st", "memorisation_ratio", "realised_sinuosity", "STATS"]

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


class StumpBoost:
    """Gradient-boosted decision stumps for binary classification (logistic loss, Newton
    leaf values, features binned at quantiles). A small stand-in for scikit-learn's
    GradientBoostingClassifier."""

    def __init__(self, n_rounds: int = 150, learning_rate: float = 0.2, n_bins: int = 32,
                 l2: float = 1.0):
        self.n_rounds, self.lr, self.n_bins, self.l2 = n_rounds, learning_rate, n_bins, l2

    def _bin(self, x):
        return np.stack([np.searchsorted(e, x[:, j], side="right")
                         for j, e in enumerate(self.edges)], axis=1)

    def fit(self, x, y):
        x = np.asarray(x, np.float64)
        y = np.asarray(y, np.float64)
        q = np.linspace(0, 1, self.n_bins + 1)[1:-1]
        self.edges = [np.unique(np.quantile(x[:, j], q)) for j in range(x.shape[1])]
        b = self._bin(x)                                              # (N, F) in 0..n_bins-1
        p0 = np.clip(y.mean(), 1e-6, 1 - 1e-6)
        self.base = np.log(p0 / (1 - p0))
        f = np.full(len(y), self.base)
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

    def decision_function(self, x):
        b = self._bin(np.asarray(x, np.float64))
        f = np.full(len(b), self.base)
        for j, k, left, right in self.stumps:
            f += self.lr * np.where(b[:, j] <= k, left, right)
        return f

    def predict(self, x):
        return (self.decision_function(x) > 0).astype(np.int64)


def _folds(n, k, rng):
    order = rng.permutation(n)
    return [order[i::k] for i in range(k)]


def c2st(real_features, fake_features, *, folds: int = 5, rng=0, classifier=None) -> float:
    """Classifier two-sample test accuracy (k-fold, balanced classes) with StumpBoost."""
    rng = np.random.default_rng(rng)
    n = min(len(real_features), len(fake_features))
    x = np.concatenate([real_features[:n], fake_features[:n]])
    y = np.concatenate([np.ones(n), np.zeros(n)])
    correct = 0
    for test_idx in _folds(2 * n, folds, rng):
        train = np.setdiff1d(np.arange(2 * n), test_idx)
        clf = (classifier or StumpBoost)().fit(x[train], y[train])
        correct += int((clf.predict(x[test_idx]) == y[test_idx]).sum())
    return correct / (2 * n)


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


def cnn_c2st(real, fake, *, folds: int = 5, epochs: int = 12, rng=0) -> float:
    """Classifier two-sample test accuracy (k-fold) with a small 1-D CNN on the angles."""
    rng = np.random.default_rng(rng)
    n = min(len(real), len(fake))
    x = torch.from_numpy(np.concatenate([real[:n], fake[:n]]).astype(np.float32))
    y = torch.cat([torch.ones(n), torch.zeros(n)])
    correct = 0
    for fold, test_idx in enumerate(_folds(2 * n, folds, rng)):
        train = torch.from_numpy(np.setdiff1d(np.arange(2 * n), test_idx))
        test_idx = torch.from_numpy(test_idx)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(fold)
            net = _CNN()
        opt = torch.optim.Adam(net.parameters(), lr=3e-3)
        gen = torch.Generator().manual_seed(fold)
        for _ in range(epochs):
            perm = train[torch.randperm(len(train), generator=gen)]
            for i in range(0, len(perm), 128):
                idx = perm[i:i + 128]
                loss = nn.functional.binary_cross_entropy_with_logits(net(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            correct += int(((net(x[test_idx]) > 0).float() == y[test_idx]).sum())
    return correct / (2 * n)


def memorisation_ratio(generated, test, train, *, max_n: int = 1000, rng=0) -> float:
    """Median nearest-train-neighbour distance of generated rivers over that of test rivers
    (Euclidean on the angle vectors). Near 1: as far from the training set as unseen real
    rivers are; well below 1: copies of training rivers."""
    rng = np.random.default_rng(rng)
    tr = torch.from_numpy(np.asarray(train, np.float64))

    def nn_dist(a):
        a = np.asarray(a, np.float64)
        a = torch.from_numpy(a[rng.permutation(len(a))[:max_n]])
        return float(torch.cdist(a, tr).min(dim=1).values.median())

    return nn_dist(generated) / nn_dist(test)
