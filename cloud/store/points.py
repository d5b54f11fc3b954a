"""What a store holds: :class:`Point`, and the rules every point must follow in every backend.

A point is identified by its measurement, its tag set and its time; writing it again replaces its
field values (InfluxDB's rule, which the SQLite backend copies). The rules below are those of
InfluxDB's line protocol (1.x, 2.x and 3.x alike), applied *before* anything is sent, so a point
the InfluxDB backend would refuse is refused by the SQLite backend too, with the same error, and
data can move from one backend to the other:

- measurement, tag keys, tag values and field keys: non-empty text without a newline, carriage
  return or NUL. A backslash may appear, but not last and not before a character that line
  protocol escapes (``,`` ``=`` space; in a measurement ``,`` space): line protocol cannot express
  those. A measurement may not start with ``#`` (a comment line).
- tag and field keys: not ``time``, not starting with ``_`` (reserved by InfluxDB 2.x/3.x), and a
  point may not use one name as both a tag and a field (InfluxDB 3.x refuses it).
- field values: ``bool``, ``int`` in the signed 64-bit range, finite ``float``, ``str`` without a
  newline, carriage return or NUL and at most 64 KiB of UTF-8. A field keeps one type per
  measurement: writing an int where a float was stored is refused.
- time: epoch milliseconds, UTC, between 2000-01-01 and 2100-01-01 (the wire contract's bounds).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from cloud.errors import StoreRejected
from eclor.wire import Reading
from eclor.wire import limits as L

FieldValue = bool | int | float | str
"""A field value; ``bool`` is checked before ``int`` everywhere (``True`` is an ``int``)."""

FieldType = Literal["float", "integer", "boolean", "string"]
"""InfluxDB's names for the four field types."""

MAX_STRING_BYTES = 65_535
_CONTROL = re.compile(r"[\n\r\x00]")
_BAD_BACKSLASH_TAG = re.compile(r"\\(?=[,= ]|$)")
_BAD_BACKSLASH_MEASUREMENT = re.compile(r"\\(?=[, ]|$)")
_KNOWN_LIMIT = 65_536


@dataclass(frozen=True, slots=True)
class Point:
    """One timestamped set of field values of one series (measurement + tags)."""

    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    time_ms: int


def point_from_reading(reading: Reading, gateway: str) -> Point:
    """The store's point for a wire reading: its tags plus ``gateway`` and ``device``.

    The gateway comes from the batch (checked against the topic); it and the reading's device
    override tags of the same names the edge may have sent.
    """
    tags = dict(reading.tags)
    tags["gateway"] = gateway
    tags["device"] = reading.device
    return Point(reading.measurement, tags, reading.fields, reading.time)


def field_type(value: object) -> FieldType | None:
    """The InfluxDB type of a field value, or ``None`` when it cannot be stored as one."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer" if L.INT64_MIN <= value <= L.INT64_MAX else None
    if isinstance(value, float):
        return "float" if math.isfinite(value) else None
    if isinstance(value, str):
        return "string" if _string_value_problem(value) is None else None
    return None


def measurement_problem(name: object) -> str | None:
    """Why ``name`` cannot be a measurement, or ``None`` when it can."""
    if not isinstance(name, str) or not name:
        return "a measurement must be a non-empty string"
    if name in _KNOWN_MEASUREMENTS:
        return None
    problem = _text_problem(name, _BAD_BACKSLASH_MEASUREMENT, "measurement")
    if problem is None and name.startswith("#"):
        problem = "a measurement may not start with '#' (a line-protocol comment)"
    if problem is None:
        _remember(_KNOWN_MEASUREMENTS, name)
    return problem


def key_problem(name: object, what: str = "tag key") -> str | None:
    """Why ``name`` cannot be a tag or field key, or ``None`` when it can."""
    if not isinstance(name, str) or not name:
        return f"a {what} must be a non-empty string"
    if name in _KNOWN_KEYS:
        return None
    problem = _text_problem(name, _BAD_BACKSLASH_TAG, what)
    if problem is None and (name == "time" or name.startswith("_")):
        problem = f"{what} {name!r} is reserved (time, or a leading underscore)"
    if problem is None:
        _remember(_KNOWN_KEYS, name)
    return problem


def tag_value_problem(value: object) -> str | None:
    """Why ``value`` cannot be a tag value, or ``None`` when it can."""
    if not isinstance(value, str) or not value:
        return "a tag value must be a non-empty string (leave the tag out instead)"
    if value in _KNOWN_TAG_VALUES:
        return None
    problem = _text_problem(value, _BAD_BACKSLASH_TAG, "tag value")
    if problem is None:
        _remember(_KNOWN_TAG_VALUES, value)
    return problem


def check_points(points: Sequence[Point]) -> None:
    """Raise :class:`StoreRejected` naming the first point that breaks a rule (module doc)."""
    for index, point in enumerate(points):
        problem = point_problem(point)
        if problem is not None:
            raise StoreRejected(problem, index)


def point_problem(point: Point) -> str | None:
    """Why ``point`` cannot be stored, or ``None`` when it can."""
    if not isinstance(point, Point):
        return f"not a Point: {type(point).__name__}"
    time_ms = point.time_ms
    if isinstance(time_ms, bool) or not isinstance(time_ms, int):
        return "time_ms must be an int (epoch milliseconds, UTC)"
    if not L.MIN_EPOCH_MS <= time_ms <= L.MAX_EPOCH_MS:
        return f"time_ms {time_ms} is outside 2000-01-01..2100-01-01 (not epoch ms?)"
    return (
        measurement_problem(point.measurement)
        or _tags_problem(point.tags)
        or _fields_problem(point.fields, point.tags)
    )


def _tags_problem(tags: Mapping[str, str]) -> str | None:
    for key, value in tags.items():
        problem = key_problem(key) or tag_value_problem(value)
        if problem is not None:
            return f"tag {key!r}: {problem}"
    return None


def _fields_problem(fields: Mapping[str, FieldValue], tags: Mapping[str, str]) -> str | None:
    if not fields:
        return "a point needs at least one field"
    for key, value in fields.items():
        problem = key_problem(key, "field key")
        if problem is None and key in tags:
            problem = "the same name is a tag and a field"
        if problem is None and field_type(value) is None:
            problem = _value_problem(value)
        if problem is not None:
            return f"field {key!r}: {problem}"
    return None


def _value_problem(value: object) -> str:
    if isinstance(value, int):
        return f"integer {value} is outside the signed 64-bit range"
    if isinstance(value, float):
        return f"{value} is not a finite float"
    if isinstance(value, str):
        return _string_value_problem(value) or "bad string"
    return f"unsupported value type {type(value).__name__} (bool, int, float or str)"


def _string_value_problem(value: str) -> str | None:
    if _CONTROL.search(value):
        return "a string value may not contain a newline, carriage return or NUL"
    if len(value) > MAX_STRING_BYTES // 4 and len(value.encode()) > MAX_STRING_BYTES:
        return f"a string value may not exceed {MAX_STRING_BYTES} bytes of UTF-8"
    return None


def _text_problem(text: str, bad_backslash: re.Pattern[str], what: str) -> str | None:
    if _CONTROL.search(text):
        return f"a {what} may not contain a newline, carriage return or NUL"
    if "\\" in text and bad_backslash.search(text):
        return f"a {what} may not end with a backslash or have one before ',', '=' or ' '"
    return None


# Names and tag values repeat: each distinct good one is checked once (bounded, then forgotten).
_KNOWN_MEASUREMENTS: set[str] = set()
_KNOWN_KEYS: set[str] = set()
_KNOWN_TAG_VALUES: set[str] = set()


def _remember(known: set[str], text: str) -> None:
    if len(known) >= _KNOWN_LIMIT:
        known.clear()
    known.add(text)
