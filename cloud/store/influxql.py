"""InfluxQL in and out: the statements the InfluxDB backend sends, and their JSON answers decoded.

Every name goes in as a quoted identifier and every value as a string literal, escaped by the
rules of InfluxQL's scanner (``\\\\``, ``\\"`` or ``\\'``, and ``\\n``), so no argument can
change a statement's shape: ``x' OR 1=1`` is compared as it is and matches nothing. Tag filters
are cast (``"key"::tag``) so a filter never compares a field that happens to share the name.
Times go in as integer epoch milliseconds (``1764288000000ms``) and come back the same way
(``epoch=ms``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from cloud.errors import QueryError
from cloud.store.points import FieldType, FieldValue
from cloud.store.query import AggregateFn, Selection, Windows


def quote_ident(name: str) -> str:
    """``name`` as a double-quoted InfluxQL identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def quote_literal(text: str) -> str:
    """``text`` as a single-quoted InfluxQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def source(retention_policy: str | None, measurement: str) -> str:
    """``"rp"."measurement"``, or ``"measurement"`` in the database's default policy."""
    if retention_policy is None:
        return quote_ident(measurement)
    return quote_ident(retention_policy) + "." + quote_ident(measurement)


def _where(selection: Selection, conditions: list[str]) -> str:
    for key, value in selection.where:
        conditions.append(f"{quote_ident(key)}::tag = {quote_literal(value)}")
    return " WHERE " + " AND ".join(conditions) if conditions else ""


def _group_by(keys: tuple[str, ...], every_ms: int | None = None) -> str:
    parts = [] if every_ms is None else [f"time({every_ms}ms)"]
    parts.extend(quote_ident(key) for key in keys)
    return " GROUP BY " + ", ".join(parts) if parts else ""


def _in_range(windows: Windows) -> list[str]:
    return [f"time >= {windows.start_ms}ms", f"time < {windows.end_ms}ms"]


def field_keys(src: str) -> str:
    return f"SHOW FIELD KEYS FROM {src}"


def latest(src: str, selection: Selection, field: str) -> str:
    """The last value of ``field`` per group, with its own time (one selector per statement:
    with two, InfluxDB reports time 0)."""
    where = _where(selection, [])
    return f"SELECT last({quote_ident(field)}) FROM {src}{where}{_group_by(selection.group_by)}"


def aggregate(src: str, selection: Selection, field: str, windows: Windows, fn: AggregateFn) -> str:
    where = _where(selection, _in_range(windows))
    group = _group_by(selection.group_by, windows.every_ms)
    return f"SELECT {fn}({quote_ident(field)}) FROM {src}{where}{group} fill(none)"


def last_before(src: str, selection: Selection, field: str, windows: Windows) -> str:
    """Each series' last sample before the range (the predecessor of its first delta)."""
    where = _where(selection, [f"time < {windows.start_ms}ms"])
    return f"SELECT last({quote_ident(field)}) FROM {src}{where} GROUP BY *"


def raw_range(src: str, selection: Selection, field: str, windows: Windows) -> str:
    """Every sample of ``field`` in the range, per series."""
    where = _where(selection, _in_range(windows))
    return f"SELECT {quote_ident(field)} FROM {src}{where} GROUP BY *"


class SeriesResult(msgspec.Struct):
    columns: list[str]
    name: str = ""
    tags: dict[str, str] = {}
    values: list[list[Any]] = []

    def present_tags(self) -> dict[str, str]:
        """The series' tags without the ``""`` InfluxDB reports for tags it lacks."""
        return {key: value for key, value in self.tags.items() if value != ""}


class StatementResult(msgspec.Struct):
    statement_id: int = 0
    series: list[SeriesResult] = []
    error: str | None = None
    partial: bool = False


class QueryResponse(msgspec.Struct):
    results: list[StatementResult] = []
    error: str | None = None


RESPONSE = msgspec.json.Decoder(QueryResponse)


def coerce(value: Any, ftype: FieldType) -> FieldValue:
    """A JSON value as the field's Python type: InfluxDB writes the float 2.0 as ``2``."""
    if ftype == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if ftype == "integer" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if ftype == "boolean" and isinstance(value, bool):
        return value
    if ftype == "string" and isinstance(value, str):
        return value
    raise QueryError(f"InfluxDB answered {value!r} for a {ftype} field")


def field_types(result: StatementResult) -> dict[str, FieldType]:
    """``SHOW FIELD KEYS`` as ``{field: type}`` (the first type when shards disagree)."""
    types: dict[str, FieldType] = {}
    for series in result.series:
        for key, kind in series.values:
            if kind in ("float", "integer", "boolean", "string"):
                types.setdefault(key, kind)
    return types
