"""Residents' reports in the registry: add, find (nearby first), page, move through statuses.

Statuses move forward only (:data:`TRANSITIONS`); any other move is a
:class:`~cloud.errors.Conflict` (the API answers 409). Each move is kept in ``report_event``
with the operator's note, and the latest note is the report's public ``status_note``.

Nearby search works the same on SQLite and PostgreSQL: a bounding box on the indexed
``(latitude, longitude)`` narrows the rows in SQL, then the haversine distance in Python keeps
those inside the radius and orders them (:func:`cloud.reports.geo.haversine_m`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cloud.errors import Conflict, NotFound
from cloud.registry._rows import check_aware, require, rowcount
from cloud.registry.models_reports import (
    NOTE_LENGTH,
    Report,
    ReportCategory,
    ReportEvent,
    ReportPhoto,
    ReportStatus,
)
from cloud.reports.geo import bounding_box, haversine_m

KIND = "report"
OPEN_STATUSES = frozenset({ReportStatus.OPEN, ReportStatus.ACKNOWLEDGED, ReportStatus.IN_PROGRESS})
TRANSITIONS: dict[ReportStatus, frozenset[ReportStatus]] = {
    ReportStatus.OPEN: frozenset({ReportStatus.ACKNOWLEDGED, ReportStatus.REJECTED}),
    ReportStatus.ACKNOWLEDGED: frozenset(
        {ReportStatus.IN_PROGRESS, ReportStatus.CLOSED, ReportStatus.REJECTED}
    ),
    ReportStatus.IN_PROGRESS: frozenset({ReportStatus.CLOSED, ReportStatus.REJECTED}),
    ReportStatus.CLOSED: frozenset(),
    ReportStatus.REJECTED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class NewReport:
    """A report as checked by the API (bounds, lengths, category)."""

    latitude: float
    longitude: float
    category: ReportCategory
    description: str
    address: str | None = None
    email: str | None = None
    phone: str | None = None
    source: str = "api"


@dataclass(frozen=True, slots=True)
class NewPhoto:
    id: str
    original_type: str
    original_bytes: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Nearby:
    report: Report
    distance_m: float


def add_report(
    session: Session, new: NewReport, photos: Sequence[NewPhoto], *, now: datetime
) -> Report:
    """A new ``open`` report with its photos' rows (their files are the caller's)."""
    check_aware("now", now)
    row = Report(
        created_at=now,
        updated_at=now,
        latitude=new.latitude,
        longitude=new.longitude,
        category=new.category,
        description=new.description,
        address=new.address,
        status=ReportStatus.OPEN,
        status_note=None,
        email=new.email,
        phone=new.phone,
        source=new.source,
    )
    session.add(row)
    session.flush()
    for position, photo in enumerate(photos):
        session.add(
            ReportPhoto(
                id=photo.id,
                report_id=row.id,
                position=position,
                original_type=photo.original_type,
                original_bytes=photo.original_bytes,
                width=photo.width,
                height=photo.height,
                created_at=now,
            )
        )
    session.flush()
    return row


def get_report(session: Session, report_id: int) -> Report:
    return require(session, Report, report_id, KIND)


def photos_of(session: Session, report_ids: Collection[int]) -> dict[int, list[ReportPhoto]]:
    """Photos per report id, in upload order."""
    found: dict[int, list[ReportPhoto]] = {report_id: [] for report_id in report_ids}
    if not report_ids:
        return found
    query = (
        select(ReportPhoto)
        .where(ReportPhoto.report_id.in_(list(report_ids)))
        .order_by(ReportPhoto.report_id, ReportPhoto.position)
    )
    for photo in session.scalars(query):
        found[photo.report_id].append(photo)
    return found


def get_photo(session: Session, report_id: int, photo_id: str) -> ReportPhoto:
    photo = session.get(ReportPhoto, photo_id)
    if photo is None or photo.report_id != report_id:
        raise NotFound("photo", photo_id)
    return photo


def events_of(session: Session, report_id: int) -> list[ReportEvent]:
    query = select(ReportEvent).where(ReportEvent.report_id == report_id).order_by(ReportEvent.id)
    return list(session.scalars(query))


def reports_near(
    session: Session,
    latitude: float,
    longitude: float,
    radius_m: float,
    *,
    statuses: Collection[ReportStatus] = OPEN_STATUSES,
) -> list[Nearby]:
    """Reports within ``radius_m`` of the point, nearest first (ties: oldest id first)."""
    south, west, north, east = bounding_box(latitude, longitude, radius_m)
    query = select(Report).where(
        Report.latitude.between(south, north),
        Report.longitude.between(west, east),
        Report.status.in_(list(statuses)),
    )
    found = []
    for row in session.scalars(query):
        distance = haversine_m(latitude, longitude, row.latitude, row.longitude)
        if distance <= radius_m:
            found.append(Nearby(row, round(distance, 1)))
    found.sort(key=lambda n: (n.distance_m, n.report.id))
    return found


def report_page(
    session: Session,
    *,
    before: int | None,
    limit: int,
    statuses: Collection[ReportStatus] | None = None,
    ids: Collection[int] | None = None,
    categories: Collection[ReportCategory] | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> tuple[list[Report], bool]:
    """Reports newest first (by id), a page at a time, with optional filters."""
    query = select(Report).order_by(Report.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(Report.id < before)
    if statuses is not None:
        query = query.where(Report.status.in_(list(statuses)))
    if ids is not None:
        query = query.where(Report.id.in_(list(ids)))
    if categories is not None:
        query = query.where(Report.category.in_(list(categories)))
    if created_from is not None:
        query = query.where(Report.created_at >= check_aware("created_from", created_from))
    if created_to is not None:
        query = query.where(Report.created_at <= check_aware("created_to", created_to))
    rows = list(session.scalars(query))
    return rows[:limit], len(rows) > limit


def set_report_status(
    session: Session,
    report_id: int,
    to: ReportStatus,
    *,
    note: str,
    actor: str,
    now: datetime,
) -> Report:
    """Move a report to ``to`` (Conflict if :data:`TRANSITIONS` forbids it, or if another
    operator moved it meanwhile)."""
    check_aware("now", now)
    if len(note) > NOTE_LENGTH:
        raise ValueError(f"note: at most {NOTE_LENGTH} characters")
    row = get_report(session, report_id)
    was = row.status
    if to not in TRANSITIONS[was]:
        allowed = ", ".join(sorted(TRANSITIONS[was])) or "none (final)"
        raise Conflict(KIND, str(report_id), f"cannot go from {was} to {to} (allowed: {allowed})")
    moved = session.execute(
        update(Report)
        .where(Report.id == report_id, Report.status == was)
        .values(status=to, status_note=note or None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(moved) != 1:
        raise Conflict(KIND, str(report_id), "moved by someone else meanwhile; reload it")
    session.add(
        ReportEvent(
            report_id=report_id, at=now, from_status=was, to_status=to, note=note, actor=actor
        )
    )
    session.flush()
    session.refresh(row)
    return row
