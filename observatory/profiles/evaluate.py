"""Judging one endpoint against one profile: one outcome per rule, from the facts and their analyses.

A rule whose facts were not observed is ``not-evaluated`` with the reason, never a silent pass; one
with nothing to judge (a DH size rule when no DHE suite is accepted) is ``not-applicable``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from observatory.checks.tls import accepted_suites
from observatory.model import (
    CertificateAnalysis,
    ComplianceLevel,
    ComplianceOutcome,
    ComplianceStatus,
    Endpoint,
    EndpointCompliance,
    ProfileResult,
    ScanResult,
)
from observatory.profiles import definition as d
from scanners.base import Transport
from scanners.stream.facts import StarttlsPolicy
from scanners.tls.facts import TlsFacts, TlsVersion
from scanners.tls.registry import CipherSuite, by_name

PASS, FAIL = ComplianceStatus.PASS, ComplianceStatus.FAIL
NOT_EVALUATED, NOT_APPLICABLE = ComplianceStatus.NOT_EVALUATED, ComplianceStatus.NOT_APPLICABLE
Verdict = tuple[ComplianceStatus, list[str]]

#: Security strength where the key size overstates it (3DES: 168-bit key, 112-bit strength).
_STRENGTH = {"3DES_EDE_CBC": 112}

SUITE_CLASSES: dict[str, Callable[[CipherSuite], bool]] = {
    "null": lambda s: s.cipher == "NULL" or s.bits == 0,
    "anonymous": lambda s: s.auth == "anon",
    "export": lambda s: s.export,
    "below-112-bits": lambda s: s.export or 0 < _STRENGTH.get(s.cipher, s.bits) < 112,
    "below-128-bits": lambda s: 0 < _STRENGTH.get(s.cipher, s.bits) < 128,
    "rc4": lambda s: s.cipher == "RC4",
    "3des": lambda s: s.cipher == "3DES_EDE_CBC",
    "static-rsa": lambda s: s.kx == "RSA" and not s.fs,
    "static-dh": lambda s: s.kx in ("DH", "ECDH"),
    "dhe": lambda s: s.kx in ("DHE", "DHE_PSK"),
    "cbc": lambda s: s.cipher.endswith("_CBC"),
    "no-forward-secrecy": lambda s: not s.fs,
}


@dataclass(frozen=True)
class Context:
    domain: str
    endpoint: Endpoint

    @property
    def tls(self) -> TlsFacts | None:
        return self.endpoint.tls

    @property
    def certificate(self) -> CertificateAnalysis | None:
        return self.endpoint.certificate


_LEGACY_VERSIONS = (TlsVersion.SSL3, TlsVersion.TLS10, TlsVersion.TLS11, TlsVersion.TLS12)
_TLS_UNSEEN: Verdict = (NOT_EVALUATED, ["the TLS versions and suites were not observed"])
_NO_CERTIFICATE: Verdict = (NOT_EVALUATED, ["no certificate was obtained or parsed"])


def _versions_allowed(rule: d.VersionsAllowed, ctx: Context) -> Verdict:
    tls = ctx.tls
    if tls is None:
        return _TLS_UNSEEN
    if not tls.versions:
        return FAIL, ["no TLS version was accepted"]
    extra = [version.value for version in tls.versions if version not in rule.versions]
    return (FAIL, [f"accepts {', '.join(extra)}"]) if extra else (PASS, [])


def _versions_required(rule: d.VersionsRequired, ctx: Context) -> Verdict:
    tls = ctx.tls
    if tls is None:
        return _TLS_UNSEEN
    absent = [version.value for version in rule.versions if version not in tls.versions]
    return (FAIL, [f"does not accept {', '.join(absent)}"]) if absent else (PASS, [])


def _suites_allowed(rule: d.SuitesAllowed, ctx: Context) -> Verdict:
    tls = ctx.tls
    if tls is None:
        return _TLS_UNSEEN
    versions = [version for version in rule.versions if version in tls.versions]
    if not versions:
        return NOT_APPLICABLE, [f"{_names(rule.versions)} not accepted"]
    unlisted = [version.value for version in versions if version not in tls.cipher_suites]
    if unlisted:
        return NOT_EVALUATED, [f"the suites accepted with {', '.join(unlisted)} were not enumerated"]
    allowed = set(rule.suites)
    details = []
    for version in versions:
        extra = [name for name in tls.cipher_suites[version] if name not in allowed]
        if extra:
            details.append(f"{version.value}: {', '.join(extra)}")
    return (FAIL, details) if details else (PASS, [])


def _names(versions: Iterable[TlsVersion]) -> str:
    names = [version.value for version in versions]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _all_suites(ctx: Context) -> tuple[list[CipherSuite], Verdict | None]:
    """The accepted suites the registry knows, or the verdict saying why they cannot be judged."""
    if ctx.tls is None:
        return [], (NOT_EVALUATED, ["the cipher suites were not observed"])
    if not ctx.tls.cipher_suites:
        reason = "no suite was enumerated" if ctx.tls.versions else "no TLS version was accepted"
        return [], (NOT_EVALUATED if ctx.tls.versions else NOT_APPLICABLE, [reason])
    return list(accepted_suites(ctx.tls)), None


def _suites_forbidden(rule: d.SuitesForbidden, ctx: Context) -> Verdict:
    suites, verdict = _all_suites(ctx)
    if verdict is not None:
        return verdict
    details = []
    for name in rule.classes:
        matching = [suite.name for suite in suites if SUITE_CLASSES[name](suite)]
        if matching:
            details.append(f"{name}: {', '.join(matching)}")
    return (FAIL, details) if details else (PASS, [])


def _forward_secrecy(_rule: d.ForwardSecrecy, ctx: Context) -> Verdict:
    suites, verdict = _all_suites(ctx)
    if verdict is not None:
        return verdict
    return (PASS, []) if any(suite.fs for suite in suites) else (FAIL, ["no accepted suite has forward secrecy"])


def _server_order(_rule: d.ServerOrder, ctx: Context) -> Verdict:
    if ctx.tls is None:
        return NOT_EVALUATED, ["the suite order was not observed"]
    with_choice = [version for version, names in ctx.tls.cipher_suites.items() if len(names) > 1]
    if not with_choice:
        return NOT_APPLICABLE, ["no version accepts more than one suite"]
    follows_client = [v.value for v in with_choice if ctx.tls.server_order.get(v) is False]
    unknown = [v.value for v in with_choice if v not in ctx.tls.server_order]
    if follows_client:
        return FAIL, [f"follows the client's order with {', '.join(follows_client)}"]
    if unknown:
        return NOT_EVALUATED, [f"the order was not determined for {', '.join(unknown)}"]
    return PASS, []


#: A hybrid post-quantum group is as strong as its classical half at least: allowed where that half is.
_CLASSICAL_HALF = {"X25519MLKEM768": "x25519", "SecP256r1MLKEM768": "secp256r1", "SecP384r1MLKEM1024": "secp384r1"}


def _key_exchange_groups(rule: d.KeyExchangeGroups, ctx: Context) -> Verdict:
    suites, verdict = _all_suites(ctx)
    if verdict is not None:
        return verdict
    tls = ctx.tls
    tls13 = tls is not None and TlsVersion.TLS13 in tls.versions
    if not (tls13 or any(suite.kx in ("ECDHE", "ECDHE_PSK", "DHE", "DHE_PSK") for suite in suites)):
        return NOT_APPLICABLE, ["no ephemeral key exchange is accepted"]
    judges_ffdhe = any(group.startswith("ffdhe") for group in rule.groups)
    used = [
        group
        for group in dict.fromkeys(group for groups in (tls.groups if tls else {}).values() for group in groups)
        if judges_ffdhe or not group.startswith("ffdhe")
    ]
    if not used:
        return NOT_EVALUATED, ["the key exchange groups were not observed"]
    outside = [group for group in used if group not in rule.groups and _CLASSICAL_HALF.get(group) not in rule.groups]
    return (FAIL, [f"accepts {', '.join(outside)}"]) if outside else (PASS, [])


def _unobserved_with(ctx: Context, suite_class: str, label: str, unobserved: str) -> Verdict:
    """Not evaluated when a suite of ``suite_class`` is accepted (what it needs is not observed), else moot."""
    suites, verdict = _all_suites(ctx)
    if verdict is not None:
        return verdict
    matching = [suite.name for suite in suites if SUITE_CLASSES[suite_class](suite)]
    if matching:
        return NOT_EVALUATED, [f"{unobserved}; {label} suites accepted: {', '.join(matching)}"]
    return NOT_APPLICABLE, [f"no {label} suite is accepted"]


def _dh_min_bits(rule: d.DhMinBits, ctx: Context) -> Verdict:
    tls = ctx.tls
    if tls is None or not tls.dh_parameters:
        return _unobserved_with(ctx, "dhe", "DHE", "no DH parameters were observed")
    small = [f"{dh.family}: {dh.prime_bits} bits" for dh in tls.dh_parameters if dh.prime_bits < rule.bits]
    if small:
        return FAIL, [f"below {rule.bits} bits: {', '.join(small)}"]
    return PASS, []


def _cbc_encrypt_then_mac(_rule: d.CbcEncryptThenMac, ctx: Context) -> Verdict:
    tls = ctx.tls
    answered = tls.extensions.encrypt_then_mac if tls is not None and tls.extensions is not None else None
    if answered is None:
        return _unobserved_with(ctx, "cbc", "CBC", "encrypt_then_mac was not observed on a CBC suite")
    if not answered:
        return FAIL, [f"CBC suite {tls.extensions.cipher_suite} negotiated without encrypt_then_mac"]  # type: ignore[union-attr]
    return PASS, []


def _certificate_key(rule: d.CertificateKey, ctx: Context) -> Verdict:
    quality = ctx.certificate.quality if ctx.certificate else None
    if quality is None:
        return _NO_CERTIFICATE
    key = quality.leaf_key
    described = f"{key.type} key" + (f" of {key.bits} bits" if key.bits else "")
    described += f" on {key.curve}" if key.curve else ""
    if key.type not in rule.types:
        return FAIL, [f"{described}; allowed: {', '.join(rule.types)}"]
    if key.type == "RSA" and rule.rsa_min_bits and (key.bits or 0) < rule.rsa_min_bits:
        return FAIL, [f"{described} (at least {rule.rsa_min_bits} wanted)"]
    if key.type == "EC":
        if rule.ec_curves is not None and key.curve not in rule.ec_curves:
            return FAIL, [f"{described}; allowed curves: {', '.join(rule.ec_curves)}"]
        if rule.ec_min_bits and (key.bits or 0) < rule.ec_min_bits:
            return FAIL, [f"{described} (at least {rule.ec_min_bits} wanted)"]
    return PASS, []


def _certificate_signature(rule: d.CertificateSignature, ctx: Context) -> Verdict:
    certificates = ctx.certificate.certificates if ctx.certificate else []
    if not certificates:
        return _NO_CERTIFICATE
    # A root's own signature is never checked by a verifier, so it does not count.
    judged = certificates[:1] if rule.scope == "leaf" else [c for c in certificates if not c.self_signed]
    details = []
    for cert in judged:
        if rule.algorithms is not None:
            bad = cert.signature_algorithm not in rule.algorithms
        else:
            bad = cert.signature_hash is not None and cert.signature_hash not in (rule.hashes or [])
        if bad:
            details.append(f"{cert.subject}: {cert.signature_algorithm}")
    return (FAIL, details) if details else (PASS, [])


def _certificate_lifespan(rule: d.CertificateLifespan, ctx: Context) -> Verdict:
    certificates = ctx.certificate.certificates if ctx.certificate else []
    if not certificates:
        return _NO_CERTIFICATE
    leaf = certificates[0]
    days = (leaf.not_after - leaf.not_before) // timedelta(days=1)
    return (FAIL, [f"valid for {days} days (at most {rule.max_days})"]) if days > rule.max_days else (PASS, [])


def _certificate_trusted(_rule: d.CertificateTrusted, ctx: Context) -> Verdict:
    certificate = ctx.certificate
    if certificate is None or certificate.trusted is None:
        return NOT_EVALUATED, ["no certificate was obtained or its trust was not judged"]
    details = []
    if not certificate.trusted:
        reasons = [problem.detail for problem in certificate.untrusted_reasons[:3]]
        details.append("not trusted" + (f": {'; '.join(reasons)}" if reasons else ""))
    if certificate.identity_matches is False:
        details.append(f"does not name {certificate.reference_identity or ctx.domain}")
    quality = certificate.quality
    if quality is not None and (quality.expired or quality.not_yet_valid):
        details.append("expired" if quality.expired else "not yet valid")
    return (FAIL, details) if details else (PASS, [])


def _encryption_required(_rule: d.EncryptionRequired, ctx: Context) -> Verdict:
    if ctx.endpoint.transport is Transport.DIRECTTLS:
        return PASS, []
    stream = ctx.endpoint.stream
    if stream is None or stream.starttls is None:
        return NOT_EVALUATED, ["the stream features were not observed"]
    if stream.starttls is StarttlsPolicy.ABSENT:
        return FAIL, ["STARTTLS is not offered"]
    if stream.starttls is StarttlsPolicy.OPTIONAL:
        went_on = stream.enforcement is not None and stream.enforcement.accepted is True
        return FAIL, ["STARTTLS is optional" + (" and the server went on without TLS" if went_on else "")]
    return PASS, []


def _ocsp_stapling(_rule: d.OcspStapling, ctx: Context) -> Verdict:
    quality = ctx.certificate.quality if ctx.certificate else None
    if quality is None or quality.staple_present is None:
        return NOT_EVALUATED, ["the scanner did not look for an OCSP staple"]
    return (PASS, []) if quality.staple_present else (FAIL, ["no OCSP response is stapled"])


def _legacy_extensions(rule: d.LegacyExtensions, ctx: Context) -> Verdict:
    tls = ctx.tls
    if tls is None:
        return _TLS_UNSEEN
    if not any(version in _LEGACY_VERSIONS for version in tls.versions):
        return NOT_APPLICABLE, ["no version up to TLS 1.2 is accepted"]
    ext = tls.extensions
    if ext is None:
        return NOT_EVALUATED, ["the TLS 1.2 extension answers were not observed"]
    supported = {"renegotiation_info": ext.secure_renegotiation, "extended_master_secret": ext.extended_master_secret}
    details = [f"{name} is not supported" for name in rule.required if not supported[name]]
    if "heartbeat" in rule.forbidden and ext.heartbeat:
        details.append("heartbeat is answered")
    if "compression" in rule.forbidden and ext.compression is not None:
        details.append(f"TLS compression ({ext.compression}) is chosen")
    if "truncated_hmac" in rule.forbidden and ext.truncated_hmac:
        details.append("truncated_hmac is answered")
    if details:
        return FAIL, details
    if "truncated_hmac" in rule.forbidden and ext.truncated_hmac is None:
        return NOT_EVALUATED, ["truncated_hmac was not asked for (a document from an older scanner)"]
    return PASS, []


def _unobserved(rule: d.Unobserved, _ctx: Context) -> Verdict:
    return NOT_EVALUATED, [f"the scanner does not observe {rule.needs} yet"]


_EVALUATORS: dict[type, Callable[..., Verdict]] = {
    d.VersionsAllowed: _versions_allowed,
    d.VersionsRequired: _versions_required,
    d.SuitesAllowed: _suites_allowed,
    d.SuitesForbidden: _suites_forbidden,
    d.ForwardSecrecy: _forward_secrecy,
    d.ServerOrder: _server_order,
    d.KeyExchangeGroups: _key_exchange_groups,
    d.DhMinBits: _dh_min_bits,
    d.CbcEncryptThenMac: _cbc_encrypt_then_mac,
    d.CertificateKey: _certificate_key,
    d.CertificateSignature: _certificate_signature,
    d.CertificateLifespan: _certificate_lifespan,
    d.CertificateTrusted: _certificate_trusted,
    d.EncryptionRequired: _encryption_required,
    d.OcspStapling: _ocsp_stapling,
    d.LegacyExtensions: _legacy_extensions,
    d.Unobserved: _unobserved,
}


def evaluate_endpoint(profile: d.Profile, endpoint: Endpoint, domain: str) -> EndpointCompliance:
    if endpoint.grade is None or endpoint.tls is None:
        first = endpoint.errors[0].message if endpoint.errors else "no result"
        return EndpointCompliance(
            endpoint=endpoint.id, status=NOT_EVALUATED, notes=[f"the endpoint was not scanned: {first}"]
        )
    ctx = Context(domain=domain, endpoint=endpoint)
    outcomes = []
    failed = False
    for rule in profile.rules:
        status, details = _EVALUATORS[type(rule)](rule, ctx)
        outcomes.append(ComplianceOutcome(item=rule.id, status=status, details=details))
        failed = failed or (status is FAIL and rule.level is ComplianceLevel.MUST)
    notes = []
    if endpoint.tls.errors:
        count = len(endpoint.tls.errors)
        notes.append(f"the TLS enumeration met {count} error{'s' if count != 1 else ''}; its lists may be incomplete")
    unknown = [name for names in endpoint.tls.cipher_suites.values() for name in names if by_name(name) is None]
    if unknown:
        notes.append(f"suites the registry does not know were not classified: {', '.join(dict.fromkeys(unknown))}")
    return EndpointCompliance(endpoint=endpoint.id, status=FAIL if failed else PASS, outcomes=outcomes, notes=notes)


def evaluate_profile(profile: d.Profile, result: ScanResult) -> ProfileResult:
    endpoints = [
        evaluate_endpoint(profile, endpoint, result.domain)
        for service in (result.services.c2s, result.services.s2s)
        if service is not None
        for endpoint in service.endpoints
    ]
    statuses = {endpoint.status for endpoint in endpoints}
    if FAIL in statuses:
        status = FAIL
    elif not endpoints or NOT_EVALUATED in statuses:
        status = NOT_EVALUATED
    else:
        status = PASS
    return ProfileResult(
        id=profile.id,
        name=profile.name,
        edition=profile.edition,
        status=status,
        items=profile.items(),
        endpoints=endpoints,
    )
