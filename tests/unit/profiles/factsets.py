"""Judged scan results with real certificates, for the profile tests: one endpoint per scan."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric import rsa

from observatory.judge import judge
from observatory.model import EndpointFacts, ScanFacts, ScanRequest, ScanResult, ServiceFacts, ServicesFacts
from scanners.base import ServiceKind, Transport
from scanners.stream.facts import StarttlsPolicy
from scanners.tls.facts import TlsFacts, TlsVersion
from tests.unit.certificates.builders import DAY, NOW, Issued, issue, resign, xmpp_names
from tests.unit.judgment.facts import endpoint, tls

DOMAIN = "example.org"
AES_13 = ["TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"]
ECDSA_12 = ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]
RSA_12 = ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA"]
WEAK_SUITES = ["TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA"]
_CA_VALIDITY = {"not_before": NOW - 400 * DAY, "not_after": NOW + 3000 * DAY}


@functools.cache
def root() -> Issued:
    return issue("Profiles Test Root", ca=True, **_CA_VALIDITY)


@functools.cache
def rsa_root() -> Issued:
    """An RSA CA: only RSA signatures can be rewritten to SHA-1 (``resign``)."""
    return issue("Profiles RSA Root", key_kind="rsa2048", ca=True, **_CA_VALIDITY)


@functools.cache
def leaf(kind: str = "ec", days: int = 90) -> Issued:
    """A leaf for the XMPP domain, valid from ten days ago for ``days`` days; RSA leaves from the RSA CA."""
    return issue(
        DOMAIN,
        rsa_root() if kind.startswith("rsa") else root(),
        key_label=f"profiles-{kind}",
        key_kind=kind,
        not_before=NOW - 10 * DAY,
        not_after=NOW + (days - 10) * DAY,
        sans=xmpp_names(DOMAIN),
    )


@functools.cache
def sha1_leaf() -> Issued:
    """An RSA 1024 leaf signed with SHA-1 by the RSA CA, valid for 800 days."""
    issued = issue(
        DOMAIN,
        rsa_root(),
        key_label="profiles-rsa1024",
        key_kind="rsa1024",
        not_before=NOW - 10 * DAY,
        not_after=NOW + 790 * DAY,
        sans=xmpp_names(DOMAIN),
    )
    signer = rsa_root().key
    assert isinstance(signer, rsa.RSAPrivateKey)
    return Issued(resign(issued.cert, signer, "sha1"), issued.key)


def with_chain(facts: TlsFacts, *certificates: Issued) -> TlsFacts:
    return facts.model_copy(update={"certificate_chain": [c.der for c in certificates]})


def judged(endpoints: Sequence[EndpointFacts], profiles: Sequence[str]) -> ScanResult:
    facts = ScanFacts(
        domain=DOMAIN,
        started_at=NOW,
        finished_at=NOW + dt.timedelta(seconds=5),
        request=ScanRequest(domain=DOMAIN, kinds=[ServiceKind.C2S]),
        services=ServicesFacts(c2s=ServiceFacts(kind=ServiceKind.C2S, endpoints=list(endpoints))),
    )
    return judge(facts, extra_roots=[root().cert, rsa_root().cert], profiles=profiles)


def modern_endpoint() -> EndpointFacts:
    """TLS 1.3 only, ECDSA P-256 certificate valid for 90 days, Direct TLS."""
    return endpoint(transport=Transport.DIRECTTLS, tls_facts=with_chain(tls({TlsVersion.TLS13: AES_13}, False), leaf()))


def strong_endpoint() -> EndpointFacts:
    """TLS 1.2 (ECDHE-ECDSA AES-GCM) and 1.3 (AES-GCM), ECDSA P-256, 90 days, STARTTLS required."""
    suites = {TlsVersion.TLS12: ECDSA_12, TlsVersion.TLS13: AES_13}
    return endpoint(tls_facts=with_chain(tls(suites, False), leaf()))


def old_endpoint() -> EndpointFacts:
    """TLS 1.0-1.3 in server order with suites of Mozilla's old list, RSA 2048, 366 days, STARTTLS required."""
    suites = {TlsVersion.TLS10: RSA_12[1:], TlsVersion.TLS12: RSA_12, TlsVersion.TLS13: AES_13}
    return endpoint(tls_facts=with_chain(tls(suites, True), leaf("rsa2048", days=366)))


def weak_endpoint() -> EndpointFacts:
    """TLS 1.0 and 1.2 with RC4, 3DES and static RSA, a SHA-1-signed RSA 1024 leaf, optional STARTTLS."""
    suites = {TlsVersion.TLS10: WEAK_SUITES, TlsVersion.TLS12: WEAK_SUITES}
    return endpoint(
        tls_facts=with_chain(tls(suites, True), sha1_leaf()),
        starttls=StarttlsPolicy.OPTIONAL,
    )
