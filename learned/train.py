"""One model-agnostic training loop, and its command line.

    python -m learned.train flow                       # train the flow on assets/rivers
    python -m learned.train ar --max-epochs 40
    python -m learned.train flow --resume              # continue exactly where it stopped
    python -m learned.train flow --data synthetic      # no data asset needed (sine curves)
    python -m learned.train vae --mirror               # batches mirrored on a coin per river

The loop minimises ``model.loss((x, y))`` with Adam (cosine learning-rate decay by epoch),
computes the validation NLL (nats per turning angle) after every epoch, keeps the best
weights and stops early when the validation NLL has not improved for ``patience`` epochs.
The loop meets the model only through the contract every model keeps
(:class:`learned._contract.RiverContract`): ``make_optimizer``, ``train_step`` (the one
public training step), ``validation_score`` with its ``validation_name``, and the declared
``likelihood``. Families trained otherwise (a GAN's two players, losses that draw noise) or
scored otherwise (a VAE's negative ELBO, a GAN's sample statistics) override them; the CSV
and the card then name the score honestly (``val_neg_elbo``, not ``val_nll``). Once training
ends, ``after_training`` lets a family fit what comes after gradient descent (the VAE's
sampling prior) on the best weights.

``--ema DECAY`` validates, keeps and ships an exponential moving average of the weights
(Polyak averaging; for GANs, Yazıcı et al. 2019, "The Unusual Effectiveness of Averaging in
GAN Training") instead of the last iterate: after every step each parameter's average moves
``1 - DECAY`` of the way to it (buffers are the live ones). The average starts at the
initial weights and is part of the checkpoint, so a resumed run continues it exactly.

``--mirror`` mirrors each river of a batch (x -> -x) on a fair coin: real rivers are
mirror-symmetric as a population, and a mirror image keeps its sinuosity and length, so the
model sees twice the rivers. It lowered the VAE's validation negative ELBO from 0.134 to
0.120 and the flow's validation NLL from 0.104 to 0.098 nats per angle.

Everything that decides the result lives in one checkpoint, written atomically (temp file,
then ``os.replace``) every ``checkpoint_every`` seconds, at every epoch end when asked, and
at the end: model and optimizer state, the data-order ``torch.Generator`` state as of the
start of the epoch, the epoch and step, the running train loss, and the early-stopping
state. ``--resume`` restores it and redraws the epoch's batch order, so an interrupted run
gives bit-for-bit the weights of an uninterrupted one (unless ``time_limit`` stops it, which
depends on the clock). A CSV log (one row per epoch) is truncated to the checkpoint on resume.

Outputs in ``--out``: ``NAME.pt`` (the best ``state_dict``) and ``NAME.json`` (its card:
configs, data checksum, metrics, training time). Working files in ``--work``: ``NAME.ckpt``
and ``NAME.csv``.
"""

from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import hashlib
import io
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ._torch import torch

from procgen._io import atomic_write, atomic_write_many

from ._contract import ESTIMATE, likelihood_score
from ._progress import Progress
from .models import MODELS, encode_y, get_model_class

__all__ = ["TrainConfig", "load_split", "synthetic_rivers", "build_model", "train",
           "data_checksum", "set_threads", "main"]


# -- data --------------------------------------------------------------------------------------
def synthetic_rivers(n: int, n_points: int = 64, *, rng) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """Noisy sine-generated curves with random amplitude, wavelength and phase.

    Stand-in for the real rivers in tests and when ``assets/rivers`` is absent.

    Returns
    -------
    (turns (n, n_points - 2) float32, sinuosity (n,), length_km (n,))
    """
    from procgen import paths
    rng = np.random.default_rng(rng)
    steps = 4 * n_points
    omega = rng.uniform(0.1, 1.4, (n, 1))
    wavelength = rng.uniform(0.1, 0.5, (n, 1)) * steps
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    s = np.arange(steps) + 0.5
    theta = omega * np.sin(2 * np.pi * s / wavelength + phase)
    theta = theta + 0.05 * rng.standard_normal((n, steps))
    pos = np.zeros((n, steps + 1, 2))
    np.cumsum(-np.sin(theta), axis=1, out=pos[:, 1:, 0])
    np.cumsum(np.cos(theta), axis=1, out=pos[:, 1:, 1])
    pos = paths.resample(pos, n_points)
    turns = paths.turning_angles(pos).astype(np.float32)
    sin = paths.sinuosity(paths.angles_to_path(turns.astype(np.float64)))
    length = 10 ** rng.uniform(1.0, 3.0, n)
    return turns, np.asarray(sin, np.float64), length


_SYNTHETIC_SIZES = {"train": 3000, "val": 500, "test": 500}
_SYNTHETIC_SEEDS = {"train": 11, "val": 12, "test": 13}


def load_split(source: str, split: str, *, n_points: int = 64):
    """(turns (N, D) float32 tensor, y (N, 2) encoded tensor) of one split.

    ``source`` is ``'rivers'`` (``learned.data.load_rivers``) or ``'synthetic'``.
    """
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    if source == "rivers":
        from learned import data
        ds = data.load_rivers(split)
        turns = np.asarray(ds.turns, np.float32)
        sin, length = np.asarray(ds.sinuosity), np.asarray(ds.length_km)
    elif source == "synthetic":
        turns, sin, length = synthetic_rivers(_SYNTHETIC_SIZES[split], n_points,
                                              rng=_SYNTHETIC_SEEDS[split])
    else:
        raise ValueError(f"data must be 'rivers' or 'synthetic', got {source!r}")
    return torch.from_numpy(np.ascontiguousarray(turns)), encode_y(sin, length)


def data_checksum(turns: torch.Tensor, y: torch.Tensor) -> str:
    h = hashlib.sha256()
    h.update(turns.numpy().tobytes())
    h.update(y.numpy().tobytes())
    return "sha256:" + h.hexdigest()


def default_source() -> str:
    root = Path(__file__).resolve().parent.parent / "assets" / "rivers"
    try:
        import learned.data  # noqa: F401
    except ImportError:
        return "synthetic"
    return "rivers" if root.exists() else "synthetic"


# -- models ------------------------------------------------------------------------------------
def model_config(name: str, n_turns: int, overrides: dict | None = None):
    cls = get_model_class(name)
    cfg = cls.get_default_config()
    if dataclasses.is_dataclass(cfg):
        known = {f.name for f in dataclasses.fields(cfg)}
        bad = set(overrides or {}) - known
        if bad:
            raise ValueError(f"unknown {name} config keys {sorted(bad)}; known: {sorted(known)}")
        cfg = dataclasses.replace(cfg, n_turns=n_turns, **(overrides or {}))
    return cfg


def build_model(name: str, config, *, seed: int):
    """``MODELS[name](config)`` with its initial weights drawn from ``seed`` (the global RNG
    is forked and restored, so callers' random state is untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return get_model_class(name)(config)


# -- the loop ----------------------------------------------------------------------------------
@dataclass
class TrainConfig:
    """Settings of one training run (the model's own config is separate)."""

    model: str = "flow"
    data: str = "auto"              # 'rivers', 'synthetic' or 'auto'
    seed: int = 0
    batch_size: int = 128
    lr: float = 2e-3
    lr_min_frac: float = 0.05       # cosine decay to lr * lr_min_frac at max_epochs
    weight_decay: float = 0.0
    grad_clip: float = 5.0
    max_epochs: int = 60
    patience: int = 8               # epochs without a better validation NLL
    time_limit: float = 0.0         # seconds; 0 = none (a time limit is not reproducible)
    checkpoint_every: float = 120.0  # seconds between checkpoints
    checkpoint_every_steps: int = 0  # also every N steps (tests); 0 = off
    limit_train: int = 0            # use only the first N training rivers; 0 = all
    n_points: int = 64              # T, for synthetic data
    mirror: bool = False            # mirror each river of a batch on a coin (``--mirror``)
    ema: float = 0.0                # decay of the weights' moving average (``--ema``); 0 = off
    model_config: dict = field(default_factory=dict)


def set_threads(n: int) -> None:
    """Use ``n`` CPU threads in torch *and* in numba: numba's OpenMP layer shares the
    OpenMP runtime with torch, so its first parallel kernel would otherwise reset torch's
    thread count to numba's (all cores)."""
    import numba
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))   # numba's own maximum
    torch.set_num_threads(n)


def _atomic_save(obj, path: Path):
    atomic_write(path, lambda f: torch.save(obj, f))


#: What a checkpoint holds; anything else is refused on resume.
_CHECKPOINT_KEYS = {"model", "optimizer", "state", "train_config"}


def _load_checkpoint(path: Path) -> dict:
    """A training checkpoint, read without running code from it.

    ``torch.load(weights_only=True)`` unpickles only tensors and plain containers (dict,
    list, tuple, str, numbers, None), so a tampered file cannot run a command on
    ``--resume``; it fails with a message naming the file instead.
    """
    try:
        ck = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # pickle errors come in many types; none of them is the user's
        raise ValueError(f"{path}: not a checkpoint this trainer wrote (refused to load it: "
                         f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
                         "delete it or start without --resume") from None
    if not isinstance(ck, dict) or set(ck) != _CHECKPOINT_KEYS:
        got = sorted(ck) if isinstance(ck, dict) else type(ck).__name__
        raise ValueError(f"{path}: a checkpoint holds {sorted(_CHECKPOINT_KEYS)}, got {got}; "
                         "delete it or start without --resume")
    return ck


LOG_FIELDS = ["epoch", "step", "train_loss", "val_nll", "best_val_nll", "lr", "elapsed_s"]


def _log_fields(val_name: str) -> list[str]:
    """The CSV columns; the validation columns carry the score's own name."""
    if val_name == "nll":
        return list(LOG_FIELDS)
    return ["epoch", "step", "train_loss", f"val_{val_name}", f"best_val_{val_name}", "lr",
            "elapsed_s"]


def _step_generator(seed: int, step: int) -> torch.Generator:
    """The noise source of one training step: a pure function of (seed, step)."""
    return torch.Generator().manual_seed((seed + 3) * 1_000_000_007 + step)


def _mirrored(x: torch.Tensor, seed: int, step: int) -> torch.Tensor:
    """The rivers ``x`` (B, D), each mirrored (x -> -x) on a fair coin; the coins are a
    pure function of (seed, step), apart from the step's own noise."""
    coin = torch.rand(x.shape[0], generator=torch.Generator().manual_seed(
        (seed + 5) * 1_000_000_007 + step))
    return torch.where((coin < 0.5)[:, None], -x, x)


@torch.no_grad()
def _ema_update(average: dict, model, decay: float) -> None:
    """Move each parameter's running average ``1 - decay`` of the way to its value."""
    for key, p in model.named_parameters():
        average[key].lerp_(p.detach(), 1.0 - decay)


def _card_metrics(model, best_val, x_te, y_te) -> dict:
    """The card's scores: the best validation score under its own name, and the test NLL
    as the model's declared ``likelihood`` allows (exact, estimated, or None)."""
    name = model.validation_name
    out = {"val_nll_per_angle" if name == "nll" else f"val_{name}": best_val}
    nll, kind = likelihood_score(model, x_te, y_te, k=1000)
    if kind == ESTIMATE:
        out["test_nll_per_angle_estimate"] = nll
        out["nll_estimate_method"] = ("importance-weighted (IWAE), K=1000: an estimate, in "
                                      "expectation an upper bound on the true NLL")
    else:
        out["test_nll_per_angle"] = nll       # None: this family has no likelihood
    return out


def _score_text(v: float) -> str:
    """A validation score for the progress line: ``—`` until one exists (the best score
    starts at inf, which is no score), else 4 decimals (``nan`` if training diverged)."""
    return "—" if v == math.inf else f"{v:.4f}"


def train(cfg: TrainConfig, *, out: Path, work: Path, resume: bool = False,
          progress: bool = False) -> dict:
    """Train ``cfg.model``; write NAME.pt and NAME.json to ``out``. Returns the card."""
    out, work = Path(out), Path(work)
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    name = cfg.model
    source = default_source() if cfg.data == "auto" else cfg.data
    x_tr, y_tr = load_split(source, "train", n_points=cfg.n_points)
    x_va, y_va = load_split(source, "val", n_points=cfg.n_points)
    if cfg.limit_train:
        x_tr, y_tr = x_tr[:cfg.limit_train], y_tr[:cfg.limit_train]
    n_turns = x_tr.shape[1]
    mcfg = model_config(name, n_turns, cfg.model_config)
    model = build_model(name, mcfg, seed=cfg.seed)
    model.fit_data(x_tr, y_tr, generator=torch.Generator().manual_seed(cfg.seed + 1))
    # the contract: families not trained by "minimise model.loss(batch) with one Adam"
    # (GANs, losses that draw noise) or not scored by a validation NLL override these
    opt = model.make_optimizer(lr=cfg.lr, weight_decay=cfg.weight_decay)
    log_fields = _log_fields(model.validation_name)
    data_gen = torch.Generator().manual_seed(cfg.seed + 2)

    ckpt_path, log_path = work / f"{name}.ckpt", work / f"{name}.csv"
    if not 0.0 <= cfg.ema < 1.0:
        raise ValueError(f"ema must be in [0, 1) (0: no moving average), got {cfg.ema}")
    st = dict(epoch=0, step_in_epoch=0, global_step=0, epoch_start_gen=data_gen.get_state(),
              loss_sum=0.0, n_batches=0, best_val=math.inf, best_state=None, bad_epochs=0,
              elapsed=0.0, done=False,
              ema=({k: p.detach().clone() for k, p in model.named_parameters()} if cfg.ema
                   else None))
    if resume and ckpt_path.exists():
        ck = _load_checkpoint(ckpt_path)
        if ck["train_config"] != dataclasses.asdict(cfg):
            raise ValueError(f"{ckpt_path}: the checkpoint was made with another config; "
                             f"resume with the same arguments or start afresh")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        st = ck["state"]
        rows = []
        if log_path.exists():
            with open(log_path) as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= st["global_step"]]
        with open(log_path, "w", newline="") as f:
            w = csv.DictWriter(f, log_fields)
            w.writeheader()
            w.writerows(rows)
    else:
        with open(log_path, "w", newline="") as f:
            csv.DictWriter(f, log_fields).writeheader()

    def checkpoint():
        _atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                      "state": st, "train_config": dataclasses.asdict(cfg)}, ckpt_path)

    n = len(x_tr)
    steps_per_epoch = max(1, math.ceil(n / cfg.batch_size))
    bar = Progress(cfg.max_epochs * steps_per_epoch, name, enabled=progress, every=0.5)
    bar.done = st["global_step"]
    t_start = time.monotonic() - st["elapsed"]
    last_ckpt = time.monotonic()
    val_score = float("nan")
    while not st["done"]:
        epoch = st["epoch"]
        frac = epoch / max(1, cfg.max_epochs)
        lr = cfg.lr * (cfg.lr_min_frac + (1 - cfg.lr_min_frac) * 0.5 * (1 + math.cos(math.pi
                                                                                   * frac)))
        for group in opt.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)      # x 1.0 is exact
        data_gen.set_state(st["epoch_start_gen"])
        perm = torch.randperm(n, generator=data_gen)
        model.train()
        for i in range(st["step_in_epoch"], steps_per_epoch):
            idx = perm[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            x_batch = _mirrored(x_tr[idx], cfg.seed, st["global_step"]) if cfg.mirror \
                else x_tr[idx]
            loss_value = model.train_step((x_batch, y_tr[idx]), opt, grad_clip=cfg.grad_clip,
                                          generator=_step_generator(cfg.seed, st["global_step"]))
            if cfg.ema:
                _ema_update(st["ema"], model, cfg.ema)
            st["loss_sum"] += loss_value
            st["n_batches"] += 1
            st["step_in_epoch"] = i + 1
            st["global_step"] += 1
            st["elapsed"] = time.monotonic() - t_start
            bar.update(text=f"epoch {epoch + 1}/{cfg.max_epochs} step {i + 1}/"
                       f"{steps_per_epoch} loss {st['loss_sum'] / st['n_batches']:.4f} "
                       f"best val {_score_text(st['best_val'])}")
            if ((cfg.checkpoint_every_steps and st["global_step"] % cfg.checkpoint_every_steps
                 == 0) or time.monotonic() - last_ckpt > cfg.checkpoint_every):
                checkpoint()
                last_ckpt = time.monotonic()
        # end of epoch: validate, early stopping, log
        model.eval()              # an NLL, or a score logged as val_<validation_name>
        if cfg.ema:                                        # the average is what is scored
            live = copy.deepcopy(model.state_dict())
            model.load_state_dict({**live, **st["ema"]})
        val_score = float(model.validation_score(x_va, y_va))
        if val_score < st["best_val"] - 1e-5:
            st["best_val"], st["bad_epochs"] = val_score, 0
            st["best_state"] = copy.deepcopy(model.state_dict())
        else:
            st["bad_epochs"] += 1
        if cfg.ema:
            model.load_state_dict(live)                    # training goes on from the iterate
        st["elapsed"] = time.monotonic() - t_start
        row = dict(epoch=epoch + 1, step=st["global_step"],
                   train_loss=f"{st['loss_sum'] / max(1, st['n_batches']):.6f}",
                   **{log_fields[3]: f"{val_score:.6f}", log_fields[4]: f"{st['best_val']:.6f}"},
                   lr=f"{lr:.6g}", elapsed_s=f"{st['elapsed']:.1f}")
        with open(log_path, "a", newline="") as f:
            csv.DictWriter(f, log_fields).writerow(row)
        st["epoch"] = epoch + 1
        st["step_in_epoch"], st["loss_sum"], st["n_batches"] = 0, 0.0, 0
        st["epoch_start_gen"] = data_gen.get_state()
        st["done"] = (st["epoch"] >= cfg.max_epochs or st["bad_epochs"] >= cfg.patience
                      or (cfg.time_limit > 0 and st["elapsed"] > cfg.time_limit)
                      or not math.isfinite(val_score))
        bar.update(0, text=f"epoch {epoch + 1}/{cfg.max_epochs} loss {row['train_loss']} "
                   f"val {val_score:.4f} best {_score_text(st['best_val'])}", force=True)
        if cfg.checkpoint_every_steps or st["done"]:
            checkpoint()
            last_ckpt = time.monotonic()
    bar.close()

    if st["best_state"] is not None:
        model.load_state_dict(st["best_state"])
    t_after = time.monotonic()
    model.after_training(x_tr, y_tr)
    after_s = time.monotonic() - t_after
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    x_te, y_te = load_split(source, "test", n_points=cfg.n_points)
    card = {
        "name": name,
        "family": type(model).__name__,
        "config": dataclasses.asdict(mcfg) if dataclasses.is_dataclass(mcfg) else mcfg,
        "train_config": dataclasses.asdict(cfg),
        "data": {"source": source, "n_train": len(x_tr), "n_turns": n_turns,
                 "checksum": data_checksum(x_tr, y_tr)},
        "metrics": _card_metrics(model, st["best_val"], x_te, y_te),
        "training": {"epochs": st["epoch"], "steps": st["global_step"],
                     "time_s": round(st["elapsed"], 1),
                     "after_training_s": round(after_s, 1), "torch": torch.__version__,
                     "threads": torch.get_num_threads()},
        "n_parameters": sum(p.numel() for p in model.parameters()),
    }
    weights = io.BytesIO()
    torch.save(state, weights)
    # the card describes the weights: both new or both old
    atomic_write_many([(out / f"{name}.pt", weights.getvalue(), "out"),
                       (out / f"{name}.json", (json.dumps(card, indent=2) + "\n").encode(), "out")])
    from . import runtime
    if name in runtime.FAMILIES:
        # The torch-free runtime's files too (NAME.npz, the card's runtime section), so the
        # new weights are what `rivers="learned:NAME"` runs.
        from .export import export
        export(name, root=out)
        card = json.loads((out / f"{name}.json").read_text())   # with its runtime section
    return card


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m learned.train", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", choices=sorted(MODELS))
    d = TrainConfig()
    p.add_argument("--data", default=d.data, choices=["auto", "rivers", "synthetic"])
    p.add_argument("--out", default=None, help="where NAME.pt / NAME.json go (default: --work)")
    p.add_argument("--work", default="runs", help="checkpoint and CSV log folder")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    p.add_argument("--no-progress", action="store_true")
    for f in dataclasses.fields(TrainConfig):
        if f.name in ("model", "data", "model_config"):
            continue
        if isinstance(getattr(d, f.name), bool):
            p.add_argument("--" + f.name.replace("_", "-"), action="store_true")
        else:
            p.add_argument("--" + f.name.replace("_", "-"), type=type(getattr(d, f.name)),
                           default=getattr(d, f.name))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="model config override, e.g. --set hidden=64 (repeatable)")
    a = p.parse_args(argv)
    if a.threads:
        set_threads(a.threads)
    overrides = {}
    for item in a.set:
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            p.error(f"--set {item!r}: VALUE must be JSON (a number, true/false, a quoted string)")
    try:
        cfg = TrainConfig(model=a.model, data=a.data, model_config=overrides, **{
            f.name: getattr(a, f.name) for f in dataclasses.fields(TrainConfig)
            if f.name not in ("model", "data", "model_config")})
        card = train(cfg, out=Path(a.out or a.work), work=Path(a.work), resume=a.resume,
                     progress=not a.no_progress)
    except (ValueError, FileNotFoundError) as exc:   # the user's request: one line, no traceback
        p.exit(2, f"{p.prog}: error: {exc}\n")
    print(json.dumps(card["metrics"]), card["training"])


if __name__ == "__main__":
    main()
