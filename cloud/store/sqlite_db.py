"""The embedded store's database: one SQLite file, used from one thread (see ``sqlite.py``).

Schema (version 1, in ``PRAGMA user_version``)::

    series(id, measurement, tags)              tags: canonical JSON, keys sorted; unique per
                                               (measurement, tags), like an InfluxDB series key
    series_tag(measurement, key, value, series_id)   the tag index that ``where`` filters use
    field(id, measurement, name, type)         one type per field of a measurement
    point(series_id, field_id, time, value)    WITHOUT ROWID, primary key (series_id, field_id,
                                               time): one row per field value, upserted, so the
                                               last write wins and a series' range is one seek

``value`` has no declared type, so an integer stays an integer and ``2.0`` stays a real; booleans
are stored as 0/1 and given back as ``bool`` by the field's type. The journal is WAL with
``synchronous=FULL``: a write that returned survives a power cut, which the ingest's ack needs.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from cloud.errors import StoreRejected
from cloud.store.counters import SeriesSamples
from cloud.store.points import FieldType, FieldValue, Point, field_type
from cloud.store.query import Selection, Windows

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    measurement TEXT NOT NULL,
    tags TEXT NOT NULL,
    UNIQUE (measurement, tags)
);
CREATE TABLE IF NOT EXISTS series_tag (
    measurement TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    series_id INTEGER NOT NULL,
    PRIMARY KEY (measurement, key, value, series_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS field (
    id INTEGER PRIMARY KEY,
    measurement TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('float', 'integer', 'boolean', 'string')),
    UNIQUE (measurement, name)
);
CREATE TABLE IF NOT EXISTS point (
    series_id INTEGER NOT NULL,
    field_id INTEGER NOT NULL,
    time INTEGER NOT NULL,
    value NOT NULL,
    PRIMARY KEY (series_id, field_id, time)
) WITHOUT ROWID;
"""
_UPSERT = (
    "INSERT INTO point (series_id, field_id, time, value) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (series_id, field_id, time) DO UPDATE SET value = excluded.value"
)
_LAST = "SELECT time, value FROM point WHERE series_id = ? AND field_id = ? AND time < ? "
_LAST += "ORDER BY time DESC LIMIT 1"
_RANGE = "SELECT time, value FROM point WHERE series_id = ? AND field_id = ? "
_RANGE += "AND time >= ? AND time < ? ORDER BY time"
_NEVER = 2**62  # later than any point (points end at 2100)
_CACHE_LIMIT = 200_000

K = TypeVar("K")
V = TypeVar("V")
Field = tuple[int, FieldType]
SeriesRow = tuple[int, dict[str, str]]


class SqliteDatabase:
    """Everything the embedded store does to its file; not thread-safe (one thread owns it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("PRAGMA busy_timeout = 5000")
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            self._conn.close()
            raise sqlite3.DatabaseError(f"{path}: schema version {version}, expected 1")
        self._conn.executescript(_SCHEMA)
        self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._series: dict[tuple[str, str], int] = {}
        self._fields: dict[tuple[str, str], Field] = {}
        self._tags: dict[int, dict[str, str]] = {}

    def close(self) -> None:
        self._conn.close()

    def pragma(self, name: str) -> object:
        return self._conn.execute(f"PRAGMA {name}").fetchone()[0]

    def size_bytes(self) -> int:
        """Size of the main database file (the WAL comes on top)."""
        pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
        return int(pages) * int(self._conn.execute("PRAGMA page_size").fetchone()[0])

    # Writes

    def write(self, points: Sequence[Point]) -> None:
        """Upsert every field value of ``points`` in one transaction; all or nothing."""
        series: dict[tuple[str, str], int] = {}
        fields: dict[tuple[str, str], Field] = {}
        rows: list[tuple[int, int, int, FieldValue]] = []
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for index, point in enumerate(points):
                series_id = self._series_id(point, series)
                for name, value in point.fields.items():
                    field_id = self._field_id(point.measurement, name, value, index, fields)
                    rows.append((series_id, field_id, point.time_ms, value))
            self._conn.executemany(_UPSERT, rows)
            self._conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        _merge(self._series, series)
        _merge(self._fields, fields)

    def _rollback(self) -> None:
        if self._conn.in_transaction:  # SQLite may have rolled back by itself (disk full, I/O)
            self._conn.execute("ROLLBACK")

    def _series_id(self, point: Point, new: dict[tuple[str, str], int]) -> int:
        key = (point.measurement, _tags_json(point.tags))
        found = self._series.get(key) or new.get(key)
        if found is not None:
            return found
        row = self._conn.execute(
            "SELECT id FROM series WHERE measurement = ? AND tags = ?", key
        ).fetchone()
        if row is None:
            cursor = self._conn.execute("INSERT INTO series (measurement, tags) VALUES (?, ?)", key)
            row = (cursor.lastrowid,)
            self._conn.executemany(
                "INSERT INTO series_tag (measurement, key, value, series_id) VALUES (?, ?, ?, ?)",
                [(point.measurement, k, v, row[0]) for k, v in point.tags.items()],
            )
        new[key] = int(row[0])
        return new[key]

    def _field_id(
        self,
        measurement: str,
        name: str,
        value: FieldValue,
        index: int,
        new: dict[tuple[str, str], Field],
    ) -> int:
        wanted = field_type(value)
        assert wanted is not None  # the points were checked before
        key = (measurement, name)
        found = self._fields.get(key) or new.get(key) or self._load_field(key)
        if found is None:
            cursor = self._conn.execute(
                "INSERT INTO field (measurement, name, type) VALUES (?, ?, ?)", (*key, wanted)
            )
            found = (int(cursor.lastrowid or 0), wanted)
        if found[1] != wanted:
            raise StoreRejected(
                f"field type conflict: {name!r} of {measurement!r} is {found[1]}, got {wanted}",
                index,
            )
        new[key] = found
        return found[0]

    def _load_field(self, key: tuple[str, str]) -> Field | None:
        row = self._conn.execute(
            "SELECT id, type FROM field WHERE measurement = ? AND name = ?", key
        ).fetchone()
        return None if row is None else (int(row[0]), row[1])

    # Reads

    def field_types(self, measurement: str) -> dict[str, FieldType]:
        rows = self._conn.execute(
            "SELECT name, type FROM field WHERE measurement = ? ORDER BY name", (measurement,)
        )
        return {name: kind for name, kind in rows}

    def field(self, measurement: str, name: str) -> Field | None:
        return self._fields.get((measurement, name)) or self._load_field((measurement, name))

    def select_series(self, selection: Selection) -> list[SeriesRow]:
        """The series of the selection, sorted by their tags (the order sums are made in)."""
        sql = "SELECT id, tags FROM series WHERE measurement = ?"
        params: list[object] = [selection.measurement]
        for key, value in selection.where:
            if value == "":  # InfluxDB: a tag equal to '' is a tag the series lacks
                sql += " AND id NOT IN (SELECT series_id FROM series_tag"
                sql += " WHERE measurement = ? AND key = ?)"
                params += [selection.measurement, key]
            else:
                sql += " AND id IN (SELECT series_id FROM series_tag"
                sql += " WHERE measurement = ? AND key = ? AND value = ?)"
                params += [selection.measurement, key, value]
        rows = [
            (int(i), self._decoded_tags(int(i), text))
            for i, text in self._conn.execute(sql, params)
        ]
        return sorted(rows, key=lambda row: sorted(row[1].items()))

    def last(
        self, series_id: int, field_id: int, before_ms: int = _NEVER
    ) -> tuple[int, object] | None:
        row = self._conn.execute(_LAST, (series_id, field_id, before_ms)).fetchone()
        return None if row is None else (int(row[0]), row[1])

    def window_rows(
        self, series_id: int, field_id: int, windows: Windows, expression: str
    ) -> Iterator[tuple[object, ...]]:
        """``(window start, *expression)`` per window of one series holding data."""
        sql = (
            f"SELECT time - time % ? AS window, {expression} FROM point "
            "WHERE series_id = ? AND field_id = ? AND time >= ? AND time < ? GROUP BY window"
        )
        params = (windows.every_ms, series_id, field_id, windows.start_ms, windows.end_ms)
        return iter(self._conn.execute(sql, params).fetchall())

    def samples(
        self, series: Sequence[SeriesRow], field: Field, windows: Windows
    ) -> list[SeriesSamples]:
        """Per series: its last sample before the range, then its samples in the range."""
        result = []
        for series_id, tags in series:
            samples = []
            before = self.last(series_id, field[0], windows.start_ms)
            if before is not None:
                samples.append(before)
            samples += self._conn.execute(
                _RANGE, (series_id, field[0], windows.start_ms, windows.end_ms)
            ).fetchall()
            result.append(SeriesSamples(tags, [(int(t), _number(v)) for t, v in samples]))
        return result

    # Retention

    def prune(self, before_ms: int) -> int:
        """Delete points older than ``before_ms``, then series left without points."""
        changes = self._conn.total_changes
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            pairs = self._conn.execute(
                "SELECT s.id, f.id FROM series AS s JOIN field AS f USING (measurement)"
            ).fetchall()
            self._conn.executemany(
                "DELETE FROM point WHERE series_id = ? AND field_id = ? AND time < ?",
                [(s, f, before_ms) for s, f in pairs],
            )
            deleted = self._conn.total_changes - changes
            self._conn.execute(
                "DELETE FROM series_tag WHERE NOT EXISTS "
                "(SELECT 1 FROM point WHERE point.series_id = series_tag.series_id)"
            )
            self._conn.execute(
                "DELETE FROM series WHERE NOT EXISTS "
                "(SELECT 1 FROM point WHERE point.series_id = series.id)"
            )
            self._conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        self._series.clear()
        self._tags.clear()
        return deleted

    def _decoded_tags(self, series_id: int, text: str) -> dict[str, str]:
        tags = self._tags.get(series_id)
        if tags is None:
            tags = json.loads(text)
            if len(self._tags) >= _CACHE_LIMIT:
                self._tags.clear()
            self._tags[series_id] = tags
        return tags


def _tags_json(tags: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(tags.items())), ensure_ascii=False, separators=(",", ":"))


def _merge(cache: dict[K, V], new: dict[K, V]) -> None:
    if len(cache) + len(new) > _CACHE_LIMIT:
        cache.clear()
    cache.update(new)


def _number(value: object) -> int | float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise TypeError(f"a counter sample is not a number: {value!r}")
