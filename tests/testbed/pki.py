"""A throw-away PKI for the testbed: a root CA, an intermediate CA and one leaf per certificate flaw.

Everything is generated into the test run's scratch folder, so no key or certificate is ever
committed and nothing expires between runs. Leaves are built on first use and keys are cached for
the whole run, because RSA key generation dominates the cost (~65 ms per 2048-bit key).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from tests.testbed.layout import DOMAIN
from tests.testbed.process import run_tool

#: id-on-dnsSRV (RFC 4985): the SRV-ID otherName, an IA5String such as ``_xmpp-client.example.test``.
SRV_NAME_OID = ObjectIdentifier("1.3.6.1.5.5.7.8.7")
#: id-on-xmppAddr (RFC 6120 §13.7.1.4): the XmppAddr otherName, a UTF8String.
XMPP_ADDR_OID = ObjectIdentifier("1.3.6.1.5.5.7.8.5")
#: The domain the ``wrong-name`` leaf is issued for instead of the testbed's.
WRONG_DOMAIN = "other.test"

KeyKind = Literal["rsa2048", "rsa1024", "ec-p256"]
Names = Literal["full", "srvid-only", "wrong"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class _Spec:
    """How one leaf variant differs from ``good``; validity is in days relative to now."""

    key: KeyKind = "rsa2048"
    names: Names = "full"
    valid_from: int = -1
    valid_until: int = 365
    self_signed: bool = False
    sha1: bool = False
    send_intermediate: bool = True


VARIANTS: dict[str, _Spec] = {
    "good": _Spec(),
    "srvid-only": _Spec(names="srvid-only"),
    "expired": _Spec(valid_from=-400, valid_until=-30),
    "not-yet-valid": _Spec(valid_from=30, valid_until=400),
    "wrong-name": _Spec(names="wrong"),
    "self-signed": _Spec(self_signed=True),
    "rsa1024": _Spec(key="rsa1024"),
    "rsa2048": _Spec(key="rsa2048"),
    "ecdsa-p256": _Spec(key="ec-p256"),
    "sha1": _Spec(sha1=True),
    "missing-intermediate": _Spec(send_intermediate=False),
}


@dataclass(frozen=True)
class Leaf:
    """One server certificate and the files a server needs to present it."""

    name: str
    cert: x509.Certificate = field(repr=False)
    der: bytes = field(repr=False)
    cert_path: Path
    key_path: Path
    #: What a server should send: leaf + intermediate, or less for the chain-flaw variants.
    chain_path: Path
    spki_sha256: str
    sha256: str
    #: The certificates that really certify this leaf, nearest first (empty when self-signed),
    #: regardless of what ``chain_path`` sends.
    issuer_chain: tuple[x509.Certificate, ...] = field(repr=False)


@functools.cache
def _private_key(label: str, kind: KeyKind) -> PrivateKey:
    """One key per label and kind for the whole run; the label keeps variants' keys distinct."""
    del label  # only part of the cache key
    if kind == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=1024 if kind == "rsa1024" else 2048)


def _der_string(tag: int, text: str, encoding: str) -> bytes:
    """DER-encode a string with the given universal tag (otherName values must be full DER TLVs)."""
    body = text.encode(encoding)
    if len(body) < 0x80:
        length = bytes([len(body)])
    else:
        raw = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + body


def srv_id(service: str, domain: str) -> x509.OtherName:
    return x509.OtherName(SRV_NAME_OID, _der_string(0x16, f"_{service}.{domain}", "ascii"))


def xmpp_addr(domain: str) -> x509.OtherName:
    return x509.OtherName(XMPP_ADDR_OID, _der_string(0x0C, domain, "utf-8"))


def _subject_alt_names(names: Names, domain: str) -> x509.SubjectAlternativeName:
    target = WRONG_DOMAIN if names == "wrong" else domain
    identities: list[x509.GeneralName] = [
        srv_id("xmpp-client", target),
        srv_id("xmpp-server", target),
        xmpp_addr(target),
    ]
    if names != "srvid-only":
        identities[:0] = [x509.DNSName(target), x509.DNSName(f"xmpp.{target}")]
    return x509.SubjectAlternativeName(identities)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "xmpp-observatory testbed"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_pem(path: Path, *certs: x509.Certificate) -> Path:
    path.write_bytes(b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs))
    return path


def _write_key(path: Path, key: PrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)
    return path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _ca_cert(
    subject: str, key: PrivateKey, issuer: x509.Certificate | None, issuer_key: PrivateKey, path_length: int
) -> x509.Certificate:
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.subject if issuer else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=2))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    return builder.sign(issuer_key, hashes.SHA256())


class TestPKI:
    """Root CA → intermediate CA → leaves; see ``VARIANTS`` for the leaf names."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(
        self,
        directory: Path,
        domain: str,
        root: x509.Certificate,
        intermediate: x509.Certificate,
        intermediate_key: PrivateKey,
    ) -> None:
        self.directory = directory
        self.domain = domain
        self.root = root
        self.intermediate = intermediate
        self.root_path = _write_pem(directory / "root.pem", root)
        self.intermediate_path = _write_pem(directory / "intermediate.pem", intermediate)
        # On disk only because openssl signs the sha1 leaf; the root key never leaves memory.
        self.intermediate_key_path = _write_key(directory / "intermediate.key", intermediate_key)
        self._intermediate_key = intermediate_key
        self._leaves: dict[str, Leaf] = {}

    @classmethod
    def create(cls, directory: Path, domain: str = DOMAIN) -> TestPKI:
        directory.mkdir(parents=True, exist_ok=True)
        root_key = _private_key("root-ca", "rsa2048")
        intermediate_key = _private_key("intermediate-ca", "rsa2048")
        root = _ca_cert("Testbed Root CA", root_key, None, root_key, path_length=1)
        intermediate = _ca_cert("Testbed Intermediate CA", intermediate_key, root, root_key, path_length=0)
        return cls(directory, domain, root, intermediate, intermediate_key)

    def leaf(self, name: str) -> Leaf:
        """The named variant, built (and written under ``directory/name``) on first use."""
        if name not in VARIANTS:
            raise KeyError(f"unknown certificate variant {name!r}; known: {', '.join(VARIANTS)}")
        if name not in self._leaves:
            self._leaves[name] = self._build(name, VARIANTS[name])
        return self._leaves[name]

    def hosting_leaf(self, name: str, domains: Sequence[str]) -> Leaf:
        """A ``good`` leaf for a server hosting ``domains``: each one's DNS-IDs, SRV-IDs and XmppAddr.

        Every hosting leaf has the same key, so one TLSA record matches them all.
        """
        if name in VARIANTS:
            raise ValueError(f"{name!r} is a variant's name")
        if name not in self._leaves:
            self._leaves[name] = self._build(name, _Spec(), domains=tuple(domains), key_label="hosting")
        return self._leaves[name]

    def _build(self, name: str, spec: _Spec, domains: tuple[str, ...] = (), key_label: str | None = None) -> Leaf:
        folder = self.directory / name
        folder.mkdir(exist_ok=True)
        key = _private_key(key_label or name, spec.key)
        cert_path = folder / "cert.pem"
        if spec.sha1:
            cert = self._sign_sha1(folder, spec, key, cert_path)
        else:
            cert = self._sign(spec, key, domains=domains)
            _write_pem(cert_path, cert)
        issuers = () if spec.self_signed else (self.intermediate, self.root)
        served = (cert,) if spec.self_signed or not spec.send_intermediate else (cert, self.intermediate)
        der = cert.public_bytes(serialization.Encoding.DER)
        spki = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return Leaf(
            name=name,
            cert=cert,
            der=der,
            cert_path=cert_path,
            key_path=_write_key(folder / "key.pem", key),
            chain_path=_write_pem(folder / "chain.pem", *served),
            spki_sha256=hashlib.sha256(spki).hexdigest(),
            sha256=hashlib.sha256(der).hexdigest(),
            issuer_chain=issuers,
        )

    def _sign_sha1(self, folder: Path, spec: _Spec, key: PrivateKey, cert_path: Path) -> x509.Certificate:
        """cryptography refuses SHA-1 signatures, so the system openssl signs this one.

        openssl's "micro CA" mode only re-signs a self-signed input, so the draft is self-signed
        by the leaf's own key, without an authority key identifier, which openssl then adds.
        """
        draft = _write_pem(folder / "draft.pem", self._sign(spec, key, self_signed_draft=True))
        extfile = folder / "aki.cnf"
        extfile.write_text("authorityKeyIdentifier = keyid:always\n")
        run_tool(
            [
                *("openssl", "x509", "-in", str(draft), "-out", str(cert_path), "-preserve_dates", "-sha1"),
                *("-CA", str(self.intermediate_path), "-CAkey", str(self.intermediate_key_path)),
                *("-extfile", str(extfile)),
            ]
        )
        draft.unlink()
        extfile.unlink()
        return x509.load_pem_x509_certificate(cert_path.read_bytes())

    def _sign(
        self, spec: _Spec, key: PrivateKey, *, self_signed_draft: bool = False, domains: tuple[str, ...] = ()
    ) -> x509.Certificate:
        now = _now()
        subject = _name(WRONG_DOMAIN if spec.names == "wrong" else (domains or (self.domain,))[0])
        names = [name for domain in domains or (self.domain,) for name in _subject_alt_names(spec.names, domain)]
        self_signed = spec.self_signed or self_signed_draft
        issuer_key = key if self_signed else self._intermediate_key
        is_rsa = isinstance(key, rsa.RSAPrivateKey)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject if self_signed else self.intermediate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + dt.timedelta(days=spec.valid_from))
            .not_valid_after(now + dt.timedelta(days=spec.valid_until))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=is_rsa,  # RSA key exchange (TLS ≤ 1.2 weak suites) needs it
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        if not self_signed_draft:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
        return builder.sign(issuer_key, hashes.SHA256())
