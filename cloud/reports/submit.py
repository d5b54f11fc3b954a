"""Taking a checked report in: photos decoded and re-encoded, files written, rows committed.

All or nothing: photos are all checked before anything is written; the files are written before
the transaction and removed again if it fails, so a refused or failed report leaves neither a
row nor a file behind. Shared by ``POST /api/v1/reports`` and Open311's ``POST requests.json``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import anyio.to_thread
from sqlalchemy.orm import Session

from cloud.api.deps import ApiContext
from cloud.registry.models_reports import Report, ReportPhoto
from cloud.registry.reports import NewPhoto, NewReport, add_report, photos_of
from cloud.reports.photos import CheckedPhoto, check_photo, remove_files, store_photos
from cloud.reports.views import ReportDraft

_log = logging.getLogger(__name__)


async def submit_report(
    ctx: ApiContext, draft: ReportDraft, photos: list[bytes], *, source: str = "api"
) -> tuple[Report, list[ReportPhoto]]:
    """Store one report and its photos (module doc); raises
    :class:`~cloud.reports.photos.PhotoRefused` before storing anything."""
    limit = ctx.settings.report_max_photo_bytes
    checked = [
        await anyio.to_thread.run_sync(check_photo, index, data, limit)
        for index, data in enumerate(photos)
    ]
    root = ctx.settings.report_photo_dir
    written: list[Path] = []
    if checked:
        assert root is not None  # read_report refuses photos when no directory is configured
        written = await anyio.to_thread.run_sync(store_photos, root, checked)
    new = NewReport(
        latitude=draft.lat,
        longitude=draft.long,
        category=draft.category,
        description=draft.description,
        address=draft.address,
        email=draft.email,
        phone=draft.phone,
        source=source,
    )
    rows = [_row(photo) for photo in checked]

    def write(session: Session) -> tuple[Report, list[ReportPhoto]]:
        report = add_report(session, new, rows, now=ctx.clock.now())
        return report, photos_of(session, [report.id])[report.id]

    try:
        report, stored = await ctx.in_registry(write)
    except BaseException:
        remove_files(written)
        raise
    _log.info(
        "report %d taken (%s, %s, %d photo(s))", report.id, source, draft.category, len(stored)
    )
    return report, stored


def _row(photo: CheckedPhoto) -> NewPhoto:
    return NewPhoto(photo.id, photo.media_type, len(photo.original), photo.width, photo.height)
