"""Registry tables of waste centres (opening hours) and traffic stations.

A waste centre is identified by the id of the gateway that reads its gate controller (the derived
series tag it ``site``). Opening hours are local-time periods per weekday, stored as JSON
``{"mon": [["09:00", "12:00"], ["14:00", "18:00"]], ...}``; closed dates as ISO dates. The shapes
are checked by :mod:`cloud.registry.waste_centres`, the only writer.

A traffic lane is one lane of one loop station (gateway, device, lane number as in the
``traffic`` measurement's ``laneN_*`` fields), with the road segment it stands for and its
geometry as a GeoJSON Point or LineString (WGS-84, longitude first).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.registry.models import NAME_LENGTH, Base
from cloud.registry.types import JsonDoc
from eclor.wire.limits import MAX_ID_LENGTH

DIRECTION_LENGTH = 32


class WasteCentre(Base):
    __tablename__ = "waste_centre"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude"),
        CheckConstraint("capacity > 0", name="capacity"),
        CheckConstraint("poll_interval_s > 0", name="poll_interval"),
    )

    id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    """The gateway id; also the ``site`` tag of the derived series."""
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    commune: Mapped[str] = mapped_column(String(NAME_LENGTH))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    device_id: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    """The gate controller's device id; ``None``: the gateway's only ``waste_centre`` series."""
    capacity: Mapped[int] = mapped_column(Integer)
    has_queue_detector: Mapped[bool] = mapped_column(Boolean, default=True)
    poll_interval_s: Mapped[float] = mapped_column(Float, default=60.0)
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    closed_dates: Mapped[list[str]] = mapped_column(JsonDoc)
    wait_low_min: Mapped[float | None] = mapped_column(Float)
    """Upper bound of ``fluide``; ``None``: the configured default (10 min)."""
    wait_high_min: Mapped[float | None] = mapped_column(Float)
    """Upper bound of ``modéré``; ``None``: the configured default (20 min)."""


class TrafficLane(Base):
    __tablename__ = "traffic_lane"
    __table_args__ = (
        CheckConstraint("lane BETWEEN 1 AND 4", name="lane"),
        CheckConstraint("interval_s > 0", name="interval"),
    )

    gateway_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    lane: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(DIRECTION_LENGTH))
    segment: Mapped[str] = mapped_column(String(NAME_LENGTH), index=True)
    interval_s: Mapped[int] = mapped_column(Integer, default=60)
    geometry: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    """GeoJSON Point or LineString, RFC 7946."""
