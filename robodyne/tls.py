"""The TLS contexts of auth.tls_cert and auth.tls_key (SPEC §10): the server's, loaded once
before the start, and a robot client's."""

from __future__ import annotations

import re
import ssl
from typing import Final

from .settings import AuthSettings, SettingsError

MINIMUM_VERSION: Final = ssl.TLSVersion.TLSv1_2
# OpenSSL's messages end with where in CPython they were raised: no use to an operator.
_SOURCE_LINE: Final = re.compile(r"\s*\(_ssl\.c:\d+\)$")


def server_context(auth: AuthSettings) -> ssl.SSLContext | None:
    """The HTTPS/WSS and robot TLS context, or None without auth.tls_cert/tls_key; a file that
    cannot be loaded is a SettingsError naming its key."""
    cert, key = auth.tls_cert, auth.tls_key
    if not cert:  # the settings hold both or neither
        return None
    chain = _read("tls_cert", cert)
    _read("tls_key", key)
    # load_cert_chain says "PEM lib" for a bad certificate and a bad key alike; parsing the
    # certificates first tells which of the two files is wrong.
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_verify_locations(
            cadata=chain.decode("utf-8", "replace"))
    except ssl.SSLError as err:
        raise _invalid("tls_cert", cert, f"no PEM certificate in it ({_said(err)})") from None
    asked: list[bool] = []

    def no_passphrase() -> str:
        # Without a callback OpenSSL would prompt on a terminal the service does not have.
        asked.append(True)
        return ""

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = MINIMUM_VERSION
    try:
        context.load_cert_chain(cert, key, password=no_passphrase)
    except ssl.SSLError as err:
        if asked:
            why = "it is encrypted; give Robodyne the key without a passphrase"
        elif err.reason == "KEY_VALUES_MISMATCH":
            why = f"it does not match the certificate in auth.tls_cert ({_said(err)})"
        else:
            why = f"{_said(err)}: not a PEM private key"
        raise _invalid("tls_key", key, why) from None
    return context


def client_context(cafile: str | None = None) -> ssl.SSLContext:
    """A robot's context: verifies the server against cafile, else the system's CAs."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    context.minimum_version = MINIMUM_VERSION
    return context


def unverified_client_context() -> ssl.SSLContext:
    """Encrypts without checking who answers: only for a peer known by other means."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = MINIMUM_VERSION
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _read(name: str, path: str) -> bytes:
    # Before the start, with no event loop running yet: a plain blocking read is right here.
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as err:
        raise _invalid(name, path, err.strerror or str(err)) from None


def _said(err: ssl.SSLError) -> str:
    return _SOURCE_LINE.sub("", str(err.args[1] if len(err.args) > 1 else err))


def _invalid(name: str, path: str, why: str) -> SettingsError:
    return SettingsError(f"invalid setting auth.{name}: cannot load {path}: {why}")
