"""python -m bench {fanout,frozen,idle,ingest,shutdown,dispatch,reports,guests,photos,prehello,all}
[--quick] [--base CHECKOUT]: side by side, one run."""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import dispatch, guests, photos, prehello, reports, scenarios, servers, service
from .servers import KINDS, seed_available

# (quick, full) sizes; the full fanout sweeps subscriber counts for the latency plot.
SIZES: dict[str, dict[str, Any]] = {
    # A real restaurant (10 robots at 5 Hz, 20 tablets), a busy one with many screens, then the
    # sweep of subscriber counts for the latency plot.
    "fanout": {"quick": [dict(robots=10, hz=5, subscribers=20, duration=3),
                         dict(robots=20, hz=10, subscribers=200, duration=3)],
               "full": [dict(robots=10, hz=5, subscribers=20, duration=10),
                        dict(robots=20, hz=10, subscribers=200, duration=10),
                        *(dict(robots=50, hz=10, subscribers=n, duration=10)
                          for n in (100, 250, 500, 1000))]},
    "saturation": {"quick": [dict(robots=20, hz=100, subscribers=100, duration=3)],
                   "full": [dict(robots=50, hz=100, subscribers=500, duration=10)]},
    # Frozen clients are caught once their TCP window closes, after ~0.7 MB on loopback; the
    # quick run shortens send_timeout_s so that happens within its 13 s.
    "frozen": {"quick": [dict(robots=50, hz=10, subscribers=100, frozen=10, duration=11,
                              send_timeout_s=1)],
               "full": [dict(robots=50, hz=10, subscribers=500, frozen=50, duration=30)]},
    "idle": {"quick": [dict(connections=1000)], "full": [dict(connections=10000)]},
    "ingest": {"quick": [dict(robots=20, hz=100, subscribers=50, duration=2),
                         dict(robots=20, hz=0, subscribers=50, duration=2)],
               "full": [dict(robots=100, hz=200, subscribers=100, duration=10),
                        dict(robots=100, hz=0, subscribers=100, duration=10)]},
    # The seed's robots handshake re-sends every robot to every subscriber: O(n²) to connect.
    "shutdown": {"quick": [dict(connections=300)], "full": [dict(connections=10000)]},
    # 50 robots, 60 tables, 20 orders/min (docs/benchmarks.md, "Dispatch", says why), then 200
    # queued tasks for the dispatcher's cost; cook times compressed so the window fills.
    "dispatch": {"quick": [dict(robots=50, tables=60, per_minute=20, duration=60, cook_s=(5, 20),
                                drain_s=90, backlog_tasks=200, backlog_s=10)],
                 "full": [dict(robots=50, tables=60, per_minute=20, duration=300,
                               cook_s=(15, 60), drain_s=150, backlog_tasks=200, backlog_s=60)]},
    # A year of a busy restaurant (docs/benchmarks.md, "Reports and export"); quick: a tenth.
    # Exports of the last month and of the whole file; the robots topic idle, then during one.
    "reports": {"quick": [dict(days=36, orders_per_day=410, robot_events=200_000, requests=20,
                               exports=(3, 36), robots=20, hz=10, live_s=3)],
                "full": [dict(days=365, orders_per_day=410, robot_events=2_000_000, requests=20,
                              exports=(31, 365), robots=20, hz=10, live_s=10)]},
    # A full room (docs/benchmarks.md, "Guests"): 60 tables × 4 phones on /ws/guest, 10 kitchen
    # tablets, 20 robots at 5 Hz, 30 guest orders a minute; quick: the same room, a shorter load.
    "guests": {"quick": [dict(tables=60, phones=4, tablets=10, robots=20, per_minute=30,
                              duration=45, cook_s=(5, 15))],
               "full": [dict(tables=60, phones=4, tablets=10, robots=20, per_minute=30,
                             duration=300, cook_s=(10, 40))]},
    # The time one menu photo holds the event loop (docs/benchmarks.md, "Menu photos").
    "photos": {"quick": [dict(repeats=3)], "full": [dict(repeats=10)]},
    # Strangers on the robot port that never say hello (docs/benchmarks.md, "Strangers").
    "prehello": {"quick": [dict(connections=2000)], "full": [dict(connections=10000)]},
    # A compressed Friday, calm then under fire (docs/reliability.md, "A service under fire").
    "service": {"quick": [dict(orders=60, tables=24, robots=8, duration=30)],
                "full": [dict(orders=400, tables=60, robots=8, duration=200)]},
}
# Scenarios run against variants of Robodyne instead of the three servers.
VARIANTS: dict[str, tuple[str, ...]] = {"dispatch": dispatch.VARIANTS, "reports": ("robodyne",),
                                        "guests": ("robodyne",), "photos": ("robodyne",),
                                        "prehello": ("robodyne",), "service": ("robodyne",)}
# Left out of `all --quick` (~4 minutes on its own): run `python -m bench dispatch --quick`.
# (guests --quick takes ~50 s and is in.)
NOT_IN_QUICK_ALL = frozenset({"dispatch", "service"})
RUNNERS: dict[str, Callable[..., dict[str, Any]]] = {
    "fanout": scenarios.fanout, "saturation": scenarios.fanout, "frozen": scenarios.fanout,
    "idle": scenarios.idle, "ingest": scenarios.ingest, "shutdown": scenarios.shutdown,
    "dispatch": dispatch.dispatch, "reports": reports.reports, "guests": guests.guests,
    "photos": photos.photos, "prehello": prehello.prehello, "service": service.service,
}
# Where a scenario's full run is saved when no --out is given.
RESULTS = Path(__file__).parent / "results"
DEFAULT_OUT: dict[str, Path] = {name: RESULTS / f"{name}.json"
                                for name in ("reports", "guests", "photos", "prehello", "service")}
# Each server's latency over the raw limit's in the same size of the same run.
RATIOS: list[tuple[str, str]] = [("vs_raw.p50", "p50/raw"), ("vs_raw.p99", "p99/raw")]
# What makes two rows of a scenario the same size.
SIZE_KEYS = ("robots", "hz", "subscribers", "frozen")
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "fanout": [("robots", "robots"), ("hz", "Hz"), ("subscribers", "subs"),
               ("frames_per_s", "frames/s"),
               ("delivered_states_per_s", "states/s"), ("latency.p50_ms", "p50 ms"),
               ("latency.p90_ms", "p90 ms"), ("latency.p99_ms", "p99 ms"),
               ("latency.max_ms", "max ms"), *RATIOS, ("gaps", "gaps"), ("duplicates", "dups"),
               ("silent_clients", "silent")],
    "frozen": [("subscribers", "subs"), ("frozen", "frozen"), ("latency.p50_ms", "p50 ms"),
               ("latency.p99_ms", "p99 ms"), *RATIOS, ("latency.max_ms", "max ms"),
               ("frozen_all_closed_after_s", "all frozen closed s"),
               ("frozen_close_codes", "codes"), ("rss_start_mb", "RSS start MB"),
               ("rss_max_mb", "RSS max MB"), ("gaps", "gaps")],
    "idle": [("connections", "conns"), ("connected", "connected"), ("connect_s", "connect s"),
             ("rss_after_mb", "RSS MB"), ("kb_per_connection", "KB/conn")],
    "ingest": [("robots", "robots"), ("hz", "Hz"), ("lines_per_s", "lines/s"),
               ("robots_acked", "acked"),
               ("latency.p50_ms", "p50 ms"), ("latency.p99_ms", "p99 ms"), *RATIOS,
               ("gaps", "gaps")],
    "shutdown": [("connections", "conns"), ("connected", "connected"), ("exit_s", "exit s"),
                 ("exit_code", "exit code"), ("clients_closed_by_server", "closed by server")],
}
COLUMNS["saturation"] = COLUMNS["fanout"]
COLUMNS["dispatch"] = dispatch.COLUMNS
COLUMNS["dispatch backlog"] = dispatch.BACKLOG_COLUMNS
COLUMNS["reports"] = reports.COLUMNS
COLUMNS["reports export"] = reports.EXPORT_COLUMNS
COLUMNS["reports live"] = reports.LIVE_COLUMNS
COLUMNS["guests"] = guests.COLUMNS
COLUMNS["photos"] = photos.COLUMNS
COLUMNS["prehello"] = prehello.COLUMNS
COLUMNS["service"] = service.COLUMNS


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """Each row's p50 and p99 over the raw server's in the same size (none without raw)."""
    raw = {tuple(row.get(key) for key in SIZE_KEYS): row["latency"]
           for row in rows if row.get("server") == "raw" and "latency" in row}
    for row in rows:
        base = raw.get(tuple(row.get(key) for key in SIZE_KEYS))
        if base is None or "latency" not in row:
            continue
        row["vs_raw"] = {q: row["latency"][f"{q}_ms"] / base[f"{q}_ms"]
                         for q in ("p50", "p99") if base.get(f"{q}_ms")}


def _get(row: dict[str, Any], path: str) -> Any:
    value: Any = row
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "–"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(scenario: str, rows: list[dict[str, Any]]) -> str:
    columns = [("server", "server"), *COLUMNS[scenario]]
    lines = ["| " + " | ".join(title for _, title in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(_cell(_get(row, key)) for key, _ in columns) + " |" for row in rows]
    return "\n".join(lines)


def tables(scenario: str, rows: list[dict[str, Any]]) -> str:
    """The scenario's table, for dispatch also its backlog phase's (the auto rows), for reports
    its exports', its robots topic's and the report queries' plans."""
    text = table(scenario, rows)
    if scenario == "dispatch":
        auto = [row for row in rows if row.get("backlog")]
        if auto:
            text += f"\n\nbacklog phase:\n\n{table('dispatch backlog', auto)}"
    if scenario == "reports":
        for title, key, part in reports.parts(rows):
            if part:
                text += f"\n\n{title}:\n\n{table(key, part)}"
        text += "\n" + reports.plans_text(rows)
    return text


def machine() -> dict[str, Any]:
    import aiohttp
    import psutil
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cores": psutil.cpu_count(), "cpu": cpu,
            "memory_gb": round(psutil.virtual_memory().total / 2**30),
            "python": platform.python_version(), "platform": platform.platform(),
            "aiohttp": aiohttp.__version__, "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenario", choices=[*RUNNERS, "all"])
    parser.add_argument("--quick", action="store_true", help="small sizes: all in under 3 minutes")
    parser.add_argument("--servers", default=",".join(KINDS),
                        help="comma list of robodyne, raw, seed, base")
    parser.add_argument("--base", type=Path,
                        help="the checkout the base server runs from (adds base to --servers)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--seed", type=int, help="the service scenario's seed (default 1)")
    args = parser.parse_args()
    if args.out is None and not args.quick:
        args.out = DEFAULT_OUT.get(args.scenario)
    kinds = [k for k in args.servers.split(",") if k != "seed" or seed_available()]
    if args.base is not None:
        servers.BASE_ROOT = args.base.resolve()
        kinds = [k for k in kinds if k != "base"]
        kinds.insert(1, "base")
    if "seed" in args.servers and "seed" not in kinds:
        print("seed reference skipped: install fastapi and uvicorn (pip install -e '.[bench]')")
    chosen = [args.scenario]
    if args.scenario == "all":
        chosen = [s for s in RUNNERS if not (args.quick and s in NOT_IN_QUICK_ALL)]
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick, "scenarios": {}}
    for scenario in chosen:
        rows = []
        for size in SIZES[scenario]["quick" if args.quick else "full"]:
            for kind in VARIANTS.get(scenario, kinds):
                started = time.monotonic()
                try:
                    seeded = scenario == "service" and args.seed is not None
                    row = RUNNERS[scenario](kind, **size, **({"seed": args.seed} if seeded else {}))
                except (RuntimeError, OSError) as err:
                    row = {"server": kind, "error": str(err), **size}
                row["wall_s"] = time.monotonic() - started
                rows.append(row)
        add_ratios(rows)
        results["scenarios"][scenario] = rows
        print(f"\n## {scenario}\n\n{tables(scenario, rows)}", flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))
        print(f"\nresults written to {args.out}")


if __name__ == "__main__":
    main()
