"""Settings of the residents' models: wait-level thresholds, traffic occupancy bands, horizons."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ResidentsSettings(BaseModel):
    """``residents:`` in the cloud config; a waste centre's own thresholds (registry) win."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wait_low_min: float = Field(default=10.0, gt=0)
    """Longest wait still ``fluide``."""
    wait_high_min: float = Field(default=20.0, gt=0)
    """Longest wait still ``modéré``; above it, ``chargé``."""
    throughput_window_min: int = Field(default=15, ge=5, le=60)
    """Exits counted over this many minutes for the throughput (Little's law)."""
    service_min: float = Field(default=12.0, gt=0)
    """Mean time on site before the day has taught one (the fallback when nobody left lately)."""
    stale_polls: int = Field(default=3, ge=1)
    """A value is stale when its newest reading is older than this many poll (or loop) intervals."""
    drift_grace_min: int = Field(default=60, ge=0)
    """After closing, vehicles still on site by the counters this long after are counter drift."""
    full_share: float = Field(default=0.75, gt=0, le=1)
    """No queue detector: ``chargé`` from this share of the capacity, ``complet`` when full."""
    traffic_heavy_pct: float = Field(default=15.0, gt=0, lt=100)
    traffic_congested_pct: float = Field(default=30.0, gt=0, lt=100)
    traffic_impossible_pct: float = Field(default=50.0, gt=0, le=100)
    forecast_hours: int = Field(default=6, ge=1, le=48)
    forecast_history_days: int = Field(default=56, ge=1, le=366)

    @model_validator(mode="after")
    def _ordered(self) -> ResidentsSettings:
        if not self.wait_low_min < self.wait_high_min:
            raise ValueError("wait_low_min must be below wait_high_min")
        bands = (self.traffic_heavy_pct, self.traffic_congested_pct, self.traffic_impossible_pct)
        if not bands[0] < bands[1] < bands[2]:
            raise ValueError("traffic bands must rise: heavy < congested < impossible")
        return self
