"""Profile items that judge facts from TLS engine part 2: DH group sizes and encrypt-then-MAC."""

from __future__ import annotations

from observatory.model import ComplianceStatus
from observatory.profiles import definition as d
from observatory.profiles.evaluate import Context, _cbc_encrypt_then_mac, _dh_min_bits
from scanners.tls.facts import DhParameters, TlsExtensionFacts, TlsVersion
from tests.factories import make_endpoint

DHE = "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"


def context(**tls_update) -> Context:  # type: ignore[no-untyped-def]
    endpoint = make_endpoint()
    assert endpoint.tls is not None
    tls = endpoint.tls.model_copy(update={"cipher_suites": {TlsVersion.TLS12: [DHE]}, **tls_update})
    return Context(domain="example.org", endpoint=endpoint.model_copy(update={"tls": tls}))


def dh(bits: int) -> DhParameters:
    return DhParameters(
        family="DHE_RSA",
        version=TlsVersion.TLS12,
        cipher_suite=DHE,
        prime_bits=bits,
        generator=2,
        generator_bits=2,
        public_key_bits=bits,
        prime=b"\x01",
    )


def extensions(etm: bool | None) -> TlsExtensionFacts:
    return TlsExtensionFacts(
        version=TlsVersion.TLS12,
        cipher_suite=DHE,
        secure_renegotiation=True,
        extended_master_secret=True,
        session_ticket=False,
        status_request=False,
        heartbeat=False,
        encrypt_then_mac=etm,
    )


def test_dh_sizes_are_judged_when_observed() -> None:
    rule = d.DhMinBits(id="dh", title="DH", level="must", kind="dh-min-bits", bits=2048)  # type: ignore[call-arg]
    assert _dh_min_bits(rule, context(dh_parameters=[dh(2048)]))[0] is ComplianceStatus.PASS
    status, details = _dh_min_bits(rule, context(dh_parameters=[dh(1024)]))
    assert status is ComplianceStatus.FAIL
    assert details == ["below 2048 bits: DHE_RSA: 1024 bits"]
    assert _dh_min_bits(rule, context())[0] is ComplianceStatus.NOT_EVALUATED


def test_encrypt_then_mac_is_judged_when_observed() -> None:
    rule = d.CbcEncryptThenMac(id="etm", title="EtM", level="should", kind="cbc-encrypt-then-mac")  # type: ignore[call-arg]
    assert _cbc_encrypt_then_mac(rule, context(extensions=extensions(True)))[0] is ComplianceStatus.PASS
    assert _cbc_encrypt_then_mac(rule, context(extensions=extensions(False)))[0] is ComplianceStatus.FAIL
    assert _cbc_encrypt_then_mac(rule, context(extensions=extensions(None)))[0] is ComplianceStatus.NOT_EVALUATED
