"""The TLS contexts of auth.tls_cert and auth.tls_key (SPEC §10): the server's, loaded once
before the start, with what would make clients refuse its certificate; and a robot client's."""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from collections.abc import Iterable
from datetime import datetime
from typing import Final

from cryptography import x509

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
    except ValueError as err:  # no certificate at all: "Empty certificate data"
        raise _invalid("tls_cert", cert, f"no PEM certificate in it ({err})") from None
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


def box_names(host: str) -> list[str]:
    """The names tablets may reach this box by: server.host unless it is a wildcard, the
    host name (and its mDNS name), and the address of the interface of its default route."""
    names = [] if host in ("", "0.0.0.0", "::") else [host]
    hostname = socket.gethostname()
    names += [hostname] if "." in hostname else [hostname, f"{hostname}.local"]
    # A UDP socket's connect sends nothing; it only picks the address a packet would leave by.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never a real peer
            names.append(str(probe.getsockname()[0]))
        except OSError:
            pass  # no route at all: the names above are all there is
    return names


def certificate_warnings(path: str, names: Iterable[str], now: datetime) -> list[str]:
    """What in the (loadable) certificate at `path` makes clients refuse it: expired, not yet
    valid, or for none of `names`. Said at the start; it does not stop it."""
    try:
        certificate = x509.load_pem_x509_certificate(_read("tls_cert", path))
    except ValueError:
        return []  # OpenSSL took it, so it serves; there is nothing more to say of it here
    said = []
    if now > certificate.not_valid_after_utc:
        said.append(f"the certificate in auth.tls_cert ({path}) expired on"
                    f" {certificate.not_valid_after_utc:%Y-%m-%d}: browsers and robots refuse"
                    " it; renew it (docs/operations.md, \"TLS on a restaurant's LAN\")")
    elif now < certificate.not_valid_before_utc:
        said.append(f"the certificate in auth.tls_cert ({path}) is not valid before"
                    f" {certificate.not_valid_before_utc:%Y-%m-%d}: check the box's clock")
    dns, addresses = _subject_alt_names(certificate)
    names = list(names)
    if not any(_dns_match(pattern, name) for pattern in dns for name in names) and \
            not any(address in addresses for address in names):
        named = ", ".join([*dns, *addresses]) or "nothing in subjectAltName"
        said.append(f"the certificate in auth.tls_cert ({path}) is for {named}, not for this"
                    f" box ({', '.join(names)}): a client that reaches it by a name the"
                    " certificate does not hold refuses it")
    return said


def _subject_alt_names(certificate: x509.Certificate) -> tuple[list[str], list[str]]:
    """The DNS names and IP addresses the certificate is for."""
    try:
        found = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    return ([name.lower() for name in found.get_values_for_type(x509.DNSName)],
            [str(address) for address in found.get_values_for_type(x509.IPAddress)])


def _dns_match(pattern: str, name: str) -> bool:
    """RFC 6125: the same name in any case; a leading `*.` stands for one whole label."""
    name = name.lower().rstrip(".")
    if _is_address(name):
        return False
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == name


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


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
