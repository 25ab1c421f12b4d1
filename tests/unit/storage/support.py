"""Variations of ``tests.factories.make_result`` and helpers shared by the storage tests (unit and
integration): other domains and times, a weaker scan, a real certificate, a trivial judge, and a
throwaway PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from observatory.model import Endpoint, Finding, Grade, ScanFacts, ScanResult, Severity
from observatory.storage.database import resolve_url
from observatory.storage.migrate import open_database
from observatory.storage.repository import latest_for_domain, save_result
from scanners.base import ServiceKind
from scanners.tls.facts import TlsVersion
from tests.factories import make_result

#: Where the tests find a PostgreSQL server (``scripts/test`` sets it); they create their own databases.
POSTGRES_URL_ENV = "OBSERVATORY_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def result_for(domain: str = "example.org", *, at: datetime | None = None, minutes: int = 0) -> ScanResult:
    """``make_result()`` for another domain and/or start time (``minutes`` after the factory's)."""
    base = make_result()
    started = (at or base.started_at) + timedelta(minutes=minutes)
    return base.model_copy(
        update={
            "domain": domain,
            "started_at": started,
            "finished_at": started + timedelta(seconds=9),
            "request": base.request.model_copy(update={"domain": domain}),
        }
    )


def with_c2s_endpoints(result: ScanResult, endpoints: list[Endpoint]) -> ScanResult:
    """The result with other c2s endpoints."""
    c2s = result.services.c2s
    assert c2s is not None
    service = c2s.model_copy(update={"endpoints": endpoints})
    return result.model_copy(update={"services": result.services.model_copy(update={"c2s": service})})


def with_leaf_chain(result: ScanResult, chain: list[bytes]) -> ScanResult:
    """The result with ``chain`` as the certificate chain of its first c2s endpoint."""
    c2s = result.services.c2s
    assert c2s is not None
    first = c2s.endpoints[0]
    assert first.tls is not None
    tls = first.tls.model_copy(update={"certificate_chain": chain})
    return with_c2s_endpoints(result, [first.model_copy(update={"tls": tls}), *c2s.endpoints[1:]])


def weaker(result: ScanResult) -> ScanResult:
    """The same scan a week later after a bad configuration change: TLS 1.0 back, TLS 1.3 gone, grade C."""
    c2s = result.services.c2s
    assert c2s is not None
    first = c2s.endpoints[0]
    assert first.tls is not None
    tls = first.tls.model_copy(
        update={
            "versions": [TlsVersion.TLS10, TlsVersion.TLS12],
            "cipher_suites": {
                TlsVersion.TLS10: ["TLS_RSA_WITH_AES_128_CBC_SHA"],
                TlsVersion.TLS12: ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_AES_128_CBC_SHA"],
            },
        }
    )
    changed = first.model_copy(update={"tls": tls, "grade": Grade(letter="C", score=60)})
    service = c2s.model_copy(update={"endpoints": [changed, *c2s.endpoints[1:]], "grade": Grade(letter="C")})
    started = result.started_at + timedelta(days=7)
    return result.model_copy(
        update={
            "started_at": started,
            "finished_at": started + timedelta(seconds=9),
            "services": result.services.model_copy(update={"c2s": service}),
            "findings": [
                Finding(id="tls.protocol.tls10", severity=Severity.HIGH, service=ServiceKind.C2S, endpoints=[first.id])
            ],
        }
    )


def stricter_judge(facts: ScanFacts) -> ScanResult:
    """A trivial set of rules: every service and endpoint gets a B, one finding for c2s, rules 2027.1."""
    data = facts.model_dump(by_alias=True)
    for kind in ServiceKind:
        service = data["services"][kind.value]
        if service is None:
            continue
        service["grade"] = {"letter": "B", "score": 80}
        for endpoint in service["endpoints"]:
            endpoint["grade"] = {"letter": "B", "score": 80} if endpoint["tls"] else None
    findings = [{"id": "rules.stricter", "severity": "medium", "service": "c2s"}] if data["services"]["c2s"] else []
    return ScanResult.model_validate({**data, "rules_version": "2027.1", "findings": findings})


@cache
def certificate_der() -> bytes:
    """A real (self-signed, P-256) certificate, so the public key fingerprint can be computed."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xmpp.example.org")])
    now = datetime(2026, 1, 1, tzinfo=UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(Encoding.DER)


def save_many(url: str, domain: str, count: int) -> list[int]:
    """Save ``count`` scans of ``domain`` through a database of its own (run in threads or processes),
    each after reading the previous one in the same session, as ``observatory scan --diff`` does."""
    ids = []
    with open_database(url, migrate=False) as database, database.session() as session:
        for i in range(count):
            previous = latest_for_domain(session, domain=domain)
            assert (previous.scan.summary.id if previous.scan else None) == (ids[-1] if ids else None)
            ids.append(save_result(session, result=result_for(domain, minutes=i)))
    return ids


def postgres_server_url() -> tuple[str, bool]:
    """The server to create test databases on, and whether it was named explicitly (then it must work)."""
    explicit = os.environ.get(POSTGRES_URL_ENV)
    return explicit or DEFAULT_POSTGRES_URL, bool(explicit)


def _admin_engine(server_url: str) -> Engine:
    url, _ = resolve_url(server_url)
    return create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})


@contextmanager
def throwaway_postgres(server_url: str) -> Iterator[str]:
    """A new, uniquely named database on the server, dropped afterwards whatever happens."""
    name = f"observatory_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(server_url)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin.url.set(database=name).render_as_string(hide_password=False)
        try:
            yield url
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def postgres_reachable(server_url: str) -> str | None:
    """None if a database can be created there, else why not."""
    engine = _admin_engine(server_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return None
    except OperationalError as exc:
        return str(exc.orig).strip().splitlines()[0]
    finally:
        engine.dispose()
