"""The checked arguments of a query, shared by every backend.

A query names a measurement, filters its series by tag equality (``where``), groups them by some
tag keys (``group_by``) and, for windowed queries, cuts ``[start_ms, end_ms)`` into windows of
``every_ms`` aligned to the epoch, like InfluxQL's ``GROUP BY time(every)``: a window starts at a
multiple of ``every_ms`` and is labelled by that start, even when ``start_ms`` falls inside it
(only points from ``start_ms`` on are counted). Times are epoch milliseconds, UTC.

``where`` values are compared as they are: no pattern, no escaping by the caller. A ``where``
value of ``""`` matches the series that lack the tag, and a series that lacks a ``group_by`` tag
is grouped under ``""`` (InfluxDB's rules).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, cast, get_args

from cloud.errors import QueryError
from cloud.store.points import FieldType, key_problem, measurement_problem

AggregateFn = Literal["mean", "min", "max", "sum", "count", "first", "last"]
AGGREGATE_FNS: frozenset[str] = frozenset(get_args(AggregateFn))
NUMERIC_FNS: frozenset[str] = frozenset({"mean", "min", "max", "sum"})
NUMERIC_TYPES: frozenset[FieldType] = frozenset({"float", "integer"})

DEFAULT_GROUP_BY: tuple[str, ...] = ("gateway", "device")
MAX_WINDOWS = 100_000
"""Most windows one query may ask for (a year of 5-minute windows)."""


@dataclass(frozen=True, slots=True)
class Selection:
    """Which series a query reads and how it groups them."""

    measurement: str
    where: tuple[tuple[str, str], ...]
    group_by: tuple[str, ...]

    @classmethod
    def of(
        cls,
        measurement: str,
        where: Mapping[str, str] | None,
        group_by: Sequence[str],
    ) -> Selection:
        """Check the arguments; raise :class:`QueryError` on a bad one."""
        problem = measurement_problem(measurement)
        if problem is not None:
            raise QueryError(problem)
        if isinstance(group_by, str):
            raise QueryError("group_by must be a sequence of tag keys, not a string")
        groups = tuple(group_by)
        if len(set(groups)) != len(groups):
            raise QueryError(f"group_by repeats a key: {groups}")
        items = tuple(sorted((where or {}).items()))
        for key in (*groups, *(k for k, _ in items)):
            _check_key(key, "tag key")
        for key, value in items:
            if not isinstance(value, str):
                raise QueryError(f"where[{key!r}] must be a string, not {type(value).__name__}")
        return cls(measurement, items, groups)

    def group_of(self, tags: Mapping[str, str]) -> tuple[str, ...]:
        """The group key of a series: its values of the ``group_by`` tags, ``""`` when absent."""
        return tuple(tags.get(key, "") for key in self.group_by)

    def group_tags(self, group: tuple[str, ...]) -> dict[str, str]:
        return dict(zip(self.group_by, group, strict=True))


@dataclass(frozen=True, slots=True)
class Windows:
    """``[start_ms, end_ms)`` cut into epoch-aligned windows of ``every_ms``."""

    start_ms: int
    end_ms: int
    every_ms: int

    @classmethod
    def of(cls, start_ms: int, end_ms: int, every_ms: int) -> Windows:
        for name, value in (("start_ms", start_ms), ("end_ms", end_ms), ("every_ms", every_ms)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise QueryError(f"{name} must be an int (epoch milliseconds), not {value!r}")
        if start_ms < 0 or end_ms <= start_ms:
            raise QueryError(f"need 0 <= start_ms < end_ms, got {start_ms}..{end_ms}")
        if every_ms <= 0:
            raise QueryError(f"every_ms must be positive, got {every_ms}")
        windows = cls(start_ms, end_ms, every_ms)
        count = (end_ms - windows.start_of(start_ms) + every_ms - 1) // every_ms
        if count > MAX_WINDOWS:
            raise QueryError(f"{count} windows asked for; at most {MAX_WINDOWS}")
        return windows

    def start_of(self, time_ms: int) -> int:
        """Start of the window holding ``time_ms`` (times are never negative here)."""
        return time_ms - time_ms % self.every_ms


def check_field(field: str) -> str:
    _check_key(field, "field key")
    return field


def check_fn(fn: str, field: str, ftype: FieldType) -> AggregateFn:
    """``fn`` as an :data:`AggregateFn` when it applies to a field of type ``ftype``."""
    if fn not in AGGREGATE_FNS:
        raise QueryError(f"unknown aggregate {fn!r}; one of {sorted(AGGREGATE_FNS)}")
    if fn in NUMERIC_FNS and ftype not in NUMERIC_TYPES:
        raise QueryError(f"{fn} needs a numeric field; {field!r} is {ftype}")
    return cast(AggregateFn, fn)


def _check_key(key: object, what: str) -> None:
    problem = key_problem(key, what)
    if problem is not None:
        raise QueryError(problem)
