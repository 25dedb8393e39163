"""Giant regions of an endless world: Dask arrays, and Zarr stores written chunk by chunk.

Regions of a :class:`~procgen.world.World` are exact crops of each other, so a huge region is
just its chunks, each one ``world.region`` call, made in any order on any machine:

* :func:`to_dask` gives one layer as a ``dask.array`` of ``world.region`` blocks (for xarray,
  for computing statistics lazily);
* :func:`to_zarr` (also ``World.to_zarr``) writes every chosen layer to a Zarr (v3) group, one
  Dask task per row of chunks, each chunk one ``world.region`` call whose layers are all
  written before the chunk is marked done; a re-run skips chunks already marked, so a killed
  export resumes. It runs on Dask's local threads by default, or on a cluster with
  ``client=distributed.Client(addr)``.

The group's ``procgen`` attributes record what the store holds (seed, config, cell size,
rivers, world settings, region, chunks, layers, procgen version); a store holding anything
else is refused, never mixed.

Needs the ``scale`` extra (``pip install -e ".[scale]"``: dask[distributed] and zarr);
``import procgen`` does not import them.

>>> import tempfile, os, numpy as np, zarr
>>> from procgen.world import World
>>> from procgen.worldstore import to_zarr
>>> world = World(3, cell_size=2000.0, tile=256)
>>> store = os.path.join(tempfile.mkdtemp(), "w.zarr")
>>> _ = to_zarr(world, store, region=(-100, -50, 96, 160), chunks=64, layers=("height",))
>>> z = zarr.open_group(store, mode="r")
>>> bool((z["height"][:] == world.region(-100, -50, (96, 160)).height).all())
True
"""

from __future__ import annotations

import importlib
import importlib.metadata
import math
from dataclasses import asdict

import numpy as np

from ._validate import check_int

__all__ = ["LAYERS", "DEFAULT_MAX_EXPORT_CELLS", "StoreMismatch", "check_region", "to_dask",
           "to_zarr", "store_spec"]

#: Layers a store can hold: name -> (dtype, what it is).
LAYERS = {
    "height": ("float32", "metres, sea level 0 (carved)"),
    "water": ("bool", "sea or lake"),
    "lakes": ("int32", "the world's lake ids, 0 off lakes"),
    "biomes": ("uint8", "procgen.biomes.Biome values"),
    "rivers": ("float32", "channel width in metres on river cells, 0 elsewhere"),
}
#: Largest region an export takes unless told otherwise: 65,536^2 cells (17 GB of height).
DEFAULT_MAX_EXPORT_CELLS = 65536 ** 2
_DONE = "_done"


class StoreMismatch(ValueError):
    """The store exists and holds a different world, region, chunking or layers."""


def _version() -> str:
    try:
        return importlib.metadata.version("procgen-levels")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a bare checkout
        from . import __version__
        return __version__


def _need(module: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name.split(".")[0] != module.split(".")[0]:
            raise
        raise ModuleNotFoundError(
            f"{module} is needed for Dask/Zarr exports: from a checkout run "
            f'`pip install -e ".[scale]"`', name=exc.name) from None



def check_region(region, *, max_cells=DEFAULT_MAX_EXPORT_CELLS) -> tuple[int, int, int, int]:
    """``(row, col, rows, cols)``, checked: row and col any 64-bit integers, sizes >= 1 and
    at most ``max_cells`` cells in all (None: no cap)."""
    try:
        row, col, rows, cols = region
    except (TypeError, ValueError):
        raise ValueError(f"region must be (row, col, rows, cols), got {region!r}") from None
    row = check_int("region row", row, lo=-2 ** 63, hi=2 ** 63 - 1)
    col = check_int("region col", col, lo=-2 ** 63, hi=2 ** 63 - 1)
    rows = check_int("region rows", rows, lo=1)
    cols = check_int("region cols", cols, lo=1)
    if max_cells is not None and rows * cols > max_cells:
        raise ValueError(f"region of {rows:,} x {cols:,} = {rows * cols:,} cells is over the "
                         f"cap of {max_cells:,} cells; pass max_cells (or --max-cells) to "
                         f"allow it")
    return row, col, rows, cols


def _check_layers(layers) -> tuple[str, ...]:
    if isinstance(layers, str):
        layers = (layers,)
    layers = tuple(layers)
    bad = [name for name in layers if name not in LAYERS]
    if not layers or bad:
        raise ValueError(f"layers must be a non-empty selection of {', '.join(LAYERS)}, got "
                         f"{layers!r}")
    if len(set(layers)) != len(layers):
        raise ValueError(f"layers must not repeat a name, got {layers!r}")
    return layers


def _check_chunks(chunks) -> int:
    # A chunk is one world.region call: the world's own region cap bounds its memory.
    return check_int("chunks", chunks, lo=16, hi=8192)


def _layer_of(level, name: str) -> np.ndarray:
    if name == "rivers":
        return level.river_width()
    return getattr(level, name)


def store_spec(world, region, chunks: int, layers) -> dict:
    """What a store of this export records (and must match to be resumed)."""
    return {"format": "procgen-world-store", "version": 1, "seed": int(world.seed),
            "cell_size": float(world.cell_size), "rivers": world.rivers_name,
            "config": world.config.to_dict(), "world": asdict(world.world),
            "region": list(region), "chunks": int(chunks), "layers": list(layers),
            "procgen": _version()}


def _blocks(region, chunks):
    row, col, rows, cols = region
    for i in range(math.ceil(rows / chunks)):
        for j in range(math.ceil(cols / chunks)):
            r0, c0 = i * chunks, j * chunks
            yield i, j, (row + r0, col + c0, min(chunks, rows - r0), min(chunks, cols - c0))


def to_dask(world, region, *, chunks: int = 1024, layer: str = "height",
            max_cells=DEFAULT_MAX_EXPORT_CELLS):
    """One layer of a region as a lazy ``dask.array``: block ``(i, j)`` is one
    ``world.region`` call.

    Parameters
    ----------
    world : procgen.world.World
    region : (row, col, rows, cols)
        Global cell of the top-left corner (any 64-bit integers) and size.
    chunks : int, optional
        Block side in cells, 16..8192 (default 1024).
    layer : str, optional
        One of :data:`LAYERS` (default ``'height'``).
    max_cells : int or None, optional
        Refuse larger regions (default 65,536^2); None lifts the cap.

    Examples
    --------
    >>> from procgen.world import World
    >>> from procgen.worldstore import to_dask
    >>> world = World(3, cell_size=2000.0, tile=256)
    >>> h = to_dask(world, (0, 0, 300, 200), chunks=128)
    >>> h.shape, h.chunks[0]
    ((300, 200), (128, 128, 44))
    >>> bool((h[100:120, 50:60].compute() == world.region(100, 50, (20, 10)).height).all())
    True
    """
    da = _need("dask.array")
    region = check_region(region, max_cells=max_cells)
    chunks = _check_chunks(chunks)
    (layer,) = _check_layers((layer,))
    row, col, rows, cols = region
    dtype = np.dtype(LAYERS[layer][0])
    sizes = tuple(tuple(min(chunks, n - k) for k in range(0, n, chunks)) for n in (rows, cols))

    def block(block_info=None):
        (r0, _), (c0, _) = block_info[None]["array-location"]
        h, w = block_info[None]["chunk-shape"]
        return _layer_of(world.region(row + r0, col + c0, (h, w)), layer).astype(dtype)

    return da.map_blocks(block, chunks=sizes, dtype=dtype, meta=np.empty((0, 0), dtype))


def _open_store(zarr, store, spec, region, chunks, layers):
    """The group, created for this export or checked against it."""
    try:
        group = zarr.open_group(store, mode="r+")
    except FileNotFoundError:
        group = None
    if group is not None:
        have = dict(group.attrs).get("procgen")
        if have is None:
            raise StoreMismatch(f"store {store!r} exists and is not a procgen world store; "
                                f"choose another path")
        differs = [k for k in spec if k != "procgen" and have.get(k) != spec[k]]
        if differs:
            raise StoreMismatch(
                f"store {store!r} holds another export (it differs in "
                f"{', '.join(differs)}: {differs[0]} is {have.get(differs[0])!r} there, "
                f"{spec[differs[0]]!r} here); choose another path or delete it")
        return group
    group = zarr.open_group(store, mode="w-")
    rows, cols = region[2], region[3]
    for name in layers:
        dtype, meaning = LAYERS[name]
        arr = group.create_array(name, shape=(rows, cols), chunks=(chunks, chunks),
                                 dtype=dtype, fill_value=0)
        arr.attrs["meaning"] = meaning
    nr, nc = math.ceil(rows / chunks), math.ceil(cols / chunks)
    # One element per chunk, each its own Zarr chunk: set once all layers of a chunk are in.
    group.create_array(_DONE, shape=(nr, nc), chunks=(1, 1), dtype="uint8", fill_value=0)
    group.attrs["procgen"] = spec
    return group


def _write_row(world, store, layers, blocks) -> int:
    """One Dask task: a row of chunks, west to east (neighbouring chunks share landmasses,
    which the world then drains once), each written and marked done on its own."""
    import numba
    import zarr
    # Dask runs a task per core: numba's own threads inside each would oversubscribe the
    # cores (the setting is per thread, so it stays with this task's thread).
    numba.set_num_threads(1)
    group = zarr.open_group(store, mode="r+")
    chunks = group[layers[0]].chunks[0]
    cells = 0
    for i, j, (row, col, h, w) in blocks:
        level = world.region(row, col, (h, w))
        window = (slice(i * chunks, i * chunks + h), slice(j * chunks, j * chunks + w))
        for name in layers:
            group[name][window] = _layer_of(level, name)
        group[_DONE][i, j] = 1
        cells += h * w
    return cells


def to_zarr(world, store, *, region, chunks: int = 1024,
            layers=("height", "water", "biomes", "rivers"), client=None, progress=False,
            max_cells=DEFAULT_MAX_EXPORT_CELLS) -> dict:
    """Write a region of an endless world to a Zarr (v3) group, chunk by chunk.

    Parameters
    ----------
    world : procgen.world.World
    store : str or path
        Zarr store (a folder). An existing store is resumed if it records the same export,
        else refused (:class:`StoreMismatch`).
    region : (row, col, rows, cols)
        Global cell of the top-left corner (any 64-bit integers) and size.
    chunks : int, optional
        Chunk side in cells, 16..8192 (default 1024): one ``world.region`` call each.
    layers : sequence of str, optional
        Any of :data:`LAYERS` (default height, water, biomes, rivers).
    client : distributed.Client, optional
        Run on this Dask cluster; default Dask's local threaded scheduler.
    progress : bool, optional
        Show Dask's progress bar (stderr).
    max_cells : int or None, optional
        Refuse larger regions before any work (default 65,536^2); None lifts the cap.

    Returns
    -------
    dict
        ``{"chunks": total, "written": made now, "skipped": already done, "cells": made now}``.

    Examples
    --------
    >>> import tempfile, os
    >>> from procgen.world import World
    >>> world = World(3, cell_size=2000.0, tile=256)
    >>> store = os.path.join(tempfile.mkdtemp(), "w.zarr")
    >>> world.to_zarr(store, region=(0, 0, 64, 64), chunks=32)["written"]
    4
    >>> world.to_zarr(store, region=(0, 0, 64, 64), chunks=32)["skipped"]   # resumed: done
    4
    """
    zarr = _need("zarr")
    dask = _need("dask")
    region = check_region(region, max_cells=max_cells)
    chunks = _check_chunks(chunks)
    layers = _check_layers(layers)
    store = str(store)
    spec = store_spec(world, region, chunks, layers)
    group = _open_store(zarr, store, spec, region, chunks, layers)
    done = group[_DONE][:]
    todo = [(i, j, block) for i, j, block in _blocks(region, chunks) if not done[i, j]]
    total = done.size
    if todo:
        rows: dict = {}
        for item in todo:
            rows.setdefault(item[0], []).append(item)
        tasks = [dask.delayed(_write_row, pure=False)(world, store, layers, blocks)
                 for blocks in rows.values()]
        if client is not None:
            futures = client.compute(tasks)
            if progress:
                _need("distributed").progress(futures)
            cells = sum(client.gather(futures))
        elif progress:
            from dask.diagnostics import ProgressBar
            with ProgressBar():
                cells = sum(dask.compute(*tasks, scheduler="threads"))
        else:
            cells = sum(dask.compute(*tasks, scheduler="threads"))
    else:
        cells = 0
    return {"chunks": total, "written": len(todo), "skipped": total - len(todo),
            "cells": int(cells)}
