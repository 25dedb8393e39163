"""Tests for procgen.render: colour ramp, hillshade, map rendering, PNG writing."""

from __future__ import annotations

import dataclasses
import doctest
import math
import os

import numpy as np
import pytest
from PIL import Image

import procgen.render as render
from procgen.render import (
    DEFAULT_RAMP,
    Ramp,
    hillshade,
    render_map,
    save_png,
)


@dataclasses.dataclass
class River:
    """Stand-in for the river objects of a later issue: ``.path`` (N, 2) row/col, ``.width`` metres."""

    path: np.ndarray
    width: np.ndarray


def island(n: int = 128) -> np.ndarray:
    """A bumpy island: a Gaussian dome above sea level in the middle, sea at the edges."""
    r, c = np.mgrid[0:n, 0:n].astype(np.float64)
    d2 = (r - n / 2) ** 2 + (c - n / 2) ** 2
    h = 3000.0 * np.exp(-d2 / (2 * (n / 5) ** 2)) - 1500.0
    h += 150.0 * np.sin(r * 0.31) * np.cos(c * 0.23) + 80.0 * np.sin(0.17 * r + 0.29 * c)
    return h.astype(np.float32)


def leftovers(folder) -> list[str]:
    return sorted(os.listdir(folder))


def test_doctests():
    result = doctest.testmod(render, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10
    assert result.failed == 0


# ---------------------------------------------------------------- ramp

def test_colorize_hits_land_stop_colours_exactly():
    heights = np.array([[m for m, _ in DEFAULT_RAMP.land]], dtype=np.float32)
    got = DEFAULT_RAMP.colorize(heights)
    assert got.dtype == np.uint8 and got.shape == (1, len(DEFAULT_RAMP.land), 3)
    assert got[0].tolist() == [list(c) for _, c in DEFAULT_RAMP.land]


def test_colorize_hits_sea_stop_colours_exactly():
    below_zero = [(m, c) for m, c in DEFAULT_RAMP.sea if m < 0]
    got = DEFAULT_RAMP.colorize(np.array([[m for m, _ in below_zero]], dtype=np.float32))
    assert got[0].tolist() == [list(c) for _, c in below_zero]
    # the 0 m sea stop is the limit from below; 0 m itself is land
    just_below = DEFAULT_RAMP.colorize(np.array([[-1e-3]]))[0, 0]
    assert np.abs(just_below.astype(int) - DEFAULT_RAMP.sea[-1][1]).max() <= 1
    assert DEFAULT_RAMP.colorize(np.zeros((1, 1)))[0, 0].tolist() == list(DEFAULT_RAMP.land[0][1])


def test_colorize_interpolates_and_clamps():
    ramp = Ramp(sea=[(-100.0, (0, 0, 100)), (-10.0, (0, 0, 190))],
                land=[(10.0, (0, 100, 0)), (110.0, (100, 200, 50))])
    h = np.array([[-1e5, -55.0, -5.0, 0.0, 5.0, 60.0, 1e5]])
    assert ramp.colorize(h)[0].tolist() == [
        [0, 0, 100], [0, 0, 145], [0, 0, 190],        # deep clamp, midpoint, shallow clamp
        [0, 100, 0], [0, 100, 0], [50, 150, 25], [100, 200, 50],
    ]


def test_colorize_nan_is_nodata_grey_and_inf_rejected():
    got = DEFAULT_RAMP.colorize(np.array([[np.nan, 100.0]]))
    assert got[0, 0].tolist() == list(DEFAULT_RAMP.nodata)
    with pytest.raises(ValueError, match="height contains infinite"):
        DEFAULT_RAMP.colorize(np.array([[np.inf]]))


def test_default_ramp_looks_like_an_atlas():
    sea = DEFAULT_RAMP.colorize(np.array([[-6000.0, -100.0]]))[0].astype(int)
    assert (sea[:, 2] > sea[:, 0]).all() and sea[0].sum() < sea[1].sum()  # blue, deep darker
    low, snow = DEFAULT_RAMP.colorize(np.array([[0.0, 5000.0]]))[0].astype(int)
    assert low[1] > low[0] and low[1] > low[2]                           # lowland green
    assert snow.min() >= 240                                             # snow white
    assert DEFAULT_RAMP.sea[0][0] == -6000.0 and DEFAULT_RAMP.sea[-1][0] == 0.0
    assert [m for m, _ in DEFAULT_RAMP.land] == [0, 50, 200, 500, 1000, 2000, 3500, 5000]


@pytest.mark.parametrize("kwargs, match", [
    (dict(sea=[(-1.0, (0, 0, 0))], land=[(5.0, (0, 0, 0)), (1.0, (0, 0, 0))]), "land heights must be strictly increasing"),
    (dict(sea=[(1.0, (0, 0, 0))], land=[(0.0, (0, 0, 0))]), r"sea\[0\] height must be in"),
    (dict(sea=[(-1.0, (0, 0, 0))], land=[(0.0, (0, 0, 256))]), r"land\[0\] colour\[2\] must be in 0..255"),
    (dict(sea=[(-1.0, (0, 0))], land=[(0.0, (0, 0, 0))]), r"sea\[0\] colour must be an \(r, g, b\)"),
    (dict(sea=[], land=[(0.0, (0, 0, 0))]), "sea must hold at least one"),
])
def test_ramp_rejects_bad_stops(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Ramp(**kwargs)


def test_ramp_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_RAMP.lake = (0, 0, 0)


# ---------------------------------------------------------------- hillshade

@pytest.mark.parametrize("altitude", [10.0, 45.0, 70.0, 90.0])
def test_hillshade_flat_plane_is_uniform_sin_altitude(altitude):
    hs = hillshade(np.full((9, 7), 123.0, np.float32), cell_size=25.0, altitude=altitude)
    assert hs.dtype == np.float32 and hs.shape == (9, 7)
    np.testing.assert_allclose(hs, math.sin(math.radians(altitude)), atol=1e-6)


def test_hillshade_slope_facing_light_is_brighter():
    x = np.arange(32, dtype=np.float32) * 10.0
    rises_south_east = (x[:, None] + x[None, :]).astype(np.float32)   # faces north-west
    faces_light = hillshade(rises_south_east, cell_size=10.0)
    faces_away = hillshade(-rises_south_east, cell_size=10.0)
    flat = math.sin(math.radians(45.0))
    assert faces_light.min() > flat > faces_away.max()
    # a plane is shaded uniformly, borders included (linear-extrapolation padding)
    np.testing.assert_allclose(faces_light, faces_light[5, 5], atol=1e-6)


def test_hillshade_matches_esri_formula_on_a_tilted_plane():
    # z = 0.3 x_east + 0.1 y_north ; rows go south, so z falls by 0.1*cell per row
    rows, cols = np.mgrid[0:6, 0:6].astype(np.float64)
    z = (0.3 * cols - 0.1 * rows) * 5.0
    hs = hillshade(z.astype(np.float32), cell_size=5.0, azimuth=315.0, altitude=45.0)
    slope = math.atan(math.hypot(0.3, 0.1))
    aspect = math.atan2(-0.1, -0.3)              # ESRI: atan2(dz/dy_south, -dz/dx)
    zenith = math.radians(45.0)
    az_math = math.radians(360.0 - 315.0 + 90.0)
    esri = math.cos(zenith) * math.cos(slope) + math.sin(zenith) * math.sin(slope) * math.cos(az_math - aspect)
    np.testing.assert_allclose(hs, esri, atol=1e-5)


def test_hillshade_azimuth_and_clipping():
    east = np.arange(8, dtype=np.float32)
    slope45 = np.tile(east, (8, 1))                                      # 45 deg, faces west
    np.testing.assert_allclose(hillshade(slope45, cell_size=1.0, azimuth=270.0), 1.0, atol=1e-6)
    np.testing.assert_allclose(hillshade(slope45, cell_size=1.0, azimuth=90.0), 0.0, atol=1e-6)
    steep = np.tile(east * 3.0, (8, 1))                                  # sun in the east: shadow
    assert (hillshade(steep, cell_size=1.0, azimuth=90.0) == 0.0).all()
    hs = hillshade(island(64), cell_size=30.0, z_factor=3.0)
    assert hs.min() >= 0.0 and hs.max() <= 1.0


def test_hillshade_tiny_grids():
    assert hillshade(np.zeros((1, 1)), cell_size=1.0).shape == (1, 1)
    assert hillshade(np.arange(5.0)[None, :], cell_size=1.0).shape == (1, 5)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(cell_size=0.0), ValueError, "cell_size must be in"),
    (dict(cell_size=-3.0), ValueError, "cell_size must be in"),
    (dict(cell_size="10"), TypeError, "cell_size must be a real number"),
    (dict(cell_size=1.0, altitude=95.0), ValueError, "altitude must be in"),
    (dict(cell_size=1.0, z_factor=0.0), ValueError, "z_factor must be in"),
])
def test_hillshade_rejects_bad_options(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        hillshade(np.zeros((3, 3)), **kwargs)


@pytest.mark.parametrize("height, exc, match", [
    (np.zeros(5), ValueError, "height must be a 2-D array"),
    (np.zeros((2, 2, 2)), ValueError, "height must be a 2-D array"),
    (np.zeros((2, 2), bool), TypeError, "height must have a real numeric dtype"),
    (np.zeros((2, 2), complex), TypeError, "height must have a real numeric dtype"),
    (np.array([[1.0, np.nan]]), ValueError, "height contains NaN"),
    (np.array([[1.0, -np.inf]]), ValueError, "height contains infinite"),
    (np.zeros((0, 3)), ValueError, "height must not be empty"),
])
def test_hillshade_rejects_bad_height(height, exc, match):
    with pytest.raises(exc, match=match):
        hillshade(height, cell_size=1.0)


# ---------------------------------------------------------------- render_map

def test_render_map_island_is_not_degenerate():
    h = island(128)
    img = render_map(h, cell_size=30.0)
    assert img.dtype == np.uint8 and img.shape == (128, 128, 3)
    distinct = np.unique(img.reshape(-1, 3), axis=0)
    assert len(distinct) > 300
    assert (img.reshape(-1, 3).std(axis=0) > 20).all()
    sea, land = h < 0, h >= 0
    assert sea.sum() > 1000 and land.sum() > 1000
    blueish = img[..., 2].astype(int) > img[..., 0].astype(int) + 30
    assert blueish[sea].mean() > 0.99 and blueish[land].mean() < 0.2


def test_render_map_shading_only_on_land_and_flat_land_keeps_ramp_colour():
    h = island(96)
    plain = render_map(h, cell_size=30.0, shade=False)
    shaded = render_map(h, cell_size=30.0)
    sea = h < 0
    np.testing.assert_array_equal(plain, DEFAULT_RAMP.colorize(h))
    np.testing.assert_array_equal(shaded[sea], plain[sea])               # sea drawn flat
    assert (shaded[~sea] != plain[~sea]).any(axis=1).mean() > 0.5        # land shaded
    assert np.array_equal(render_map(h, cell_size=30.0, shade_strength=0.0), plain)
    flat = np.full((8, 8), 300.0, np.float32)
    np.testing.assert_array_equal(render_map(flat, cell_size=10.0), DEFAULT_RAMP.colorize(flat))


def test_render_map_water_mask_lakes_and_dry_depressions():
    h = np.full((20, 20), 200.0, np.float32)
    h[2:6, 2:6] = 150.0        # lake above sea level
    h[10:14, 10:14] = -300.0   # sea
    h[15:18, 2:5] = -20.0      # dry land below sea level
    water = np.zeros(h.shape, bool)
    water[2:6, 2:6] = True
    water[10:14, 10:14] = True
    img = render_map(h, cell_size=10.0, water=water, shade=False)
    assert (img[2:6, 2:6] == DEFAULT_RAMP.lake).all()
    assert (img[10:14, 10:14] == DEFAULT_RAMP.colorize(np.array([[-300.0]]))[0, 0]).all()
    assert (img[15:18, 2:5] == DEFAULT_RAMP.land[0][1]).all()
    # with shading: water stays flat even at its rim
    shaded = render_map(h, cell_size=10.0, water=water)
    assert (shaded[2:6, 2:6] == DEFAULT_RAMP.lake).all()


def test_render_map_nan_is_nodata_grey():
    h = island(64)
    h[30:34, 30:34] = np.nan
    img = render_map(h, cell_size=30.0)
    assert (img[30:34, 30:34] == DEFAULT_RAMP.nodata).all()
    assert not (img[:20] == DEFAULT_RAMP.nodata).all(axis=-1).any()


def test_rivers_change_pixels_along_their_path():
    h = np.full((64, 64), 400.0, np.float32)
    base = render_map(h, cell_size=10.0)
    path = np.array([[5.0, 5.0], [5.0, 40.0], [50.0, 40.0]])
    thin = River(path=path, width=np.full(3, 5.0))                       # < 1 cell: 1 px
    img = render_map(h, cell_size=10.0, rivers=[thin], river_color=(1, 2, 3))
    for r, c in [(5, 5), (5, 20), (5, 40), (30, 40), (50, 40)]:
        assert img[r, c].tolist() == [1, 2, 3]
    changed = (img != base).any(axis=-1)
    assert changed.sum() == pytest.approx(35 + 45 + 1, abs=3)            # one pixel wide
    assert not changed[20:, :30].any()
    wide = River(path=path, width=np.full(3, 70.0))                      # 7 px
    img_wide = render_map(h, cell_size=10.0, rivers=(wide,), river_color=(1, 2, 3))
    assert (img_wide != base).any(axis=-1).sum() > 5 * changed.sum()
    assert img_wide[8, 20].tolist() == [1, 2, 3] and img_wide[12, 20].tolist() != [1, 2, 3]


def test_rivers_varying_width_and_single_point():
    h = np.full((40, 40), 100.0, np.float32)
    river = River(path=np.array([[20.0, 2.0], [20.0, 20.0], [20.0, 38.0]]),
                  width=np.array([10.0, 50.0, 90.0]))
    dot = River(path=np.array([[5.0, 5.0]]), width=np.array([1.0]))
    img = render_map(h, cell_size=10.0, rivers=[river, dot], river_color=(0, 0, 0))
    black = (img == 0).all(axis=-1)
    assert black[5, 5]
    assert black[:, 10].sum() < black[:, 30].sum()                       # widens downstream


@pytest.mark.parametrize("rivers, exc, match", [
    ([object()], TypeError, r"rivers\[0\] must have .path"),
    ([River(np.zeros((3, 3)), np.ones(3))], ValueError, r"rivers\[0\].path must have shape \(N, 2\)"),
    ([River(np.zeros((3, 2)), np.ones(2))], ValueError, r"rivers\[0\].width must have shape \(3,\)"),
    ([River(np.full((2, 2), np.nan), np.ones(2))], ValueError, r"rivers\[0\] path and width must be finite"),
    ([River(np.zeros((2, 2)), -np.ones(2))], ValueError, r"rivers\[0\].width must be >= 0"),
    (5, TypeError, "rivers must be an iterable"),
])
def test_render_map_rejects_bad_rivers(rivers, exc, match):
    with pytest.raises(exc, match=match):
        render_map(np.zeros((8, 8)), cell_size=1.0, rivers=rivers)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(cell_size=0.0), ValueError, "cell_size must be in"),
    (dict(cell_size=1.0, water=np.zeros((8, 8))), TypeError, "water must be a bool mask"),
    (dict(cell_size=1.0, water=np.zeros((4, 8), bool)), ValueError, "water must have the same shape"),
    (dict(cell_size=1.0, shade_strength=1.5), ValueError, "shade_strength must be in"),
    (dict(cell_size=1.0, river_color=(0, 0, 300)), ValueError, r"river_color\[2\] must be in"),
    (dict(cell_size=1.0, ramp="atlas"), TypeError, "ramp must be a Ramp"),
    (dict(cell_size=1.0, shade="yes"), TypeError, "shade must be True or False"),
])
def test_render_map_rejects_bad_options(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        render_map(np.zeros((8, 8)), **kwargs)


def test_render_map_rejects_bad_height():
    with pytest.raises(ValueError, match="height contains infinite"):
        render_map(np.array([[0.0, np.inf]]), cell_size=1.0)
    with pytest.raises(ValueError, match="height must be a 2-D array"):
        render_map(np.zeros((2, 2, 3)), cell_size=1.0)
    with pytest.raises(TypeError, match="height must have a real numeric dtype"):
        render_map(np.array([["a"]]), cell_size=1.0)


# ---------------------------------------------------------------- save_png

@pytest.mark.parametrize("image, mode", [
    (np.random.default_rng(1).integers(0, 256, (7, 9, 3), dtype=np.uint8), "RGB"),
    (np.random.default_rng(2).integers(0, 256, (7, 9), dtype=np.uint8), "L"),
    (np.random.default_rng(3).integers(0, 65536, (7, 9), dtype=np.uint16), "I;16"),
])
def test_save_png_round_trips(tmp_path, image, mode):
    target = tmp_path / "out.png"
    assert save_png(image, target) == target
    with Image.open(target) as im:
        assert im.format == "PNG" and im.mode == mode
        back = np.asarray(im)
    assert back.dtype == image.dtype
    np.testing.assert_array_equal(back, image)
    assert leftovers(tmp_path) == ["out.png"]


def test_save_png_accepts_views_and_byte_swapped(tmp_path):
    image = np.arange(60, dtype=np.uint16).reshape(6, 10) * 1000
    save_png(image.astype(">u2")[:, ::2], tmp_path / "a.png")
    with Image.open(tmp_path / "a.png") as im:
        np.testing.assert_array_equal(np.asarray(im), image[:, ::2])


@pytest.mark.parametrize("image, exc, match", [
    (np.zeros((4, 4), np.float32), TypeError, "image must be uint8 .* got dtype float32"),
    (np.zeros((4, 4, 3), np.uint16), ValueError, r"image must be .* got uint16 with shape \(4, 4, 3\)"),
    (np.zeros((4, 4, 4), np.uint8), ValueError, r"got uint8 with shape \(4, 4, 4\)"),
    (np.zeros(4, np.uint8), ValueError, r"got uint8 with shape \(4,\)"),
    ([[0, 1]], TypeError, "image must be a numpy array"),
])
def test_save_png_rejects_bad_images_and_writes_nothing(tmp_path, image, exc, match):
    target = tmp_path / "bad.png"
    with pytest.raises(exc, match=match):
        save_png(image, target)
    assert not target.exists()
    assert leftovers(tmp_path) == []


def test_save_png_missing_folder_raises_naming_path(tmp_path):
    target = tmp_path / "no" / "such" / "folder" / "map.png"
    with pytest.raises(ValueError, match="path: folder .* does not exist"):
        save_png(np.zeros((2, 2), np.uint8), target)
    assert not target.exists() and leftovers(tmp_path) == []


def test_save_png_failure_mid_write_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "map.png"
    save_png(np.full((2, 2), 7, np.uint8), target)
    before = target.read_bytes()

    def broken_save(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG partial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_png(np.zeros((2, 2), np.uint8), target)
    assert target.read_bytes() == before
    assert leftovers(tmp_path) == ["map.png"]
    with pytest.raises(OSError, match="disk full"):
        save_png(np.zeros((2, 2), np.uint8), tmp_path / "new.png")
    assert leftovers(tmp_path) == ["map.png"]
