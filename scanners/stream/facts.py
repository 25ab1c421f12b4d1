"""What the stream prober observes on an endpoint."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from scanners.base import FactModel, ProbeError


class StarttlsPolicy(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    ABSENT = "absent"
    #: Direct TLS endpoints: TLS starts before the stream, STARTTLS has no meaning.
    NOT_APPLICABLE = "not-applicable"


class StreamHeader(FactModel):
    """The attributes of the server's ``<stream:stream>`` opening tag."""

    id: str | None = None
    from_: str | None = Field(default=None, alias="from")
    version: str | None = None
    lang: str | None = None
    to: str | None = None
    #: The default (content) namespace the server declared: ``jabber:client`` or ``jabber:server``.
    namespace: str | None = None
    #: The server declared ``xmlns:db='jabber:server:dialback'`` (traditional dialback support).
    dialback: bool = False
    #: The server sent an ``<?xml …?>`` declaration before the header.
    xml_declaration: bool = False


class FastFeature(FactModel):
    """XEP-0484 FAST, offered inline in SASL2."""

    mechanisms: list[str] = []
    #: The ``tls-0rtt`` attribute: the server accepts FAST tokens in TLS 0-RTT data.
    tls_0rtt: bool = False


class Sasl2Feature(FactModel):
    """XEP-0388 ``<authentication xmlns='urn:xmpp:sasl:2'>``."""

    mechanisms: list[str] = []
    #: Every child of ``<inline>``, as ``{namespace}element`` (bind2, sm, fast, …).
    inline: list[str] = []
    fast: FastFeature | None = None


class Caps(FactModel):
    """XEP-0115 entity capabilities advertised in the features."""

    node: str | None = None
    ver: str | None = None
    hash: str | None = None


class StreamFeatures(FactModel):
    """One ``<stream:features>`` element, interpreted where we know the feature and kept raw otherwise."""

    starttls: bool = False
    starttls_required: bool = False
    sasl_mechanisms: list[str] = []
    #: XEP-0440 channel-binding types (``tls-server-end-point``, ``tls-exporter``, …).
    channel_bindings: list[str] = []
    sasl2: Sasl2Feature | None = None
    compression_methods: list[str] = []
    registration: bool = False
    #: XEP-0220 ``<dialback xmlns='urn:xmpp:features:dialback'>``.
    dialback: bool = False
    #: … with ``<errors/>``: the server understands dialback errors.
    dialback_errors: bool = False
    #: XEP-0288 bidirectional s2s.
    bidi: bool = False
    #: XEP-0198 stream management namespaces offered (``urn:xmpp:sm:3``).
    stream_management: list[str] = []
    #: XEP-0352 client state indication.
    csi: bool = False
    caps: Caps | None = None
    #: Features we do not interpret, as ``{namespace}element``.
    other: list[str] = []
    #: The element as received (bounded in size by the parser).
    raw: str | None = None


class StreamError(FactModel):
    """A ``<stream:error>`` the server sent; the stream ends with it."""

    #: The defined condition (``host-unknown``, ``policy-violation``, …) or the element name sent.
    condition: str
    text: str | None = None
    #: ``see-other-host``: where the server redirects. Recorded, never followed.
    redirect: str | None = None
    #: The probe phase in which it arrived.
    phase: str
    raw: str | None = None


class StarttlsEnforcement(FactModel):
    """Whether a server that does not mark STARTTLS ``<required/>`` lets a peer go on without TLS.

    Asked harmlessly on a separate cleartext stream: c2s starts SASL for a random account that does
    not exist; s2s asks for a dialback key verification (which never makes the server connect out).
    """

    #: What was sent, e.g. ``sasl:SCRAM-SHA-1`` or ``dialback:verify``.
    request: str
    #: What came back, e.g. ``challenge``, ``failure:encryption-required``, ``stream-error:policy-violation``,
    #: ``db:verify:invalid``, ``closed``.
    answer: str
    #: True: the server went on without TLS; False: it refused; None: the answer does not tell.
    accepted: bool | None = None


class InjectionOutcome(StrEnum):
    #: The injected plaintext was discarded: TLS and the restarted stream carried no answer to it.
    IGNORED = "ignored"
    #: The server answered the injected plaintext inside TLS (STARTTLS command injection).
    ANSWERED_IN_TLS = "answered-in-tls"
    #: The server answered the injected plaintext in cleartext after ``<proceed/>``, so TLS never started.
    ANSWERED_IN_CLEARTEXT = "answered-in-cleartext"
    #: The server refused the pipelined data (stream error or closed instead of ``<proceed/>``).
    REFUSED = "refused"
    #: The TLS handshake failed after ``<proceed/>`` (or the server hung up right after it) with no
    #: answer: the server fed the plaintext to TLS.
    TLS_FAILED = "tls-failed"


class StarttlsInjection(FactModel):
    """STARTTLS command injection: plaintext sent in the same packet as ``<starttls/>``."""

    injected: str
    outcome: InjectionOutcome
    #: What showed the outcome (the server's bytes or the error), bounded.
    evidence: str | None = None


class ScramFirstMessage(FactModel):
    """The first round of SCRAM for a random, non-existent account, then ``<abort/>``.

    Shows XEP-0474 downgrade protection (attribute ``h``) and XEP-0515 (attribute ``t``) without
    knowing a password.
    """

    mechanism: str
    #: ``sasl`` (RFC 6120) or ``sasl2`` (XEP-0388).
    profile: str = "sasl"
    #: The decoded server-first-message, when the server answered with a challenge.
    server_first: str | None = None
    #: The SASL failure condition, when it refused at once.
    failure: str | None = None
    #: XEP-0474: the base64 hash of the advertised mechanisms and channel-binding types.
    downgrade_hash: str | None = None
    #: XEP-0515: the TLS version the server saw, as four hex digits.
    tls_version: str | None = None


class StreamTimings(FactModel):
    """Seconds spent in each phase of the main connection."""

    queued: float | None = None
    connect: float | None = None
    header: float | None = None
    features: float | None = None
    starttls: float | None = None
    tls_handshake: float | None = None
    #: New header and features over TLS (the restart after STARTTLS, the first stream on Direct TLS).
    restart: float | None = None
    total: float | None = None


class StreamFacts(FactModel):
    #: The server's first stream header (on Direct TLS, the one over TLS).
    header: StreamHeader | None = None
    #: The header of the stream restarted after STARTTLS.
    header_after_tls: StreamHeader | None = None
    starttls: StarttlsPolicy | None = None
    features_before_tls: StreamFeatures | None = None
    features_after_tls: StreamFeatures | None = None
    #: ALPN protocol the server chose on Direct TLS, if any.
    alpn: str | None = None
    #: TLS version of the prober's own handshake (an ordinary modern client's).
    tls_version: str | None = None
    #: A stream error the server sent (e.g. ``host-unknown``), with its text.
    stream_error: StreamError | None = None
    enforcement: StarttlsEnforcement | None = None
    injection: StarttlsInjection | None = None
    scram: ScramFirstMessage | None = None
    timings: StreamTimings = StreamTimings()
    #: Why some part of the probe did not complete; everything observed before that is kept above.
    errors: list[ProbeError] = []
