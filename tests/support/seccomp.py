"""libseccomp (Debian's libseccomp2) through ctypes: the filters systemd makes of a unit's
SystemCallFilter=, and of RestrictAddressFamilies=, RestrictRealtime=, RestrictNamespaces= and
LockPersonality= (rules on a call's arguments), installed in this process."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import socket

ALLOW = 0x7FFF0000
KILL_PROCESS = 0x80000000
_ERRNO = 0x00050000
_CMP_NE, _CMP_EQ, _CMP_GE, _CMP_GT, _CMP_MASKED_EQ = 1, 4, 5, 6, 7
# Past the highest address family any kernel knows (AF_MAX is 46 today).
_FAMILIES_END = 64
# The policies RestrictRealtime= leaves: SCHED_OTHER, SCHED_BATCH, SCHED_IDLE (0, 3, 5).
_SCHED_FIFO, _SCHED_RR, _SCHED_IDLE = 1, 2, 5
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET: RestrictNamespaces=yes.
_NAMESPACES = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
               0x40000000)

# One comparison of a call's argument: (argument, operator, datum a, datum b).
Compare = tuple[int, int, int, int]


def errno_action(number: int) -> int:
    """The action that fails a call with `number` (SystemCallErrorNumber=)."""
    return _ERRNO | (number & 0xFFFF)


class _ArgCmp(ctypes.Structure):
    """struct scmp_arg_cmp: compare a system call's argument `arg` with `datum_a` (masked by
    `datum_a` and compared with `datum_b` for MASKED_EQ)."""

    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def _library() -> ctypes.CDLL:
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    lib = ctypes.CDLL(name, use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                           ctypes.c_uint, ctypes.POINTER(_ArgCmp)]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


class Filter:
    """One seccomp filter for this architecture only (SystemCallArchitectures=native: a call
    of another ABI kills), loaded into this process and every child it starts or executes."""

    def __init__(self, default_action: int) -> None:
        self._lib = _library()
        self._ctx = self._lib.seccomp_init(default_action)
        if not self._ctx:
            raise OSError("seccomp_init failed")

    def rule(self, action: int, name: str, *compare: Compare) -> bool:
        """Add `action` for the call `name` (when its arguments compare so); False when this
        architecture has no such call (systemd skips those as well)."""
        number = self._lib.seccomp_syscall_resolve_name(name.encode())
        if number == -1:
            return False
        args = (_ArgCmp * max(len(compare), 1))(*(_ArgCmp(*each) for each in compare))
        result = self._lib.seccomp_rule_add_array(self._ctx, action, number, len(compare), args)
        if result == -errno.EDOM:  # a pseudo call that exists only on another architecture
            return False
        if result < 0:
            raise OSError(-result, f"seccomp rule for {name}: {os.strerror(-result)}")
        return True

    def load(self) -> None:
        result = self._lib.seccomp_load(self._ctx)
        self._lib.seccomp_release(self._ctx)
        if result < 0:
            raise OSError(-result, f"seccomp_load: {os.strerror(-result)}")


def allow_only(syscalls: frozenset[str], denied: int) -> Filter:
    """SystemCallFilter=: every call but `syscalls` gets `denied`."""
    made = Filter(denied)
    for name in sorted(syscalls):
        made.rule(ALLOW, name)
    return made


def restrictions(families: frozenset[int], realtime: bool, namespaces: bool,
                 personality: bool) -> Filter:
    """One filter that allows every call but these, as systemd's own filters refuse them:
    socket() of a family not in `families` (EAFNOSUPPORT; socketpair() is not restricted
    there either); unless `realtime`, a realtime scheduling policy (EPERM); unless
    `namespaces`, a new namespace (EPERM), setns() and clone3() (ENOSYS, so that the C library
    falls back to clone(), whose flags a filter can read); unless `personality`, a change of
    the execution domain (EPERM)."""
    made = Filter(ALLOW)
    unsupported, refused = errno_action(errno.EAFNOSUPPORT), errno_action(errno.EPERM)
    for family in range(_FAMILIES_END):
        if family not in families:
            made.rule(unsupported, "socket", (0, _CMP_EQ, family, 0))
    made.rule(unsupported, "socket", (0, _CMP_GE, _FAMILIES_END, 0))
    if not realtime:
        for policy in (_SCHED_FIFO, _SCHED_RR):
            made.rule(refused, "sched_setscheduler", (1, _CMP_EQ, policy, 0))
        made.rule(refused, "sched_setscheduler", (1, _CMP_GT, _SCHED_IDLE, 0))
    if not namespaces:
        made.rule(errno_action(errno.ENOSYS), "clone3")
        made.rule(refused, "setns")
        for flag in _NAMESPACES:
            made.rule(refused, "unshare", (0, _CMP_MASKED_EQ, flag, flag))
            made.rule(refused, "clone", (0, _CMP_MASKED_EQ, flag, flag))
    if not personality:
        made.rule(refused, "personality", (0, _CMP_NE, 0, 0))  # PER_LINUX only
    return made


def family_number(name: str) -> int:
    """AF_INET → 2, from Python's own table of the platform's constants."""
    return int(getattr(socket, name))
