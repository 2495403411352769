"""/metrics: the server's counters and live state in the Prometheus text format."""

from __future__ import annotations

from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from ..core.stats import Buckets, Stats
from ..domain.fleet import Fleet
from ..live.hub import Hub
from .needs import Caller


def histogram(buckets: Buckets, name: str, documentation: str) -> HistogramMetricFamily:
    cumulative, running = [], 0
    for bound, count in zip((*map(str, buckets.bounds), "+Inf"), buckets.counts):
        running += count
        cumulative.append((bound, running))
    return HistogramMetricFamily(name, documentation, buckets=cumulative,
                                 sum_value=buckets.total)


class Collector:
    """Reads the counters and the live state at scrape time."""

    def __init__(self, stats: Stats, hub: Hub, fleet: Fleet) -> None:
        self._stats = stats
        self._hub = hub
        self._fleet = fleet

    def collect(self) -> Iterator[Metric]:
        stats, hub = self._stats, self._hub
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
                                value=self._fleet.online_count())
        lines = CounterMetricFamily("robodyne_tcp_lines", "Robot lines handled", labels=["type"])
        for kind, value in stats.tcp_lines.items():
            lines.add_metric([kind], value)
        yield lines
        errors = CounterMetricFamily("robodyne_tcp_errors", "Robot lines refused", labels=["code"])
        for code, value in stats.tcp_errors.items():
            errors.add_metric([code], value)
        yield errors
        yield CounterMetricFamily("robodyne_tcp_pending_refused",
                                  "Robot connections closed at once past tcp.max_pending",
                                  value=stats.tcp_pending_refused)
        yield histogram(stats.db_write, "robodyne_db_write_seconds", "SQLite transaction latency")
        yield histogram(stats.ready_to_served, "robodyne_order_ready_to_served_seconds",
                        "Time from an order ready to served, per order a robot delivered")
        yield histogram(stats.dispatch_decisions, "robodyne_dispatch_decision_seconds",
                        "Time the dispatcher takes to match the queue to the free robots")
        finished = CounterMetricFamily("robodyne_tasks_finished", "Robot tasks by final status",
                                       labels=["kind", "status"])
        for (kind, status), value in stats.tasks_finished.items():
            finished.add_metric([kind, status], value)
        yield finished
        queued = sum(1 for task in hub.snapshot("tasks")[0] if task["status"] == "queued")
        yield GaugeMetricFamily("robodyne_tasks_queued", "Robot tasks waiting for a robot",
                                value=queued)
        yield histogram(stats.publish_to_socket, "robodyne_publish_to_socket_seconds",
                        "Time from publish to the frame written to a socket")
        yield GaugeMetricFamily("robodyne_backup_last_success_timestamp_seconds",
                                "Unix time of the last scheduled backup that succeeded (0: none)",
                                value=stats.backup_last_success)
        yield GaugeMetricFamily("robodyne_backup_last_duration_seconds",
                                "Seconds the last successful scheduled backup took",
                                value=stats.backup_last_duration)
        yield GaugeMetricFamily("robodyne_backup_last_size_bytes",
                                "Size of the last successful scheduled backup",
                                value=stats.backup_last_size)
        yield CounterMetricFamily("robodyne_backups", "Scheduled backups written",
                                  value=stats.backups)
        yield CounterMetricFamily("robodyne_backup_failures", "Scheduled backups that failed",
                                  value=stats.backup_failures)


class Metrics:
    """GET /metrics, from a registry of this app's own: two apps in one process (tests) never
    share metrics."""

    def __init__(self, collector: Collector) -> None:
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(collector)

    async def handler(self, request: web.Request, caller: Caller) -> web.Response:
        body = generate_latest(self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
