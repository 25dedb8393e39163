"""The type signatures the level pipeline compiles, so they can be compiled ahead of use.

numba compiles a kernel on its first call, for the argument types of that call. On a cold
cache (the very first run) that is most of the time ``procgen map`` takes, and it runs on one
core. :func:`compile_level_kernels` compiles the same specialisations from this list without
running anything, so a second process can compile some of them while the first one generates
the level; both share numba's on-disk cache, whose writes are atomic (temporary file, then
rename), and a kernel already cached by the other process is loaded, not compiled again.

The ``procgen`` command runs it in a helper process on a cold cache (see
:class:`procgen.cli._ColdStart`).

Each entry is ``(module, kernel, argument types)``; a test checks that
:func:`procgen.generate_level` compiles no other signature of these kernels, for every
built-in river generator, so the list cannot drift from the code that calls them.

>>> from procgen._kernels.signatures import level_kernels
>>> level_kernels("flow")[0][:2]
('noise', 'fractal_grid')
"""

from __future__ import annotations

import importlib

_F32_2D = "float32[:, ::1]"
_BOOL_2D = "boolean[:, ::1]"
_I8_2D = "int8[:, ::1]"
_I64 = "int64[::1]"
_F64 = "float64[::1]"

_WALK = (f"(uint64[:, ::1], uint32[:, ::1], uint64, boolean, {_F64}, {_F64}, {_F64}, {_F64}, "
         f"float64, float64[:, ::1], float64[:, :, ::1])")

# Stages in the order generate_level runs them.
_TERRAIN_AND_WATER = (
    ("noise", "fractal_grid",
     f"(float64, float64, int64, int64, uint64[::1], {_F64}, {_F64}, {_F64}, {_F64}, "
     f"float32[::1], {_I64}, {_I64}, int64, float32[::1], float32[::1], {_F32_2D})"),
    ("hydrology", "priority_flood_epsilon", f"({_F32_2D}, {_BOOL_2D}, {_F32_2D})"),
    ("hydrology", "label_components", f"({_BOOL_2D}, int32[:, ::1])"),
    ("hydrology", "d8_directions", f"({_F32_2D}, {_BOOL_2D}, {_I8_2D})"),
    ("hydrology", "accumulate", f"({_I8_2D}, {_F64}, {_F64})"),
)
_FLOW = (
    ("rivers", "extract_rivers", f"({_I8_2D}, {_F64}, float64, {_BOOL_2D}, int64)"),
    ("rivers", "downstream_index", f"({_I8_2D},)"),
    ("rivers", "topological_order", f"({_I64},)"),
    ("rivers", "strahler", f"({_I64}, {_I64}, boolean[::1])"),
)
# Shape generators (walkers, sine curves, learned models) follow the flow from a source
# to a mouth to place each shape.
_PLACE = (("hydrology", "flow_path", f"({_I8_2D}, {_BOOL_2D}, int64, int64)"),)
_CARVE = (
    ("raster", "polyline_cells", f"({_I64}, {_I64})"),
    ("rivers", "carve_valleys", f"({_F32_2D}, {_I64}, float32[::1], float32[::1], float32)"),
    ("rivers", "enforce_descent", f"({_F32_2D}, {_I64}, {_I64}, int64)"),
)
_BIOMES = (("queries", "squared_edt", f"({_BOOL_2D}, float64[:, ::1], int64[:, ::1])"),)

#: The rivers stage's kernels per built-in generator; any other name (``learned:NAME``, a
#: plug-in) is taken to place shapes, as learned generators do.
RIVERS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "flow": _FLOW,
    "walker": _PLACE + (("walkers", "turn_walk", _WALK),),
    "persistent": _PLACE + (("walkers", "turn_walk", _WALK),),
    "sine": _PLACE,
    "downhill": _PLACE + (
        ("walkers", "downhill",
         f"({_F32_2D}, float64[:, ::1], float64, {_F64}, {_F64}, {_F64}, {_F64}, float64, "
         f"float64[:, ::1], float64[:, :, ::1])"),),
    "none": (),
}


def level_kernels(rivers: str = "flow") -> tuple[tuple[str, str, str], ...]:
    """The ``(module, kernel, argument types)`` a level with these rivers compiles, in the
    order it first calls them: terrain and water, rivers, carving, biomes.

    Examples
    --------
    >>> from procgen._kernels.signatures import level_kernels
    >>> [kernel for _, kernel, _ in level_kernels("walker")][5:]
    ['flow_path', 'turn_walk', 'polyline_cells', 'carve_valleys', 'enforce_descent', 'squared_edt']
    """
    if not isinstance(rivers, str):
        raise TypeError(f"rivers must be a generator name (str), got {type(rivers).__name__}")
    stage = RIVERS.get(rivers, _PLACE)
    return _TERRAIN_AND_WATER + stage + (_CARVE if rivers != "none" else ()) + _BIOMES


def compile_level_kernels(rivers: str = "flow", *, reverse: bool = False) -> int:
    """Compile (or load from the cache) every kernel a level needs; returns how many.

    ``reverse=True`` goes from the last stage to the first, which is the order a helper
    process wants while the main process walks the pipeline from the front: they meet in
    the middle instead of compiling the same kernels side by side.
    """
    from numba.core.sigutils import normalize_signature

    entries = level_kernels(rivers)
    if reverse:
        entries = entries[::-1]
    for module, name, signature in entries:
        kernel = getattr(importlib.import_module(f"{__package__}.{module}"), name)
        args, _ = normalize_signature(signature)
        kernel.compile(args)
    return len(entries)
