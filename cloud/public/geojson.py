"""GeoJSON (RFC 7946) output: WGS-84, longitude first, at most 7 decimals (about 1 cm).

Only what the public API emits: Points and LineStrings in a FeatureCollection. A feature whose
position is not known has ``"geometry": null``, which RFC 7946 (3.2) allows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

DECIMALS = 7

Position = tuple[float, float]
"""(longitude, latitude), in that order."""


class Geometry(BaseModel):
    type: str = Field(description="`Point` or `LineString`")
    coordinates: list[float] | list[list[float]]


class Feature(BaseModel):
    type: str = "Feature"
    id: str
    geometry: Geometry | None
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    type: str = "FeatureCollection"
    features: list[Feature]


def position(longitude: float, latitude: float) -> list[float]:
    """A checked, rounded position; ``ValueError`` names the coordinate out of range."""
    if not -180.0 <= longitude <= 180.0:
        raise ValueError(f"longitude {longitude} is outside [-180, 180]")
    if not -90.0 <= latitude <= 90.0:
        raise ValueError(f"latitude {latitude} is outside [-90, 90]")
    return [round(longitude, DECIMALS), round(latitude, DECIMALS)]


def point(longitude: float, latitude: float) -> Geometry:
    return Geometry(type="Point", coordinates=position(longitude, latitude))


def line_string(positions: Sequence[Position]) -> Geometry:
    if len(positions) < 2:
        raise ValueError("a LineString needs at least two positions")
    return Geometry(type="LineString", coordinates=[position(lon, lat) for lon, lat in positions])


def geometry_of(data: Mapping[str, Any] | None) -> Geometry | None:
    """A registry GeoJSON geometry (Point or LineString, longitude first) checked and rounded."""
    if data is None:
        return None
    kind, coords = data.get("type"), data.get("coordinates")
    if kind == "Point" and isinstance(coords, Sequence) and len(coords) >= 2:
        return point(float(coords[0]), float(coords[1]))
    if kind == "LineString" and isinstance(coords, Sequence):
        return line_string([(float(c[0]), float(c[1])) for c in coords])
    raise ValueError(f"unsupported geometry {kind!r}: only Point and LineString")
