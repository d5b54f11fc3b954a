"""InfluxDB line protocol, written by us for points already checked by :mod:`cloud.store.points`.

``measurement[,tag=value...] field=value[,field=value...] time`` with, per element:

- measurement: ``,`` and space escaped with a backslash;
- tag keys, tag values, field keys: ``,`` ``=`` and space escaped; tags sorted by key (the order
  InfluxDB stores them in, which saves it the sort);
- string field values: in double quotes, ``"`` and ``\\`` escaped;
- integers with an ``i`` suffix; booleans ``true``/``false``;
- floats by ``repr``: the shortest text that reads back as the same double, always with a ``.``
  or an exponent, so a float field never turns into an integer one (``2.0``, ``1e+20``);
- time in milliseconds (the write request says ``precision=ms``).

Backslashes elsewhere pass through unchanged: line protocol has no escape for a backslash in a
name or tag value, which is why the point rules refuse one at the end or before ``,`` ``=`` space.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from cloud.store.points import FieldValue, Point

K = TypeVar("K")

_MEASUREMENT = str.maketrans({",": "\\,", " ": "\\ "})
_KEY = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})
_STRING = str.maketrans({"\\": "\\\\", '"': '\\"'})
_CACHE_LIMIT = 65_536
# Names, tag sets and field keys repeat from one point to the next: each is escaped once.
_series_keys: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
_field_prefixes: dict[str, str] = {}


def format_value(value: FieldValue) -> str:
    """One field value as line protocol."""
    kind = type(value)
    if kind is float:
        return repr(value)
    if kind is int:
        return f"{value}i"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{int(value)}i"
    if isinstance(value, float):
        return repr(float(value))
    return '"' + value.translate(_STRING) + '"'


def series_key(point: Point) -> str:
    """``measurement,tag=value,...`` escaped, tags sorted by key."""
    cache_key = (point.measurement, tuple(point.tags.items()))
    key = _series_keys.get(cache_key)
    if key is None:
        parts = [point.measurement.translate(_MEASUREMENT)]
        for name, value in sorted(point.tags.items()):
            parts.append(name.translate(_KEY) + "=" + value.translate(_KEY))
        key = ",".join(parts)
        _remember(_series_keys, cache_key, key)
    return key


def _field_prefix(name: str) -> str:
    prefix = _field_prefixes.get(name)
    if prefix is None:
        prefix = name.translate(_KEY) + "="
        _remember(_field_prefixes, name, prefix)
    return prefix


def encode_line(point: Point) -> str:
    """One point as one line, without the newline."""
    fields = ",".join(_field_prefix(k) + format_value(v) for k, v in point.fields.items())
    return f"{series_key(point)} {fields} {point.time_ms}"


def encode_lines(points: Iterable[Point]) -> bytes:
    """A request body: one line per point, each ending with a newline, UTF-8."""
    return "".join(encode_line(point) + "\n" for point in points).encode()


def _remember(cache: dict[K, str], key: K, value: str) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
