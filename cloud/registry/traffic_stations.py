"""Traffic-loop stations: one row per lane, with its direction, road segment and geometry.

The geometry is a GeoJSON (RFC 7946) ``Point`` or ``LineString`` in WGS-84, longitude first,
coordinates rounded to 7 decimals when stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.registry._rows import check_device_id, check_gateway_id, check_name, insert
from cloud.registry.models import NAME_LENGTH
from cloud.registry.models_waste import DIRECTION_LENGTH, TrafficLane

MAX_LANES = 4
COORDINATE_DECIMALS = 7


def add_traffic_lane(
    session: Session,
    gateway_id: str,
    device_id: str,
    lane: int,
    *,
    direction: str,
    segment: str,
    geometry: Mapping[str, Any],
    interval_s: int = 60,
) -> TrafficLane:
    """Lane ``lane`` (1-4, the ``N`` of the ``laneN_*`` fields) of a loop station."""
    check_gateway_id(gateway_id)
    check_device_id(device_id)
    if isinstance(lane, bool) or not 1 <= lane <= MAX_LANES:
        raise ValueError(f"lane {lane!r}: 1-{MAX_LANES}")
    check_name("direction", direction, DIRECTION_LENGTH)
    check_name("segment", segment, NAME_LENGTH)
    if isinstance(interval_s, bool) or not interval_s > 0:
        raise ValueError(f"interval_s {interval_s!r}: a positive number of seconds")
    row = TrafficLane(
        gateway_id=gateway_id,
        device_id=device_id,
        lane=lane,
        direction=direction,
        segment=segment,
        interval_s=interval_s,
        geometry=check_geometry(geometry),
    )
    return insert(session, row, "traffic lane", (gateway_id, device_id, lane))


def list_traffic_lanes(session: Session, gateway_id: str | None = None) -> list[TrafficLane]:
    query = select(TrafficLane).order_by(
        TrafficLane.gateway_id, TrafficLane.device_id, TrafficLane.lane
    )
    if gateway_id is not None:
        query = query.where(TrafficLane.gateway_id == gateway_id)
    return list(session.scalars(query))


def check_geometry(geometry: Mapping[str, Any]) -> dict[str, Any]:
    """A clean copy of a GeoJSON Point or LineString; ValueError naming what is wrong."""
    kind = geometry.get("type") if isinstance(geometry, Mapping) else None
    coordinates = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
    if kind == "Point":
        return {"type": "Point", "coordinates": _position(coordinates)}
    if kind == "LineString":
        if not isinstance(coordinates, list | tuple) or len(coordinates) < 2:
            raise ValueError("geometry: a LineString needs at least two positions")
        return {"type": "LineString", "coordinates": [_position(p) for p in coordinates]}
    raise ValueError(f"geometry: type {kind!r}; a GeoJSON Point or LineString")


def _position(value: Any) -> list[float]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"geometry: position {value!r} is not [longitude, latitude]")
    longitude, latitude = float(value[0]), float(value[1])
    if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
        raise ValueError(f"geometry: position {value!r} is not WGS-84 [longitude, latitude]")
    return [round(longitude, COORDINATE_DECIMALS), round(latitude, COORDINATE_DECIMALS)]
