"""The details section of the scan page: every fact of a rich, really judged scan is shown per
endpoint, and whatever a hostile server put into it stays text."""

from __future__ import annotations

import base64
import hashlib
import itertools
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from xml.etree.ElementTree import Element

import html5lib
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from observatory.certificates.parse import SRV_NAME_OID, XMPP_ADDR_OID
from observatory.document import load_result
from observatory.judge import judge
from observatory.model import ScanFacts, ScanResult
from reports import html as report_html
from scanners.base import ErrorReason, ProbeError, Transport
from scanners.dns.facts import (
    AddressLookup,
    DnssecState,
    DnssecStatus,
    EndpointDnssec,
    SrvLookup,
    SrvRecord,
    TargetFacts,
    TargetFlag,
    TlsaLookup,
    TlsaRecord,
)
from scanners.http.facts import (
    ConnectionMethod,
    HostMetaDocument,
    HostMetaFacts,
    HostMetaFormat,
    HostMetaLink,
    HttpFacts,
    HttpFetch,
    PoshDocument,
    PoshFacts,
    PoshFingerprint,
    PoshService,
)
from scanners.stream.facts import (
    StarttlsEnforcement,
    StarttlsPolicy,
    StreamError,
    StreamFacts,
    StreamFeatures,
    StreamHeader,
)
from scanners.tls.facts import (
    CertificateDeployment,
    DhParameters,
    SessionTicketFacts,
    TlsExtensionFacts,
    TlsFacts,
    TlsVersion,
)
from tests.factories import make_result
from tests.web.support import HOSTILE, hostile, store

DATA = Path(__file__).parents[1] / "data"
SECURE = DnssecStatus(state=DnssecState.SECURE)
BOGUS = DnssecStatus(state=DnssecState.BOGUS, reason="expired signature on the AAAA RRset")
DHE = "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"
SCANNED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
JAVASCRIPT = "javascript:alert(1)"
#: A name a certificate may carry as it is (RFC 4514 escaping of the subject does not apply to SANs).
HOSTILE_SAN = "<script>alert(2)</script>.example.org"


def _other_name(oid: x509.ObjectIdentifier, tag: int, value: str) -> x509.OtherName:
    raw = value.encode()
    return x509.OtherName(oid, bytes([tag, len(raw)]) + raw)


@cache
def chain() -> tuple[bytes, bytes]:
    """A leaf with a hostile subject and every XMPP identity type, signed by an untrusted CA."""
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Untrusted Test CA")])
    start = SCANNED - timedelta(days=30)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA384())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "xmpp.example.org"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, HOSTILE),
        ]
    )
    sans = x509.SubjectAlternativeName(
        [
            x509.DNSName("example.org"),
            x509.DNSName(HOSTILE_SAN),
            _other_name(SRV_NAME_OID, 0x16, "_xmpp-client.example.org"),
            _other_name(XMPP_ADDR_OID, 0x0C, "example.org"),
            x509.UniformResourceIdentifier(JAVASCRIPT),
        ]
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(0x1234)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=90))
        .add_extension(sans, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return leaf.public_bytes(Encoding.DER), ca.public_bytes(Encoding.DER)


def _spki_sha256(der: bytes) -> str:
    spki = (
        x509.load_der_x509_certificate(der).public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )
    return hashlib.sha256(spki).hexdigest()


def rich_facts() -> ScanFacts:
    """``make_result()``'s facts with a first c2s endpoint that has every kind of fact, some hostile."""
    base = make_result().to_facts()
    c2s = base.services.c2s
    assert c2s is not None
    first = c2s.endpoints[0]
    leaf, ca = chain()
    tls = TlsFacts(
        versions=[TlsVersion.TLS10, TlsVersion.TLS12, TlsVersion.TLS13],
        cipher_suites={
            TlsVersion.TLS10: ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"],
            TlsVersion.TLS12: ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", DHE, "UNKNOWN_0xFEFE"],
            TlsVersion.TLS13: ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"],
        },
        server_order={TlsVersion.TLS12: True, TlsVersion.TLS13: False},
        certificate_chain=[leaf, ca],
        certificate_chain_version=TlsVersion.TLS12,
        connections=31,
        duration_seconds=4.2,
        groups={TlsVersion.TLS13: ["X25519MLKEM768", "x25519", "secp256r1"], TlsVersion.TLS12: ["x25519"]},
        groups_server_order={TlsVersion.TLS13: True},
        dh_parameters=[
            DhParameters(
                family="DHE_RSA",
                version=TlsVersion.TLS12,
                cipher_suite=DHE,
                prime_bits=1024,
                generator=2,
                generator_bits=2,
                public_key_bits=1023,
                prime=b"\xff" * 128,
                well_known="modp_1024",
                common="Apache/1024-bit MODP group",
                safe_prime=True,
            )
        ],
        extensions=TlsExtensionFacts(
            version=TlsVersion.TLS12,
            cipher_suite=DHE,
            compression="DEFLATE",
            secure_renegotiation=True,
            extended_master_secret=False,
            encrypt_then_mac=None,
            session_ticket=True,
            status_request=False,
            heartbeat=True,
            heartbleed=False,
        ),
        fallback_scsv=True,
        session_ticket=SessionTicketFacts(version=TlsVersion.TLS12, issued=True, lifetime_hint_seconds=864000),
        certificates=[
            CertificateDeployment(chain=[leaf, ca], version=TlsVersion.TLS12, authentication="ECDSA"),
            CertificateDeployment(chain=[ca], version=TlsVersion.TLS13, authentication="EdDSA"),
        ],
        errors=[ProbeError(phase="groups", reason=ErrorReason.PROTOCOL, message="odd HelloRetryRequest")],
    )
    stream = StreamFacts(
        header=StreamHeader(id="s1", from_="example.org", version="1.0", namespace="jabber:client"),
        header_after_tls=StreamHeader(id="s2", from_="example.org", version="1.0"),
        starttls=StarttlsPolicy.OPTIONAL,
        features_before_tls=StreamFeatures(starttls=True, sasl_mechanisms=["DIGEST-MD5"], raw=f"<x>{HOSTILE}</x>"),
        features_after_tls=StreamFeatures(
            sasl_mechanisms=["SCRAM-SHA-256-PLUS", "PLAIN"],
            channel_bindings=["tls-exporter"],
            stream_management=["urn:xmpp:sm:3"],
            csi=True,
        ),
        stream_error=StreamError(condition="see-other-host", text=HOSTILE, redirect=JAVASCRIPT, phase="features"),
        enforcement=StarttlsEnforcement(
            request="sasl:DIGEST-MD5", answer="failure:encryption-required", accepted=False
        ),
    )
    tlsa = TlsaLookup(
        name=f"_5222._tcp.{first.target}",
        records=[
            TlsaRecord(usage=3, selector=1, matching_type=1, data=_spki_sha256(leaf)),
            TlsaRecord(usage=2, selector=0, matching_type=1, data="00" * 32),
        ],
        dnssec=SECURE,
    )
    endpoint = first.model_copy(
        update={
            "tls": tls,
            "stream": stream,
            "tlsa": tlsa,
            "dnssec": EndpointDnssec(srv=SECURE, address=SECURE, tlsa=SECURE),
            "errors": [ProbeError(phase="tls", reason=ErrorReason.TIMEOUT, message="suite enumeration cut short")],
        }
    )
    # The Direct TLS endpoint's address RRset fails validation, so its DANE does not apply.
    bogus = c2s.endpoints[1].model_copy(update={"dnssec": EndpointDnssec(srv=SECURE, address=BOGUS, tlsa=SECURE)})
    service = c2s.model_copy(
        update={
            "endpoints": [endpoint, bogus, *c2s.endpoints[2:]],
            "srv": [
                *c2s.srv,
                SrvLookup(
                    name="_xmpps-client._tcp.example.org",
                    transport=Transport.DIRECTTLS,
                    records=[SrvRecord(priority=0, weight=5, port=5223, target="xmpp.example.org")],
                    dnssec=BOGUS,
                    error="SERVFAIL from 192.0.2.53",
                ),
            ],
            "targets": [
                TargetFacts(
                    name="xmpp.example.org",
                    flags=[TargetFlag.CNAME],
                    addresses=[
                        AddressLookup(name="xmpp.example.org", rdtype="A", addresses=["192.0.2.10"], dnssec=SECURE),
                        AddressLookup(name="xmpp.example.org", rdtype="AAAA", dnssec=BOGUS, error="timeout"),
                    ],
                )
            ],
        }
    )
    fetched = HttpFetch(url="https://example.org/.well-known/host-meta", started_at=SCANNED, status=200)
    posh_fingerprint = base64.b64encode(hashlib.sha256(leaf).digest()).decode()
    http = HttpFacts(
        domain="example.org",
        host_meta=HostMetaFacts(
            documents=[
                HostMetaDocument(
                    format=HostMetaFormat.XRD,
                    scheme="https",
                    fetches=[fetched],
                    parsed=True,
                    links=[
                        HostMetaLink(
                            rel="urn:xmpp:alt-connections:websocket",
                            href="wss://example.org/xmpp-websocket",
                            method=ConnectionMethod.WEBSOCKET,
                            secure=True,
                        ),
                        HostMetaLink(
                            rel="urn:xmpp:alt-connections:xbosh",
                            href=JAVASCRIPT,
                            method=ConnectionMethod.BOSH,
                            secure=False,
                        ),
                        HostMetaLink(rel="lrdd", href="https://example.org/lrdd?uri={uri}"),
                    ],
                )
            ]
        ),
        posh=[
            PoshFacts(
                service=PoshService.CLIENT,
                url="https://example.org/.well-known/posh/xmpp-client.json",
                fetches=[fetched.model_copy(update={"url": "https://example.org/.well-known/posh/xmpp-client.json"})],
                document=PoshDocument(
                    fingerprints=[PoshFingerprint(algorithm="sha-256", value=posh_fingerprint)], expires=86400
                ),
            )
        ],
    )
    return base.model_copy(
        update={
            "started_at": SCANNED,
            "finished_at": SCANNED + timedelta(seconds=40),
            "http": http,
            "services": base.services.model_copy(update={"c2s": service}),
            "errors": [ProbeError(phase="discovery", reason=ErrorReason.DNS, message=f"resolver said {HOSTILE}")],
        }
    )


def rich() -> ScanResult:
    return judge(rich_facts())


def parse(page: str) -> Element:
    tree: Element = html5lib.parse(page, namespaceHTMLElements=False)
    return tree


def details_of(page: str) -> str:
    """The details section only, so facts shown elsewhere on the page do not make a test pass."""
    start = page.index('<section class="report-details"')
    return page[start : page.index("</section>", start)]


@pytest.fixture
def rich_page(client: TestClient, sqlite_url: str) -> str:
    scan_id = store(sqlite_url, rich())
    response = client.get(f"/scans/{scan_id}")
    assert response.status_code == 200
    return response.text


def test_every_endpoint_has_its_versions_and_suites(rich_page: str) -> None:
    details = details_of(rich_page)
    result = rich()
    for endpoint in report_html.endpoints(result):
        assert report_html.anchor_id(endpoint) in details
        for suites in endpoint.tls.cipher_suites.values() if endpoint.tls else []:
            for suite in suites:
                assert suite in details
    assert "TLSv1.0 · 1 suite" in details
    assert "TLSv1.2 · 3 suites · server&#39;s order" in details
    assert "TLSv1.3 · 2 suites · client&#39;s order" in details


def test_key_exchange_and_extensions(rich_page: str) -> None:
    details = details_of(rich_page)
    assert "<code>X25519MLKEM768</code>, <code>x25519</code>, <code>secp256r1</code>" in details
    assert "1024 bits" in details
    assert "modp_1024" in details
    assert "Apache/1024-bit MODP group" in details
    assert "Extended master secret (RFC 7627)</th><td>no" in details
    assert "Compression (DEFLATE, LZS offered)</th><td>DEFLATE" in details
    assert "lifetime hint 864000 s" in details
    assert "Every certificate the server holds" in details


def test_certificate_identity_trust_and_sans(rich_page: str) -> None:
    details = details_of(rich_page)
    assert "CN=xmpp.example.org" in details
    assert "CN=Untrusted Test CA" in details
    assert "<dt>SRV-ID</dt><dd><code>_xmpp-client.example.org</code>" in details
    assert "<dt>XmppAddr</dt><dd><code>example.org</code>" in details
    assert "<dt>DNS-ID</dt>" in details
    assert "Trusted</th><td>no" in details
    assert "Why it is not trusted" in details
    assert "EC 256 bits secp256r1" in details
    assert "ecdsa-with-SHA256" in details
    matched = rich().services.c2s.endpoints[0].certificate.matched_identity  # type: ignore[union-attr]
    assert matched
    assert f"<code>{matched}</code>" in details


def test_dane_and_dnssec(rich_page: str) -> None:
    details = details_of(rich_page)
    assert 'class="dane dane-valid">valid' in details
    assert 'class="dane dane-not-applicable">not-applicable' in details
    assert "<td>yes (sent #0)</td>" in details
    assert "3 1 1 (DANE-EE SPKI SHA-256)" in details
    assert "2 0 1 (DANE-TA Cert SHA-256)" in details
    assert _spki_sha256(chain()[0]) in details
    assert 'dnssec-bogus">bogus</span> <span class="dnssec-reason">expired signature on the AAAA RRset' in details
    assert 'dnssec-secure">secure' in details


def test_stream_features_sasl_and_starttls(rich_page: str) -> None:
    details = details_of(rich_page)
    assert "SASL mechanisms</th><td>DIGEST-MD5</td><td>SCRAM-SHA-256-PLUS, PLAIN</td>" in details
    assert "starttls-optional" in details
    assert "<code>failure:encryption-required</code>" in details
    assert "refused" in details
    assert "tls-exporter" in details
    assert "urn:xmpp:sm:3" in details


def test_discovery_http_and_errors(rich_page: str) -> None:
    details = details_of(rich_page)
    assert "_xmpps-client._tcp.example.org" in details
    assert "SERVFAIL from 192.0.2.53" in details
    assert '<span class="flag">cname</span>' in details
    assert "Scan errors" in details
    assert "resolver said" in details
    assert "suite enumeration cut short" in details
    assert "odd HelloRetryRequest" in details
    assert 'href="https://example.org/.well-known/posh/xmpp-client.json"' in details
    assert "wss://example.org/xmpp-websocket" in details
    assert "POSH" in details
    assert 'posh posh-match">match' in details


def test_hostile_strings_are_text(rich_page: str) -> None:
    assert "<script>alert" not in rich_page
    assert "&lt;script&gt;alert" in rich_page
    tree = parse(rich_page)
    hrefs = [element.get("href") for element in tree.iter("a")]
    assert hrefs
    assert not any(href.strip().lower().startswith("javascript:") for href in hrefs)
    assert not list(tree.iter("script"))
    assert not list(tree.iter("img"))
    assert "&lt;script&gt;alert(2)&lt;/script&gt;.example.org" in details_of(rich_page)
    # The refused URLs are still shown, as text.
    assert f"<code>{JAVASCRIPT}</code>" in details_of(rich_page)


def test_headings_never_skip_a_level(rich_page: str) -> None:
    levels = [
        int(element.tag[1])
        for element in parse(rich_page).iter()
        if element.tag in {"h1", "h2", "h3", "h4", "h5", "h6"}
    ]
    assert levels[0] == 1
    assert all(later - earlier <= 1 for earlier, later in itertools.pairwise(levels))
    tree = parse(rich_page)
    assert all(th.get("scope") in {"col", "row", "rowgroup"} for th in tree.iter("th"))
    assert not any(element.get("style") for element in tree.iter())


def test_profiles_when_asked(client: TestClient, sqlite_url: str) -> None:
    scan_id = store(sqlite_url, rich())
    plain = details_of(client.get(f"/scans/{scan_id}").text)
    assert "Compliance profiles" not in plain
    asked = details_of(client.get(f"/scans/{scan_id}", params={"profile": "mozilla-intermediate"}).text)
    assert "Compliance profiles" in asked
    assert "compliance-fail" in asked  # TLS 1.0 and a 1024-bit DH group fail Mozilla's intermediate profile


def test_old_format_document_and_hostile_scan_render(client: TestClient, sqlite_url: str) -> None:
    old = load_result((DATA / "result-format-1.0.json").read_text())
    page = client.get(f"/scans/{store(sqlite_url, old)}").text
    assert '<h2 id="details-heading">Details</h2>' in page
    assert "TLS_AES_256_GCM_SHA384" in details_of(page)
    page = client.get(f"/scans/{store(sqlite_url, hostile())}").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in details_of(page)


def test_chain_without_analysis_is_parsed_from_der() -> None:
    leaf, _ca = chain()
    endpoint = rich().services.c2s.endpoints[0].model_copy(update={"certificate": None})  # type: ignore[union-attr]
    subjects = [summary.subject for summary in report_html.chain_summaries(endpoint)]
    assert "CN=xmpp.example.org" in subjects[0]
    assert subjects[1] == "CN=Untrusted Test CA"
    assert report_html.unreadable_certificates(endpoint) == 0
    assert report_html.parsed_chain([b"not DER", leaf])[0].index == 1


def test_a_resolver_failure_is_the_reason_shown_not_a_clean_bill(client: TestClient, sqlite_url: str) -> None:
    from tests.unit.reports.test_resolver_failure import MESSAGE, unresolved

    page = client.get(f"/scans/{store(sqlite_url, unresolved())}").text
    assert '<h2 id="resolver-heading">DNS could not be used</h2>' in page
    assert page.index(MESSAGE) < page.index('id="findings-heading"')
    assert report_html.NOTHING_LEARNT in page
    assert "<p>No findings.</p>" not in page
