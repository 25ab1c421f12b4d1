"""The scan: discovery, then every endpoint probed concurrently through one limiter, then judgment.

Nothing observed is dropped. Each probe (stream, TLS) of each endpoint is its own task; when the
scan's time runs out, finished probes keep their facts and unfinished ones become ``timeout``
errors on their endpoint, so the result is always a complete, valid document.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from observatory.judge import judge
from observatory.model import (
    EndpointFacts,
    ScanFacts,
    ScanRequest,
    ScanResult,
    ServiceFacts,
    ServicesFacts,
    endpoint_id,
)
from scanners.addresses import HostPort
from scanners.base import ErrorReason, ProbeError, ServiceKind, Transport
from scanners.connection import Deadline, Endpoint, Limiter, LimiterSettings
from scanners.connection.limits import DEFAULT_WAIT_LIMIT, ConnectionCount, counting_connections
from scanners.dns.discovery import DEFAULT_PORTS, DiscoveryOptions, discover
from scanners.dns.facts import DiscoveredEndpoint, Discovery, ServiceDiscovery
from scanners.dns.trust_anchors import TrustAnchors
from scanners.http.facts import HttpFacts
from scanners.http.fetch import HttpSettings
from scanners.http.probe import probe_http
from scanners.http.transport import make_ssl_context
from scanners.policy import AddressPolicy
from scanners.stream.facts import StreamFacts
from scanners.stream.prober import ProbeOptions, probe_stream
from scanners.tls.enumeration import TlsScanOptions, scan_tls
from scanners.tls.facts import TlsFacts
from scanners.tls.openers import endpoint_opener
from scanners.tls.shared import scan_tls_sharing
from scanners.tls.templates import TemplateStore, endpoint_key

#: The scanner's own domain on s2s streams when none is given (``from``). A name under
#: ``.invalid`` (RFC 6761) can never make the scanned server connect anywhere.
DEFAULT_FROM_DOMAIN = "xmpp-observatory.invalid"
DEFAULT_TIMEOUT = 300.0
DEFAULT_PROBE_TIMEOUT = 20.0
ALPN = {ServiceKind.C2S: "xmpp-client", ServiceKind.S2S: "xmpp-server"}


@dataclass(frozen=True)
class ScanOptions:
    domain: str
    kinds: tuple[ServiceKind, ...] = (ServiceKind.C2S, ServiceKind.S2S)
    resolver: HostPort | None = None
    trust_anchors: TrustAnchors | None = None
    ca_file: str | None = None
    extra_roots: tuple[x509.Certificate, ...] = ()
    connect: HostPort | None = None
    ipv4: bool = True
    ipv6: bool = True
    from_domain: str = DEFAULT_FROM_DOMAIN
    limiter: LimiterSettings = field(default_factory=LimiterSettings)
    #: The whole scan, discovery included.
    timeout: float = DEFAULT_TIMEOUT
    #: One connection's set-up and exchange.
    probe_timeout: float = DEFAULT_PROBE_TIMEOUT
    #: One wait for the server within a connection (connect, a read, a TLS handshake): a server that
    #: accepts connections and stays silent is reported after this, not after the scan's time.
    wait_timeout: float = DEFAULT_WAIT_LIMIT
    dns_timeout: float = 3.0
    #: HTTPS discovery: XEP-0156 host-meta, ``_xmppconnect`` and POSH (ports settable for tests).
    http: bool = True
    https_port: int = 443
    http_port: int = 80
    #: Start SASL for a random, non-existent account (STARTTLS enforcement; XEP-0474/0515 attributes).
    sasl_probes: bool = True
    #: Which addresses may be connected to (public mode refuses every non-global one), checked for each
    #: connection on the address dialled: XMPP streams, TLS probes and HTTPS discovery alike.
    policy: AddressPolicy = field(default_factory=AddressPolicy)
    default_ports: dict[ServiceKind, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))


class EventKind(StrEnum):
    DISCOVERY_STARTED = "discovery-started"
    DISCOVERY_DONE = "discovery-done"
    PROBE_STARTED = "probe-started"
    PROBE_DONE = "probe-done"
    JUDGING = "judging"
    DONE = "done"


@dataclass(frozen=True)
class ScanEvent:
    """Progress, for the CLI's status line and the website's live view."""

    kind: EventKind
    message: str
    endpoint: str | None = None
    #: Probes finished and planned so far.
    done: int = 0
    total: int = 0


Observer = Callable[[ScanEvent], None]


def _ignore(_event: ScanEvent) -> None:
    return None


def _endpoint_facts(kind: ServiceKind, found: DiscoveredEndpoint) -> EndpointFacts:
    return EndpointFacts(
        id=endpoint_id(kind, found.transport, found.target, found.port, found.address),
        kind=kind,
        target=found.target,
        port=found.port,
        address=found.address,
        transport=found.transport,
        priority=found.priority,
        weight=found.weight,
        dnssec=found.dnssec,
        tlsa=found.tlsa,
    )


def _service_facts(service: ServiceDiscovery, endpoints: list[EndpointFacts]) -> ServiceFacts:
    return ServiceFacts(
        kind=service.kind,
        status=service.status,
        srv=service.srv,
        srv_cnames=service.srv_cnames,
        direct_tls_refused=service.direct_tls_refused,
        targets=service.targets,
        endpoints=endpoints,
    )


class _Run:
    def __init__(
        self, options: ScanOptions, observer: Observer, limiter: Limiter | None, templates: TemplateStore | None
    ) -> None:
        self.options = options
        self.observer = observer
        self.limiter = limiter or Limiter(options.limiter, options.policy)
        self.templates = templates
        self.done = 0
        self.total = 0

    def emit(self, kind: EventKind, message: str, endpoint: str | None = None) -> None:
        self.observer(ScanEvent(kind, message, endpoint, self.done, self.total))

    def _connection_endpoint(self, facts: EndpointFacts) -> Endpoint:
        return Endpoint(
            kind=facts.kind,
            domain=self.options.domain,
            address=facts.address,
            port=facts.port,
            transport=facts.transport,
            from_domain=self.options.from_domain if facts.kind is ServiceKind.S2S else None,
        )

    async def _stream(self, facts: EndpointFacts, deadline: float) -> StreamFacts:
        remaining = max(1.0, deadline - time.monotonic())
        probes = ProbeOptions(enforcement=self.options.sasl_probes, scram=self.options.sasl_probes)
        deadline_ = Deadline.after(min(remaining, self.options.timeout), self.options.wait_timeout)
        return await probe_stream(self._connection_endpoint(facts), self.limiter, deadline_, probes)

    async def _tls(self, facts: EndpointFacts) -> TlsFacts:
        endpoint = self._connection_endpoint(facts)
        options = TlsScanOptions(
            server_name=self.options.domain,
            alpn=(ALPN[facts.kind],) if facts.transport is Transport.DIRECTTLS else (),
            probe_timeout=self.options.probe_timeout,
            wait_timeout=self.options.wait_timeout,
            max_in_flight=self.options.limiter.max_in_flight,
        )
        opener = endpoint_opener(endpoint, self.limiter, self.options.probe_timeout, self.options.wait_timeout)
        if self.templates is None:
            return await scan_tls(opener, options)
        key = endpoint_key(facts.kind, facts.transport, facts.address, facts.port, options)
        return await scan_tls_sharing(opener, options, self.templates, key)

    async def _probe(self, facts: EndpointFacts, name: str, job: Any) -> Any:
        try:
            return await job
        finally:
            self.done += 1
            self.emit(EventKind.PROBE_DONE, f"{name} probe done", facts.id)

    async def probe_all(self, endpoints: list[EndpointFacts], deadline: float) -> list[EndpointFacts]:
        tasks: dict[tuple[int, str], asyncio.Task[Any]] = {}
        refused: dict[int, ProbeError] = {}
        for index, facts in enumerate(endpoints):
            # Said once per endpoint, plainly; the limiter still checks every connection it opens.
            refusal = self.limiter.policy.refusal(facts.address)
            if refusal is not None:
                message = f"not scanned: {facts.address} is refused by the address policy ({refusal})"
                refused[index] = ProbeError(phase="connect", reason=ErrorReason.POLICY, message=message)
                self.emit(EventKind.PROBE_DONE, "refused by the address policy", facts.id)
                continue
            tasks[(index, "stream")] = asyncio.create_task(self._probe(facts, "stream", self._stream(facts, deadline)))
            tasks[(index, "tls")] = asyncio.create_task(self._probe(facts, "tls", self._tls(facts)))
            self.emit(EventKind.PROBE_STARTED, "probing", facts.id)
        self.total += len(tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks.values(), timeout=max(0.0, deadline - time.monotonic()))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        probed: list[EndpointFacts] = []
        for index, facts in enumerate(endpoints):
            if index in refused:
                probed.append(facts.model_copy(update={"errors": [*facts.errors, refused[index]]}))
                continue
            update: dict[str, Any] = {}
            errors = list(facts.errors)
            for name in ("stream", "tls"):
                task = tasks[(index, name)]
                if task.cancelled():
                    message = f"the scan's time limit ({self.options.timeout:g} s) ended the {name} probe"
                    errors.append(ProbeError(phase=name, reason=ErrorReason.TIMEOUT, message=message))
                elif (exc := task.exception()) is not None:
                    # A bug in a probe: record it as a fact, keep everything else.
                    message = f"{type(exc).__name__}: {exc}"
                    errors.append(ProbeError(phase=name, reason=ErrorReason.INTERNAL, message=message))
                else:
                    update[name] = task.result()
            probed.append(facts.model_copy(update={**update, "errors": errors}))
        return probed


async def collect(
    options: ScanOptions,
    observer: Observer = _ignore,
    limiter: Limiter | None = None,
    templates: TemplateStore | None = None,
) -> ScanFacts:
    """Discover and probe; the facts of the scan, unjudged.

    ``limiter``: one shared by concurrent scans (a site), so the per-address pacing holds across them
    (many domains are hosted on one address); by default the scan has its own. ``templates``: a batch's
    store of TLS enumerations, so domains hosted on one endpoint share its enumeration once their own
    hellos confirm it (``scanners.tls.shared``); by default every endpoint is enumerated.
    """
    with counting_connections() as opened:
        return await _collect(_Run(options, observer, limiter, templates), opened)


async def _collect(run: _Run, opened: ConnectionCount) -> ScanFacts:
    options = run.options
    started_at = datetime.now(UTC)
    deadline = time.monotonic() + options.timeout
    run.emit(EventKind.DISCOVERY_STARTED, f"looking up {options.domain}")
    discovery_options = DiscoveryOptions(
        kinds=options.kinds,
        resolver=options.resolver,
        trust_anchors=options.trust_anchors,
        default_ports=options.default_ports,
        ipv4=options.ipv4,
        ipv6=options.ipv6,
        connect=options.connect,
        timeout=options.dns_timeout,
        web=options.http,
        time_limit=max(1.0, min(options.timeout / 2, 60.0)),
    )
    errors: list[ProbeError] = []
    try:
        discovery = await asyncio.wait_for(discover(options.domain, discovery_options), timeout=options.timeout)
    except TimeoutError:
        discovery = None
        errors.append(ProbeError(phase="dns", reason=ErrorReason.TIMEOUT, message="discovery did not finish in time"))

    services: dict[ServiceKind, ServiceFacts] = {}
    http: HttpFacts | None = None
    if discovery is not None:
        errors.extend(discovery.errors)
        planned = {
            service.kind: (service, [_endpoint_facts(service.kind, found) for found in service.endpoints])
            for service in discovery.services
        }
        count = sum(len(endpoints) for _, endpoints in planned.values())
        run.emit(EventKind.DISCOVERY_DONE, f"{count} endpoint{'s' if count != 1 else ''} to probe")
        everything = [endpoint for _, endpoints in planned.values() for endpoint in endpoints]
        # A resolver that cannot resolve public names gave no address to fetch host-meta or POSH from.
        wanted = options.http and discovery.resolver_failure is None
        web = asyncio.create_task(_web(options, discovery)) if wanted else None
        probed = iter(await run.probe_all(everything, deadline))
        http = await _finish_web(web, deadline, errors)
        for kind, (service, endpoints) in planned.items():
            services[kind] = _service_facts(service, [next(probed) for _ in endpoints])

    return ScanFacts(
        domain=options.domain,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        request=ScanRequest(
            domain=options.domain,
            kinds=list(options.kinds),
            resolver=str(options.resolver) if options.resolver else None,
            trust_anchor=options.trust_anchors.source if options.trust_anchors else None,
            ca_file=options.ca_file,
            extra_roots=[root.public_bytes(Encoding.DER) for root in options.extra_roots],
        ),
        dns=discovery.stats if isinstance(discovery, Discovery) else None,
        http=http,
        services=ServicesFacts(c2s=services.get(ServiceKind.C2S), s2s=services.get(ServiceKind.S2S)),
        connections=opened.opened,
        errors=errors,
    )


async def _web(options: ScanOptions, discovery: Discovery) -> HttpFacts | None:
    """host-meta, ``_xmppconnect`` and POSH, fetched only from the addresses our resolver gave."""
    host = discovery.web_host
    addresses = [address for lookup in (host.addresses if host else []) for address in lookup.addresses]
    txt = discovery.xmppconnect

    async def txt_lookup(_name: str) -> list[str]:
        return list(txt.strings) if txt else []

    context = make_ssl_context()
    # The same extra roots as the XMPP certificates (``--ca-file``), so one trust decision covers both.
    for root in options.extra_roots:
        context.load_verify_locations(cadata=root.public_bytes(Encoding.PEM).decode("ascii"))
    settings = HttpSettings(https_port=options.https_port, http_port=options.http_port)
    return await probe_http(
        options.domain,
        addresses,
        ssl_context=context,
        settings=settings,
        txt_lookup=txt_lookup,
        allow=lambda address: options.policy.refusal(address) is None,
    )


async def _finish_web(
    task: asyncio.Task[HttpFacts | None] | None, deadline: float, errors: list[ProbeError]
) -> HttpFacts | None:
    if task is None:
        return None
    try:
        return await asyncio.wait_for(task, timeout=max(0.0, deadline - time.monotonic()))
    except TimeoutError:
        errors.append(
            ProbeError(phase="http", reason=ErrorReason.TIMEOUT, message="HTTPS discovery did not finish in time")
        )
    except Exception as exc:  # a bug in the probe: a fact, not a crash
        errors.append(ProbeError(phase="http", reason=ErrorReason.INTERNAL, message=f"{type(exc).__name__}: {exc}"))
    return None


async def run_scan(
    options: ScanOptions,
    observer: Observer = _ignore,
    limiter: Limiter | None = None,
    templates: TemplateStore | None = None,
) -> ScanResult:
    facts = await collect(options, observer, limiter, templates)
    observer(ScanEvent(EventKind.JUDGING, "grading"))
    result = judge(facts, extra_roots=options.extra_roots)
    observer(ScanEvent(EventKind.DONE, "done"))
    return result


def incomplete(result: ScanResult) -> list[str]:
    """Why the scan could not be completed (empty when it was): the reasons behind exit code 3."""
    reasons = [f"{error.phase}: {error.message}" for error in result.errors]
    for name in ("c2s", "s2s"):
        service = getattr(result.services, name)
        if name in [kind.value for kind in result.request.kinds] and service is None and not result.errors:
            reasons.append(f"{name}: not scanned")
        if service is None:
            continue
        if not service.endpoints and service.status is not None and service.status.value == "none":
            failed = [lookup.error for lookup in service.srv if lookup.error]
            reasons.append(f"{name}: no endpoint found" + (f" (DNS: {failed[0]})" if failed else ""))
        for endpoint in service.endpoints:
            if endpoint.grade is None:
                probes = [
                    *(endpoint.stream.errors if endpoint.stream else []),
                    *(endpoint.tls.errors if endpoint.tls else []),
                ]
                if endpoint.errors:
                    first = endpoint.errors[0].message
                elif probes:  # e.g. a server that accepts connections and says nothing
                    first = f"{probes[0].phase}: {probes[0].message}"
                else:
                    first = "no result"
                reasons.append(f"{endpoint.id}: {first}")
    return reasons
