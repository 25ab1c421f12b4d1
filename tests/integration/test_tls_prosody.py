"""The TLS engine against real Prosody, checked against an independent ``openssl s_client`` sweep.

The sweep makes one handshake per (version, suite) that Debian's OpenSSL can offer, in parallel
threads with bounded timeouts, once per Prosody instance (every port of an instance shares one TLS
configuration). ``openssl ciphers`` alone would over-predict: it lists ECDSA suites on an RSA key
and knows nothing of Prosody's TLS 1.3 suite setting, so only completed handshakes count.
PSK and SRP suites are left out of the sweep: ``s_client`` cannot offer them without a key or a
password, and Prosody configures neither, so the engine must not find them either.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from scanners.base import ServiceKind, Transport
from scanners.connection import Endpoint, Limiter, LimiterSettings
from scanners.tls import registry
from scanners.tls.facts import TlsFacts, TlsVersion
from scanners.tls.openers import scan_endpoint
from tests.testbed.ejabberd import EjabberdInstance
from tests.testbed.layout import DOMAIN, SCANNER_DOMAIN
from tests.testbed.pki import TestPKI
from tests.testbed.prosody import HOST, ProsodyFactory, ProsodyInstance

pytestmark = pytest.mark.integration

_FLAGS = {
    TlsVersion.TLS10: "-tls1",
    TlsVersion.TLS11: "-tls1_1",
    TlsVersion.TLS12: "-tls1_2",
    TlsVersion.TLS13: "-tls1_3",
}
#: Loading the system's CA store costs s_client most of its time; verification is not what we check.
_NO_STORE = ["-no-CAfile", "-no-CApath", "-no-CAstore"]
_TLS13_SUITES = [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256",
    "TLS_AES_128_CCM_8_SHA256",
]
# The system configuration (Debian: TLS 1.2 minimum, security level 2) must not narrow the sweep.
_ENV = {**os.environ, "OPENSSL_CONF": "/dev/null"}


@dataclass(frozen=True)
class _Suite:
    iana: str
    openssl: str
    tls12_only: bool


def _openssl_suites() -> list[_Suite]:
    listing = subprocess.run(
        ["openssl", "ciphers", "-V", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
        capture_output=True,
        text=True,
        check=True,
        env=_ENV,
    ).stdout
    suites = []
    for line in listing.splitlines():
        fields = line.split()
        iana, openssl, protocol, kx = fields[2], fields[4], fields[5], fields[6]
        if protocol == "TLSv1.3" or "PSK" in kx or "SRP" in kx:
            continue
        suites.append(_Suite(iana, openssl, protocol == "TLSv1.2"))
    return suites


def _handshake(port: int, version: TlsVersion, suites: Sequence[str], client_args: Sequence[str] = ()) -> str | None:
    """One s_client handshake offering ``suites`` (OpenSSL names) in order; the suite chosen, if any.

    ``client_args`` reach the endpoint, e.g. ``-starttls xmpp -xmpphost …`` for a STARTTLS port.
    """
    if version == TlsVersion.TLS13:
        offer = ["-ciphersuites", ":".join(suites)]
    else:
        offer = ["-cipher", ":".join(suites) + ":@SECLEVEL=0"]
    argv = ["openssl", "s_client", *_NO_STORE, "-connect", f"{HOST}:{port}", "-servername", DOMAIN, "-brief"]
    try:
        proc = subprocess.run(
            [*argv, *client_args, _FLAGS[version], *offer],
            input=b"",
            capture_output=True,
            timeout=10,
            env=_ENV,
        )
    except subprocess.TimeoutExpired:
        return None
    match = re.search(rb"Ciphersuite: (\S+)", proc.stdout + proc.stderr)
    return match.group(1).decode() if match else None


def _iana(openssl_name: str) -> str:
    for suite in registry.all_suites():
        if suite.openssl_name == openssl_name and not suite.sslv2:
            return suite.name
    raise AssertionError(f"{openssl_name} is not in the registry")


def sweep(port: int, versions: Sequence[TlsVersion], client_args: Sequence[str] = ()) -> dict[TlsVersion, set[str]]:
    """Version → IANA names of the suites a handshake completed with, one handshake per suite."""
    jobs: list[tuple[TlsVersion, str]] = []
    for version in versions:
        if version == TlsVersion.TLS13:
            jobs += [(version, name) for name in _TLS13_SUITES]
        else:
            jobs += [(version, s.openssl) for s in _openssl_suites() if version == TlsVersion.TLS12 or not s.tls12_only]
    with ThreadPoolExecutor(max_workers=16) as pool:
        chosen = list(pool.map(lambda job: _handshake(port, job[0], [job[1]], client_args), jobs))
    accepted: dict[TlsVersion, set[str]] = {}
    for (version, name), pick in zip(jobs, chosen, strict=True):
        if pick == name:
            accepted.setdefault(version, set()).add(_iana(name))
    return accepted


def openssl_order(port: int, version: TlsVersion, offered: Sequence[str], client_args: Sequence[str] = ()) -> list[str]:
    """Offer ``offered`` (IANA names) in this order, remove s_client's result, repeat: the picks in order."""
    names = {_iana(s.openssl_name): s.openssl_name for s in registry.all_suites() if s.openssl_name and not s.sslv2}
    remaining = [names.get(name, name) for name in offered]
    picks = []
    while remaining:
        pick = _handshake(port, version, remaining, client_args)
        if pick not in remaining:
            break
        picks.append(pick)
        remaining.remove(pick)
    return [_iana(pick) for pick in picks]


ENDPOINTS = [
    ("c2s", ServiceKind.C2S, Transport.STARTTLS),
    ("s2s", ServiceKind.S2S, Transport.STARTTLS),
    ("c2s_direct", ServiceKind.C2S, Transport.DIRECTTLS),
    ("s2s_direct", ServiceKind.S2S, Transport.DIRECTTLS),
]


async def scan(
    instance: ProsodyInstance | EjabberdInstance, port_name: str, kind: ServiceKind, transport: Transport
) -> TlsFacts:
    from_domain = SCANNER_DOMAIN if kind is ServiceKind.S2S else None
    endpoint = Endpoint(kind, DOMAIN, HOST, getattr(instance.ports, port_name), transport, from_domain=from_domain)
    # A short gap keeps the test quick; the connection layer's own tests cover pacing.
    return await scan_endpoint(endpoint, Limiter(LimiterSettings(min_gap=0.005)))


def expected_chain(pki: TestPKI, leaf_name: str = "good") -> list[bytes]:
    leaf = pki.leaf(leaf_name)
    return [leaf.der, *(cert.public_bytes(Encoding.DER) for cert in leaf.issuer_chain[:1])]


@pytest.fixture(scope="module")
def strong_sweep(prosody_strong: ProsodyInstance) -> dict[TlsVersion, set[str]]:
    return sweep(prosody_strong.ports.c2s_direct, list(_FLAGS))


@pytest.fixture(scope="module")
def weak_sweep(prosody_weak: ProsodyInstance) -> dict[TlsVersion, set[str]]:
    return sweep(prosody_weak.ports.c2s_direct, list(_FLAGS))


def assert_matches_sweep(facts: TlsFacts, swept: dict[TlsVersion, set[str]]) -> None:
    assert facts.errors == []
    assert facts.versions == sorted(swept, key=list(TlsVersion).index)
    assert {version: set(names) for version, names in facts.cipher_suites.items()} == swept
    for names in facts.cipher_suites.values():
        assert len(names) == len(set(names))


@pytest.mark.parametrize(("port_name", "kind", "transport"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
async def test_strong_instance_matches_the_sweep(
    prosody_strong: ProsodyInstance,
    strong_sweep: dict[TlsVersion, set[str]],
    pki: TestPKI,
    port_name: str,
    kind: ServiceKind,
    transport: Transport,
) -> None:
    facts = await scan(prosody_strong, port_name, kind, transport)
    assert_matches_sweep(facts, strong_sweep)
    # The intermediate profile leaves the order to the client.
    assert facts.server_order == {TlsVersion.TLS12: False, TlsVersion.TLS13: False}
    assert facts.certificate_chain == expected_chain(pki)
    assert facts.certificate_chain_version == TlsVersion.TLS12


@pytest.mark.parametrize(("port_name", "kind", "transport"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
async def test_weak_instance_matches_the_sweep(
    prosody_weak: ProsodyInstance,
    weak_sweep: dict[TlsVersion, set[str]],
    port_name: str,
    kind: ServiceKind,
    transport: Transport,
) -> None:
    facts = await scan(prosody_weak, port_name, kind, transport)
    assert_matches_sweep(facts, weak_sweep)
    assert TlsVersion.TLS10 in facts.versions
    assert facts.server_order == dict.fromkeys(facts.versions, True)


@pytest.mark.parametrize("instance_name", ["prosody_strong", "prosody_weak"])
async def test_reported_order_is_what_openssl_sees(instance_name: str, request: pytest.FixtureRequest) -> None:
    # Given the engine's lists for an instance
    instance: ProsodyInstance = request.getfixturevalue(instance_name)
    facts = await scan(instance, "c2s_direct", ServiceKind.C2S, Transport.DIRECTTLS)
    for version, names in facts.cipher_suites.items():
        # When s_client offers them in reverse and removes each pick in turn
        picks = openssl_order(instance.ports.c2s_direct, version, list(reversed(names)))
        # Then a server with its own order yields exactly the reported order, and one without
        # follows s_client's (reversed) order instead
        assert picks == (names if facts.server_order.get(version) else list(reversed(names))), version


async def test_tls13_only_chain_comes_from_a_full_handshake(prosody_factory: ProsodyFactory, pki: TestPKI) -> None:
    instance = prosody_factory("tls13only", protocol="tlsv1_3")
    facts = await scan(instance, "c2s", ServiceKind.C2S, Transport.STARTTLS)
    assert facts.versions == [TlsVersion.TLS13]
    assert facts.certificate_chain == expected_chain(pki)
    assert facts.certificate_chain_version == TlsVersion.TLS13
    assert facts.errors == []


async def test_ecdsa_certificate_gets_ecdsa_suites(prosody_factory: ProsodyFactory, pki: TestPKI) -> None:
    instance = prosody_factory("ecdsa", leaf=pki.leaf("ecdsa-p256"))
    swept = sweep(instance.ports.c2s_direct, [TlsVersion.TLS12, TlsVersion.TLS13])
    facts = await scan(instance, "c2s_direct", ServiceKind.C2S, Transport.DIRECTTLS)
    assert_matches_sweep(facts, swept)
    assert all("_ECDSA_" in name for name in facts.cipher_suites[TlsVersion.TLS12])
    assert facts.certificate_chain == expected_chain(pki, "ecdsa-p256")
