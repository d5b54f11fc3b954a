"""Traffic levels per loop-station lane as a GeoJSON FeatureCollection, read from the derived
series ``traffic_level`` of :mod:`cloud.residents` (one point per station interval) and the
stations' positions in the registry (the site of the station's gateway).

A lane whose last level is older than ``traffic_stale_intervals`` station intervals is ``stale``
and published with level ``unknown`` (DATEX II), keeping its last figures and their time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.public.freshness import age_s, is_stale, observed_at
from cloud.public.geojson import Feature, FeatureCollection, Geometry, point
from cloud.public.settings import PublicSettings
from cloud.registry.models import Gateway, Site
from cloud.store.base import TimeSeriesStore
from cloud.store.results import Latest

LEVEL = "traffic_level"
RAW = "traffic"
UNKNOWN = "unknown"
GROUP = ("gateway", "device", "lane", "segment")


@dataclass(frozen=True, slots=True)
class TrafficState:
    collection: FeatureCollection
    refresh_s: int
    """How often the stations report (the shortest interval seen), bounded by the settings."""


def station_positions(session: Session) -> dict[str, Geometry]:
    """Each gateway's position (its site's), by gateway id."""
    rows = session.execute(
        select(Gateway.id, Site.longitude, Site.latitude).join(Site, Gateway.site_id == Site.id)
    )
    return {gateway: point(lon, lat) for gateway, lon, lat in rows}


async def station_intervals(store: TimeSeriesStore) -> dict[tuple[str, str], int]:
    """Each station's reporting interval in seconds, by (gateway, device)."""
    rows = await store.latest(RAW, fields=["interval_s"], group_by=("gateway", "device"))
    intervals: dict[tuple[str, str], int] = {}
    for row in rows:
        value = row.fields["interval_s"].value
        if isinstance(value, int | float) and value > 0:
            intervals[(row.tags["gateway"], row.tags["device"])] = int(value)
    return intervals


async def traffic_state(
    store: TimeSeriesStore,
    positions: dict[str, Geometry],
    now: datetime,
    settings: PublicSettings,
) -> TrafficState:
    rows = await store.latest(LEVEL, group_by=GROUP)
    intervals = await station_intervals(store)
    features = [
        lane_feature(row, positions, intervals, now, settings) for row in rows if row.tags["lane"]
    ]
    seen = [intervals.get((r.tags["gateway"], r.tags["device"])) for r in rows]
    shortest = min((s for s in seen if s), default=settings.traffic_interval_s)
    refresh = max(settings.traffic_min_refresh_s, min(settings.traffic_max_refresh_s, shortest))
    return TrafficState(FeatureCollection(features=features), refresh)


def lane_feature(
    row: Latest,
    positions: dict[str, Geometry],
    intervals: dict[tuple[str, str], int],
    now: datetime,
    settings: PublicSettings,
) -> Feature:
    tags = row.tags
    gateway, device, lane = tags["gateway"], tags["device"], tags["lane"]
    interval = intervals.get((gateway, device), settings.traffic_interval_s)
    stale = is_stale(row.time_ms, now, interval * settings.traffic_stale_intervals)
    values = {name: sample.value for name, sample in row.fields.items()}
    level = values.get("level")
    return Feature(
        id=f"{gateway}/{device}/{lane}",
        geometry=positions.get(gateway),
        properties={
            "gateway": gateway,
            "device": device,
            "lane": lane,
            "segment": tags["segment"] or None,
            "level": UNKNOWN if stale or not isinstance(level, str) else level,
            "flow_vph": _number(values.get("flow_vph")),
            "occupancy_pct": _number(values.get("occupancy_pct")),
            "speed_kmh": _number(values.get("speed_kmh")),
            "interval_s": interval,
            "observed_at": _iso(observed_at(row.time_ms)),
            "age_s": age_s(row.time_ms, now),
            "stale": stale,
        },
    )


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return round(float(value), 2)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
