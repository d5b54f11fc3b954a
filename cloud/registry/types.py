"""Column types that behave the same on SQLite and PostgreSQL.

- :class:`UTCDateTime`: aware UTC ``datetime`` in, aware UTC ``datetime`` out. PostgreSQL stores a
  ``timestamptz``; SQLite has no time zones, so the value is stored as naive UTC text and made aware
  again on the way out. A naive ``datetime`` is refused on the way in: Eclor only handles aware
  times (see :mod:`eclor.clock`).
- :data:`JsonDoc`: a JSON document, ``JSONB`` on PostgreSQL (indexable, compact), JSON text on
  SQLite. Changes are saved when a new value is assigned, not when the stored one is mutated in
  place: the registry functions always assign.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, Dialect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that refuses naive values and always returns aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: the registry stores aware UTC")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JsonDoc = JSON().with_variant(JSONB(), "postgresql")
