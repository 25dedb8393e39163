"""Metres and cells: the one place lengths and areas change units.

A grid of ``cell_size`` metres per cell measures lengths in cells and areas in cells; configs
and results speak metres and km^2. Every conversion in ``procgen`` goes through these three, so
the formula (and its rounding) is written once.

>>> from procgen._units import cells, metres, area_cells
>>> cells(1500.0, 500.0), metres(3, 500.0), area_cells(1.0, 500.0)
(3.0, 1500.0, 4.0)
"""

__all__ = ["cells", "metres", "area_cells"]


def cells(length_m, cell_size):
    """A length in metres as cells of ``cell_size`` metres (scalars or arrays)."""
    return length_m / cell_size


def metres(length_cells, cell_size):
    """A length in cells of ``cell_size`` metres as metres (scalars or arrays)."""
    return length_cells * cell_size


def area_cells(km2, cell_size):
    """An area in km^2 as a number of cells of ``cell_size`` metres."""
    return km2 * 1e6 / cell_size ** 2

