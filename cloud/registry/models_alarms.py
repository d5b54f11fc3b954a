"""Registry tables of alarms and energy baselines.

An :class:`Alarm` is one episode of one condition on one device: opened by an ``active`` event
(or by the cloud's silence check), refreshed by later ``active`` events, closed once by a clear.
A condition that comes back after a clear opens a new row. Times are event times (the edge's
clock) for edge events and the cloud's clock for ``gatewaySilent`` / ``deviceSilent``.

An :class:`EnergyBaseline` is the reference a cabinet's savings are computed against: either the
installed power before the works (W) or a reference period's energy per lit hour (kWh/h), with
the astronomical switch times used to count lit hours.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.registry.models import NAME_LENGTH, Base, _enum
from eclor.wire.limits import MAX_DETAIL_LENGTH, MAX_ID_LENGTH

KIND_LENGTH = 64


class AlarmSeverity(enum.StrEnum):
    """As in ``eclor.wire.Event.severity``."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Alarm(Base):
    __tablename__ = "alarm"
    __table_args__ = (
        Index("ix_alarm_key", "gateway_id", "device_id", "kind", "opened_at"),
        Index("ix_alarm_open", "cleared_at", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    gateway_id: Mapped[str] = mapped_column(ForeignKey("gateway.id"))
    device_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    """The device the condition is on; the gateway id itself for ``gatewaySilent``."""
    kind: Mapped[str] = mapped_column(String(KIND_LENGTH))
    severity: Mapped[AlarmSeverity] = mapped_column(_enum(AlarmSeverity, "alarm_severity"))
    opened_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]
    last_seen: Mapped[datetime]
    """Time of the latest ``active`` event of this episode."""
    count: Mapped[int] = mapped_column(Integer, default=1)
    """``active`` events of this episode (replays of one already counted are not counted)."""
    detail: Mapped[str] = mapped_column(String(MAX_DETAIL_LENGTH), default="")
    acknowledged_by: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    acknowledged_at: Mapped[datetime | None]


class BaselineKind(enum.StrEnum):
    INSTALLED_POWER = "installed_power"
    """``installed_w`` × lit hours / 1000."""
    REFERENCE_PERIOD = "reference_period"
    """``kwh_per_lit_hour`` × lit hours, measured over a reference period before the works."""


class EnergyBaseline(Base):
    __tablename__ = "energy_baseline"
    __table_args__ = (
        CheckConstraint("installed_w IS NULL OR installed_w > 0", name="installed_w"),
        CheckConstraint(
            "kwh_per_lit_hour IS NULL OR kwh_per_lit_hour > 0", name="kwh_per_lit_hour"
        ),
        CheckConstraint("on_offset_min BETWEEN -180 AND 180", name="on_offset_min"),
        CheckConstraint("off_offset_min BETWEEN -180 AND 180", name="off_offset_min"),
    )

    gateway_id: Mapped[str] = mapped_column(ForeignKey("gateway.id"), primary_key=True)
    kind: Mapped[BaselineKind] = mapped_column(_enum(BaselineKind, "baseline_kind"))
    installed_w: Mapped[float | None] = mapped_column(Float)
    kwh_per_lit_hour: Mapped[float | None] = mapped_column(Float)
    on_offset_min: Mapped[float] = mapped_column(Float, default=15.0)
    """Switch-on at sunset + this many minutes."""
    off_offset_min: Mapped[float] = mapped_column(Float, default=-15.0)
    """Switch-off at sunrise + this many minutes (negative: before sunrise)."""
    meter_device: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    """The cabinet meter whose ``energy_import_kwh`` is the actual energy; every ``energy``
    device of the gateway when ``None``."""
    note: Mapped[str] = mapped_column(String(MAX_DETAIL_LENGTH), default="")
    updated_at: Mapped[datetime]
