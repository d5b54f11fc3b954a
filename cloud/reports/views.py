"""What the report routes take and answer.

:class:`ReportDraft` is a resident's report, the same from JSON and from multipart form fields.
Text is taken as typed and stored raw; it is never markup: every view here is JSON (the page
escapes it when it renders). Control characters other than tab and line breaks are refused (a
NUL byte cannot even be stored by PostgreSQL).

:class:`ReportView` is the public view: no e-mail, no phone. :class:`ReportDetail` adds them,
and the history of status moves, for operators.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cloud.registry.models import NAME_LENGTH
from cloud.registry.models_reports import (
    CONTACT_LENGTH,
    NOTE_LENGTH,
    REPORT_TEXT_LENGTH,
    Report,
    ReportCategory,
    ReportEvent,
    ReportPhoto,
    ReportStatus,
)
from cloud.reports.services import service_name

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]{1,185}\.[^@\s]{2,63}$"
PHONE_PATTERN = r"^\+?[0-9][0-9 .()-]{5,30}$"


def _plain(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


PlainText = Annotated[str, AfterValidator(_plain)]


class ReportDraft(BaseModel):
    """A resident's report: where, what, a description, optionally how to reach them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    lat: float = Field(ge=-90, le=90, description="WGS-84 latitude")
    long: float = Field(ge=-180, le=180, description="WGS-84 longitude")
    category: ReportCategory
    description: PlainText = Field(min_length=1, max_length=REPORT_TEXT_LENGTH)
    address: PlainText | None = Field(default=None, max_length=NAME_LENGTH)
    email: str | None = Field(
        default=None,
        max_length=CONTACT_LENGTH,
        pattern=EMAIL_PATTERN,
        description="Operators only; never shown publicly",
    )
    phone: str | None = Field(
        default=None, max_length=32, pattern=PHONE_PATTERN, description="Operators only"
    )


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ReportStatus
    note: str = Field(default="", max_length=NOTE_LENGTH)


class ReportView(BaseModel):
    """A report as anyone may see it."""

    id: int
    status: ReportStatus
    status_note: str | None
    category: ReportCategory
    category_name: str
    description: str
    address: str | None
    lat: float
    long: float
    created_at: datetime
    updated_at: datetime
    photos: list[str] = Field(description="URLs of the public copies (no metadata)")
    distance_m: float | None = Field(
        default=None, description="From the searched point (nearby search only)"
    )

    @classmethod
    def of(
        cls, row: Report, photos: list[ReportPhoto], distance_m: float | None = None
    ) -> ReportView:
        shown = [] if row.status == ReportStatus.REJECTED else photos
        return cls(
            id=row.id,
            status=row.status,
            status_note=row.status_note,
            category=row.category,
            category_name=service_name(row.category),
            description=row.description,
            address=row.address,
            lat=row.latitude,
            long=row.longitude,
            created_at=row.created_at,
            updated_at=row.updated_at,
            photos=[photo_url(row.id, photo.id) for photo in shown],
            distance_m=distance_m,
        )


class ReportPage(BaseModel):
    items: list[ReportView]
    next: str | None


class EventView(BaseModel):
    at: datetime
    from_status: ReportStatus
    to_status: ReportStatus
    note: str
    actor: str

    @classmethod
    def of(cls, row: ReportEvent) -> EventView:
        return cls(
            at=row.at,
            from_status=row.from_status,
            to_status=row.to_status,
            note=row.note,
            actor=row.actor,
        )


class ReportDetail(ReportView):
    """A report for operators: contact details, source, every status move, original photos."""

    email: str | None
    phone: str | None
    source: str
    events: list[EventView]
    originals: list[str]

    @classmethod
    def full(
        cls, row: Report, photos: list[ReportPhoto], events: list[ReportEvent]
    ) -> ReportDetail:
        public = ReportView.of(row, photos)
        return cls(
            **public.model_dump(exclude={"photos"}),
            photos=[photo_url(row.id, photo.id) for photo in photos],
            email=row.email,
            phone=row.phone,
            source=row.source,
            events=[EventView.of(event) for event in events],
            originals=[photo_url(row.id, photo.id) + "/original" for photo in photos],
        )


def photo_url(report_id: int, photo_id: str) -> str:
    return f"/api/v1/reports/{report_id}/photos/{photo_id}"
