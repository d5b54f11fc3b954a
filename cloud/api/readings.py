"""A device's latest readings, from :meth:`TimeSeriesStore.latest`.

The store has no list of a device's measurements, so without ``measurement`` the API asks for
each of the telemetry measurements the profiles write (``ApiSettings.reading_measurements``), at
once. Every value carries its own observation time; the payload carries the newest one
(``observed_at``) and ``stale`` when that is older than the API's limit (or when nothing was
ever read). No server time is in the payload, so its ETag changes only with new data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from cloud.store.base import TimeSeriesStore
from cloud.store.results import Latest
from eclor.clock import from_epoch_ms


class FieldReading(BaseModel):
    value: bool | int | float | str
    time: datetime = Field(description="When the edge read the value")


class MeasurementReadings(BaseModel):
    measurement: str
    observed_at: datetime = Field(description="Newest time among the fields")
    fields: dict[str, FieldReading]


class LatestReadings(BaseModel):
    gateway_id: str
    device_id: str
    observed_at: datetime | None = Field(description="Newest observation; null when none")
    stale: bool = Field(description="Nothing observed within `stale_after_s`")
    stale_after_s: int
    measurements: list[MeasurementReadings]


async def latest_readings(
    store: TimeSeriesStore,
    gateway_id: str,
    device_id: str,
    measurements: Sequence[str],
    *,
    now: datetime,
    stale_after_s: int,
) -> LatestReadings:
    where = {"gateway": gateway_id, "device": device_id}
    found = await asyncio.gather(
        *(store.latest(m, where=where, group_by=("gateway", "device")) for m in measurements)
    )
    readings = [
        _measurement(name, rows[0]) for name, rows in zip(measurements, found, strict=True) if rows
    ]
    observed = max((r.observed_at for r in readings), default=None)
    return LatestReadings(
        gateway_id=gateway_id,
        device_id=device_id,
        observed_at=observed,
        stale=observed is None or now - observed > timedelta(seconds=stale_after_s),
        stale_after_s=stale_after_s,
        measurements=readings,
    )


def _measurement(name: str, latest: Latest) -> MeasurementReadings:
    return MeasurementReadings(
        measurement=name,
        observed_at=from_epoch_ms(latest.time_ms),
        fields={
            field: FieldReading(value=sample.value, time=from_epoch_ms(sample.time_ms))
            for field, sample in latest.fields.items()
        },
    )
