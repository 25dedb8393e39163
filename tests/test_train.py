"""The training loop: a run killed after a checkpoint and resumed ends bit-for-bit where an
uninterrupted run ends; the CSV log and card are written."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from learned.train import TrainConfig, train  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--data", "synthetic", "--n-points", "24", "--limit-train", "384", "--batch-size", "32",
        "--max-epochs", "5", "--patience", "100", "--threads", "1", "--no-progress",
        "--set", "hidden=16", "--set", "n_layers=2", "--set", "bins=4",
        "--mirror",                                # resumes redraw the same coins too
        "--ema", "0.9"]                            # and continue the same average


def _train_cmd(work, *extra):
    return [sys.executable, "-m", "learned.train", "flow", "--work", str(work), *TINY, *extra]


def test_train_writes_weights_card_and_log(tmp_path):
    cfg = TrainConfig(model="ar", data="synthetic", n_points=20, limit_train=128,
                      batch_size=64, max_epochs=2, model_config={"hidden": 8, "n_layers": 1,
                                                                 "n_mix": 2})
    card = train(cfg, out=tmp_path / "out", work=tmp_path / "work")
    assert (tmp_path / "out" / "ar.pt").exists()
    on_disk = json.loads((tmp_path / "out" / "ar.json").read_text())
    assert on_disk["config"]["hidden"] == 8 and on_disk == json.loads(json.dumps(card))
    assert on_disk["data"]["checksum"].startswith("sha256:")
    with open(tmp_path / "work" / "ar.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert all(float(r["val_nll"]) == float(r["val_nll"]) for r in rows)


def test_progress_shows_no_validation_before_the_first(tmp_path, capsys):
    """Before the first validation there is no score: the line says "best val —", never
    "val inf"; after it, the epoch line gives the score and the best so far."""
    cfg = TrainConfig(model="ar", data="synthetic", n_points=20, limit_train=128,
                      batch_size=32, max_epochs=2, model_config={"hidden": 8, "n_layers": 1,
                                                                 "n_mix": 2})
    train(cfg, out=tmp_path, work=tmp_path, progress=True)
    err = capsys.readouterr().err
    lines = [line.strip() for line in err.split("\r") if line.strip()]
    assert "inf" not in err
    # learned's one progress bar (learned._progress.Progress): label, bar, steps, then text
    assert re.match(r"ar \[#+\.+\] 1/8 +\d+\.\ds epoch 1/2 step 1/4 loss", lines[0])
    assert lines[0].endswith("best val —")
    ends = [line for line in lines if re.search(r"s epoch \d/2 loss", line)]
    assert len(ends) == 2
    assert all(re.search(r" val -?\d+\.\d{4} best -?\d+\.\d{4}$", e) for e in ends)
    assert err.endswith("\n")


def test_mirror_trains_on_rivers_mirrored_on_a_coin_per_river_and_step(tmp_path, monkeypatch):
    from learned import train as T
    from learned.models.ar import ARModel
    from learned.train import load_split
    seen = []
    real_step = ARModel.train_step

    def recording_step(self, batch, *args, **kwargs):
        seen.append(batch[0].clone())
        return real_step(self, batch, *args, **kwargs)

    monkeypatch.setattr(ARModel, "train_step", recording_step)
    base = dict(model="ar", data="synthetic", n_points=20, limit_train=128, batch_size=64,
                max_epochs=1, model_config={"hidden": 8, "n_layers": 1, "n_mix": 2})
    train(TrainConfig(**base), out=tmp_path / "a", work=tmp_path / "a")
    plain, seen[:] = list(seen), []
    train(TrainConfig(**base, mirror=True), out=tmp_path / "b", work=tmp_path / "b")
    x = load_split("synthetic", "train", n_points=20)[0][:128]
    rows = lambda batches: torch.cat(batches)                  # noqa: E731
    a, b = rows(plain), rows(seen)
    assert sorted(map(tuple, a.tolist())) == sorted(map(tuple, x.tolist()))   # same rivers
    flipped = (b == -a).all(1) & (a != 0).any(1)
    assert torch.equal(flipped | (b == a).all(1), torch.ones(len(a), dtype=torch.bool))
    assert 0.3 < flipped.float().mean() < 0.7                  # a fair coin per river
    # a pure function of (seed, step): the same coins again, other coins at another step
    assert torch.equal(T._mirrored(x, 0, 5), T._mirrored(x, 0, 5))
    assert not torch.equal(T._mirrored(x, 0, 5), T._mirrored(x, 0, 6))
    with open(tmp_path / "b" / "ar.json") as f:
        assert json.load(f)["train_config"]["mirror"] is True


def test_mirror_is_a_command_line_switch(tmp_path, capsys):
    from learned.train import main
    args = ["ar", "--data", "synthetic", "--n-points", "16", "--limit-train", "64",
            "--max-epochs", "1", "--no-progress", "--set", "hidden=8", "--set", "n_layers=1"]
    main([*args, "--work", str(tmp_path / "on"), "--mirror"])
    main([*args, "--work", str(tmp_path / "off")])
    cards = {k: json.loads((tmp_path / k / "ar.json").read_text()) for k in ("on", "off")}
    assert cards["on"]["train_config"]["mirror"] is True
    assert cards["off"]["train_config"]["mirror"] is False


def test_ema_validates_keeps_and_ships_the_moving_average_of_the_weights(tmp_path,
                                                                         monkeypatch):
    from learned import train as T
    from learned.models.ar import ARModel
    real_step, real_score = ARModel.train_step, ARModel.validation_score
    twin, scored = {}, []

    def recording_step(self, *args, **kwargs):
        out = real_step(self, *args, **kwargs)
        for k, p in self.named_parameters():      # the obvious twin: a = d a + (1 - d) p
            twin[k] = 0.75 * twin.get(k, twin_init[k]) + 0.25 * p.detach()
        return out

    def recording_score(self, x, y):
        scored.append({k: p.detach().clone() for k, p in self.named_parameters()})
        return real_score(self, x, y)

    monkeypatch.setattr(ARModel, "train_step", recording_step)
    monkeypatch.setattr(ARModel, "validation_score", recording_score)
    cfg = TrainConfig(model="ar", data="synthetic", n_points=20, limit_train=128,
                      batch_size=64, max_epochs=1, ema=0.75,
                      model_config={"hidden": 8, "n_layers": 1, "n_mix": 2})
    model = T.build_model("ar", T.model_config("ar", 18, cfg.model_config), seed=0)
    twin_init = {k: p.detach().clone() for k, p in model.named_parameters()}
    train(cfg, out=tmp_path, work=tmp_path)
    shipped = torch.load(tmp_path / "ar.pt", weights_only=True)
    for k in twin:
        assert torch.allclose(scored[0][k], twin[k], atol=1e-6), k      # what was scored
        assert torch.allclose(shipped[k], twin[k], atol=1e-6), k        # what shipped
    assert any(not torch.allclose(twin[k], twin_init[k]) for k in twin)
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match=r"ema must be in \[0, 1\).*got " + str(bad)):
            train(TrainConfig(**{**cfg.__dict__, "ema": bad}), out=tmp_path, work=tmp_path)


@pytest.mark.slow
def test_resume_after_kill_is_bit_for_bit(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ref, cut = tmp_path / "ref", tmp_path / "cut"
    subprocess.run(_train_cmd(ref), cwd=ROOT, env=env, check=True, capture_output=True)

    proc = subprocess.Popen(_train_cmd(cut, "--checkpoint-every-steps", "7"), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = cut / "flow.ckpt"
    deadline = time.monotonic() + 120
    while not ckpt.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert ckpt.exists(), "no checkpoint was written before the run ended"
    state = torch.load(ckpt, weights_only=True)["state"]
    assert not state["done"], "the run finished before it could be killed"
    assert not (cut / "flow.pt").exists()

    # a checkpoint made with other settings is refused
    bad = subprocess.run(_train_cmd(cut, "--checkpoint-every-steps", "7", "--lr", "0.1",
                                    "--resume"), cwd=ROOT, env=env, capture_output=True,
                         text=True)
    assert bad.returncode != 0 and "another config" in bad.stderr

    subprocess.run(_train_cmd(cut, "--checkpoint-every-steps", "7", "--resume"), cwd=ROOT,
                   env=env, check=True, capture_output=True)
    assert_same_run(ref, cut, "flow")


def assert_same_run(ref, cut, name):
    """The weights of two runs are bit-identical, and so are their logs (wall time aside)."""
    a = torch.load(ref / f"{name}.pt", weights_only=True)
    b = torch.load(cut / f"{name}.pt", weights_only=True)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k

    def rows(path):
        with open(path) as f:
            return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in csv.DictReader(f)]
    assert rows(ref / f"{name}.csv") == rows(cut / f"{name}.csv")


class _RunsACommand:
    """What a tampered checkpoint could hold: unpickling it would create ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("payload", ["reduce", "extra_key", "not_a_dict", "garbage"])
def test_resume_never_runs_code_from_a_checkpoint(tmp_path, payload):
    work, marker = tmp_path / "work", tmp_path / "pwned"
    work.mkdir()
    ckpt = work / "flow.ckpt"
    if payload == "garbage":
        ckpt.write_bytes(os.urandom(4096))
    else:
        obj = {"reduce": {"model": {}, "optimizer": {}, "state": _RunsACommand(marker),
                          "train_config": {}},
               "extra_key": {"model": {}, "optimizer": {}, "state": {}, "train_config": {},
                             "hook": "x"},
               "not_a_dict": [torch.zeros(2)]}[payload]
        torch.save(obj, ckpt)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(_train_cmd(work, "--resume"), cwd=ROOT, env=env, capture_output=True,
                          text=True)
    assert not marker.exists(), "loading the checkpoint ran a command"
    assert done.returncode != 0
    assert "flow.ckpt" in done.stderr and "start without --resume" in done.stderr
    assert not (work / "flow.pt").exists()
