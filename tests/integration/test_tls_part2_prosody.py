"""TLS engine part 2 against real Prosody: groups, DH parameters, extensions, session, certificates.

Each fact is checked against an independent ``openssl s_client`` handshake where one can tell
(groups, DH size), and against what the configuration says otherwise. Variants: the strong and
weak instances, DHE with a fresh 1024-bit ``dhparam``, an ECDSA certificate, and RSA + ECDSA
certificates together (LuaSec's ``certificates`` list).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from scanners.base import ServiceKind, Transport
from scanners.tls.facts import TlsFacts, TlsVersion
from tests.integration.test_tls_prosody import expected_chain, scan
from tests.testbed.layout import DOMAIN
from tests.testbed.pki import TestPKI
from tests.testbed.prosody import HOST, ProsodyFactory, ProsodyInstance

pytestmark = pytest.mark.integration

_ENV = {**os.environ, "OPENSSL_CONF": "/dev/null"}
#: OpenSSL's names of the groups Debian's OpenSSL 3.0 can offer, with their IANA names.
_OPENSSL_GROUPS = {
    "X25519": "x25519",
    "P-256": "secp256r1",
    "X448": "x448",
    "P-384": "secp384r1",
    "P-521": "secp521r1",
    "ffdhe2048": "ffdhe2048",
    "ffdhe3072": "ffdhe3072",
    # ejabberd's OpenSSL (fast_tls) takes every RFC 7919 group in TLS 1.3; Prosody's does not.
    "ffdhe4096": "ffdhe4096",
    "ffdhe6144": "ffdhe6144",
    "ffdhe8192": "ffdhe8192",
}


def s_client(port: int, *args: str) -> str:
    argv = ["openssl", "s_client", "-no-CAfile", "-no-CApath", "-no-CAstore", "-connect", f"{HOST}:{port}"]
    try:
        proc = subprocess.run(
            [*argv, "-servername", DOMAIN, "-brief", *args], input=b"", capture_output=True, timeout=10, env=_ENV
        )
    except subprocess.TimeoutExpired:
        return ""
    return (proc.stdout + proc.stderr).decode(errors="replace")


def openssl_groups(
    port: int, version_flag: str, cipher: str | None = None, client_args: Sequence[str] = ()
) -> set[str]:
    """IANA names of the groups a one-group s_client handshake completes with.

    ``client_args`` reach the endpoint, e.g. ``-starttls xmpp -xmpphost …`` for a STARTTLS port.
    """
    extra = [*client_args, *(["-cipher", cipher] if cipher else [])]

    def one(name: str) -> str | None:
        text = s_client(port, version_flag, "-groups", name, *extra)
        return _OPENSSL_GROUPS[name] if "CONNECTION ESTABLISHED" in text else None

    with ThreadPoolExecutor(max_workers=8) as pool:
        return {found for found in pool.map(one, _OPENSSL_GROUPS) if found}


async def direct(instance: ProsodyInstance) -> TlsFacts:
    return await scan(instance, "c2s_direct", ServiceKind.C2S, Transport.DIRECTTLS)


def direct_tls_ssl(**extra: Any) -> dict[str, Any]:
    """``extra_options`` adding ``extra`` to the ``ssl`` table of the c2s Direct TLS port.

    (Prosody refuses a second global ``ssl``; ``c2s_direct_tls_ssl`` is applied over it.)
    """
    return {"c2s_direct_tls_ssl": extra}


async def test_strong_instance(prosody_strong: ProsodyInstance, pki: TestPKI) -> None:
    facts = await scan(prosody_strong, "c2s", ServiceKind.C2S, Transport.STARTTLS)
    port = prosody_strong.ports.c2s_direct
    assert facts.errors == []
    # Groups: what one-group handshakes complete with; TLS 1.3 HelloRetryRequests follow the
    # server's list, TLS 1.2 curves the client's (the intermediate profile leaves the order to it).
    assert set(facts.groups[TlsVersion.TLS13]) == openssl_groups(port, "-tls1_3")
    assert set(facts.groups[TlsVersion.TLS12]) == openssl_groups(port, "-tls1_2", "ECDHE")
    assert facts.groups[TlsVersion.TLS13] == ["x25519", "secp256r1", "secp384r1"]
    assert facts.groups_server_order == {TlsVersion.TLS13: True, TlsVersion.TLS12: False}
    assert facts.ecdhe_curve == "x25519"
    assert facts.dh_parameters == []  # no dhparam: no DHE suites
    extensions = facts.extensions
    assert extensions is not None
    assert extensions.version == TlsVersion.TLS12
    assert extensions.compression is None
    assert extensions.secure_renegotiation
    assert extensions.extended_master_secret
    assert extensions.encrypt_then_mac is None  # AEAD suites only: nothing to show it on
    # Prosody turns tickets off (LuaSec's no_ticket); the real TLS server of the scripted tests
    # shows a ticket being issued.
    assert not extensions.session_ticket
    assert not extensions.status_request
    assert not extensions.heartbeat
    assert extensions.heartbleed is None
    assert extensions.truncated_hmac is False  # OpenSSL never implemented it
    assert facts.fallback_scsv is True
    ticket = facts.session_ticket
    assert ticket is not None
    assert ticket.version == TlsVersion.TLS12
    assert not ticket.issued
    assert ticket.lifetime_hint_seconds is None
    assert facts.ocsp_staple_requested
    assert facts.ocsp_staple is None
    assert [(d.authentication, d.chain) for d in facts.certificates] == [("RSA", expected_chain(pki))]
    assert facts.certificate_chain == expected_chain(pki)


async def test_weak_instance(prosody_weak: ProsodyInstance) -> None:
    facts = await direct(prosody_weak)
    assert facts.errors == []
    extensions = facts.extensions
    assert extensions is not None
    assert extensions.version == TlsVersion.TLS12
    # CBC suites: OpenSSL answers encrypt_then_mac for them.
    assert extensions.encrypt_then_mac is True
    assert extensions.cipher_suite.endswith("_CBC_SHA")
    assert facts.fallback_scsv is True
    # With cipher_server_preference OpenSSL also imposes its curve order in TLS 1.2.
    assert facts.groups_server_order == {TlsVersion.TLS12: True, TlsVersion.TLS13: True}
    port = prosody_weak.ports.c2s_direct
    assert set(facts.groups[TlsVersion.TLS12]) == openssl_groups(port, "-tls1_2", "ECDHE")
    assert set(facts.groups[TlsVersion.TLS13]) == openssl_groups(port, "-tls1_3")
    assert facts.groups[TlsVersion.TLS12][0] == "x25519"


async def test_dhe_with_a_1024_bit_dhparam(prosody_factory: ProsodyFactory, pki: TestPKI, tmp_path: Path) -> None:
    dhparam = tmp_path / "dh1024.pem"
    subprocess.run(  # noqa: ASYNC221 (a one-off tool before the scan starts)
        ["openssl", "dhparam", "-out", str(dhparam), "1024"], check=True, capture_output=True, timeout=120
    )
    ciphers = "DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"
    instance = prosody_factory(
        "dhe1024",
        openssl_security_level=0,
        extra_options=direct_tls_ssl(dhparam=str(dhparam), ciphers=ciphers),
    )
    facts = await direct(instance)
    [params] = facts.dh_parameters
    assert (params.family, params.version, params.cipher_suite) == (
        "DHE_RSA",
        TlsVersion.TLS12,
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    )
    # The size s_client reports for the same suite, and the file's own prime.
    text = s_client(instance.ports.c2s_direct, "-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0")
    assert re.search(r"Server Temp Key: DH, 1024 bits", text)
    assert params.prime_bits == 1024
    assert params.generator == 2
    assert params.prime == _pem_prime(dhparam)
    assert params.well_known is None
    assert params.common is None
    # Prosody's OpenSSL ignores RFC 7919 in TLS 1.2: no FFDHE group shows there.
    assert not any(name.startswith("ffdhe") for name in facts.groups[TlsVersion.TLS12])


def _pem_prime(path: Path) -> bytes:
    text = subprocess.run(
        ["openssl", "pkeyparam", "-in", str(path), "-text", "-noout"], capture_output=True, text=True, check=True
    ).stdout
    block = text.split("P:", 1)[1].split("G:", 1)[0]
    return bytes.fromhex(re.sub(r"[^0-9a-f]", "", block)).lstrip(b"\x00")


async def test_ecdsa_certificate(prosody_factory: ProsodyFactory, pki: TestPKI) -> None:
    instance = prosody_factory("ecdsa2", leaf=pki.leaf("ecdsa-p256"))
    facts = await direct(instance)
    assert [(d.authentication, d.chain) for d in facts.certificates] == [("ECDSA", expected_chain(pki, "ecdsa-p256"))]
    assert facts.ecdhe_curve == "x25519"


async def test_rsa_and_ecdsa_certificates(prosody_factory: ProsodyFactory, pki: TestPKI) -> None:
    rsa, ecdsa = pki.leaf("good"), pki.leaf("ecdsa-p256")
    pairs = [{"certificate": str(leaf.chain_path), "key": str(leaf.key_path)} for leaf in (rsa, ecdsa)]
    instance = prosody_factory("dualcert", extra_options=direct_tls_ssl(certificates=pairs))
    facts = await direct(instance)
    assert facts.errors == []
    found = {d.authentication: d.chain for d in facts.certificates}
    assert found == {"RSA": expected_chain(pki), "ECDSA": expected_chain(pki, "ecdsa-p256")}
    # A modern client (ECDSA first) gets the ECDSA chain from a server that follows its order.
    assert facts.certificate_chain == expected_chain(pki, "ecdsa-p256")
