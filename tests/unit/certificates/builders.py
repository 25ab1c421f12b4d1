"""Certificates built in-test: tiny CAs, leaves with any names, and the signatures cryptography refuses to make."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from tests.testbed.pki import srv_id, xmpp_addr

#: The analysis time of every unit test: fixed, so nothing depends on the clock.
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

__all__ = ["DAY", "NOW", "Issued", "der", "issue", "resign", "srv_id", "xmpp_addr"]


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: PrivateKey

    @property
    def der(self) -> bytes:
        return der(self.cert)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


@functools.cache
def key(label: str, kind: str = "ec") -> PrivateKey:
    """One key per label for the whole test run (RSA generation is slow)."""
    del label
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=int(kind.removeprefix("rsa")))


def name(common_name: str | None) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else [])


def issue(
    subject: str | None,
    issuer: Issued | None = None,
    *,
    key_label: str | None = None,
    key_kind: str = "ec",
    ca: bool = False,
    not_before: dt.datetime = NOW - 10 * DAY,
    not_after: dt.datetime = NOW + 80 * DAY,
    sans: Sequence[x509.GeneralName] | None = None,
    eku: Sequence[ObjectIdentifier] | None = (ExtendedKeyUsageOID.SERVER_AUTH,),
    extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
    issuer_name: str | None = None,
) -> Issued:
    """A certificate for ``subject`` signed by ``issuer`` (self-signed when None), SHA-256.

    ``key_label`` reuses a key (cross-signs and renewals share it); it defaults to the subject.
    """
    own = key(key_label or f"{subject}", key_kind)
    signer = issuer.key if issuer else own
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(name(issuer_name) if issuer_name else issuer.cert.subject if issuer else name(subject))
        .public_key(own.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(own.public_key()), critical=False)
        .add_extension(_key_usage(ca, isinstance(own, rsa.RSAPrivateKey)), critical=True)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
    if eku is not None and not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if sans is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return Issued(builder.sign(signer, hashes.SHA256()), own)


def _key_usage(ca: bool, is_rsa: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=is_rsa and not ca,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")
_LEGACY_RSA = {"sha1": bytes.fromhex("06092a864886f70d010105"), "md5": bytes.fromhex("06092a864886f70d010104")}


def resign(cert: x509.Certificate, signer: rsa.RSAPrivateKey, algorithm: str) -> x509.Certificate:
    """Re-sign an RSA/SHA-256 certificate with SHA-1 or MD5, which cryptography will not sign with.

    The algorithm OIDs have the same length, so swapping them and the signature keeps every DER length.
    """
    old_oid, new_oid = _SHA256_RSA, _LEGACY_RSA[algorithm]
    tbs = cert.tbs_certificate_bytes.replace(old_oid, new_oid)
    digest = hashes.SHA1() if algorithm == "sha1" else hashes.MD5()
    signature = signer.sign(tbs, padding.PKCS1v15(), digest)
    assert len(signature) == len(cert.signature)
    raw = der(cert).replace(cert.tbs_certificate_bytes, tbs).replace(old_oid, new_oid)
    raw = raw.replace(cert.signature, signature)
    return x509.load_der_x509_certificate(raw)


def xmpp_names(domain: str, *, dns: bool = True) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [srv_id("xmpp-client", domain), srv_id("xmpp-server", domain), xmpp_addr(domain)]
    return [x509.DNSName(domain), *names] if dns else names
