"""Parsing sent certificates: every SAN type, the extensions the catalogue needs, and hostile input."""

from __future__ import annotations

import ipaddress
import struct

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from observatory.certificates.model import ChainProblemCode
from observatory.certificates.parse import MAX_CERTIFICATE_BYTES, MAX_CHAIN, parse_chain
from tests.unit.certificates.builders import NOW, der, issue, srv_id, xmpp_addr

SCT_OID = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")


def _sct_extension(*log_ids: bytes) -> x509.UnrecognizedExtension:
    """An embedded SCT list (RFC 6962 §3.3) as a CA writes it: TLS-encoded inside an OCTET STRING."""
    items = b""
    for number, log_id in enumerate(log_ids):
        body = b"\x00" + log_id + struct.pack(">QH", 1_700_000_000_000 + number, 0) + b"\x04\x03\x00\x02\x30\x00"
        items += struct.pack(">H", len(body)) + body
    tls = struct.pack(">H", len(items)) + items
    assert len(tls) < 0x80, "short-form length keeps this DER"
    return x509.UnrecognizedExtension(SCT_OID, b"\x04" + bytes([len(tls)]) + tls)


def _rich_leaf() -> x509.Certificate:
    root = issue("Parse Root", ca=True)
    sans = [
        x509.DNSName("example.org"),
        srv_id("xmpp-client", "example.org"),
        xmpp_addr("bücher.example"),
        x509.UniformResourceIdentifier("xmpp:example.org"),
        x509.RFC822Name("admin@example.org"),
        x509.IPAddress(ipaddress.ip_address("192.0.2.7")),
        x509.DirectoryName(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "dir")])),
        x509.RegisteredID(ObjectIdentifier("1.2.3.4")),
        x509.OtherName(ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x0c\x02hi"),
        x509.OtherName(ObjectIdentifier("1.3.6.1.5.5.7.8.7"), b"\x0c\x02hi"),  # an SRV-ID as UTF8String: wrong
    ]
    aia = x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(
                x509.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier("http://ocsp.example/")
            ),
            x509.AccessDescription(
                x509.AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier("http://ca.example/i.der")
            ),
        ]
    )
    crl = x509.CRLDistributionPoints(
        [x509.DistributionPoint([x509.UniformResourceIdentifier("http://crl.example/c.crl")], None, None, None)]
    )
    extensions = [
        (aia, False),
        (crl, False),
        (x509.TLSFeature([x509.TLSFeatureType.status_request]), False),
        (_sct_extension(b"\x11" * 32, b"\x22" * 32), False),
    ]
    return issue(
        "example.org",
        root,
        key_label="parse-leaf",
        sans=sans,
        eku=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        extensions=extensions,
    ).cert


def test_a_rich_leaf_is_summarised_completely() -> None:
    cert = _rich_leaf()
    [parsed], problems = parse_chain([der(cert)])
    summary = parsed.summary
    assert problems == []
    assert summary.index == 0
    assert summary.subject == "CN=example.org"
    assert summary.issuer == "CN=Parse Root"
    assert summary.common_names == ["example.org"]
    assert summary.key.type == "EC"
    assert summary.key.bits == 256
    assert summary.key.curve == "secp256r1"
    assert summary.signature_algorithm == "ecdsa-with-SHA256"
    assert summary.signature_hash == "sha256"
    assert summary.is_ca is False
    assert summary.self_signed is False
    assert summary.not_before < NOW < summary.not_after
    assert summary.extended_key_usage == ["serverAuth", "clientAuth"]
    assert summary.key_usage == ["digital_signature"]
    assert summary.ocsp_urls == ["http://ocsp.example/"]
    assert summary.ca_issuer_urls == ["http://ca.example/i.der"]
    assert summary.crl_urls == ["http://crl.example/c.crl"]
    assert summary.must_staple is True
    assert [sct.log_id for sct in summary.scts] == ["11" * 32, "22" * 32]
    assert summary.scts[0].timestamp.tzinfo is not None
    assert len(summary.sha256) == 64
    assert len(summary.spki_sha256) == 64
    names = summary.subject_alt_names
    assert names is not None
    assert names.dns == ["example.org"]
    assert names.srv == ["_xmpp-client.example.org"]
    assert names.xmpp_addr == ["bücher.example"]
    assert names.uri == ["xmpp:example.org"]
    assert names.email == ["admin@example.org"]
    assert names.ip == ["192.0.2.7"]
    assert names.directory == ["CN=dir"]
    assert names.registered_id == ["1.2.3.4"]
    assert [(o.oid, o.value) for o in names.other] == [("1.3.6.1.4.1.99999.1", "0c026869")]
    assert len(names.problems) == 1
    assert names.problems[0].startswith("SRV-ID not decodable")


def test_a_root_is_self_signed_and_a_ca() -> None:
    root = issue("Parse Root", ca=True)
    [parsed], _ = parse_chain([root.der])
    assert parsed.summary.self_signed is True
    assert parsed.summary.is_ca is True
    assert parsed.summary.subject_alt_names is None
    assert parsed.summary.key_usage == ["key_cert_sign", "crl_sign"]


def test_rsa_keys_are_sized() -> None:
    leaf = issue("rsa.example", key_kind="rsa2048", key_label="parse-rsa")
    [parsed], _ = parse_chain([leaf.der])
    assert (parsed.summary.key.type, parsed.summary.key.bits) == ("RSA", 2048)
    assert parsed.summary.signature_algorithm == "sha256WithRSAEncryption"


@pytest.mark.parametrize(
    ("chain", "code", "detail"),
    [
        ([b"not a certificate"], ChainProblemCode.UNPARSEABLE, "not a readable X.509 certificate"),
        ([b"\x30\x82\xff\xff" + b"\x00" * (MAX_CERTIFICATE_BYTES + 1)], ChainProblemCode.UNPARSEABLE, "limit"),
        ([b""], ChainProblemCode.UNPARSEABLE, "not a readable"),
    ],
)
def test_garbage_becomes_a_chain_problem(chain: list[bytes], code: ChainProblemCode, detail: str) -> None:
    parsed, problems = parse_chain(chain)
    assert parsed == []
    assert [p.code for p in problems] == [code]
    assert detail in problems[0].detail
    assert problems[0].sent_index == 0


def test_long_chains_are_cut_and_duplicates_reported() -> None:
    root = issue("Parse Root", ca=True)
    leaf = issue("dup.example", root, key_label="parse-dup")
    chain = [leaf.der, root.der, root.der, *(b"junk%d" % i for i in range(MAX_CHAIN))]
    parsed, problems = parse_chain(chain)
    assert [p.index for p in parsed] == [0, 1]
    codes = [p.code for p in problems]
    assert codes[0] is ChainProblemCode.TOO_LONG
    assert ChainProblemCode.DUPLICATE in codes
    assert codes.count(ChainProblemCode.UNPARSEABLE) == MAX_CHAIN - 3


def test_an_unreadable_extension_is_a_problem_not_a_failure() -> None:
    # Given a leaf whose SCT extension has a non-minimal (BER, not DER) length
    bad = x509.UnrecognizedExtension(SCT_OID, b"\x04\x81\x02\x00\x00")
    leaf = issue("bad-ext.example", key_label="parse-bad-ext", extensions=[(bad, False)])
    # When it is parsed
    [parsed], problems = parse_chain([leaf.der])
    # Then the certificate is still summarised, and the problem is said
    assert problems == []
    assert parsed.summary.subject == "CN=bad-ext.example"
    assert parsed.summary.problems[0].startswith("extensions unreadable")
    assert parsed.summary.is_ca is None
