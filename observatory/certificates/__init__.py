"""Certificate analysis and DANE: trust paths, the XMPP identity, quality facts, TLSA matching.

Pure judgment over what the TLS engine and DNS discovery observed; nothing here touches the network.

* ``analyse_chain(chain_der, domain=, kind=, at=, extra_roots=)`` → ``CertificateAnalysis``
* ``match_dane(chain_der, tlsa_lookup, srv_dnssec, certificate=)`` → ``DaneResult``
"""

from observatory.certificates.analysis import analyse_chain, clear_caches
from observatory.certificates.dane import match_dane
from observatory.certificates.identity import IdentityResult, match_identity
from observatory.certificates.model import (
    CertificateAnalysis,
    CertificateQuality,
    CertificateSource,
    CertificateSummary,
    ChainProblem,
    ChainProblemCode,
    DaneResult,
    DaneStatus,
    PathCertificate,
    TlsaRecordResult,
    TrustProblem,
    TrustProblemCode,
)
from observatory.certificates.quality import EXPIRY_WARNING_DAYS

__all__ = [
    "EXPIRY_WARNING_DAYS",
    "CertificateAnalysis",
    "CertificateQuality",
    "CertificateSource",
    "CertificateSummary",
    "ChainProblem",
    "ChainProblemCode",
    "DaneResult",
    "DaneStatus",
    "IdentityResult",
    "PathCertificate",
    "TlsaRecordResult",
    "TrustProblem",
    "TrustProblemCode",
    "analyse_chain",
    "clear_caches",
    "match_dane",
    "match_identity",
]
