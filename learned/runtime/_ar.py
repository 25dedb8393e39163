"""The autoregressive family (``learned.models.ar.ARModel``) in numpy: a GRU over turning
angles with a mixture-of-logistics head. Also the VAE's decoder (``_vae``).

Sampling draws, per angle, a uniform ``mix`` that picks the component (inverse CDF of its
softmax weights; torch draws the same choice with ``multinomial``) and a uniform ``logistic``
turned into the logistic draw ``m + s log(p / (1 - p))``.
"""

from __future__ import annotations

import math

import numpy as np

from ._nn import gru_step, linear, log_softmax, logsumexp, softmax, softplus
from ._model import RuntimeModel, _noise

F32 = np.float32


def ar_shapes(prefix, *, n_turns, y_dim, hidden, n_layers, n_mix):
    """Arrays of a GRU mixture model ``prefix`` (an ``ARModel`` state_dict)."""
    out = {f"{prefix}h0.weight": (n_layers * hidden, y_dim),
           f"{prefix}h0.bias": (n_layers * hidden,),
           f"{prefix}head.weight": (3 * n_mix, hidden), f"{prefix}head.bias": (3 * n_mix,)}
    for layer in range(n_layers):
        n_in = 1 + y_dim + 1 if layer == 0 else hidden
        out.update({f"{prefix}gru.weight_ih_l{layer}": (3 * hidden, n_in),
                    f"{prefix}gru.weight_hh_l{layer}": (3 * hidden, hidden),
                    f"{prefix}gru.bias_ih_l{layer}": (3 * hidden,),
                    f"{prefix}gru.bias_hh_l{layer}": (3 * hidden,)})
    return out


class GRUMixture:
    """The network of ``ARModel``: initial state from y, GRU layers, mixture head."""

    def __init__(self, arrays, prefix, *, n_turns, n_layers, hidden, n_mix, x_scale):
        a = lambda k: np.asarray(arrays[prefix + k], dtype=F32)          # noqa: E731
        self.n_turns, self.n_layers, self.hidden, self.n_mix = n_turns, n_layers, hidden, n_mix
        self.x_scale = F32(x_scale)
        self.h0_w, self.h0_b = np.ascontiguousarray(a("h0.weight").T), a("h0.bias")
        w_ih0 = a("gru.weight_ih_l0")                                   # (3H, 1 + Y + 1)
        # layer 0's input is (previous angle, y, position): the y part is the same at every
        # step, so it is projected once per sample (with the bias) instead of every step
        self.w_prev = np.ascontiguousarray(w_ih0[:, 0])
        self.w_y = np.ascontiguousarray(w_ih0[:, 1:-1].T)
        self.w_pos = np.ascontiguousarray(w_ih0[:, -1])
        self.b_ih = [a(f"gru.bias_ih_l{k}") for k in range(n_layers)]
        self.w_ih = [None] + [np.ascontiguousarray(a(f"gru.weight_ih_l{k}").T)
                              for k in range(1, n_layers)]
        self.w_hh = [np.ascontiguousarray(a(f"gru.weight_hh_l{k}").T) for k in range(n_layers)]
        self.b_hh = [a(f"gru.bias_hh_l{k}") for k in range(n_layers)]
        self.head_w, self.head_b = np.ascontiguousarray(a("head.weight").T), a("head.bias")

    def _start(self, y):
        h = np.tanh(linear(y, self.h0_w, self.h0_b))                  # (B, L*H)
        hs = [np.ascontiguousarray(h[:, k * self.hidden:(k + 1) * self.hidden])
              for k in range(self.n_layers)]
        return hs, y @ self.w_y + self.b_ih[0]                            # (B, 3H)

    def _step(self, hs, y_gates, prev, t):
        pos = F32(t) / F32(self.n_turns)
        gates = np.multiply.outer(prev, self.w_prev)
        gates += y_gates
        gates += pos * self.w_pos
        for k in range(self.n_layers):
            if k:
                gates = hs[k - 1] @ self.w_ih[k]
                gates += self.b_ih[k]
            hs[k] = gru_step(gates, hs[k], self.w_hh[k], self.b_hh[k])
        out = linear(hs[-1], self.head_w, self.head_b)                # (B, 3K)
        k = self.n_mix
        return out[:, :k], out[:, k:2 * k], np.clip(out[:, 2 * k:], -7.0, 5.0)

    def sample(self, y, u_mix, u_logistic, temperature):
        """(B, D) angles in radians (not yet wrapped)."""
        n = y.shape[0]
        hs, y_gates = self._start(y)
        prev = np.zeros(n, dtype=F32)
        out = np.empty((n, self.n_turns), dtype=F32)
        lim = F32(math.pi) / self.x_scale
        rows = np.arange(n)
        temperature = F32(temperature)
        for t in range(self.n_turns):
            logits, mu, log_s = self._step(hs, y_gates, prev, t)
            cdf = np.cumsum(softmax(logits / temperature), axis=1)
            k = np.minimum((cdf <= u_mix[:, t:t + 1] * cdf[:, -1:]).sum(axis=1),
                           self.n_mix - 1)
            m = mu[rows, k]
            s = np.exp(log_s[rows, k]) * temperature
            p = np.clip(u_logistic[:, t], F32(1e-6), F32(1 - 1e-6))
            u = m + s * (np.log(p) - np.log1p(-p))
            prev = np.clip(u, -lim, lim)
            out[:, t] = prev
        return out * self.x_scale

    def log_prob(self, x, y):
        """log p(x | y) (B,) nats for angles x (B, D) and encoded y (B, Y)."""
        u = x / self.x_scale
        prev = np.zeros_like(u)
        prev[:, 1:] = u[:, :-1]
        hs, y_gates = self._start(y)
        total = np.zeros(x.shape[0], dtype=F32)
        for t in range(self.n_turns):
            logits, mu, log_s = self._step(hs, y_gates, prev[:, t], t)
            z = (u[:, t:t + 1] - mu) * np.exp(-log_s)
            comp = -z - log_s - 2 * softplus(-z)      # log density of a logistic
            total += logsumexp(log_softmax(logits) + comp)
        return total - self.n_turns * np.log(self.x_scale)


class ARRuntime(RuntimeModel):
    """Runtime of ``learned.models.ar.ARModel``; exact ``log_prob``.

    Examples
    --------
    >>> from learned import runtime
    >>> m = runtime.load("ar")
    >>> x = m.sample(2, {"sinuosity": 1.3, "length_km": 100.0}, seed=1)
    >>> m.log_prob(x, {"sinuosity": 1.3, "length_km": 100.0}).shape
    (2,)
    """

    family = "ar"
    likelihood = "exact"
    #: larger blocks than the base's: this family's cost is per call, not per river
    BLOCK = 512

    @staticmethod
    def shapes(config):
        c = config
        return ar_shapes("", n_turns=c["n_turns"], y_dim=c["y_dim"], hidden=c["hidden"],
                         n_layers=c["n_layers"], n_mix=c["n_mix"])

    def _build(self, arrays):
        c = self.config
        self.net = GRUMixture(arrays, "", n_turns=self.n_turns, n_layers=c["n_layers"],
                              hidden=c["hidden"], n_mix=c["n_mix"], x_scale=self.x_scale)

    def noise_shapes(self, n):
        """``{"mix": ("uniform", (n, D)), "logistic": ("uniform", (n, D))}``."""
        return {"mix": ("uniform", (n, self.n_turns)),
                "logistic": ("uniform", (n, self.n_turns))}

    def sample_from_noise(self, y, noise, *, temperature=1.0):
        """Angles (n, D) from explicit noise (see :meth:`noise_shapes`) and a full y
        (encoded (n, 2), or a dict with both keys)."""
        n = len(next(iter(noise.values()))) if noise else 0
        y = self.condition(n, y)
        shape = (n, self.n_turns)
        x = self.net.sample(y, _noise(noise, "mix", shape), _noise(noise, "logistic", shape),
                            float(temperature))
        return self._finish(x)

    def log_prob(self, turns, y):
        x = self._check_turns(turns)
        return self.net.log_prob(x, self._scored_condition(x, y))
