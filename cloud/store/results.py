"""What store queries return. Times are epoch milliseconds, UTC; groups come sorted by their tags.

``tags`` of a result hold the ``group_by`` tags of its group, ``""`` for a tag its series lack.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cloud.store.points import FieldValue

Number = int | float


@dataclass(frozen=True, slots=True)
class Sample:
    """A value and when it was measured."""

    time_ms: int
    value: FieldValue


@dataclass(frozen=True, slots=True)
class Latest:
    """The last value of each field of one group, each with its own time."""

    tags: dict[str, str]
    fields: dict[str, Sample]

    @property
    def time_ms(self) -> int:
        """Time of the most recent field value."""
        return max(sample.time_ms for sample in self.fields.values())


@dataclass(frozen=True, slots=True)
class Window:
    """One window of a windowed query, labelled by its (epoch-aligned) start."""

    start_ms: int
    value: FieldValue


@dataclass(frozen=True, slots=True)
class WindowSeries:
    """The windows of one group that hold data, in time order."""

    tags: dict[str, str]
    windows: list[Window]


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """``ok`` when the backend answered; ``detail`` says what and where (never a secret)."""

    ok: bool
    backend: str
    detail: str


def window_series(
    group_by: tuple[str, ...], groups: Mapping[tuple[str, ...], Mapping[int, FieldValue]]
) -> list[WindowSeries]:
    """Results from ``{group key: {window start: value}}``, groups and windows sorted."""
    return [
        WindowSeries(
            dict(zip(group_by, group, strict=True)),
            [Window(start, value) for start, value in sorted(windows.items())],
        )
        for group, windows in sorted(groups.items())
        if windows
    ]


def latest_rows(
    group_by: tuple[str, ...], groups: Iterable[tuple[tuple[str, ...], dict[str, Sample]]]
) -> list[Latest]:
    """Results from ``(group key, {field: sample})`` pairs, sorted by group."""
    return [
        Latest(dict(zip(group_by, group, strict=True)), dict(sorted(fields.items())))
        for group, fields in sorted(groups, key=lambda item: item[0])
        if fields
    ]
