"""The stream prober against real Prosody: strong and weak, c2s and s2s, STARTTLS and Direct TLS."""

from __future__ import annotations

import pytest

from scanners.base import ErrorReason, ServiceKind, Transport
from scanners.connection import Deadline, Endpoint, Limiter
from scanners.stream.facts import InjectionOutcome, StarttlsPolicy, StreamFacts
from scanners.stream.prober import probe_stream
from tests.testbed.layout import DOMAIN, SCANNER_DOMAIN, UNHOSTED_DOMAIN, XmppPorts
from tests.testbed.prosody import HOST, ProsodyInstance

pytestmark = pytest.mark.integration


async def probe(
    ports: XmppPorts,
    port: str = "c2s",
    *,
    kind: ServiceKind = ServiceKind.C2S,
    domain: str = DOMAIN,
    address: str = HOST,
) -> StreamFacts:
    transport = Transport.DIRECTTLS if port.endswith("_direct") else Transport.STARTTLS
    from_domain = SCANNER_DOMAIN if kind is ServiceKind.S2S else None
    endpoint = Endpoint(kind, domain, address, getattr(ports, port), transport, from_domain=from_domain)
    return await probe_stream(endpoint, Limiter(), Deadline.after(15))


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
async def test_strong_c2s_requires_starttls_and_offers_sasl_only_after_it(
    prosody_strong: ProsodyInstance, address: str
) -> None:
    facts = await probe(prosody_strong.ports, address=address)

    assert facts.errors == []
    assert facts.starttls is StarttlsPolicy.REQUIRED
    assert facts.header is not None
    assert (facts.header.from_, facts.header.version, facts.header.lang) == (DOMAIN, "1.0", "en")
    assert facts.header.namespace == "jabber:client"
    assert facts.header_after_tls is not None
    assert facts.header_after_tls.id not in (None, facts.header.id)
    assert facts.features_before_tls is not None
    assert facts.features_before_tls.sasl_mechanisms == []
    assert facts.features_after_tls is not None
    assert set(facts.features_after_tls.sasl_mechanisms) == {"PLAIN", "SCRAM-SHA-1"}  # internal_hashed
    assert not facts.features_after_tls.starttls
    assert facts.tls_version == "TLSv1.3"
    assert facts.enforcement is None  # only asked when <required/> is missing
    # Prosody 0.12 never answers a SCRAM round for an unknown account: no XEP-0474 to see
    assert facts.scram is not None
    assert (facts.scram.mechanism, facts.scram.failure, facts.scram.downgrade_hash) == (
        "SCRAM-SHA-1",
        "not-authorized",
        None,
    )
    assert facts.timings.total is not None
    assert facts.timings.tls_handshake is not None


async def test_prosody_answers_plaintext_injected_with_starttls_in_cleartext(prosody_strong: ProsodyInstance) -> None:
    """Prosody resets its parser at <proceed/> and reads the injected ping as a new stream's header."""
    facts = await probe(prosody_strong.ports)
    assert facts.injection is not None
    assert facts.injection.outcome is InjectionOutcome.ANSWERED_IN_CLEARTEXT
    assert facts.injection.evidence is not None
    assert "invalid-namespace" in facts.injection.evidence


async def test_weak_c2s_offers_plain_in_cleartext_and_lets_sasl_go_on_without_tls(
    prosody_weak: ProsodyInstance,
) -> None:
    facts = await probe(prosody_weak.ports)

    assert facts.errors == []
    assert facts.starttls is StarttlsPolicy.OPTIONAL
    assert facts.features_before_tls is not None
    assert set(facts.features_before_tls.sasl_mechanisms) == {"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"}
    assert facts.features_after_tls is not None
    assert set(facts.features_after_tls.sasl_mechanisms) == {"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"}
    assert facts.enforcement is not None
    assert facts.enforcement.request == "sasl:SCRAM-SHA-256"
    assert facts.enforcement.answer == "failure:not-authorized"  # it looked the account up: no TLS needed
    assert facts.enforcement.accepted is True


async def test_s2s_sends_from_and_declares_dialback(prosody_strong: ProsodyInstance) -> None:
    facts = await probe(prosody_strong.ports, "s2s", kind=ServiceKind.S2S)

    assert facts.errors == []
    assert facts.header is not None
    assert facts.header.to == SCANNER_DOMAIN  # Prosody read our 'from'
    assert facts.header.namespace == "jabber:server"
    assert facts.header.dialback
    assert facts.starttls is StarttlsPolicy.REQUIRED
    assert facts.features_before_tls is not None
    assert facts.features_before_tls.dialback
    assert facts.features_after_tls is not None
    assert facts.features_after_tls.dialback
    assert "EXTERNAL" not in facts.features_after_tls.sasl_mechanisms  # we presented no certificate
    assert facts.scram is None


async def test_weak_s2s_verifies_a_dialback_key_without_tls(prosody_weak: ProsodyInstance) -> None:
    facts = await probe(prosody_weak.ports, "s2s", kind=ServiceKind.S2S)

    assert facts.starttls is StarttlsPolicy.OPTIONAL
    assert facts.enforcement is not None
    assert (facts.enforcement.request, facts.enforcement.answer) == ("dialback:verify", "db:verify:invalid")
    assert facts.enforcement.accepted is True


@pytest.mark.parametrize(("port", "kind"), [("c2s_direct", ServiceKind.C2S), ("s2s_direct", ServiceKind.S2S)])
async def test_direct_tls(prosody_strong: ProsodyInstance, port: str, kind: ServiceKind) -> None:
    facts = await probe(prosody_strong.ports, port, kind=kind)

    assert facts.errors == []
    assert facts.starttls is StarttlsPolicy.NOT_APPLICABLE
    assert facts.features_before_tls is None
    assert facts.header is not None
    assert facts.header.from_ == DOMAIN
    assert facts.features_after_tls is not None
    assert not facts.features_after_tls.starttls
    assert facts.tls_version == "TLSv1.3"
    assert facts.alpn is None  # Prosody 0.12 ignores ALPN
    assert facts.injection is None


@pytest.mark.parametrize(("port", "kind"), [("c2s", ServiceKind.C2S), ("s2s", ServiceKind.S2S)])
async def test_a_domain_prosody_does_not_host_is_host_unknown(
    prosody_strong: ProsodyInstance, port: str, kind: ServiceKind
) -> None:
    facts = await probe(prosody_strong.ports, port, kind=kind, domain=UNHOSTED_DOMAIN)

    assert facts.stream_error is not None
    assert facts.stream_error.condition == "host-unknown"
    assert facts.stream_error.phase == "features"
    assert [error.reason for error in facts.errors] == [ErrorReason.STREAM_ERROR]
    assert facts.header is not None  # the header still came first
    assert facts.features_before_tls is None
    assert facts.injection is None
