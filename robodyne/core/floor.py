"""The floor map's frame, in metres: what the dashboard draws and robots' poses are in."""

from __future__ import annotations

from typing import Final

MAP_NAME: Final = "floor"
WIDTH_M: Final = 20.0
HEIGHT_M: Final = 12.0
# Robots wait, load and charge at the kitchen pass on the left wall.
DOCK: Final = (1.5, 6.0)

# A place on the floor: x, y in metres.
Point = tuple[float, float]
