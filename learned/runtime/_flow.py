"""The flow family (``learned.models.flow.FlowModel``) in numpy: a neural spline flow whose
coupling conditioners are 1-D convolutions over the river, channels last as in torch.

Sampling maps z = temperature * N(0, I) through the inverse and, where the config resamples,
keeps one of K such candidates per river by the density-ratio classifier (``_ratio``);
``log_prob`` runs the forward map and adds the log-determinants (exact, the flow's own density
before resampling)."""

from __future__ import annotations

import numpy as np

from ._nn import conv, gelu, linear, rq_apply, spline_knots
from ._model import LOG_2PI, RuntimeModel, _noise
from ._ratio import RuntimeResampling, ratio_shapes

F32 = np.float32
_DILATIONS = (1, 2, 4)


class _Coupling:
    def __init__(self, arrays, prefix, *, mask, y_dim, kernel, bins, bound, pooled):
        a = lambda k: np.asarray(arrays[prefix + k], dtype=F32)          # noqa: E731
        d = len(mask)
        self.keep = mask.astype(F32)
        self.move = np.nonzero(~mask)[0]
        self.pos = np.linspace(-1.0, 1.0, d).astype(F32)
        self.kernel, self.bins, self.bound, self.pooled = kernel, bins, bound, pooled
        self.inp = (np.ascontiguousarray(a("inp.weight").T), a("inp.bias"))
        self.blocks = []
        for i, dil in enumerate(_DILATIONS):
            p = f"blocks.{i}."
            self.blocks.append((dil, np.ascontiguousarray(a(p + "bias.weight").T),
                                a(p + "bias.bias"),
                                np.ascontiguousarray(a(p + "conv1.weight").T),
                                a(p + "conv1.bias"),
                                np.ascontiguousarray(a(p + "conv2.weight").T),
                                a(p + "conv2.bias")))
        self.out = (np.ascontiguousarray(a("out.weight").T), a("out.bias"))

    def __call__(self, x, y, inverse):                                      # x: (B, D)
        b, d = x.shape
        chans = np.empty((b, d, 3 + y.shape[1]), dtype=F32)
        chans[..., 0] = x * self.keep
        chans[..., 1] = self.keep
        chans[..., 2] = self.pos
        chans[..., 3:] = y[:, None, :]
        h = conv(chans, *self.inp, kernel=self.kernel)
        for dil, wb, bb, w1, b1, w2, b2 in self.blocks:
            ctx = np.concatenate([y, h.mean(axis=1)], axis=1) if self.pooled else y
            g = gelu(h + linear(ctx, wb, bb)[:, None, :])
            h = h + linear(gelu(conv(g, w1, b1, kernel=self.kernel, dilation=dil)),
                               w2, b2)
        params = linear(h[:, self.move], *self.out)                     # (B, Dm, 3K-1)
        k = self.bins
        knots = spline_knots(params[..., :k], params[..., k:2 * k], params[..., 2 * k:],
                                 bound=self.bound)
        moved, ld = rq_apply(x[:, self.move], knots, inverse=inverse, bound=self.bound)
        out = x.copy()
        out[:, self.move] = moved
        return out, ld.sum(axis=-1)


class FlowRuntime(RuntimeResampling, RuntimeModel):
    """Runtime of ``learned.models.flow.FlowModel``; exact ``log_prob``.

    Examples
    --------
    >>> from learned import runtime
    >>> m = runtime.load("flow")
    >>> noise = {k: np.zeros(s, np.float32) for k, (_, s) in m.noise_shapes(1).items()}
    >>> sorted((k, s) for k, (_, s) in m.noise_shapes(1).items())    # 16 candidates
    [('pick', (1,)), ('z', (1, 16, 62))]
    >>> m.sample_from_noise({"sinuosity": 1.2, "length_km": 80.0}, noise).shape
    (1, 62)
    """

    family = "flow"
    likelihood = "exact"
    #: Rivers per inverse pass, as ``FlowModel.SAMPLE_CHUNK`` (activations stay in cache).
    SAMPLE_CHUNK = 512

    @staticmethod
    def shapes(config):
        c = config
        d, hid, y_dim, ker = c["n_turns"], c["hidden"], c["y_dim"], c["kernel"]
        out = {"v_scale": (), "marginal.w": (d, c["marginal_bins"]),
               "marginal.h": (d, c["marginal_bins"]), "marginal.d": (d, c["marginal_bins"] - 1)}
        ctx = y_dim + (hid if c["pooled"] else 0)
        for i in range(c["n_layers"]):
            p = f"layers.{i}."
            out.update({p + "inp.weight": (hid, ker * (3 + y_dim)), p + "inp.bias": (hid,),
                        p + "out.weight": (3 * c["bins"] - 1, hid),
                        p + "out.bias": (3 * c["bins"] - 1,)})
            for j in range(len(_DILATIONS)):
                q = f"{p}blocks.{j}."
                out.update({q + "bias.weight": (hid, ctx), q + "bias.bias": (hid,),
                            q + "conv1.weight": (hid, ker * hid), q + "conv1.bias": (hid,),
                            q + "conv2.weight": (hid, hid), q + "conv2.bias": (hid,)})
        if c.get("resample", 0):
            out.update(ratio_shapes(c, channels=c["ratio_channels"], hidden=c["ratio_hidden"],
                                    y_dim=y_dim))
        return out

    def _build(self, arrays):
        c = self.config
        d, self.bound = self.n_turns, float(c["tail_bound"])
        self.v_scale = np.asarray(arrays["v_scale"], dtype=F32)[()]
        self.marginal = spline_knots(*(np.asarray(arrays[f"marginal.{k}"], dtype=F32)
                                           for k in "whd"), bound=self.bound)
        pos = np.arange(d)
        # the masks of FlowModel: alternate angles, then alternate pairs
        masks = [pos % 2 == 0, pos % 2 == 1, (pos // 2) % 2 == 0, (pos // 2) % 2 == 1]
        self.layers = [_Coupling(arrays, f"layers.{i}.", mask=masks[i % 4], y_dim=c["y_dim"],
                                 kernel=c["kernel"], bins=c["bins"], bound=self.bound,
                                 pooled=c["pooled"]) for i in range(c["n_layers"])]
        self._build_ratio(arrays)

    def noise_shapes(self, n):
        """``{"z": ("normal", (n, D))}``; where the config resamples K candidates, ``z`` is
        (n, K, D) and ``"pick": ("uniform", (n,))`` chooses."""
        return self._with_candidates({"z": ("normal", (n, self.n_turns))})

    def inverse(self, z, y):
        """z (B, D) -> angles x (B, D), y encoded (B, 2) (``FlowModel.inverse``)."""
        u = np.asarray(z, dtype=F32)
        for layer in reversed(self.layers):
            u, _ = layer(u, y, True)
        u, _ = rq_apply(u, self.marginal, inverse=True, bound=self.bound)
        return np.sinh(u * self.v_scale) * self.x_scale

    def forward(self, x, y):
        """x (B, D) -> (z (B, D), log |det dz/dx| (B,)) (``FlowModel.forward``)."""
        u = x / self.x_scale
        logdet = (-0.5 * np.log1p(u * u).sum(axis=-1)
                  - self.n_turns * (np.log(self.x_scale) + np.log(self.v_scale)))
        u, ld = rq_apply(np.arcsinh(u) / self.v_scale, self.marginal, inverse=False,
                             bound=self.bound)
        logdet = logdet + ld.sum(axis=-1)
        for layer in self.layers:
            u, ld = layer(u, y, False)
            logdet = logdet + ld
        return u, logdet

    def sample_from_noise(self, y, noise, *, temperature=1.0):
        """Angles from explicit standard normal ``noise["z"]`` (n, D), scaled by the
        temperature as the torch model does, and a full y; where the config resamples, one
        of the K candidates ``noise["z"]`` (n, K, D) per river, chosen by ``noise["pick"]``."""
        n = len(noise["z"]) if "z" in noise else 0
        k = max(1, self.resample)
        z = _noise(noise, "z", self.noise_shapes(n)["z"][1]).reshape(n * k, self.n_turns)
        z = z * F32(temperature)
        y = np.repeat(self.condition(n, y), k, axis=0)
        c = self.SAMPLE_CHUNK
        parts = [self.inverse(z[i:i + c], y[i:i + c]) for i in range(0, n * k, c)]
        x = np.concatenate(parts) if parts else np.zeros((0, self.n_turns), F32)
        return self._finish(self._resampled(x, y, noise) if self.resample else x)

    def log_prob(self, turns, y):
        x = self._check_turns(turns)
        z, logdet = self.forward(x, self._scored_condition(x, y))
        return -0.5 * (z ** 2).sum(axis=-1) - 0.5 * self.n_turns * LOG_2PI + logdet
