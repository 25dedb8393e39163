"""The energy-based family (learned.models.ebm) and the realism score (learned.score)."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from learned.models import LEARNED, EBMModel  # noqa: E402
from learned.train import TrainConfig, load_split, train  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"base": "ar2_heading", "channels": 4, "hidden": 16, "n_candidates": 4,
         "n_negatives": 64}
SHIPPED = (ROOT / "assets" / "models" / "ebm.pt").exists()
needs_shipped = pytest.mark.skipif(not SHIPPED, reason="assets/models/ebm.pt not built")


@pytest.fixture(scope="module")
def data():
    return load_split("synthetic", "val", n_points=20)


def small(data, **overrides):
    x, y = data
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = EBMModel(EBMModel.Config(n_turns=x.shape[1], **{**SMALL, **overrides}))
    return model.fit_data(x, y, generator=torch.Generator().manual_seed(0))


def auc(pos, neg) -> float:
    """P(a positive scores above a negative), ties halved (Mann-Whitney)."""
    pos, neg = np.asarray(pos, np.float64), np.asarray(neg, np.float64)
    return float(((pos[:, None] > neg[None, :]).sum()
                  + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg)))


# -- the model ---------------------------------------------------------------------------------
def test_registered_with_no_likelihood_and_an_honest_energy(data):
    x, y = data
    assert LEARNED["ebm"] is EBMModel and EBMModel.likelihood is None
    model = small(data).eval()
    with pytest.raises(NotImplementedError, match="no exact likelihood"):
        model.log_prob(x[:4], y[:4])
    e = model.energy(x[:4], y[:4])
    assert e.shape == (4,) and torch.isfinite(e).all()
    torch.testing.assert_close(model.log_density_unnormalised(x[:4], y[:4]), -e)
    with pytest.raises(TypeError, match="energy needs y"):
        model.energy(x[:4], None)
    # a closed path (no chord) has a finite energy too
    closed = torch.full((1, x.shape[1]), 2 * math.pi / (x.shape[1] + 1))
    assert torch.isfinite(model.energy(closed, y[:1])).all()


def test_config_errors():
    with pytest.raises(ValueError, match="base must be one of .* got 'gan'"):
        EBMModel(EBMModel.Config(n_turns=8, base="gan"))
    with pytest.raises(ValueError, match=r"contrast must be in \[0, 1\], got 2"):
        EBMModel(EBMModel.Config(n_turns=8, base="ar2_heading", contrast=2.0))


def test_training_step_lowers_the_nce_loss_and_leaves_the_base_alone(data):
    x, y = data
    model = small(data)
    base = {k: v.clone() for k, v in model.base.state_dict().items()}
    opt = model.make_optimizer(lr=3e-3)
    fixed = lambda: model.validation_score(x[:256], y[:256])             # noqa: E731
    first = fixed()
    for step in range(40):
        loss = model.train_step((x[:256], y[:256]), opt,
                                generator=torch.Generator().manual_seed(step), grad_clip=5.0)
        assert isinstance(loss, float) and math.isfinite(loss)
    assert fixed() < first
    for k, v in model.base.state_dict().items():
        assert torch.equal(v, base[k]), k


def test_sampling_shape_range_and_determinism(data):
    x, y = data
    model = small(data).eval()
    g = lambda: torch.Generator().manual_seed(3)                         # noqa: E731
    a = model.sample(16, y[:16], generator=g())
    assert a.shape == (16, x.shape[1]) and a.abs().max() <= math.pi
    assert torch.equal(a, model.sample(16, y[:16], generator=g()))
    assert model.sample(5, generator=g()).shape == (5, x.shape[1])
    assert model.sample(2, {"sinuosity": 1.3, "length_km": 100.0}, generator=g(),
                        refine_steps=2).shape == (2, x.shape[1])
    with pytest.raises(ValueError, match="n_candidates must be an integer >= 1, got 0"):
        model.sample(2, generator=g(), n_candidates=0)


def test_metropolis_hastings_targets_the_tilted_base(data):
    """With f(x) = a * x[0], q exp(f) shifts a Gaussian base's first angle by a * var: the
    independence sampler must move the sample mean there."""
    x, y = data
    model = small(data, sinuosity_weight=0.0).eval()
    a = 1.0
    model.residual = lambda xx, yy: a * torch.as_tensor(xx)[:, 0]        # a known energy
    var = float(model.base.covariance()[0, 0])
    s = model.sample(2000, y[:1], generator=torch.Generator().manual_seed(0), n_candidates=32,
                     exact_sinuosity=False)           # the chain itself, not the match
    assert abs(float(s[:, 0].mean()) - a * var) < 0.25 * a * var


def test_train_with_the_loop_and_resume_after_an_interruption(tmp_path, data, monkeypatch):
    cfg = TrainConfig(model="ebm", data="synthetic", n_points=20, max_epochs=2, batch_size=256,
                      limit_train=512, checkpoint_every_steps=1, model_config=SMALL)
    card = train(cfg, out=tmp_path / "ref", work=tmp_path / "ref")
    assert math.isfinite(card["metrics"]["val_nce"])
    assert card["metrics"]["test_nll_per_angle"] is None        # no likelihood reported

    calls = {"n": 0}
    step = EBMModel.train_step

    def dies_at_the_third(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return step(self, *args, **kwargs)

    monkeypatch.setattr(EBMModel, "train_step", dies_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, out=tmp_path / "cut", work=tmp_path / "cut")
    monkeypatch.setattr(EBMModel, "train_step", step)
    train(cfg, out=tmp_path / "cut", work=tmp_path / "cut", resume=True)
    a = torch.load(tmp_path / "ref" / "ebm.pt", weights_only=True)
    b = torch.load(tmp_path / "cut" / "ebm.pt", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# -- the shipped model -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shipped():
    from learned import pretrained
    return pretrained.load("ebm")


@needs_shipped
@pytest.mark.slow
def test_shipped_model_follows_the_requested_sinuosity(shipped):
    from learned._metrics import realised_sinuosity
    for target in (1.1, 1.5, 2.5, 4.0):             # the tails too
        s = shipped.sample(200, {"sinuosity": target, "length_km": 200.0},
                           generator=torch.Generator().manual_seed(0))
        realised = realised_sinuosity(s.double().numpy())
        assert abs(np.median(realised) - target) < 0.15 * target, target


# -- the score ---------------------------------------------------------------------------------
def _test_paths():
    """Real test rivers as polylines in metres (64 points, as the dataset keeps them)."""
    from learned.data import load_rivers, turns_to_xy
    test = load_rivers("test")
    xy = turns_to_xy(test.turns.astype(np.float64))                     # chord = 1
    scale = test.length_km * 1000.0 / test.sinuosity                    # chord in metres
    return [np.stack([-p[:, 1], p[:, 0]], axis=1) * s for p, s in zip(xy, scale)]


@needs_shipped
@pytest.mark.slow
def test_score_is_calibrated_on_real_test_rivers():
    from learned.score import score
    s = score(_test_paths())
    assert s.min() >= 0.0 and s.max() <= 1.0
    assert abs(np.median(s) - 0.5) < 0.05                    # uniform on [0, 1]
    assert abs((s < 0.1).mean() - 0.1) < 0.05


@needs_shipped
@pytest.mark.slow
def test_score_tells_real_rivers_from_walkers_but_not_from_samples():
    from learned import pretrained
    from learned._rivers import turns_to_xy
    from learned.score import score
    from procgen.walkers import coin_flip
    real = score(_test_paths())
    walkers = score(coin_flip(len(real), 200, turn=np.pi / 10, rng=0), cell_size=500.0)
    assert auc(real, walkers) >= 0.95
    x_te, y_te = load_split("rivers", "test")
    model = pretrained.load("vae")
    fake = model.sample(len(x_te), y_te, generator=torch.Generator().manual_seed(0))
    xy = turns_to_xy(fake.double().numpy())
    paths = [np.stack([-p[:, 1], p[:, 0]], axis=1) * 1e5 for p in xy]
    assert auc(real, score(paths, y_te)) <= 0.65


def test_score_of_bad_input_names_the_path_and_the_value():
    from learned.score import path_turns
    line = [[0.0, 0.0], [0.0, 1.0], [0.0, 2.0]]
    with pytest.raises(ValueError, match=r"paths\[1\] must have at least 3 points, got 2"):
        path_turns([line, [[0, 0], [1, 1]]])
    with pytest.raises(ValueError, match=r"paths\[0\] must be finite, got \[nan, 1.0\] at "
                                         r"point 1"):
        path_turns([[[0, 0], [np.nan, 1.0], [0, 2]]])
    with pytest.raises(ValueError, match=r"paths\[0\] must have a positive length, got 3 "
                                         r"points all at \[5.0, 5.0\]"):
        path_turns([[[5, 5]] * 3])
    with pytest.raises(ValueError, match="cell_size must be a finite number of metres > 0, "
                                         "got -1"):
        path_turns([line], cell_size=-1)
    with pytest.raises(ValueError, match=r"paths\[0\] must have shape \(N, 2\)"):
        path_turns([[[0, 0, 0], [1, 1, 1], [2, 2, 2]]])
    with pytest.raises(ValueError, match="at least one path"):
        path_turns([])


def test_a_closed_path_is_scored_with_sinuosity_ten():
    from learned.score import MAX_SINUOSITY, path_turns
    t = np.linspace(0, 2 * np.pi, 300)
    circle = np.stack([np.sin(t), np.cos(t)], 1) * 20.0                  # cells, closed
    turns, sin, km = path_turns([circle], cell_size=1000.0)
    assert sin[0] == MAX_SINUOSITY and abs(km[0] - 2 * np.pi * 20) < 0.1
    assert np.isfinite(turns).all()
    if SHIPPED:
        from learned.score import score
        s = score([circle], cell_size=1000.0)
        assert 0.0 <= s[0] <= 1.0


def test_units_cells_and_metres_agree():
    from learned.score import path_turns
    path = np.array([[0.0, 0.0], [3.0, 40.0], [0.0, 80.0], [2.0, 120.0], [9.0, 150.0]])
    a = path_turns([path], cell_size=250.0)
    b = path_turns([path * 250.0])
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-6)


def test_import_learned_imports_no_torch_and_score_is_callable():
    code = ("import sys, learned; assert 'torch' not in sys.modules; "
            "import learned.score as m; assert callable(learned.score); "
            "assert learned.score.score is m.score; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


# -- the command -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def level_file(tmp_path_factory):
    import procgen
    path = tmp_path_factory.mktemp("levels") / "walkers.npz"
    procgen.generate_level(seed=1, shape=(128, 128), cell_size=1000.0,
                           rivers="walker").save(path)
    return path


@needs_shipped
def test_score_command_prints_a_table_per_river(level_file, capsys):
    from learned.score import main
    import procgen
    assert main([str(level_file)]) == 0
    out = capsys.readouterr().out
    n = len(procgen.Level.load(level_file).rivers)
    assert "score" in out.splitlines()[0] and f"{n} rivers: median score" in out
    assert sum(1 for line in out.splitlines() if "walker" in line) == n


def test_score_command_errors_cleanly(tmp_path, capsys):
    import procgen
    from learned.score import main
    assert main([str(tmp_path / "missing.npz")]) == 2
    assert "error: level: no such file" in capsys.readouterr().err
    empty = tmp_path / "dry.npz"
    procgen.generate_level(seed=1, shape=(64, 64), rivers="none").save(empty)
    assert main([str(empty)]) == 2
    assert "has no rivers to score" in capsys.readouterr().err


def test_score_is_a_procgen_command_by_entry_point():
    from importlib.metadata import entry_points
    found = [ep for ep in entry_points(group="procgen.commands") if ep.name == "score"]
    assert found and found[0].value == "learned.score:main"


@needs_shipped
@pytest.mark.slow
def test_procgen_score_runs_the_registered_command(level_file, tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "procgen.cli", "score", *map(str, args)],
                              capture_output=True, text=True, cwd=ROOT, timeout=300)
    done = run(level_file)
    assert done.returncode == 0 and "median score" in done.stdout, done.stderr
    missing = run(tmp_path / "missing.npz")
    assert missing.returncode == 2 and "no such file" in missing.stderr
