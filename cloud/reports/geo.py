"""Distances on the WGS-84 sphere approximation: enough for "reports within 500 m"."""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG)."""
METRES_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_M / 180.0


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS-84 positions (degrees)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """``(south, west, north, east)`` containing every point within ``radius_m``; the longitude
    span is the whole world near the poles (where one degree of longitude is nearly nothing)."""
    dlat = radius_m / METRES_PER_DEGREE_LAT
    south, north = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    cos_lat = math.cos(math.radians(max(abs(south), abs(north))))
    if cos_lat < 1e-6:
        return south, -180.0, north, 180.0
    dlon = dlat / cos_lat
    if dlon >= 180.0:
        return south, -180.0, north, 180.0
    return south, max(-180.0, lon - dlon), north, min(180.0, lon + dlon)
