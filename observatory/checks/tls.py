"""Checks of the TLS versions and cipher suites an endpoint accepts."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from observatory.checks import EndpointContext, Outcome, endpoint_check
from scanners.tls.facts import TlsFacts, TlsVersion
from scanners.tls.registry import CipherSuite, by_name


def _tls(ctx: EndpointContext) -> TlsFacts | None:
    return ctx.endpoint.tls


def _accepts(version: TlsVersion) -> Callable[[EndpointContext], Outcome]:
    def check(ctx: EndpointContext) -> Outcome:
        tls = _tls(ctx)
        return tls is not None and version in tls.versions

    return check


for _version, _id in (
    (TlsVersion.SSL2, "tls.protocol.sslv2"),
    (TlsVersion.SSL3, "tls.protocol.sslv3"),
    (TlsVersion.TLS10, "tls.protocol.tls10"),
    (TlsVersion.TLS11, "tls.protocol.tls11"),
):
    endpoint_check(_id)(_accepts(_version))


@endpoint_check("tls.protocol.no-tls12")
def no_tls12(ctx: EndpointContext) -> Outcome:
    tls = _tls(ctx)
    return tls is not None and bool(tls.versions) and TlsVersion.TLS12 not in tls.versions


@endpoint_check("tls.protocol.no-tls13")
def no_tls13(ctx: EndpointContext) -> Outcome:
    tls = _tls(ctx)
    return tls is not None and bool(tls.versions) and TlsVersion.TLS13 not in tls.versions


def accepted_suites(tls: TlsFacts) -> Iterator[CipherSuite]:
    """Every accepted suite the registry knows, once, whatever the versions it was accepted with."""
    seen: set[str] = set()
    for names in tls.cipher_suites.values():
        for name in names:
            suite = by_name(name)
            if suite is not None and name not in seen:
                seen.add(name)
                yield suite


def _suites_where(predicate: Callable[[CipherSuite], bool]) -> Callable[[EndpointContext], Outcome]:
    def check(ctx: EndpointContext) -> Outcome:
        tls = _tls(ctx)
        if tls is None:
            return False
        matching = [suite.name for suite in accepted_suites(tls) if predicate(suite)]
        return ", ".join(matching) if matching else False

    return check


endpoint_check("tls.cipher.null")(_suites_where(lambda s: s.cipher == "NULL" or s.bits == 0))
endpoint_check("tls.cipher.anonymous")(_suites_where(lambda s: s.auth == "anon"))
endpoint_check("tls.cipher.export")(_suites_where(lambda s: s.export or 0 < s.bits < 112))
endpoint_check("tls.cipher.rc4")(_suites_where(lambda s: s.cipher == "RC4"))
endpoint_check("tls.cipher.3des")(_suites_where(lambda s: s.cipher == "3DES_EDE_CBC"))
endpoint_check("tls.cipher.static-rsa")(_suites_where(lambda s: s.kx == "RSA" and not s.fs))


def _none_of(predicate: Callable[[CipherSuite], bool]) -> Callable[[EndpointContext], Outcome]:
    def check(ctx: EndpointContext) -> Outcome:
        tls = _tls(ctx)
        if tls is None:
            return False
        suites = list(accepted_suites(tls))
        return bool(suites) and not any(predicate(suite) for suite in suites)

    return check


endpoint_check("tls.cipher.no-forward-secrecy")(_none_of(lambda s: s.fs))
endpoint_check("tls.cipher.no-aead")(_none_of(lambda s: s.aead))


@endpoint_check("tls.cipher.client-order")
def client_order(ctx: EndpointContext) -> Outcome:
    tls = _tls(ctx)
    if tls is None:
        return False
    # Only meaningful where the server had a choice to make.
    follows_client = [
        version.value
        for version, enforced in tls.server_order.items()
        if not enforced and len(tls.cipher_suites.get(version, [])) > 1
    ]
    return ", ".join(follows_client) if follows_client else False


# --- Key exchange parameters and extension behaviour (TLS engine part 2) -------------------------

#: RFC 9325 §4.1 requires at least 2048-bit DH groups; under 1024 bits is breakable today (Logjam).
DH_MINIMUM_BITS = 2048
DH_BROKEN_BITS = 1024
#: Ticket keys should rotate weekly (RFC 9325 §3.4); a longer lifetime hint keeps old keys useful.
TICKET_LIFETIME_LIMIT = 7 * 24 * 3600


def _dh_where(ctx: EndpointContext, wanted: Callable[[int], bool]) -> Outcome:
    tls = _tls(ctx)
    if tls is None:
        return False
    weak = sorted({f"{dh.family} {dh.prime_bits} bits" for dh in tls.dh_parameters if wanted(dh.prime_bits)})
    return ", ".join(weak) if weak else False


@endpoint_check("tls.dh.under-2048")
def dh_under_2048(ctx: EndpointContext) -> Outcome:
    return _dh_where(ctx, lambda bits: DH_BROKEN_BITS <= bits < DH_MINIMUM_BITS)


@endpoint_check("tls.dh.under-1024")
def dh_under_1024(ctx: EndpointContext) -> Outcome:
    return _dh_where(ctx, lambda bits: bits < DH_BROKEN_BITS)


@endpoint_check("tls.dh.common-prime")
def dh_common_prime(ctx: EndpointContext) -> Outcome:
    tls = _tls(ctx)
    if tls is None:
        return False
    shared = sorted({dh.common for dh in tls.dh_parameters if dh.common})
    return "; ".join(shared) if shared else False


@endpoint_check("tls.dh.composite")
def dh_composite(ctx: EndpointContext) -> Outcome:
    tls = _tls(ctx)
    return tls is not None and any(dh.composite for dh in tls.dh_parameters)


@endpoint_check("tls.compression")
def compression(ctx: EndpointContext) -> Outcome:
    tls = _tls(ctx)
    if tls is None or tls.extensions is None or tls.extensions.compression is None:
        return False
    return tls.extensions.compression


@endpoint_check("tls.renegotiation.insecure")
def insecure_renegotiation(ctx: EndpointContext) -> Outcome:
    tls = _tls(ctx)
    return tls is not None and tls.extensions is not None and not tls.extensions.secure_renegotiation


@endpoint_check("tls.ems.absent")
def no_extended_master_secret(ctx: EndpointContext) -> Outcome:
    tls = _tls(ctx)
    return tls is not None and tls.extensions is not None and not tls.extensions.extended_master_secret


@endpoint_check("tls.heartbleed")
def heartbleed(ctx: EndpointContext) -> Outcome:
    tls = _tls(ctx)
    if tls is None or tls.extensions is None or not tls.extensions.heartbleed:
        return False
    return f"the server echoed {tls.extensions.heartbleed_overread or 'some'} bytes it was never sent"


@endpoint_check("tls.ccs-injection")
def ccs_injection(ctx: EndpointContext) -> Outcome:
    tls = _tls(ctx)
    if tls is None or tls.extensions is None or not tls.extensions.ccs_injection:
        return False
    return "a ChangeCipherSpec before the key exchange was taken (the next record failed its MAC)"


@endpoint_check("tls.robot")
def robot(ctx: EndpointContext) -> Outcome:
    tls = _tls(ctx)
    if tls is None or tls.robot is None or not tls.robot.vulnerable:
        return False
    answers = ", ".join(f"{variant}: {answer}" for variant, answer in tls.robot.answers.items())
    return f"{tls.robot.oracle or 'an'} oracle over {tls.robot.version} ({answers})"


def _observed(field: str, value: bool) -> Callable[[EndpointContext], Outcome]:
    """A finding when a yes/no fact was observed to be ``value`` (None: not observed, no finding)."""

    def check(ctx: EndpointContext) -> Outcome:
        tls = _tls(ctx)
        return tls is not None and getattr(tls, field) is value

    return check


for _id, _field, _value in (
    ("tls.renegotiation.client-initiated", "client_renegotiation", True),
    ("tls.downgrade-sentinel.absent", "downgrade_sentinel", False),
    ("tls.fallback-scsv.ignored", "fallback_scsv", False),
):
    endpoint_check(_id)(_observed(_field, _value))


@endpoint_check("tls.session-ticket.long-lifetime")
def long_ticket_lifetime(ctx: EndpointContext) -> Outcome:
    tls = _tls(ctx)
    ticket = tls.session_ticket if tls else None
    if ticket is None or not ticket.lifetime_hint_seconds or ticket.lifetime_hint_seconds <= TICKET_LIFETIME_LIMIT:
        return False
    return f"lifetime hint {ticket.lifetime_hint_seconds // 3600} hours"


@endpoint_check("tls.ocsp.no-staple")
def no_ocsp_staple(ctx: EndpointContext) -> Outcome:
    tls = _tls(ctx)
    return tls is not None and tls.ocsp_staple_requested and tls.ocsp_staple is None
