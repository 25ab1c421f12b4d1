"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

#: JSON documents: JSONB on PostgreSQL (indexable, compact), JSON (text) on SQLite.
Json = JSON().with_variant(JSONB(), "postgresql")

#: Row ids: 64-bit on PostgreSQL; SQLite only auto-increments a column declared exactly INTEGER.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class Unreadable:
    """Stands for a stored value that cannot be decoded (bad JSON or time text in a damaged or hand-edited
    SQLite file). The column types return it instead of raising, so one bad row cannot make a whole
    listing fail; the repository reports that row as corrupt and skips it."""

    def __init__(self, error: str) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"Unreadable({self.error!r})"


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in UTC on every backend. SQLite keeps no zone, so it stores naive UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        process = super().result_processor(dialect, coltype)

        def tolerant(value: Any) -> Any:
            try:
                return process(value) if process else value
            except (ValueError, TypeError) as exc:
                return Unreadable(f"time {value!r}: {exc}")

        return tolerant

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the database stores aware (UTC) times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def tolerant_json_loads(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except (ValueError, TypeError) as exc:
        return Unreadable(f"not JSON ({exc})")
