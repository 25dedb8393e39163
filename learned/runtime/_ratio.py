"""Importance resampling in numpy (``learned.models._resample``): the density-ratio
classifier, channels last, and the pick of one of K candidates per river. A family whose
config sets ``resample`` mixes in :class:`RuntimeResampling`."""

from __future__ import annotations

import numpy as np

from .._features import ratio_rows, tree_logit
from ._model import RuntimeFileError, _noise
from ._nn import conv, conv_weight, linear

F32 = np.float32


def path_channels(x):
    """``learned.models._resample.path_channels`` channels last: cos h, sin h and the
    canonical x, y of the D+1 segment ends of turning angles ``x`` (B, D), float32
    (B, D+1, 4); and each chord's length, clamped below at 1e-3 as there (B,)."""
    h = np.concatenate([np.zeros((len(x), 1)), np.cumsum(x, axis=1)], axis=1)
    step = np.stack([np.cos(h), np.sin(h)], axis=2)                      # (B, D+1, 2)
    pos = np.cumsum(step, axis=1)
    length = np.maximum(np.hypot(pos[:, -1, 0], pos[:, -1, 1]), 1e-3)
    c, s = (pos[:, -1, 0] / length)[:, None], (pos[:, -1, 1] / length)[:, None]
    px = (c * pos[:, :, 0] + s * pos[:, :, 1]) / length[:, None]          # rotate by -a
    py = (-s * pos[:, :, 0] + c * pos[:, :, 1]) / length[:, None]
    return np.concatenate([step, px[:, :, None], py[:, :, None]], axis=2).astype(F32), length


def ratio_shapes(config: dict, *, channels: int, hidden: int, y_dim: int) -> dict:
    """The arrays of the classifier (``ratio.*``), its trees (``ratio_trees.*``, where the
    card's ``config`` has ``ratio_trees``) and its ``ratio_fitted`` flag."""
    cc, n_feat = channels, 4 * channels + 3
    out = {}
    for i, (o, n_in) in enumerate([(cc, 5), (cc, cc), (2 * cc, cc), (2 * cc, 2 * cc),
                                   (2 * cc, 2 * cc)]):
        out.update({f"ratio.convs.{i}.weight": (o, n_in, 5), f"ratio.convs.{i}.bias": (o,)})
    out.update({"ratio.head.0.weight": (hidden, n_feat), "ratio.head.0.bias": (hidden,),
                "ratio.head.2.weight": (1, hidden), "ratio.head.2.bias": (1,),
                "ratio.embed.weight": (n_feat, y_dim), "ratio.embed.bias": (n_feat,),
                "ratio_fitted": ()})
    rounds = int(config.get("ratio_trees", 0))
    if rounds:
        inner = 2 ** int(config.get("ratio_tree_depth", 2)) - 1
        out.update({"ratio_trees.feature": (rounds, inner),
                    "ratio_trees.threshold": (rounds, inner),
                    "ratio_trees.leaf": (rounds, inner + 1)})
    return out


class RuntimeResampling:
    """Importance resampling for a :class:`~learned.runtime._model.RuntimeModel`: its
    ``_build`` calls :meth:`_build_ratio`, its ``noise_shapes`` adds K to the candidates'
    arrays and ``"pick"`` (:meth:`_with_candidates`), and its ``sample_from_noise`` draws
    all candidates and keeps one per river (:meth:`_resampled`)."""

    resample = 0

    def _build_ratio(self, arrays) -> None:
        self.resample = int(self.config.get("resample", 0))
        if self.resample and not float(arrays["ratio_fitted"]):
            self.resample = 0                         # as torch: no fitted ratio, plain draws
        if not self.resample:
            return
        # a block's candidates, not its rivers, are what must stay in cache
        self.BLOCK = max(1, type(self).BLOCK // self.resample)
        r = lambda k: np.asarray(arrays["ratio." + k], dtype=F32)          # noqa: E731
        self.ratio_convs = [(conv_weight(r(f"convs.{i}.weight")), r(f"convs.{i}.bias"))
                            for i in range(5)]
        self.ratio_head = [(np.ascontiguousarray(r(f"head.{i}.weight").T), r(f"head.{i}.bias"))
                           for i in (0, 2)]
        self.ratio_embed = (np.ascontiguousarray(r("embed.weight").T), r("embed.bias"))
        self.ratio_trees = None
        if int(self.config.get("ratio_trees", 0)):
            feature, threshold, leaf = (np.asarray(arrays["ratio_trees." + k])
                                        for k in ("feature", "threshold", "leaf"))
            # the arrays index the rows the trees score: a bad index would read another
            # statistic (or wrap round) without a word
            y_dim = self.ratio_embed[0].shape[0]
            n = ratio_rows(np.zeros((1, self.n_turns)), np.zeros((1, y_dim))).shape[1]
            if not np.all((feature >= 0) & (feature < n) & (feature == np.round(feature))):
                raise RuntimeFileError(f"array 'ratio_trees.feature' must hold whole numbers in "
                                       f"0..{n - 1} (statistics a tree splits on), got values "
                                       f"from {feature.min():g} to {feature.max():g}")
            self.ratio_trees = (feature.astype(np.int64), threshold, leaf)

    def _with_candidates(self, shapes: dict) -> dict:
        """``noise_shapes`` of plain draws -> those of K candidates per river: each array
        (n, ...) becomes (n, K, ...), and ``"pick": ("uniform", (n,))`` chooses."""
        if not self.resample:
            return shapes
        out = {key: (kind, (shape[0], self.resample, *shape[1:]))
               for key, (kind, shape) in shapes.items()}
        n = next(iter(shapes.values()))[1][0]
        out["pick"] = ("uniform", (n,))
        return out

    def ratio_logit(self, x, y):
        """The density-ratio classifier's logit (``Resampling.ratio_logit``) of rivers ``x``
        (B, D) radians for encoded conditions ``y`` (B, 2)."""
        x = np.asarray(x, dtype=np.float64)
        u = (x / self.x_scale).astype(F32)
        path, chord = path_channels(x)
        h = np.concatenate([np.pad(u, ((0, 0), (0, 1)))[:, :, None], path], axis=2)
        for i, (w, b) in enumerate(self.ratio_convs):
            h = conv(h, w, b, kernel=5, stride=2 if i in (2, 4) else 1)
            h = np.where(h > 0, h, F32(0.2) * h)
        log_sin = np.log(path.shape[1] / chord).astype(F32)       # sinuosity_of, clamped alike
        feat = np.concatenate([h.mean(1), h.max(1), log_sin[:, None],
                               u.std(1, ddof=1)[:, None],
                               (u[:, 1:] * u[:, :-1]).mean(1)[:, None]], axis=1)
        t = linear(feat, *self.ratio_head[0])
        t = linear(np.where(t > 0, t, F32(0.2) * t), *self.ratio_head[1])
        logit = t[:, 0] + (linear(y.astype(F32), *self.ratio_embed) * feat).sum(1)
        if self.ratio_trees is None:
            return logit
        return logit + tree_logit(ratio_rows(x, y), *self.ratio_trees)

    def _resampled(self, x, yk, noise):
        """One of the K candidates ``x`` (n K, D) radians (river i's are rows i K .. i K +
        K - 1, drawn for conditions ``yk``) per river, kept with probability softmax(logit)
        by the inverse CDF of ``noise["pick"]``, as torch picks."""
        k = self.resample
        n = len(x) // k
        if not n:
            return x
        logit = self.ratio_logit(self.match_sinuosity(x, yk), yk).reshape(n, k)
        w = np.exp(logit.astype(np.float64) - logit.max(1, keepdims=True))
        cdf = np.cumsum(w / w.sum(1, keepdims=True), axis=1)
        u = _noise(noise, "pick", (n,)).astype(np.float64)
        pick = np.minimum((cdf < u[:, None]).sum(1), k - 1)
        return x.reshape(n, k, x.shape[1])[np.arange(n), pick]
