"""The service bench's quick form (`python -m bench service --quick`): a compressed evening
against a real `python run.py`, calm and then under fire (robots failing, dropping off the
Wi-Fi and restarting; tablets and phones losing the Wi-Fi; a frozen tablet; kill -9; the
database's disk full). Its zeros are the test; its latencies are docs/benchmarks.md's."""

from __future__ import annotations

from typing import Any

import pytest

from bench.__main__ import SIZES
from bench.service import service


@pytest.fixture(scope="module")
def evening() -> dict[str, Any]:
    return service("robodyne", **SIZES["service"]["quick"][0])


def test_every_order_placed_is_served_once_and_nobody_dispatched_by_hand(
        evening: dict[str, Any]) -> None:
    for run in (evening["calm"], evening):
        assert run["placed"] >= SIZES["service"]["quick"][0]["orders"]
        assert run["placed"] == run["planned_orders"] == run["served"], (
            run["people_errors"], run["unserved_samples"], run["unserved_by_parties"])
        assert (run["lost"], run["served_twice"], run["unserved_by_parties"]) == (0, 0, 0)
        assert run["human_dispatch"] == 0 and run["tasks"] > 0


def test_no_task_is_left_unfinished_or_stuck(evening: dict[str, Any]) -> None:
    for run in (evening["calm"], evening):
        assert run["settled"] and run["tasks_unfinished"] == 0
        assert run["tasks_stuck"] == 0, run["stuck_samples"]


def test_every_stream_is_whole_and_every_check_adds_up_and_is_paid_once(
        evening: dict[str, Any]) -> None:
    for run in (evening["calm"], evening):
        assert (run["gaps"], run["duplicates"], run["stream_errors"]) == (0, 0, 0)
        assert run["visits"] == run["visits_closed"] == run["plans"]
        assert (run["bad_checks"], run["payments_twice"]) == (0, 0)
        assert run["exit_status"] == 0


def test_every_fault_happened_and_the_restaurant_came_back(evening: dict[str, Any]) -> None:
    assert evening["robot_restarts"] == 2 and evening["robot_wifi"] >= 1
    assert evening["screen_wifi"] >= 1 and evening["resumed"] >= 1
    assert (evening["calm"]["server_deaths"], evening["server_deaths"]) == (0, 1)
    assert evening["back_after_kill_s"] is not None
    assert evening["frozen_closed_s"] is not None
    # The disk fault that ran is named; it bit (writes refused) and the server recovered.
    assert evening["disk_fault"] in ("tmpfs full", "RLIMIT_FSIZE")
    assert evening["disk_bit_after_s"] is not None and evening["refused_while_full"] > 0
    assert evening["storage_recovered"] >= 1
