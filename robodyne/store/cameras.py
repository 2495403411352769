"""The video_streams rows a robot announces itself (SPEC §13 "Cameras"), apart from the staff's
rows of store.py: one statement makes or changes the robot's stream of a name."""

from __future__ import annotations

from ..core.models import StreamStatus, VideoStream, utcnow
from .database import Database
from .entities import VIDEO_STREAMS, decoded

# One statement on the unique (robot_id, name) index: two lines of one robot racing each other
# (or a robot and the staff) cannot make two rows of one name.
_UPSERT = """
    INSERT INTO video_streams (name, robot_id, url, status, updated_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (robot_id, name) DO UPDATE SET
        url = excluded.url, status = excluded.status, updated_at = excluded.updated_at
    RETURNING *
"""


class CameraRows:
    """Robots' own streams on the store's database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def announce(self, robot_id: str, name: str, url: str, status: StreamStatus
                       ) -> VideoStream:
        """The robot's stream `name` at `url`, made or changed and committed: as it now is."""
        async with self._database.transaction() as db:
            async with db.execute(_UPSERT, (name, robot_id, url, status, utcnow())) as cur:
                row = await cur.fetchone()
        assert row is not None  # RETURNING always gives the row it wrote
        return VIDEO_STREAMS.build(decoded(row))
