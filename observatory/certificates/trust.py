"""Trust: a path from the leaf to a root, built by ``cryptography.x509.verification``, and why not.

The path is built with a *client* verifier and relaxed extension policies, because a server
verifier insists on a DNS-ID or IP-ID matching a name given up front: it would call a correct XMPP
certificate (SRV-ID/XmppAddr only) untrusted and mix trust with identity, which is judged on its
own (``identity.py``). What the server verifier would still have required, we require ourselves:
serverAuth in every extendedKeyUsage on the path. Path building backtracks, so chains sent out of
order, extra certificates, and cross-signs up to an expired root (the Let's Encrypt/DST Root CA X3
case) end in the valid root whenever one is reachable.

When no path validates, our own bounded search over the same certificates finds the best partial
path to explain why: an issuer that was not sent, a root nobody trusts, an expired link, a SHA-1
signature … ``cryptography``'s message is kept when that search finds nothing more specific.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import Criticality, ExtensionPolicy, Policy, PolicyBuilder

from observatory.certificates.model import (
    CertificateSource,
    ChainProblem,
    ChainProblemCode,
    PathCertificate,
    TrustProblem,
    TrustProblemCode,
)
from observatory.certificates.parse import (
    WEAK_HASHES,
    ParsedCertificate,
    access_urls,
    directly_issued_by,
    extension_value,
    is_self_signed,
    name_text,
    signature_hash,
    spki_of,
)
from observatory.certificates.roots import TrustRoots

#: Signature checks the diagnostic search may spend; plenty for any real chain, a bound for hostile ones.
_SEARCH_BUDGET = 64
_MIN_RSA_BITS = 2048


class _NotForServerAuth(ValueError):
    pass


def _require_server_auth(_policy: Policy, cert: x509.Certificate, eku: x509.ExtendedKeyUsage | None) -> None:
    if eku is not None and not _allows_server_auth(eku):
        raise _NotForServerAuth(f"extendedKeyUsage of {cert.subject.rfc4514_string()} lacks serverAuth")


def _allows_server_auth(eku: x509.ExtendedKeyUsage) -> bool:
    return ExtendedKeyUsageOID.SERVER_AUTH in eku or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in eku


_EE_POLICY = (
    ExtensionPolicy.webpki_defaults_ee()
    .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
    .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _require_server_auth)
)
_CA_POLICY = ExtensionPolicy.webpki_defaults_ca().may_be_present(
    x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _require_server_auth
)


@dataclass(frozen=True)
class TrustOutcome:
    trusted: bool
    #: The validated path, or the best partial one when there is none; leaf first.
    path: tuple[x509.Certificate, ...]
    entries: list[PathCertificate]
    anchor: CertificateSource | None
    problems: list[TrustProblem]
    chain_problems: list[ChainProblem]


def assess_trust(chain: list[ParsedCertificate], roots: TrustRoots, at: datetime) -> TrustOutcome:
    """Trust of ``chain`` (as sent, leaf first) against ``roots`` at time ``at``."""
    if not chain or chain[0].index != 0:
        code = TrustProblemCode.NO_CERTIFICATE if not chain else TrustProblemCode.UNPARSEABLE
        detail = "the server sent no certificate" if not chain else "the server's own certificate cannot be read"
        return TrustOutcome(False, (), [], None, [TrustProblem(code=code, detail=detail, sent_index=0)], [])
    leaf, intermediates = chain[0].cert, [c.cert for c in chain[1:]]
    message = "no trust roots are configured"
    if roots.store is not None:
        verifier = (
            PolicyBuilder()
            .store(roots.store)
            .time(at)
            .extension_policies(ca_policy=_CA_POLICY, ee_policy=_EE_POLICY)
            .build_client_verifier()
        )
        try:
            path = tuple(verifier.verify(leaf, intermediates).chain)
        except Exception as exc:  # VerificationError, or a refusal from the library on odd input
            message = str(exc)
        else:
            return _outcome(True, path, chain, roots, [])
    path, ending = _search(leaf, intermediates, roots)
    problems = _Explainer(roots, at, {c.der: c.index for c in chain}).explain(path, ending, message)
    return _outcome(False, path, chain, roots, problems)


def _outcome(
    trusted: bool,
    path: tuple[x509.Certificate, ...],
    chain: list[ParsedCertificate],
    roots: TrustRoots,
    problems: list[TrustProblem],
) -> TrustOutcome:
    sent = {c.der: c for c in chain}
    ders = [_der(cert) for cert in path]
    anchor = roots.source_of(ders[-1]) if path else None
    entries = []
    for cert, der in zip(path, ders, strict=True):
        mine = sent.get(der)
        entries.append(
            PathCertificate(
                subject=mine.summary.subject if mine else cert.subject.rfc4514_string(),
                sha256=mine.summary.sha256 if mine else _sha256(der),
                spki_sha256=mine.summary.spki_sha256 if mine else _sha256(spki_of(cert)),
                source=CertificateSource.SENT if mine else (roots.source_of(der) or CertificateSource.SENT),
                sent_index=mine.index if mine else None,
                der=None if mine else der,
            )
        )
    chain_problems = _hygiene(chain, path, ders, anchor is not None and trusted, entries)
    if any(p.code is TrustProblemCode.INCOMPLETE_CHAIN for p in problems):
        detail = next(p.detail for p in problems if p.code is TrustProblemCode.INCOMPLETE_CHAIN)
        chain_problems.insert(0, ChainProblem(code=ChainProblemCode.INCOMPLETE, detail=detail))
    return TrustOutcome(trusted, path, entries, anchor if trusted else None, problems, chain_problems)


# --- Chain hygiene -------------------------------------------------------------------------------


def _hygiene(
    chain: list[ParsedCertificate],
    path: tuple[x509.Certificate, ...],
    ders: list[bytes],
    anchored: bool,
    entries: list[PathCertificate],
) -> list[ChainProblem]:
    problems: list[ChainProblem] = []
    used = [e.sent_index for e in entries if e.sent_index is not None]
    if used != sorted(used):
        order = ", ".join(f"#{i}" for i in used)
        problems.append(
            ChainProblem(
                code=ChainProblemCode.OUT_OF_ORDER,
                detail=f"the path uses the sent certificates in the order {order}; send each issuer after "
                "the certificate it signed",
            )
        )
    if anchored and entries and entries[-1].sent_index is not None and len(entries) > 1:
        problems.append(
            ChainProblem(
                code=ChainProblemCode.ROOT_SENT,
                sent_index=entries[-1].sent_index,
                detail=f"the root {entries[-1].subject} was sent; clients have it already",
            )
        )
    in_path = set(ders)
    for sent in chain[1:]:
        if sent.der in in_path:
            continue
        problems.append(
            ChainProblem(code=ChainProblemCode.UNUSED, sent_index=sent.index, detail=_why_unused(sent, path))
        )
    return problems


def _why_unused(sent: ParsedCertificate, path: tuple[x509.Certificate, ...]) -> str:
    subject = sent.summary.subject
    for cert in path:
        if cert.subject == sent.cert.subject and spki_of(cert) == sent.spki:
            return (
                f"#{sent.index} {subject} is a cross-signed copy (issued by {sent.summary.issuer}) of a certificate "
                "the path uses; only clients that lack the newer root need it"
            )
    if sent.summary.self_signed:
        return f"#{sent.index} {subject} is a root that the path does not end in"
    return f"#{sent.index} {subject} (issued by {sent.summary.issuer}) is not part of the path"


# --- Explaining an untrusted chain ---------------------------------------------------------------


def _search(
    leaf: x509.Certificate, intermediates: list[x509.Certificate], roots: TrustRoots
) -> tuple[tuple[x509.Certificate, ...], str]:
    """The best path from ``leaf``: one ending in a root if any does, else the longest; and how it ends.

    Endings: ``anchor`` (a trusted root), ``self-signed`` (an untrusted root or self-signed leaf),
    ``no-issuer`` (nothing sent or trusted signed the last certificate), ``budget``.
    """
    budget = [_SEARCH_BUDGET]
    best: tuple[tuple[x509.Certificate, ...], str] = ((leaf,), "no-issuer")

    def walk(path: tuple[x509.Certificate, ...]) -> tuple[tuple[x509.Certificate, ...], str] | None:
        nonlocal best
        current = path[-1]
        if roots.source_of(_der(current)) is not None:
            return path, "anchor"
        if is_self_signed(current):
            ending = "self-signed"
            if len(path) >= len(best[0]):
                best = (path, ending)
            return None
        if len(path) > len(best[0]):
            best = (path, "no-issuer")
        for issuer in _issuers(current, intermediates, roots, path, budget):
            found = walk((*path, issuer))
            if found is not None:
                return found
        return None

    found = walk((leaf,))
    if found is not None:
        return found
    if budget[0] <= 0 and best[1] == "no-issuer":
        return best[0], "budget"
    return best


def _issuers(
    cert: x509.Certificate,
    intermediates: list[x509.Certificate],
    roots: TrustRoots,
    path: tuple[x509.Certificate, ...],
    budget: list[int],
) -> Iterator[x509.Certificate]:
    # Trusted roots first, as a path builder does; then what was sent.
    candidates = [*roots.named(cert.issuer), *(c for c in intermediates if c.subject == cert.issuer)]
    for candidate in candidates:
        if candidate in path or budget[0] <= 0:
            continue
        budget[0] -= 1
        if directly_issued_by(cert, candidate):
            yield candidate


class _Explainer:
    """Turns the best partial path into reasons, each naming the certificate (and its position as sent)."""

    def __init__(self, roots: TrustRoots, at: datetime, sent: dict[bytes, int]) -> None:
        self.roots, self.at, self.sent = roots, at, sent

    def explain(self, path: tuple[x509.Certificate, ...], ending: str, message: str) -> list[TrustProblem]:
        leaf, last = path[0], path[-1]
        problems: list[TrustProblem] = []
        if ending == "self-signed" and len(path) == 1:
            problems.append(self.problem(TrustProblemCode.SELF_SIGNED, leaf, "the certificate is self-signed"))
        elif ending == "self-signed":
            detail = f"the chain ends at {_subject_of(last)}, a root that is not trusted"
            problems.append(self.problem(TrustProblemCode.UNKNOWN_ROOT, last, detail))
        elif ending in ("no-issuer", "budget"):
            problems.append(self.missing_issuer(last, len(path) == 1))
        for position, cert in enumerate(path):
            is_anchor = ending == "anchor" and position == len(path) - 1
            problems += self.validity(cert)
            if not is_anchor and not (position > 0 and is_self_signed(cert)):
                problems += self.signature(cert)
            if position + 1 < len(path):
                problems += self.issuer(cert, path[position + 1])
            problems += self.usage(cert)
        if not problems:
            detail = f"the path validator refused the chain: {message}"
            problems.append(TrustProblem(code=TrustProblemCode.POLICY, detail=detail))
        return problems

    def problem(self, code: TrustProblemCode, cert: x509.Certificate, detail: str) -> TrustProblem:
        return TrustProblem(
            code=code, detail=detail, certificate=_subject_of(cert), sent_index=self.sent.get(_der(cert))
        )

    def missing_issuer(self, last: x509.Certificate, is_leaf: bool) -> TrustProblem:
        issuer = name_text(last.issuer)
        if self.roots.named(last.issuer):
            detail = f"a trusted root is named {issuer}, but its key did not sign {_subject_of(last)}"
            return self.problem(TrustProblemCode.BAD_SIGNATURE, last, detail)
        if not is_leaf:
            # Either a private CA or a missing intermediate higher up: only the operator can tell.
            detail = (
                f"the chain ends at {_subject_of(last)}, whose issuer {issuer} was not sent and is not a trusted root"
            )
            return self.problem(TrustProblemCode.UNKNOWN_ROOT, last, detail)
        urls = access_urls(
            extension_value(last, x509.AuthorityInformationAccess), x509.AuthorityInformationAccessOID.CA_ISSUERS
        )
        hint = f"; it can be fetched from {urls[0]}, which few XMPP clients do" if urls else ""
        detail = f"incomplete chain: the issuer {issuer} of the server's certificate was not sent{hint}"
        return self.problem(TrustProblemCode.INCOMPLETE_CHAIN, last, detail)

    def validity(self, cert: x509.Certificate) -> list[TrustProblem]:
        if cert.not_valid_after_utc < self.at:
            detail = f"{_subject_of(cert)} expired on {cert.not_valid_after_utc:%Y-%m-%d}"
            return [self.problem(TrustProblemCode.EXPIRED, cert, detail)]
        if cert.not_valid_before_utc > self.at:
            detail = f"{_subject_of(cert)} is valid only from {cert.not_valid_before_utc:%Y-%m-%d}"
            return [self.problem(TrustProblemCode.NOT_YET_VALID, cert, detail)]
        return []

    def signature(self, cert: x509.Certificate) -> list[TrustProblem]:
        algorithm = signature_hash(cert)
        if algorithm is None or algorithm not in WEAK_HASHES:
            return []
        detail = f"{_subject_of(cert)} is signed with {algorithm.upper()}, which verifiers refuse"
        return [self.problem(TrustProblemCode.WEAK_SIGNATURE, cert, detail)]

    def issuer(self, cert: x509.Certificate, issuer: x509.Certificate) -> list[TrustProblem]:
        problems = []
        try:
            key = issuer.public_key()
        except Exception:  # an unreadable key: the validator's message says more
            key = None
        if isinstance(key, rsa.RSAPublicKey | dsa.DSAPublicKey) and key.key_size < _MIN_RSA_BITS:
            detail = f"{_subject_of(issuer)} signs with a {key.key_size}-bit key; at least {_MIN_RSA_BITS} are required"
            problems.append(self.problem(TrustProblemCode.WEAK_KEY, issuer, detail))
        basic = extension_value(issuer, x509.BasicConstraints)
        if not (isinstance(basic, x509.BasicConstraints) and basic.ca):
            detail = f"{_subject_of(issuer)} signed {_subject_of(cert)} but is not a CA"
            problems.append(self.problem(TrustProblemCode.NOT_A_CA, issuer, detail))
        return problems

    def usage(self, cert: x509.Certificate) -> list[TrustProblem]:
        eku = extension_value(cert, x509.ExtendedKeyUsage)
        if not isinstance(eku, x509.ExtendedKeyUsage) or _allows_server_auth(eku):
            return []
        detail = f"{_subject_of(cert)} has an extendedKeyUsage without serverAuth: TLS servers may not use it"
        return [self.problem(TrustProblemCode.NOT_FOR_SERVER_AUTH, cert, detail)]


def _subject_of(cert: x509.Certificate) -> str:
    return name_text(cert.subject)


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
