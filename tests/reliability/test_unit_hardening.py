"""The systemd units' hardening (docs/operations.md, "Hardening"): the real server, its TLS, its
backups, and the real ROS 2 bridge over real DDS, each run under the restrictions its unit file
sets (tests/support/confine.py applies them without systemd; the unit file is read, so a line
added there is tested here). With the unit's SystemCallErrorNumber=, and once with a denied
call killing the process instead, so that nothing the server needs is quietly refused."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import WSMsgType

from ..integration.test_ros2_process import At
from ..integration.test_tls import Pki, make_pki
from ..support.api_client import Api
from ..support.confine import DEVICE_DIRS, DEVICE_LINKS, DEVICES, SERVICE_UID, code_paths
from ..support.process import REPO, ServerProcess, clean_env
from ..support.ros2 import Child, bridge_config, ros_env
from ..support.server import ADMIN, MakeServer, db_rows, hub_of, parts_of
from ..support.systemd_unit import BRIDGE_UNIT, SERVER_UNIT, Unit
from ..support.unit_policy import Policy
from ..support.wait import until

ROBOT = "robot-token-test"
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and mounts need root")
# What a library logs when the filter refuses it a call or a socket: each would be a feature
# quietly lost under the unit (Fast DDS logs both; AF_NETLINK is in the bridge's list for it).
REFUSED = (os.strerror(errno.EPERM), os.strerror(errno.EAFNOSUPPORT))

# What a confined process sees of itself, as JSON: the test compares it with the unit.
PROBE = r"""
import ctypes, errno, json, mmap, os, socket
libc = ctypes.CDLL(None, use_errno=True)
def attempt(call):
    try:
        call()
        return "done"
    except OSError as err:
        return errno.errorcode[err.errno]
def c_call(name, *args):
    if getattr(libc, name)(*args) == -1:
        return errno.errorcode[ctypes.get_errno()]
    return "done"
status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines())
print(json.dumps({
    "uid": os.getuid(),
    "status": {key: status[key].strip() for key in
               ("Seccomp", "NoNewPrivs", "CapEff", "CapBnd", "Umask")},
    "write_execute": attempt(lambda: mmap.mmap(-1, 4096, prot=7)),
    "setuid": attempt(lambda: os.setuid(0)),
    "families": {name: attempt(lambda: socket.socket(getattr(socket, name), socket.SOCK_DGRAM))
                 for name in ("AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK", "AF_PACKET")},
    "sched_other": attempt(lambda: os.sched_setscheduler(0, os.SCHED_OTHER,
                                                         os.sched_param(0))),
    "new_namespace": c_call("unshare", 0x10000000),
    "personality": c_call("personality", 0x0040000),
    "tmp": sorted(os.listdir("/tmp")),
    "dev": sorted(os.listdir("/dev")),
    "meminfo": os.path.exists("/proc/meminfo"),
    "write_outside": attempt(lambda: open(os.environ["OUTSIDE"], "w")),
    "write_inside": attempt(lambda: open("inside", "w")),
}))
"""


def confined_env() -> dict[str, str]:
    """The wrapper runs as `python -m tests.support.confine`: the repository on the path."""
    return clean_env(PYTHONPATH=os.pathsep.join([str(REPO), *sys.path]))


async def run(prefix: list[str], *args: str, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *prefix, *args, env=env or confined_env(), cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("unit", [SERVER_UNIT, BRIDGE_UNIT], ids=["server", "bridge"])
async def test_a_confined_process_is_held_to_what_its_unit_says(tmp_path: Path,
                                                                unit: Path) -> None:
    """The emulation is real, so that the server working under it proves something."""
    read = Unit.read(unit)
    outside = REPO / "confined-write"  # on the read-only system: refused if all is well
    env = confined_env() | {"OUTSIDE": str(outside)}
    status, out, err = await run(Policy.of(read, tmp_path).command(), sys.executable, "-c",
                                 PROBE, env=env)
    written_outside = outside.exists()
    outside.unlink(missing_ok=True)
    assert status == 0, err
    seen = json.loads(out)
    assert seen["uid"] == SERVICE_UID
    assert seen["status"] == {"Seccomp": "2", "NoNewPrivs": "1", "CapEff": "0" * 16,
                              "CapBnd": "0" * 16, "Umask": read.value("UMask", "0022")}
    assert seen["write_execute"] == "EACCES"  # MemoryDenyWriteExecute=
    assert seen["setuid"] == read.value("SystemCallErrorNumber")  # ~@privileged
    assert seen["families"] == {name: "done" if name in read.families() else "EAFNOSUPPORT"
                                for name in seen["families"]}
    # A filter line after the `~` one puts a call back (the bridge's, for Fast DDS).
    assert seen["sched_other"] == ("done" if "sched_setscheduler" in read.syscalls()
                                   else read.value("SystemCallErrorNumber"))
    # RestrictNamespaces=, LockPersonality=
    assert (seen["new_namespace"], seen["personality"]) == ("EPERM", "EPERM")
    assert set(seen["dev"]) == {name for name in DEVICES + DEVICE_DIRS  # PrivateDevices=
                                if os.path.exists(f"/dev/{name}")} | set(DEVICE_LINKS)
    # PrivateTmp=: an empty /tmp but for the ways to the work directory and to the code, where
    # they are in /tmp (a CI's clean clone and its virtualenv)
    ways = {Path(path).parts[2] for path in (str(tmp_path), *code_paths())
            if Path(path).parts[1:2] == ("tmp",)}
    assert seen["tmp"] == sorted(ways)
    assert seen["meminfo"] is False  # ProcSubset=pid
    assert (seen["write_outside"], seen["write_inside"]) == ("EROFS", "done")  # ProtectSystem=
    assert not written_outside
    # The other mode of the tests below: a call outside the filter kills the process at once.
    killing = Policy.of(read, tmp_path, kill=True).command("kill")
    status, _, err = await run(killing, sys.executable, "-c", "import os; os.setuid(0)")
    assert status == -signal.SIGSYS, err


# --- the server: HTTPS, WSS, a TLS robot, an order, a backup and its restore ----------------

def server_config(pki: Pki, backups: Path) -> str:
    return f"""
[websocket]
ping_interval_s = 300
[backup]
dir = "{backups}"
interval_h = 0
[auth]
tls_cert = "{pki.cert}"
tls_key = "{pki.key}"
[auth.tokens]
"{ADMIN}" = "admin"
"{ROBOT}" = "robot"
"""


async def robot_line(reader: asyncio.StreamReader) -> dict[str, Any]:
    line = await asyncio.wait_for(reader.readline(), 10)
    assert line, "the server closed the robot's connection"
    decoded: dict[str, Any] = orjson.loads(line)
    return decoded


async def serve_one_of_everything(server: ServerProcess, pki: Pki) -> int:
    """HTTPS /healthz, a WSS snapshot, a TLS robot's hello, state and ack, an order by REST;
    the order's id."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=pki.client())) as s:
        async with s.get(f"{server.base_url}/healthz") as resp:
            assert (resp.status, await resp.json()) == (200, {"status": "ok"})
        reader, writer = await asyncio.open_connection("127.0.0.1", server.tcp_port,
                                                       ssl=pki.client())
        writer.write(orjson.dumps({"type": "hello", "token": ROBOT, "robot_id": "u1"}) + b"\n")
        assert (await robot_line(reader))["type"] == "welcome"
        writer.write(orjson.dumps({"type": "state", "battery": 64, "id": 1}) + b"\n")
        assert await robot_line(reader) == {"type": "ack", "id": 1}
        async with s.ws_connect(server.ws_url("robots", ADMIN)) as ws:
            frame = await ws.receive(timeout=10)
            assert frame.type is WSMsgType.TEXT, frame
            [robot] = json.loads(frame.data)["data"]["items"]
            assert (robot["id"], robot["battery"], robot["connected"]) == ("u1", 64, True)
        writer.close()
        api = Api(s, At(server))  # type: ignore[arg-type]
        order = await api.order((await api.table("H1"))["id"])
    return int(order["id"])


@pytest.mark.parametrize("kill", [False, True], ids=["unit's errno", "denied call kills"])
async def test_the_server_its_tls_and_its_backups_work_under_the_units_restrictions(
        tmp_path: Path, kill: bool) -> None:
    pki = make_pki(tmp_path)
    policy = Policy.of(Unit.read(SERVER_UNIT), tmp_path, kill=kill)
    confined = policy.command()
    server = ServerProcess(tmp_path, server_config(pki, tmp_path / "backups"),
                           env=confined_env(), tls=pki.client(), prefix=tuple(confined))
    await server.start()
    try:
        assert server.proc is not None
        status = Path(f"/proc/{server.proc.pid}/status").read_text()
        assert "Seccomp:\t2" in status and "NoNewPrivs:\t1" in status, status
        order_id = await serve_one_of_everything(server, pki)
        backup = tmp_path / "backups" / "evening.db"
        done = await run(confined, sys.executable, "-m", "robodyne", "--config",
                         str(server.config), "--db", str(server.db), "backup", "--to",
                         str(backup), cwd=tmp_path)
        assert done[0] == 0 and "written to" in done[1], done
        assert oct(backup.stat().st_mode & 0o777) == "0o600"
        server.signal(signal.SIGTERM)
        assert await server.wait(15) == 0, server.stderr()
    finally:
        server.kill()
    done = await run(confined, sys.executable, "-m", "robodyne", "--config",
                     str(server.config), "--db", str(server.db), "restore", str(backup),
                     cwd=tmp_path)
    assert done[0] == 0 and "restored" in done[1], done
    assert [row["id"] for row in db_rows(server.db, "SELECT id FROM orders")] == [order_id]
    log = server.stderr()
    assert "Traceback" not in log and " ERROR " not in log, log
    assert not [line for line in log.splitlines() if line.endswith(REFUSED)], log


# --- the bridge: a Nav2 robot over real DDS onto a server's floor ---------------------------

@pytest.mark.parametrize("kill", [False, True], ids=["unit's errno", "denied call kills"])
async def test_the_bridge_brings_a_nav2_robot_over_dds_under_its_units_restrictions(
        make_server: MakeServer, tmp_path: Path, kill: bool) -> None:
    server = await make_server()
    config = bridge_config(tmp_path / "ros2.toml", parts_of(server).robot_server.port, ["r1"])
    env = ros_env()
    bridge_env = env | confined_env() | {"ROS_HOME": str(tmp_path / "ros")}
    confined = Policy.of(Unit.read(BRIDGE_UNIT), tmp_path, kill=kill).command()
    sim = await Child.start(env, "robodyne.ros2.sim", "r1")
    bridge = Child(await asyncio.create_subprocess_exec(
        *confined, sys.executable, "-m", "robodyne.ros2", "--config", str(config),
        env=bridge_env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT))
    try:
        await sim.expect("ready")
        robot = await until(lambda: next((r for r in hub_of(server).snapshot("robots")[0]
                                          if r["id"] == "r1" and r["pose"]), None),
                            30, "r1 on the floor with a pose")
        assert robot["connected"] is True
        assert await bridge.stop() == 0
    finally:
        for child in (sim, bridge):
            await child.kill()
    said = "\n".join(bridge.lines)
    assert "Traceback" not in said and not any(refused in said for refused in REFUSED), said
