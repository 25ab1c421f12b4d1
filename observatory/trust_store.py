"""The certificates a scan trusts: Mozilla's roots (certifi) plus what ``--ca-file`` adds."""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

_MAX_FILE_BYTES = 16 << 20


class CaFileError(ValueError):
    """The CA file cannot be used; the message says why."""


def load_ca_file(path: Path) -> list[x509.Certificate]:
    """Read every certificate of a PEM bundle; refuse a file that holds none."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CaFileError(f"cannot read CA certificates from {path}: {exc.strerror or exc}") from None
    if len(raw) > _MAX_FILE_BYTES:
        raise CaFileError(f"{path}: larger than 16 MiB, this is not a CA bundle")
    if b"-----BEGIN CERTIFICATE-----" not in raw:
        raise CaFileError(f"{path}: no PEM certificate in it (expected '-----BEGIN CERTIFICATE-----' blocks)")
    try:
        # Real-world bundles carry old roots with quirks (negative serials …): trust is judged
        # later, loading them must not spray warnings over the report.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            return x509.load_pem_x509_certificates(raw)
    except ValueError as exc:
        raise CaFileError(f"{path}: a certificate in it cannot be parsed: {exc}") from None


@functools.cache
def mozilla_roots() -> tuple[x509.Certificate, ...]:
    """Mozilla's root programme as certifi ships it, read once per process."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return tuple(x509.load_pem_x509_certificates(Path(certifi.where()).read_bytes()))
