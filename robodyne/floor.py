"""The demo restaurant's floor plan, shared by the demo seed, the simulator and the tests."""

from __future__ import annotations

from typing import Final

MAP_NAME: Final = "floor"
WIDTH_M: Final = 20.0
HEIGHT_M: Final = 12.0
# Robots wait, load and charge at the kitchen pass on the left wall.
DOCK: Final = (1.5, 6.0)

# (label, seats, x, y): three rows of four tables.
TABLES: Final = [
    (f"T{row * 4 + col + 1}", seats, 6.0 + col * 4.0, 2.5 + row * 3.5)
    for row, seats_row in enumerate([(2, 2, 4, 4), (4, 6, 2, 4), (4, 6, 8, 2)])
    for col, seats in enumerate(seats_row)
]
