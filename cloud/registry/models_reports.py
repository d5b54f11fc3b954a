"""Registry tables of alerts and residents' reports.

An :class:`Alert` is one CAP 1.2 message with one ``info`` block (French) and one ``area``. CAP
never edits a message: an Update or a Cancel is a new message whose ``references`` names the one
it replaces, and the replaced row gets ``superseded_by`` (so "the current message of each chain"
is one indexed condition). Areas are kept as a GeoJSON Polygon (longitude first) and/or INSEE
commune codes; the CAP polygon string (latitude first) is derived on output
(:mod:`cloud.alerts.cap`).

A :class:`Report` is one resident's report of illegal dumping: location, category, description
(stored raw: escaped by whatever renders it), optional contact (never shown publicly), a status
moved by operators (:class:`ReportEvent` keeps each move with its note), and photos
(:class:`ReportPhoto`: metadata here, bytes on disk under server-chosen names).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloud.registry.models import NAME_LENGTH, Base, _enum
from cloud.registry.types import JsonDoc

ALERT_ID_LENGTH = 64
HEADLINE_LENGTH = 160
EVENT_LENGTH = 200
AREA_DESC_LENGTH = 200
ALERT_TEXT_LENGTH = 4000
REPORT_TEXT_LENGTH = 2000
NOTE_LENGTH = 1000
CONTACT_LENGTH = 254
PHOTO_ID_LENGTH = 32


class MsgType(enum.StrEnum):
    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"


class AlertStatus(enum.StrEnum):
    """CAP ``status``: only ``Actual`` messages are shown to the public."""

    ACTUAL = "Actual"
    EXERCISE = "Exercise"
    TEST = "Test"


class AlertCategory(enum.StrEnum):
    GEO = "Geo"
    MET = "Met"
    SAFETY = "Safety"
    SECURITY = "Security"
    RESCUE = "Rescue"
    FIRE = "Fire"
    HEALTH = "Health"
    ENV = "Env"
    TRANSPORT = "Transport"
    INFRA = "Infra"
    CBRNE = "CBRNE"
    OTHER = "Other"


class Urgency(enum.StrEnum):
    IMMEDIATE = "Immediate"
    EXPECTED = "Expected"
    FUTURE = "Future"
    PAST = "Past"
    UNKNOWN = "Unknown"


class Severity(enum.StrEnum):
    EXTREME = "Extreme"
    SEVERE = "Severe"
    MODERATE = "Moderate"
    MINOR = "Minor"
    UNKNOWN = "Unknown"


class Certainty(enum.StrEnum):
    OBSERVED = "Observed"
    LIKELY = "Likely"
    POSSIBLE = "Possible"
    UNLIKELY = "Unlikely"
    UNKNOWN = "Unknown"


class Alert(Base):
    __tablename__ = "alert"
    __table_args__ = (
        CheckConstraint("colour IS NULL OR colour BETWEEN 1 AND 4", name="colour"),
        Index("ix_alert_current", "superseded_by", "expires"),
    )

    identifier: Mapped[str] = mapped_column(String(ALERT_ID_LENGTH), primary_key=True)
    sender: Mapped[str] = mapped_column(String(NAME_LENGTH))
    sent: Mapped[datetime]
    status: Mapped[AlertStatus] = mapped_column(_enum(AlertStatus, "alert_status"))
    msg_type: Mapped[MsgType] = mapped_column(_enum(MsgType, "alert_msg_type"))
    references: Mapped[str | None] = mapped_column(ForeignKey("alert.identifier"))
    """The message this one updates or cancels."""
    superseded_by: Mapped[str | None] = mapped_column(String(ALERT_ID_LENGTH))
    """The Update or Cancel that replaced this message; ``None`` while it is current."""
    category: Mapped[AlertCategory] = mapped_column(_enum(AlertCategory, "alert_category"))
    event: Mapped[str] = mapped_column(String(EVENT_LENGTH))
    urgency: Mapped[Urgency] = mapped_column(_enum(Urgency, "alert_urgency"))
    severity: Mapped[Severity] = mapped_column(_enum(Severity, "alert_severity"))
    certainty: Mapped[Certainty] = mapped_column(_enum(Certainty, "alert_certainty"))
    onset: Mapped[datetime | None]
    expires: Mapped[datetime]
    headline: Mapped[str] = mapped_column(String(HEADLINE_LENGTH))
    description: Mapped[str] = mapped_column(Text)
    instruction: Mapped[str | None] = mapped_column(Text)
    area_desc: Mapped[str] = mapped_column(String(AREA_DESC_LENGTH))
    polygon: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    """GeoJSON Polygon (RFC 7946, longitude first), or ``None``."""
    communes: Mapped[list[str]] = mapped_column(JsonDoc)
    """INSEE codes of the communes concerned (CAP ``geocode`` ``INSEE``)."""
    colour: Mapped[int | None] = mapped_column(Integer)
    """Météo-France vigilance colour: 1 vert, 2 jaune, 3 orange, 4 rouge."""
    created_by: Mapped[str] = mapped_column(String(NAME_LENGTH))
    """Name of the API token that issued the message."""


class ReportStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"
    REJECTED = "rejected"


class ReportCategory(enum.StrEnum):
    """The services residents choose from (Open311 ``service_code``)."""

    DEPOT_SAUVAGE = "depot-sauvage"
    ENCOMBRANTS = "encombrants"
    DECHETS_VERTS = "dechets-verts"
    GRAVATS = "gravats"
    PNEUS = "pneus"
    AMIANTE = "amiante-suspecte"
    AUTRE = "autre"


class Report(Base):
    __tablename__ = "report"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude"),
        Index("ix_report_place", "latitude", "longitude"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    category: Mapped[ReportCategory] = mapped_column(_enum(ReportCategory, "report_category"))
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    status: Mapped[ReportStatus] = mapped_column(_enum(ReportStatus, "report_status"), index=True)
    status_note: Mapped[str | None] = mapped_column(String(NOTE_LENGTH))
    """The note of the latest status move (public: Open311 ``status_notes``)."""
    email: Mapped[str | None] = mapped_column(String(CONTACT_LENGTH))
    """Personal data: operators only."""
    phone: Mapped[str | None] = mapped_column(String(32))
    """Personal data: operators only."""
    source: Mapped[str] = mapped_column(String(16), default="api")
    """``api`` or ``open311``."""


class ReportEvent(Base):
    """One status move of a report, with the operator's note."""

    __tablename__ = "report_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"), index=True)
    at: Mapped[datetime]
    from_status: Mapped[ReportStatus] = mapped_column(_enum(ReportStatus, "report_from_status"))
    to_status: Mapped[ReportStatus] = mapped_column(_enum(ReportStatus, "report_to_status"))
    note: Mapped[str] = mapped_column(String(NOTE_LENGTH), default="")
    actor: Mapped[str] = mapped_column(String(NAME_LENGTH))


class ReportPhoto(Base):
    """A photo of a report: the original (as uploaded, private) and a public copy re-encoded
    without metadata, both on disk under ``id`` (random, server-chosen)."""

    __tablename__ = "report_photo"

    id: Mapped[str] = mapped_column(String(PHOTO_ID_LENGTH), primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    original_type: Mapped[str] = mapped_column(String(32))
    """Media type found by decoding (``image/jpeg``, ``image/png``, ``image/webp``)."""
    original_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
