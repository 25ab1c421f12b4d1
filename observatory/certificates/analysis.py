"""The entry point: one endpoint's chain in, its ``CertificateAnalysis`` out.

Everything but the identity depends only on the chain, the roots, the time and the staple, so that
part is cached: the same chain served on many endpoints (every address, both transports) is parsed
and path-built once per scan, as long as the orchestrator passes the scan's time as ``at``. The
identity, which depends on the domain and the link type, is matched per call (microseconds).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence

from cryptography import x509

from observatory.certificates import parse, roots
from observatory.certificates.identity import match_identity
from observatory.certificates.model import CertificateAnalysis
from observatory.certificates.parse import parse_chain
from observatory.certificates.quality import assess_quality
from observatory.certificates.roots import TrustRoots, trust_roots
from observatory.certificates.trust import assess_trust
from scanners.base import ServiceKind

_CACHE_SIZE = 256


def analyse_chain(
    chain_der: Sequence[bytes],
    *,
    domain: str,
    kind: ServiceKind,
    at: dt.datetime,
    extra_roots: Sequence[x509.Certificate] = (),
    mozilla_roots: bool = True,
    srv_target: str | None = None,
    staple_observed: bool = False,
    ocsp_staple: bytes | None = None,
) -> CertificateAnalysis:
    """Judge a chain as sent (DER, leaf first) for the XMPP ``domain`` on a ``kind`` link at time ``at``.

    ``extra_roots`` are trusted besides Mozilla's (``--ca-file``; see ``observatory.trust_store``).
    ``srv_target`` is only reported on (``srv_target_matches``), never used as the reference
    identity. ``staple_observed`` says whether the TLS engine looked for an OCSP staple, and
    ``ocsp_staple`` is what it got (None: none was stapled).
    """
    at = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)
    root_set = trust_roots(extra_roots, mozilla=mozilla_roots)
    base = _analyse(tuple(chain_der), root_set, at, staple_observed, ocsp_staple)
    if not base.certificates or base.certificates[0].index != 0:
        return base
    leaf = base.certificates[0]
    identity = match_identity(
        leaf.subject_alt_names, leaf.common_names, domain=domain, kind=kind, srv_target=srv_target
    )
    return base.model_copy(
        update={
            "identity_matches": identity.matches,
            "matched_identity": identity.matched[0] if identity.matched else None,
            "matched_identities": identity.matched,
            "reference_identity": identity.reference,
            "identity_via_cn": identity.via_cn,
            "srv_target": identity.srv_target,
            "srv_target_matches": identity.srv_target_matches,
            "identity_notes": identity.notes,
        }
    )


def cache_info() -> functools._CacheInfo:
    """Hits and misses of the per-chain cache (for measurements and tests)."""
    return _analyse.cache_info()


def clear_caches(*, keep_roots: bool = False) -> None:
    """Forget every parsed certificate and chain, and the root sets unless ``keep_roots``."""
    _analyse.cache_clear()
    parse.clear_cache()
    if not keep_roots:
        roots.clear_cache()


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _analyse(
    chain_der: tuple[bytes, ...], roots: TrustRoots, at: dt.datetime, staple_observed: bool, staple: bytes | None
) -> CertificateAnalysis:
    chain, chain_problems = parse_chain(chain_der)
    trust = assess_trust(chain, roots, at)
    quality = None
    if chain and chain[0].index == 0:
        quality = assess_quality(chain, trust.path, at, staple_observed=staple_observed, staple=staple)
    return CertificateAnalysis(
        trusted=trust.trusted,
        anchor=trust.anchor,
        path=trust.entries,
        untrusted_reasons=trust.problems,
        chain_problems=[*chain_problems, *trust.chain_problems],
        certificates=[c.summary for c in chain],
        quality=quality,
        analysed_at=at,
    )
