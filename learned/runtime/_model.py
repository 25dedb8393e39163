"""What every runtime model shares: the card, the conditions y, sampling from a seed."""

from __future__ import annotations

import math
import threading

import numpy as np

from ._blas import one_thread
from ._nn import wrap_angle

__all__ = ["RuntimeModel", "RuntimeFileError"]


class RuntimeFileError(ValueError):
    """A runtime model's files exist but cannot be used: the weights' checksum, an array's
    name, shape or dtype, or the card disagree. The message names the file."""


class RuntimeModel:
    """A shipped river model sampled with numpy: the base of every family.

    Built by :func:`learned.runtime.load`; holds the card (``card``: family, config, ...),
    the data statistics (``x_scale``, the bank of training conditions ``y_bank`` and the
    statistics that encode y) and the family's weights.

    Subclasses set ``family``, ``likelihood`` and ``noise`` (the names of the noise arrays
    they draw, in order) and implement ``_build(arrays)``, ``noise_shapes(n)`` and
    ``sample_from_noise(y, noise, *, temperature)``.
    """

    family = ""
    likelihood = None
    #: Batches are cut into blocks of at most this many rivers, sampled by one thread per
    #: core with every matrix product on one BLAS thread (``_blas``): a block's activations
    #: stay in cache (2,000 diffusion rivers at once spent a third of their time streaming
    #: 32 MB arrays through memory), numpy's and the kernels' elementwise work runs on every
    #: core, and OpenBLAS's own threads, which cost more than they save on a dozen rivers
    #: and collapse when the machine is busy, are never woken.
    BLOCK = 128
    #: From this many rivers on a batch is cut into at least two blocks (one per core on
    #: the project's 2-core machines). The blocks depend on n alone, never on the core
    #: count, so a seed gives the same rivers on any machine with the same BLAS.
    SPLIT_FROM = 64
    #: From this many rivers on, each block matches its own rivers' sinuosity (same result).
    MATCH_IN_BLOCKS_FROM = 256

    def __init__(self, name: str, card: dict, arrays: dict, *, path=None):
        self.name, self.card, self.path = name, card, path
        self.config = dict(card["config"])
        self.n_turns = int(self.config["n_turns"])
        self.x_scale = arrays["x_scale"].astype(np.float32)[()]
        self.y_bank = np.ascontiguousarray(arrays["y_bank"], dtype=np.float32)
        self.y_mean = np.asarray(arrays["y_mean"], dtype=np.float64)
        self.y_std = np.asarray(arrays["y_std"], dtype=np.float64)
        self._build(arrays)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    # -- conditions (learned._conditions.Conditioned, in numpy) ----------------------------
    def encode_y(self, y: dict) -> np.ndarray:
        """Physical conditions ``{"sinuosity": s, "length_km": L}`` (scalars or arrays,
        broadcast together) -> the encoded (B, 2) float32 y the weights were trained on.

        Examples
        --------
        >>> from learned import runtime
        >>> runtime.load("ar").encode_y({"sinuosity": [1.2, 2.0], "length_km": 250.0}).shape
        (2, 2)
        """
        s = np.asarray(y["sinuosity"], dtype=np.float64).reshape(-1)
        length = np.asarray(y["length_km"], dtype=np.float64).reshape(-1)
        s, length = np.broadcast_arrays(s, length)
        if np.any(~(s >= 1.0)) or np.any(~(length > 0.0)):
            raise ValueError(f"y needs sinuosity >= 1 and length_km > 0, got sinuosity in "
                             f"[{s.min():g}, {s.max():g}], length_km in [{length.min():g}, "
                             f"{length.max():g}]")
        raw = np.stack([s, np.log10(length)], axis=1)
        return ((raw - self.y_mean) / self.y_std).astype(np.float32)

    def decode_y(self, y) -> dict:
        """Encoded (B, 2) y -> ``{"sinuosity": (B,), "length_km": (B,)}`` float64."""
        raw = np.asarray(y, dtype=np.float64).reshape(-1, 2) * self.y_std + self.y_mean
        return {"sinuosity": raw[:, 0], "length_km": 10.0 ** raw[:, 1]}

    def condition(self, n: int, y=None, *, rng=None) -> np.ndarray:
        """The (n, 2) encoded condition: ``y`` as given (encoded, of shape (2,), (1, 2) or
        (n, 2), or a dict of ``sinuosity`` and/or ``length_km``, one value or one per
        sample), or rows of the training bank drawn with ``rng`` when ``y`` is None; a dict
        with one key draws the other from the bank (as the torch models do)."""
        if y is None:
            return self.y_bank[self._rng(rng, "y=None").integers(len(self.y_bank), size=n)]
        if isinstance(y, dict):
            unknown = set(y) - {"sinuosity", "length_km"}
            if unknown:
                raise ValueError(f"y keys must be 'sinuosity' and 'length_km', got {sorted(y)}")
            phys = dict(y)
            if len(phys) < 2:
                bank = self.decode_y(self.y_bank)
                idx = self._rng(rng, f"y with only {sorted(y)}").integers(len(self.y_bank),
                                                                           size=n)
                for k in ("sinuosity", "length_km"):
                    phys.setdefault(k, bank[k][idx])
            y = self.encode_y(phys)
        y = np.asarray(y, dtype=np.float32)
        if y.ndim == 1:
            y = y.reshape(1, -1)
        if y.ndim == 2 and y.shape[0] == 1:
            y = np.broadcast_to(y, (n, y.shape[1]))
        if y.shape != (n, 2):
            raise ValueError(f"y must have shape (2,), (1, 2) or ({n}, 2), got {y.shape}")
        return np.ascontiguousarray(y)

    @staticmethod
    def _rng(rng, what):
        if rng is None:
            raise ValueError(f"{what} draws the missing conditions from the training bank, "
                             f"which needs rng (or give both 'sinuosity' and 'length_km')")
        return rng

    def _scored_condition(self, x, y, method="log_prob"):
        if y is None:
            raise TypeError(
                f"{method} needs y, the condition of each river in x: the likelihood is "
                f"log p(x | y), and a river's length cannot be read from its turning angles; "
                f"got y=None")
        if isinstance(y, dict) and set(y) != {"sinuosity", "length_km"}:
            raise ValueError(f"{method} needs y with both 'sinuosity' and 'length_km' (a "
                             f"missing one is not drawn when scoring), got keys {sorted(y)}")
        return self.condition(len(x), y)

    # -- the interface ----------------------------------------------------------------------
    def sample(self, n: int, y=None, *, seed=None, temperature: float = 1.0,
               exact_sinuosity: bool = True) -> np.ndarray:
        """``n`` rivers' turning angles, (n, T-2) float32 radians in (-pi, pi].

        Parameters
        ----------
        n : int
            Number of rivers, >= 0.
        y : dict or array_like, optional
            Conditions: ``{"sinuosity": s, "length_km": L}`` (one value or one per river;
            a missing key is drawn from the training data), or encoded y; None (default)
            draws both from the training data's own conditions.
        seed : {None, int, numpy.random.SeedSequence, numpy.random.Generator}, optional
            Source of all randomness (``numpy.random.default_rng(seed)``): the conditions
            first, then the family's noise arrays in the order of ``noise_shapes``. The
            same seed gives the same rivers.
        temperature : float, optional
            > 0; scales the noise (1, the default, is the model's distribution).
        exact_sinuosity : bool, optional
            Scale each river's turns so that its shape has exactly its condition's
            sinuosity (:func:`procgen.paths.scale_to_sinuosity`; what the torch models'
            ``sample`` does, ``learned.models.base.match_sinuosity``). Default True.

        Returns
        -------
        numpy.ndarray, (n, T-2) float32

        Examples
        --------
        >>> from learned import runtime
        >>> model = runtime.load("flow")
        >>> turns = model.sample(3, {"sinuosity": 1.4, "length_km": 200.0}, seed=0)
        >>> turns.shape, turns.dtype
        ((3, 62), dtype('float32'))
        """
        n = _check_n(n)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        rng = np.random.default_rng(seed)
        cond = self.condition(n, y, rng=rng)
        noise = {}
        for key, (kind, shape) in self.noise_shapes(n).items():
            noise[key] = (rng.standard_normal(shape, dtype=np.float32) if kind == "normal"
                          else rng.random(shape, dtype=np.float32))
        return self.sample_with(cond, noise, temperature=temperature,
                                exact_sinuosity=exact_sinuosity)

    def sample_with(self, y, noise, *, temperature: float = 1.0,
                    exact_sinuosity: bool = True) -> np.ndarray:
        """:meth:`sample` from given conditions and noise: ``sample_from_noise`` run as
        ``sample`` runs it (blocks of rivers on a thread per core, one BLAS thread each;
        OpenBLAS's own threads can make a busy machine 100 times slower) and, with
        ``exact_sinuosity``, matched to the sinuosity of ``y`` (as :meth:`condition` takes
        it, but never drawn).

        Examples
        --------
        >>> import numpy as np
        >>> from learned import runtime
        >>> model = runtime.load("gan")
        >>> y = {"sinuosity": [1.2, 1.8], "length_km": 100.0}
        >>> noise = {k: np.zeros(s, np.float32) for k, (_, s) in model.noise_shapes(2).items()}
        >>> model.sample_with(y, noise).shape
        (2, 62)
        """
        n = len(next(iter(noise.values()))) if noise else 0
        cond = self.condition(n, y)
        blocks = self._blocks(n)
        # the match is river by river: on large blocks it runs on the block's core; on small
        # ones its numpy calls are mostly per-call cost under the GIL, once is cheaper
        match_in_blocks = exact_sinuosity and n >= self.MATCH_IN_BLOCKS_FROM

        def block(s):
            c = cond[s]
            x = self.sample_from_noise(c, {k: v[s] for k, v in noise.items()},
                                       temperature=temperature)
            return self.match_sinuosity(x, c) if match_in_blocks else x

        with one_thread():
            if len(blocks) < 2:
                x = block(slice(None))
            else:       # numpy, BLAS and the kernels release the GIL
                x = np.concatenate(list(_pool().map(block, blocks)))
        if exact_sinuosity and not match_in_blocks:
            x = self.match_sinuosity(x, cond)
        return x

    def match_sinuosity(self, turns, cond) -> np.ndarray:
        """``turns`` (n, T-2) scaled river by river to the sinuosity of the encoded
        conditions ``cond`` (n, 2), wrapped, float32 (see :meth:`sample`)."""
        from procgen.paths import scale_to_sinuosity

        if not len(turns):
            return turns
        target = np.maximum(self.decode_y(cond)["sinuosity"], 1.0)
        return self._finish(scale_to_sinuosity(turns, target))

    def _blocks(self, n):
        """The slices of a batch of ``n`` rivers (see :data:`BLOCK`, :data:`SPLIT_FROM`)."""
        count = -(-n // self.BLOCK)
        if n >= self.SPLIT_FROM:
            count = max(count, 2)
        size = max(1, -(-n // max(count, 1)))
        return [slice(i, min(n, i + size)) for i in range(0, n, size)]

    def log_prob(self, turns, y) -> np.ndarray:
        """``log p(turns | y)`` per river, (B,) nats, where the family has an exact
        likelihood (``likelihood == 'exact'``: ar, flow); ``y`` is required."""
        raise NotImplementedError(f"the {self.family} runtime has no exact likelihood "
                                  f"(likelihood={self.likelihood!r})")

    def _check_turns(self, turns):
        x = np.asarray(turns, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.n_turns:
            raise ValueError(f"turns must have shape (B, {self.n_turns}), got {x.shape}")
        return x

    def _finish(self, x):
        return wrap_angle(np.asarray(x, dtype=np.float32))


_POOL: list = []
_POOL_LOCK = threading.Lock()


def _pool():
    """The runtime's threads, one per core, started on first use and kept: starting them
    per call cost a GAN batch of a dozen rivers a tenth of its time."""
    if not _POOL:
        from concurrent.futures import ThreadPoolExecutor
        with _POOL_LOCK:
            if not _POOL:
                _POOL.append(ThreadPoolExecutor(_cores(), thread_name_prefix="learned-runtime"))
    return _POOL[0]


def _cores() -> int:
    """Cores this process may run on."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                                   # macOS, Windows
        return os.cpu_count() or 1


def _check_n(n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    return int(n)


def _noise(noise, key, shape):
    """One explicit noise array, checked."""
    if key not in noise:
        raise ValueError(f"noise must have the array {key!r} of shape {shape}, got keys "
                         f"{sorted(noise)}")
    a = np.asarray(noise[key], dtype=np.float32)
    if a.shape != tuple(shape):
        raise ValueError(f"noise[{key!r}] must have shape {tuple(shape)}, got {a.shape}")
    return a


LOG_2PI = math.log(2 * math.pi)
