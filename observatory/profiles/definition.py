"""What a profile file holds: the document it encodes and its rules, validated on load.

Each rule has a ``kind`` (what the evaluator checks) and its parameters; one rule is one item of the
profile's result. The kinds are few and general so that a new profile is a new data file, not code.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from observatory.model import ComplianceItem, ComplianceLevel
from scanners.tls.facts import TlsVersion
from scanners.tls.registry import by_name

#: Suite classes a ``suites-forbidden`` rule may name; the evaluator defines each one.
SuiteClass = Literal[
    "null",
    "anonymous",
    "export",
    "below-112-bits",
    "below-128-bits",
    "rc4",
    "3des",
    "static-rsa",
    "static-dh",
    "dhe",
    "cbc",
    "no-forward-secrecy",
]
#: ``PublicKeyInfo.type`` values a certificate rule may allow.
KeyType = Literal["RSA", "EC", "DSA", "Ed25519", "Ed448"]
SignatureHash = Literal["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Unique within the profile; also the item id in results (``versions``, ``suites.tls12`` …).
    id: str
    title: str
    level: ComplianceLevel = ComplianceLevel.MUST
    reference: str | None = None

    def item(self) -> ComplianceItem:
        return ComplianceItem(id=self.id, title=self.title, level=self.level, reference=self.reference)


class VersionsAllowed(_Rule):
    """Every accepted protocol version is one of ``versions``."""

    kind: Literal["versions-allowed"]
    versions: list[TlsVersion]


class VersionsRequired(_Rule):
    """Every one of ``versions`` is accepted."""

    kind: Literal["versions-required"]
    versions: list[TlsVersion]


class SuitesAllowed(_Rule):
    """Every suite accepted with one of ``versions`` is one of ``suites`` (IANA names)."""

    kind: Literal["suites-allowed"]
    versions: list[TlsVersion]
    suites: list[str]

    @field_validator("suites")
    @classmethod
    def _known_suites(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if by_name(name) is None]
        if unknown:
            raise ValueError(f"suites the registry does not know: {unknown}")
        return value


class SuitesForbidden(_Rule):
    """No accepted suite (any version) belongs to one of ``classes``."""

    kind: Literal["suites-forbidden"]
    classes: list[SuiteClass]


class ForwardSecrecy(_Rule):
    """At least one accepted suite has forward secrecy (ephemeral key exchange; every TLS 1.3 suite)."""

    kind: Literal["forward-secrecy"]


class ServerOrder(_Rule):
    """The server enforces its own suite order wherever it had a choice."""

    kind: Literal["server-order"]


class KeyExchangeGroups(_Rule):
    """Only ``groups`` are used for (EC)DHE and TLS 1.3 key exchange, none smaller than ``min_ecdh_bits``.

    The allow-list is what is judged (every list holds only groups of at least ``min_ecdh_bits``).
    FFDHE groups count only when the list names one: otherwise the profile leaves finite-field DH to
    its DH size rule (Mozilla's curve list says nothing of ffdhe2048, which it recommends for DHE).
    """

    kind: Literal["key-exchange-groups"]
    groups: list[str]
    min_ecdh_bits: int | None = None


class DhMinBits(_Rule):
    """Finite-field DHE groups have at least ``bits`` bits."""

    kind: Literal["dh-min-bits"]
    bits: int


class CbcEncryptThenMac(_Rule):
    """CBC suites are only used with the encrypt_then_mac extension (RFC 7366)."""

    kind: Literal["cbc-encrypt-then-mac"]


class CertificateKey(_Rule):
    """The server's key is of an allowed type and size (EC: curve and size)."""

    kind: Literal["certificate-key"]
    types: list[KeyType]
    rsa_min_bits: int | None = None
    #: Allowed curves (``secp256r1`` …); none: any curve of at least ``ec_min_bits``.
    ec_curves: list[str] | None = None
    ec_min_bits: int | None = None


class CertificateSignature(_Rule):
    """Signatures use an allowed algorithm (leaf only) or hash (leaf, or every sent certificate but a root)."""

    kind: Literal["certificate-signature"]
    scope: Literal["leaf", "chain"] = "leaf"
    #: Signature algorithm names as ``CertificateSummary.signature_algorithm`` gives them.
    algorithms: list[str] | None = None
    hashes: list[SignatureHash] | None = None

    @model_validator(mode="after")
    def _one_criterion(self) -> CertificateSignature:
        if (self.algorithms is None) == (self.hashes is None):
            raise ValueError("a certificate-signature rule names either algorithms or hashes")
        return self


class CertificateLifespan(_Rule):
    """notAfter − notBefore of the leaf is at most ``max_days``."""

    kind: Literal["certificate-lifespan"]
    max_days: int


class CertificateTrusted(_Rule):
    """The chain leads to a trusted root, the leaf is in its validity period and names the XMPP domain."""

    kind: Literal["certificate-trusted"]


class EncryptionRequired(_Rule):
    """The endpoint never lets a stream go on without TLS: STARTTLS ``<required/>``, or Direct TLS."""

    kind: Literal["encryption-required"]


class OcspStapling(_Rule):
    """The server staples an OCSP response."""

    kind: Literal["ocsp-stapling"]


class LegacyExtensions(_Rule):
    """TLS ≤ 1.2 handshakes answer every ``required`` extension and none of ``forbidden`` (TLS
    compression counts as one)."""

    kind: Literal["legacy-extensions"]
    required: list[Literal["renegotiation_info", "extended_master_secret"]] = []
    forbidden: list[Literal["heartbeat", "compression", "truncated_hmac"]] = []


class Unobserved(_Rule):
    """A requirement on something the scanner does not observe yet; always reported as not evaluated."""

    kind: Literal["unobserved"]
    #: What would have to be observed, in words (``the extended_master_secret extension``).
    needs: str


Rule = Annotated[
    VersionsAllowed
    | VersionsRequired
    | SuitesAllowed
    | SuitesForbidden
    | ForwardSecrecy
    | ServerOrder
    | KeyExchangeGroups
    | DhMinBits
    | CbcEncryptThenMac
    | CertificateKey
    | CertificateSignature
    | CertificateLifespan
    | CertificateTrusted
    | EncryptionRequired
    | OcspStapling
    | LegacyExtensions
    | Unobserved,
    Field(discriminator="kind"),
]


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: What ``--profile`` takes, e.g. ``mozilla-intermediate``.
    id: str
    name: str
    #: The version or edition of the source document encoded here.
    edition: str
    #: The source document, e.g. ``Mozilla Server Side TLS guidelines (ssl-config.mozilla.org)``.
    source: str
    #: What the profile is for and what it leaves out, in a sentence or two.
    summary: str
    #: How sure the values are (e.g. taken from the published JSON, or from secondary sources).
    provenance: str
    rules: list[Rule]

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> Profile:
        ids = [rule.id for rule in self.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"profile {self.id}: rule ids used twice: {duplicates}")
        return self

    def items(self) -> list[ComplianceItem]:
        return [rule.item() for rule in self.rules]
