"""Finite-field DH parameters: the table of known primes, and one probe per DHE suite family.

``data/dh_primes.json`` (regenerate with ``data/generate_dh_primes.py``) holds the RFC 2409, 3526,
5114 and 7919 groups and commonly deployed primes; it is read on first use. A family's probe offers
the family's accepted suites with only elliptic curves in supported_groups, so even a server that
follows RFC 7919 shows its own parameters, the ones a client without FFDHE groups gets.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from scanners.tls import registry
from scanners.tls.facts import DhParameters, TlsVersion
from scanners.tls.parser import KeyExchangeParams
from scanners.tls.wire import Group


@dataclass(frozen=True)
class KnownPrime:
    name: str | None
    source: str | None
    common: str | None
    bits: int
    is_prime: bool
    safe: bool
    generator: int | None


@functools.cache
def known_primes() -> dict[int, KnownPrime]:
    raw = json.loads(resources.files("scanners.tls").joinpath("data/dh_primes.json").read_text())
    return {
        int(row["prime"], 16): KnownPrime(
            name=row["name"],
            source=row["source"],
            common=row["common"],
            bits=row["bits"],
            is_prime=row["is_prime"],
            safe=row["safe"],
            generator=None if row["generator"] is None else int(row["generator"], 16),
        )
        for row in raw
    }


_FFDHE_CODES = {
    "ffdhe2048": Group.FFDHE2048,
    "ffdhe3072": Group.FFDHE3072,
    "ffdhe4096": Group.FFDHE4096,
    "ffdhe6144": Group.FFDHE6144,
    "ffdhe8192": Group.FFDHE8192,
}


def ffdhe_group(prime: bytes) -> int | None:
    """The RFC 7919 group code whose prime this is, or None."""
    known = known_primes().get(int.from_bytes(prime, "big"))
    return _FFDHE_CODES.get(known.name) if known is not None and known.name else None


def family(code: int) -> str | None:
    """The DHE family of a suite (``DHE_RSA``, ``DHE_DSS``, ``DH_anon``, ``DHE_PSK``), None if not DHE."""
    suite = registry.by_code(code)
    if suite is None or suite.kx not in ("DHE", "DHE_PSK"):
        return None
    if suite.kx == "DHE_PSK":
        return "DHE_PSK"
    return "DH_anon" if suite.auth == "anon" else f"DHE_{suite.auth}"


def families(version_suites: Sequence[tuple[TlsVersion, Sequence[int]]]) -> dict[str, tuple[TlsVersion, list[int]]]:
    """Family → (the highest version where the server accepts it, its accepted suites there).

    ``version_suites`` lists each version's accepted suites, highest version first.
    """
    found: dict[str, tuple[TlsVersion, list[int]]] = {}
    for version, suites in version_suites:
        for code in suites:
            name = family(code)
            if name is None:
                continue
            if name not in found:
                found[name] = (version, [])
            if found[name][0] == version:
                found[name][1].append(code)
    return found


def describe(params: KeyExchangeParams, family_name: str, version: TlsVersion, suite: int) -> DhParameters | None:
    if params.dh_prime is None or params.dh_generator is None:
        return None
    prime = int.from_bytes(params.dh_prime, "big")
    generator = int.from_bytes(params.dh_generator, "big")
    known = known_primes().get(prime)
    well_known = None
    if known is not None and known.name is not None:
        well_known = f"{known.name} ({known.source})"
    return DhParameters(
        family=family_name,
        version=version,
        cipher_suite=registry.suite_name(suite),
        prime_bits=prime.bit_length(),
        generator=generator if generator.bit_length() <= 64 else None,
        generator_bits=generator.bit_length(),
        public_key_bits=int.from_bytes(params.public, "big").bit_length(),
        prime=params.dh_prime,
        well_known=well_known,
        common=known.common if known is not None else None,
        safe_prime=known.safe if known is not None else None,
        composite=not known.is_prime if known is not None else None,
    )
