"""Latest values and windowed aggregates on the embedded database (run on its thread).

Each series is read on its own with the primary key (one seek per series and field), then the
series of a group are combined here the way InfluxDB combines them: ``count`` and ``sum`` add,
``min``/``max`` compare, ``mean`` is the group's sum over its count, ``first``/``last`` take the
earliest/latest point of the group. Series are visited sorted by their tags, so results do not
depend on insertion order.
"""

from __future__ import annotations

from typing import Any

from cloud.store.points import FieldType, FieldValue
from cloud.store.query import AggregateFn, Selection, Windows
from cloud.store.results import Latest, Sample, WindowSeries, latest_rows, window_series
from cloud.store.sqlite_db import SqliteDatabase

_EXPRESSIONS: dict[str, str] = {
    "count": "COUNT(*)",
    "sum": "SUM(value)",
    "min": "MIN(value)",
    "max": "MAX(value)",
    "mean": "SUM(value), COUNT(*)",
    "first": "value, MIN(time)",  # SQLite takes the bare column from the row holding MIN/MAX
    "last": "value, MAX(time)",
}
Partial = tuple[Any, ...]


def from_sql(raw: Any, ftype: FieldType) -> FieldValue:
    """A stored value as the field's Python type (booleans are stored as 0/1)."""
    if ftype == "boolean":
        return bool(raw)
    if ftype == "float":
        return float(raw)
    if ftype == "integer":
        return int(raw)
    return str(raw)


def latest(db: SqliteDatabase, selection: Selection, types: dict[str, FieldType]) -> list[Latest]:
    fields = {name: db.field(selection.measurement, name) for name in types}
    groups: dict[tuple[str, ...], dict[str, Sample]] = {}
    for series_id, tags in db.select_series(selection):
        group = groups.setdefault(selection.group_of(tags), {})
        for name, field in fields.items():
            found = None if field is None else db.last(series_id, field[0])
            if field is None or found is None:
                continue
            current = group.get(name)
            if current is None or found[0] > current.time_ms:
                group[name] = Sample(found[0], from_sql(found[1], field[1]))
    return latest_rows(selection.group_by, groups.items())


def aggregate(
    db: SqliteDatabase,
    selection: Selection,
    name: str,
    ftype: FieldType,
    windows: Windows,
    fn: AggregateFn,
) -> list[WindowSeries]:
    field = db.field(selection.measurement, name)
    if field is None:
        return []
    partials: dict[tuple[str, ...], dict[int, Partial]] = {}
    for series_id, tags in db.select_series(selection):
        group = partials.setdefault(selection.group_of(tags), {})
        for start, *values in db.window_rows(series_id, field[0], windows, _EXPRESSIONS[fn]):
            assert isinstance(start, int)
            group[start] = _combine(fn, group.get(start), tuple(values))
    finished = {
        key: {start: _finish(fn, part, ftype) for start, part in group.items()}
        for key, group in partials.items()
    }
    return window_series(selection.group_by, finished)


def _combine(fn: AggregateFn, old: Partial | None, new: Partial) -> Partial:
    """Merge one series' partial result for a window into the group's."""
    if old is None:
        return new
    if fn in ("count", "sum"):
        return (old[0] + new[0],)
    if fn == "mean":
        return (old[0] + new[0], old[1] + new[1])
    if fn == "min":
        return (min(old[0], new[0]),)
    if fn == "max":
        return (max(old[0], new[0]),)
    if fn == "first":
        return new if new[1] < old[1] else old
    return new if new[1] > old[1] else old  # last


def _finish(fn: AggregateFn, part: Partial, ftype: FieldType) -> FieldValue:
    if fn == "mean":
        return float(part[0] / part[1])
    if fn == "count":
        return int(part[0])
    return from_sql(part[0], ftype)
