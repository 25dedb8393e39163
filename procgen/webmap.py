"""A zoomable web map of a region of an endless world: XYZ tiles and one static page.

:func:`write_tiles` renders the region at one pixel per cell into 256 x 256 tiles (the finest
zoom, ``z = max_zoom``), each from its own ``world.region`` call with a one-cell margin so
that hillshade meets without seams, then builds every coarser zoom from the zoom below by
averaging 2 x 2 pixels of its four child tiles (never by regenerating the world), up to
``z = 0``, one tile holding the whole region. Tiles are ``DIR/z/x/y.png`` (x east, y south),
RGBA, transparent outside the region. ``DIR/index.html`` browses them from the file system,
with no server and no internet: drag or arrow keys to pan, wheel or +/- to zoom, the seed
and the global cell under the pointer shown; the view is kept in the address's ``#z=&row=&col=``.

>>> import tempfile, os
>>> from procgen.world import World
>>> from procgen.webmap import write_tiles
>>> out = tempfile.mkdtemp()
>>> info = write_tiles(World(3, cell_size=2000.0, tile=256), out, region=(0, 0, 300, 520))
>>> info["max_zoom"], info["tiles"]
(2, 9)
>>> sorted(os.listdir(out))
['0', '1', '2', 'index.html']
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

from ._io import atomic_write
from .worldstore import DEFAULT_MAX_EXPORT_CELLS, check_region

__all__ = ["TILE", "write_tiles"]

#: Tile side in pixels.
TILE = 256


def _render(world, row: int, col: int, rows: int, cols: int) -> np.ndarray:
    """RGB of cells [row:row+rows, col:col+cols], hillshaded with their true neighbours."""
    from .render import render_map
    level = world.region(row - 1, col - 1, (rows + 2, cols + 2))
    rgb = render_map(level.height, cell_size=level.cell_size, water=level.water,
                     rivers=level.rivers)
    return rgb[1:-1, 1:-1]


def _save(rgba: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: Image.fromarray(rgba, "RGBA").save(f, format="PNG"))


def _load(path: Path) -> np.ndarray:
    if not path.exists():
        return np.zeros((TILE, TILE, 4), np.uint8)
    with Image.open(path) as im:
        return np.asarray(im.convert("RGBA"))


def _halve(rgba: np.ndarray) -> np.ndarray:
    """2 x 2 average, colours weighted by alpha (transparent pixels do not darken edges)."""
    a = rgba[..., 3:4].astype(np.float64)
    rgb = rgba[..., :3].astype(np.float64) * a

    def pool(x):
        return x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]

    asum = pool(a)
    colour = np.where(asum > 0, pool(rgb) / np.maximum(asum, 1e-9), 0.0)
    out = np.concatenate([colour, asum / 4.0], axis=-1)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def write_tiles(world, out, *, region, max_cells=DEFAULT_MAX_EXPORT_CELLS, progress=None) -> dict:
    """Write the XYZ tile pyramid of ``region`` and its ``index.html`` to folder ``out``.

    Parameters
    ----------
    world : procgen.world.World
    out : str or path
        Folder (created); existing tiles of the same names are replaced.
    region : (row, col, rows, cols)
        Global cell of the top-left corner (any 64-bit integers) and size in cells.
    max_cells : int or None, optional
        Refuse larger regions before any work (default 65,536^2); None lifts the cap.
    progress : callable, optional
        Called as ``progress(done, total)`` after each tile.

    Returns
    -------
    dict
        ``max_zoom``, ``tiles`` (written), ``index`` (the page's path).
    """
    row, col, rows, cols = check_region(region, max_cells=max_cells)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    max_zoom = max(0, math.ceil(math.log2(max(rows, cols) / TILE)))
    counts = [(math.ceil(cols / (TILE << (max_zoom - z))), math.ceil(rows / (TILE << (max_zoom - z))))
              for z in range(max_zoom + 1)]
    total = sum(nx * ny for nx, ny in counts)
    done = 0
    nx, ny = counts[max_zoom]
    for y in range(ny):
        for x in range(nx):
            r0, c0 = y * TILE, x * TILE
            h, w = min(TILE, rows - r0), min(TILE, cols - c0)
            tile = np.zeros((TILE, TILE, 4), np.uint8)
            tile[:h, :w, :3] = _render(world, row + r0, col + c0, h, w)
            tile[:h, :w, 3] = 255
            _save(tile, out / str(max_zoom) / str(x) / f"{y}.png")
            done += 1
            if progress:
                progress(done, total)
    for z in range(max_zoom - 1, -1, -1):
        nx, ny = counts[z]
        for y in range(ny):
            for x in range(nx):
                quad = np.zeros((2 * TILE, 2 * TILE, 4), np.uint8)
                for dy in (0, 1):
                    for dx in (0, 1):
                        quad[dy * TILE:(dy + 1) * TILE, dx * TILE:(dx + 1) * TILE] = _load(
                            out / str(z + 1) / str(2 * x + dx) / f"{2 * y + dy}.png")
                _save(_halve(quad), out / str(z) / str(x) / f"{y}.png")
                done += 1
                if progress:
                    progress(done, total)
    meta = {"seed": str(world.seed), "preset": _preset_name(world), "rivers": world.rivers_name,
            "cell_size": world.cell_size, "row": str(row), "col": str(col), "rows": rows,
            "cols": cols, "tile": TILE, "max_zoom": max_zoom}
    index = out / "index.html"
    page = _PAGE.replace("/*META*/null", json.dumps(meta)).encode()
    atomic_write(index, lambda f: f.write(page))
    return {"max_zoom": max_zoom, "tiles": total, "index": index}


def _preset_name(world) -> str:
    from .terrain import PRESETS
    for name, cfg in PRESETS.items():
        if cfg == world.config.terrain:
            return name
    return "custom"


# The page: plain HTML and JavaScript, nothing fetched (browsers refuse fetch() on file://, so
# the metadata is written into it). Tiles are <img> elements, which file:// allows.
_PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>procgen world</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
html, body { margin: 0; height: 100%; background: #0e1016; overflow: hidden;
             font: 13px system-ui, sans-serif; color: #e8e8e8; }
#map { position: absolute; inset: 0; cursor: grab; touch-action: none; }
#map.dragging { cursor: grabbing; }
#map img { position: absolute; width: 256px; height: 256px; image-rendering: pixelated;
           user-select: none; -webkit-user-drag: none; }
#info { position: absolute; left: 8px; top: 8px; padding: 6px 9px; border-radius: 4px;
        background: rgba(12, 14, 18, 0.75); line-height: 1.5; pointer-events: none; }
#zoom { position: absolute; right: 8px; top: 8px; display: flex; flex-direction: column; }
#zoom button { width: 32px; height: 32px; margin-bottom: 4px; font-size: 18px; border: 0;
               border-radius: 4px; background: rgba(12, 14, 18, 0.75); color: #e8e8e8; }
</style></head>
<body>
<div id="map"></div>
<div id="info"></div>
<div id="zoom"><button id="in" title="zoom in">+</button><button id="out" title="zoom out">&minus;</button></div>
<script>
"use strict";
const META = /*META*/null;
const T = META.tile, ZMAX = META.max_zoom;
const map = document.getElementById("map"), info = document.getElementById("info");
// The view: zoom z, and the centre in cells of the region (row, col from its corner).
let z = ZMAX, cr = META.rows / 2, cc = META.cols / 2, pointer = null;
function readHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  if (h.has("z")) z = Math.max(0, Math.min(ZMAX, parseInt(h.get("z"), 10) || 0));
  if (h.has("row")) cr = Number(BigInt(h.get("row")) - BigInt(META.row));
  if (h.has("col")) cc = Number(BigInt(h.get("col")) - BigInt(META.col));
}
function cellsPerPixel() { return Math.pow(2, ZMAX - z); }
function globalCell(r, c) {
  return [(BigInt(META.row) + BigInt(Math.floor(r))).toString(),
          (BigInt(META.col) + BigInt(Math.floor(c))).toString()];
}
const tiles = new Map();
function draw() {
  const W = map.clientWidth, H = map.clientHeight, k = cellsPerPixel();
  const left = cc / k - W / 2, top = cr / k - H / 2;     // pixel of this zoom at the corner
  const nx = Math.ceil(META.cols / k / T), ny = Math.ceil(META.rows / k / T);
  const want = new Set();
  for (let y = Math.max(0, Math.floor(top / T)); y <= Math.min(ny - 1, Math.floor((top + H) / T)); y++) {
    for (let x = Math.max(0, Math.floor(left / T)); x <= Math.min(nx - 1, Math.floor((left + W) / T)); x++) {
      const key = z + "/" + x + "/" + y;
      want.add(key);
      let img = tiles.get(key);
      if (!img) {
        img = document.createElement("img");
        img.alt = "";
        img.dataset.z = z;
        img.onload = () => { img.dataset.loaded = "1"; };
        img.onerror = () => { img.dataset.loaded = "error"; };
        img.src = key + ".png";
        tiles.set(key, img);
        map.appendChild(img);
      }
      img.style.left = Math.round(x * T - left) + "px";
      img.style.top = Math.round(y * T - top) + "px";
    }
  }
  for (const [key, img] of tiles) {
    if (!want.has(key)) { img.remove(); tiles.delete(key); }
  }
  const centre = globalCell(cr, cc);
  const lines = ["seed " + META.seed + " \u00b7 " + META.preset + " \u00b7 rivers " + META.rivers +
                 " \u00b7 " + META.cell_size + " m/cell",
                 "zoom " + z + " of " + ZMAX + " (" + k + " cells per pixel)",
                 "centre row " + centre[0] + ", col " + centre[1]];
  if (pointer) {
    const r = cr + (pointer[1] - H / 2) * k, c = cc + (pointer[0] - W / 2) * k;
    if (r >= 0 && c >= 0 && r < META.rows && c < META.cols) {
      const g = globalCell(r, c);
      lines.push("pointer row " + g[0] + ", col " + g[1]);
    }
  }
  info.innerHTML = lines.join("<br>");
  history.replaceState(null, "", "#z=" + z + "&row=" + centre[0] + "&col=" + centre[1]);
}
function zoomTo(nz, px, py) {
  nz = Math.max(0, Math.min(ZMAX, nz));
  if (nz === z) return;
  const W = map.clientWidth, H = map.clientHeight;
  px = px === undefined ? W / 2 : px; py = py === undefined ? H / 2 : py;
  const k0 = cellsPerPixel();
  const r = cr + (py - H / 2) * k0, c = cc + (px - W / 2) * k0;   // keep this cell under the pointer
  z = nz;
  const k1 = cellsPerPixel();
  cr = r - (py - H / 2) * k1; cc = c - (px - W / 2) * k1;
  draw();
}
let drag = null;
map.addEventListener("pointerdown", e => { drag = [e.clientX, e.clientY]; map.classList.add("dragging"); map.setPointerCapture(e.pointerId); });
map.addEventListener("pointerup", () => { drag = null; map.classList.remove("dragging"); });
map.addEventListener("pointermove", e => {
  pointer = [e.clientX, e.clientY];
  if (drag) { const k = cellsPerPixel(); cc -= (e.clientX - drag[0]) * k; cr -= (e.clientY - drag[1]) * k; drag = [e.clientX, e.clientY]; }
  draw();
});
map.addEventListener("wheel", e => { e.preventDefault(); zoomTo(z + (e.deltaY < 0 ? 1 : -1), e.clientX, e.clientY); }, { passive: false });
document.getElementById("in").onclick = () => zoomTo(z + 1);
document.getElementById("out").onclick = () => zoomTo(z - 1);
document.addEventListener("keydown", e => {
  const step = 200 * cellsPerPixel();
  if (e.key === "+" || e.key === "=") zoomTo(z + 1);
  else if (e.key === "-") zoomTo(z - 1);
  else if (e.key === "ArrowLeft") { cc -= step; draw(); }
  else if (e.key === "ArrowRight") { cc += step; draw(); }
  else if (e.key === "ArrowUp") { cr -= step; draw(); }
  else if (e.key === "ArrowDown") { cr += step; draw(); }
});
window.addEventListener("resize", draw);
window.addEventListener("hashchange", () => { readHash(); draw(); });
readHash();
draw();
</script>
</body></html>
"""
