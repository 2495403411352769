"""The ROS 2 bridge as a process (SPEC §14): the server restarted under it, and the
configurations it refuses to start with (one line naming the problem, exit 2)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from yarl import URL

from ..support.api_client import Api
from robodyne.app import create_app
from robodyne.tls import server_context

from ..support.process import ServerProcess, run_to_exit
from ..support.ros2 import Child, bridge_config, ros_env
from ..support.server import ADMIN, MakeServer, db_rows, hub_of, make_settings, parts_of
from ..support.wait import until
from .test_tls import make_pki

CONFIG = f"""
[auth.tokens]
"{ADMIN}" = "admin"
"robot-token-test" = "robot"
[dispatch]
auto_deliver = false
return_when_idle = false
charge_below = 0
"""


class At:
    """What Api needs of a server: its URLs."""

    def __init__(self, server: ServerProcess) -> None:
        self.base = URL(server.base_url)

    def make_url(self, path: str) -> URL:
        return self.base.join(URL(path))


async def test_a_server_restarted_under_the_bridge_gets_the_task_and_its_events_back(
        servers: Callable[..., ServerProcess], session: aiohttp.ClientSession,
        tmp_path: Path) -> None:
    server = servers(CONFIG)
    await server.start()
    api = Api(session, At(server))  # type: ignore[arg-type]
    table = await api.table("T1", at=(7, 7))
    order = await api.order(table["id"])
    await api.move(order["id"], "preparing", "ready")
    env = ros_env()
    sim = await Child.start(env, "robodyne.ros2.sim", "r1", "--speed", "8")
    bridge: Child | None = None
    try:
        await sim.expect("ready")
        bridge = await Child.start(env, "robodyne.ros2", "--config",
                                   str(bridge_config(tmp_path / "ros2.toml", server.tcp_port,
                                                     ["r1"])))
        await until(lambda: _robot(server).get("pose"), 30, "r1 on the floor")
        task = await api.ok("POST", "/api/tasks",
                            {"kind": "deliver", "order_ids": [order["id"]]}, 201)
        sim.tell("hold r1")
        await sim.expect("goal r1")
        assert await server.stop() == 0
        # The robot arrives and delivers while the server is away: the bridge keeps the lines.
        sim.tell("go r1")
        await sim.expect("arrived r1")
        await bridge.expect(f"[r1] task {task['id']} done")
        await server.restart()
        # Its hello names the task it still carries: the task is not failed as lost (§4).
        await until(lambda: _task(server, task["id"])["status"] == "completed", 15, "completed")
        [row] = db_rows(server.db, "SELECT status FROM orders WHERE id = ?", order["id"])
        assert row["status"] == "served"
        assert not db_rows(server.db, "SELECT * FROM events WHERE type = 'task_failed'")
    finally:
        for child in (sim, bridge):
            if child is not None:
                await child.kill()


def _robot(server: ServerProcess) -> dict[str, Any]:
    rows = db_rows(server.db, "SELECT * FROM robots WHERE id = 'r1'")
    if not rows:
        return {}
    robot = dict(rows[0])
    robot["pose"] = orjson.loads(robot["pose"]) if robot.get("pose") else None
    return robot


def _task(server: ServerProcess, task_id: int) -> dict[str, Any]:
    [row] = db_rows(server.db, "SELECT * FROM tasks WHERE id = ?", task_id)
    return dict(row)


async def _bridge_exit(config: Path) -> tuple[int, list[str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "robodyne.ros2", "--config", str(config), env=ros_env(),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(30):
        _, stderr = await proc.communicate()
    return proc.returncode or 0, stderr.decode().splitlines()


@pytest.mark.parametrize(("text", "says"), [
    ('[[robots]]\nid = "r1"\n', "robots.0.token: Field required"),
    ('[[robots]]\nid = "r1"\ntoken = "t"\nnamespace = "pinky 1"\n',
     "robots.0.namespace: Invalid namespace"),
])
async def test_a_bad_configuration_stops_the_start_with_one_line(
        tmp_path: Path, text: str, says: str) -> None:
    """The exit and its line; every other refusal of the config: tests/unit/test_ros2_config.py."""
    config = tmp_path / "ros2.toml"
    config.write_text(text)
    status, lines = await _bridge_exit(config)
    assert status == 2
    assert len(lines) == 1 and lines[0].startswith("robodyne-ros2: "), lines
    assert says in lines[0]
    assert '"t"' not in lines[0]  # a token is never echoed


async def test_a_missing_config_file_stops_the_start(tmp_path: Path) -> None:
    status, lines = await _bridge_exit(tmp_path / "nowhere.toml")
    assert (status, len(lines)) == (2, 1)
    assert "cannot read config file" in lines[0]


async def test_a_token_the_server_refuses_stops_the_start(make_server: MakeServer,
                                                          tmp_path: Path) -> None:
    server = await make_server()
    config = bridge_config(tmp_path / "ros2.toml", parts_of(server).robot_server.port, ["r1"],
                           token="not-a-token")
    status, lines = await _bridge_exit(config)
    assert status == 2
    assert lines[-1] == "robodyne-ros2: the server refused the token of robot r1"


def _ros1(server: Any) -> dict[str, Any] | None:
    return next((r for r in hub_of(server).snapshot("robots")[0]
                 if r["id"] == "ros1" and r["pose"] and r["connected"]), None)


async def test_the_demo_puts_a_nav2_robot_at_the_dock_through_the_bridge(
        make_server: MakeServer) -> None:
    server = await make_server()
    demo = await Child.start(ros_env(), "robodyne.ros2.demo", "--token", "robot-token-test",
                             "--port", str(parts_of(server).robot_server.port))
    try:
        robot = await until(lambda: _ros1(server), 30, "ros1 on the floor")
        assert (robot["pose"]["x"], robot["pose"]["y"], robot["status"]) == (1.5, 6, "idle")
        assert robot["name"] == "Nav2 ros1"
        assert await demo.stop() == 0
    finally:
        await demo.kill()


async def test_run_py_demo_ros2_drives_a_nav2_robot_with_the_demos_own_fleet(
        aiohttp_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`run.py --demo --ros2`: the bridge's demo as the server's child, gone when it stops."""
    for name, value in ros_env().items():
        if name.startswith("ROS_"):
            monkeypatch.setenv(name, value)
    settings = make_settings(tmp_path / "robodyne.db").model_copy(
        update={"demo": True, "demo_ros2": True})
    app = create_app(settings)
    server = await aiohttp_server(app)
    await until(lambda: _ros1(server), 40, "ros1 on the floor")
    assert sum(1 for r in hub_of(server).snapshot("robots")[0] if r["connected"]) == 5
    await server.close()
    # The child said bye as the demo stopped: its robot left cleanly, not dropped.
    assert db_rows(tmp_path / "robodyne.db", "SELECT * FROM events WHERE type ="
                   " 'robot_disconnected' AND source = 'robot:ros1'")


def test_ros2_without_demo_stops_the_start(tmp_path: Path) -> None:
    result = run_to_exit(["--ros2"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "robodyne: --ros2 needs --demo"


async def test_the_bridge_speaks_tls_to_a_server_its_cafile_trusts_and_no_other(
        aiohttp_server: Any, tmp_path: Path) -> None:
    (tmp_path / "stranger").mkdir()
    pki, stranger = make_pki(tmp_path), make_pki(tmp_path / "stranger")
    settings = make_settings(tmp_path / "robodyne.db",
                             auth={"tls_cert": str(pki.cert), "tls_key": str(pki.key)})
    server = await aiohttp_server(create_app(settings, server_context(settings.auth)))
    port = parts_of(server).robot_server.port
    status, lines = await _bridge_exit(bridge_config(tmp_path / "other.toml", port, ["r1"],
                                                     cafile=stranger.ca_file))
    assert status == 2
    # After its log's start line, one line saying why.
    assert "is not trusted by server.cafile" in lines[-1]
    assert sum(line.startswith("robodyne-ros2:") for line in lines) == 1
    env = ros_env()
    sim = await Child.start(env, "robodyne.ros2.sim", "r1")
    bridge = await Child.start(env, "robodyne.ros2", "--config", str(bridge_config(
        tmp_path / "ros2.toml", port, ["r1"], cafile=pki.ca_file)))
    try:
        await until(lambda: next((r for r in hub_of(server).snapshot("robots")[0]
                                  if r["id"] == "r1" and r["pose"]), None), 30, "r1 over TLS")
        assert await bridge.stop() == 0
    finally:
        for child in (sim, bridge):
            await child.kill()
