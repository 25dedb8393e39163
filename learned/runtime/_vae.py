"""The VAE family (``learned.models.vae.VAEModel``) in numpy: z from the model's fitted
Gaussian prior (``latent_mean + temperature * eps @ latent_chol.T``, eps ~ N(0, I)), then
the autoregressive decoder conditioned on (z, y). Only the decoder and the prior ship:
sampling needs no encoder, and the VAE has no exact likelihood to serve."""

from __future__ import annotations

import numpy as np

from ._ar import GRUMixture, ar_shapes
from ._model import RuntimeModel, _noise


class VAERuntime(RuntimeModel):
    """Runtime of ``learned.models.vae.VAEModel`` (sampling only).

    Examples
    --------
    >>> from learned import runtime
    >>> runtime.load("vae").sample(2, seed=0).shape
    (2, 62)
    """

    family = "vae"
    likelihood = "estimate"
    #: larger blocks than the base's: this family's cost is per call, not per river
    BLOCK = 512

    @staticmethod
    def shapes(config):
        c = config
        out = ar_shapes("decoder.", n_turns=c["n_turns"], y_dim=c["latent"] + c["y_dim"],
                        hidden=c["decoder_hidden"], n_layers=c["decoder_layers"],
                        n_mix=c["n_mix"])
        out.update({"decoder.x_scale": (), "decoder.y_bank": (None, 2),
                    "latent_mean": (c["latent"],), "latent_chol": (c["latent"], c["latent"])})
        return out

    def _build(self, arrays):
        c = self.config
        self.latent = int(c["latent"])
        self.latent_mean = arrays["latent_mean"].astype(np.float32)
        self.latent_chol_t = np.ascontiguousarray(arrays["latent_chol"].T, dtype=np.float32)
        self.net = GRUMixture(arrays, "decoder.", n_turns=self.n_turns,
                              n_layers=c["decoder_layers"], hidden=c["decoder_hidden"],
                              n_mix=c["n_mix"], x_scale=self.x_scale)

    def noise_shapes(self, n):
        """``z`` (normal, (n, latent)), then the decoder's ``mix`` and ``logistic``."""
        return {"z": ("normal", (n, self.latent)), "mix": ("uniform", (n, self.n_turns)),
                "logistic": ("uniform", (n, self.n_turns))}

    def decode(self, z, y, noise, *, temperature=1.0):
        """Angles (B, D) for latents ``z`` (B, latent), as given (not scaled), and an
        encoded y (B, 2), with the decoder's explicit ``noise`` (``mix``, ``logistic``)."""
        z = np.asarray(z, dtype=np.float32)
        shape = (z.shape[0], self.n_turns)
        zy = np.concatenate([z, self.condition(z.shape[0], y)], axis=1)
        x = self.net.sample(zy, _noise(noise, "mix", shape), _noise(noise, "logistic", shape),
                            float(temperature))
        return self._finish(x)

    def sample_from_noise(self, y, noise, *, temperature=1.0):
        """As the torch model: ``z = latent_mean + (noise["z"] * temperature) @
        latent_chol.T``, then :meth:`decode`."""
        n = len(noise["z"]) if "z" in noise else 0
        eps = _noise(noise, "z", (n, self.latent)) * np.float32(temperature)
        z = self.latent_mean + eps @ self.latent_chol_t
        return self.decode(z, y, noise, temperature=temperature)
