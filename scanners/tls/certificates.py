"""Every certificate a server holds (RSA and ECDSA, or more), each chain found by what is offered.

Up to TLS 1.2 the suite decides the certificate: one hello per authentication among the accepted
suites (RSA, ECDSA, DSS) brings that certificate's chain in clear; the one the enumeration already
saw costs nothing. A server speaking only TLS 1.3 chooses by signature algorithm, so there one
complete handshake per algorithm family (ECDSA, RSA, EdDSA) asks for each.
"""

from __future__ import annotations

from collections.abc import Sequence

from scanners.base import ProbeError
from scanners.tls import registry
from scanners.tls.facts import CertificateDeployment, TlsVersion
from scanners.tls.handshake import HandshakeResult, full_handshake
from scanners.tls.prober import Prober

_AUTHENTICATIONS = ("ECDSA", "RSA", "DSS")
#: OpenSSL signature-algorithm lists per certificate type, for TLS 1.3.
TLS13_SIGALGS = {
    "ECDSA": "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512",
    "RSA": "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:"
    "rsa_pss_pss_sha256:rsa_pss_pss_sha384:rsa_pss_pss_sha512",
    "EdDSA": "ed25519:ed448",
}


def authentication(code: int | None) -> str | None:
    suite = registry.by_code(code) if code is not None else None
    return suite.auth if suite is not None and suite.auth in _AUTHENTICATIONS else None


def _add(found: list[CertificateDeployment], deployment: CertificateDeployment) -> None:
    if deployment.chain and all(known.chain != deployment.chain for known in found):
        found.append(deployment)


async def by_suites(
    prober: Prober,
    version: TlsVersion,
    suites: Sequence[int],
    known_chain: Sequence[bytes],
    known_suite: int | None,
) -> list[CertificateDeployment]:
    """Chains per authentication among ``suites`` (accepted at ``version`` ≤ TLS 1.2)."""
    found: list[CertificateDeployment] = []
    known_auth = authentication(known_suite)
    if known_chain and known_auth is not None:
        _add(found, _deployment(known_chain, version, known_auth, known_suite))
    for auth in _AUTHENTICATIONS:
        codes = [code for code in suites if authentication(code) == auth]
        if not codes or auth == known_auth:
            continue
        result = await prober.probe(prober.hello(version, codes), read_flight=True)
        hello = result.server_hello
        if hello is not None and result.certificates:
            _add(found, _deployment(result.certificates, version, auth, hello.cipher_suite))
    return found


async def by_signature_algorithms(prober: Prober) -> list[CertificateDeployment]:
    """Chains of a TLS 1.3 server, one complete handshake per signature-algorithm family."""
    found: list[CertificateDeployment] = []
    options = prober.options
    for auth, sigalgs in TLS13_SIGALGS.items():

        async def job(sigalgs: str = sigalgs) -> HandshakeResult | ProbeError:
            return await full_handshake(
                prober.opener,
                server_name=options.server_name,
                alpn=options.alpn,
                time_limit=options.probe_timeout,
                wait_limit=options.wait_timeout,
                min_version=TlsVersion.TLS13,
                sigalgs=sigalgs,
            )

        # A refused family is an answer (no such certificate), not a fault.
        outcome = await prober.connection(job, note_errors=False)
        if isinstance(outcome, HandshakeResult):
            _add(found, _deployment(outcome.chain, TlsVersion.TLS13, auth, None, outcome.cipher_suite))
    return found


def _deployment(
    chain: Sequence[bytes], version: TlsVersion, auth: str, code: int | None, name: str | None = None
) -> CertificateDeployment:
    return CertificateDeployment(
        chain=list(chain),
        version=version,
        authentication=auth,
        cipher_suite=name if code is None else registry.suite_name(code),
    )
