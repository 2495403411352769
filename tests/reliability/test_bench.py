"""The benchmark harness at a tiny size, so it keeps working: never a speed, only that it ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import dispatch, guests, photos, scenarios, yeardb
from bench.servers import seed_available

from ..support.server import db_rows

SERVERS = ["robodyne", "raw", *(["seed"] if seed_available() else [])]
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("kind", SERVERS)
def test_fanout_delivers_to_every_client_without_gaps(kind: str) -> None:
    result = scenarios.fanout(kind, robots=3, hz=5, subscribers=10, duration=2)
    assert result["silent_clients"] == 0
    assert result["gaps"] == 0 and result["duplicates"] == 0
    assert result["latency"]["samples"] > 0


def test_frozen_clients_are_reported_and_the_rest_keep_going() -> None:
    result = scenarios.fanout("robodyne", robots=3, hz=5, subscribers=10, frozen=2,
                              duration=2, send_timeout_s=1)
    assert result["silent_clients"] == 0 and result["gaps"] == 0
    assert len(result["frozen_close_codes"]) >= 1  # when they close depends on volume


@pytest.mark.parametrize("kind", SERVERS)
def test_idle_connections_all_connect(kind: str) -> None:
    result = scenarios.idle(kind, connections=45)
    assert result["connected"] == 45
    assert result["rss_after_mb"] > 0


@pytest.mark.parametrize("hz", [50, 0])
def test_ingest_is_acked_by_every_robot(hz: float) -> None:
    result = scenarios.ingest("robodyne", robots=3, hz=hz, subscribers=5, duration=2)
    assert result["robots_acked"] == 3 and result["lines_sent"] > 0
    assert result["gaps"] == 0 and result["silent_clients"] == 0


def test_shutdown_closes_every_client_and_exits_zero() -> None:
    result = scenarios.shutdown("robodyne", connections=40)
    assert result["connected"] == 40 and result["clients_closed_by_server"] == 40
    assert result["exit_code"] == 0


@pytest.mark.parametrize("variant", ["auto", "button"])
def test_dispatch_serves_every_order_once(variant: str) -> None:
    # ~25 s each: 4 robots, two tables a few metres from the dock, a handful of orders.
    result = dispatch.dispatch(variant, robots=4, tables=2, per_minute=40, duration=4,
                               cook_s=(0.5, 1.5), accept_s=(0.2, 0.5), drain_s=30,
                               backlog_tasks=10, backlog_s=2)
    assert result["orders"] > 0 and result["http_error_count"] == 0
    assert result["served_once"] == result["orders"]
    assert result["unserved"] == 0 and result["doubled"] == 0
    assert result["ready_to_command"]["samples"] == result["orders"]
    assert result["ws_gaps"] == 0
    if variant == "auto":
        assert result["backlog"]["queue_filled"]
    else:
        assert result["button"]["commands_sent"] >= result["orders"]


def test_guests_see_their_orders_and_robots_with_no_gap() -> None:
    # ~17 s: 2 tables × 2 phones, 2 tablets, 2 robots, a handful of guest orders; the robots
    # reach the demo's tables 1 and 2 (~6 and ~9 m from the dock) within the run.
    result = guests.guests("robodyne", tables=2, phones=2, tablets=2, robots=2, per_minute=30,
                           duration=12, cook_s=(0.5, 1.5), accept_s=(0.2, 0.5))
    assert result["orders"] > 0 and result["order_errors"] == 0
    assert result["http_error_count"] == 0 and result["background_errors"] == []
    assert result["guest_sockets"] == 4 and result["guest_updates"] > 0
    assert result["gaps"] == 0 and result["duplicates"] == 0
    assert result["order_to_tablets"]["samples"] == result["orders"] * 2
    assert result["order_to_phones"]["samples"] == result["orders"] * 2
    assert result["pose_to_eta"]["samples"] > 0 and result["eta_unmatched"] == 0
    assert result["server_cpu_per_s"] > 0


def test_the_reports_year_database_builds_on_todays_schema_and_menu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yeardb, "CACHE_DIR", tmp_path)
    path, built_s = yeardb.ensure(yeardb.Sizes(days=2, orders_per_day=5, robot_events=50))
    assert built_s is not None
    [(orders,)] = db_rows(path, "SELECT count(*) FROM orders")
    assert orders > 0


def test_the_photos_bench_times_each_case() -> None:
    cases = {"small": ((640, 480), "JPEG", 20, 6), "png": ((300, 200), "PNG", 0, None)}
    result = photos.photos("robodyne", repeats=2, cases=cases)
    assert set(result["cases"]) == {"small", "png"}
    assert all(case["median_ms"] > 0 and case["upload_mb"] > 0
               for case in result["cases"].values())
