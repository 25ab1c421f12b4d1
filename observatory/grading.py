"""The grade: an SSL Labs-style score, then caps from findings, each with its reason.

Pure and versioned: the same facts and findings always give the same grade under one
``RULES_VERSION``, so stored scans can be re-graded when the table changes. ``docs/grading.md`` is
generated from the tables here (``observatory docs``); a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from observatory.certificates import CertificateAnalysis
from observatory.checks.tls import accepted_suites
from observatory.model import Finding, Grade, GradeCap, GradeLetter, Severity
from scanners.base import Transport
from scanners.stream.facts import StarttlsPolicy
from scanners.tls.facts import TlsFacts, TlsVersion

#: 2026.12.1: tls.ccs-injection and tls.robot cap at F (the attack tests of #18).
RULES_VERSION = "2026.12.1"

#: Best first. T (untrusted) ranks just above F: the configuration may be sound, but peers
#: that check certificates cannot connect safely.
ORDER: tuple[GradeLetter, ...] = ("A+", "A", "A-", "B", "C", "D", "E", "T", "F")

#: Score → letter, first band that the score reaches.
SCORE_BANDS: tuple[tuple[int, GradeLetter], ...] = ((80, "A"), (65, "B"), (50, "C"), (35, "D"), (20, "E"), (0, "F"))

#: Weights of the three categories, in percent.
WEIGHTS = {"protocol": 30, "key_exchange": 30, "cipher": 40}

PROTOCOL_POINTS: dict[TlsVersion, int] = {
    TlsVersion.SSL2: 0,
    TlsVersion.SSL3: 80,
    TlsVersion.TLS10: 90,
    TlsVersion.TLS11: 95,
    TlsVersion.TLS12: 100,
    TlsVersion.TLS13: 100,
}

#: (bits below which, points) for RSA/DSA keys and DH groups; the first row that fits applies.
RSA_KEY_POINTS: tuple[tuple[int, int], ...] = ((512, 20), (1024, 40), (2048, 80), (4096, 90))
#: The same bands for elliptic-curve keys, by curve size (testssl.sh's mapping of SSL Labs' table).
EC_KEY_POINTS: tuple[tuple[int, int], ...] = ((110, 20), (123, 40), (163, 80), (225, 90))
#: Key exchange points when an export suite is accepted, and when an anonymous one is.
EXPORT_KX_POINTS = 40
ANONYMOUS_KX_POINTS = 0

#: (symmetric bits below which, points); 256 bits and more give 100.
CIPHER_POINTS: tuple[tuple[int, int], ...] = ((1, 0), (128, 20), (256, 80))

#: Finding id → the best grade an endpoint with that finding can get. T is special: it replaces the
#: letter, and the grade the endpoint would have if it were trusted is kept beside it.
CAPS: dict[str, GradeLetter] = {
    "tls.protocol.sslv2": "F",
    "tls.protocol.sslv3": "C",
    "tls.protocol.tls10": "B",
    "tls.protocol.tls11": "B",
    "tls.protocol.no-tls12": "C",
    "tls.cipher.null": "F",
    "tls.cipher.anonymous": "F",
    "tls.cipher.export": "F",
    "tls.cipher.rc4": "C",
    "tls.cipher.3des": "C",
    "tls.cipher.no-forward-secrecy": "B",
    "tls.cipher.no-aead": "B",
    "xmpp.starttls.absent": "F",
    "xmpp.starttls.optional": "B",
    "xmpp.starttls.not-enforced": "C",
    "xmpp.starttls.injection": "F",
    "xmpp.sasl.plain-before-tls": "C",
    "xmpp.compression.offered": "C",
    "dns.dnssec.bogus": "F",
    "dane.mismatch": "F",
    "cert.key.weak": "B",
    "tls.dh.under-2048": "B",
    "tls.dh.under-1024": "F",
    "tls.dh.composite": "F",
    "tls.compression": "C",
    "tls.renegotiation.insecure": "F",
    "tls.heartbleed": "F",
    "tls.ccs-injection": "F",
    "tls.robot": "F",
    "cert.chain.incomplete": "B",
    "cert.untrusted": "T",
    "cert.identity.mismatch": "T",
    "cert.expired": "T",
    "cert.self-signed": "T",
    "cert.signature.weak": "T",
}

#: Findings that decide the grade even when no TLS could be observed at all.
WITHOUT_TLS: dict[str, str] = {
    "xmpp.starttls.absent": "no TLS at all",
    "dns.dnssec.bogus": "DNSSEC validation fails",
}


def rank(letter: GradeLetter) -> int:
    return ORDER.index(letter)


def worst(letters: Iterable[GradeLetter]) -> GradeLetter | None:
    ranked = sorted(letters, key=rank)
    return ranked[-1] if ranked else None


def letter_for_score(score: int) -> GradeLetter:
    return next(letter for floor, letter in SCORE_BANDS if score >= floor)


def _band(value: int, bands: Sequence[tuple[int, int]]) -> int:
    return next((points for below, points in bands if value < below), 100)


@dataclass(frozen=True)
class Scores:
    protocol: int
    key_exchange: int
    cipher: int

    @property
    def total(self) -> int:
        # As in SSL Labs' guide: a zero in any category makes the whole score zero.
        if 0 in (self.protocol, self.key_exchange, self.cipher):
            return 0
        weighted = (
            WEIGHTS["protocol"] * self.protocol
            + WEIGHTS["key_exchange"] * self.key_exchange
            + WEIGHTS["cipher"] * self.cipher
        )
        return round(weighted / 100)


def score(tls: TlsFacts, certificate: CertificateAnalysis | None) -> Scores | None:
    """The three category scores, or None when no TLS version was accepted (nothing to score)."""
    if not tls.versions:
        return None
    points = [PROTOCOL_POINTS[version] for version in tls.versions]
    protocol = (max(points) + min(points)) // 2

    suites = list(accepted_suites(tls))
    key_exchange = 100
    leaf_key = certificate.quality.leaf_key if certificate and certificate.quality else None
    if leaf_key is not None and leaf_key.bits:
        table = EC_KEY_POINTS if leaf_key.type == "EC" else RSA_KEY_POINTS
        key_exchange = _band(leaf_key.bits, table) if leaf_key.type in ("RSA", "DSA", "EC") else 100
    # The weakest key exchange counts: a small DH group is as bad as a small server key.
    for dh in tls.dh_parameters:
        key_exchange = min(key_exchange, _band(dh.prime_bits, RSA_KEY_POINTS))
    if any(suite.export for suite in suites):
        key_exchange = min(key_exchange, EXPORT_KX_POINTS)
    if any(suite.auth == "anon" for suite in suites):
        key_exchange = ANONYMOUS_KX_POINTS

    bits = [suite.bits for suite in suites]
    cipher = (_band(max(bits), CIPHER_POINTS) + _band(min(bits), CIPHER_POINTS)) // 2 if bits else 100
    return Scores(protocol=protocol, key_exchange=key_exchange, cipher=cipher)


def _encryption_enforced(transport: Transport, starttls: StarttlsPolicy | None) -> bool:
    return transport is Transport.DIRECTTLS or starttls is StarttlsPolicy.REQUIRED


def grade_endpoint(
    *,
    tls: TlsFacts | None,
    transport: Transport,
    starttls: StarttlsPolicy | None,
    certificate: CertificateAnalysis | None,
    findings: Sequence[Finding],
) -> Grade | None:
    """The endpoint's grade from its facts and its own findings; None when it could not be scanned."""
    ids = {finding.id for finding in findings}
    if tls is None or not tls.versions:
        caps = [GradeCap(grade="F", reason=reason, finding=fid) for fid, reason in WITHOUT_TLS.items() if fid in ids]
        return Grade(letter="F", score=0, caps=caps) if caps else None
    scores = score(tls, certificate)
    assert scores is not None  # versions is not empty
    letter = letter_for_score(scores.total)
    caps = [
        GradeCap(grade=CAPS[finding.id], reason=_title(finding.id), finding=finding.id)
        for finding in findings
        if finding.id in CAPS
    ]
    for cap in caps:
        if cap.grade != "T" and rank(cap.grade) > rank(letter):
            letter = cap.grade

    if letter == "A":
        # Judged as if trusted: trust problems give T below, they do not also take the "+" away.
        severities = {finding.severity for finding in findings if CAPS.get(finding.id) != "T"}
        if severities & {Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM}:
            pass
        elif Severity.LOW in severities:
            letter = "A-"
            caps.append(GradeCap(grade="A-", reason="a low-severity finding remains"))
        elif TlsVersion.TLS13 in tls.versions and _encryption_enforced(transport, starttls):
            letter = "A+"
        else:
            reasons = []
            if TlsVersion.TLS13 not in tls.versions:
                reasons.append("TLS 1.3 is not supported")
            if not _encryption_enforced(transport, starttls):
                reasons.append("encryption is not required")
            caps.append(GradeCap(grade="A", reason="A+ needs " + " and ".join(reasons) + " fixed"))

    if any(cap.grade == "T" for cap in caps):
        # T replaces the letter, unless trust would not help anyway (an F stays an F).
        return Grade(letter=worst(["T", letter]) or "T", score=scores.total, caps=caps, if_trusted=letter)
    return Grade(letter=letter, score=scores.total, caps=caps)


def grade_service(endpoint_grades: Iterable[Grade | None]) -> Grade | None:
    """A service is as strong as its weakest endpoint: an attacker can steer peers to it."""
    letters = [grade.letter for grade in endpoint_grades if grade is not None]
    letter = worst(letters)
    return Grade(letter=letter) if letter else None


def _title(finding_id: str) -> str:
    from observatory.catalogue import catalogue

    entry = catalogue().get(finding_id)
    return entry.title if entry else finding_id
