"""The video streams (SPEC §13 "Cameras"): the staff's writes, a robot's announcement of its own
camera, and the origins the pages must allow to show them."""

from __future__ import annotations

from ..core.errors import ConstraintFailed, Conflict, NotFound
from ..core.models import StreamStatus, VideoStream, VideoStreamChanges
from ..core.streams import image_origins
from ..core.topics import Topic
from ..live.hub import Hub
from ..store.store import Store


class Cameras:
    """Every write of video_streams: commit, then publish on its topic."""

    def __init__(self, store: Store, hub: Hub) -> None:
        self._store = store
        self._hub = hub
        # The image origins as of a seq of the topic (pages ask on every load).
        self._origins: tuple[int, list[str]] | None = None

    def _publish(self, stream: VideoStream) -> None:
        self._hub.publish(Topic.VIDEO_STREAMS, "upsert", [stream.model_dump(mode="json")])

    async def add(self, name: str, url: str, robot_id: str | None,
                  status: StreamStatus) -> VideoStream:
        try:
            stream = await self._store.add_video_stream(name, url, robot_id, status)
        except ConstraintFailed as err:
            raise Conflict(f"robot {robot_id} already has a stream named {name!r}") from err
        self._publish(stream)
        return stream

    async def change(self, stream_id: int, changes: VideoStreamChanges) -> VideoStream:
        try:
            stream = await self._store.update_video_stream(stream_id, changes)
        except ConstraintFailed as err:
            raise Conflict("that robot already has a stream of that name") from err
        if stream is None:
            raise NotFound(f"video stream {stream_id} not found")
        self._publish(stream)
        return stream

    async def remove(self, stream_id: int) -> None:
        if not await self._store.delete_video_stream(stream_id):
            raise NotFound(f"video stream {stream_id} not found")
        self._hub.publish(Topic.VIDEO_STREAMS, "delete", [], ids=[stream_id])

    async def announce(self, robot_id: str, name: str, url: str,
                       status: StreamStatus) -> VideoStream:
        """A robot's `video` line: its stream of that name, made or changed, committed and
        published (so the line's ack follows both)."""
        stream = await self._store.cameras.announce(robot_id, name, url, status)
        self._publish(stream)
        return stream

    def image_origins(self) -> list[str]:
        """The origins of every stream a page shows in an image, as the topic holds them now
        (those another program wrote too); derived again only after the topic changed."""
        seq = self._hub.seq(Topic.VIDEO_STREAMS)
        if self._origins is None or self._origins[0] != seq:
            streams, seq = self._hub.snapshot(Topic.VIDEO_STREAMS)
            self._origins = (seq, image_origins(str(s["url"]) for s in streams))
        return self._origins[1]
