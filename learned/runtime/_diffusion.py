"""The diffusion family (``learned.models.diffusion.DiffusionModel``, flow matching) in
numpy: the velocity network (dilated convolutions with FiLM, channels last) integrated from
t = 0 to 1 by Heun's method or Euler's, as the torch sampler does.

What does not depend on the river is computed once instead of per river and step: the
condition's embedding once per call, the time embedding once per time (all rivers share t),
every block's FiLM in one product per step. Between two convolutions' matrix products the
elementwise chain (group norm, FiLM, GELU, the next product's im2col) is one fused kernel
(``_kernels``).
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import kernels
from ._nn import Workspace, conv_weight, gelu, linear
from ._model import RuntimeModel, _noise

F32 = np.float32
_DILATIONS = (1, 2, 4, 8, 16)


class DiffusionRuntime(RuntimeModel):
    """Runtime of ``learned.models.diffusion.DiffusionModel`` (no likelihood).

    Examples
    --------
    >>> from learned import runtime
    >>> runtime.load("diffusion").sample(2, seed=0).shape
    (2, 62)
    """

    family = "diffusion"
    likelihood = None
    #: a river costs ~10 ms here (48 passes of the net), so two are already worth two cores
    SPLIT_FROM = 2

    @staticmethod
    def shapes(config):
        c = config
        ch, emb = c["channels"], c["emb"]
        out = {"null_y": (emb,), "pos": (1, ch, c["n_turns"]),
               "t_mlp.0.weight": (emb, emb), "t_mlp.0.bias": (emb,),
               "t_mlp.2.weight": (emb, emb), "t_mlp.2.bias": (emb,),
               "y_mlp.0.weight": (emb, c["y_dim"]), "y_mlp.0.bias": (emb,),
               "y_mlp.2.weight": (emb, emb), "y_mlp.2.bias": (emb,),
               "inp.weight": (ch, 1, 3), "inp.bias": (ch,),
               "out.weight": (1, ch, 3), "out.bias": (1,)}
        for i in range(c["n_blocks"]):
            p = f"blocks.{i}."
            out.update({p + "norm.weight": (ch,), p + "norm.bias": (ch,),
                        p + "conv1.weight": (ch, ch, 3), p + "conv1.bias": (ch,),
                        p + "conv2.weight": (ch, ch, 3), p + "conv2.bias": (ch,),
                        p + "film.weight": (2 * ch, emb), p + "film.bias": (2 * ch,)})
        return out

    def _build(self, arrays):
        a = lambda k: np.asarray(arrays[k], dtype=F32)                     # noqa: E731
        lin = lambda k: (np.ascontiguousarray(a(k + ".weight").T), a(k + ".bias"))  # noqa
        c = self.config
        if c["solver"] not in ("heun", "euler"):
            raise ValueError(f"solver must be 'heun' or 'euler', got {c['solver']!r}")
        self.channels, self.emb = int(c["channels"]), int(c["emb"])
        self.groups = 8 if self.channels % 8 == 0 else 1
        self.t_mlp = (lin("t_mlp.0"), lin("t_mlp.2"))
        self.y_mlp = (lin("y_mlp.0"), lin("y_mlp.2"))
        self.null_y = a("null_y")
        self.pos = np.ascontiguousarray(a("pos")[0].T)                       # (L, C)
        self.inp = (conv_weight(a("inp.weight")), a("inp.bias"))
        self.out = (conv_weight(a("out.weight")), a("out.bias"))
        self.blocks = []
        films = []
        for i in range(c["n_blocks"]):
            p = f"blocks.{i}."
            self.blocks.append((_DILATIONS[i % len(_DILATIONS)], a(p + "norm.weight"),
                                a(p + "norm.bias"), conv_weight(a(p + "conv1.weight")),
                                a(p + "conv1.bias"), conv_weight(a(p + "conv2.weight")),
                                a(p + "conv2.bias")))
            films.append(lin(p + "film"))
        # every block's FiLM from one product: (emb, n_blocks * 2C)
        self.film = (np.ascontiguousarray(np.concatenate([w for w, _ in films], axis=1)),
                     np.concatenate([b for _, b in films]))
        self._work = Workspace()

    def _mlp(self, x, layers):
        (w0, b0), (w1, b1) = layers
        return linear(gelu(linear(x, w0, b0)), w1, b1)

    def _time(self, t):
        """t_mlp(time_embedding(t)) for one time t (1, emb), as float32 like torch."""
        half = self.emb // 2
        freq = np.exp(np.arange(half, dtype=F32) * F32(-math.log(1000.0) / max(1, half - 1)))
        arg = (F32(1000.0) * F32(t)) * freq
        return self._mlp(np.concatenate([np.sin(arg), np.cos(arg)])[None], self.t_mlp)

    def velocity(self, u, t, ey):
        """v(u_t, t, y) (B, D) given ``ey``, the condition's embedding (B, emb)."""
        k = kernels()
        n, length, ch = len(u), self.n_turns, self.channels
        none = np.empty((n, 0), dtype=F32)
        # scratch arrays this thread reuses from call to call (see ``Workspace``)
        cols = self._work.take("cols", (n, length, 3 * ch))
        flat = cols.reshape(n * length, 3 * ch)
        h = self._work.take("h", (n, length, ch))
        tmp = self._work.take("tmp", (n * length, ch))
        film = linear(gelu(self._time(t) + ey), *self.film)              # (B, blocks 2C)
        taps = self._work.take("taps", (n, length, 3))
        k.act_im2col(np.ascontiguousarray(u[:, :, None]), np.zeros(1, F32), none, taps, 3, 1,
                     False)
        np.matmul(taps.reshape(n * length, 3), self.inp[0], out=h.reshape(n * length, ch))
        h += self.inp[1]
        h += self.pos
        for j, (dil, gw, gb, w1, b1, w2, b2) in enumerate(self.blocks):
            k.norm_film_gelu_im2col(h, self.groups, gw, gb, film, 2 * ch * j, cols, 3, dil)
            np.matmul(flat, w1, out=tmp)
            k.act_im2col(tmp.reshape(n, length, ch), b1, none, cols, 3, 1, True)
            np.matmul(flat, w2, out=tmp)
            k.add_act(h, tmp.reshape(n, length, ch), b2, False)
        k.act_im2col(h, np.zeros(ch, F32), none, cols, 3, 1, True)
        return (flat @ self.out[0] + self.out[1]).reshape(n, length)

    def noise_shapes(self, n):
        """``{"u0": ("normal", (n, D))}``: the start of the ODE."""
        return {"u0": ("normal", (n, self.n_turns))}

    def sample_from_noise(self, y, noise, *, temperature=1.0, steps=None):
        """Angles from explicit standard normal ``noise["u0"]`` (n, D), scaled by the
        temperature as the torch sampler does, and a full y; ``steps`` defaults to the
        config's ``sample_steps``."""
        steps = int(self.config["sample_steps"] if steps is None else steps)
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        n = len(noise["u0"]) if "u0" in noise else 0
        u = _noise(noise, "u0", (n, self.n_turns)) * F32(temperature)
        ey = self._mlp(self.condition(n, y), self.y_mlp)
        w = float(self.config["guidance"])
        ey_null = np.broadcast_to(self.null_y, ey.shape)

        def guided(u, t):
            v = self.velocity(u, t, ey)
            if w:
                v = v + w * (v - self.velocity(u, t, ey_null))
            return v

        dt = 1.0 / steps
        for i in range(steps):
            t = i * dt
            v = guided(u, t)
            if self.config["solver"] == "heun":
                u_end = u + dt * v
                u = u + 0.5 * dt * (v + guided(u_end, t + dt))
            else:
                u = u + dt * v
        return self._finish(u * self.x_scale)
