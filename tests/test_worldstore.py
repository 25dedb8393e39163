"""Giant regions: Zarr stores on Dask (threads, a local cluster, resumed after a kill) and the
web map (tiles, and the page in a real headless Chromium)."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")
pytest.importorskip("dask")

from PIL import Image  # noqa: E402

from procgen.cli import main  # noqa: E402
from procgen.world import World  # noqa: E402
from procgen.worldstore import StoreMismatch, to_dask, to_zarr  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("height", "water", "lakes", "biomes", "rivers")


def small_world():
    return World(3, preset="continent", cell_size=2000.0, tile=256)


def layer(level, name):
    return level.river_width() if name == "rivers" else getattr(level, name)


def test_the_store_equals_one_region_of_2048_squared(tmp_path):
    world = World(7, preset="continent", cell_size=250.0)
    region = (-700, -1500, 2048, 2048)
    done = to_zarr(world, tmp_path / "w.zarr", region=region, chunks=512, layers=LAYERS)
    assert done == {"chunks": 16, "written": 16, "skipped": 0, "cells": 2048 * 2048}
    whole = world.region(region[0], region[1], region[2:])
    group = zarr.open_group(str(tmp_path / "w.zarr"), mode="r")
    for name in LAYERS:
        np.testing.assert_array_equal(group[name][:], layer(whole, name), err_msg=name)
    assert group["rivers"][:].max() > 0 and group["lakes"][:].max() > 0
    spec = group.attrs["procgen"]
    assert (spec["seed"], spec["cell_size"], spec["region"], spec["chunks"]) == \
        (7, 250.0, list(region), 512)
    assert spec["config"]["terrain"] and spec["procgen"] and spec["rivers"] == "flow"


def test_a_dask_array_of_regions(tmp_path):
    world = small_world()
    arr = to_dask(world, (-300, 100, 500, 300), chunks=128, layer="biomes")
    assert arr.chunks == ((128, 128, 128, 116), (128, 128, 44))
    np.testing.assert_array_equal(arr.compute(), world.region(-300, 100, (500, 300)).biomes)


def test_a_rerun_resumes_and_rewrites_only_what_is_missing(tmp_path):
    world = small_world()
    store = str(tmp_path / "w.zarr")
    to_zarr(world, store, region=(0, 0, 300, 300), chunks=100, layers=("height",))
    group = zarr.open_group(store, mode="r+")
    want = group["height"][:]
    # As if killed after the chunks were written but before two were marked done, one of
    # them half-written.
    group["_done"][1, 2] = 0
    group["_done"][2, 0] = 0
    group["height"][100:150, 200:300] = -1.0
    done = to_zarr(world, store, region=(0, 0, 300, 300), chunks=100, layers=("height",))
    assert (done["written"], done["skipped"]) == (2, 7)
    np.testing.assert_array_equal(zarr.open_group(store, mode="r")["height"][:], want)


@pytest.mark.slow
def test_an_export_killed_mid_way_resumes_to_the_same_bytes(tmp_path):
    store = tmp_path / "w.zarr"
    args = ["world", "export", "--region=-2000,-2000,2048,2048", "--seed", "5",
            "--cell-size", "250", "--chunks", "256", "--layers", "height,rivers",
            "--zarr", str(store), "-q"]
    code = ("import sys; from procgen.cli import main; sys.exit(main(sys.argv[1:]))")
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT)
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.2)
        try:
            done = zarr.open_group(str(store), mode="r")["_done"][:]
        except Exception:   # not created yet
            continue
        if 0 < done.sum() < done.size:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    marked = int(zarr.open_group(str(store), mode="r")["_done"][:].sum())
    assert 0 < marked < 64
    assert main(args) == 0
    group = zarr.open_group(str(store), mode="r")
    assert group["_done"][:].all()
    whole = World(5, cell_size=250.0).region(-2000, -2000, (2048, 2048))
    np.testing.assert_array_equal(group["height"][:], whole.height)
    np.testing.assert_array_equal(group["rivers"][:], whole.river_width())


@pytest.mark.slow
def test_a_local_cluster_of_two_processes_writes_the_same_bytes(tmp_path):
    distributed = pytest.importorskip("distributed")
    world = small_world()
    region = (-200, -300, 600, 700)
    to_zarr(world, tmp_path / "threads.zarr", region=region, chunks=128, layers=LAYERS)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        done = to_zarr(world, tmp_path / "cluster.zarr", region=region, chunks=128,
                       layers=LAYERS, client=client)
        assert done["written"] == 30
        assert len(client.scheduler_info()["workers"]) == 2
    a = zarr.open_group(str(tmp_path / "threads.zarr"), mode="r")
    b = zarr.open_group(str(tmp_path / "cluster.zarr"), mode="r")
    for name in LAYERS:
        assert a[name][:].tobytes() == b[name][:].tobytes(), name


def test_a_store_of_another_export_is_refused_never_mixed(tmp_path):
    world = small_world()
    store = tmp_path / "w.zarr"
    to_zarr(world, store, region=(0, 0, 64, 64), chunks=32, layers=("height",))
    before = sorted(p.name for p in store.rglob("*"))
    for kwargs in ({"region": (0, 1, 64, 64)}, {"region": (0, 0, 64, 64), "chunks": 16},
                   {"region": (0, 0, 64, 64), "layers": ("height", "water")}):
        opts = {"chunks": 32, "layers": ("height",), **kwargs}
        with pytest.raises(StoreMismatch, match="holds another export"):
            to_zarr(world, store, **opts)
    with pytest.raises(StoreMismatch, match="seed is 3 there, 4 here"):
        to_zarr(World(4, cell_size=2000.0, tile=256), store, region=(0, 0, 64, 64), chunks=32,
                layers=("height",))
    assert sorted(p.name for p in store.rglob("*")) == before
    other = tmp_path / "other.zarr"
    zarr.open_group(str(other), mode="w").attrs["x"] = 1
    with pytest.raises(StoreMismatch, match="not a procgen world store"):
        to_zarr(world, other, region=(0, 0, 64, 64), chunks=32)


def test_a_region_over_the_cap_is_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="over the cap of 1,000,000 cells"):
        to_zarr(small_world(), tmp_path / "w.zarr", region=(0, 0, 2000, 2000), chunks=256,
                max_cells=10 ** 6)
    assert not (tmp_path / "w.zarr").exists()


@pytest.mark.parametrize("args, message", [
    (["--region", "0,0,64"], "argument --region: must be ROW,COL,H,W"),
    (["--region", "0,0,0,64"], "--region: region rows must be"),
    (["--region", "0,0,64,64", "--layers", "height,foo"], "--layers must be a non-empty"),
    (["--region", "0,0,64,64", "--chunks", "8"], "--chunks must be"),
    (["--region", "0,0,4096,4096", "--max-cells", "100"], "is over the cap of 100 cells"),
])
def test_world_export_bad_input_is_one_line(tmp_path, capsys, args, message):
    try:
        rc = main(["world", "export", *args, "--zarr", str(tmp_path / "w.zarr"), "-q"])
    except SystemExit as exc:
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "w.zarr").exists()


def test_an_unreachable_scheduler_is_one_error_within_seconds(tmp_path, capsys):
    pytest.importorskip("distributed")
    start = time.perf_counter()
    rc = main(["world", "export", "--region", "0,0,64,64", "--zarr", str(tmp_path / "w.zarr"),
               "--scheduler", "tcp://127.0.0.1:9", "-q"])
    assert rc == 2 and time.perf_counter() - start < 15
    err = capsys.readouterr().err
    assert "--scheduler: cannot reach a Dask scheduler at 'tcp://127.0.0.1:9'" in err
    assert err.count("\n") == 1


def test_world_export_command_writes_and_resumes(tmp_path, capsys):
    args = ["world", "export", "--region=-64,-64,128,128", "--seed", "3", "--cell-size",
            "2000", "--chunks", "64", "--zarr", str(tmp_path / "w.zarr"), "--layers",
            "height,lakes"]
    assert main(args) == 0
    assert "4 of 4 chunks (0 already there)" in capsys.readouterr().out
    assert main(args) == 0
    assert "0 of 4 chunks (4 already there)" in capsys.readouterr().out


# -- the web map -------------------------------------------------------------------------------
def test_tiles_pyramid_is_drawn_from_the_zoom_below(tmp_path):
    from procgen.webmap import TILE, _halve, write_tiles
    world = small_world()
    info = write_tiles(world, tmp_path, region=(-300, -200, 700, 900))
    assert info["max_zoom"] == 2 and info["tiles"] == 12 + 4 + 1
    top = np.asarray(Image.open(tmp_path / "2" / "0" / "0.png"))
    picture = np.asarray(Image.open(tmp_path / "2" / "1" / "1.png"))
    assert top.shape == (TILE, TILE, 4) and (picture[..., 3] == 255).all()
    # The bottom-right tile is partly outside the region: transparent there.
    corner = np.asarray(Image.open(tmp_path / "2" / "3" / "2.png"))
    assert (corner[:700 - 512, :900 - 768, 3] == 255).all() and (corner[200:, :, 3] == 0).all()
    quad = np.zeros((2 * TILE, 2 * TILE, 4), np.uint8)
    for dy in (0, 1):
        for dx in (0, 1):
            quad[dy * TILE:(dy + 1) * TILE, dx * TILE:(dx + 1) * TILE] = np.asarray(
                Image.open(tmp_path / "2" / str(dx) / f"{dy}.png"))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "1" / "0" / "0.png")),
                                  _halve(quad))
    page = (tmp_path / "index.html").read_text()
    meta = json.loads(re.search(r"const META = (\{.*?\});", page).group(1))
    assert meta["seed"] == "3" and meta["row"] == "-300" and meta["max_zoom"] == 2


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")


def _browse(browser, page, hash_, *args, out=None):
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--window-size=900,600", "--virtual-time-budget=8000", *args,
           f"{page.as_uri()}#{hash_}"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_the_web_map_loads_from_disk_in_chromium_at_two_zoom_levels(tmp_path):
    from procgen.webmap import write_tiles
    browser = _chromium()
    world = World(7, preset="continent", cell_size=250.0)
    write_tiles(world, tmp_path / "map", region=(-512, -1024, 1024, 1536))
    page = tmp_path / "map" / "index.html"
    for z, want in ((3, 4), (1, 1)):
        dom = _browse(browser, page, f"z={z}&row=0&col=-256", "--dump-dom").stdout
        imgs = re.findall(r"<img[^>]*>", dom)
        loaded = [i for i in imgs if 'data-loaded="1"' in i and f'data-z="{z}"' in i]
        assert len(loaded) >= want and not any('data-loaded="error"' in i for i in imgs), dom[:2000]
        assert f"zoom {z} of 3" in dom
        assert "seed 7" in dom and "centre row 0, col -256" in dom
    shot = tmp_path / "shot.png"
    _browse(browser, page, "z=2&row=0&col=-256", f"--screenshot={shot}")
    rgb = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)
    assert len(np.unique(rgb, axis=0)) > 500          # a map, not a blank page


def test_world_tiles_command(tmp_path, capsys):
    assert main(["world", "tiles", "--region=-100,-100,300,300", "--seed", "3",
                 "--cell-size", "2000", "--out", str(tmp_path / "t"), "-q"]) == 0
    assert (tmp_path / "t" / "index.html").exists() and (tmp_path / "t" / "0" / "0" / "0.png").exists()
