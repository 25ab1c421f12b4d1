"""The options of one endpoint's scan, and the prober every probe of that scan goes through.

``Prober`` holds what the probes share: the opener, the in-flight cap, the connection budget,
the run of failed connections that ends a scan early, and the errors noted so far. Enumeration
(``enumeration``) and the probes that follow it (``followups``) both make their connections here,
so every one is counted and paced alike.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from scanners.base import ErrorReason, ProbeError
from scanners.connection.limits import DEFAULT_WAIT_LIMIT
from scanners.tls.client_hello import ClientHelloSpec, client_hello, sslv2_client_hello
from scanners.tls.facts import TlsVersion
from scanners.tls.probe import FollowUp, Opener, Outcome, ProbeResult, run_probe

T = TypeVar("T")

#: The probe family the running code makes connections for (``TlsFacts.connections_by_probe``). A
#: context variable, so concurrent probes of one scan (tasks copy the context) are told apart.
_FAMILY: ContextVar[str] = ContextVar("tls_probe_family", default="other")


@contextmanager
def probe_family(name: str) -> Iterator[None]:
    """Count the connections made inside the block (and in the tasks it starts) under ``name``."""
    token = _FAMILY.set(name)
    try:
        yield
    finally:
        _FAMILY.reset(token)


@dataclass(frozen=True)
class TlsScanOptions:
    #: SNI; also the XMPP domain for the stream on STARTTLS (the opener's business).
    server_name: str | None = None
    #: ALPN protocols to offer (``xmpp-client``/``xmpp-server`` on Direct TLS, XEP-0368).
    alpn: tuple[str, ...] = ()
    versions: tuple[TlsVersion, ...] = tuple(TlsVersion)
    #: Per probe, connection set-up (and STARTTLS) included.
    probe_timeout: float = 10.0
    #: The longest one wait for the server may take within a probe (a read, the STARTTLS prelude's
    #: each step): a server that accepts connections and says nothing is given up after it.
    wait_timeout: float | None = DEFAULT_WAIT_LIMIT
    #: Probes in flight at once; a connection layer's per-address limiter may allow fewer.
    max_in_flight: int = 4
    #: Suites per ClientHello for servers that refuse a version's first hello, which offers every
    #: candidate: some fail on hellos offering more than 128 suites (``enumeration``).
    suites_per_hello: int = 128
    #: Extra attempts when the opener fails (no TLS was tried); a refused hello is never retried.
    connect_retries: int = 1
    #: After this many failed connections in a row the endpoint is taken as unreachable: no more probes.
    max_connect_failures: int = 3
    #: At most this many connections per endpoint: a server accepting every suite cannot run us ragged.
    max_connections: int = 500
    certificate_chain: bool = True
    #: Named groups per version and their order, the ECDHE curve (one connection per group + 1).
    groups: bool = True
    #: DH parameters of each DHE suite family (one connection per family).
    dh_parameters: bool = True
    #: Compression, renegotiation_info, EMS, encrypt-then-MAC, ticket and status_request answers
    #: (one connection), and TLS_FALLBACK_SCSV (one more when several versions are spoken).
    extensions: bool = True
    #: The heartbeat extension and a safe Heartbleed test, on the extension probe's connection.
    heartbleed: bool = True
    #: CCS injection (CVE-2014-0224), on the extension probe's connection after Heartbleed's test.
    ccs_injection: bool = True
    #: ROBOT: five connections (ten when the answers differ) when an RSA key exchange is accepted.
    robot: bool = True
    #: Client-initiated renegotiation, on the session probe's complete TLS ≤ 1.2 handshake.
    renegotiation: bool = True
    #: A complete handshake for the session ticket lifetime and the OCSP staple (one connection).
    session: bool = True
    #: Every certificate chain (one connection per further certificate type the suites reveal).
    certificates: bool = True

    @property
    def minimal(self) -> TlsScanOptions:
        """Part 1 alone: versions, suites and the chain (what the engine did before groups etc.)."""
        off = dict.fromkeys(
            ("groups", "dh_parameters", "extensions", "heartbleed", "ccs_injection", "robot", "renegotiation",
             "session", "certificates"),
            False,
        )  # fmt: skip
        return replace(self, **off)


class Prober:
    def __init__(self, opener: Opener, options: TlsScanOptions) -> None:
        self.opener = opener
        self.options = options
        self.slots = asyncio.Semaphore(max(1, options.max_in_flight))
        self.connections = 0
        self.by_family: Counter[str] = Counter()
        #: Curve walk steps (version, curves offered) → the curve chosen, answered by a hello that asked
        #: something else too (``Enumeration.order_pick``); the walk takes them instead of asking.
        self.curve_answers: dict[tuple[TlsVersion, tuple[int, ...]], int | None] = {}
        self.errors: list[ProbeError] = []
        self.spoken: set[TlsVersion] = set()
        self.failures_in_a_row = 0
        #: Set once ``max_connect_failures`` connections failed in a row: probes still waiting stop.
        self._given_up = asyncio.Event()

    @property
    def stopped(self) -> bool:
        """No more connections will be made (budget spent, or the endpoint stopped answering)."""
        options = self.options
        return self.connections >= options.max_connections or self.failures_in_a_row >= options.max_connect_failures

    def note(self, error: ProbeError) -> None:
        if error not in self.errors:
            self.errors.append(error)

    def anomaly(self, version: TlsVersion | str, message: str) -> None:
        label = version.value if isinstance(version, TlsVersion) else version
        self.note(ProbeError(phase=f"tls-enumerate {label}", reason=ErrorReason.PROTOCOL, message=message))

    def _may_connect(self) -> bool:
        if self.failures_in_a_row >= self.options.max_connect_failures:
            return False  # the endpoint stopped accepting connections: stop knocking
        if self.connections >= self.options.max_connections:
            message = f"connection budget of {self.options.max_connections} spent; results are incomplete"
            self.note(ProbeError(phase="tls-enumerate", reason=ErrorReason.POLICY, message=message))
            return False
        self.connections += 1
        self.by_family[_FAMILY.get()] += 1
        return True

    async def probe(self, hello: bytes, *, read_flight: bool = False, follow_up: FollowUp | None = None) -> ProbeResult:
        result = ProbeResult(Outcome.CONNECT_FAILED)
        for _attempt in range(self.options.connect_retries + 1):
            async with self.slots:
                if not self._may_connect():
                    return result
                result = await self._unless_given_up(
                    run_probe(
                        self.opener,
                        hello,
                        time_limit=self.options.probe_timeout,
                        read_flight=read_flight,
                        follow_up=follow_up,
                        wait_limit=self.options.wait_timeout,
                    )
                )
            if result.outcome is not Outcome.CONNECT_FAILED:
                self.failures_in_a_row = 0
                break
            silent = result.error is not None and result.error.reason is ErrorReason.TIMEOUT
            # A wait that ran out counts twice: the server took the connection and said nothing
            # (no stream header, say), which the next connection would meet alike.
            self.failures_in_a_row += 2 if silent else 1
            if self.failures_in_a_row >= self.options.max_connect_failures:
                self._given_up.set()
            if silent:
                break  # no retry either
        if result.error is not None and result.outcome is not Outcome.SERVER_HELLO:
            self.note(result.error)
        return result

    async def _unless_given_up(self, job: Awaitable[ProbeResult]) -> ProbeResult:
        """``job``'s result, unless the endpoint stops answering meanwhile: then a probe still waiting
        (for a connection slot, say, behind the silent ones) gives up too, with no error of its own."""
        task = asyncio.ensure_future(job)
        given_up = asyncio.ensure_future(self._given_up.wait())
        try:
            await asyncio.wait({task, given_up}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            given_up.cancel()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        return task.result() if not task.cancelled() else ProbeResult(Outcome.CONNECT_FAILED)

    async def connection(
        self, job: Callable[[], Awaitable[T | ProbeError]], *, note_errors: bool = True
    ) -> T | ProbeError | None:
        """Run ``job`` (one connection of its own, e.g. a complete handshake) under the same caps.

        None when the budget or the run of failures forbids another connection. ``note_errors``
        False: a failure is an expected answer, not a fault (it is still returned).
        """
        async with self.slots:
            if not self._may_connect():
                return None
            outcome = await job()
        if isinstance(outcome, ProbeError) and note_errors:
            self.note(outcome)
        return outcome

    def spec(self, version: TlsVersion, codes: Sequence[int], **changes: Any) -> ClientHelloSpec:
        spec = ClientHelloSpec(version, codes, server_name=self.options.server_name, alpn=self.options.alpn)
        return replace(spec, **changes) if changes else spec

    def hello(self, version: TlsVersion, codes: Sequence[int], **changes: Any) -> bytes:
        if version == TlsVersion.SSL2:
            return sslv2_client_hello(codes)
        return client_hello(self.spec(version, codes, **changes))
