"""Learned generators in Levels: same protocol, same placement, rivers flow downhill."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from procgen import generate_level  # noqa: E402
from procgen.rivers import RiverGenerator, get_generator  # noqa: E402
from learned import pretrained, runtime  # noqa: E402
from learned.export import export  # noqa: E402
from learned.data import turns_to_canonical  # noqa: E402
from learned.placement import LearnedRivers, river_generator  # noqa: E402

from .test_pretrained import save_tiny  # noqa: E402
from .test_rivers import assert_rivers_flow_downhill  # noqa: E402


@pytest.fixture
def tiny_root(tmp_path, monkeypatch):
    """Point learned.pretrained and learned.runtime at a folder holding small untrained
    models, exported to the runtime's files (what ``learned:NAME`` loads)."""
    for name in ("flow", "ar"):
        save_tiny(tmp_path, name)
        export(name, root=tmp_path)
    monkeypatch.setattr(pretrained, "ROOT", tmp_path)
    monkeypatch.setattr(runtime, "ROOT", tmp_path)
    return tmp_path


def test_turns_to_canonical():
    xy = turns_to_canonical(np.array([[0.3, -0.3, 0.2], [np.pi, np.pi, np.pi]]))
    assert xy.shape == (2, 5, 2)
    assert np.allclose(xy[:, 0], 0) and np.allclose(xy[:, -1], [1, 0])
    assert np.all(np.isfinite(xy))          # the closed square became a straight line


@pytest.mark.parametrize("name", ["flow", "ar"])
def test_protocol_and_downhill_with_any_model(tiny_root, name):
    gen = get_generator(f"learned:{name}")
    assert isinstance(gen, RiverGenerator) and gen.name == f"learned:{name}"
    for seed in (1, 2):
        level = generate_level(seed=seed, shape=(96, 128), cell_size=2500.0, preset="continent",
                               rivers=f"learned:{name}")
        assert level.rivers and all(r.generator == f"learned:{name}" for r in level.rivers)
        assert_rivers_flow_downhill(level)
    again = generate_level(seed=2, shape=(96, 128), cell_size=2500.0, preset="continent",
                           rivers=f"learned:{name}")
    assert np.array_equal(again.height, level.height)
    assert all(np.array_equal(a.path, b.path) for a, b in zip(again.rivers, level.rivers))


def test_river_generator_is_what_the_spec_names(tiny_root):
    """The entry point ``procgen.river_generators`` -> ``learned.placement:river_generator``:
    ``river_generator(NAME)`` is the generator of the spec ``learned:NAME``."""
    gen = river_generator("ar")
    assert isinstance(gen, LearnedRivers) and isinstance(gen, RiverGenerator)
    assert gen.name == "learned:ar"
    with pytest.raises(ValueError):
        river_generator("../elsewhere")


def _sinuosity(shapes):
    """Arc length over chord of canonical shapes (the chord is (0, 0) -> (1, 0))."""
    return np.linalg.norm(np.diff(shapes, axis=1), axis=2).sum(1)


def test_requested_sinuosity_is_passed(tiny_root, monkeypatch):
    """The request reaches the model as its condition, and the shapes are what the model
    drew for it."""
    gen = LearnedRivers("flow", sinuosity=1.5, length_km=100.0)
    seen, sample = [], gen.model.sample
    monkeypatch.setattr(gen.model, "sample",
                        lambda n, y=None, **kw: seen.append((y, kw)) or sample(n, y, **kw))
    shapes = gen.shapes(3, rng=np.random.default_rng(0), sinuosity=1.5, length_km=100.0)
    (y, kw), = seen
    assert y == {"sinuosity": 1.5, "length_km": 100.0}
    want = turns_to_canonical(sample(3, y, **kw).astype(np.float64))
    assert shapes.shape == want.shape and np.array_equal(shapes, want)


@pytest.mark.skipif("flow" not in runtime.available(), reason="no shipped flow weights")
def test_requested_sinuosity_is_realised_by_the_shipped_flow():
    """The request changes the rivers: their median sinuosity follows it (an untrained model
    ignores its condition, so this needs the shipped weights)."""
    gen = LearnedRivers("flow")
    got = {s: float(np.median(_sinuosity(gen.shapes(200, rng=np.random.default_rng(1),
                                                     sinuosity=s, length_km=200.0))))
           for s in (1.1, 1.3, 1.6)}
    assert got[1.1] < got[1.3] < got[1.6]
    assert all(abs(v - s) < 0.1 for s, v in got.items()), got


@pytest.mark.skipif("flow" not in runtime.available(), reason="no shipped flow weights")
@pytest.mark.parametrize("preset", ["continent", "islands", "archipelago"])
def test_shipped_flow_flows_downhill(preset):
    for seed in (1, 2):
        level = generate_level(seed=seed, shape=(96, 128), cell_size=2500.0, preset=preset,
                               rivers="learned:flow")
        assert all(r.generator == "learned:flow" for r in level.rivers)
        assert_rivers_flow_downhill(level)
