"""What a systemd unit's [Service] section restricts, as the plain data that
tests/support/confine.py applies to a process; and, for every setting it cannot apply without
systemd, why not (docs/operations.md, "Hardening", has the same list)."""

from __future__ import annotations

import errno
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from . import seccomp
from .systemd_unit import Unit

# Read by Policy.of and applied by confine.py. User=, ReadWritePaths= and StateDirectory=
# stand for the test's user (SERVICE_UID under PrivateUsers=) and its work directory.
APPLIED = frozenset({
    "SystemCallFilter", "SystemCallErrorNumber", "SystemCallArchitectures",
    "RestrictAddressFamilies", "RestrictRealtime", "RestrictNamespaces", "LockPersonality",
    "MemoryDenyWriteExecute", "NoNewPrivileges", "UMask", "CapabilityBoundingSet",
    "AmbientCapabilities", "PrivateUsers", "PrivateTmp", "PrivateDevices", "PrivateMounts",
    "ProtectSystem", "ReadWritePaths", "StateDirectory", "ProtectProc", "ProcSubset", "User",
    "Group"})

NOT_APPLIED = {
    "ProtectHome": "the test's Python is under /root (the unit's venv is in /opt)",
    "DevicePolicy": "a device cgroup needs systemd; the private /dev holds only the pseudo "
                    "devices, and mknod is refused (no CAP_MKNOD)",
    "ProtectKernelTunables": "/proc/sys is not there (ProcSubset=pid) and /sys is read-only",
    "ProtectKernelModules": "module calls are outside the filter (@module)",
    "ProtectKernelLogs": "syslog() is outside the filter; /dev/kmsg is not in the private /dev",
    "ProtectControlGroups": "/sys/fs/cgroup is read-only with the rest of /sys",
    "ProtectClock": "clock setting calls are outside the filter (@clock)",
    "ProtectHostname": "sethostname() is outside the filter (@privileged)",
    "RestrictSUIDSGID": "no capability to make a set-user-ID file work (NoNewPrivileges=)",
    "KeyringMode": "the kernel keyring is handed out by systemd at the start",
    "RemoveIPC": "done by systemd when the unit stops",
}

# Settings that say how the service runs, not what it may do.
RUNNING = frozenset({
    "Type", "WorkingDirectory", "ExecStart", "Environment", "StateDirectoryMode", "Restart",
    "RestartSec", "RestartPreventExitStatus", "KillSignal", "TimeoutStopSec", "LimitNOFILE"})


@dataclass(frozen=True)
class Policy:
    """What the confinement does, as plain data written to the JSON file the child reads."""

    workdir: str
    syscalls: list[str]
    denied: int
    families: list[int]
    realtime: bool
    namespaces: bool
    personality: bool
    umask: int
    no_new_privs: bool
    deny_write_execute: bool
    drop_capabilities: bool
    private_users: bool
    private_tmp: bool
    private_devices: bool
    read_only_system: bool
    proc_options: str

    @classmethod
    def of(cls, unit: Unit, workdir: Path, kill: bool = False) -> Policy:
        """The unit's restrictions, with `workdir` as its one writable directory; `kill`:
        a call outside the filter kills the process instead of failing with the unit's error."""
        unknown = set(unit.service) - APPLIED - set(NOT_APPLIED) - RUNNING
        assert not unknown, f"{unit.path}: apply {sorted(unknown)} in confine.py or say why not"
        number = getattr(errno, unit.value("SystemCallErrorNumber", "EPERM"))
        protect_system = unit.value("ProtectSystem", "no")
        assert protect_system in ("no", "strict"), f"ProtectSystem={protect_system} is not applied"
        restrict_namespaces = unit.value("RestrictNamespaces", "no")
        assert restrict_namespaces in ("no", "yes"), "a list of namespaces is not applied"
        proc = [f"hidepid={unit.value('ProtectProc')}" if unit.value("ProtectProc") else "",
                f"subset={unit.value('ProcSubset')}" if unit.value("ProcSubset") else ""]
        return cls(
            workdir=str(workdir), syscalls=sorted(unit.syscalls()),
            denied=seccomp.KILL_PROCESS if kill else seccomp.errno_action(number),
            families=[seccomp.family_number(name) for name in unit.families()],
            realtime=not unit.flag("RestrictRealtime"),
            namespaces=restrict_namespaces == "no",
            personality=not unit.flag("LockPersonality"),
            umask=int(unit.value("UMask", "0022"), 8),  # systemd's default
            no_new_privs=unit.flag("NoNewPrivileges"),
            deny_write_execute=unit.flag("MemoryDenyWriteExecute"),
            drop_capabilities="CapabilityBoundingSet" in unit.service
            and not unit.service["CapabilityBoundingSet"],
            private_users=unit.flag("PrivateUsers"), private_tmp=unit.flag("PrivateTmp"),
            private_devices=unit.flag("PrivateDevices"),
            read_only_system=protect_system == "strict",
            proc_options=",".join(option for option in proc if option))

    def command(self, name: str = "confine") -> list[str]:
        """The prefix that runs a program under this policy (written to workdir/NAME.json)."""
        path = Path(self.workdir) / f"{name}.json"
        path.write_text(json.dumps(asdict(self)))
        return [sys.executable, "-m", "tests.support.confine", str(path)]
