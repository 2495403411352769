"""TLS (SPEC §10, docs/operations.md "TLS on a restaurant's LAN") at the process level: the real
`python run.py` with [auth] tls_cert/tls_key made by a throwaway CA, real TLS clients."""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import trustme
from aiohttp import WSMsgType

from ..support.process import REPO, ServerProcess, clean_env, run_to_exit
from ..support.wait import until

ADMIN = "tls-admin-token-0123456789"
KITCHEN = "tls-kitchen-token-0123456789"
ROBOT = "tls-robot-token-0123456789"


@dataclass(frozen=True)
class Pki:
    """A throwaway CA, and a certificate and key it issued for 127.0.0.1 and localhost."""

    ca: trustme.CA
    cert: Path
    key: Path
    ca_file: Path

    def client(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def config(self, extra: str = "") -> str:
        return f"""{extra}
[websocket]
ping_interval_s = 300
[auth]
tls_cert = "{self.cert}"
tls_key = "{self.key}"
[auth.tokens]
"{ADMIN}" = "admin"
"{KITCHEN}" = "kitchen"
"{ROBOT}" = "robot"
"""


def make_pki(where: Path) -> Pki:
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, ca_file = where / "cert.pem", where / "key.pem", where / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    for pem in issued.cert_chain_pems[1:]:
        pem.write_to_path(str(cert), append=True)
    issued.private_key_pem.write_to_path(str(key))
    key.chmod(0o600)
    ca.cert_pem.write_to_path(str(ca_file))
    return Pki(ca, cert, key, ca_file)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[ServerProcess]:
    """One TLS server for the module's tests: each test leaves it as it found it."""
    process = ServerProcess(tmp_path_factory.mktemp("tls"), pki.config(), tls=pki.client())
    asyncio.run(process.start())
    yield process
    process.kill()


@pytest.fixture
async def session(pki: Pki) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=pki.client())) as s:
        yield s


async def snapshot(session: aiohttp.ClientSession, server: ServerProcess,
                   topic: str) -> list[dict[str, Any]]:
    async with session.ws_connect(server.ws_url(topic, ADMIN)) as ws:
        msg = await ws.receive(timeout=10)
        assert msg.type is WSMsgType.TEXT, msg
        frame = json.loads(msg.data)
        assert (frame["type"], frame["topic"], frame["data"]["kind"]) == \
            ("update", topic, "snapshot")
        items: list[dict[str, Any]] = frame["data"]["items"]
        return items


Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def robot_over_tls(server: ServerProcess, pki: Pki) -> Streams:
    return await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", server.tcp_port, ssl=pki.client()), 5)


async def send(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    writer.write(orjson.dumps(message) + b"\n")
    await writer.drain()


async def receive(reader: asyncio.StreamReader) -> dict[str, Any]:
    line = await asyncio.wait_for(reader.readline(), 5)
    assert line, "the server closed the connection"
    decoded: dict[str, Any] = orjson.loads(line)
    return decoded


async def read_to_eof(reader: asyncio.StreamReader) -> bytes:
    try:
        return await asyncio.wait_for(reader.read(), 10)
    except ConnectionError:
        return b""


def set_cookie(response: aiohttp.ClientResponse) -> str:
    [header] = response.headers.getall("Set-Cookie")
    return header


def assert_page_cookie(header: str) -> None:
    cookie = SimpleCookie()
    cookie.load(header)
    morsel = cookie["robodyne_token"]
    assert morsel.value == KITCHEN
    assert morsel["secure"] and morsel["httponly"], header
    assert morsel["samesite"] == "Strict", header


# --- the HTTP port serves HTTPS and WSS -------------------------------------------------------

async def test_healthz_answers_200_over_tls_to_a_client_that_trusts_the_ca(
        server: ServerProcess, pki: Pki, session: aiohttp.ClientSession) -> None:
    async with session.get(f"{server.base_url}/healthz") as resp:
        assert resp.status == 200 and await resp.json() == {"status": "ok"}
    # The same request on a bare TLS socket, to see what was negotiated.
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port, ssl=pki.client())
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    answer = await read_to_eof(reader)
    tls = writer.get_extra_info("ssl_object")
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert isinstance(tls, ssl.SSLObject) and tls.version() in ("TLSv1.2", "TLSv1.3")
    assert "Running on https://" in server.stderr()
    assert f"robots connect on tls://0.0.0.0:{server.tcp_port}" in server.stderr()


async def test_a_client_that_does_not_trust_the_ca_is_refused_the_connection(
        server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as plain_trust:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await plain_trust.get(f"{server.base_url}/healthz")


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated")
async def test_a_tls_1_1_client_is_refused(server: ServerProcess, pki: Pki) -> None:
    old = pki.client()
    old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.set_ciphers("ALL:@SECLEVEL=0")  # else this OpenSSL would not even offer TLS 1.1
    with pytest.raises((ssl.SSLError, ConnectionError)) as refused:
        await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", server.port, ssl=old), 5)
    # The server said no, not this client's own OpenSSL.
    assert "NO_CIPHERS_AVAILABLE" not in str(refused.value)
    assert "NO_PROTOCOLS_AVAILABLE" not in str(refused.value)


async def test_wss_subscription_gets_its_snapshot(server: ServerProcess,
                                                  session: aiohttp.ClientSession) -> None:
    assert isinstance(await snapshot(session, server, "robots"), list)


# --- the robot port speaks TLS ----------------------------------------------------------------

async def test_robot_over_tls_is_welcomed_and_acked(server: ServerProcess, pki: Pki,
                                                    session: aiohttp.ClientSession) -> None:
    reader, writer = await robot_over_tls(server, pki)
    try:
        await send(writer, {"type": "hello", "token": ROBOT, "robot_id": "tls-1"})
        assert (await receive(reader))["type"] == "welcome"
        await send(writer, {"type": "state", "battery": 77, "id": 1})
        assert await receive(reader) == {"type": "ack", "id": 1}
        [robot] = [r for r in await snapshot(session, server, "robots") if r["id"] == "tls-1"]
        assert robot["battery"] == 77 and robot["connected"] is True
        await send(writer, {"type": "bye"})
        await read_to_eof(reader)
    finally:
        writer.close()


# --- plain text on a TLS port gets nothing, costs nothing ------------------------------------

async def test_plain_http_and_plain_tcp_get_no_answer_and_the_server_goes_on(
        server: ServerProcess, pki: Pki, session: aiohttp.ClientSession) -> None:
    log_before = len(server.stderr())
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    await writer.drain()
    answer = await read_to_eof(reader)
    writer.close()
    assert not answer.startswith(b"HTTP/"), answer
    async with aiohttp.ClientSession() as plain:
        with pytest.raises(aiohttp.ClientError):
            await plain.get(f"http://127.0.0.1:{server.port}/healthz")

    reader, writer = await asyncio.open_connection("127.0.0.1", server.tcp_port)
    writer.write(orjson.dumps({"type": "hello", "token": ROBOT, "robot_id": "plain-1"}) + b"\n")
    await writer.drain()
    answer = await read_to_eof(reader)
    writer.close()
    assert b"welcome" not in answer, answer

    # A robot that never finishes its handshake is not a session either.
    _, silent = await asyncio.open_connection("127.0.0.1", server.tcp_port)

    async with session.get(f"{server.base_url}/healthz") as resp:
        assert resp.status == 200
    reader, writer = await robot_over_tls(server, pki)
    await send(writer, {"type": "hello", "token": ROBOT, "robot_id": "tls-2"})
    assert (await receive(reader))["type"] == "welcome"
    writer.close()
    silent.close()

    robots = {r["id"] for r in await snapshot(session, server, "robots")}
    assert "plain-1" not in robots and "tls-2" in robots
    records = await snapshot(session, server, "systemlogs")
    assert not [r for r in records if r["level"] in ("error", "critical")], records
    log = server.stderr()[log_before:]
    assert "Traceback" not in log and " ERROR " not in log, log
    assert "plain-1" not in log, log


# --- the page cookie is Secure under TLS ------------------------------------------------------

async def test_token_in_the_address_bar_sets_a_secure_cookie(
        server: ServerProcess, session: aiohttp.ClientSession) -> None:
    async with session.get(f"{server.base_url}/kitchen", params={"token": KITCHEN},
                           headers={"Sec-Fetch-Site": "none"}, allow_redirects=False) as resp:
        assert resp.status in (302, 303), resp.status
        assert "token" not in resp.headers["Location"]
        assert_page_cookie(set_cookie(resp))


async def test_login_form_sets_a_secure_cookie(server: ServerProcess,
                                               session: aiohttp.ClientSession) -> None:
    async with session.post(f"{server.base_url}/login",
                            data={"secret": KITCHEN, "next": "/kitchen"},
                            headers={"Origin": server.base_url}, allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
        assert resp.headers["Location"] == "/kitchen"
        assert_page_cookie(set_cookie(resp))


async def test_a_waitlist_link_sets_a_secure_party_cookie(
        server: ServerProcess, session: aiohttp.ClientSession) -> None:
    async with session.post(f"{server.base_url}/api/customers",
                            json={"name": "Kim", "party_size": 2},
                            headers={"Authorization": f"Bearer {ADMIN}"}) as resp:
        assert resp.status == 201, await resp.text()
        party = await resp.json()
    async with session.get(f"{server.base_url}{party['link']}") as resp:
        assert resp.status == 200
        cookie = SimpleCookie()
        cookie.load(set_cookie(resp))
        morsel = cookie["robodyne_party"]
        assert morsel["secure"] and morsel["httponly"] and morsel["samesite"] == "Strict"
    async with session.patch(f"{server.base_url}/api/customers/{party['id']}",
                             json={"status": "left"},
                             headers={"Authorization": f"Bearer {ADMIN}"}) as resp:
        assert resp.status == 200  # leaves the server as it found it: nobody in line


# --- a table's link is https under TLS ---------------------------------------------------------

async def test_a_tables_link_under_tls_is_an_https_url(
        server: ServerProcess, session: aiohttp.ClientSession) -> None:
    auth = {"Authorization": f"Bearer {ADMIN}"}
    async with session.post(f"{server.base_url}/api/tables", json={"label": "TLS", "seats": 2},
                            headers=auth) as resp:
        assert resp.status == 201
        table = await resp.json()
    async with session.get(f"{server.base_url}/api/tables/{table['id']}/link",
                           headers=auth) as resp:
        assert resp.status == 200
        link = await resp.json()
    assert server.base_url.startswith("https://")
    assert link["url"] == f"{server.base_url}/t/{link['code']}"


# --- the demo and the simulator speak TLS ----------------------------------------------------

async def test_demo_robots_connect_and_guests_order_over_tls_and_sigterm_still_exits_0(
        tmp_path: Path, pki: Pki, session: aiohttp.ClientSession) -> None:
    demo = ServerProcess(tmp_path, pki.config("demo = true"), tls=pki.client())
    await demo.start()
    try:
        async def all_connected() -> bool:
            robots = await snapshot(session, demo, "robots")
            return bool(robots) and all(r["connected"] for r in robots)
        await until(all_connected, 20, "every demo robot connected", every=0.1)

        async def a_guest_order() -> bool:  # over https, the box's certificate unchecked
            return any(o["source"] == "guest" for o in await snapshot(session, demo, "orders"))
        await until(a_guest_order, 20, "a demo guest's order", every=0.2)
        assert await demo.stop() == 0
    finally:
        demo.kill()
    assert "Traceback" not in demo.stderr(), demo.stderr()


async def run_simulator(server: ServerProcess, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "robodyne.simulator", "--robots", "1", "--hz", "5",
        "--port", str(server.tcp_port), "--token", ROBOT, "--prefix", "simtls", *args,
        cwd=REPO, env=clean_env(), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


async def test_simulator_with_cafile_connects_over_tls(server: ServerProcess, pki: Pki) -> None:
    code, out = await run_simulator(server, "--cafile", str(pki.ca_file), "--duration", "1.5")
    assert code == 0 and "[simtls-1] connected to 127.0.0.1" in out, out


async def test_simulator_that_does_not_trust_the_server_gives_up_saying_so(
        server: ServerProcess) -> None:
    code, out = await run_simulator(server, "--tls", "--duration", "10")
    assert code == 1 and "is not trusted" in out and "--cafile" in out, out


# --- a certificate or key that cannot be loaded stops the start ------------------------------

def _bad_pair(where: Path, pki: Pki, case: str) -> tuple[Path, Path, str]:
    if case == "missing cert":
        return where / "absent.pem", pki.key, "auth.tls_cert"
    if case == "garbage cert":
        garbage = where / "garbage.pem"
        garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n")
        return garbage, pki.key, "auth.tls_cert"
    if case == "garbage key":
        garbage = where / "garbage.pem"
        garbage.write_text("this is no key\n")
        return pki.cert, garbage, "auth.tls_key"
    other = trustme.CA().issue_cert("127.0.0.1")
    key = where / "other-key.pem"
    other.private_key_pem.write_to_path(str(key))
    return pki.cert, key, "auth.tls_key"


@pytest.mark.parametrize("case", ["missing cert", "garbage cert", "garbage key",
                                  "key of another certificate"])
def test_unloadable_certificate_or_key_exits_2_with_one_line(tmp_path: Path, pki: Pki,
                                                             case: str) -> None:
    cert, key, named = _bad_pair(tmp_path, pki, case)
    config = tmp_path / "c.toml"
    config.write_text(f'[auth]\ntls_cert = "{cert}"\ntls_key = "{key}"\n')
    result = run_to_exit(["--config", str(config), "--db", str(tmp_path / "r.db")], tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    [line] = lines
    assert line.startswith(f"robodyne: invalid setting {named}: cannot load "), line
    assert "Traceback" not in line and "_ssl.c" not in line
    assert not (tmp_path / "data").exists(), "the server went on past the refusal"
