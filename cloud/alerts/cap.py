"""CAP polygons and GeoJSON polygons, the two ways round.

CAP 1.2 (``area/polygon``) writes a polygon as space-separated ``latitude,longitude`` pairs, the
first pair repeated at the end, at least four pairs. GeoJSON (RFC 7946) writes
``[longitude, latitude]``. Mixing them up puts Villerupt (49.47 N, 5.93 E) in the Gulf of Guinea,
so both directions are here, checked, and nowhere else.
"""

from __future__ import annotations

import math
from typing import Any

MIN_RING_POINTS = 4
MAX_RING_POINTS = 1000
DECIMALS = 7
"""RFC 7946 recommends at most 7 decimals (about 1 cm)."""


def check_position(longitude: float, latitude: float, where: str) -> tuple[float, float]:
    """``(longitude, latitude)`` rounded, or :class:`ValueError` naming ``where``."""
    if not (math.isfinite(longitude) and math.isfinite(latitude)):
        raise ValueError(f"{where}: coordinates must be finite numbers")
    if not -90.0 <= latitude <= 90.0:
        raise ValueError(f"{where}: latitude {latitude} is outside -90..90")
    if not -180.0 <= longitude <= 180.0:
        raise ValueError(f"{where}: longitude {longitude} is outside -180..180")
    return round(longitude, DECIMALS), round(latitude, DECIMALS)


def check_ring(ring: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A closed ring of ``(longitude, latitude)`` with 4 to 1000 positions."""
    if len(ring) < MIN_RING_POINTS:
        raise ValueError(f"a polygon needs at least {MIN_RING_POINTS} positions, got {len(ring)}")
    if len(ring) > MAX_RING_POINTS:
        raise ValueError(f"a polygon has at most {MAX_RING_POINTS} positions, got {len(ring)}")
    if ring[0] != ring[-1]:
        raise ValueError("a polygon must be closed: its last position repeats the first")
    return ring


def geojson_polygon(value: Any) -> dict[str, Any]:
    """A GeoJSON Polygon geometry (one exterior ring, no holes) checked and rounded."""
    if not isinstance(value, dict) or value.get("type") != "Polygon":
        raise ValueError('a GeoJSON geometry of "type": "Polygon" is expected')
    rings = value.get("coordinates")
    if not isinstance(rings, list) or len(rings) != 1 or not isinstance(rings[0], list):
        raise ValueError("a Polygon's coordinates are one ring (holes are not supported)")
    ring: list[tuple[float, float]] = []
    for index, position in enumerate(rings[0]):
        if (
            not isinstance(position, list | tuple)
            or len(position) != 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in position)
        ):
            raise ValueError(f"position {index}: [longitude, latitude] numbers are expected")
        ring.append(check_position(float(position[0]), float(position[1]), f"position {index}"))
    check_ring(ring)
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


def cap_to_geojson(polygon: str) -> dict[str, Any]:
    """A CAP polygon string (``lat,lon lat,lon …``) as a GeoJSON Polygon (``[lon, lat]``)."""
    ring: list[tuple[float, float]] = []
    for index, pair in enumerate(polygon.split()):
        parts = pair.split(",")
        try:
            if len(parts) != 2:
                raise ValueError
            latitude, longitude = float(parts[0]), float(parts[1])
        except ValueError:
            raise ValueError(f"pair {index} {pair[:40]!r}: 'latitude,longitude' expected") from None
        ring.append(check_position(longitude, latitude, f"pair {index}"))
    check_ring(ring)
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


def geojson_to_cap(geometry: dict[str, Any]) -> str:
    """A stored GeoJSON Polygon as a CAP polygon string (latitude first)."""
    ring = geometry["coordinates"][0]
    return " ".join(f"{_number(lat)},{_number(lon)}" for lon, lat in ring)


def _number(value: float) -> str:
    text = f"{value:.{DECIMALS}f}".rstrip("0")
    return text + "0" if text.endswith(".") else text
