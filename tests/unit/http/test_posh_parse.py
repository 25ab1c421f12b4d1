"""POSH documents as published (RFC 7711 §3): fingerprints or a reference, ``expires`` required."""

from __future__ import annotations

import pytest

from scanners.http.facts import PoshFingerprint, PoshService
from scanners.http.hostmeta_parse import DocumentError, HostileXml
from scanners.http.posh import MAX_FINGERPRINTS, parse_posh, posh_path


def test_fingerprints_of_every_hash_are_kept_as_published() -> None:
    document = parse_posh(
        b'{"fingerprints": [{"sha-256": "4/mggdlVx8A3pvHAWW5sD+qJyMtUHgiRuPjVC48N0XQ=", "SHA-512": " abc== "},'
        b' {"md5": "x", "bad": 7}], "expires": 604800}'
    )
    assert document.fingerprints == [
        PoshFingerprint(algorithm="sha-256", value="4/mggdlVx8A3pvHAWW5sD+qJyMtUHgiRuPjVC48N0XQ="),
        PoshFingerprint(algorithm="sha-512", value="abc=="),
        PoshFingerprint(algorithm="md5", value="x"),
    ]
    assert document.expires == 604800
    assert document.url is None


def test_reference() -> None:
    document = parse_posh(b'{"url": "https://hosting.example.net/.well-known/posh/xmpp-server.json", "expires": 0}')
    assert document.url == "https://hosting.example.net/.well-known/posh/xmpp-server.json"
    assert document.expires == 0
    assert document.fingerprints == []


def test_integral_float_expires_is_accepted() -> None:
    assert parse_posh(b'{"fingerprints": [], "expires": 86400.0}').expires == 86400


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (b'{"fingerprints": []}', "'expires' is missing"),
        (b'{"fingerprints": [], "expires": true}', "not a number"),
        (b'{"fingerprints": [], "expires": "3600"}', "not a number"),
        (b'{"fingerprints": [], "expires": -1}', "non-negative"),
        (b'{"fingerprints": [], "expires": 1.5}', "whole"),
        (b'{"fingerprints": {}, "expires": 1}', "not an array"),
        (b'{"fingerprints": ["abc"], "expires": 1}', "not a JSON object"),
        (b'{"expires": 1}', "neither"),
        (b'{"url": 5, "expires": 1}', "'url' is not a string"),
        (b'["fingerprints"]', "not an object"),
        (b"<html>404</html>", "not JSON"),
    ],
)
def test_unusable_documents(data: bytes, complaint: str) -> None:
    with pytest.raises(DocumentError, match=complaint):
        parse_posh(data)


def test_fingerprint_count_is_bounded() -> None:
    many = b",".join([b'{"sha-256": "AA=="}'] * (MAX_FINGERPRINTS + 1))
    with pytest.raises(HostileXml, match="more than"):
        parse_posh(b'{"fingerprints": [' + many + b'], "expires": 1}')


def test_well_known_paths() -> None:
    assert posh_path(PoshService.CLIENT) == "/.well-known/posh/xmpp-client.json"
    assert posh_path(PoshService.SERVER) == "/.well-known/posh/xmpp-server.json"
