"""The prober's questions beyond reading features: STARTTLS enforcement, command injection, SCRAM's first round.

Each is harmless: a random account that does not exist, a dialback key check that makes the server
connect nowhere, a ping. None ever sends a password or makes the server resolve or reach a name.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets

from scanners.base import ErrorReason, ProbeError, ServiceKind
from scanners.connection.errors import ProbeFailure, TlsFailed, classify
from scanners.connection.limits import Deadline, Limiter
from scanners.connection.prelude import Endpoint, open_cleartext_stream, request_starttls
from scanners.connection.tls import TlsStream, start_tls
from scanners.stream.facts import (
    InjectionOutcome,
    ScramFirstMessage,
    StarttlsEnforcement,
    StarttlsInjection,
    StreamFeatures,
)
from scanners.stream.features import DIALBACK_NS, FEATURES, SASL2_NS, SASL_NS, qname, sasl_condition
from scanners.stream.wire import (
    CLOSE,
    SASL2_ABORT,
    SASL_ABORT,
    dialback_verify,
    ping,
    sasl2_authenticate,
    sasl_auth,
    stream_header,
)
from scanners.stream.xml import StreamElement, XmlMalformed
from scanners.stream.xmlstream import ConnectionClosed, ProtocolViolation, StreamErrorReceived, XmlStream

SCRAM_PREFERENCE = ("SCRAM-SHA-256", "SCRAM-SHA-1", "SCRAM-SHA-512")
#: How long to wait, after a clean restart, for a late answer to injected plaintext.
INJECTION_GRACE = 0.5
#: Evidence kept from the server's bytes.
EVIDENCE_BYTES = 1024
#: SASL failures that say nothing about TLS (the request itself was refused).
_UNCLEAR_FAILURES = {"invalid-mechanism", "mechanism-too-weak", "malformed-request", "aborted", "incorrect-encoding"}


def _random_user() -> str:
    return f"observatory-probe-{secrets.token_hex(6)}"


def choose_scram(mechanisms: list[str]) -> str | None:
    """A SCRAM mechanism without channel binding: SHA-256, SHA-1, SHA-512, then any other."""
    for name in SCRAM_PREFERENCE:
        if name in mechanisms:
            return name
    return next((m for m in mechanisms if m.startswith("SCRAM-") and not m.endswith("-PLUS")), None)


def scram_client_first() -> bytes:
    return f"n,,n={_random_user()},r={secrets.token_urlsafe(18)}".encode()


def scram_attributes(message: str) -> dict[str, str]:
    """``r=…,s=…,i=4096,h=…`` as a dict of its one-letter attributes."""
    attributes: dict[str, str] = {}
    for part in message.split(","):
        key, equals, value = part.partition("=")
        if equals and len(key) == 1:
            attributes.setdefault(key, value)
    return attributes


# --- SCRAM's first round (XEP-0474, XEP-0515) -------------------------------------------------------


async def scram_first_message(tls: TlsStream, xml: XmlStream, features: StreamFeatures) -> ScramFirstMessage | None:
    """Start SCRAM for a random account, read the server-first-message, abort. None: no SCRAM offered."""
    mechanism = choose_scram(features.sasl_mechanisms)
    profile, namespace = "sasl", SASL_NS
    if mechanism is not None:
        await tls.write(sasl_auth(mechanism, scram_client_first()))
    elif features.sasl2 is not None and (mechanism := choose_scram(features.sasl2.mechanisms)) is not None:
        profile, namespace = "sasl2", SASL2_NS
        await tls.write(sasl2_authenticate(mechanism, scram_client_first()))
    else:
        return None
    xml.phase = "scram"
    answer = await xml.expect(qname(namespace, "challenge"), qname(namespace, "failure"))
    if answer.tag == qname(namespace, "failure"):
        return ScramFirstMessage(mechanism=mechanism, profile=profile, failure=sasl_condition(answer.element))
    await tls.write(SASL_ABORT if profile == "sasl" else SASL2_ABORT)
    try:
        server_first = base64.b64decode((answer.element.text or "").strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ProtocolViolation("the SCRAM challenge is not base64 of UTF-8 text") from None
    attributes = scram_attributes(server_first)
    return ScramFirstMessage(
        mechanism=mechanism,
        profile=profile,
        server_first=server_first,
        downgrade_hash=attributes.get("h"),
        tls_version=attributes.get("t"),
    )


# --- Is STARTTLS enforced? --------------------------------------------------------------------------


def _cleartext_request(endpoint: Endpoint, features: StreamFeatures | None, stream_id: str) -> tuple[str, bytes] | None:
    if endpoint.kind is ServiceKind.S2S:
        if not endpoint.from_domain:
            return None  # a verify request needs our own domain as its sender
        key = secrets.token_hex(32)
        return "dialback:verify", dialback_verify(endpoint.from_domain, endpoint.domain, stream_id, key)
    offered = features.sasl_mechanisms if features else []
    mechanism = choose_scram(offered) or ("PLAIN" if "PLAIN" in offered or not offered else offered[0])
    if mechanism.startswith("SCRAM-"):
        initial: bytes | None = scram_client_first()
    elif mechanism == "PLAIN":
        initial = f"\0{_random_user()}\0{secrets.token_urlsafe(12)}".encode()
    else:
        initial = None
    return f"sasl:{mechanism}", sasl_auth(mechanism, initial)


def _judge_answer(element: StreamElement) -> tuple[str, bool | None]:
    """Label the server's answer, and whether it went on without TLS."""
    tag = element.tag
    if tag in (qname(SASL_NS, "challenge"), qname(SASL_NS, "success")):
        return tag.rpartition("}")[2], True
    if tag == qname(SASL_NS, "failure"):
        condition = sasl_condition(element.element)
        if condition == "encryption-required":
            return f"failure:{condition}", False
        return f"failure:{condition}", None if condition in _UNCLEAR_FAILURES else True
    if tag == qname(DIALBACK_NS, "verify"):
        kind = element.element.get("type", "none")
        if kind == "error":
            error = element.element.find("*")
            condition = sasl_condition(error) if error is not None else "unspecified"
            return f"db:verify:error:{condition}", False if condition == "policy-violation" else None
        return f"db:verify:{kind}", True
    return f"unexpected:{tag}", None


async def check_enforcement(
    endpoint: Endpoint, limiter: Limiter, deadline: Deadline
) -> tuple[StarttlsEnforcement | None, ProbeError | None]:
    """On a second cleartext stream, ask something only an un-encrypted peer should be refused."""
    try:
        async with open_cleartext_stream(endpoint, limiter, deadline) as stream:
            header_id = stream.facts.header.id if stream.facts.header else None
            request = _cleartext_request(endpoint, stream.facts.features, header_id or secrets.token_hex(8))
            if request is None:
                return None, None
            name, data = request
            stream.writer.write(data)
            await stream.writer.drain()
            stream.xml.phase = "enforcement"
            try:
                answer, accepted = _judge_answer(await stream.xml.element())
            except StreamErrorReceived as exc:
                answer, accepted = f"stream-error:{exc.error.condition}", False
            except ConnectionClosed:
                answer, accepted = "closed", False
            if answer == "challenge":
                stream.writer.write(SASL_ABORT)
            stream.writer.write(CLOSE)
            return StarttlsEnforcement(request=name, answer=answer, accepted=accepted), None
    except ProbeFailure as failure:
        return None, failure.error.model_copy(update={"phase": f"enforcement/{failure.error.phase}"})
    except Exception as exc:
        return None, classify(exc, "enforcement")


# --- STARTTLS command injection ---------------------------------------------------------------------


class _Recorder:
    """A byte source that keeps the first bytes it passes on, as evidence."""

    def __init__(self, source: TlsStream) -> None:
        self._source = source
        self.seen = bytearray()

    async def read(self, max_bytes: int) -> bytes:
        data = await self._source.read(max_bytes)
        self.seen += data[: max(0, EVIDENCE_BYTES * 8 - len(self.seen))]
        return data


def _evidence(data: bytes | bytearray | str) -> str:
    text = data if isinstance(data, str) else bytes(data).decode("utf-8", "replace")
    return text[:EVIDENCE_BYTES]


async def _answered_after_restart(tls: TlsStream, endpoint: Endpoint, deadline: Deadline, token: bytes) -> str | None:
    """Restart the stream over TLS; the server's bytes if any of them answer the injected plaintext."""
    recorder = _Recorder(tls)
    xml = XmlStream(recorder, deadline)
    await tls.write(stream_header(endpoint.kind, endpoint.domain, endpoint.from_domain))
    try:
        await xml.open()
        await xml.expect(FEATURES)
    except (XmlMalformed, ProtocolViolation, StreamErrorReceived):
        # Something other than a clean new header and features: an answer on the old stream.
        return _evidence(recorder.seen)
    except ConnectionClosed:
        if token in recorder.seen:
            return _evidence(recorder.seen)
        raise  # a hang-up with no answer: the caller says what that means
    try:
        async with asyncio.timeout(min(INJECTION_GRACE, deadline.remaining())):
            await xml.element()  # we asked nothing on the new stream: anything now answers the injection
        return _evidence(recorder.seen)
    except (TimeoutError, ConnectionClosed):
        pass
    return _evidence(recorder.seen) if token in recorder.seen else None


async def check_injection(
    endpoint: Endpoint, limiter: Limiter, deadline: Deadline
) -> tuple[StarttlsInjection | None, ProbeError | None]:
    """Send a ping in the same packet as ``<starttls/>``; a correct server discards it with the cleartext."""
    token = f"observatory-inject-{secrets.token_hex(6)}".encode()
    injected = ping(token.decode())

    def result(outcome: InjectionOutcome, evidence: str | None = None) -> tuple[StarttlsInjection, None]:
        return StarttlsInjection(injected=injected.decode(), outcome=outcome, evidence=evidence), None

    try:
        async with open_cleartext_stream(endpoint, limiter, deadline) as stream:
            if stream.facts.features is None or not stream.facts.features.starttls:
                return None, None
            try:
                await request_starttls(stream, extra=injected)
            except ProbeFailure as failure:
                if failure.error.reason in (ErrorReason.STREAM_ERROR, ErrorReason.PROTOCOL):
                    return result(InjectionOutcome.REFUSED, failure.error.message)
                raise
            try:
                tls = await start_tls(stream.reader, stream.writer, endpoint, deadline)
            except TlsFailed as exc:
                if exc.received.lstrip().startswith(b"<"):
                    return result(InjectionOutcome.ANSWERED_IN_CLEARTEXT, _evidence(exc.received))
                return result(InjectionOutcome.TLS_FAILED, _evidence(str(exc)))
            try:
                evidence = await _answered_after_restart(tls, endpoint, deadline, token)
            except ConnectionClosed:
                # ejabberd, now and then: its TLS layer takes the plaintext after the ClientHello,
                # completes the handshake, then fails on it and hangs up. Fed to TLS, not answered.
                return result(InjectionOutcome.TLS_FAILED, "the server hung up right after the TLS handshake")
            await tls.write(CLOSE)
            await tls.close()
            return result(InjectionOutcome.ANSWERED_IN_TLS if evidence else InjectionOutcome.IGNORED, evidence)
    except ProbeFailure as failure:
        return None, failure.error.model_copy(update={"phase": f"injection/{failure.error.phase}"})
    except Exception as exc:
        return None, classify(exc, "injection")
