"""Who the visitor is: the peer of the socket, or, when that peer is a trusted reverse proxy, the
client it names in ``X-Forwarded-For`` (and the scheme in ``X-Forwarded-Proto``). A header from any
other peer is ignored, so nobody can pick their own address to dodge per-client limits.

Also the request size bound: every body larger than the site needs is refused before it is read.
"""

from __future__ import annotations

import ipaddress
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scanners.policy import IPNetwork


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def trusted(peer: str | None, proxies: tuple[IPNetwork, ...]) -> bool:
    address = _address(peer or "")
    return address is not None and any(address.version == n.version and address in n for n in proxies)


def forwarded_client(peer: str, forwarded_for: str | None, proxies: tuple[IPNetwork, ...]) -> str:
    """The client behind a chain of trusted proxies: the right-most X-Forwarded-For entry that is not one
    of them (entries left of it were written by the client itself and prove nothing)."""
    if not forwarded_for or not trusted(peer, proxies):
        return peer
    for entry in reversed([part.strip() for part in forwarded_for.split(",")]):
        address = _address(entry)
        if address is None:
            return peer  # a malformed chain: believe only the socket
        if not trusted(str(address), proxies):
            return str(address)
    return peer


class ProxyHeaders:
    """Rewrites the ASGI scope's client and scheme from a trusted proxy's headers."""

    def __init__(self, app: ASGIApp, proxies: tuple[IPNetwork, ...]) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("client"):
            peer, port = scope["client"]
            if trusted(peer, self.proxies):
                headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
                client = forwarded_client(peer, headers.get("x-forwarded-for"), self.proxies)
                scheme = headers.get("x-forwarded-proto", "").strip().lower()
                scope = dict(scope)
                scope["client"] = (client, port if client == peer else 0)
                if scheme in ("http", "https"):
                    scope["scheme"] = scheme
        await self.app(scope, receive, send)


class BodyLimit:
    """413 for a request body over ``limit`` bytes, by its Content-Length or as it streams in."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {"type": "about:blank", "title": "Content Too Large", "status": 413, "detail": "The request is too large."}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope["headers"]:
            if key.lower() == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                await self._refuse(send)
                return
        # Read the whole (small) body first, bounded; then hand it to the app in one piece.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(
            scope, _replay([{"type": "http.request", "body": b"".join(chunks), "more_body": False}], receive), send
        )


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive
