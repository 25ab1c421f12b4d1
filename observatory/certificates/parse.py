"""Parsing the certificates a server sent into summaries, bounded and without trusting anything in them.

A chain is capped at ``MAX_CHAIN`` certificates of at most ``MAX_CERTIFICATE_BYTES`` each; anything
``cryptography`` cannot read becomes a chain problem, never an exception. Parsing is cached per DER,
so a certificate served on many endpoints is read once.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import ObjectIdentifier

from observatory.certificates._der import IA5STRING, UTF8STRING, DerError, decode_string
from observatory.certificates.model import (
    CertificateSummary,
    ChainProblem,
    ChainProblemCode,
    OtherNameValue,
    PublicKeyInfo,
    Sct,
    SubjectAltNames,
)

#: id-on-dnsSRV (RFC 4985): SRV-ID, an IA5String such as ``_xmpp-client.example.org``.
SRV_NAME_OID = ObjectIdentifier("1.3.6.1.5.5.7.8.7")
#: id-on-xmppAddr (RFC 6120 §13.7.1.4): XmppAddr, a UTF8String JID.
XMPP_ADDR_OID = ObjectIdentifier("1.3.6.1.5.5.7.8.5")

#: Real chains have 2–4 certificates; a handful of cross-signs more is plausible, dozens is not.
MAX_CHAIN = 16
#: The largest real certificates (hundreds of SANs) stay well under this.
MAX_CERTIFICATE_BYTES = 64 * 1024
#: Per SAN type; more are counted but not listed.
MAX_NAMES = 500
_MAX_OTHER_VALUE_BYTES = 256
#: Signature hashes no verifier accepts any more.
WEAK_HASHES = frozenset({"md5", "sha1"})


@dataclass(frozen=True, eq=False)
class ParsedCertificate:
    """A sent certificate with what the analysis keeps reusing; ``summary.index`` is its position."""

    der: bytes
    cert: x509.Certificate
    spki: bytes
    summary: CertificateSummary

    @property
    def index(self) -> int:
        return self.summary.index

    @property
    def names(self) -> SubjectAltNames | None:
        return self.summary.subject_alt_names


def parse_chain(chain_der: list[bytes] | tuple[bytes, ...]) -> tuple[list[ParsedCertificate], list[ChainProblem]]:
    """Every readable certificate of the chain as sent, and what was wrong with the others."""
    parsed: list[ParsedCertificate] = []
    problems: list[ChainProblem] = []
    if len(chain_der) > MAX_CHAIN:
        problems.append(
            ChainProblem(
                code=ChainProblemCode.TOO_LONG,
                detail=f"{len(chain_der)} certificates sent; only the first {MAX_CHAIN} were analysed",
            )
        )
    seen: dict[bytes, int] = {}
    for index, der in enumerate(chain_der[:MAX_CHAIN]):
        if der in seen:
            problems.append(
                ChainProblem(
                    code=ChainProblemCode.DUPLICATE,
                    sent_index=index,
                    detail=f"certificate #{index} is the same as #{seen[der]}",
                )
            )
            continue
        seen[der] = index
        outcome = _parse_der(der)
        if isinstance(outcome, str):
            problems.append(ChainProblem(code=ChainProblemCode.UNPARSEABLE, sent_index=index, detail=outcome))
            continue
        parsed.append(
            ParsedCertificate(
                der=der,
                cert=outcome.cert,
                spki=outcome.spki,
                summary=outcome.summary.model_copy(update={"index": index}),
            )
        )
    return parsed, problems


def clear_cache() -> None:
    _parse_der.cache_clear()
    is_self_signed.cache_clear()


def spki_of(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@functools.lru_cache(maxsize=2048)
def is_self_signed(cert: x509.Certificate) -> bool:
    return cert.subject == cert.issuer and directly_issued_by(cert, cert)


def directly_issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """``issuer``'s name is ``cert``'s issuer and its key verifies ``cert``'s signature (nothing else)."""
    if cert.issuer != issuer.subject:
        return False
    try:
        key = issuer.public_key()
    except Exception:  # an unreadable key signs nothing
        return False
    return signed_by_key(cert, key)


def signed_by_key(cert: x509.Certificate, key: object) -> bool:
    """Whether ``key`` verifies ``cert``'s signature, whatever the hash.

    By hand rather than with ``verify_directly_issued_by``, which refuses SHA-1 and MD5: a chain
    signed with them must be explained as such, not as a missing issuer.
    """
    try:
        signature, tbs = cert.signature, cert.tbs_certificate_bytes
        parameters = cert.signature_algorithm_parameters
        algorithm = cert.signature_hash_algorithm
        if isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            # cryptography gives no parameters for md5WithRSAEncryption; PKCS#1 v1.5 is what it means.
            rsa_padding = parameters if isinstance(parameters, padding.PKCS1v15 | padding.PSS) else padding.PKCS1v15()
            key.verify(signature, tbs, rsa_padding, algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(parameters, ec.ECDSA):
            key.verify(signature, tbs, parameters)
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, tbs)
        elif isinstance(key, dsa.DSAPublicKey) and algorithm is not None:
            key.verify(signature, tbs, algorithm)
        else:
            return False
    except Exception:  # a bad signature, a key/algorithm mismatch, or an algorithm OpenSSL lacks
        return False
    return True


def key_info(cert: x509.Certificate) -> PublicKeyInfo:
    try:
        key = cert.public_key()
    except Exception:  # an unsupported or malformed key is a fact, not a failure
        return PublicKeyInfo(type="unknown")
    if isinstance(key, rsa.RSAPublicKey):
        return PublicKeyInfo(type="RSA", bits=key.key_size)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return PublicKeyInfo(type="EC", bits=key.key_size, curve=key.curve.name)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return PublicKeyInfo(type="Ed25519", bits=256)
    if isinstance(key, ed448.Ed448PublicKey):
        return PublicKeyInfo(type="Ed448", bits=456)
    if isinstance(key, dsa.DSAPublicKey):
        return PublicKeyInfo(type="DSA", bits=key.key_size)
    return PublicKeyInfo(type="unknown")


def oid_name(oid: ObjectIdentifier) -> str:
    name = getattr(oid, "_name", None)
    return name if isinstance(name, str) and name != "Unknown OID" else oid.dotted_string


@dataclass(frozen=True, eq=False)
class _Parsed:
    cert: x509.Certificate
    spki: bytes
    summary: CertificateSummary


@functools.lru_cache(maxsize=1024)
def _parse_der(der: bytes) -> _Parsed | str:
    if len(der) > MAX_CERTIFICATE_BYTES:
        return f"{len(der)} bytes, beyond the {MAX_CERTIFICATE_BYTES}-byte limit for one certificate"
    try:
        cert = x509.load_der_x509_certificate(der)
        spki = spki_of(cert)
        return _Parsed(cert=cert, spki=spki, summary=_summarise(cert, der, spki))
    except Exception as exc:  # the bytes are the server's: any failure is a fact about them
        return f"not a readable X.509 certificate: {exc}"


def _summarise(cert: x509.Certificate, der: bytes, spki: bytes) -> CertificateSummary:
    problems: list[str] = []
    try:
        extensions: x509.Extensions | None = cert.extensions
    except Exception as exc:  # duplicate or malformed extensions
        extensions, problems = None, [f"extensions unreadable: {exc}"]

    def extension(kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
        if extensions is None:
            return None
        try:
            return extensions.get_extension_for_class(kind).value
        except x509.ExtensionNotFound:
            return None

    basic = extension(x509.BasicConstraints)
    san = extension(x509.SubjectAlternativeName)
    eku = extension(x509.ExtendedKeyUsage)
    aia = extension(x509.AuthorityInformationAccess)
    crl = extension(x509.CRLDistributionPoints)
    features = extension(x509.TLSFeature)
    scts = extension(x509.PrecertificateSignedCertificateTimestamps)
    key_usage = extension(x509.KeyUsage)
    return CertificateSummary(
        index=0,
        subject=name_text(cert.subject),
        issuer=name_text(cert.issuer),
        common_names=_common_names(cert.subject),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key=key_info(cert),
        signature_algorithm=oid_name(cert.signature_algorithm_oid),
        signature_hash=signature_hash(cert),
        sha256=hashlib.sha256(der).hexdigest(),
        spki_sha256=hashlib.sha256(spki).hexdigest(),
        self_signed=is_self_signed(cert),
        is_ca=basic.ca if isinstance(basic, x509.BasicConstraints) else None,
        subject_alt_names=_alt_names(san) if isinstance(san, x509.SubjectAlternativeName) else None,
        key_usage=_key_usage(key_usage) if isinstance(key_usage, x509.KeyUsage) else [],
        extended_key_usage=[oid_name(oid) for oid in eku] if isinstance(eku, x509.ExtendedKeyUsage) else [],
        ocsp_urls=access_urls(aia, x509.AuthorityInformationAccessOID.OCSP),
        ca_issuer_urls=access_urls(aia, x509.AuthorityInformationAccessOID.CA_ISSUERS),
        crl_urls=_crl_urls(crl),
        must_staple=isinstance(features, x509.TLSFeature) and x509.TLSFeatureType.status_request in features,
        scts=_scts(scts),
        problems=problems,
    )


def extension_value(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    """The value of one extension, or None when it is absent or the extensions cannot be read."""
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except Exception:  # absent or unreadable: either way there is nothing to judge
        return None


def name_text(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except Exception:  # odd attribute values; the DER still identifies the name
        return f"<unprintable name {name.public_bytes().hex()[:64]}>"


def _common_names(name: x509.Name) -> list[str]:
    names = []
    for attribute in name.get_attributes_for_oid(x509.NameOID.COMMON_NAME):
        value = attribute.value
        names.append(value if isinstance(value, str) else value.decode("latin-1"))
    return names


def signature_hash(cert: x509.Certificate) -> str | None:
    try:
        algorithm = cert.signature_hash_algorithm
    except Exception:  # UnsupportedAlgorithm: an unknown hash is reported via the OID
        return None
    return algorithm.name if algorithm is not None else None


def _key_usage(usage: x509.KeyUsage) -> list[str]:
    names = [
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
    ]
    found = [name for name in names if getattr(usage, name)]
    if usage.key_agreement:  # the other two are only defined (and readable) with keyAgreement
        found += [name for name in ("encipher_only", "decipher_only") if getattr(usage, name)]
    return found


def access_urls(aia: x509.ExtensionType | None, method: ObjectIdentifier) -> list[str]:
    if not isinstance(aia, x509.AuthorityInformationAccess):
        return []
    return [
        d.access_location.value
        for d in aia
        if d.access_method == method and isinstance(d.access_location, x509.UniformResourceIdentifier)
    ][:MAX_NAMES]


def _crl_urls(crl: x509.ExtensionType | None) -> list[str]:
    if not isinstance(crl, x509.CRLDistributionPoints):
        return []
    urls = []
    for point in crl:
        for name in point.full_name or []:
            if isinstance(name, x509.UniformResourceIdentifier):
                urls.append(name.value)
    return urls[:MAX_NAMES]


def _scts(value: x509.ExtensionType | None) -> list[Sct]:
    if not isinstance(value, x509.PrecertificateSignedCertificateTimestamps):
        return []
    return [
        Sct(log_id=sct.log_id.hex(), timestamp=sct.timestamp.replace(tzinfo=dt.UTC)) for sct in list(value)[:MAX_NAMES]
    ]


def _alt_names(san: x509.SubjectAlternativeName) -> SubjectAltNames:
    found: dict[str, list[str]] = {
        key: [] for key in ("dns", "srv", "xmpp_addr", "uri", "email", "ip", "directory", "registered_id")
    }
    other: list[OtherNameValue] = []
    problems: list[str] = []
    for name in san:
        key, text = _general_name(name, other, problems)
        if key is not None and text is not None:
            found[key].append(text)
    for key, values in found.items():
        if len(values) > MAX_NAMES:
            problems.append(f"{len(values)} {key} names; only the first {MAX_NAMES} are listed and matched")
            found[key] = values[:MAX_NAMES]
    return SubjectAltNames(**found, other=other[:MAX_NAMES], problems=problems)


def _general_name(
    name: x509.GeneralName, other: list[OtherNameValue], problems: list[str]
) -> tuple[str | None, str | None]:
    if isinstance(name, x509.DNSName):
        return "dns", name.value
    if isinstance(name, x509.OtherName):
        if name.type_id == SRV_NAME_OID:
            return "srv", _decoded(name.value, IA5STRING, "SRV-ID", problems)
        if name.type_id == XMPP_ADDR_OID:
            return "xmpp_addr", _decoded(name.value, UTF8STRING, "XmppAddr", problems)
        other.append(OtherNameValue(oid=name.type_id.dotted_string, value=name.value[:_MAX_OTHER_VALUE_BYTES].hex()))
        return None, None
    if isinstance(name, x509.UniformResourceIdentifier):
        return "uri", name.value
    if isinstance(name, x509.RFC822Name):
        return "email", name.value
    if isinstance(name, x509.IPAddress):
        return "ip", str(name.value)
    if isinstance(name, x509.DirectoryName):
        return "directory", name_text(name.value)
    if isinstance(name, x509.RegisteredID):
        return "registered_id", name.value.dotted_string
    return None, None


def _decoded(value: bytes, tag: int, label: str, problems: list[str]) -> str | None:
    try:
        return decode_string(value, tag)
    except DerError as exc:
        problems.append(f"{label} not decodable ({exc}): {value[:64].hex()}")
        return None
