"""The demo restaurant's tables and places on the floor map, shared by the seed, the tests and
the benchmarks (the simulated robots need none of it: commands carry positions, SPEC §4).

Ids 1..12 are the demo's own tables (TABLES, seeded in this order, so the server gives them these
ids). Any larger id stands on a fixed lattice, so a benchmark that seeds `grid_tables(60)` and a
test that asks where table 47 stands get the same answer.
"""

from __future__ import annotations

from typing import Final

from ..core.floor import DOCK
from ..core.models import PlaceName

# (label, seats, x, y) in metres on the floor map.
Table = tuple[str, int, float, float]

# Three rows of four tables.
TABLES: Final[list[Table]] = [
    (f"T{row * 4 + col + 1}", seats, 6.0 + col * 4.0, 2.5 + row * 3.5)
    for row, seats_row in enumerate([(2, 2, 4, 4), (4, 6, 2, 4), (4, 6, 8, 2)])
    for col, seats in enumerate(seats_row)
]

# The demo floor's places: the robots' dock by the kitchen on the left wall, the pass just
# above it on the map, the host stand at the door in the bottom right corner.
PLACES: Final = {PlaceName.DOCK: DOCK, PlaceName.PASS: (1.5, 3.5),
                 PlaceName.HOST: (18.8, 10.8)}

# Ids past the demo's twelve fill, row by row from the bottom left, a lattice of odd x (3..17)
# and odd y (1..11) metres: 2 m apart, at least 1.1 m from every demo table (those stand on even
# x), clear of the dock on the left wall. Its 48 spots take ids 13..60, so 60 tables cover the
# whole 20 m x 12 m map (robodyne/core/floor.py); past 60 the lattice starts again and tables
# share a spot, which a simulated robot does not mind.
GRID_X0: Final = 3.0
GRID_Y0: Final = 1.0
GRID_PITCH_M: Final = 2.0
GRID_COLS: Final = 8
GRID_ROWS: Final = 6
_GRID_SEATS: Final = (2, 4, 4, 6)


def table_position(table_id: int) -> tuple[float, float] | None:
    """Where table `table_id` stands (x, y); None for an id below 1, which no table has."""
    if table_id < 1:
        return None
    if table_id <= len(TABLES):
        _, _, x, y = TABLES[table_id - 1]
        return x, y
    row, col = divmod((table_id - len(TABLES) - 1) % (GRID_COLS * GRID_ROWS), GRID_COLS)
    return GRID_X0 + col * GRID_PITCH_M, GRID_Y0 + row * GRID_PITCH_M


def grid_tables(n: int) -> list[Table]:
    """The first `n` tables, ids 1..n in order: TABLES, then labelled `T<id>` on the lattice."""
    if n < 0:
        raise ValueError(f"need n >= 0, got {n}")
    tables = TABLES[:n]
    for table_id in range(len(TABLES) + 1, n + 1):
        position = table_position(table_id)
        assert position is not None  # every id from 1 up has one
        tables.append((f"T{table_id}", _GRID_SEATS[table_id % len(_GRID_SEATS)], *position))
    return tables
