"""The pure parts of the fetcher: URLs, bounded decompression, and how failures are classified."""

from __future__ import annotations

import gzip
import ssl
import zlib

import httpcore
import httpx
import pytest

from scanners.base import ErrorReason
from scanners.http.fetch import BodyTooLarge, HttpSettings, _decompress, classify
from scanners.http.transport import AddressRefused, normalise_host


def test_urls_carry_only_non_default_ports() -> None:
    assert HttpSettings().url("https", "example.org", "/x") == "https://example.org/x"
    assert HttpSettings().url("http", "example.org", "/x") == "http://example.org/x"
    settings = HttpSettings(https_port=8443, http_port=8080)
    assert settings.url("https", "example.org", "/x") == "https://example.org:8443/x"
    assert settings.url("http", "example.org", "/x") == "http://example.org:8080/x"


def test_gzip_within_the_limit_is_inflated() -> None:
    assert _decompress(gzip.compress(b"hello"), "gzip", 100) == b"hello"
    assert _decompress(zlib.compress(b"hello"), "deflate", 100) == b"hello"
    assert _decompress(b"plain", "identity", 100) == b"plain"


def test_a_gzip_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"\0" * (8 << 20))
    assert len(bomb) < 16 << 10
    with pytest.raises(BodyTooLarge, match="inflates to more than 65536 bytes"):
        _decompress(bomb, "gzip", 65536)


@pytest.mark.parametrize(("encoding", "data"), [("br", b"x"), ("gzip", b"not gzip")])
def test_undecodable_bodies_are_protocol_errors(encoding: str, data: bytes) -> None:
    with pytest.raises(httpx.DecodingError) as caught:
        _decompress(data, encoding, 100)
    assert classify(caught.value).reason is ErrorReason.PROTOCOL


def _chained(outer: Exception, cause: BaseException) -> Exception:
    outer.__cause__ = cause
    return outer


REFUSED = _chained(httpcore.ConnectError("x"), ConnectionRefusedError(111, "refused"))


@pytest.mark.parametrize(
    ("exc", "reason", "phase"),
    [
        (AddressRefused("policy"), ErrorReason.POLICY, "connect"),
        (BodyTooLarge("big"), ErrorReason.HOSTILE_INPUT, "body"),
        (httpx.ConnectTimeout("t"), ErrorReason.TIMEOUT, "connect"),
        (httpx.ReadTimeout("t"), ErrorReason.TIMEOUT, "http"),
        (_chained(httpx.ConnectError("x"), REFUSED), ErrorReason.REFUSED, "connect"),
        (_chained(httpx.ConnectError("x"), OSError(113, "no route")), ErrorReason.UNREACHABLE, "connect"),
        (_chained(httpx.ConnectError("x"), ssl.SSLCertVerificationError(1, "verify")), ErrorReason.TLS, "tls"),
        (_chained(httpx.ConnectError("x"), ssl.SSLError(1, "alert")), ErrorReason.TLS, "tls"),
        (httpx.RemoteProtocolError("bad status line"), ErrorReason.PROTOCOL, "http"),
        (ValueError("surprise"), ErrorReason.INTERNAL, "http"),
    ],
)  # fmt: skip
def test_classification(exc: Exception, reason: ErrorReason, phase: str) -> None:
    error = classify(exc)
    assert (error.reason, error.phase) == (reason, phase)
    assert error.message


def test_host_names_are_compared_as_httpcore_sends_them() -> None:
    assert normalise_host("Example.TEST.") == "example.test"
    assert normalise_host("bücher.example") == "xn--bcher-kva.example"
    assert normalise_host("::1") == "::1"
