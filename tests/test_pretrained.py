"""learned.pretrained: loading shipped weights, and clear errors for missing, corrupt or
mismatched files."""

import json
import shutil

import pytest

torch = pytest.importorskip("torch")

from learned import pretrained  # noqa: E402
from learned.pretrained import PretrainedError  # noqa: E402
from learned.train import build_model, load_split, model_config  # noqa: E402


def save_tiny(root, name="flow", **overrides):
    """A small untrained model saved the way learned.train saves one."""
    x, y = load_split("synthetic", "val", n_points=16)
    small = {"flow": {"hidden": 8, "n_layers": 2, "bins": 4},
             "ar": {"hidden": 8, "n_layers": 1, "n_mix": 2}}[name]
    cfg = model_config(name, x.shape[1], {**small, **overrides})
    model = build_model(name, cfg, seed=0).fit_data(x, y)
    root.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), root / f"{name}.pt")
    import dataclasses
    (root / f"{name}.json").write_text(json.dumps({"name": name,
                                                   "config": dataclasses.asdict(cfg)}))
    return model


@pytest.mark.parametrize("name", ["flow", "ar"])
def test_round_trip(tmp_path, name):
    model = save_tiny(tmp_path, name)
    assert pretrained.available(tmp_path) == [name]
    loaded = pretrained.load(name, root=tmp_path)
    g = lambda: torch.Generator().manual_seed(3)                          # noqa: E731
    assert torch.equal(loaded.sample(4, generator=g()), model.eval().sample(4, generator=g()))


def test_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no pretrained model 'flow'.*missing"):
        pretrained.load("flow", root=tmp_path)
    save_tiny(tmp_path)
    (tmp_path / "flow.pt").unlink()
    assert pretrained.available(tmp_path) == []
    with pytest.raises(FileNotFoundError, match="flow.pt is missing"):
        pretrained.load("flow", root=tmp_path)


def test_corrupt_weights(tmp_path):
    save_tiny(tmp_path)
    data = (tmp_path / "flow.pt").read_bytes()
    (tmp_path / "flow.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(PretrainedError, match="flow.pt is corrupt"):
        pretrained.load("flow", root=tmp_path)


def test_corrupt_card(tmp_path):
    save_tiny(tmp_path)
    (tmp_path / "flow.json").write_text("{not json")
    with pytest.raises(PretrainedError, match="flow.json is corrupt"):
        pretrained.load("flow", root=tmp_path)
    assert pretrained.available(tmp_path) == []


def test_mismatched(tmp_path):
    save_tiny(tmp_path)
    other = tmp_path / "other"
    save_tiny(other, hidden=12)
    shutil.copy(other / "flow.json", tmp_path / "flow.json")   # card says hidden=12
    with pytest.raises(PretrainedError, match="does not match its card"):
        pretrained.load("flow", root=tmp_path)
    card = json.loads((tmp_path / "flow.json").read_text())
    card["config"]["depth_of_river"] = 3
    (tmp_path / "flow.json").write_text(json.dumps(card))
    with pytest.raises(PretrainedError, match="config does not fit"):
        pretrained.load("flow", root=tmp_path)


@pytest.mark.parametrize("name", pretrained.available())
def test_shipped_models_load_and_sample(name):
    model = pretrained.load(name)
    card = pretrained.card(name)
    assert {"config", "data", "metrics", "training"} <= set(card)
    s = model.sample(16, generator=torch.Generator().manual_seed(0))
    assert s.shape == (16, card["config"]["n_turns"]) and torch.isfinite(s).all()


def test_assets_found_after_a_non_editable_install(tmp_path, monkeypatch):
    """Without a checkout beside the packages, the assets are looked up where setup.cfg's
    data_files put them (<prefix>/share/procgen-levels), and those globs cover every
    shipped file the learned layer reads."""
    import configparser
    import sys
    from pathlib import Path

    from learned import _assets

    root = Path(__file__).resolve().parent.parent
    monkeypatch.setattr(_assets, "_CHECKOUT", tmp_path / "no-checkout")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "env"))
    installed = tmp_path / "env" / "share" / "procgen-levels" / "models"
    installed.mkdir(parents=True)
    assert _assets.asset_dir("models") == installed
    cfg = configparser.ConfigParser()
    cfg.read(root / "setup.cfg")
    shipped = {str(p.relative_to(root)) for kind in ("rivers", "models")
               for p in (root / "assets" / kind).iterdir()
               if p.suffix in (".pt", ".json", ".npz")}
    covered = set()
    for target, sources in cfg["options.data_files"].items():
        for pattern in sources.replace("\n", ",").split(","):
            covered |= {str(p.relative_to(root)) for p in root.glob(pattern.strip())}
            assert target.endswith(Path(pattern.strip()).parent.name)
    assert shipped and shipped <= covered


def test_readme_nll_is_the_tables():
    """What the README computes, log p(x | y) of the test rivers with their own y in nats per
    angle, is the evaluation table's test NLL for the shipped flow."""
    from pathlib import Path

    from learned.data import load_rivers

    if "flow" not in pretrained.available():
        pytest.skip("no shipped flow")
    table = Path(__file__).resolve().parent.parent / "assets/models/evaluation/evaluation.json"
    want = json.loads(table.read_text())["models"]["flow"]["nll"]
    model = pretrained.load("flow")
    test = load_rivers("test")
    x, y = torch.from_numpy(test.turns), torch.from_numpy(test.y)
    nll = -model.log_prob(x, y).mean() / x.shape[1]
    assert float(nll) == pytest.approx(want, abs=5e-4)      # the table prints 4 decimals
    assert torch.equal(model.log_prob(x[:8], y[:8]), model.log_prob(x[:8], y[:8]))


#: Run in a fresh interpreter where ``import torch`` fails as if torch were not installed.
_NO_TORCH = """
import importlib, json, sys
sys.modules["torch"] = None
out = {}
import learned, learned._torch
from learned.data import load_rivers
out["data"] = len(load_rivers("test")) > 0
def attempt(key, code):
    try:
        exec(code, {})
        out[key] = None
    except ImportError as exc:
        out[key] = [type(exc).__name__, exc.name, str(exc)]
attempt("pretrained", "from learned import pretrained")
for name in ("baselines", "models", "train", "evaluate", "placement"):
    attempt(name, f"import learned.{name}")
attempt("RiverDataset", "from learned.data import RiverDataset")
attempt("procgen", "from procgen.rivers import get_generator; get_generator('learned:flow')")
print(json.dumps(out))
"""


def _without_torch() -> dict:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _NO_TORCH], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _says_what_to_install(what, kind, name, message):
    assert kind == "ModuleNotFoundError" and name == "torch", what
    assert "needs torch, which is not installed" in message
    assert 'pip install -e ".[learned]"' in message and 'pip install ".[learned]"' in message
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in message
    assert "procgen-levels[" not in message          # that package is on no index


@pytest.fixture(scope="module")
def without_torch():
    return _without_torch()


def test_without_torch_the_error_says_what_to_install(without_torch):
    out = dict(without_torch)
    out.pop("procgen")
    assert out.pop("data") is True                       # loading the data needs no torch
    assert out.pop("placement") is None                  # learned rivers run on learned.runtime
    assert set(out) == {"pretrained", "baselines", "models", "train", "evaluate",
                        "RiverDataset"}
    for what, error in out.items():
        _says_what_to_install(what, *error)
    assert out["pretrained"][2].startswith("learned.pretrained needs torch")


def test_without_torch_learned_rivers_still_work(without_torch):
    """procgen's ``rivers="learned:NAME"`` needs no torch: ``learned.placement`` samples
    with ``learned.runtime`` (tests/test_runtime.py places rivers that way)."""
    assert without_torch["procgen"] is None


def test_the_hint_pins_the_torch_of_the_learned_extra():
    import configparser
    from pathlib import Path

    from learned._torch import INSTALL_HINT, TORCH_PIN

    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).resolve().parent.parent / "setup.cfg")
    extra = [r.strip() for r in cfg["options.extras_require"]["learned"].splitlines()]
    assert TORCH_PIN in extra and f"pip install {TORCH_PIN} " in INSTALL_HINT


@pytest.mark.parametrize("name", ["ar", "flow", "vae", "gan", "diffusion"])
def test_a_card_asking_for_huge_layers_is_refused_before_allocating(tmp_path, name):
    import time
    for suffix in (".pt", ".json"):
        shutil.copy(pretrained.ROOT / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    card = json.loads((tmp_path / f"{name}.json").read_text())
    key = "hidden" if "hidden" in card["config"] else "n_turns"
    card["config"][key] = 10 ** 7
    (tmp_path / f"{name}.json").write_text(json.dumps(card))
    t0 = time.perf_counter()
    with pytest.raises(PretrainedError, match=r"needs [\d,.]+ MB of weights but .* holds"):
        pretrained.load(name, root=tmp_path)
    assert time.perf_counter() - t0 < 5.0


@pytest.mark.parametrize("bad", ["../../../../elsewhere/ok", "/etc/passwd", "flow.pt", "",
                                 "a b", "flow/../flow", "Flow", 7])
def test_a_model_name_is_a_plain_name(bad):
    with pytest.raises(ValueError, match="name must be a plain name"):
        pretrained.load(bad)


def test_a_card_whose_config_cannot_build_its_family_is_refused(tmp_path):
    save_tiny(tmp_path)
    card = json.loads((tmp_path / "flow.json").read_text())
    card["config"]["hidden"] = -3
    (tmp_path / "flow.json").write_text(json.dumps(card))
    with pytest.raises(PretrainedError, match="config does not build"):
        pretrained.load("flow", root=tmp_path)
