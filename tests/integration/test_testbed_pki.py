"""The test PKI's leaves have exactly the flaw their name promises, and nothing else."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.testbed.layout import DOMAIN
from tests.testbed.pki import SRV_NAME_OID, VARIANTS, XMPP_ADDR_OID, TestPKI

pytestmark = pytest.mark.integration

GOOD_NAMES = {
    "dns": {DOMAIN, f"xmpp.{DOMAIN}"},
    "srv": {f"_xmpp-client.{DOMAIN}", f"_xmpp-server.{DOMAIN}"},
    "xmpp": {DOMAIN},
}
IA5STRING, UTF8STRING = 0x16, 0x0C


def decode_der_string(value: bytes, tag: int) -> str:
    """The text of a short DER string TLV, checking that it has the expected universal tag."""
    assert value[0] == tag, f"tag {value[0]:#x}, expected {tag:#x}"
    assert value[1] < 0x80, "testbed names fit a short-form length"
    assert len(value) == 2 + value[1]
    return value[2:].decode("utf-8")


def names_of(cert: x509.Certificate) -> dict[str, set[str]]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    other = san.get_values_for_type(x509.OtherName)
    return {
        "dns": set(san.get_values_for_type(x509.DNSName)),
        "srv": {decode_der_string(o.value, IA5STRING) for o in other if o.type_id == SRV_NAME_OID},
        "xmpp": {decode_der_string(o.value, UTF8STRING) for o in other if o.type_id == XMPP_ADDR_OID},
    }


def openssl_verify(pki: TestPKI, cert: Path, *, untrusted: Path | None) -> subprocess.CompletedProcess[str]:
    argv = ["openssl", "verify", "-CAfile", str(pki.root_path)]
    if untrusted is not None:
        argv += ["-untrusted", str(untrusted)]
    return subprocess.run(
        [*argv, str(cert)], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, check=False
    )


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_is_internally_consistent(pki: TestPKI, name: str) -> None:
    leaf = pki.leaf(name)
    assert leaf.name == name
    assert leaf.der == leaf.cert.public_bytes(serialization.Encoding.DER)
    assert leaf.sha256 == hashlib.sha256(leaf.der).hexdigest()
    spki = leaf.cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert leaf.spki_sha256 == hashlib.sha256(spki).hexdigest()
    assert x509.load_pem_x509_certificate(leaf.cert_path.read_bytes()) == leaf.cert
    key = serialization.load_pem_private_key(leaf.key_path.read_bytes(), password=None)
    assert key.public_key() == leaf.cert.public_key()
    eku = leaf.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert pki.leaf(name) is leaf, "variants are built once per PKI"


def test_variants_have_distinct_keys(pki: TestPKI) -> None:
    spkis = [pki.leaf(name).spki_sha256 for name in VARIANTS]
    assert len(set(spkis)) == len(spkis)


def test_good_has_every_xmpp_identity_and_a_full_chain(pki: TestPKI) -> None:
    leaf = pki.leaf("good")
    assert names_of(leaf.cert) == GOOD_NAMES
    assert leaf.cert.not_valid_before_utc < now() < leaf.cert.not_valid_after_utc
    key = leaf.cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == 2048
    assert isinstance(leaf.cert.signature_hash_algorithm, hashes.SHA256)
    assert leaf.cert.issuer == pki.intermediate.subject
    assert leaf.issuer_chain == (pki.intermediate, pki.root)
    assert x509.load_pem_x509_certificates(leaf.chain_path.read_bytes()) == [leaf.cert, pki.intermediate]


def test_srvid_only_has_no_dns_names(pki: TestPKI) -> None:
    assert names_of(pki.leaf("srvid-only").cert) == {**GOOD_NAMES, "dns": set()}


def test_wrong_name_names_only_another_domain(pki: TestPKI) -> None:
    names = names_of(pki.leaf("wrong-name").cert)
    assert names == {
        "dns": {"other.test", "xmpp.other.test"},
        "srv": {"_xmpp-client.other.test", "_xmpp-server.other.test"},
        "xmpp": {"other.test"},
    }


def test_expired_and_not_yet_valid(pki: TestPKI) -> None:
    assert pki.leaf("expired").cert.not_valid_after_utc < now()
    assert pki.leaf("not-yet-valid").cert.not_valid_before_utc > now()


@pytest.mark.parametrize(("name", "bits"), [("rsa1024", 1024), ("rsa2048", 2048)])
def test_rsa_key_sizes(pki: TestPKI, name: str, bits: int) -> None:
    key = pki.leaf(name).cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == bits


def test_ecdsa_p256(pki: TestPKI) -> None:
    key = pki.leaf("ecdsa-p256").cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert isinstance(key.curve, ec.SECP256R1)


def test_sha1_is_signed_with_sha1_by_the_intermediate(pki: TestPKI) -> None:
    leaf = pki.leaf("sha1")
    assert isinstance(leaf.cert.signature_hash_algorithm, hashes.SHA1)
    assert names_of(leaf.cert) == GOOD_NAMES
    aki = leaf.cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = pki.intermediate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert openssl_verify(pki, leaf.cert_path, untrusted=pki.intermediate_path).returncode == 0


@pytest.mark.parametrize("name", sorted(set(VARIANTS) - {"sha1"}))
def test_everything_else_is_signed_with_sha256(pki: TestPKI, name: str) -> None:
    assert isinstance(pki.leaf(name).cert.signature_hash_algorithm, hashes.SHA256)


def test_self_signed_sends_only_itself(pki: TestPKI) -> None:
    leaf = pki.leaf("self-signed")
    assert leaf.cert.issuer == leaf.cert.subject
    assert leaf.issuer_chain == ()
    assert x509.load_pem_x509_certificates(leaf.chain_path.read_bytes()) == [leaf.cert]
    assert names_of(leaf.cert) == GOOD_NAMES


def test_missing_intermediate_sends_only_the_leaf(pki: TestPKI) -> None:
    leaf = pki.leaf("missing-intermediate")
    assert leaf.issuer_chain == (pki.intermediate, pki.root)
    assert x509.load_pem_x509_certificates(leaf.chain_path.read_bytes()) == [leaf.cert]


def test_openssl_accepts_good(pki: TestPKI) -> None:
    result = openssl_verify(pki, pki.leaf("good").cert_path, untrusted=pki.intermediate_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "error"),
    [("expired", "certificate has expired"), ("self-signed", "self-signed certificate")],
)
def test_openssl_rejects(pki: TestPKI, name: str, error: str) -> None:
    result = openssl_verify(pki, pki.leaf(name).cert_path, untrusted=pki.intermediate_path)
    assert result.returncode != 0
    assert error in result.stdout + result.stderr


def test_openssl_rejects_missing_intermediate_without_the_intermediate(pki: TestPKI) -> None:
    leaf = pki.leaf("missing-intermediate")
    result = openssl_verify(pki, leaf.cert_path, untrusted=leaf.chain_path)
    assert result.returncode != 0
    assert "unable to get local issuer certificate" in result.stdout + result.stderr
    assert openssl_verify(pki, leaf.cert_path, untrusted=pki.intermediate_path).returncode == 0


def test_unknown_variant_is_an_error(pki: TestPKI) -> None:
    with pytest.raises(KeyError, match="unknown certificate variant"):
        pki.leaf("no-such-variant")
