"""learned.runtime: the shipped models sampled with numpy alone.

Parity with torch given the same noise, for every family; log_prob parity where the family
has one; determinism; refusal of bad files; no torch on import; a level with learned rivers in
a fresh environment without torch; and (slow) the evaluation's two-sample test of runtime
samples against torch samples.
"""

import json
import math
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from learned import runtime
from learned.runtime import RuntimeFileError

ROOT = Path(__file__).resolve().parent.parent
FAMILIES = ["ar", "flow", "vae", "gan", "diffusion"]
Y = {"sinuosity": 1.4, "length_km": 200.0}


def _torch():
    return pytest.importorskip("torch")


# -- import and load ----------------------------------------------------------------------------
def test_importing_the_runtime_imports_neither_torch_nor_numba():
    code = ("import sys, learned.runtime\n"
            "print(sorted(m for m in ('torch', 'numba') if m in sys.modules))\n"
            "import learned.placement\n"          # procgen's kernels bring numba, not torch
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "False"


def test_levels_with_learned_rivers_need_no_torch():
    # torch made unimportable: the runtime, placement and the entry point still work
    code = ("import sys; sys.modules['torch'] = None\n"
            "from procgen import generate_level\n"
            "level = generate_level(seed=5, shape=(64, 64), cell_size=2500.0,\n"
            "                       preset='continent', rivers='learned:flow')\n"
            "print(len(level.rivers), {r.generator for r in level.rivers})")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    count, names = done.stdout.split(" ", 1)
    assert int(count) > 0 and names.strip() == "{'learned:flow'}"



def test_a_first_sample_on_the_runtimes_threads_imports_numba_once():
    # gan and diffusion split a dozen rivers over the runtime's threads, which both import
    # the kernels (and numba) on a process's first call: unguarded, that import raced
    code = ("from learned import runtime\n"
            "for name in ('diffusion', 'gan'):\n"
            "    print(runtime.load(name).sample(4, seed=0).shape)")
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              cwd=ROOT)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split("\n")[:2] == ["(4, 62)", "(4, 62)"]

@pytest.mark.parametrize("name", FAMILIES)
def test_every_shipped_model_loads_and_samples(name):
    model = runtime.load(name)
    assert model.family == name and name in runtime.available()
    x = model.sample(5, Y, seed=0)
    assert x.shape == (5, 62) and x.dtype == np.float32
    assert np.all(np.isfinite(x)) and np.all(np.abs(x) <= np.pi)
    assert model.sample(0, seed=0).shape == (0, 62)


# -- parity with torch ---------------------------------------------------------------------------
def _torch_ar_sample(ar, y, u_mix, u_logistic, temperature):
    """``ARModel._sample`` with explicit noise: torch draws the component with
    ``multinomial``, which takes no noise from outside; here it is the inverse CDF of the
    same uniform the runtime uses. Everything else is the torch model's own modules."""
    torch = _torch()
    n = y.shape[0]
    h = ar._init_state(y)
    prev = torch.zeros(n, 1)
    out = torch.empty(n, ar.n_turns)
    for t in range(ar.n_turns):
        o, h = ar.gru(ar._inputs(prev, y, t), h)
        logits, mu, log_s = (v[:, 0] for v in ar._mixture(o))
        cdf = torch.cumsum(torch.softmax(logits / temperature, -1), -1)
        k = (cdf <= u_mix[:, t:t + 1] * cdf[:, -1:]).sum(1).clamp(max=cdf.shape[1] - 1)
        m = mu.gather(1, k[:, None])[:, 0]
        s = torch.exp(log_s.gather(1, k[:, None])[:, 0]) * temperature
        p = u_logistic[:, t].clamp(1e-6, 1 - 1e-6)
        u = (m + s * (torch.log(p) - torch.log1p(-p))).clamp(-math.pi / ar.x_scale,
                                                              math.pi / ar.x_scale)
        out[:, t] = u
        prev = u[:, None]
    return out * ar.x_scale


def _conditions(n, seed=0):
    rng = np.random.default_rng(seed)
    return {"sinuosity": rng.uniform(1.0, 2.5, n), "length_km": rng.uniform(30.0, 2000.0, n)}


def parity_error(name, n=48, temperature=1.0, seed=0):
    """Largest |runtime - torch| over n rivers sampled from the same explicit noise."""
    torch = _torch()
    from learned import pretrained
    from learned._contract import wrap_angle

    model, rt = pretrained.load(name), runtime.load(name)
    y = _conditions(n, seed)
    with torch.no_grad():
        if name in ("flow", "gan", "diffusion"):
            # the torch model draws nothing but its noise for a full y: replay the generator
            ref = model.sample(n, y, generator=torch.Generator().manual_seed(seed),
                               temperature=temperature, exact_sinuosity=False).numpy()
            gen = torch.Generator().manual_seed(seed)
            noise = {k: (torch.randn if kind == "normal" else torch.rand)(s, generator=gen)
                     .numpy() for k, (kind, s) in rt.noise_shapes(n).items()}
            out = rt.sample_from_noise(y, noise, temperature=temperature)
        else:
            rng = np.random.default_rng(seed)
            noise = {k: (rng.standard_normal(s, dtype=np.float32) if kind == "normal"
                         else rng.random(s, dtype=np.float32))
                     for k, (kind, s) in rt.noise_shapes(n).items()}
            yt = torch.from_numpy(rt.condition(n, y))
            um, ul = torch.from_numpy(noise["mix"]), torch.from_numpy(noise["logistic"])
            if name == "ar":
                ref = _torch_ar_sample(model, yt, um, ul, temperature)
            else:
                eps = torch.from_numpy(noise["z"]) * temperature
                z = model.latent_mean + eps @ model.latent_chol.T    # the fitted prior
                ref = _torch_ar_sample(model.decoder, torch.cat([z, yt], 1), um, ul,
                                       temperature)
            ref = wrap_angle(ref).numpy()
            out = rt.sample_from_noise(y, noise, temperature=temperature)
    return float(np.abs(out - ref).max())


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("temperature", [1.0, 0.6])
def test_parity_with_torch_given_the_same_noise(name, temperature):
    # float32 on both sides, in another order: the AR model feeds each angle back in, so its
    # rounding compounds over 62 steps (1e-6 typically, 1.25e-5 for one river of 64)
    assert parity_error(name, n=32 if name == "diffusion" else 64,
                        temperature=temperature) <= 2e-5


@pytest.mark.parametrize("name", ["ar", "flow"])
def test_log_prob_parity_with_torch(name):
    torch = _torch()
    from learned import pretrained
    from learned.data import load_rivers

    model, rt = pretrained.load(name), runtime.load(name)
    test = load_rivers("test")
    x, y = test.turns[:256], test.y[:256]
    with torch.no_grad():
        ref = model.log_prob(torch.from_numpy(np.asarray(x, np.float32)),
                             torch.from_numpy(np.asarray(y, np.float32))).numpy()
    got = rt.log_prob(x, y)
    # sums of 62 float32 log densities: compared in the evaluation's unit, nats per angle
    assert np.abs(got - ref).max() / rt.n_turns <= 1e-5
    assert abs(got.mean() - ref.mean()) / rt.n_turns <= 1e-6


def test_to_runtime_of_a_torch_model_is_what_its_files_load():
    _torch()
    from learned import pretrained
    from learned.export import to_runtime

    a = to_runtime(pretrained.load("flow")).sample(8, Y, seed=3)
    assert np.array_equal(a, runtime.load("flow").sample(8, Y, seed=3))


def test_placement_takes_a_torch_model_as_its_exported_files():
    _torch()
    from learned import pretrained
    from learned.placement import LearnedRivers

    a = LearnedRivers("ar", model=pretrained.load("ar")).shapes(3, rng=np.random.default_rng(1))
    b = LearnedRivers("ar").shapes(3, rng=np.random.default_rng(1))
    assert a.shape == (3, 64, 2) and np.array_equal(a, b)


@pytest.mark.parametrize("length, kernel, dilation", [(62, 3, 1), (62, 3, 16), (16, 5, 1),
                                                     (10, 3, 16), (1, 5, 2)])
def test_layers_match_torch(length, kernel, dilation):
    torch = _torch()
    import torch.nn.functional as F

    from learned.runtime import _nn

    rng = np.random.default_rng(length + kernel + dilation)
    h = rng.standard_normal((3, length, 16), dtype=np.float32)
    w = rng.standard_normal((5, 16, kernel), dtype=np.float32)
    b = rng.standard_normal(5, dtype=np.float32)
    th = torch.from_numpy(h).transpose(1, 2)                                  # (B, C, L)
    ref = F.conv1d(th, torch.from_numpy(w), torch.from_numpy(b),
                   padding=dilation * (kernel - 1) // 2, dilation=dilation).transpose(1, 2)
    got = _nn.conv(h, _nn.conv_weight(w), b, kernel=kernel, dilation=dilation)
    assert np.abs(got - ref.numpy()).max() < 1e-5
    up = F.interpolate(th, scale_factor=2, mode="linear", align_corners=False).transpose(1, 2)
    assert np.abs(_nn.upsample2(h) - up.numpy()).max() < 1e-6


@pytest.mark.parametrize("length, kernel, dilation", [(62, 3, 1), (62, 3, 16), (16, 5, 1),
                                                     (10, 3, 16), (1, 5, 2)])
def test_fused_kernels_match_torch(length, kernel, dilation):
    # each kernel's output goes through a matrix product with conv_weight, so both its
    # arithmetic and its im2col layout are checked against torch's layers
    torch = _torch()
    import torch.nn.functional as F

    from learned.runtime import _nn
    from learned.runtime._jit import kernels

    k, t = kernels(), torch.from_numpy
    rng = np.random.default_rng(length + kernel + dilation)
    normal = lambda *shape: rng.standard_normal(shape, dtype=np.float32)  # noqa: E731
    n, c, e = 3, 16, 2
    h, bias, extra = normal(n, length, c), normal(c), normal(n, e)
    w = normal(5, c + e, kernel) / np.float32(10.0)                    # outputs of order 1
    gw, gb, film = normal(c), normal(c), normal(n, 4 * c)

    def conv_ref(x):                                                   # (B, L, C) -> (B, L, 5)
        return F.conv1d(t(x).transpose(1, 2), t(w[:, :x.shape[2]]), padding=dilation
                        * (kernel - 1) // 2, dilation=dilation).transpose(1, 2).numpy()

    def conv_got(fill, channels):
        cols = np.full((n, length, kernel * channels), np.nan, dtype=np.float32)
        fill(cols)
        return cols @ _nn.conv_weight(w[:, :channels])

    both = np.concatenate([h, np.broadcast_to(extra[:, None], (n, length, e))], axis=2)
    got = conv_got(lambda cols: k.act_im2col(h, bias, extra, cols, kernel, dilation, False),
                   c + e)
    assert np.abs(got - conv_ref(both + np.r_[bias, 0, 0])).max() < 1e-5
    act = F.gelu(t(h + bias)).numpy()
    got = conv_got(lambda cols: k.act_im2col(h, bias, extra[:, :0], cols, kernel, dilation,
                                             True), c)
    assert np.abs(got - conv_ref(act)).max() < 1e-5
    # group norm, FiLM from the second block of `film` (offset 2C), GELU
    gn = F.group_norm(t(h).transpose(1, 2), 8, t(gw), t(gb)).transpose(1, 2)
    a = F.gelu(gn * (1 + t(film[:, None, 2 * c:3 * c])) + t(film[:, None, 3 * c:])).numpy()
    got = conv_got(lambda cols: k.norm_film_gelu_im2col(h, 8, gw, gb, film, 2 * c, cols,
                                                        kernel, dilation), c)
    assert np.abs(got - conv_ref(a)).max() < 1e-5
    out = h.copy()
    k.add_act(out, act, bias, True)
    assert np.abs(out - (h + F.gelu(t(act + bias)).numpy())).max() < 1e-5


def test_gelu_numpy_and_numba_agree_with_erf():
    from learned.runtime._jit import kernels
    from learned.runtime._kernels_np import gelu_np

    x = np.linspace(-12, 12, 20001, dtype=np.float32)
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(float)])
    out = np.empty_like(x)
    kernels().gelu_flat(x, out)
    assert np.abs(gelu_np(x) - exact).max() < 2e-6
    assert np.abs(out - exact).max() < 2e-6


# -- conditions and determinism ------------------------------------------------------------------
@pytest.mark.parametrize("name", FAMILIES)
def test_same_seed_same_rivers(name):
    model = runtime.load(name)
    for y in (None, Y, {"sinuosity": 1.8}):
        a, b = model.sample(4, y, seed=11), model.sample(4, y, seed=11)
        assert np.array_equal(a, b)
    assert not np.array_equal(model.sample(4, seed=1), model.sample(4, seed=2))
    gen = np.random.default_rng(5)
    assert np.array_equal(model.sample(3, seed=np.random.default_rng(5)),
                          model.sample(3, seed=gen))


@pytest.mark.parametrize("name", ["gan", "vae", "diffusion"])
def test_rivers_do_not_depend_on_earlier_calls_or_where_the_match_runs(name, monkeypatch):
    # the convolutional families keep scratch arrays per thread between calls, and large
    # batches match each block's sinuosity on its own thread
    model = runtime.load(name)
    n = 40 if name == "diffusion" else 300
    monkeypatch.setattr(model, "MATCH_IN_BLOCKS_FROM", 1)
    first = model.sample(n, seed=1)
    model.sample(7, seed=3)
    model.sample(n + 33, seed=4)
    assert np.array_equal(model.sample(n, seed=1), first)
    monkeypatch.setattr(model, "MATCH_IN_BLOCKS_FROM", n + 1)
    assert np.array_equal(model.sample(n, seed=1), first)


def test_the_gan_mirrors_rivers_on_an_independent_coin(monkeypatch):
    model = runtime.load("gan")
    monkeypatch.setattr(model, "resample", 0)           # one candidate per river: plain draws
    rng = np.random.default_rng(3)
    y, z, coin = _conditions(200), rng.standard_normal((200, model.latent)), rng.random(200)
    x = model.sample_from_noise(y, {"z": z, "mirror": coin})
    monkeypatch.setattr(model, "mirror", False)
    raw = model.sample_from_noise(y, {"z": z})
    flip = coin < 0.5
    assert 0 < flip.sum() < 200
    assert np.allclose(x[flip], -raw[flip]) and np.array_equal(x[~flip], raw[~flip])


@pytest.mark.parametrize("name", ["gan", "flow"])
def test_the_density_ratio_scores_rivers_as_torch_does(name):
    torch = _torch()
    from learned import pretrained
    from learned.train import load_split
    model, rt = pretrained.load(name), runtime.load(name)
    assert rt.resample == model.config.resample > 0    # the shipped model resamples
    x, y = load_split("rivers", "test")
    with torch.no_grad():
        ref = model.ratio_logit(x[:200], y[:200]).numpy()
    out = rt.ratio_logit(x[:200].numpy(), y[:200].numpy())
    assert np.abs(out - ref).max() < 1e-4 * max(1.0, np.abs(ref).max())
    assert ref.std() > 0.1                              # a fitted ratio, not a constant


#: The control grid of the evaluation: every requested sinuosity at every length.
CONTROL = [(s, length) for s in (1.05, 1.1, 1.3, 1.6, 2.0, 2.5) for length in (60.0, 200.0,
                                                                           600.0)]


def _realised(turns):
    from procgen.paths import angles_to_path, sinuosity
    return sinuosity(angles_to_path(np.asarray(turns, dtype=np.float64)))


@pytest.mark.parametrize("name", FAMILIES)
def test_samples_have_exactly_the_requested_sinuosity(name):
    model = runtime.load(name)
    n = 4 if name == "diffusion" else 12
    s = np.repeat([c[0] for c in CONTROL], n)
    length = np.repeat([c[1] for c in CONTROL], n)
    turns = model.sample(len(s), {"sinuosity": s, "length_km": length}, seed=2)
    assert np.abs(_realised(turns) - s).max() < 1e-4
    # drawn conditions are matched too, and the raw draws are the model's own (not matched)
    cond = model.condition(60, None, rng=np.random.default_rng(0))
    noise = {k: np.random.default_rng(1).standard_normal(shape, dtype=np.float32)
             for k, (_, shape) in model.noise_shapes(60).items()}
    raw = model.sample_from_noise(cond, noise)
    matched = model.match_sinuosity(raw, cond)
    target = model.decode_y(cond)["sinuosity"]
    assert np.abs(_realised(matched) - target).max() < 1e-4
    assert np.abs(_realised(raw) - target).max() > 1e-3


@pytest.mark.parametrize("name", ["ar", "diffusion", "ebm"])
def test_torch_models_match_the_requested_sinuosity_too(name):
    torch = _torch()
    from learned import pretrained

    model = pretrained.load(name)
    gen = torch.Generator().manual_seed(0)
    y = {"sinuosity": np.array([1.05, 1.6, 2.5]), "length_km": np.array([60.0, 200.0, 600.0])}
    turns = model.sample(3, y, generator=gen)
    assert np.abs(_realised(turns.numpy()) - y["sinuosity"]).max() < 1e-4
    raw = model.sample(3, y, generator=gen, exact_sinuosity=False)
    assert np.abs(_realised(raw.numpy()) - y["sinuosity"]).max() > 1e-3


def test_y_none_draws_training_conditions_and_partial_y_keeps_the_given_key():
    model = runtime.load("ar")
    y = model.condition(500, None, rng=np.random.default_rng(0))
    assert {tuple(r) for r in y} <= {tuple(r) for r in model.y_bank}
    part = model.decode_y(model.condition(200, {"sinuosity": 1.7},
                                          rng=np.random.default_rng(0)))
    assert np.allclose(part["sinuosity"], 1.7, atol=1e-5)
    assert np.unique(part["length_km"].round(3)).size > 50


def test_encoding_is_the_datasets():
    from learned.data import encode_y

    y = {"sinuosity": [1.0, 1.3, 3.0], "length_km": [12.0, 250.0, 4000.0]}
    assert np.array_equal(runtime.load("flow").encode_y(y), encode_y(y))


def test_a_level_with_learned_rivers_is_the_same_for_the_same_seed():
    from procgen import generate_level

    kw = dict(seed=9, shape=(64, 80), cell_size=2500.0, preset="continent",
              rivers="learned:vae")
    a, b = generate_level(**kw), generate_level(**kw)
    assert a.rivers and len(a.rivers) == len(b.rivers)
    assert all(np.array_equal(r.path, s.path) for r, s in zip(a.rivers, b.rivers))
    assert np.array_equal(a.height, b.height)


def test_bad_arguments_are_named():
    model = runtime.load("flow")
    with pytest.raises(ValueError, match="temperature must be > 0, got 0"):
        model.sample(2, temperature=0)
    with pytest.raises(ValueError, match="n must be an int >= 0, got -1"):
        model.sample(-1)
    with pytest.raises(ValueError, match=r"y keys must be .* got \['sinuosity', 'width'\]"):
        model.sample(2, {"sinuosity": 1.2, "width": 3})
    with pytest.raises(ValueError, match="sinuosity >= 1"):
        model.sample(2, {"sinuosity": 0.5, "length_km": 10.0})
    # the shipped flow resamples: 16 candidates per river
    with pytest.raises(ValueError,
                       match=r"noise\['z'\] must have shape \(2, 16, 62\), got \(2, 61\)"):
        model.sample_from_noise(Y, {"z": np.zeros((2, 61)), "pick": np.zeros(2)})
    with pytest.raises(TypeError, match="log_prob needs y"):
        model.log_prob(np.zeros((2, 62)), None)
    with pytest.raises(NotImplementedError, match="gan runtime has no exact likelihood"):
        runtime.load("gan").log_prob(np.zeros((2, 62)), Y)


# -- bad files -----------------------------------------------------------------------------------
@pytest.fixture
def ar_copy(tmp_path):
    for suffix in (".npz", ".json"):
        shutil.copy(runtime.ROOT / f"ar{suffix}", tmp_path / f"ar{suffix}")
    return tmp_path


def _edit_card(folder, edit):
    card = json.loads((folder / "ar.json").read_text())
    edit(card)
    (folder / "ar.json").write_text(json.dumps(card))


def _rewrite_weights(folder, arrays):
    """Replace ar.npz and make the card's runtime section describe it (checksum included),
    so only the checks after the checksum can refuse it."""
    from learned.runtime import _format

    np.savez(folder / "ar.npz", **arrays)
    data = (folder / "ar.npz").read_bytes()
    _edit_card(folder, lambda c: c.update(runtime=_format.write_section("ar", data, arrays)))


def test_the_copied_files_load(ar_copy):
    assert runtime.load("ar", root=ar_copy).family == "ar"


def test_a_changed_byte_is_refused(ar_copy):
    data = bytearray((ar_copy / "ar.npz").read_bytes())
    data[len(data) // 2] ^= 1
    (ar_copy / "ar.npz").write_bytes(bytes(data))
    with pytest.raises(RuntimeFileError, match=r"ar\.npz: SHA-256 .* does not match its card"):
        runtime.load("ar", root=ar_copy)


def test_a_truncated_file_is_refused(ar_copy):
    data = (ar_copy / "ar.npz").read_bytes()
    (ar_copy / "ar.npz").write_bytes(data[:-100])
    with pytest.raises(RuntimeFileError, match=r"ar\.npz: \d+ bytes, but its card"):
        runtime.load("ar", root=ar_copy)


def test_a_card_disagreeing_with_an_arrays_shape_is_refused(ar_copy):
    _edit_card(ar_copy, lambda c: c["runtime"]["arrays"]["head.weight"].update(shape=[24, 64]))
    with pytest.raises(RuntimeFileError, match=r"ar\.npz: array 'head\.weight' is float32 "
                                               r"\[24, 128\], its card ar\.json says"):
        runtime.load("ar", root=ar_copy)


def test_a_card_whose_config_does_not_fit_the_weights_is_refused(ar_copy):
    _edit_card(ar_copy, lambda c: c["config"].update(hidden=64))
    with pytest.raises(RuntimeFileError, match=r"ar\.npz: array 'h0\.weight' is float32 "
                                               r"\[256, 2\], but the card's config needs"):
        runtime.load("ar", root=ar_copy)


def test_arrays_the_family_does_not_have_are_refused(ar_copy):
    with np.load(ar_copy / "ar.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["extra"] = np.zeros(3, np.float32)
    _rewrite_weights(ar_copy, arrays)
    with pytest.raises(RuntimeFileError, match=r"ar\.json: the arrays .* unexpected \['extra'\]"):
        runtime.load("ar", root=ar_copy)


def test_a_pickled_array_is_never_unpickled(ar_copy, tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    with np.load(ar_copy / "ar.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["head.bias"] = np.array([Evil()], dtype=object)
    from learned.runtime import _format

    np.savez(ar_copy / "ar.npz", **arrays)
    data = (ar_copy / "ar.npz").read_bytes()
    section = _format.write_section("ar", data, arrays)
    _edit_card(ar_copy, lambda c: c.update(runtime=section))
    with pytest.raises(RuntimeFileError, match=r"ar\.json: runtime array 'head\.bias' must "
                                               r"be described as .* got .*'object'"):
        runtime.load("ar", root=ar_copy)
    # a card that lies about the dtype: numpy refuses the object array, nothing unpickled
    section["arrays"]["head.bias"]["dtype"] = "float32"
    _edit_card(ar_copy, lambda c: c.update(runtime=section))
    with pytest.raises(RuntimeFileError, match=r"ar\.npz is corrupt or not plain numbers"):
        runtime.load("ar", root=ar_copy)
    assert not marker.exists()


def test_a_compressed_file_is_refused(ar_copy):
    with np.load(ar_copy / "ar.npz") as z:
        arrays = {k: z[k] for k in z.files}
    np.savez_compressed(ar_copy / "ar.npz", **arrays)
    from learned.runtime import _format

    data = (ar_copy / "ar.npz").read_bytes()
    _edit_card(ar_copy, lambda c: c.update(runtime=_format.write_section("ar", data, arrays)))
    with zipfile.ZipFile(ar_copy / "ar.npz") as zf:
        assert zf.infolist()[0].compress_type != zipfile.ZIP_STORED
    with pytest.raises(RuntimeFileError, match=r"ar\.npz: compressed members"):
        runtime.load("ar", root=ar_copy)


def test_a_card_without_runtime_section_says_how_to_export(ar_copy):
    _edit_card(ar_copy, lambda c: c.pop("runtime"))
    with pytest.raises(RuntimeFileError, match=r"ar\.json has no 'runtime' section.*"
                                               r"python -m learned\.export ar"):
        runtime.load("ar", root=ar_copy)
    assert runtime.available(ar_copy) == []


def test_missing_files_and_bad_names(ar_copy):
    (ar_copy / "ar.npz").unlink()
    with pytest.raises(FileNotFoundError, match=r"no runtime weights .*ar\.npz"):
        runtime.load("ar", root=ar_copy)
    with pytest.raises(FileNotFoundError, match=r"no runtime model 'flow'.*available: none"):
        runtime.load("flow", root=ar_copy)
    with pytest.raises(ValueError, match="name must be a plain name"):
        runtime.load("../ar", root=ar_copy)


def test_an_unknown_family_is_refused(ar_copy):
    _edit_card(ar_copy, lambda c: c.update(name="ebm_x"))
    with pytest.raises(RuntimeFileError, match=r"ar\.json: unknown model family 'ebm_x'"):
        runtime.load("ar", root=ar_copy)


# -- export --------------------------------------------------------------------------------------
def test_export_writes_weights_and_card_that_load(tmp_path):
    _torch()
    from learned.export import main

    for suffix in (".pt", ".json"):
        shutil.copy(runtime.ROOT / f"vae{suffix}", tmp_path / f"vae{suffix}")
    out = tmp_path / "out"
    out.mkdir()
    assert main(["vae", "--root", str(tmp_path), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["vae.json", "vae.npz"]
    card = json.loads((out / "vae.json").read_text())
    assert card["runtime"]["file"] == "vae.npz" and not any(
        k.startswith("encoder.") for k in card["runtime"]["arrays"])
    a = runtime.load("vae", root=out).sample(3, Y, seed=1)
    assert np.array_equal(a, runtime.load("vae").sample(3, Y, seed=1))


def test_the_shipped_runtime_files_are_what_the_exporter_writes():
    """The committed NAME.npz are the conversion of the committed NAME.pt (rebuild: the
    command in assets/models/README.md)."""
    _torch()
    from learned import pretrained
    from learned.export import runtime_arrays

    for name in FAMILIES:
        shipped = np.load(runtime.ROOT / f"{name}.npz", allow_pickle=False)
        fresh = runtime_arrays(pretrained.load(name), name)
        assert sorted(shipped.files) == sorted(fresh)
        assert all(np.array_equal(shipped[k], fresh[k]) for k in fresh), name


# -- the evaluation's two-sample test: runtime samples vs torch samples -------------------------
def c2st_runtime_vs_torch(name, *, n=3000, seed=0):
    """(C2ST accuracy runtime vs torch, median |realised - requested sinuosity| of each),
    with the conditions of the first n test rivers (cycled), as ``learned.evaluate`` does."""
    torch = _torch()
    from learned import _metrics as M
    from learned import pretrained
    from learned.data import load_rivers

    test = load_rivers("test")
    idx = np.arange(n) % len(test)
    y = np.asarray(test.y, np.float32)[idx]
    model, rt = pretrained.load(name), runtime.load(name)
    with torch.no_grad():
        ref = torch.cat([model.sample(len(y[i:i + 1000]), torch.from_numpy(y[i:i + 1000]),
                                      generator=torch.Generator().manual_seed(seed + i))
                         for i in range(0, n, 1000)]).double().numpy()
    got = np.concatenate([rt.sample(len(y[i:i + 1000]), y[i:i + 1000], seed=seed + i)
                          for i in range(0, n, 1000)]).astype(np.float64)
    acc = M.c2st(M.features(ref), M.features(got), rng=seed)
    requested = rt.decode_y(y)["sinuosity"]
    err = [float(np.median(np.abs(M.realised_sinuosity(s) - requested))) for s in (got, ref)]
    return acc, err[0], err[1]


@pytest.mark.slow
@pytest.mark.parametrize("name", FAMILIES)
def test_runtime_samples_are_indistinguishable_from_torch_samples(name):
    acc, sin_runtime, sin_torch = c2st_runtime_vs_torch(name)
    assert acc <= 0.52, f"{name}: C2ST {acc:.3f}"
    # sinuosity control unchanged: the same median error, up to sampling noise
    assert abs(sin_runtime - sin_torch) <= 0.01 + 0.1 * sin_torch, (sin_runtime, sin_torch)


# -- the benchmark keeps running -----------------------------------------------------------------
@pytest.mark.slow
def test_the_benchmark_runs():
    _torch()
    done = subprocess.run([sys.executable, str(ROOT / "tests/benchmarks/bench_runtime.py"),
                           "--families", "ar", "gan", "--batches", "1", "12", "--repeats", "1",
                           "--no-cold"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ar" in done.stdout and "samples/s" in done.stdout


# -- an install without torch --------------------------------------------------------------------
@pytest.mark.slow
def test_a_core_install_has_no_torch_places_learned_rivers_and_stays_small(tmp_path):
    """``pip install .`` (core dependencies only) into a fresh venv: no torch, the models
    ship, ``rivers='learned:NAME'`` places rivers, and the environment is <= 350 MB."""
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    py = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba")
    build = tmp_path / "src"
    # a copy without the checkout's build outputs and virtual environments
    shutil.copytree(ROOT, build, ignore=shutil.ignore_patterns(
        ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
        "runs"))
    done = subprocess.run([str(py), "-m", "pip", "install", "--quiet", str(build)],
                          capture_output=True, text=True, env=env, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    code = ("import importlib.util, sys\n"
            "assert importlib.util.find_spec('torch') is None\n"
            "from learned import runtime\n"
            "from procgen import generate_level\n"
            "level = generate_level(seed=2, shape=(64, 64), cell_size=2500.0,\n"
            "                       preset='continent', rivers='learned:gan')\n"
            "assert level.rivers and all(r.generator == 'learned:gan' for r in level.rivers)\n"
            "print(runtime.ROOT, sorted(runtime.available()))")
    done = subprocess.run([str(py), "-c", code], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    where, names = done.stdout.split(" ", 1)
    assert "share/procgen-levels/models" in where and names.strip() == str(sorted(FAMILIES))
    size = sum(p.stat().st_size for p in env_dir.rglob("*") if p.is_file() and not
               p.is_symlink())
    print(f"core install: {size / 1e6:.0f} MB")
    assert size <= 350e6, f"the core install takes {size / 1e6:.0f} MB"
