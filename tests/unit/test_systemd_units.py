"""The systemd units stay hardened: `systemd-analyze security` rates each at most 2.0
(docs/operations.md, "Hardening"); what they run under is tested in
tests/reliability/test_unit_hardening.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..support.systemd_unit import BRIDGE_UNIT, SERVER_UNIT, Unit, exposure
from ..support.unit_policy import Policy

LIMIT = 2.0


@pytest.mark.parametrize("unit", [SERVER_UNIT, BRIDGE_UNIT], ids=["server", "bridge"])
def test_the_units_exposure_is_at_most_2(unit: Path) -> None:
    assert exposure(unit) <= LIMIT


@pytest.mark.parametrize("unit", [SERVER_UNIT, BRIDGE_UNIT], ids=["server", "bridge"])
def test_every_setting_of_the_unit_is_applied_by_its_test_or_said_why_not(
        unit: Path, tmp_path: Path) -> None:
    policy = Policy.of(Unit.read(unit), tmp_path)
    assert policy.syscalls and policy.no_new_privs and policy.deny_write_execute


def test_a_setting_the_test_does_not_know_stops_it(tmp_path: Path) -> None:
    unit = tmp_path / "x.service"
    unit.write_text(SERVER_UNIT.read_text().replace("[Install]", "RestrictFileSystems=ext4\n"
                                                    "[Install]"))
    with pytest.raises(AssertionError, match="RestrictFileSystems"):
        Policy.of(Unit.read(unit), tmp_path)


def test_a_later_filter_line_takes_calls_out_of_the_allow_list_or_puts_them_back() -> None:
    server, bridge = Unit.read(SERVER_UNIT).syscalls(), Unit.read(BRIDGE_UNIT).syscalls()
    assert {"read", "epoll_wait", "execve", "socket", "fsync"} <= server  # @system-service
    assert not {"setuid", "chown", "mount", "reboot", "setpriority"} & (server | bridge)
    assert "sched_setscheduler" in bridge and "sched_setscheduler" not in server


def test_an_empty_assignment_resets_the_list(tmp_path: Path) -> None:
    unit = tmp_path / "x.service"
    unit.write_text("[Service]\nCapabilityBoundingSet=CAP_CHOWN\nCapabilityBoundingSet=\n"
                    "RestrictAddressFamilies=AF_INET\nRestrictAddressFamilies=AF_UNIX\n"
                    "[Install]\nRestrictAddressFamilies=AF_PACKET\n")
    read = Unit.read(unit)
    assert read.service["CapabilityBoundingSet"] == []
    assert read.families() == ("AF_INET", "AF_UNIX")
