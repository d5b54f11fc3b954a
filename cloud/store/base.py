"""The time-series store interface every backend implements.

Callers use the public coroutines; they check their arguments once here, so every backend refuses
the same points (:class:`~cloud.errors.StoreRejected`) and the same queries
(:class:`~cloud.errors.QueryError`), then call the backend's hooks. Counter increases are computed
here from the backend's raw samples (:mod:`cloud.store.counters`), so both backends return the
same numbers.

Times are epoch milliseconds, UTC, everywhere (``eclor.clock.to_epoch_ms`` converts a datetime).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

from cloud.errors import QueryError
from cloud.store.counters import SeriesSamples, increase_by_group
from cloud.store.points import FieldType, Point, check_points
from cloud.store.query import (
    DEFAULT_GROUP_BY,
    NUMERIC_TYPES,
    AggregateFn,
    Selection,
    Windows,
    check_field,
    check_fn,
)
from cloud.store.results import Latest, Number, StoreHealth, WindowSeries


class TimeSeriesStore(ABC):
    """Points in, latest values and windowed aggregates out. See ``docs/data-model.md``."""

    backend: str = "abstract"

    async def write(self, points: Sequence[Point]) -> None:
        """Store ``points``; when this returns they are stored (the ingest may ack).

        Idempotent: a point is identified by measurement + tags + time, and writing it again
        replaces the values of the fields it carries (last write wins per series, time, field).
        Raises :class:`StoreRejected` for data no retry can store (checked for the whole batch
        before anything is sent) and :class:`StoreUnavailable` when the backend cannot take it now.
        """
        if not points:
            return
        check_points(points)
        await self._write(points)

    async def latest(
        self,
        measurement: str,
        where: Mapping[str, str] | None = None,
        fields: Sequence[str] | None = None,
        group_by: Sequence[str] = DEFAULT_GROUP_BY,
    ) -> list[Latest]:
        """The last value of each field (all fields when ``fields`` is None) of each group."""
        selection = Selection.of(measurement, where, group_by)
        if isinstance(fields, str):
            raise QueryError("fields must be a sequence of field keys, not a string")
        known = await self._field_types(measurement)
        wanted = list(known) if fields is None else [check_field(f) for f in fields]
        types = {name: known[name] for name in wanted if name in known}
        if not types:
            return []
        return await self._latest(selection, types)

    async def aggregate(
        self,
        measurement: str,
        field: str,
        *,
        start_ms: int,
        end_ms: int,
        every_ms: int,
        fn: AggregateFn = "mean",
        where: Mapping[str, str] | None = None,
        group_by: Sequence[str] = DEFAULT_GROUP_BY,
    ) -> list[WindowSeries]:
        """``fn`` of ``field`` per epoch-aligned window of ``every_ms`` in ``[start_ms, end_ms)``.

        Only windows holding data appear. ``mean`` gives floats, ``count`` ints, the others keep
        the field's type. ``mean``, ``min``, ``max`` and ``sum`` need a numeric field.
        """
        selection = Selection.of(measurement, where, group_by)
        windows = Windows.of(start_ms, end_ms, every_ms)
        ftype = (await self._field_types(measurement)).get(check_field(field))
        if ftype is None:
            return []
        return await self._aggregate(selection, field, ftype, windows, check_fn(fn, field, ftype))

    async def increase(
        self,
        measurement: str,
        field: str,
        *,
        start_ms: int,
        end_ms: int,
        every_ms: int,
        where: Mapping[str, str] | None = None,
        group_by: Sequence[str] = DEFAULT_GROUP_BY,
        wrap_at: Number | None = None,
    ) -> list[WindowSeries]:
        """How much a counter grew per window, across resets (definition: cloud.store.counters).

        ``wrap_at``: the counter rolls over to 0 at this value (a uint16 vehicle count: 65536);
        without it, any drop is a restart from 0.
        """
        selection = Selection.of(measurement, where, group_by)
        windows = Windows.of(start_ms, end_ms, every_ms)
        ftype = (await self._field_types(measurement)).get(check_field(field))
        if ftype is None:
            return []
        if ftype not in NUMERIC_TYPES:
            raise QueryError(f"increase needs a numeric counter; {field!r} is {ftype}")
        series = await self._samples(selection, field, ftype, windows)
        return increase_by_group(series, selection, windows, wrap_at)

    @abstractmethod
    async def health(self) -> StoreHealth:
        """Whether the backend answers now. Never raises."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections and threads; idempotent. Later calls raise StoreUnavailable."""

    # Backend hooks: arguments are checked already.

    @abstractmethod
    async def _write(self, points: Sequence[Point]) -> None: ...

    @abstractmethod
    async def _field_types(self, measurement: str) -> dict[str, FieldType]:
        """Every field of ``measurement`` with its type (empty for an unknown measurement)."""

    @abstractmethod
    async def _latest(self, selection: Selection, types: dict[str, FieldType]) -> list[Latest]: ...

    @abstractmethod
    async def _aggregate(
        self,
        selection: Selection,
        field: str,
        ftype: FieldType,
        windows: Windows,
        fn: AggregateFn,
    ) -> list[WindowSeries]: ...

    @abstractmethod
    async def _samples(
        self, selection: Selection, field: str, ftype: FieldType, windows: Windows
    ) -> list[SeriesSamples]:
        """Per series of the selection: its last sample before ``start_ms`` (if any), then its
        samples in ``[start_ms, end_ms)``, in time order, values of the field's Python type."""
