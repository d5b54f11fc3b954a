"""Traffic levels per loop-station lane as a GeoJSON FeatureCollection (RFC 7946).

The levels come from :func:`cloud.residents.api.traffic_levels` (C1: occupancy bands, DATEX II
states, ``unknown`` when a station has been silent for three intervals), the geometry from the
registered lane (a Point or a LineString, checked and rounded to 7 decimals here).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from cloud.public.freshness import age_s
from cloud.public.geojson import Feature, FeatureCollection, Geometry, geometry_of
from cloud.public.settings import PublicSettings
from cloud.residents import api as residents
from cloud.residents.traffic import LaneLevel
from cloud.store.base import TimeSeriesStore
from eclor.clock import to_epoch_ms

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrafficState:
    collection: FeatureCollection
    refresh_s: int
    """How often the stations report (the shortest interval), bounded by the settings."""


async def traffic_state(
    store: TimeSeriesStore,
    sessions: sessionmaker[Session],
    now: datetime,
    settings: PublicSettings,
) -> TrafficState:
    levels = await residents.traffic_levels(store, sessions, now)
    features = [lane_feature(level, now) for level in levels]
    shortest = min((lv.lane.interval_s for lv in levels), default=settings.traffic_interval_s)
    refresh = max(settings.traffic_min_refresh_s, min(settings.traffic_max_refresh_s, shortest))
    return TrafficState(FeatureCollection(features=features), refresh)


def lane_feature(level: LaneLevel, now: datetime) -> Feature:
    lane = level.lane
    observed = level.observed_at
    return Feature(
        id=f"{lane.gateway}/{lane.device}/{lane.lane}",
        geometry=_geometry(level),
        properties={
            "gateway": lane.gateway,
            "device": lane.device,
            "lane": lane.lane,
            "direction": lane.direction,
            "segment": lane.segment,
            "level": level.level.value,
            "flow_vph": _round(level.flow_vph),
            "occupancy_pct": _round(level.occupancy_pct),
            "speed_kmh": _round(level.speed_kmh),
            "interval_s": lane.interval_s,
            "observed_at": None if observed is None else _iso(observed),
            "age_s": None if observed is None else age_s(to_epoch_ms(observed), now),
            "stale": level.stale,
        },
    )


def _geometry(level: LaneLevel) -> Geometry | None:
    try:
        return geometry_of(level.lane.geometry)
    except (ValueError, TypeError, IndexError) as error:
        lane = level.lane
        log.warning("lane %s/%s/%s: bad geometry: %s", lane.gateway, lane.device, lane.lane, error)
        return None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
