"""The cloud's time-series stores: one interface (:class:`TimeSeriesStore`), two backends.

- :class:`InfluxStore`: InfluxDB 1.x, or 2.x/3.x through their v1-compatibility API;
- :class:`SqliteStore`: one SQLite file, the default when no InfluxDB is configured.

``docs/data-model.md`` describes what is stored (measurements, tags, fields, counters, retention).
"""

from __future__ import annotations

from cloud.store.base import TimeSeriesStore
from cloud.store.influx import InfluxStore
from cloud.store.points import FieldType, FieldValue, Point, point_from_reading
from cloud.store.query import DEFAULT_GROUP_BY, AggregateFn
from cloud.store.results import Latest, Sample, StoreHealth, Window, WindowSeries
from cloud.store.settings import InfluxSettings, SqliteSettings, StoreSettings
from cloud.store.sqlite import SqliteStore
from eclor.clock import Clock

__all__ = [
    "DEFAULT_GROUP_BY",
    "AggregateFn",
    "FieldType",
    "FieldValue",
    "InfluxSettings",
    "InfluxStore",
    "Latest",
    "Point",
    "Sample",
    "SqliteSettings",
    "SqliteStore",
    "StoreHealth",
    "StoreSettings",
    "TimeSeriesStore",
    "Window",
    "WindowSeries",
    "open_store",
    "point_from_reading",
]


async def open_store(settings: StoreSettings, clock: Clock | None = None) -> TimeSeriesStore:
    """The configured store: InfluxDB when ``settings.influxdb`` is set (its database and policy
    set up now if it answers, otherwise at the first write), else the embedded SQLite store.
    ``clock`` drives the SQLite store's retention."""
    if settings.influxdb is not None:
        return await InfluxStore.open(settings.influxdb)
    return await SqliteStore.open(settings.sqlite, clock)
