"""What the savings need of the registry: each cabinet with a baseline, where it is."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.registry.models import Gateway, Site
from cloud.registry.models_alarms import BaselineKind, EnergyBaseline
from cloud.savings.sun import SunSchedule

TERRITORY_LATITUDE = 49.47
TERRITORY_LONGITUDE = 5.95
"""Used for a cabinet whose gateway has no site yet (Pays-Haut Val d'Alzette)."""
TERRITORY_ZONE = "Europe/Paris"


@dataclass(frozen=True, slots=True)
class Cabinet:
    gateway_id: str
    site_id: str | None
    commune: str | None
    sun: SunSchedule
    installed_w: float | None
    kwh_per_lit_hour: float | None
    meter_device: str | None

    def baseline_kwh(self, lit_hours: float) -> float:
        if self.installed_w is not None:
            return self.installed_w * lit_hours / 1000.0
        assert self.kwh_per_lit_hour is not None
        return self.kwh_per_lit_hour * lit_hours

    @property
    def tags(self) -> dict[str, str]:
        tags = {"gateway": self.gateway_id}
        if self.site_id:
            tags["site"] = self.site_id
        if self.commune:
            tags["commune"] = self.commune
        return tags


def cabinets_with_baseline(session: Session) -> list[Cabinet]:
    query = (
        select(EnergyBaseline, Site)
        .join(Gateway, Gateway.id == EnergyBaseline.gateway_id)
        .outerjoin(Site, Site.id == Gateway.site_id)
        .order_by(EnergyBaseline.gateway_id)
    )
    return [_cabinet(baseline, site) for baseline, site in session.execute(query).all()]


def _cabinet(baseline: EnergyBaseline, site: Site | None) -> Cabinet:
    sun = SunSchedule(
        latitude=site.latitude if site else TERRITORY_LATITUDE,
        longitude=site.longitude if site else TERRITORY_LONGITUDE,
        zone=ZoneInfo(site.timezone if site else TERRITORY_ZONE),
        on_offset_min=baseline.on_offset_min,
        off_offset_min=baseline.off_offset_min,
    )
    return Cabinet(
        gateway_id=baseline.gateway_id,
        site_id=site.id if site else None,
        commune=site.commune_insee if site else None,
        sun=sun,
        installed_w=(
            baseline.installed_w if baseline.kind is BaselineKind.INSTALLED_POWER else None
        ),
        kwh_per_lit_hour=(
            baseline.kwh_per_lit_hour if baseline.kind is BaselineKind.REFERENCE_PERIOD else None
        ),
        meter_device=baseline.meter_device,
    )
