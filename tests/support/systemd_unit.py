"""A systemd unit file read as systemd reads it, and what `systemd-analyze` says of it: its
exposure, and its SystemCallFilter= lines expanded into the exact list of system calls."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .process import REPO

SERVER_UNIT = REPO / "config" / "robodyne.service"
BRIDGE_UNIT = REPO / "config" / "robodyne-ros2.service"
EXPOSURE = re.compile(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)")


def analyze(*args: str) -> str:
    """`systemd-analyze ARGS`' output; CI installs it (.ci/run), so it is never skipped."""
    binary = shutil.which("systemd-analyze")
    assert binary, "systemd-analyze is missing: apt-get install systemd (as .ci/run does)"
    done = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60,
                          check=True)
    return done.stdout


def exposure(unit: Path) -> float:
    """`systemd-analyze security --offline=true UNIT`'s overall exposure level (0 to 10)."""
    found = EXPOSURE.search(analyze("security", "--offline=true", "--no-pager", str(unit)))
    assert found, f"no exposure level for {unit}"
    return float(found.group(1))


@cache
def syscall_groups() -> dict[str, tuple[str, ...]]:
    """Every @group of this systemd and its members (calls and other @groups)."""
    groups: dict[str, list[str]] = {}
    members: list[str] = []
    for line in analyze("syscall-filter", "--no-pager").splitlines():
        if line.startswith("@"):
            members = groups.setdefault(line.strip(), [])
        elif line.strip() and not line.lstrip().startswith("#"):
            members.append(line.strip())
    return {name: tuple(calls) for name, calls in groups.items()}


def expand(names: list[str]) -> set[str]:
    """Calls and @groups → the calls, groups expanded to the bottom."""
    groups = syscall_groups()
    calls: set[str] = set()
    for name in names:
        calls |= expand(list(groups[name])) if name.startswith("@") else {name}
    return calls


@dataclass(frozen=True)
class Unit:
    """The [Service] section's assignments, each key's values in the file's order."""

    path: Path
    service: dict[str, list[str]]

    @classmethod
    def read(cls, path: Path) -> Unit:
        service: dict[str, list[str]] = {}
        section = ""
        text = path.read_text().replace("\\\n", " ")
        for line in text.splitlines():
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
            elif section == "Service":
                key, _, value = line.partition("=")
                values = service.setdefault(key.strip(), [])
                if value.strip():
                    values.append(value.strip())
                else:  # an empty assignment resets the list, as in systemd
                    values.clear()
        return cls(path, service)

    def value(self, key: str, default: str = "") -> str:
        """The last assignment of `key` (systemd's rule for single-valued settings)."""
        values = self.service.get(key)
        return values[-1] if values else default

    def flag(self, key: str) -> bool:
        return self.value(key, "no").lower() in ("yes", "true", "on", "1")

    def syscalls(self) -> frozenset[str]:
        """SystemCallFilter=: an allow list, then `~` lines taking calls out of it and plain
        lines adding to it; an allow list always holds @default, as systemd makes it."""
        lines = self.service.get("SystemCallFilter", [])
        assert lines and not lines[0].startswith("~"), f"{self.path}: no allow list"
        allowed = expand(["@default"])
        for line in lines:
            names = line.removeprefix("~").split()
            if line.startswith("~"):
                allowed -= expand(names)
            else:
                allowed |= expand(names)
        return frozenset(allowed)

    def families(self) -> tuple[str, ...]:
        """RestrictAddressFamilies= (an allow list): AF_INET, AF_UNIX, …"""
        families = " ".join(self.service.get("RestrictAddressFamilies", [])).split()
        assert families and not families[0].startswith("~"), f"{self.path}: no allow list"
        return tuple(families)
