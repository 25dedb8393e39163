"""procgen: procedural game levels (numba noise landscapes, rivers, hydrology).

``import procgen`` never imports torch or pygame; those belong to ``learned`` and the viewer.

>>> import procgen
>>> level = procgen.generate_level(seed=7, shape=(32, 32), preset="islands")
>>> level.height.dtype
dtype('float32')
"""

from .biomes import Biome, BiomesConfig
from .level import Level, LevelConfig, generate_level
from .river import River

__all__ = ["Biome", "BiomesConfig", "Level", "LevelConfig", "River", "generate_level"]
__version__ = "0.1.0"
