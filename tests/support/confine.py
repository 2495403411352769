"""Run a program under a systemd unit's restrictions without systemd, as far as a test can:
`python -m tests.support.confine POLICY.json PROGRAM ARGS…` sets them up in this process and
executes the program, as systemd does between its fork and the service's exec. The policy is
made of the unit file (tests/support/unit_policy.py: what is applied, and why the rest is not).
Needs root: the mount namespace is made before the user namespace, as systemd makes it.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import sys
from pathlib import Path

from . import seccomp
from .unit_policy import Policy

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 8, 4096, 16384, 1 << 18
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 24, 38, 65, 1
# mount_setattr's number is 442 on x86-64 and arm64 alike (the generic table).
SYS_MOUNT_SETATTR, AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = 442, -100, 0x8000, 1
# The service's uid inside its user namespace: a system user's, as robodyne's would be.
SERVICE_UID = 999
# PrivateDevices=: the pseudo devices, and the host's /dev/shm, /dev/mqueue and /dev/pts.
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
DEVICE_DIRS = ("shm", "mqueue", "pts")
DEVICE_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
                "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"}

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result < 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                       ctypes.c_ulong(flags), data.encode() or None), f"mount {target}")


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _read_only(path: str, read_only: bool) -> None:
    """mount_setattr(2): make the mounts at and under `path` read-only, or writable again."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY if read_only else 0, 0 if read_only else MOUNT_ATTR_RDONLY)
    _check(_libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), AT_RECURSIVE,
                         ctypes.byref(attr), ctypes.sizeof(attr)), f"mount_setattr {path}")


def _prctl(option: int, value: int) -> int:
    return int(_libc.prctl(option, ctypes.c_ulong(value), ctypes.c_ulong(0),
                           ctypes.c_ulong(0), ctypes.c_ulong(0)))


def _bind_kept(kept: int, target: str) -> None:
    """Bind what the descriptor `kept` (opened before a mount hid it) is at `target`."""
    _mount(f"/proc/self/fd/{kept}", target, None, MS_BIND | MS_REC)
    os.close(kept)


def _private_devices() -> None:
    """PrivateDevices=: a /dev of its own holding only the pseudo devices and the shared
    memory, queue and terminal directories, each bound from the host's."""
    kept = {name: os.open(f"/dev/{name}", os.O_PATH)
            for name in DEVICES + DEVICE_DIRS if os.path.exists(f"/dev/{name}")}
    _mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755")
    for name, descriptor in kept.items():
        if name in DEVICE_DIRS:
            os.mkdir(f"/dev/{name}")
        else:
            Path(f"/dev/{name}").touch()
        _bind_kept(descriptor, f"/dev/{name}")
    for name, target in DEVICE_LINKS.items():
        os.symlink(target, f"/dev/{name}")


PRIVATE_TMPS = ("/tmp/", "/var/tmp/")


def code_paths() -> set[str]:
    """Where the program's code is: the interpreter's prefixes and the checkout."""
    return {os.path.realpath(path) for path in (
        sys.prefix, sys.base_prefix, Path(__file__).resolve().parents[2]) if os.path.isdir(path)}


def enter_mounts(policy: Policy) -> None:
    """A mount namespace of the process's own (PrivateMounts=): PrivateTmp=, PrivateDevices=,
    ProtectSystem=strict, ProtectProc=, ProcSubset=; the work directory is carried into the
    new /tmp through a descriptor opened before it."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    kept = os.open(policy.workdir, os.O_PATH | os.O_DIRECTORY)
    writable = [policy.workdir, "/dev"]
    # A checkout or a virtualenv under /tmp (a CI's clean clone) would vanish under the
    # private /tmp: carried in like the work directory, as /opt/robodyne is there in production.
    carried = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in code_paths()
               if policy.private_tmp and path.startswith(PRIVATE_TMPS)}
    if policy.private_tmp:
        for tmp in ("/tmp", "/var/tmp"):
            if os.path.isdir(tmp):
                _mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
                writable.append(tmp)
    for path, descriptor in carried.items():
        os.makedirs(path, exist_ok=True)
        _bind_kept(descriptor, path)
    os.makedirs(policy.workdir, exist_ok=True)
    _bind_kept(kept, policy.workdir)
    if policy.private_devices:
        _private_devices()
    if policy.read_only_system:
        _read_only("/", True)
        for path in writable:
            _read_only(path, False)
        for path in carried:  # code, read-only as the rest of the system, though in /tmp
            _read_only(path, True)
        _read_only(policy.workdir, False)
    if policy.proc_options:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, policy.proc_options)
    os.chdir(policy.workdir)


def enter_users() -> None:
    """PrivateUsers=: a user namespace where this process is SERVICE_UID, not root; mounts
    made before it can no longer be changed, and no capability of the host is left."""
    uid, gid = os.geteuid(), os.getegid()
    _check(_libc.unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{SERVICE_UID} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{SERVICE_UID} {gid} 1")


def drop_capabilities() -> None:
    """CapabilityBoundingSet= (empty): no capability can ever be gained again."""
    capability = 0
    while _prctl(PR_CAPBSET_DROP, capability) == 0:
        capability += 1
    assert ctypes.get_errno() == errno.EINVAL, os.strerror(ctypes.get_errno())


def confine(policy: Policy) -> None:
    """Everything the policy says, in systemd's order: namespaces, capabilities, umask, then
    the prctls, and the system call filter last (it would refuse the steps before it)."""
    enter_mounts(policy)
    if policy.private_users:
        enter_users()
    if policy.drop_capabilities:
        drop_capabilities()
    os.umask(policy.umask)
    if policy.no_new_privs:
        _check(_prctl(PR_SET_NO_NEW_PRIVS, 1), "PR_SET_NO_NEW_PRIVS")
    if policy.deny_write_execute:
        _check(_prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN), "PR_SET_MDWE")
    seccomp.restrictions(frozenset(policy.families), policy.realtime, policy.namespaces,
                         policy.personality).load()
    seccomp.allow_only(frozenset(policy.syscalls), policy.denied).load()


def main() -> None:
    policy = Policy(**json.loads(Path(sys.argv[1]).read_text()))
    confine(policy)
    os.execvp(sys.argv[2], sys.argv[2:])


if __name__ == "__main__":
    main()
