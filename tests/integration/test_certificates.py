"""Certificate problems at the start (SPEC §10, docs/operations.md "TLS on a restaurant's
LAN") on the real `python run.py`: a certificate or key file that is empty or cannot be read
is one line and exit 2; an expired certificate, or one for another name, starts with a
WARNING. The warnings' rule also without a process (robodyne/tls.py)."""

from __future__ import annotations

import ssl
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import trustme

from robodyne.tls import box_names, certificate_warnings

from ..support.process import ServerProcess, run_to_exit

NOW = datetime.now(timezone.utc)


def issued(where: Path, *names: str, **validity: datetime) -> tuple[Path, Path]:
    """A certificate for `names` (and its key) from a throwaway CA."""
    leaf = trustme.CA().issue_cert(*names, **validity)
    cert, key = where / "cert.pem", where / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    return cert, key


def trusting_anything() -> ssl.SSLContext:
    """A client that encrypts but checks nothing: the server's certificate is meant to fail."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def config(cert: Path, key: Path, host: str = "127.0.0.1") -> str:
    return (f'[server]\nhost = "{host}"\n[auth]\ntls_cert = "{cert}"\ntls_key = "{key}"\n'
            '[auth.tokens]\n"cert-test-admin-token-0123456789" = "admin"\n')


@pytest.mark.parametrize("case", ["empty cert", "cert is a directory", "empty key",
                                  "key is a directory"])
def test_an_empty_or_unreadable_file_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    cert, key = issued(tmp_path, "127.0.0.1")
    named = "auth.tls_cert" if "cert" in case else "auth.tls_key"
    broken = cert if "cert" in case else key
    broken.unlink()
    if "empty" in case:
        broken.write_bytes(b"")
    else:
        broken.mkdir()
    (tmp_path / "c.toml").write_text(config(cert, key))
    result = run_to_exit(["--config", str(tmp_path / "c.toml"), "--db",
                          str(tmp_path / "data" / "r.db")], tmp_path)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"robodyne: invalid setting {named}: cannot load {broken}: "), line
    assert "Traceback" not in line
    assert not (tmp_path / "data").exists(), "the server went on past the refusal"


@pytest.mark.parametrize("case", ["expired", "another name"])
async def test_an_expired_or_wrong_name_certificate_starts_with_a_warning(
        tmp_path: Path, case: str) -> None:
    if case == "expired":
        cert, key = issued(tmp_path, "127.0.0.1", not_before=NOW - timedelta(days=400),
                           not_after=NOW - timedelta(days=30))
        says = "expired on"
    else:
        cert, key = issued(tmp_path, "pos.other-restaurant.example")
        says = "is for pos.other-restaurant.example, not for this box (127.0.0.1"
    server = ServerProcess(tmp_path, config(cert, key), tls=trusting_anything())
    try:
        await server.start()
        warnings = [line for line in server.stderr().splitlines()
                    if " WARNING robodyne.app: " in line and "auth.tls_cert" in line]
        assert len(warnings) == 1 and says in warnings[0], server.stderr()
        assert await server.stop() == 0
    finally:
        server.kill()


def test_a_valid_certificate_for_the_boxs_name_says_nothing(tmp_path: Path) -> None:
    names = box_names("0.0.0.0")
    cert, _ = issued(tmp_path, names[0])
    assert certificate_warnings(str(cert), names, NOW) == []
    cert, _ = issued(tmp_path, "*." + names[0])  # a wildcard covers one label, not the name
    assert len(certificate_warnings(str(cert), names, NOW)) == 1
    cert, _ = issued(tmp_path, "192.0.2.10", "POS.Example")
    assert certificate_warnings(str(cert), ["pos.example."], NOW) == []
    assert certificate_warnings(str(cert), ["192.0.2.10"], NOW) == []
    assert certificate_warnings(str(cert), ["x.pos.example", "192.0.2.11"], NOW) != []


def test_a_certificate_not_yet_valid_says_to_check_the_clock(tmp_path: Path) -> None:
    cert, _ = issued(tmp_path, "127.0.0.1", not_before=NOW + timedelta(days=2),
                     not_after=NOW + timedelta(days=300))
    [said] = certificate_warnings(str(cert), ["127.0.0.1"], NOW)
    assert "not valid before" in said and "clock" in said
