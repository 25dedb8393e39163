"""The GAN family (``learned.models.gan.GANModel``) in numpy: the generator (an MLP lifts
(z, y) to a short sequence, convolutions upsample it twice), channels last, and, where the
config resamples, the density-ratio classifier that picks one of K candidates per river. The
critic is training-time only and does not ship."""

from __future__ import annotations

import math

import numpy as np

from ._jit import kernels
from ._model import RuntimeModel, _noise
from ._nn import Workspace, conv_weight, gelu, linear, upsample2
from ._ratio import RuntimeResampling, ratio_shapes

F32 = np.float32


class GANRuntime(RuntimeResampling, RuntimeModel):
    """Runtime of ``learned.models.gan.GANModel``'s generator (no likelihood).

    Examples
    --------
    >>> from learned import runtime
    >>> runtime.load("gan").sample(2, seed=0).shape
    (2, 62)
    """

    family = "gan"
    likelihood = None
    #: its convolutions make even a dozen rivers worth two cores, in blocks small enough
    #: to stay in cache (measured on 2 cores: 12 rivers 1.1-1.2x, 2,000 1.2-1.6x torch's speed)
    SPLIT_FROM, BLOCK = 2, 64

    @staticmethod
    def shapes(config):
        c = config
        l0 = math.ceil(c["n_turns"] / 4)
        ch, hid = c["channels"], c["hidden"]
        out = {"generator.lift.0.weight": (hid, c["latent"] + c["y_dim"]),
               "generator.lift.0.bias": (hid,), "generator.lift.2.weight": (hid, hid),
               "generator.lift.2.bias": (hid,), "generator.lift.4.weight": (ch * l0, hid),
               "generator.lift.4.bias": (ch * l0,), "generator.out.weight": (1, ch, 5),
               "generator.out.bias": (1,)}
        for i in range(3):
            p = f"generator.blocks.{i}."
            out.update({p + "0.weight": (ch, ch + c["y_dim"], 5), p + "0.bias": (ch,),
                        p + "2.weight": (ch, ch, 5), p + "2.bias": (ch,)})
        if c.get("resample", 0):
            out.update(ratio_shapes(c, channels=c["critic_channels"], hidden=hid,
                                    y_dim=c["y_dim"]))
        return out

    def _build(self, arrays):
        a = lambda k: np.asarray(arrays["generator." + k], dtype=F32)      # noqa: E731
        c = self.config
        self.latent, self.channels = int(c["latent"]), int(c["channels"])
        self.mirror = bool(c.get("mirror", True))
        self.l0 = math.ceil(self.n_turns / 4)
        self.lift = [(np.ascontiguousarray(a(f"lift.{i}.weight").T), a(f"lift.{i}.bias"))
                     for i in (0, 2, 4)]
        self.blocks = [(conv_weight(a(f"blocks.{i}.0.weight")), a(f"blocks.{i}.0.bias"),
                        conv_weight(a(f"blocks.{i}.2.weight")), a(f"blocks.{i}.2.bias"))
                       for i in range(3)]
        self.out = (conv_weight(a("out.weight")), a("out.bias"))
        self._work = Workspace()
        self._build_ratio(arrays)

    def noise_shapes(self, n):
        """``{"z": ("normal", (n, latent))}``, and ``"mirror": ("uniform", (n,))`` where the
        config mirrors (``GANModel.Config.mirror``); where it resamples K candidates, ``z``
        is (n, K, latent), ``mirror`` (n, K) and ``"pick": ("uniform", (n,))`` chooses."""
        out = {"z": ("normal", (n, self.latent))}
        if self.mirror:
            out["mirror"] = ("uniform", (n,))
        return self._with_candidates(out)

    def generate(self, z, y):
        """Standardised angles (B, D) of the generator g(z, y) (``_Generator.forward``)."""
        b = z.shape[0]
        h = np.concatenate([z, y], axis=1)
        h = gelu(linear(h, *self.lift[0]))
        h = gelu(linear(h, *self.lift[1]))
        h = linear(h, *self.lift[2])
        h = np.ascontiguousarray(h.reshape(b, self.channels, self.l0).transpose(0, 2, 1))
        # each convolution's input written straight into im2col form by one fused kernel,
        # in scratch arrays this thread reuses (see ``Workspace``)
        k, ch, work = kernels(), self.channels, self._work
        none, zeros = np.empty((b, 0), dtype=F32), np.zeros(ch, dtype=F32)
        y32 = np.ascontiguousarray(y, dtype=F32)
        for i, (w1, b1, w2, b2) in enumerate(self.blocks):
            if i:
                h = upsample2(h)
            length = h.shape[1]
            cols = work.take("cols_y", (b, length, 5 * (ch + y.shape[1])))
            k.act_im2col(h, zeros, y32, cols, 5, 1, False)                 # [h, y]
            t = work.take("t", (b * length, ch))
            np.matmul(cols.reshape(b * length, cols.shape[2]), w1, out=t)
            cols = work.take("cols", (b, length, 5 * ch))
            k.act_im2col(t.reshape(b, length, ch), b1, none, cols, 5, 1, True)
            np.matmul(cols.reshape(b * length, cols.shape[2]), w2, out=t)
            k.add_act(h, t.reshape(b, length, ch), b2, True)             # h + gelu(.)
        k.act_im2col(h, zeros, none, cols, 5, 1, False)
        u = (cols.reshape(b * h.shape[1], cols.shape[2]) @ self.out[0] + self.out[1])
        u = u.reshape(b, h.shape[1])
        start = (u.shape[1] - self.n_turns) // 2
        return u[:, start:start + self.n_turns]

    def sample_from_noise(self, y, noise, *, temperature=1.0):
        """Angles from explicit standard normal ``noise["z"]`` (n, latent), scaled by the
        temperature as the torch model does, and a full y; with the config's ``mirror``,
        the rivers whose uniform ``noise["mirror"]`` (n,) is below 0.5 are mirrored."""
        n = len(noise["z"]) if "z" in noise else 0
        cond = self.condition(n, y)
        k = max(1, self.resample)
        shapes = self.noise_shapes(n)
        z = _noise(noise, "z", shapes["z"][1]).reshape(n * k, self.latent) * F32(temperature)
        yk = np.repeat(cond, k, axis=0)
        x = self.generate(z, yk) * self.x_scale
        if self.mirror:
            coin = _noise(noise, "mirror", shapes["mirror"][1]).reshape(n * k)
            x = np.where((coin < 0.5)[:, None], -x, x)
        if not self.resample:
            return self._finish(x)
        return self._finish(self._resampled(x, yk, noise))
