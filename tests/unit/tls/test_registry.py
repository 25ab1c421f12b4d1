"""The cipher-suite registry: its data, derived properties, and cross-checks with testssl.sh and OpenSSL."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from scanners.tls import registry
from scanners.tls.facts import TlsVersion

TESTSSL_MAPPING = Path("/etc/testssl/cipher-mapping.txt")


def test_codes_and_names_are_unique() -> None:
    suites = registry.all_suites()
    assert len({(suite.sslv2, suite.code) for suite in suites}) == len(suites)
    assert len({suite.name for suite in suites}) == len(suites)
    assert sum(suite.source == "iana" for suite in suites) >= 350


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", ("ECDHE", "RSA", "AES_GCM", 128, "AEAD", True, True, False)),
        ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", ("RSA", "RSA", "3DES_EDE_CBC", 168, "SHA1", False, False, False)),
        ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", ("RSA", "RSA", "RC4", 40, "MD5", False, False, True)),
        ("TLS_DH_anon_WITH_AES_256_CBC_SHA256", ("DHE", "anon", "AES_CBC", 256, "SHA256", False, True, False)),
        ("TLS_ECDH_ECDSA_WITH_RC4_128_SHA", ("ECDH", "ECDSA", "RC4", 128, "SHA1", False, False, False)),
        ("TLS_AES_256_GCM_SHA384", ("any", "any", "AES_GCM", 256, "AEAD", True, True, False)),
        ("TLS_SHA256_SHA256", ("any", "any", "NULL", 0, "SHA256", False, True, False)),
        ("TLS_PSK_DHE_WITH_AES_128_CCM_8", ("DHE_PSK", "PSK", "AES_CCM_8", 128, "AEAD", True, True, False)),
        ("SSL_CK_RC4_128_EXPORT40_WITH_MD5", ("RSA", "RSA", "RC4", 40, "MD5", False, False, True)),
    ],
)
def test_properties_follow_from_the_name(name: str, expected: tuple[object, ...]) -> None:
    suite = registry.by_name(name)
    assert suite is not None
    assert (suite.kx, suite.auth, suite.cipher, suite.bits, suite.mac, suite.aead, suite.fs, suite.export) == expected


def test_lookups() -> None:
    suite = registry.by_code(0xC02F)
    assert suite is not None
    assert suite.name == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    assert suite.openssl_name == "ECDHE-RSA-AES128-GCM-SHA256"
    assert registry.by_code(0x010080, sslv2=True).name == "SSL_CK_RC4_128_WITH_MD5"  # type: ignore[union-attr]
    assert registry.by_code(0x010080) is None
    assert registry.suite_name(0x0A0A) == "UNKNOWN_0x0A0A"
    assert registry.suite_name(0x123456, sslv2=True) == "UNKNOWN_0x123456"


def test_candidates_per_version() -> None:
    tls13 = registry.candidates(TlsVersion.TLS13)
    assert {suite.code for suite in tls13} >= {0x1301, 0x1302, 0x1303, 0x1304, 0x1305}
    assert all(suite.min_version == TlsVersion.TLS13 for suite in tls13)
    tls10 = {suite.code for suite in registry.candidates(TlsVersion.TLS10)}
    assert {0x0004, 0x000A, 0x0003, 0xC013, 0x002F} <= tls10  # RC4, 3DES, export, ECDHE-CBC, AES-CBC
    assert not tls10 & {0xC02F, 0x003C, 0xCCA8, 0x1301}  # GCM, SHA-256 MAC, ChaCha20, TLS 1.3
    tls12 = registry.candidates(TlsVersion.TLS12)
    assert {0x00FF, 0x5600}.isdisjoint(suite.code for suite in tls12)  # signalling values are not suites
    # Common suites first, so one ClientHello of 128 covers what servers really offer.
    assert all(suite.common for suite in tls12[:20])
    assert {suite.code for suite in registry.candidates(TlsVersion.SSL2)} >= {0x010080, 0x0700C0}


def _testssl_mapping() -> dict[tuple[bool, int], dict[str, str]]:
    rows = {}
    for line in TESTSSL_MAPPING.read_text().splitlines():
        fields = line.split()
        parts = fields[0].split(",")
        code = int("".join(part[2:] for part in parts), 16)
        rows[(len(parts) == 3, code)] = {"openssl": fields[2], "name": fields[3], "enc": fields[7], "mac": fields[8]}
    return rows


@pytest.mark.skipif(not TESTSSL_MAPPING.exists(), reason="Debian's testssl.sh is not installed")
def test_complete_against_testssl_mapping() -> None:
    # Given testssl.sh's own table of suites (a cross-check only: our data is generated from public facts)
    theirs = _testssl_mapping()
    ours = {(suite.sslv2, suite.code): suite for suite in registry.all_suites()}
    # Then every code testssl.sh knows is in our registry
    assert sorted(set(theirs) - set(ours)) == []
    for key, row in theirs.items():
        suite = ours[key]
        # with the same IANA name where IANA assigned one
        if suite.source == "iana":
            assert suite.name == row["name"], key
        # the same key size where testssl.sh states one (testssl.sh counts DES parity bits in SSLv2)
        bits = re.search(r"\((\d+)\)", row["enc"])
        if bits and not suite.cipher.startswith("DES"):
            assert suite.bits == int(bits.group(1)), suite.name
        assert suite.aead == (row["mac"] == "Mac=AEAD"), suite.name


def _openssl_ciphers() -> list[tuple[int, str, str]]:
    proc = subprocess.run(
        ["openssl", "ciphers", "-V", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in proc.stdout.splitlines():
        fields = line.split()
        high, low = fields[0].split(",")
        rows.append((int(high, 16) << 8 | int(low, 16), fields[2], fields[4]))
    return rows


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl binary")
def test_agrees_with_local_openssl() -> None:
    for code, iana_name, openssl_name in _openssl_ciphers():
        suite = registry.by_code(code)
        assert suite is not None, iana_name
        assert suite.name == iana_name
        # A newer OpenSSL may name suites the data was generated without; a different name is an error.
        assert suite.openssl_name in (openssl_name, None), iana_name
