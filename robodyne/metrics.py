"""/metrics: plain counters bumped on the hot paths, exposed through prometheus-client."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from typing import Final

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from . import keys
from .const import Close

LATENCY_BOUNDS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                         2.5, 5.0)
CLOSE_REASONS: Final = {
    Close.SLOW: "slow", Close.PONG_TIMEOUT: "pong_timeout", Close.POLICY: "limit",
    Close.TOO_BIG: "limit", Close.UNAUTHORIZED: "auth", Close.FORBIDDEN: "auth",
    Close.UNSUPPORTED: "unknown_topic", Close.GOING_AWAY: "shutdown",
}


class Buckets:
    """A latency histogram as plain ints: cheap enough to observe every frame sent."""

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BOUNDS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.total += seconds

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        cumulative, running = [], 0
        for bound, count in zip((*map(str, self.bounds), "+Inf"), self.counts):
            running += count
            cumulative.append((bound, running))
        return HistogramMetricFamily(name, documentation, buckets=cumulative, sum_value=self.total)


class Stats:
    """Everything the server counts about itself."""

    def __init__(self) -> None:
        self.ws_messages: Counter[str] = Counter()
        self.ws_bytes: Counter[str] = Counter()
        self.ws_closed: Counter[str] = Counter()
        self.tcp_lines: Counter[str] = Counter()
        self.tcp_errors: Counter[str] = Counter()
        self.db_write = Buckets()
        self.publish_to_socket = Buckets()
        self.loop_lag = 0.0

    def closed(self, code: int) -> None:
        reason = CLOSE_REASONS.get(code)  # type: ignore[call-overload]
        if reason is not None:
            self.ws_closed[reason] += 1


class AppCollector:
    """Reads the app's live state and counters at scrape time."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    def collect(self) -> Iterator[Metric]:
        app, stats = self._app, self._app[keys.STATS]
        hub = app[keys.HUB]
        connections = GaugeMetricFamily("robodyne_ws_connections", "WebSocket clients",
                                        labels=["topic"])
        for topic, count in hub.connections().items():
            connections.add_metric([topic], count)
        yield connections
        for name, doc, counter in (
            ("robodyne_ws_messages_sent", "Frames written to WebSocket clients", stats.ws_messages),
            ("robodyne_ws_bytes_sent", "Bytes written to WebSocket clients", stats.ws_bytes),
        ):
            family = CounterMetricFamily(name, doc, labels=["topic"])
            for topic, value in counter.items():
                family.add_metric([topic], value)
            yield family
        closed = CounterMetricFamily("robodyne_ws_clients_closed", "Clients closed by the server",
                                     labels=["reason"])
        for reason, value in stats.ws_closed.items():
            closed.add_metric([reason], value)
        yield closed
        high_water = max([hub.queue_high_water, *(s.high_water for s in hub.subscribers())])
        yield GaugeMetricFamily("robodyne_ws_send_queue_high_water",
                                "Most frames ever waiting for one client", value=high_water)
        items = GaugeMetricFamily("robodyne_topic_items", "Items in each topic's snapshot",
                                  labels=["topic"])
        for topic in hub.topics:
            items.add_metric([topic], len(hub.snapshot(topic)[0]))
        yield items
        yield GaugeMetricFamily("robodyne_ws_queued_frames", "Frames waiting in all send queues",
                                value=sum(len(s.queue) for s in hub.subscribers()))
        yield GaugeMetricFamily("robodyne_event_loop_lag_seconds",
                                "How late the watchdog's last timer fired", value=stats.loop_lag)
        yield GaugeMetricFamily("robodyne_robot_connections", "Robots with a live TCP session",
                                value=len(app[keys.FLEET].links))
        lines = CounterMetricFamily("robodyne_tcp_lines", "Robot lines handled", labels=["type"])
        for kind, value in stats.tcp_lines.items():
            lines.add_metric([kind], value)
        yield lines
        errors = CounterMetricFamily("robodyne_tcp_errors", "Robot lines refused", labels=["code"])
        for code, value in stats.tcp_errors.items():
            errors.add_metric([code], value)
        yield errors
        yield stats.db_write.family("robodyne_db_write_seconds", "SQLite transaction latency")
        yield stats.publish_to_socket.family("robodyne_publish_to_socket_seconds",
                                             "Time from publish to the frame written to a socket")


def registry_for(app: web.Application) -> CollectorRegistry:
    """A registry of this app's own: two apps in one process (tests) never share metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AppCollector(app))
    return registry


async def metrics(request: web.Request) -> web.Response:
    from .api import require_metrics
    require_metrics(request)
    body = generate_latest(request.app[keys.METRICS])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
