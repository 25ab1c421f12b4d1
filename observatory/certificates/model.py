"""The judgments made of a certificate chain and of its DANE records, as the result document holds them.

``observatory.model`` imports ``CertificateAnalysis``, ``DaneResult`` and ``DaneStatus`` from here;
the rest are their parts. Every list keeps the order it was found in, so two analyses of the same
chain are equal.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from scanners.base import B64Bytes, FactModel

Model = FactModel  # judgments follow the same rules as facts: frozen, no unknown keys

# --- One certificate, parsed ---------------------------------------------------------------------


class PublicKeyInfo(Model):
    #: ``RSA``, ``EC``, ``Ed25519``, ``Ed448``, ``DSA`` or ``unknown``.
    type: str
    bits: int | None = None
    #: For EC keys: the curve, e.g. ``secp256r1``.
    curve: str | None = None


class OtherNameValue(Model):
    """An otherName SAN of a type we do not interpret: its OID and DER (hex, at most 256 bytes)."""

    oid: str
    value: str


class SubjectAltNames(Model):
    dns: list[str] = []
    #: SRV-ID (id-on-dnsSRV, RFC 4985), e.g. ``_xmpp-client.example.org``.
    srv: list[str] = []
    #: XmppAddr (id-on-xmppAddr, RFC 6120 §13.7.1.4), e.g. ``example.org``.
    xmpp_addr: list[str] = []
    uri: list[str] = []
    email: list[str] = []
    ip: list[str] = []
    directory: list[str] = []
    registered_id: list[str] = []
    other: list[OtherNameValue] = []
    #: Names present but not decodable (e.g. an SRV-ID that is not an IA5String), in words.
    problems: list[str] = []


class Sct(Model):
    """An embedded Signed Certificate Timestamp (RFC 6962)."""

    log_id: str
    timestamp: datetime


class CertificateSummary(Model):
    """One certificate as sent, parsed; ``index`` is its position in the chain (0 = the server's own)."""

    index: int
    subject: str
    issuer: str
    common_names: list[str] = []
    serial: str
    not_before: datetime
    not_after: datetime
    key: PublicKeyInfo
    #: e.g. ``sha256WithRSAEncryption``, ``ecdsa-with-SHA256``, or the dotted OID when unknown.
    signature_algorithm: str
    #: The hash of the signature (``sha256``, ``sha1``, ``md5`` …); none for Ed25519/Ed448.
    signature_hash: str | None = None
    sha256: str
    spki_sha256: str
    #: Subject equals issuer and the certificate's own key verifies its signature.
    self_signed: bool
    #: basicConstraints cA; none when the extension is absent.
    is_ca: bool | None = None
    #: None when the certificate has no subjectAltName extension at all.
    subject_alt_names: SubjectAltNames | None = None
    key_usage: list[str] = []
    extended_key_usage: list[str] = []
    ocsp_urls: list[str] = []
    ca_issuer_urls: list[str] = []
    crl_urls: list[str] = []
    #: The TLS Feature extension asks for status_request (OCSP must-staple, RFC 7633).
    must_staple: bool = False
    scts: list[Sct] = []
    #: Extensions that could not be parsed, in words.
    problems: list[str] = []


# --- Trust ---------------------------------------------------------------------------------------


class CertificateSource(StrEnum):
    #: The server sent it.
    SENT = "sent"
    #: Mozilla's root programme, as shipped by certifi.
    MOZILLA = "mozilla"
    #: The extra roots given with ``--ca-file``.
    EXTRA = "extra"


class PathCertificate(Model):
    """One link of the trust path, leaf first, anchor last."""

    subject: str
    sha256: str
    spki_sha256: str
    source: CertificateSource
    #: Position in the chain as sent, when the server sent this certificate.
    sent_index: int | None = None
    #: The DER of an anchor the server did not send, so DANE PKIX-TA can be re-judged from the document.
    der: B64Bytes | None = None


class TrustProblemCode(StrEnum):
    NO_CERTIFICATE = "no-certificate"
    UNPARSEABLE = "unparseable"
    SELF_SIGNED = "self-signed"
    #: An issuer was neither sent nor a trusted root.
    INCOMPLETE_CHAIN = "incomplete-chain"
    #: The chain ends at a root that is not trusted, or at a CA whose issuer is neither sent nor trusted.
    UNKNOWN_ROOT = "unknown-root"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    #: Signed with SHA-1 or MD5 (or another algorithm verifiers refuse).
    WEAK_SIGNATURE = "weak-signature"
    BAD_SIGNATURE = "bad-signature"
    #: An issuing key too small to be accepted (RSA under 2048 bits).
    WEAK_KEY = "weak-key"
    #: extendedKeyUsage without serverAuth.
    NOT_FOR_SERVER_AUTH = "not-for-server-auth"
    #: An issuing certificate that is not a CA (basicConstraints, keyUsage).
    NOT_A_CA = "not-a-ca"
    #: Anything else the path validator refused; the detail carries its message.
    POLICY = "policy"


class TrustProblem(Model):
    code: TrustProblemCode
    detail: str
    #: Subject of the certificate concerned, when one is.
    certificate: str | None = None
    sent_index: int | None = None


class ChainProblemCode(StrEnum):
    #: An intermediate the server should send is missing.
    INCOMPLETE = "incomplete"
    #: Sent but not part of the trust path (e.g. a cross-signed copy of a root).
    UNUSED = "unused"
    #: The certificates of the path were not sent in path order.
    OUT_OF_ORDER = "out-of-order"
    #: The trust anchor itself was sent (harmless, wasted bytes).
    ROOT_SENT = "root-sent"
    DUPLICATE = "duplicate"
    #: More certificates than the analysis reads; the rest were ignored.
    TOO_LONG = "too-long"
    UNPARSEABLE = "unparseable"


class ChainProblem(Model):
    code: ChainProblemCode
    detail: str
    sent_index: int | None = None


# --- Quality facts for the catalogue -------------------------------------------------------------


class QualityIssue(Model):
    detail: str
    certificate: str
    sent_index: int | None = None


class OcspStaple(Model):
    """The OCSP response the server stapled, read (its signature is not verified)."""

    #: ``successful``, ``malformed-request``, ``try-later`` …, or ``unparseable``.
    response_status: str
    #: ``good``, ``revoked`` or ``unknown``; none unless the response is successful.
    certificate_status: str | None = None
    #: The response is about the leaf (same serial number and issuer name hash).
    for_leaf: bool | None = None
    this_update: datetime | None = None
    next_update: datetime | None = None
    #: this_update ≤ the analysis time ≤ next_update.
    current: bool | None = None
    error: str | None = None


class CertificateQuality(Model):
    """Facts about the leaf and the path that the check catalogue turns into findings."""

    expired: bool
    not_yet_valid: bool
    #: Valid now but expires within ``EXPIRY_WARNING_DAYS`` of the analysis time.
    expires_soon: bool
    #: Whole days from the analysis time to notAfter (negative once expired).
    days_remaining: int
    self_signed_leaf: bool
    leaf_key: PublicKeyInfo
    #: RSA/DSA keys under 2048 bits and EC keys under 224 bits, anywhere in the path or chain.
    weak_keys: list[QualityIssue] = []
    #: MD5 or SHA-1 signatures on any certificate but a root.
    weak_signatures: list[QualityIssue] = []
    must_staple: bool = False
    #: Whether an OCSP response was stapled; none when stapling was not observed.
    staple_present: bool | None = None
    staple: OcspStaple | None = None


# --- The analysis of one endpoint's certificate --------------------------------------------------


class CertificateAnalysis(Model):
    #: A path from the leaf to a trusted root exists at the analysis time (names not considered).
    trusted: bool | None = None
    #: The certificate names the XMPP domain as RFC 6120 §13.7 and RFC 6125/9525 require.
    identity_matches: bool | None = None
    #: The identity that matched, e.g. ``SRV-ID:_xmpp-client.example.org``.
    matched_identity: str | None = None
    #: Every presented identity that matched, best first.
    matched_identities: list[str] = []
    #: The reference identity: the XMPP domain (A-labels), never the SRV target.
    reference_identity: str | None = None
    #: The match came only from the subject CN (no DNS-ID, SRV-ID, URI-ID or XmppAddr present).
    identity_via_cn: bool = False
    #: The SRV target the endpoint came from, and whether the certificate names it (a DNS-ID).
    #: Not an identity match: a derived name counts only under DNSSEC (RFC 7673).
    srv_target: str | None = None
    srv_target_matches: bool | None = None
    #: Why presented names did not count (wrong service, misplaced wildcard …), in words.
    identity_notes: list[str] = []
    #: Which root store the trust path ends in.
    anchor: CertificateSource | None = None
    path: list[PathCertificate] = []
    untrusted_reasons: list[TrustProblem] = []
    chain_problems: list[ChainProblem] = []
    #: Every certificate sent that could be parsed, in the order sent.
    certificates: list[CertificateSummary] = []
    quality: CertificateQuality | None = None
    #: The time validity was judged at (the scan's).
    analysed_at: datetime | None = None


# --- DANE ----------------------------------------------------------------------------------------


class DaneStatus(StrEnum):
    #: A usable TLSA record matches the chain.
    VALID = "valid"
    #: Secure, usable TLSA records exist and none matches, or the TLSA answer is bogus/failed:
    #: a DANE client refuses to connect.
    INVALID = "invalid"
    #: A secure (or insecure) proof that there are no TLSA records.
    ABSENT = "absent"
    #: DANE does not apply here; ``reason`` says why (insecure SRV, insecure TLSA, nothing usable …).
    NOT_APPLICABLE = "not-applicable"


class TlsaRecordResult(Model):
    """How one TLSA record of the endpoint's RRset fared against the chain."""

    #: Position of the record in the TLSA lookup's ``records``.
    index: int
    usage: int
    selector: int
    matching_type: int
    usable: bool
    matched: bool
    #: Position in the chain as sent of the certificate it matched (none for an anchor not sent).
    certificate: int | None = None
    reason: str


class DaneResult(Model):
    status: DaneStatus
    reason: str | None = None
    #: The TLSA owner name, ``_<port>._tcp.<target>``.
    tlsa_name: str | None = None
    records: list[TlsaRecordResult] = []
