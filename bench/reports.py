"""python -m bench reports: the day's report and the orders export on a year of a busy
restaurant (bench/yeardb.py), and what a streaming export costs the robots topic.

`python -m bench.reports '<json spec>'` is the HTTP side, a process of its own like bench.load:
it prints `ready` (an export: once its first bytes are in), then writes its result as JSON to
the spec's `out` file.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import aiohttp
import orjson

from robodyne.core.days import day_range
from robodyne.store import report_queries as queries

from . import scenarios, yeardb
from .servers import ADMIN_TOKEN, ROOT, Server
from .stats import Histogram

RSS_EVERY_S: Final = 0.02
# A log record's first line at warning or above: "2026-12-02 02:05:00,424 ERROR aiohttp.server: …"
PROBLEM: Final = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) ")
# The kitchen the year was cooked in, and every event of it kept: the default retention
# (events = 100000) would prune the year down to its last two weeks a minute after the start.
CONFIG: Final = ('[kitchen]\nstations = ["grill", "fry", "cold", "bar"]\n'
                 'default_station = "grill"\n[retention]\nevents = 10000000\n')
# Every query of store/report_queries.py: its upper-case names that hold a SELECT.
REPORT_QUERIES: Final = tuple(name for name, value in vars(queries).items()
                              if name.isupper() and isinstance(value, str) and "SELECT" in value)
# The columns a query's day is a range of: an order's, a task's, an event's or a payment's
# created_at; a visit's closed_at (the sales).
DAY_COLUMNS: Final = ("created_at", "closed_at", "seated_at")
# Reads that are not the report's but grow with the year: topic snapshots, the expo's times.
OTHER_READS: Final = ("/api/orders", "/api/tables", "/api/tasks", "/api/kitchen/prep_times")
OTHER_READ_TIMES: Final = 3
# The export during the live phase starts before the robots and stops this long after.
LIVE_MARGIN_S: Final = 4.0

COLUMNS: Final = [("days", "days"), ("data.orders", "orders"), ("data.order_items", "items"),
                  ("data.tasks", "tasks"), ("data.events", "events"),
                  ("data.robot_events", "robot events"), ("build_s", "build s"),
                  ("report.requests", "reports"), ("report.p50_ms", "report p50 ms"),
                  ("report.max_ms", "report max ms"), ("report.totals_match", "totals match"),
                  ("report.sales_match", "sales match"),
                  ("live.p99_ratio", "robots p99 during/idle"), ("log_problems", "log problems")]
EXPORT_COLUMNS: Final = [("days", "days"), ("rows", "rows"), ("expected_rows", "expected"),
                         ("first_byte_s", "first byte s"), ("seconds", "s"),
                         ("rows_per_s", "rows/s"), ("rss_before_mb", "RSS before MB"),
                         ("rss_peak_mb", "RSS peak MB"), ("rss_growth_mb", "RSS +MB")]
LIVE_COLUMNS: Final = [("phase", "phase"), ("robots", "robots"), ("hz", "Hz"),
                       ("latency.samples", "samples"), ("latency.p50_ms", "p50 ms"),
                       ("latency.p99_ms", "p99 ms"), ("latency.max_ms", "max ms"),
                       ("gaps", "gaps"), ("exports", "exports"),
                       ("export_rows_per_s", "export rows/s"),
                       ("export_throughout", "export throughout")]


# ---- the client process ----

async def _timed_get(session: aiohttp.ClientSession, url: str,
                     params: dict[str, str] | None = None) -> tuple[float, bytes]:
    started = time.perf_counter()
    async with session.get(url, params=params) as response:
        body = await response.read()
    if response.status != 200:
        raise RuntimeError(f"{url} {params}: HTTP {response.status}: {body[:200]!r}")
    return (time.perf_counter() - started) * 1000, body


async def _daily(session: aiohttp.ClientSession, spec: dict[str, Any]) -> dict[str, Any]:
    """One report per day asked for, one after the other; then the other reads."""
    report_ms, totals, checks = [], [], []
    for day in spec["days"]:
        ms, body = await _timed_get(session, f"{spec['url']}/api/reports/daily", {"date": day})
        report_ms.append(ms)
        report = orjson.loads(body)
        totals.append(report["orders"]["total"])
        checks.append([report["sales"]["checks"], report["sales"]["gross"]])
    other_ms = {path: [(await _timed_get(session, spec["url"] + path))[0]
                       for _ in range(OTHER_READ_TIMES)] for path in OTHER_READS}
    return {"report_ms": report_ms, "totals": totals, "checks": checks, "other_ms": other_ms}


async def _export(session: aiohttp.ClientSession, spec: dict[str, Any]) -> dict[str, Any]:
    """The export read as fast as it comes: once, or again and again for `duration` seconds
    (the one running then is cut off)."""
    url = f"{spec['url']}/api/export/orders.csv"
    params = {"from": spec["from"], "to": spec["to"]}
    duration = spec.get("duration")
    stop_at = time.monotonic() + (duration or 0)
    exports: list[dict[str, Any]] = []
    while not exports or (duration and time.monotonic() < stop_at):
        record: dict[str, Any] = {"started": time.time(), "lines": 0, "bytes": 0,
                                  "first_byte_s": None, "complete": True}
        started = time.perf_counter()
        async with session.get(url, params=params) as response:
            if response.status != 200:
                raise RuntimeError(f"export: HTTP {response.status}: {await response.text()}")
            async for chunk in response.content.iter_chunked(1 << 16):
                if record["first_byte_s"] is None:
                    record["first_byte_s"] = time.perf_counter() - started
                    if not exports:
                        print("ready", flush=True)
                record["bytes"] += len(chunk)
                record["lines"] += chunk.count(b"\n")
                if duration and time.monotonic() >= stop_at:
                    record["complete"] = False
                    break
        record["seconds"] = time.perf_counter() - started
        record["ended"] = time.time()
        record["rows"] = max(0, record["lines"] - 1)  # the header
        exports.append(record)
    return {"exports": exports}


async def _client(spec: dict[str, Any]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    timeout = aiohttp.ClientTimeout(total=None, sock_read=300)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
        if spec["role"] == "daily":
            return await _daily(session, spec)
        return await _export(session, spec)


def main() -> None:
    spec = orjson.loads(sys.argv[1])
    if spec["role"] == "daily":
        print("ready", flush=True)
    result = asyncio.run(_client(spec))
    Path(spec["out"]).write_bytes(orjson.dumps(result))


# ---- the scenario ----

def _vmrss(pid: int) -> int:
    """The process's resident set in bytes, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def _watch(pid: int, processes: list[subprocess.Popen[str]]) -> list[int]:
    """The server's RSS every RSS_EVERY_S until every process has exited."""
    samples = [_vmrss(pid)]
    while any(process.poll() is None for process in processes):
        time.sleep(RSS_EVERY_S)
        samples.append(_vmrss(pid))
    return samples


@contextmanager
def _environ(**values: str) -> Iterator[None]:
    """Environment for a process started inside (Server.start passes its own on)."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _client_process(spec: dict[str, Any]) -> subprocess.Popen[str]:
    return scenarios._spawn(spec, module="bench.reports")


def explain(path: Path, day: date) -> dict[str, dict[str, Any]]:
    """EXPLAIN QUERY PLAN of each report query for `day`, whether it is driven by a created_at
    range, and its time on the stdlib sqlite3 (the export: until its first batch)."""
    start, end = day_range(day, day, ZoneInfo(yeardb.ZONE))
    params = {"start": start, "end": end}
    plans: dict[str, dict[str, Any]] = {}
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
        for name in REPORT_QUERIES:
            sql = getattr(queries, name)
            plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
            started = time.perf_counter()
            cursor = db.execute(sql, params)
            if name == "EXPORT":
                cursor.fetchmany(queries.EXPORT_BATCH)
            else:
                cursor.fetchall()
            # Each query reads one day of DAY_COLUMNS: the first table it reads should be
            # searched by it, or the query reads past its day, whatever its plan calls it.
            tables = [step for step in plan if step.startswith(("SCAN ", "SEARCH "))
                      and "VIRTUAL TABLE" not in step and "(subquery" not in step]
            plans[name] = {
                "plan": plan, "ms": (time.perf_counter() - started) * 1000,
                "driving": tables[0] if tables else None,
                "by_day": bool(tables) and tables[0].startswith("SEARCH ")
                and any(column in tables[0] for column in DAY_COLUMNS),
                "full_scans": [step for step in tables if step.startswith("SCAN ")],
                "sorts": [step for step in plan if step.startswith("USE TEMP B-TREE")]}
    return plans


def _days(first: date, count: int, total: int) -> list[date]:
    return [date.fromordinal(first.toordinal() + n * total // count) for n in range(count)]


def _daily_phase(server: Server, path: Path, sizes: yeardb.Sizes,
                 requests: int) -> dict[str, Any]:
    days = _days(yeardb.FIRST_DAY, requests, sizes.days)
    client = _client_process({"role": "daily", "url": server.url,
                              "days": [day.isoformat() for day in days]})
    result = scenarios._result(client, timeout=600)
    zone = ZoneInfo(yeardb.ZONE)
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
        expected = [db.execute("SELECT count(*) FROM orders WHERE created_at >= ?"
                               " AND created_at < ?", day_range(day, day, zone)).fetchone()[0]
                    for day in days]
        # The sales: the visits closed that day, counted and their totals summed apart.
        sales = [list(db.execute(
            "SELECT count(*), coalesce(sum(json_extract(bill, '$.total')), 0) FROM visits"
            " WHERE status = 'closed' AND closed_at >= ? AND closed_at < ?",
            day_range(day, day, zone)).fetchone()) for day in days]
    times = result["report_ms"]
    return {"requests": len(times), "p50_ms": statistics.median(times), "max_ms": max(times),
            "mean_ms": statistics.fmean(times), "first_ms": times[0], "ms": times,
            "days": [day.isoformat() for day in days], "orders": result["totals"],
            "totals_match": result["totals"] == expected,
            "sales_match": result["checks"] == sales,
            "other_reads_ms": {path: statistics.median(ms)
                               for path, ms in result["other_ms"].items()}}


def _export_phase(server: Server, path: Path, sizes: yeardb.Sizes,
                  days: int) -> dict[str, Any]:
    """The last `days` days exported once, with the server's RSS sampled throughout."""
    assert server.process is not None
    first, last = sizes.day(sizes.days - days), sizes.day(sizes.days - 1)
    time.sleep(1)  # what the phase before freed is given back
    client = _client_process({"role": "export", "url": server.url, "from": first.isoformat(),
                              "to": last.isoformat()})
    rss = _watch(server.process.pid, [client])
    export = scenarios._result(client, timeout=600)["exports"][0]
    expected = yeardb.items_between(path, *day_range(first, last, ZoneInfo(yeardb.ZONE)))
    return {"days": days, "from": first.isoformat(), "to": last.isoformat(),
            "rows": export["rows"], "expected_rows": expected, "bytes": export["bytes"],
            "first_byte_s": export["first_byte_s"], "seconds": export["seconds"],
            "rows_per_s": export["rows"] / export["seconds"],
            "mb_per_s": export["bytes"] / export["seconds"] / 2**20,
            "rss_before_mb": rss[0] / 2**20, "rss_peak_mb": max(rss) / 2**20,
            "rss_growth_mb": (max(rss) - rss[0]) / 2**20, "rss_after_mb": rss[-1] / 2**20,
            "rss_samples": len(rss)}


def _live_phase(server: Server, sizes: yeardb.Sizes, robots: int, hz: float, seconds: float,
                export: bool) -> dict[str, Any]:
    """One subscriber on robots while R robots send state at H Hz; with `export`, a whole-range
    export streams, restarted as it ends, from before the robots start until after they stop."""
    assert server.process is not None
    time.sleep(1)
    exporter = None
    if export:
        exporter = _client_process({
            "role": "export", "url": server.url, "from": sizes.day(0).isoformat(),
            "to": sizes.day(sizes.days - 1).isoformat(), "duration": seconds + LIVE_MARGIN_S})
        scenarios._wait_ready(exporter, timeout=120)
    subscriber = scenarios._subscribers(server, {"robots": 1}, seconds + 1.5)
    scenarios._wait_ready(subscriber)
    fleet_started = time.time()
    fleet = scenarios._robots(server, robots, hz, seconds)
    rss = _watch(server.process.pid, [subscriber, fleet])
    subscribed = scenarios._result(subscriber)
    sent = scenarios._result(fleet)
    fleet_stopped = fleet_started + sent["seconds"]
    row: dict[str, Any] = {
        "phase": "during export" if export else "idle", "robots": robots, "hz": hz,
        "seconds": seconds, "lines_sent": sent["lines"], "robots_acked": sent["acked"],
        "latency": Histogram.from_json(subscribed["latency"]["robots"]).summary(),
        "gaps": subscribed["gaps"], "rss_peak_mb": max(rss) / 2**20}
    if exporter is not None:
        exports = scenarios._result(exporter, timeout=seconds + 120)["exports"]
        row.update(exports=len(exports),
                   export_rows_per_s=sum(e["rows"] for e in exports)
                   / sum(e["seconds"] for e in exports),
                   export_throughout=exports[0]["started"] <= fleet_started
                   and exports[-1]["ended"] >= fleet_stopped,
                   export_runs=exports)
    return row


def _log_problems(server: Server) -> list[str]:
    """The server log's warning, error and critical records (their first lines)."""
    log = server.workdir / "server.log"
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [line for line in lines if PROBLEM.match(line)]


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


@contextmanager
def _serving(kind: str, path: Path, problems: list[str]) -> Iterator[Server]:
    """A server on a fresh copy of the file; its log's problems are added to `problems`."""
    server = Server(kind, extra_config=CONFIG)
    shutil.copyfile(path, server.workdir / "bench.db")
    try:
        with _environ(ROBODYNE_SERVER__TIMEZONE=yeardb.ZONE):
            server.start()
        yield server
    finally:
        server.stop()
        problems += _log_problems(server)
        shutil.rmtree(server.workdir, ignore_errors=True)


def reports(kind: str, *, days: int, orders_per_day: int, robot_events: int, requests: int,
            exports: tuple[int, ...], robots: int, hz: float, live_s: float) -> dict[str, Any]:
    """A year's file (cached); a server on a copy of it for the report, the exports and the
    robots topic idle, then a fresh one for the robots topic during an export (on the first,
    the robots' last poses would reach the new subscriber's snapshot and count as latency)."""
    sizes = yeardb.Sizes(days, orders_per_day, robot_events)
    path, build_s = yeardb.ensure(sizes)
    row: dict[str, Any] = {"scenario": "reports", "server": kind, "days": days,
                           "first_day": sizes.day(0).isoformat(),
                           "last_day": sizes.day(days - 1).isoformat(), "timezone": yeardb.ZONE,
                           "data": yeardb.counts(path), "build_s": build_s,
                           "cached": build_s is None, "file": str(path),
                           "plan_day": sizes.day(days // 2).isoformat(),
                           "plans": explain(path, sizes.day(days // 2))}
    problems: list[str] = []
    with _serving(kind, path, problems) as server:
        row["report"] = _daily_phase(server, path, sizes, requests)
        row["exports"] = [_export_phase(server, path, sizes, n) for n in exports]
        idle = _live_phase(server, sizes, robots, hz, live_s, export=False)
    with _serving(kind, path, problems) as server:
        during = _live_phase(server, sizes, robots, hz, live_s, export=True)
    row["live"] = {"idle": idle, "during": during,
                   "p99_ratio": during["latency"]["p99_ms"] / idle["latency"]["p99_ms"]
                   if idle["latency"]["p99_ms"] and during["latency"]["p99_ms"] else None}
    row["load_average"] = os.getloadavg()
    row["commit"] = _git("rev-parse", "--short", "HEAD")
    # Other engineers' uncommitted changes to the server the run was made with.
    row["robodyne_changed"] = _git("status", "--short", "--", "robodyne").splitlines()
    row["log_problems"] = len(problems)
    row["log_problem_lines"] = problems
    return row


def parts(rows: list[dict[str, Any]]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """The sub-tables a reports run prints: (title, COLUMNS key, rows)."""
    exports = [{"server": row["server"], **export} for row in rows
               for export in row.get("exports", [])]
    live = [{"server": row["server"], **row["live"][phase]} for row in rows if "live" in row
            for phase in ("idle", "during")]
    return [("export", "reports export", exports), ("robots topic", "reports live", live)]


def plans_text(rows: list[dict[str, Any]]) -> str:
    """Each report query's plan, once, flagged when its day is not what bounds what it reads."""
    if not rows or "plans" not in rows[0]:
        return ""
    row = rows[0]
    lines = [f"\nEXPLAIN QUERY PLAN for {row['plan_day']} (stdlib sqlite3 {sqlite3.sqlite_version}"
             f", ms on it; EXPORT: until its first batch):"]
    for name, plan in row["plans"].items():
        flag = "" if plan["by_day"] else f"  <-- NOT BY ITS DAY: {plan['driving']}"
        lines.append(f"- {name} ({plan['ms']:.1f} ms): " + "; ".join(plan["plan"]) + flag)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
