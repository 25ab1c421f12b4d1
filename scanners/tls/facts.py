"""What the TLS engine observes on an endpoint."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from scanners.base import B64Bytes, FactModel, ProbeError


class TlsVersion(StrEnum):
    SSL2 = "SSLv2"
    SSL3 = "SSLv3"
    TLS10 = "TLSv1.0"
    TLS11 = "TLSv1.1"
    TLS12 = "TLSv1.2"
    TLS13 = "TLSv1.3"


# --- Part 2: key exchange, extension behaviour, several certificates ----------------------------
# (TlsFacts below gains these as fields; every one is optional, so older documents still load.)


class DhParameters(FactModel):
    """The finite-field Diffie-Hellman group a server uses with one family of DHE suites."""

    #: ``DHE_RSA``, ``DHE_DSS``, ``DH_anon`` or ``DHE_PSK``: the suites that share a certificate type.
    family: str
    version: TlsVersion
    #: The suite the server chose when offered the family's accepted suites.
    cipher_suite: str
    prime_bits: int
    #: The generator, when it fits in 64 bits (2, 5 …); RFC 5114's generators are as large as the prime.
    generator: int | None = None
    generator_bits: int
    public_key_bits: int
    prime: B64Bytes
    #: The named group this prime belongs to (``ffdhe2048``, ``modp_2048`` …) when it is one of the
    #: RFC 2409, 3526, 5114 or 7919 groups of ``data/dh_primes.json``.
    well_known: str | None = None
    #: What deployed this prime by default (``nginx/1024-bit MODP group …``), when it is in the
    #: table's list of common primes (shared primes are targets for precomputation, Logjam).
    common: str | None = None
    #: Whether (p-1)/2 is prime too, as recorded in the table; None for primes not in it.
    safe_prime: bool | None = None
    #: The table knows this "prime" is no prime at all (socat's, CVE-2016-2217); None: not in it.
    composite: bool | None = None


class TlsExtensionFacts(FactModel):
    """What the server answered to a TLS ≤ 1.2 ClientHello that asked for every legacy extension."""

    #: The version that hello negotiated (the highest the server speaks up to TLS 1.2).
    version: TlsVersion
    cipher_suite: str
    #: The compression method chosen when DEFLATE and LZS were offered before null (``DEFLATE``,
    #: ``LZS``, ``UNKNOWN_…``); None when the server chose no compression.
    compression: str | None = None
    #: RFC 5746: the server answered renegotiation_info.
    secure_renegotiation: bool
    #: RFC 7627: the server answered extended_master_secret.
    extended_master_secret: bool
    #: RFC 7366: the server answered encrypt_then_mac. None when no CBC suite could be negotiated,
    #: as servers only answer it for block ciphers.
    encrypt_then_mac: bool | None = None
    #: RFC 5077: the server answered session_ticket (it will issue a ticket).
    session_ticket: bool
    #: RFC 6066: the server answered status_request (it staples OCSP in this handshake).
    status_request: bool
    #: RFC 6520: the server answered the heartbeat extension.
    heartbeat: bool
    #: RFC 6066 §7: the server answered truncated_hmac (80-bit MACs; forbidden by RFC 9325 and SP
    #: 800-52r2). None in documents from before it was asked.
    truncated_hmac: bool | None = None
    #: CVE-2014-0160: a heartbeat request whose payload_length exceeded its payload by 3 bytes was
    #: answered (a patched server discards it silently). None when heartbeat was not negotiated.
    heartbleed: bool | None = None
    #: Bytes the server echoed beyond the payload we sent (evidence; at most a few).
    heartbleed_overread: int | None = None
    #: CVE-2014-0224: a ChangeCipherSpec sent before the key exchange was taken (a second one then
    #: failed its MAC: bad_record_mac). None when the answer said neither (silence).
    ccs_injection: bool | None = None


class RobotFacts(FactModel):
    """How the server answered RSA key exchanges whose premaster secret was padded five ways (ROBOT)."""

    #: The version the key exchanges were made with (the highest with an accepted RSA key exchange suite).
    version: TlsVersion
    #: True: the answers differed, the same way when asked again (a Bleichenbacher oracle); False:
    #: all five alike; None: they changed when asked again, so nothing can be said.
    vulnerable: bool | None = None
    #: ``strong``, or ``weak`` when only a valid block and one with the wrong version are told
    #: apart (far more queries needed); None unless vulnerable.
    oracle: str | None = None
    #: Padding variant (``valid``, ``wrong-first-bytes``, ``zero-in-wrong-place``,
    #: ``no-zero-separator``, ``wrong-version``) → the answer: ``alert 20``, ``closed``, ``reset``, ``silent``.
    answers: dict[str, str] = {}


class SessionTicketFacts(FactModel):
    """A complete handshake's session ticket (RFC 5077), as a client that wants one sees it."""

    version: TlsVersion
    #: A NewSessionTicket arrived in the handshake (TLS ≤ 1.2). None under TLS 1.3, where tickets
    #: come encrypted after the handshake and cannot be seen from here.
    issued: bool | None = None
    #: Its ticket_lifetime_hint in seconds (0: unspecified). TLS 1.2 only: TLS 1.3 tickets are
    #: encrypted, and RFC 8446 caps them at 7 days anyway.
    lifetime_hint_seconds: int | None = None


class CertificateDeployment(FactModel):
    """One certificate chain the server holds, and how it was made to send it."""

    chain: list[B64Bytes]
    version: TlsVersion
    #: The authentication offered to get it: ``RSA``, ``ECDSA``, ``DSS`` (suites, TLS ≤ 1.2), or
    #: the signature-algorithm family (``RSA``, ``ECDSA``, ``EdDSA``) of a TLS 1.3 handshake.
    authentication: str
    cipher_suite: str | None = None


class SharedEnumeration(FactModel):
    """Where this endpoint's lists came from when they were not enumerated for this domain.

    Many domains are hosted on one server (one address and port, a certificate per name). A batch
    enumerates such an endpoint once, then for each further domain sends one ClientHello per
    version with that domain's name and takes the shared lists only when every answer is the one
    the lists predict; the chain, staple, ticket, extension answers and fallback behaviour are
    always this domain's own.
    """

    #: When the endpoint was enumerated (for another domain hosted there; which one is not said, as
    #: that scan may be unlisted).
    enumerated_at: datetime
    #: The facts taken from that enumeration (field names of this model).
    fields: list[str]
    #: The hellos sent with this domain's name to confirm them, one per version (but versions a newer
    #: one's refusal ruled out); every answer was the one the lists predict.
    confirmations: int


class TlsFacts(FactModel):
    #: Accepted protocol versions, oldest first.
    versions: list[TlsVersion] = []
    #: Version → accepted suites (IANA names; ``SSL_CK_…`` for SSLv2; ``UNKNOWN_0x…`` for codes no
    #: registry lists), in the server's order where it enforces one, else in the order offered.
    cipher_suites: dict[TlsVersion, list[str]] = {}
    #: Version → whether the server enforces its own suite order (absent when fewer than two
    #: suites were accepted, and for SSLv2, where the client chooses).
    server_order: dict[TlsVersion, bool] = {}
    #: The certificate chain as sent, DER, in the order the server sent it.
    certificate_chain: list[B64Bytes] = []
    #: The version of the handshake the chain was taken from: the clear Certificate message of the
    #: highest version up to TLS 1.2, or a complete TLS 1.3 handshake when only TLS 1.3 is offered.
    certificate_chain_version: TlsVersion | None = None
    #: TCP connections opened (each one a full XMPP stream negotiation on STARTTLS endpoints).
    connections: int = 0
    #: ``connections`` by probe family (``versions``, ``suites TLSv1.2``, ``groups TLSv1.3``, ``curves``,
    #: ``chain``, ``extensions``, ``fallback``, ``session``, ``certificates`` …): what the scan cost.
    connections_by_probe: dict[str, int] = {}
    duration_seconds: float | None = None
    #: Probes that failed or met malformed replies; results above may then be incomplete.
    errors: list[ProbeError] = []
    #: Version → named groups the server accepts (IANA names), in its order of preference where it
    #: imposes one. TLS 1.3: found by HelloRetryRequests (FFDHE and hybrid post-quantum groups
    #: included); TLS ≤ 1.2 (keyed by the highest such version): the curves of ECDHE suites, and
    #: the FFDHE groups of DHE suites when the server follows RFC 7919.
    groups: dict[TlsVersion, list[str]] = {}
    #: Version → whether the server imposes its own group order (absent with fewer than two groups).
    groups_server_order: dict[TlsVersion, bool] = {}
    #: The curve of ECDHE suites (TLS ≤ 1.2) when a client offers every group we know.
    ecdhe_curve: str | None = None
    #: The server's own DH parameters, one entry per DHE suite family it accepts.
    dh_parameters: list[DhParameters] = []
    #: Legacy extension behaviour (None: no TLS ≤ 1.2, or the probe was not run).
    extensions: TlsExtensionFacts | None = None
    #: RFC 7507: a hello one version below the highest, with TLS_FALLBACK_SCSV, was refused with
    #: inappropriate_fallback. None when the server speaks a single version or it was not probed.
    fallback_scsv: bool | None = None
    #: None when no complete handshake succeeded (SSL 3.0 only, or nothing a modern OpenSSL completes).
    session_ticket: SessionTicketFacts | None = None
    #: Whether a complete handshake asked for an OCSP staple (status_request); ``ocsp_staple`` is
    #: the DER OCSPResponse it got, None when none was stapled.
    ocsp_staple_requested: bool = False
    ocsp_staple: B64Bytes | None = None
    #: Every distinct chain found by varying suites (TLS ≤ 1.2) or signature algorithms (TLS 1.3);
    #: ``certificate_chain`` is the one a modern client gets.
    certificates: list[CertificateDeployment] = []
    #: RFC 8446 §4.1.3: this server speaks TLS 1.3, and every hello capped at an older version got a
    #: ServerHello.random ending in the downgrade sentinel (``DOWNGRD`` + 1 for TLS 1.2, + 0 below).
    #: None when TLS 1.3 or every older version is not spoken.
    downgrade_sentinel: bool | None = None
    #: A renegotiation started by the client on a complete TLS ≤ 1.2 handshake was carried out (a
    #: denial-of-service lever; RFC 9325 §3.5). None when not tried (no TLS ≤ 1.2 handshake).
    client_renegotiation: bool | None = None
    #: ROBOT, when an RSA key exchange suite is accepted; None otherwise (or not probed).
    robot: RobotFacts | None = None
    #: Set when versions, suites, order, groups and DH parameters were shared from an enumeration of
    #: the same endpoint for another hosted domain (confirmed by this domain's own hellos).
    shared_from: SharedEnumeration | None = None
