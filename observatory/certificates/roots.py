"""The roots a trust path may end in: Mozilla's (certifi) and the extra ones from ``--ca-file``.

Building a ``Store`` and indexing the roots costs a few milliseconds, so each distinct set of roots
is built once per process and shared by every chain analysed against it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import Store

from observatory.certificates.model import CertificateSource
from observatory.trust_store import mozilla_roots


@dataclass(frozen=True, eq=False)
class TrustRoots:
    """An immutable root set; compared by identity, since ``trust_roots`` returns one per distinct set."""

    certificates: tuple[x509.Certificate, ...]
    #: None when there is no root at all (no Mozilla roots and no extra ones).
    store: Store | None
    _source: dict[bytes, CertificateSource] = field(repr=False)
    _by_subject: dict[x509.Name, tuple[x509.Certificate, ...]] = field(repr=False)

    def source_of(self, der: bytes) -> CertificateSource | None:
        """Which root set holds this exact certificate (Mozilla wins when both do)."""
        return self._source.get(der)

    def named(self, subject: x509.Name) -> tuple[x509.Certificate, ...]:
        return self._by_subject.get(subject, ())


def trust_roots(extra: Sequence[x509.Certificate] = (), *, mozilla: bool = True) -> TrustRoots:
    """The root set of Mozilla's roots (unless ``mozilla`` is false) plus ``extra``."""
    return _build(tuple(cert.public_bytes(serialization.Encoding.DER) for cert in extra), mozilla)


def clear_cache() -> None:
    _build.cache_clear()


@functools.lru_cache(maxsize=8)
def _build(extra_der: tuple[bytes, ...], mozilla: bool) -> TrustRoots:
    source: dict[bytes, CertificateSource] = {}
    certificates: list[x509.Certificate] = []
    groups = [(CertificateSource.MOZILLA, mozilla_roots() if mozilla else ())]
    groups.append((CertificateSource.EXTRA, tuple(x509.load_der_x509_certificate(der) for der in extra_der)))
    for origin, certs in groups:
        for cert in certs:
            der = cert.public_bytes(serialization.Encoding.DER)
            if der not in source:
                source[der] = origin
                certificates.append(cert)
    by_subject: dict[x509.Name, list[x509.Certificate]] = {}
    for cert in certificates:
        by_subject.setdefault(cert.subject, []).append(cert)
    return TrustRoots(
        certificates=tuple(certificates),
        store=Store(certificates) if certificates else None,
        _source=source,
        _by_subject={name: tuple(certs) for name, certs in by_subject.items()},
    )
