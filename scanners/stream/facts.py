"""What the stream prober observes on an endpoint."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from scanners.base import FactModel


class StarttlsPolicy(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    ABSENT = "absent"
    #: Direct TLS endpoints: TLS starts before the stream, STARTTLS has no meaning.
    NOT_APPLICABLE = "not-applicable"


class StreamHeader(FactModel):
    """The attributes of the server's ``<stream:stream>`` opening tag."""

    id: str | None = None
    from_: str | None = Field(default=None, alias="from")
    version: str | None = None
    lang: str | None = None


class StreamFeatures(FactModel):
    """One ``<stream:features>`` element, interpreted where we know the feature and kept raw otherwise."""

    sasl_mechanisms: list[str] = []
    compression_methods: list[str] = []
    registration: bool = False
    dialback: bool = False
    #: Features we do not interpret, as ``{namespace}element``.
    other: list[str] = []
    #: The element as received (bounded in size by the parser).
    raw: str | None = None


class StreamFacts(FactModel):
    header: StreamHeader | None = None
    starttls: StarttlsPolicy | None = None
    features_before_tls: StreamFeatures | None = None
    features_after_tls: StreamFeatures | None = None
    #: ALPN protocol the server chose on Direct TLS, if any.
    alpn: str | None = None
    #: A stream error condition the server sent (e.g. ``host-unknown``), with its text.
    stream_error: str | None = None
