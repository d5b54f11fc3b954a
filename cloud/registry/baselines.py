"""Per-cabinet energy baselines (see :class:`cloud.registry.models_alarms.EnergyBaseline`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.registry._rows import check_aware, check_device_id, require
from cloud.registry.gateways import get_gateway
from cloud.registry.models_alarms import BaselineKind, EnergyBaseline


def set_baseline(
    session: Session,
    gateway_id: str,
    *,
    now: datetime,
    installed_w: float | None = None,
    kwh_per_lit_hour: float | None = None,
    on_offset_min: float = 15.0,
    off_offset_min: float = -15.0,
    meter_device: str | None = None,
    note: str = "",
) -> EnergyBaseline:
    """Create or replace the cabinet's baseline: exactly one of ``installed_w`` (W before the
    works) or ``kwh_per_lit_hour`` (a reference period's energy per lit hour)."""
    get_gateway(session, gateway_id)
    if (installed_w is None) == (kwh_per_lit_hour is None):
        raise ValueError(f"baseline of {gateway_id}: give installed_w or kwh_per_lit_hour")
    for name, value in (("installed_w", installed_w), ("kwh_per_lit_hour", kwh_per_lit_hour)):
        if value is not None and not value > 0:
            raise ValueError(f"baseline of {gateway_id}: {name} {value!r} must be > 0")
    for name, offset in (("on_offset_min", on_offset_min), ("off_offset_min", off_offset_min)):
        if not -180 <= offset <= 180:
            raise ValueError(f"baseline of {gateway_id}: {name} {offset!r} not in -180..180")
    if meter_device is not None:
        check_device_id(meter_device)
    row = session.get(EnergyBaseline, gateway_id) or EnergyBaseline(gateway_id=gateway_id)
    row.kind = (
        BaselineKind.INSTALLED_POWER if installed_w is not None else BaselineKind.REFERENCE_PERIOD
    )
    row.installed_w = installed_w
    row.kwh_per_lit_hour = kwh_per_lit_hour
    row.on_offset_min = on_offset_min
    row.off_offset_min = off_offset_min
    row.meter_device = meter_device
    row.note = note[:1024]
    row.updated_at = check_aware("now", now)
    session.add(row)
    session.flush()
    return row


def get_baseline(session: Session, gateway_id: str) -> EnergyBaseline:
    return require(session, EnergyBaseline, gateway_id, "energy baseline")


def list_baselines(session: Session) -> list[EnergyBaseline]:
    return list(session.scalars(select(EnergyBaseline).order_by(EnergyBaseline.gateway_id)))


def ensure_baseline(
    session: Session, gateway_id: str, *, now: datetime, meters: Mapping[str, float]
) -> EnergyBaseline | None:
    """A full-power baseline (the rated W of the cabinet's ``meters``, by device id) unless the
    cabinet has one already; None when no meter is named. Used by provisioning and the demo:
    savings then come from dimming and switch-off only, not from a change of lamps."""
    existing = session.get(EnergyBaseline, gateway_id)
    if existing is not None or not meters:
        return existing
    only = next(iter(meters)) if len(meters) == 1 else None
    return set_baseline(
        session,
        gateway_id,
        now=now,
        installed_w=float(sum(meters.values())),
        meter_device=only,
        note="full-power baseline: rated power of the lighting groups' meters",
    )
