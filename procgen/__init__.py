"""procgen: procedural game levels (numba noise landscapes, rivers, hydrology).

``import procgen`` never imports torch or pygame; those belong to ``learned`` and the viewer.
It imports nothing else either until a name is used: ``procgen.generate_level`` loads the
level pipeline on first access, and ``procgen.noise`` (any submodule) loads that module. So
``procgen --help`` and small scripts do not pay for numba and the kernels they do not use.

>>> import procgen
>>> level = procgen.generate_level(seed=7, shape=(32, 32), preset="islands")
>>> level.height.dtype
dtype('float32')
"""

import importlib

__all__ = ["Biome", "BiomesConfig", "ErosionConfig", "HydrologyConfig", "Level", "LevelConfig",
           "River", "RiversConfig", "TerrainConfig", "World", "WorldConfig", "generate_level"]
__version__ = "0.1.0"

# Public name -> the submodule that defines it.
_EXPORTS = {"Biome": "biomes", "BiomesConfig": "biomes", "ErosionConfig": "erosion",
            "HydrologyConfig": "hydrology",
            "Level": "level", "LevelConfig": "level", "generate_level": "level",
            "River": "river", "RiversConfig": "rivers", "TerrainConfig": "terrain",
            "World": "world", "WorldConfig": "world"}


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    elif name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    else:
        try:
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
