"""What Prosody 0.12 cannot show, proved with scripted servers: XEP-0440, SASL2/FAST, XEP-0474, ALPN,
redirects, refused enforcement, STARTTLS command injection."""

from __future__ import annotations

import base64
import re

import pytest

from scanners.base import ErrorReason, ServiceKind, Transport
from scanners.connection import Deadline, Endpoint, Limiter
from scanners.stream.facts import FastFeature, InjectionOutcome, StarttlsPolicy, StreamFacts
from scanners.stream.prober import ProbeOptions, probe_stream
from tests.testbed.fixtures_scripted_xmpp import ScriptedServers, TlsContextFactory
from tests.testbed.layout import DOMAIN
from tests.testbed.scripted_xmpp import (
    SASL_NS,
    STARTTLS_OPTIONAL,
    ScriptedServer,
    XmppScript,
    mechanisms,
)

pytestmark = pytest.mark.integration

CHANNEL_BINDING = (
    "<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-server-end-point'/>"
    "<channel-binding type='tls-exporter'/></sasl-channel-binding>"
)
SASL2 = (
    "<authentication xmlns='urn:xmpp:sasl:2'><mechanism>SCRAM-SHA-256-PLUS</mechanism>"
    "<mechanism>SCRAM-SHA-256</mechanism><inline><bind xmlns='urn:xmpp:bind:0'/>"
    "<fast xmlns='urn:xmpp:fast:0'><mechanism>HT-SHA-256-ENDP</mechanism></fast></inline></authentication>"
)
SERVER_FIRST = "r=clientnonceservernonce,s=c2FsdA==,i=4096,h=Zm9vYmFy,t=0304"


async def probe(server: ScriptedServer, transport: Transport = Transport.STARTTLS, **options: bool) -> StreamFacts:
    endpoint = Endpoint(ServiceKind.C2S, DOMAIN, "127.0.0.1", server.port, transport)
    return await probe_stream(endpoint, Limiter(), Deadline.after(10), ProbeOptions(**options))


async def test_channel_binding_types_sasl2_and_fast(scripted: ScriptedServers, scripted_tls: TlsContextFactory) -> None:
    after = mechanisms("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256") + CHANNEL_BINDING + SASL2
    server = await scripted(XmppScript(features_after=after, tls=scripted_tls()))
    facts = await probe(server)

    assert facts.errors == []
    features = facts.features_after_tls
    assert features is not None
    assert features.sasl_mechanisms == ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]
    assert features.channel_bindings == ["tls-server-end-point", "tls-exporter"]
    assert features.sasl2 is not None
    assert features.sasl2.mechanisms == ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]
    assert features.sasl2.inline == ["{urn:xmpp:bind:0}bind", "{urn:xmpp:fast:0}fast"]
    assert features.sasl2.fast == FastFeature(mechanisms=["HT-SHA-256-ENDP"])


@pytest.mark.parametrize(
    ("after", "profile"),
    [(mechanisms("SCRAM-SHA-1", "SCRAM-SHA-256"), "sasl"), (SASL2, "sasl2")],
    ids=["sasl", "sasl2-only"],
)
async def test_downgrade_protection_shows_in_scrams_first_round(
    scripted: ScriptedServers, scripted_tls: TlsContextFactory, after: str, profile: str
) -> None:
    script = XmppScript(features_after=after, tls=scripted_tls(), scram_server_first=SERVER_FIRST)
    server = await scripted(script)
    facts = await probe(server)

    assert facts.errors == []
    assert facts.scram is not None
    assert (facts.scram.mechanism, facts.scram.profile) == ("SCRAM-SHA-256", profile)
    assert facts.scram.server_first == SERVER_FIRST
    assert facts.scram.downgrade_hash == "Zm9vYmFy"  # XEP-0474 'h'
    assert facts.scram.tls_version == "0304"  # XEP-0515 't'
    # a random account, no password, and the round was aborted
    sent = b"".join(script.received)
    (initial,) = re.findall(rb">([A-Za-z0-9+/=]+)</(?:auth|initial-response)>", sent)
    assert base64.b64decode(initial).startswith(b"n,,n=observatory-probe-")
    assert b"<abort" in sent


async def test_no_scram_round_when_disabled(scripted: ScriptedServers, scripted_tls: TlsContextFactory) -> None:
    script = XmppScript(tls=scripted_tls(), scram_server_first=SERVER_FIRST)
    server = await scripted(script)
    facts = await probe(server, scram=False)
    assert facts.scram is None
    assert b"<auth" not in b"".join(script.received)


async def test_direct_tls_records_the_alpn_the_server_chose(
    scripted: ScriptedServers, scripted_tls: TlsContextFactory
) -> None:
    names: list[str] = []
    server = await scripted(XmppScript(), tls=scripted_tls(alpn=["xmpp-client"], sni=names))
    facts = await probe(server, Transport.DIRECTTLS)

    assert facts.errors == []
    assert facts.alpn == "xmpp-client"
    assert names == [DOMAIN]
    assert facts.starttls is StarttlsPolicy.NOT_APPLICABLE
    assert facts.features_after_tls is not None
    assert facts.features_after_tls.sasl_mechanisms == ["SCRAM-SHA-1", "PLAIN"]


async def test_a_redirect_is_recorded_not_followed(scripted: ScriptedServers) -> None:
    redirect = "<see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>xmpp.other.test:5222</see-other-host>"
    server = await scripted(XmppScript(stream_error=redirect))
    facts = await probe(server)

    assert facts.stream_error is not None
    assert (facts.stream_error.condition, facts.stream_error.redirect) == ("see-other-host", "xmpp.other.test:5222")
    assert [error.reason for error in facts.errors] == [ErrorReason.STREAM_ERROR]
    assert server.connections == 1  # no follow-up probes, no redirect followed


async def test_policy_violation_keeps_its_text(scripted: ScriptedServers) -> None:
    error = (
        "<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
        "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>too many connections</text>"
    )
    facts = await probe(await scripted(XmppScript(stream_error=error)))
    assert facts.stream_error is not None
    assert (facts.stream_error.condition, facts.stream_error.text) == ("policy-violation", "too many connections")
    assert "too many connections" in facts.errors[0].message


async def test_enforcement_refused_when_the_server_wants_tls_first(
    scripted: ScriptedServers, scripted_tls: TlsContextFactory
) -> None:
    refusal = f"<failure xmlns='{SASL_NS}'><encryption-required/></failure>"
    script = XmppScript(
        features_before=STARTTLS_OPTIONAL + mechanisms("PLAIN"), tls=scripted_tls(), cleartext_auth_answer=refusal
    )
    facts = await probe(await scripted(script))

    assert facts.starttls is StarttlsPolicy.OPTIONAL
    assert facts.enforcement is not None
    assert (facts.enforcement.request, facts.enforcement.answer) == ("sasl:PLAIN", "failure:encryption-required")
    assert facts.enforcement.accepted is False


async def test_absent_starttls_is_a_fact_and_enforcement_is_still_asked(scripted: ScriptedServers) -> None:
    server = await scripted(XmppScript(features_before=mechanisms("SCRAM-SHA-1", "PLAIN")))
    facts = await probe(server)

    assert facts.errors == []
    assert facts.starttls is StarttlsPolicy.ABSENT
    assert facts.features_after_tls is None
    assert facts.enforcement is not None
    assert facts.enforcement.request == "sasl:SCRAM-SHA-1"
    assert facts.enforcement.accepted is True
    assert facts.injection is None


@pytest.mark.parametrize(
    ("behaviour", "outcome"),
    [
        ({"process_injected": True}, InjectionOutcome.ANSWERED_IN_TLS),
        ({}, InjectionOutcome.IGNORED),
        ({"hang_up_on_injected": True}, InjectionOutcome.TLS_FAILED),
    ],
    ids=["answers-injected", "discards-injected", "hangs-up-after-tls"],
)
async def test_starttls_command_injection(
    scripted: ScriptedServers, scripted_tls: TlsContextFactory, behaviour: dict[str, bool], outcome: InjectionOutcome
) -> None:
    vulnerable = outcome is InjectionOutcome.ANSWERED_IN_TLS
    server = await scripted(XmppScript(tls=scripted_tls(), **behaviour))
    facts = await probe(server, scram=False)

    assert facts.injection is not None
    assert facts.injection.outcome is outcome
    assert facts.errors == []  # a hang-up is the injection's outcome, not a failed probe
    if vulnerable:
        assert facts.injection.evidence is not None
        assert "observatory-inject-" in facts.injection.evidence
