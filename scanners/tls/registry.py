"""The cipher-suite registry: every IANA-assigned code, deployed unassigned codes and SSL 2.0 kinds.

The data lives in ``data/cipher_suites.json`` (regenerate it with ``data/generate_cipher_suites.py``);
it is read on first use, never at import time.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from scanners.tls.facts import TlsVersion

#: Oldest first; SSLv2 is a separate protocol but sorts first.
VERSION_ORDER: tuple[TlsVersion, ...] = tuple(TlsVersion)

#: Key exchanges and authentications that real servers offer; the rest (static DH, anonymous, PSK,
#: SRP, Kerberos, GOST …) is rare, so it goes last when suites are split into several ClientHellos.
_COMMON_KX = {"ECDHE", "DHE", "RSA", "any"}
_COMMON_AUTH = {"RSA", "ECDSA", "DSS", "any"}


@dataclass(frozen=True, slots=True)
class CipherSuite:
    code: int
    #: The IANA name; for unassigned codes the name deployed software used; SSL 2.0: ``SSL_CK_…``.
    name: str
    source: Literal["iana", "vendor", "sslv2"]
    openssl_name: str | None
    kx: str
    auth: str
    cipher: str
    #: Secret key bits of the cipher (40 for export ciphers, 168 for 3DES, 0 for NULL).
    bits: int
    #: ``AEAD`` for AEAD ciphers, else the record MAC (``MD5``, ``SHA1``, ``SHA256`` …).
    mac: str
    aead: bool
    #: Ephemeral key exchange (forward secrecy); anonymous ephemeral exchanges count too.
    fs: bool
    export: bool
    min_version: TlsVersion
    max_version: TlsVersion
    #: A signalling value (``TLS_EMPTY_RENEGOTIATION_INFO_SCSV``, ``TLS_FALLBACK_SCSV``), not a suite.
    scsv: bool

    @property
    def sslv2(self) -> bool:
        return self.source == "sslv2"

    def usable_in(self, version: TlsVersion) -> bool:
        """Whether a server may select this suite when ``version`` is negotiated."""
        if self.scsv:
            return False
        if version in (TlsVersion.SSL2, TlsVersion.TLS13) or self.min_version in (TlsVersion.SSL2, TlsVersion.TLS13):
            return self.min_version == version
        # SSL 3.0 servers (OpenSSL up to 1.0.2 among them) also took suites defined for TLS 1.0.
        if version in (TlsVersion.SSL3, TlsVersion.TLS10, TlsVersion.TLS11):
            return self.min_version in (TlsVersion.SSL3, TlsVersion.TLS10)
        return True

    @property
    def common(self) -> bool:
        return self.source != "vendor" and self.kx in _COMMON_KX and self.auth in _COMMON_AUTH


@functools.cache
def all_suites() -> tuple[CipherSuite, ...]:
    raw = json.loads(resources.files("scanners.tls").joinpath("data/cipher_suites.json").read_text())
    return tuple(
        CipherSuite(
            code=int(item["code"], 16),
            name=item["name"],
            source=item["source"],
            openssl_name=item["openssl_name"],
            kx=item["kx"],
            auth=item["auth"],
            cipher=item["cipher"],
            bits=item["bits"],
            mac=item["mac"],
            aead=item["aead"],
            fs=item["fs"],
            export=item["export"],
            min_version=TlsVersion(item["min_version"]),
            max_version=TlsVersion(item["max_version"]),
            scsv=item["scsv"],
        )
        for item in raw
    )


@functools.cache
def _by_code() -> dict[tuple[bool, int], CipherSuite]:
    return {(suite.sslv2, suite.code): suite for suite in all_suites()}


@functools.cache
def _by_name() -> dict[str, CipherSuite]:
    return {suite.name: suite for suite in all_suites()}


def by_code(code: int, *, sslv2: bool = False) -> CipherSuite | None:
    """The suite with this code (a 3-byte SSL 2.0 cipher kind when ``sslv2``)."""
    return _by_code().get((sslv2, code))


def by_name(name: str) -> CipherSuite | None:
    return _by_name().get(name)


@functools.cache
def _by_openssl_name() -> dict[str, CipherSuite]:
    return {suite.openssl_name: suite for suite in all_suites() if suite.openssl_name and not suite.sslv2}


def iana_name(name: str) -> str:
    """The IANA name of a suite OpenSSL names ``name`` (TLS 1.3 names are IANA's already)."""
    suite = _by_openssl_name().get(name) or by_name(name)
    return suite.name if suite is not None else name


def suite_name(code: int, *, sslv2: bool = False) -> str:
    """The registry name, or ``UNKNOWN_0x…`` for a code no registry lists (kept, never dropped)."""
    suite = by_code(code, sslv2=sslv2)
    if suite is not None:
        return suite.name
    return f"UNKNOWN_0x{code:06X}" if sslv2 else f"UNKNOWN_0x{code:04X}"


def _offer_rank(suite: CipherSuite) -> tuple[int, int, int, int, int]:
    return (not suite.common, not suite.fs, not suite.aead, -suite.bits, suite.code)


@functools.cache
def candidates(version: TlsVersion) -> tuple[CipherSuite, ...]:
    """Every suite worth offering for ``version``, common and strong ones first."""
    return tuple(sorted((s for s in all_suites() if s.usable_in(version)), key=_offer_rank))


def names(codes: Iterable[int], *, sslv2: bool = False) -> list[str]:
    return [suite_name(code, sslv2=sslv2) for code in codes]
