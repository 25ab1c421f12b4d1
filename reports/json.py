"""The JSON report: the result document itself, and its JSON Schema."""

from __future__ import annotations

import json
from typing import Any

from observatory.model import FORMAT_VERSION, ScanResult

SCHEMA_ID = f"https://xmpp-observatory.org/schema/scan-result-{FORMAT_VERSION}.json"


def render_json(result: ScanResult) -> str:
    # Nulls are kept: a consumer can tell "not observed" from a missing key of an older format.
    return result.model_dump_json(indent=2, by_alias=True) + "\n"


def result_schema() -> dict[str, Any]:
    schema = ScanResult.model_json_schema(mode="serialization", by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"xmpp-observatory scan result, format {FORMAT_VERSION}",
        **schema,
    }


def render_schema() -> str:
    return json.dumps(result_schema(), indent=2, sort_keys=False) + "\n"
