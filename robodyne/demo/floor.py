"""The demo restaurant's tables on the floor map, shared by the seed, the simulator and tests."""

from __future__ import annotations

from typing import Final

# (label, seats, x, y): three rows of four tables.
TABLES: Final = [
    (f"T{row * 4 + col + 1}", seats, 6.0 + col * 4.0, 2.5 + row * 3.5)
    for row, seats_row in enumerate([(2, 2, 4, 4), (4, 6, 2, 4), (4, 6, 8, 2)])
    for col, seats in enumerate(seats_row)
]
