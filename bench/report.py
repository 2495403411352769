"""python -m bench.report RESULTS.json: the markdown tables and the latency plot for the docs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .__main__ import tables as scenario_tables

COLOURS = {"robodyne": "#1e88e5", "base": "#90caf9", "raw": "#43a047", "seed": "#e53935"}
# The plot's sweep: the fan-out sizes that vary only the subscribers.
SWEEP = {"robots": 50, "hz": 10}


def plot(results: dict[str, Any], path: Path) -> None:
    """Latency percentiles against subscriber count, one line per server and percentile."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in results["scenarios"].get("fanout", []) if "latency" in r
            and all(r.get(key) == value for key, value in SWEEP.items())]
    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=120)
    for kind, colour in COLOURS.items():
        mine = sorted((r for r in rows if r["server"] == kind), key=lambda r: r["subscribers"])
        if not mine:
            continue
        xs = [r["subscribers"] for r in mine]
        for key, style in (("p50_ms", "-"), ("p90_ms", "--"), ("p99_ms", ":")):
            ys = [r["latency"][key] for r in mine]
            ax.plot(xs, ys, style, color=colour, marker="o", markersize=3,
                    label=f"{kind} {key[:3]}")
    ax.set_yscale("log")
    ax.set_xlabel("WebSocket subscribers (80% robots, 20% status)")
    ax.set_ylabel("robot line → subscriber, ms (log)")
    ax.set_title("Fan-out latency: 50 robots × 10 Hz, clients and server on 2 cores")
    ax.axhline(10, color="grey", linewidth=0.6)
    ax.axhline(50, color="grey", linewidth=0.6)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(path)


def tables(results: dict[str, Any]) -> str:
    return "\n\n".join(f"### {name}\n\n{scenario_tables(name, rows)}"
                       for name, rows in results["scenarios"].items())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", type=Path)
    parser.add_argument("--plot", type=Path, default=Path("docs/benchmarks-latency.png"))
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    if results["scenarios"].get("fanout"):  # a results file without fanout keeps the old plot
        plot(results, args.plot)
    print(tables(results))


if __name__ == "__main__":
    main()
