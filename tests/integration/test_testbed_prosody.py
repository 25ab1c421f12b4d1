"""The Prosody testbed is real: checked from outside with the system openssl and raw sockets."""

from __future__ import annotations

import re
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator

import dns.message
import dns.rdataset
import dns.rdatatype
import pytest

from tests.testbed import process  # not TestbedError itself: pytest would try to collect a Test* class
from tests.testbed.layout import DOMAIN, SCANNER_DOMAIN
from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator
from tests.testbed.prosody import HOST, WEAK_KNOBS, ProsodyFactory, ProsodyInstance, lua

pytestmark = pytest.mark.integration

STREAM_NS = "http://etherx.jabber.org/streams"
TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"
SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl"
MAX_READ = 64 * 1024
LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0"


def s_client(port: int, *args: str, timeout: float = 15) -> tuple[int, str]:
    """Run one ``openssl s_client -brief`` handshake; stdin is closed so it ends right after it."""
    proc = subprocess.run(
        ["openssl", "s_client", "-connect", f"{HOST}:{port}", "-brief", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def starttls(kind: str = "xmpp") -> list[str]:
    return ["-starttls", kind, "-xmpphost", DOMAIN, "-servername", DOMAIN]


def protocol_of(output: str) -> str | None:
    match = re.search(r"Protocol version: (\S+)", output)
    return match.group(1) if match else None


def read_until(sock: socket.socket, marker: bytes, timeout: float = 5) -> bytes:
    """Read until ``marker``, bounded in time and size, so a silent server cannot hang the suite."""
    data = b""
    deadline = time.monotonic() + timeout
    while marker not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or len(data) > MAX_READ:
            raise AssertionError(f"no {marker!r} within {timeout} s / {MAX_READ} bytes: {data[:500]!r}")
        sock.settimeout(remaining)
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError(f"connection closed before {marker!r}: {data[:500]!r}")
        data += chunk
    return data


def open_stream(port: int, namespace: str, sender: str | None = None) -> tuple[socket.socket, ET.Element]:
    """Open a cleartext stream and return the socket and the parsed ``<stream:features/>``."""
    sock = socket.create_connection((HOST, port), timeout=5)
    sender_attr = f" from='{sender}'" if sender else ""
    sock.sendall(
        f"<?xml version='1.0'?><stream:stream to='{DOMAIN}'{sender_attr} version='1.0' xmlns='{namespace}'"
        f" xmlns:db='jabber:server:dialback' xmlns:stream='{STREAM_NS}'>".encode()
    )
    data = read_until(sock, b"</stream:features>").decode()
    features = data[data.index("<stream:features") : data.index("</stream:features>") + len("</stream:features>")]
    # The stream header stays open, so only the features element is parsed, with its prefix declared.
    return sock, ET.fromstring(f"<wrap xmlns:stream='{STREAM_NS}'>{features}</wrap>")[0]


def c2s_features(port: int) -> ET.Element:
    sock, features = open_stream(port, "jabber:client")
    sock.close()
    return features


@pytest.mark.parametrize(
    ("port_name", "args"),
    [
        ("c2s", starttls("xmpp")),
        ("s2s", starttls("xmpp-server")),
        ("c2s_direct", ["-servername", DOMAIN, "-alpn", "xmpp-client"]),
        ("s2s_direct", ["-servername", DOMAIN, "-alpn", "xmpp-server"]),
    ],
)
def test_strong_negotiates_tls13_with_a_valid_chain(
    prosody_strong: ProsodyInstance, pki: TestPKI, port_name: str, args: list[str]
) -> None:
    port = getattr(prosody_strong.ports, port_name)
    code, output = s_client(port, *args, "-CAfile", str(pki.root_path), "-verify_hostname", DOMAIN)
    assert code == 0, output
    assert protocol_of(output) == "TLSv1.3", output
    assert "Verification: OK" in output, output


def test_strong_refuses_tls10(prosody_strong: ProsodyInstance) -> None:
    code, output = s_client(prosody_strong.ports.c2s, *starttls(), "-tls1", "-cipher", LEGACY_CIPHERS)
    assert code != 0
    assert "CONNECTION ESTABLISHED" not in output
    assert "alert protocol version" in output, output


@pytest.mark.parametrize(
    ("port_name", "args"),
    [("c2s", starttls("xmpp")), ("s2s", starttls("xmpp-server")), ("c2s_direct", ["-servername", DOMAIN])],
)
def test_weak_accepts_tls10(prosody_weak: ProsodyInstance, port_name: str, args: list[str]) -> None:
    port = getattr(prosody_weak.ports, port_name)
    code, output = s_client(port, *args, "-tls1", "-cipher", LEGACY_CIPHERS)
    assert code == 0, output
    assert protocol_of(output) == "TLSv1", output


def assert_requires_starttls_and_hides_sasl(port: int) -> None:
    features = c2s_features(port)
    tls = features.find(f"{{{TLS_NS}}}starttls")
    assert tls is not None
    assert tls.find(f"{{{TLS_NS}}}required") is not None
    assert features.find(f"{{{SASL_NS}}}mechanisms") is None


def test_strong_requires_starttls_and_hides_sasl_before_it(prosody_strong: ProsodyInstance) -> None:
    assert_requires_starttls_and_hides_sasl(prosody_strong.ports.c2s)


def test_weak_offers_optional_starttls_and_plain_in_cleartext(prosody_weak: ProsodyInstance) -> None:
    features = c2s_features(prosody_weak.ports.c2s)
    tls = features.find(f"{{{TLS_NS}}}starttls")
    assert tls is not None
    assert tls.find(f"{{{TLS_NS}}}required") is None
    mechanisms = [m.text for m in features.iterfind(f"{{{SASL_NS}}}mechanisms/{{{SASL_NS}}}mechanism")]
    assert "PLAIN" in mechanisms


def dialback_lookups(start: Callable[[int], int], ports: PortAllocator) -> Iterator[dns.rdataset.Rdataset]:
    """The questions a server asks a fake resolver after a dialback request from SCANNER_DOMAIN.

    ``start(resolver_port)`` starts the server with that resolver and returns its s2s port.
    The connection stays open while the caller reads; each wait is bounded.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as resolver:
        resolver.bind((HOST, ports.take()))
        resolver.settimeout(10)
        sock, _ = open_stream(start(resolver.getsockname()[1]), "jabber:server", sender=SCANNER_DOMAIN)
        with sock:
            sock.sendall(f"<db:result from='{SCANNER_DOMAIN}' to='{DOMAIN}'>c0ffee</db:result>".encode())
            while True:
                yield dns.message.from_wire(resolver.recv(4096)).question[0]


def test_dns_goes_only_to_the_configured_resolver(prosody_factory: ProsodyFactory, ports: PortAllocator) -> None:
    """A dialback request makes Prosody look up the sender; the query must reach our fake resolver."""
    lookups = dialback_lookups(
        lambda port: prosody_factory("dns", dns_resolver_port=port, **WEAK_KNOBS).ports.s2s, ports
    )
    question = next(lookups)
    lookups.close()
    assert question.rdtype == dns.rdatatype.SRV
    assert question.name.to_text().endswith(f"._tcp.{SCANNER_DOMAIN}.")


def test_factory_variants_get_fresh_ports_and_stop_cleanly(
    prosody_factory: ProsodyFactory, prosody_strong: ProsodyInstance
) -> None:
    variant = prosody_factory("short-lived")
    assert set(vars(variant.ports).values()).isdisjoint(vars(prosody_strong.ports).values())
    assert variant.running
    variant.stop()
    assert not variant.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, variant.ports.c2s), timeout=1).close()


@pytest.mark.parametrize(
    ("leaf", "load_error", "client_error"),
    [
        ("rsa1024", "ee key too small", "EE certificate key too weak"),
        ("sha1", "ca md too weak", "CA signature digest algorithm too weak"),
    ],
)
def test_weak_leaves_are_served_only_at_a_lower_openssl_security_level(
    prosody_factory: ProsodyFactory, pki: TestPKI, leaf: str, load_error: str, client_error: str
) -> None:
    with pytest.raises(process.TestbedError, match=load_error):
        prosody_factory(f"{leaf}-refused", leaf=pki.leaf(leaf))
    variant = prosody_factory(leaf, leaf=pki.leaf(leaf), openssl_security_level=0)
    code, output = s_client(variant.ports.c2s_direct, "-servername", DOMAIN, "-CAfile", str(pki.root_path))
    assert code == 0, output
    assert f"Verification error: {client_error}" in output, output


def test_lua_rendering_cannot_break_the_config() -> None:
    assert lua('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'
    assert lua({"protocol": "tlsv1+", "local-zone:": True}) == '{ protocol = "tlsv1+"; ["local-zone:"] = true; }'
    assert lua([1, "x"]) == '{ 1, "x" }'
