"""What the HTTP discovery tests share: the scanner's settings and trust for the scripted web server."""

from __future__ import annotations

import ssl
from collections.abc import Sequence

from scanners.http.facts import HttpFetch
from scanners.http.fetch import Fetcher, HttpSettings
from scanners.http.transport import AddressFilter, allow_any, make_ssl_context
from tests.testbed.https_server import HttpsTestServer
from tests.testbed.layout import DOMAIN
from tests.testbed.pki import TestPKI

#: Short limits: the hostile routes must be cut off quickly.
FAST = {"connect_timeout": 2.0, "read_timeout": 2.0, "total_timeout": 3.0}


def trust(pki: TestPKI) -> ssl.SSLContext:
    """Only the test root: the testbed's certificates verify, nothing public does."""
    return make_ssl_context([pki.root_path], public_roots=False)


def settings(server: HttpsTestServer, **changes: float | int) -> HttpSettings:
    return HttpSettings(https_port=server.https_port, http_port=server.http_port, **{**FAST, **changes})  # type: ignore[arg-type]


def fetcher(
    server: HttpsTestServer,
    pki: TestPKI,
    addresses: Sequence[str] = ("127.0.0.1",),
    *,
    allow: AddressFilter = allow_any,
    resolve_table: dict[str, list[str]] | None = None,
    **changes: float | int,
) -> Fetcher:
    async def resolve(host: str) -> list[str]:
        assert resolve_table is not None
        return resolve_table.get(host, [])

    return Fetcher(
        DOMAIN,
        addresses,
        ssl_context=trust(pki),
        settings=settings(server, **changes),
        allow=allow,
        resolve=resolve if resolve_table is not None else None,
    )


async def get_final(client: Fetcher, url: str, *, redirects: int = 0) -> HttpFetch:
    """The last request made for ``url`` (there is always one unless the host was refused outright)."""
    final = (await client.get(url, accept="*/*", redirects=redirects)).final
    assert final is not None
    return final
