"""Tunables of the public API; the defaults follow the refresh rates of the derived series."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PublicSettings:
    waste_refresh_s: int = 60
    """``waste_wait`` is written every minute: answers are cached and reusable that long."""
    forecast_hours: float = 4.0
    """How far ahead the detail of a centre forecasts."""
    forecast_slot_s: int = 900
    traffic_interval_s: int = 60
    """Station interval assumed when the station's own ``interval_s`` is not known."""
    traffic_min_refresh_s: int = 30
    traffic_max_refresh_s: int = 360
    page_size: int = 50
    max_page_size: int = 200
    cache_entries: int = 1024
