"""The base every fact type derives from, and the small value types the probe families share."""

from __future__ import annotations

import base64
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema
from pydantic.functional_validators import BeforeValidator


class FactModel(BaseModel):
    """Immutable, and strict about unknown keys so a typo never becomes silent data loss."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _b64_to_bytes(value: object) -> object:
    if isinstance(value, str):
        return base64.b64decode(value, validate=True)
    return value


#: Raw bytes kept as evidence (certificate DER, DNS wire), base64 in JSON without line breaks.
B64Bytes = Annotated[
    bytes,
    BeforeValidator(_b64_to_bytes),
    PlainSerializer(lambda raw: base64.b64encode(raw).decode("ascii"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
]


class ServiceKind(StrEnum):
    C2S = "c2s"
    S2S = "s2s"


class Transport(StrEnum):
    STARTTLS = "starttls"
    DIRECTTLS = "directtls"


class ErrorReason(StrEnum):
    """Why a probe did not complete; the same vocabulary for every probe family."""

    TIMEOUT = "timeout"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    DNS = "dns"
    STREAM_ERROR = "stream-error"
    TLS = "tls"
    PROTOCOL = "protocol"
    HOSTILE_INPUT = "hostile-input"
    POLICY = "policy"
    INTERNAL = "internal"


class ProbeError(FactModel):
    """A failure observed while probing: which phase, why, and what was said."""

    phase: str
    reason: ErrorReason
    message: str
