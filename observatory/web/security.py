"""What every response carries (security headers) and what every form POST must carry (an anti-CSRF
token).

Every string a page shows may come from a server we do not control, so the pages forbid inline
script and style outright (CSP) in addition to autoescaping: a missed escape still cannot run.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}

CSRF_COOKIE = "observatory_csrf"
CSRF_FIELD = "csrf_token"


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every HTTP response (pure ASGI: no per-request task overhead)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Csrf:
    """Double-submit tokens: a signed random token in a SameSite=Strict cookie, repeated in the form.

    A cross-site page can neither read the cookie nor make the browser send it with its POST, and
    cannot forge a token without the site's key.
    """

    def __init__(self, secret_key: str) -> None:
        self._key = secret_key.encode("utf-8")

    def _sign(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode("ascii"), hashlib.sha256).hexdigest()[:32]

    def new_token(self) -> str:
        nonce = secrets.token_urlsafe(18)
        return f"{nonce}.{self._sign(nonce)}"

    def valid(self, token: str | None) -> bool:
        if not token or token.count(".") != 1 or len(token) > 128:
            return False
        nonce, signature = token.split(".")
        try:
            expected = self._sign(nonce)
        except UnicodeEncodeError:
            return False
        return hmac.compare_digest(signature, expected)

    def token_for(self, request: Request) -> str:
        """The visitor's token: the one in their cookie when it is valid, else a new one."""
        current = request.cookies.get(CSRF_COOKIE)
        return current if self.valid(current) else self.new_token()

    def check(self, request: Request, submitted: str | None) -> str | None:
        """None when the POST is genuine, else why it is refused."""
        origin = request.headers.get("origin")
        if origin and origin != "null" and origin.rstrip("/") != _own_origin(request):
            return "the form was sent from another site"
        cookie = request.cookies.get(CSRF_COOKIE)
        if not self.valid(cookie):
            return "the form's security cookie is missing or expired (cookies must be enabled); reload the page"
        if not submitted or not hmac.compare_digest(submitted, cookie or ""):
            return "the form's security token does not match; reload the page and submit again"
        return None


def _own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"
