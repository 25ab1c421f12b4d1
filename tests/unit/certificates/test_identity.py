"""The XMPP identity matcher, case by case: the rules both big TLS scanners get wrong.

Reference identity = the XMPP domain; SRV-ID by link type (``_xmpp-client`` for c2s, ``_xmpp-server``
for s2s); XmppAddr as a bare domain in A-labels; DNS-ID with whole-left-most-label wildcards; the CN
only when no DNS-ID, SRV-ID, URI-ID or XmppAddr exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from cryptography import x509

from observatory.certificates import analyse_chain
from observatory.certificates.identity import match_identity
from observatory.certificates.model import SubjectAltNames
from scanners.base import ServiceKind
from tests.unit.certificates.builders import NOW, issue, srv_id, xmpp_addr

C2S, S2S = ServiceKind.C2S, ServiceKind.S2S


@dataclass(frozen=True)
class Case:
    id: str
    domain: str = "example.org"
    kind: ServiceKind = C2S
    dns: list[str] = field(default_factory=list)
    srv: list[str] = field(default_factory=list)
    xmpp: list[str] = field(default_factory=list)
    uri: list[str] = field(default_factory=list)
    email: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    cn: list[str] = field(default_factory=list)
    no_san: bool = False
    target: str | None = None
    #: The best identity expected to match, or None for "no match".
    matched: str | None = None
    via_cn: bool = False
    note: str | None = None
    target_matches: bool | None = None


CASES = [
    # DNS-ID
    Case("dns-exact", dns=["example.org"], matched="DNS-ID:example.org"),
    Case("dns-case-insensitive", dns=["EXAMPLE.Org"], matched="DNS-ID:EXAMPLE.Org"),
    Case("dns-trailing-dot", dns=["example.org."], matched="DNS-ID:example.org."),
    Case("dns-other-domain", dns=["example.net"]),
    Case("dns-suffix-is-not-a-match", dns=["notexample.org", "example.org.evil.test"]),
    Case("dns-empty-label", dns=["example..org"]),
    Case("reference-is-normalised", domain="Example.ORG.", dns=["example.org"], matched="DNS-ID:example.org"),
    Case("s2s-dns-id", kind=S2S, dns=["example.org"], matched="DNS-ID:example.org"),
    # Wildcards
    Case("wildcard-one-label", domain="chat.example.org", dns=["*.example.org"], matched="DNS-ID:*.example.org"),
    Case("wildcard-not-the-base", dns=["*.example.org"], note="not example.org itself"),
    Case("wildcard-one-label-only", domain="a.b.example.org", dns=["*.example.org"]),
    Case("wildcard-partial-label", domain="chat.example.org", dns=["c*.example.org"], note="whole left-most label"),
    Case("wildcard-not-left-most", domain="chat.example.org", dns=["chat.*.org"], note="whole left-most label"),
    Case("wildcard-above-tld", dns=["*.org"], note="top-level domain"),
    Case("wildcard-alone", dns=["*"], note="top-level domain"),
    Case(
        "wildcard-exact-ranks-first",
        domain="chat.example.org",
        dns=["*.example.org", "chat.example.org"],
        matched="DNS-ID:chat.example.org",
    ),
    # IDN
    Case("idn-a-label", domain="bücher.example", dns=["xn--bcher-kva.example"], matched="DNS-ID:xn--bcher-kva.example"),
    Case("idn-u-label-dns-id-never-matches", domain="bücher.example", dns=["bücher.example"], note="A-labels"),
    Case(
        "idn-wildcard-over-a-label-domain",
        domain="chat.bücher.example",
        dns=["*.xn--bcher-kva.example"],
        matched="DNS-ID:*.xn--bcher-kva.example",
    ),
    Case(
        "idn-label-under-wildcard", domain="bücher.example.org", dns=["*.example.org"], matched="DNS-ID:*.example.org"
    ),
    Case("idn-partial-wildcard", domain="xn--bcher-kva.example.org", dns=["xn--*.example.org"], note="left-most"),
    Case(
        "idn-xmppaddr-u-label",
        domain="xn--bcher-kva.example",
        xmpp=["bücher.example"],
        matched="XmppAddr:bücher.example",
    ),
    # SRV-ID
    Case("srv-c2s", srv=["_xmpp-client.example.org"], matched="SRV-ID:_xmpp-client.example.org"),
    Case("srv-s2s", kind=S2S, srv=["_xmpp-server.example.org"], matched="SRV-ID:_xmpp-server.example.org"),
    Case("srv-server-on-c2s", srv=["_xmpp-server.example.org"], note="needs _xmpp-client"),
    Case("srv-client-on-s2s", kind=S2S, srv=["_xmpp-client.example.org"], note="needs _xmpp-server"),
    Case("srv-case-insensitive", srv=["_XMPP-Client.Example.ORG"], matched="SRV-ID:_XMPP-Client.Example.ORG"),
    Case("srv-direct-tls-service-name", srv=["_xmpps-client.example.org"], note="xmpps-client service"),
    Case("srv-other-domain", srv=["_xmpp-client.example.net"]),
    Case(
        "srv-wildcard-domain",
        domain="chat.example.org",
        srv=["_xmpp-client.*.example.org"],
        matched="SRV-ID:_xmpp-client.*.example.org",
    ),
    Case("srv-not-service-form", srv=["xmpp-client.example.org"], note="not of the form _service.domain"),
    Case(
        "srv-names-the-target",
        target="xmpp.example.org",
        srv=["_xmpp-client.xmpp.example.org"],
        note="must name the XMPP domain",
        target_matches=False,
    ),
    # XmppAddr
    Case("xmppaddr", xmpp=["example.org"], matched="XmppAddr:example.org"),
    Case("xmppaddr-case", xmpp=["Example.ORG"], matched="XmppAddr:Example.ORG"),
    Case("xmppaddr-with-localpart", xmpp=["admin@example.org"], note="user or resource address"),
    Case("xmppaddr-with-resource", xmpp=["example.org/server"], note="user or resource address"),
    Case("xmppaddr-wildcard", domain="chat.example.org", xmpp=["*.example.org"], note="wildcards are not allowed"),
    Case("xmppaddr-other", kind=S2S, xmpp=["example.net"]),
    # Ranking and the full XMPP set
    Case(
        "all-kinds-srv-first",
        dns=["example.org"],
        srv=["_xmpp-client.example.org"],
        xmpp=["example.org"],
        matched="SRV-ID:_xmpp-client.example.org",
    ),
    Case(
        "srvid-and-xmppaddr-only",
        srv=["_xmpp-server.example.org"],
        xmpp=["example.org"],
        matched="XmppAddr:example.org",
    ),
    # CN fallback
    Case("cn-without-san", no_san=True, cn=["example.org"], matched="CN-ID:example.org", via_cn=True),
    Case(
        "cn-wildcard",
        domain="chat.example.org",
        no_san=True,
        cn=["*.example.org"],
        matched="CN-ID:*.example.org",
        via_cn=True,
    ),
    Case(
        "cn-with-email-san-only",
        email=["admin@example.org"],
        cn=["example.org"],
        matched="CN-ID:example.org",
        via_cn=True,
    ),
    Case("cn-ignored-with-dns-id", dns=["example.net"], cn=["example.org"], note="a CN counts only"),
    Case("cn-ignored-with-wrong-srv-id", srv=["_xmpp-server.example.org"], cn=["example.org"], note="a CN counts only"),
    Case("cn-ignored-with-uri-id", uri=["xmpp:example.org"], cn=["example.org"], note="a CN counts only"),
    Case("cn-ignored-with-undecodable-srv-id", problems=["SRV-ID not decodable (…)"], cn=["example.org"]),
    Case("cn-several", no_san=True, cn=["example.org", "example.net"], note="2 subject CNs"),
    Case("cn-other", no_san=True, cn=["example.net"]),
    Case("nothing-at-all", no_san=True),
    # The SRV target is not the reference identity
    Case(
        "target-only",
        dns=["xmpp.example.org"],
        target="xmpp.example.org",
        target_matches=True,
        note="names the SRV target xmpp.example.org, not the XMPP domain",
    ),
    Case(
        "target-and-domain",
        dns=["example.org", "xmpp.example.org"],
        target="xmpp.example.org",
        matched="DNS-ID:example.org",
        target_matches=True,
    ),
    Case(
        "domain-not-target",
        dns=["example.org"],
        target="xmpp.example.org",
        matched="DNS-ID:example.org",
        target_matches=False,
    ),
    Case(
        "target-via-wildcard",
        dns=["*.example.org"],
        target="xmpp.example.org",
        target_matches=True,
        note="covers names below",
    ),
    Case(
        "target-srv-id-does-not-count",
        srv=["_xmpp-client.xmpp.example.org"],
        target="xmpp.example.org",
        target_matches=False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_identity(case: Case) -> None:
    names = (
        None
        if case.no_san
        else SubjectAltNames(
            dns=case.dns, srv=case.srv, xmpp_addr=case.xmpp, uri=case.uri, email=case.email, problems=case.problems
        )
    )
    result = match_identity(names, case.cn, domain=case.domain, kind=case.kind, srv_target=case.target)

    assert result.matches is (case.matched is not None)
    assert (result.matched[0] if result.matched else None) == case.matched
    assert result.via_cn is case.via_cn
    assert result.srv_target_matches is case.target_matches
    if case.note is not None:
        assert any(case.note in note for note in result.notes), result.notes
    if result.matches:
        assert result.notes == [], "notes explain failures only"


def test_case_ids_are_unique() -> None:
    assert len({case.id for case in CASES}) == len(CASES)


def test_every_match_is_listed_best_first() -> None:
    names = SubjectAltNames(
        dns=["*.example.org", "chat.example.org"],
        srv=["_xmpp-client.chat.example.org"],
        xmpp_addr=["chat.example.org"],
    )
    result = match_identity(names, [], domain="chat.example.org", kind=C2S)
    assert result.matched == [
        "SRV-ID:_xmpp-client.chat.example.org",
        "XmppAddr:chat.example.org",
        "DNS-ID:chat.example.org",
        "DNS-ID:*.example.org",
    ]


def test_an_unusable_domain_matches_nothing() -> None:
    result = match_identity(SubjectAltNames(dns=["192.0.2.1"]), [], domain="192.0.2.1", kind=C2S)
    assert not result.matches
    assert result.reference is None
    assert "no reference identity" in result.notes[0]


@pytest.mark.parametrize(
    ("sans", "expected"),
    [
        ([srv_id("xmpp-client", "example.org")], "SRV-ID:_xmpp-client.example.org"),
        ([xmpp_addr("example.org")], "XmppAddr:example.org"),
        ([x509.DNSName("example.org")], "DNS-ID:example.org"),
        (None, "CN-ID:example.org"),
    ],
)
def test_identities_are_read_from_real_certificates(sans: list[x509.GeneralName] | None, expected: str) -> None:
    # Given a leaf whose only identity is of one kind (and the CN example.org)
    root = issue("Identity Root", ca=True)
    leaf = issue("example.org", root, key_label="identity-leaf", sans=sans)
    # When it is analysed for a c2s link to example.org
    analysis = analyse_chain(
        [leaf.der], domain="example.org", kind=C2S, at=NOW, extra_roots=[root.cert], mozilla_roots=False
    )
    # Then that identity is the one reported, and the CN counted only when nothing else was there
    assert analysis.trusted is True
    assert analysis.identity_matches is True
    assert analysis.matched_identity == expected
    assert analysis.identity_via_cn is (sans is None)
    assert analysis.reference_identity == "example.org"
