"""Biomes: temperature from latitude and altitude, moisture from water, Whittaker classes.

The biomes stage runs after carving and reads only the finished level, so it never changes
terrain, water or rivers. It draws no random numbers (the ``"biomes"`` stage seed is left
unused), so the same level always gets the same biomes. It classifies and never draws: the biome
map is drawn by :func:`procgen.render.render_biomes`.

* **Temperature** (mean annual, degrees C): ``T0(lat) = pole + (equator - pole) * cos(lat)``
  at sea level, with the latitude running linearly from ``latitude_north`` on row 0 to
  ``latitude_south`` on the last row, less ``lapse_rate`` (6.5 K per km, the standard
  atmosphere) times the height above sea level.
* **Moisture** (0..1, a stand-in for precipitation): a background ``base_moisture`` wetted
  by the sea, lakes and rivers, each source giving ``strength * exp(-distance / reach)`` and
  the sources combined as independent chances, ``m = 1 - prod(1 - m_i)``. A river's
  strength grows with the discharge of its nearest cell, ``Q / (Q + river_half_discharge)``
  (Q from the channel width, ``Q = (w / a)**2``).
* **Classes** (:class:`Biome`) after Whittaker (1975), by temperature band and moisture; the
  sea, lakes, beaches and cliffs first. See :func:`classify` for the table.

>>> from procgen import generate_level
>>> from procgen.biomes import Biome
>>> level = generate_level(seed=7, shape=(48, 48), cell_size=2000.0, preset="islands")
>>> level.biomes.dtype, Biome(int(level.biomes[0, 0])).name
(dtype('uint8'), 'OCEAN')
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from ._units import metres
from ._validate import check_cell_size, check_float

__all__ = ["Biome", "BIOME_COLORS", "BiomesConfig", "latitudes", "temperature", "moisture",
           "classify", "assign_biomes", "legend", "TEMPERATURE_BANDS"]


class Biome(enum.IntEnum):
    """Biome classes, stored as ``uint8`` in ``Level.biomes``; colours in :data:`BIOME_COLORS`.

    ``OCEAN`` (sea), ``LAKE``, ``BEACH`` (low land by the sea), ``DESERT``, ``GRASSLAND``
    (prairie, steppe, savanna), ``SHRUBLAND`` (woodland and scrub), ``TEMPERATE_FOREST``,
    ``RAINFOREST`` (temperate or tropical), ``TAIGA`` (boreal forest), ``TUNDRA``, ``SNOW``
    (ice caps and glaciers), ``BARE_ROCK`` (cliffs too steep for soil).

    A member is an int (it compares, indexes and does arithmetic as its value) that prints
    as its name: ``str()``, ``print`` and ``f"{b}"`` give e.g. ``TEMPERATE_FOREST``, while
    numeric formats (``f"{b:d}"``, ``f"{b:02d}"``) and ``int(b)`` give the value.

    Examples
    --------
    >>> from procgen.biomes import Biome
    >>> print(Biome(6))
    TEMPERATE_FOREST
    >>> f"{Biome.SNOW:>6}|{Biome.SNOW:d}", Biome.SNOW == 10, int(Biome.SNOW) + 1
    ('  SNOW|10', True, 11)
    """

    OCEAN = 0
    LAKE = 1
    BEACH = 2
    DESERT = 3
    GRASSLAND = 4
    SHRUBLAND = 5
    TEMPERATE_FOREST = 6
    RAINFOREST = 7
    TAIGA = 8
    TUNDRA = 9
    SNOW = 10
    BARE_ROCK = 11

    def __str__(self) -> str:
        # IntEnum prints the bare value ("6") since Python 3.11; a biome's name is what
        # people want to read in messages and logs.
        return self.name

    def __format__(self, spec: str) -> str:
        if spec and spec[-1] in "bcdoxXneEfFgG%":
            return int.__format__(int(self), spec)
        return format(self.name, spec)

    @property
    def color(self) -> tuple[int, int, int]:
        """RGB colour used by :func:`procgen.render.render_biomes` and the default tileset."""
        return BIOME_COLORS[self]

    @property
    def label(self) -> str:
        """Lower-case name, e.g. ``'temperate_forest'``."""
        return self.name.lower()


#: RGB colour of every biome (the legend).
BIOME_COLORS: dict[Biome, tuple[int, int, int]] = {
    Biome.OCEAN: (38, 74, 130),
    Biome.LAKE: (72, 128, 186),
    Biome.BEACH: (232, 214, 160),
    Biome.DESERT: (214, 184, 122),
    Biome.GRASSLAND: (156, 186, 90),
    Biome.SHRUBLAND: (134, 146, 86),
    Biome.TEMPERATE_FOREST: (64, 122, 58),
    Biome.RAINFOREST: (26, 92, 48),
    Biome.TAIGA: (78, 108, 88),
    Biome.TUNDRA: (164, 168, 140),
    Biome.SNOW: (244, 246, 250),
    Biome.BARE_ROCK: (128, 118, 112),
}

#: Temperature bands (degrees C, upper limits) and, within each, moisture upper limits and
#: the biome below each limit (the last entry has limit inf). :func:`classify` reads it.
TEMPERATURE_BANDS = (
    (-8.0, ((np.inf, Biome.SNOW),)),
    (-2.0, ((np.inf, Biome.TUNDRA),)),
    (5.0, ((0.25, Biome.TUNDRA), (np.inf, Biome.TAIGA))),
    (20.0, ((0.2, Biome.DESERT), (0.35, Biome.GRASSLAND), (0.5, Biome.SHRUBLAND),
            (0.8, Biome.TEMPERATE_FOREST), (np.inf, Biome.RAINFOREST))),
    (np.inf, ((0.3, Biome.DESERT), (0.6, Biome.GRASSLAND), (np.inf, Biome.RAINFOREST))),
)


@dataclass(frozen=True)
class BiomesConfig:
    """Settings of the biomes stage (the :class:`~procgen.LevelConfig` ``biomes`` section).

    Attributes
    ----------
    latitude_north, latitude_south : float
        Latitude in degrees (-90..90) of the first row (north edge) and of the last row;
        ``latitude_north >= latitude_south``. Default 55 and 35.
    equator_temperature, pole_temperature : float
        Mean annual sea-level temperature (degrees C) at the equator and the poles; in
        between it follows ``cos(latitude)``. Default 27 and -20.
    lapse_rate : float
        Cooling with height, kelvin per kilometre above sea level. Default 6.5.
    base_moisture : float
        Moisture (0..1) far from any water. Default 0.2.
    sea_moisture, sea_reach_km : float
        Moisture the sea gives at the coast, and the distance (km) over which it falls by a
        factor e. Default 0.5 and 30.
    lake_moisture, lake_reach_km : float
        The same for lakes. Default 0.5 and 8.
    river_moisture, river_reach_km : float
        The same for rivers (for a river of unbounded discharge). Default 0.8 and 4.
    river_half_discharge : float
        Discharge (m^3/s) at which a river gives half of ``river_moisture``. Default 20.
    beach_width_m, beach_max_height : float
        Land within this many metres of the sea (and always the cells touching it) and no
        higher than ``beach_max_height`` metres is beach. Default 1000 and 15.
    rock_slope_deg : float
        Land steeper than this (degrees) is bare rock. Default 35.
    """

    latitude_north: float = 55.0
    latitude_south: float = 35.0
    equator_temperature: float = 27.0
    pole_temperature: float = -20.0
    lapse_rate: float = 6.5
    base_moisture: float = 0.2
    sea_moisture: float = 0.5
    sea_reach_km: float = 30.0
    lake_moisture: float = 0.5
    lake_reach_km: float = 8.0
    river_moisture: float = 0.8
    river_reach_km: float = 4.0
    river_half_discharge: float = 20.0
    beach_width_m: float = 1000.0
    beach_max_height: float = 15.0
    rock_slope_deg: float = 35.0

    def __post_init__(self):
        check_float("latitude_north", self.latitude_north, lo=-90.0, hi=90.0)
        check_float("latitude_south", self.latitude_south, lo=-90.0, hi=90.0)
        if self.latitude_south > self.latitude_north:
            raise ValueError(f"latitude_south must be <= latitude_north (row 0 is the north "
                             f"edge), got {self.latitude_south:g} > {self.latitude_north:g}")
        check_float("equator_temperature", self.equator_temperature, lo=-100.0, hi=100.0)
        check_float("pole_temperature", self.pole_temperature, lo=-100.0, hi=100.0)
        check_float("lapse_rate", self.lapse_rate, lo=0.0, hi=50.0)
        for name in ("base_moisture", "sea_moisture", "lake_moisture", "river_moisture"):
            check_float(name, getattr(self, name), lo=0.0, hi=1.0)
        for name in ("sea_reach_km", "lake_reach_km", "river_reach_km",
                     "river_half_discharge"):
            check_float(name, getattr(self, name), lo=0.0, lo_open=True)
        check_float("beach_width_m", self.beach_width_m, lo=0.0)
        check_float("beach_max_height", self.beach_max_height, lo=0.0)
        check_float("rock_slope_deg", self.rock_slope_deg, lo=0.0, hi=90.0)


def _check_config(config) -> BiomesConfig:
    if not isinstance(config, BiomesConfig):
        raise TypeError(f"config must be a BiomesConfig, got {type(config).__name__}")
    return config


def latitudes(rows: int, *, config: BiomesConfig = BiomesConfig()) -> np.ndarray:
    """Latitude (degrees) of each row: ``latitude_north`` on row 0 to ``latitude_south`` on
    the last row, linearly (a single row sits halfway).

    Examples
    --------
    >>> from procgen.biomes import latitudes, BiomesConfig
    >>> latitudes(3, config=BiomesConfig(latitude_north=50.0, latitude_south=40.0)).tolist()
    [50.0, 45.0, 40.0]
    """
    config = _check_config(config)
    if rows == 1:
        return np.array([(config.latitude_north + config.latitude_south) / 2.0])
    return np.linspace(config.latitude_north, config.latitude_south, rows)


def temperature(height, *, config: BiomesConfig = BiomesConfig()) -> np.ndarray:
    """Mean annual temperature (degrees C, float64 grid) from latitude and altitude.

    ``T = pole + (equator - pole) * cos(latitude) - lapse_rate * max(height, 0) / 1000``.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.biomes import temperature, BiomesConfig
    >>> cfg = BiomesConfig(latitude_north=0.0, latitude_south=0.0)
    >>> temperature(np.array([[0.0, 1000.0, -50.0]]), config=cfg).tolist()
    [[27.0, 20.5, 27.0]]
    """
    config = _check_config(config)
    h = np.asarray(height, np.float64)
    lat = np.radians(latitudes(h.shape[0], config=config))
    t0 = config.pole_temperature + (config.equator_temperature
                                    - config.pole_temperature) * np.cos(lat)
    return t0[:, None] - config.lapse_rate * np.maximum(h, 0.0) / 1000.0


def moisture(*, sea, lakes, river_width, cell_size: float,
             config: BiomesConfig = BiomesConfig(), width_coefficient: float = 4.0):
    """Moisture (0..1, float64 grid) from the distance to the sea, lakes and rivers.

    Parameters
    ----------
    sea, lakes : numpy.ndarray of bool
        Sea cells and lake cells.
    river_width : numpy.ndarray of float
        Channel width (metres) on river cells, 0 elsewhere.
    cell_size : float
        Metres per cell.
    config : BiomesConfig, optional
    width_coefficient : float, optional
        ``a`` in ``w = a * Q**0.5``, to turn widths back into discharge.

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.biomes import moisture, BiomesConfig
    >>> dry = np.zeros((2, 2), bool)
    >>> moisture(sea=dry, lakes=dry, river_width=np.zeros((2, 2)), cell_size=100.0,
    ...          config=BiomesConfig(base_moisture=0.25)).tolist()
    [[0.25, 0.25], [0.25, 0.25]]
    """
    from .queries import distance_transform
    config = _check_config(config)
    cell_size = check_cell_size(cell_size)
    sea = np.asarray(sea, np.bool_)
    shape = sea.shape
    for name, grid in (("lakes", lakes), ("river_width", river_width)):
        if np.shape(grid) != shape:
            raise ValueError(f"{name} must have the shape of sea {shape}, got {np.shape(grid)}")
    dry = np.full(shape, 1.0 - config.base_moisture)
    sources = [(sea, config.sea_moisture, config.sea_reach_km),
               (lakes, config.lake_moisture, config.lake_reach_km)]
    for mask, strength, reach_km in sources:
        mask = np.asarray(mask, np.bool_)
        if mask.any() and strength > 0:
            d = metres(distance_transform(mask), cell_size)
            dry = dry * (1.0 - strength * np.exp(-d / (reach_km * 1000.0)))
    width = np.asarray(river_width, np.float64)
    on_river = width > 0
    if on_river.any() and config.river_moisture > 0:
        d, nearest = distance_transform(on_river, nearest=True)
        q = (width.ravel()[nearest] / max(float(width_coefficient), 1e-9)) ** 2
        strength = config.river_moisture * q / (q + config.river_half_discharge)
        reach_m = config.river_reach_km * 1000.0
        dry = dry * (1.0 - strength * np.exp(-metres(d, cell_size) / reach_m))
    return 1.0 - dry


def classify(temp, moist, *, sea, lakes, beach, steep) -> np.ndarray:
    """Biome of every cell (uint8 :class:`Biome` values).

    In order: ``sea`` -> OCEAN; ``lakes`` -> LAKE; ``beach`` -> BEACH; ``steep`` ->
    BARE_ROCK; then by temperature band and moisture (Whittaker 1975, simplified; the
    table is :data:`TEMPERATURE_BANDS`):

    ==============  ==============================================================
    T (degrees C)   moisture -> biome
    ==============  ==============================================================
    below -8        SNOW
    -8 .. -2        TUNDRA
    -2 .. 5         < 0.25 TUNDRA, else TAIGA
    5 .. 20         < 0.2 DESERT, < 0.35 GRASSLAND, < 0.5 SHRUBLAND,
                    < 0.8 TEMPERATE_FOREST, else RAINFOREST
    20 and above    < 0.3 DESERT, < 0.6 GRASSLAND (savanna), else RAINFOREST
    ==============  ==============================================================

    Examples
    --------
    >>> import numpy as np
    >>> from procgen.biomes import classify, Biome
    >>> no = np.zeros((1, 3), bool)
    >>> out = classify(np.array([[-10.0, 12.0, 25.0]]), np.array([[0.5, 0.6, 0.9]]),
    ...                sea=no, lakes=no, beach=no, steep=no)
    >>> [Biome(int(b)).name for b in out[0]]
    ['SNOW', 'TEMPERATE_FOREST', 'RAINFOREST']
    """
    temp = np.asarray(temp, np.float64)
    moist = np.asarray(moist, np.float64)
    out = np.zeros(temp.shape, np.uint8)
    lower = -np.inf
    for upper, classes in TEMPERATURE_BANDS:
        band = (temp >= lower) & (temp < upper)
        m_lower = -np.inf
        for m_upper, biome in classes:
            out[band & (moist >= m_lower) & (moist < m_upper)] = biome
            m_lower = m_upper
        lower = upper
    for mask, biome in ((steep, Biome.BARE_ROCK), (beach, Biome.BEACH),
                        (lakes, Biome.LAKE), (sea, Biome.OCEAN)):
        out[np.asarray(mask, np.bool_)] = biome    # later masks win: sea over all
    return out


def assign_biomes(height, *, cell_size: float, water, lakes, rivers=(),
                  config: BiomesConfig = BiomesConfig(), rivers_config=None) -> np.ndarray:
    """Run the biomes stage on a finished (carved) level's arrays.

    Parameters
    ----------
    height : numpy.ndarray
        float32 metres, sea level 0.
    cell_size : float
        Metres per cell.
    water : numpy.ndarray of bool
        Sea and lakes.
    lakes : numpy.ndarray of int
        Lake labels (0 = not a lake); water that is not lake is sea.
    rivers : sequence of River, optional
    config : BiomesConfig, optional
    rivers_config : RiversConfig, optional
        For the width -> discharge coefficient (default ``RiversConfig()``).

    Returns
    -------
    numpy.ndarray
        uint8 ``(rows, cols)`` :class:`Biome` values.

    Examples
    --------
    >>> from procgen import generate_level
    >>> from procgen.biomes import assign_biomes
    >>> lv = generate_level(seed=3, shape=32, cell_size=4000.0, preset="islands")
    >>> again = assign_biomes(lv.height, cell_size=lv.cell_size, water=lv.water,
    ...                       lakes=lv.lakes, rivers=lv.rivers, config=lv.config.biomes,
    ...                       rivers_config=lv.config.rivers)
    >>> bool((again == lv.biomes).all())
    True
    """
    from .queries import _gradient_of, _rasterise_rivers
    from .rivers import RiversConfig
    config = _check_config(config)
    rivers_config = RiversConfig() if rivers_config is None else rivers_config
    cell_size = check_cell_size(cell_size)
    h = np.asarray(height, np.float64)
    water = np.asarray(water, np.bool_)
    lake = np.asarray(lakes) > 0
    sea = water & ~lake
    _, width = _rasterise_rivers(list(rivers), h.shape, water)
    temp = temperature(h, config=config)
    moist = moisture(sea=sea, lakes=lake, river_width=width, cell_size=cell_size,
                     config=config, width_coefficient=rivers_config.width_coefficient)
    land = ~water
    gy, gx = _gradient_of(h, cell_size)
    steep = land & (np.degrees(np.arctan(np.hypot(gy, gx))) > config.rock_slope_deg)
    beach = np.zeros(h.shape, np.bool_)
    if sea.any():
        from .queries import distance_transform
        d_sea = metres(distance_transform(sea), cell_size)
        reach = max(config.beach_width_m, 1.5 * cell_size)
        beach = land & (d_sea <= reach) & (h <= config.beach_max_height)
    return classify(temp, moist, sea=sea, lakes=lake, beach=beach, steep=steep)


def legend() -> list[tuple[int, str, tuple[int, int, int]]]:
    """``(value, name, rgb)`` of every biome, in value order.

    Examples
    --------
    >>> from procgen.biomes import legend
    >>> legend()[0]
    (0, 'ocean', (38, 74, 130))
    """
    return [(int(b), b.label, b.color) for b in Biome]
