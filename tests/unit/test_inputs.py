"""Parsing what users type: domains, HOST[:PORT], trust-anchor files and CA files."""

from __future__ import annotations

from pathlib import Path

import pytest

from observatory.trust_store import CaFileError, load_ca_file
from scanners.addresses import AddressError, HostPort, parse_host_port
from scanners.dns.names import DomainError, normalize_domain
from scanners.dns.trust_anchors import TrustAnchorError, load_trust_anchors, parse_trust_anchors

ROOT_DS = ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("example.org", "example.org"),
        ("Example.ORG.", "example.org"),
        ("  jabber.ccc.de ", "jabber.ccc.de"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("localhost", "localhost"),
    ],
)
def test_domains_are_normalised_to_a_labels(text: str, expected: str) -> None:
    assert normalize_domain(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("a..b", "not a valid domain"),
        ("192.0.2.1", "IP address"),
        ("[2001:db8::1]", "IP address"),
        ("alice@example.org", "JID or URL"),
        ("https://example.org/", "JID or URL"),
        ("-bad.example", "not a valid host name"),
        ("under_score.example", "not a valid host name"),
        ("x" * 64 + ".example", "not a valid domain"),
        (".".join(["abcdefgh"] * 40), "not a valid domain"),
    ],
)
def test_bad_domains_say_why(text: str, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        normalize_domain(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", HostPort("127.0.0.1", 53)),
        ("127.0.0.1:5353", HostPort("127.0.0.1", 5353)),
        ("::1", HostPort("::1", 53)),
        ("[::1]", HostPort("::1", 53)),
        ("[2001:DB8::1]:853", HostPort("2001:db8::1", 853)),
    ],
)
def test_host_port(text: str, expected: HostPort) -> None:
    assert parse_host_port(text, 53, require_ip=True) == expected


def test_host_port_accepts_names_unless_an_ip_is_required() -> None:
    assert parse_host_port("xmpp.example.org:5222", 5222) == HostPort("xmpp.example.org", 5222)
    with pytest.raises(AddressError, match="not an IP address"):
        parse_host_port("dns.example.org", 53, require_ip=True)


@pytest.mark.parametrize("text", ["127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x", "[::1", "[::1]53", ":53", "1:2:3"])
def test_bad_host_port_is_refused(text: str) -> None:
    with pytest.raises(AddressError):
        parse_host_port(text, 53, require_ip=True)


def test_host_port_prints_ipv6_in_brackets() -> None:
    assert str(HostPort("::1", 53)) == "[::1]:53"


def test_trust_anchors_in_dsset_format(tmp_path: Path) -> None:
    path = tmp_path / "dsset-test."
    path.write_text(
        "test.\t\t\tIN DS 2371 13 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n" + ROOT_DS + "\n"
    )
    anchors = load_trust_anchors(path)
    assert [name.to_text() for name in anchors.zones] == [".", "test."]
    assert anchors.source == str(path)


def test_trust_anchor_dnskey_is_accepted() -> None:
    key = (
        "test. 3600 IN DNSKEY 257 3 13 "
        + "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="
    )
    assert parse_trust_anchors(key).rrsets[0].rdtype == 48


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no DS or DNSKEY"),
        ("; only a comment\n", "no DS or DNSKEY"),
        (". IN A 192.0.2.1", "only DS and DNSKEY"),
        ("this is not a zone file", "zone-file format"),
        (". IN DS 1 8 2 ZZZZ", "zone-file format"),
    ],
)
def test_bad_trust_anchors_say_why(text: str, message: str) -> None:
    with pytest.raises(TrustAnchorError, match=message):
        parse_trust_anchors(text)


def test_unreadable_trust_anchor_file(tmp_path: Path) -> None:
    with pytest.raises(TrustAnchorError, match="cannot read"):
        load_trust_anchors(tmp_path / "missing")
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(TrustAnchorError, match="not a text file"):
        load_trust_anchors(binary)


def test_ca_file_loads_every_certificate() -> None:
    certifi = pytest.importorskip("certifi")
    assert len(load_ca_file(Path(certifi.where()))) > 100


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello", "no PEM certificate"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "cannot be parsed"),
    ],
)
def test_bad_ca_file_says_why(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "ca.pem"
    path.write_bytes(content)
    with pytest.raises(CaFileError, match=message):
        load_ca_file(path)
