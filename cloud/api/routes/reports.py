"""Residents' dumping reports: public create, nearby list, view and photos; operators' status.

Public (no token, rate-limited per client: :mod:`cloud.api.public_limits`): ``POST`` a report
(JSON, or multipart with ``photos``), ``GET`` the nearby open reports (nearest first, so people
follow an existing report rather than duplicate it), one report, a photo's public copy. Public
views never carry the reporter's e-mail or phone. Operators (technician, energy-manager, admin)
see the details and the original photos and move reports through their statuses
(:data:`cloud.registry.reports.TRANSITIONS`; another move → 409).
"""

from __future__ import annotations

import re
from pathlib import Path as FilePath
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from cloud.api.auth import READ_SCOPES, Principal, require_scope
from cloud.api.caching import REGISTRY, CachePolicy, cached_json, uncached_json
from cloud.api.deps import ApiContext, Ctx
from cloud.api.paging import Cursor, Limit, decode_cursor, link_header, next_link, page_size
from cloud.api.problems import (
    INVALID,
    NOT_FOUND,
    ApiProblem,
    InvalidParam,
    ProblemKind,
    invalid_param,
    problem_responses,
)
from cloud.api.public_limits import PublicGet, PublicPost
from cloud.api.routes import API_PREFIX
from cloud.registry.models_reports import Report, ReportPhoto, ReportStatus
from cloud.registry.reports import (
    OPEN_STATUSES,
    events_of,
    get_photo,
    get_report,
    photos_of,
    report_page,
    reports_near,
    set_report_status,
)
from cloud.reports.intake import read_report
from cloud.reports.photos import PHOTO_ID_PATTERN, PhotoRefused, extension_of, original_path
from cloud.reports.photos import public_path as public_photo_path
from cloud.reports.public_http import NOSNIFF, PHOTO, REPORTS, public_bytes, public_json
from cloud.reports.submit import submit_report
from cloud.reports.views import (
    ReportDetail,
    ReportDraft,
    ReportPage,
    ReportView,
    StatusChange,
)

router = APIRouter(prefix=f"{API_PREFIX}/reports", tags=["reports"])
PUBLIC = {"x-eclor-public": True}
Reader = Annotated[Principal, Depends(require_scope(READ_SCOPES))]
Mover = Annotated[Principal, Depends(require_scope(READ_SCOPES))]
ReportId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The report's number")]
OPERATORS = "Scopes: technician, energy-manager, admin."
DEFAULT_RADIUS_M = 500.0
_STATUS_BY_HTTP = {
    413: ProblemKind("too-large", 413, "Request body too large"),
    415: ProblemKind("unsupported-media-type", 415, "Unsupported media type"),
    422: INVALID,
}


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` put in place (for a hand-written requestBody)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


_FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["lat", "long", "category", "description"],
    "properties": {
        **{k: {"type": "string"} for k in ("lat", "long", "category", "description")},
        **{k: {"type": "string"} for k in ("address", "email", "phone")},
        "photos": {"type": "array", "items": {"type": "string", "format": "binary"}},
    },
}
_POST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _inline(ReportDraft.model_json_schema())},
            "multipart/form-data": {"schema": _FORM_SCHEMA},
        },
    }
}


@router.post(
    "",
    status_code=201,
    response_model=ReportView,
    summary="Report illegal dumping (public)",
    description=(
        "JSON (`ReportDraft`), or `multipart/form-data` with the same fields and up to 3 "
        "`photos` (JPEG, PNG or WebP, found by decoding; 5 MB each by default). The public copy "
        "of a photo is re-encoded without any metadata (no GPS position). Refusals name the "
        "field: 415 other body types or a photo that is no image, 413 a photo too large, 422 "
        "anything else. Text is stored as typed and always returned as JSON text. No token; "
        "rate-limited per client (429 with `Retry-After`)."
    ),
    responses=problem_responses(413, 415, 422, 429, 503),
    openapi_extra={**PUBLIC, **_POST_BODY},
)
async def create_report(request: Request, ctx: Ctx, _: PublicPost) -> Response:
    draft, photos = await read_report(request, ctx.settings)
    try:
        report, rows = await submit_report(ctx, draft, photos)
    except PhotoRefused as refused:
        error = InvalidParam(
            loc=["body", "photos", refused.index], msg=refused.reason, type="photo"
        )
        raise ApiProblem(_STATUS_BY_HTTP[refused.status], str(refused), errors=[error]) from None
    location = str(request.url_for("report_view", report_id=report.id).path)
    headers = {"Location": location, **NOSNIFF}
    return uncached_json(ReportView.of(report, rows), status_code=201, headers=headers)


@router.get(
    "",
    response_model=ReportPage,
    summary="Nearby reports, or the latest (public)",
    description=(
        "With `lat` and `long`: reports within `radius_m` (default 500 m) nearest first, "
        "each with its `distance_m`. Without: newest first. By default only reports still "
        "being handled (open, acknowledged, in_progress); `status` chooses others. A page at "
        "a time with a `next` link. No token."
    ),
    responses=problem_responses(422, 429, 503),
    openapi_extra=PUBLIC,
)
async def list_reports(
    request: Request,
    ctx: Ctx,
    _: PublicGet,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    long: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_m: Annotated[float, Query(gt=0)] = DEFAULT_RADIUS_M,
    status: Annotated[list[ReportStatus] | None, Query()] = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> Response:
    size = page_size(limit, ctx.settings.page_size, ctx.settings.max_page_size)
    statuses = frozenset(status) if status else OPEN_STATUSES
    if (lat is None) != (long is None):
        raise invalid_param("query", "long" if long is None else "lat", "give lat and long")
    if radius_m > ctx.settings.report_max_radius_m:
        raise invalid_param("query", "radius_m", f"at most {ctx.settings.report_max_radius_m}")
    if lat is not None and long is not None:
        page, last = await _nearby(ctx, lat, long, radius_m, statuses, size, decode_cursor(cursor))
    else:
        page, last = await _latest(ctx, statuses, size, decode_cursor(cursor))
    link = next_link(request, last)
    return public_json(request, ReportPage(items=page, next=link), REPORTS, link_header(link))


async def _nearby(
    ctx: ApiContext,
    lat: float,
    long: float,
    radius_m: float,
    statuses: frozenset[ReportStatus],
    size: int,
    after: str | None,
) -> tuple[list[ReportView], str | None]:
    start = _distance_key(after) if after is not None else None

    def read(session: Session) -> tuple[list[ReportView], str | None]:
        found = reports_near(session, lat, long, radius_m, statuses=statuses)
        if start is not None:
            found = [n for n in found if (n.distance_m, n.report.id) > start]
        chosen = found[:size]
        photos = photos_of(session, [n.report.id for n in chosen])
        views = [ReportView.of(n.report, photos[n.report.id], n.distance_m) for n in chosen]
        last = chosen[-1] if len(found) > size else None
        return views, None if last is None else f"{last.distance_m}:{last.report.id}"

    return await ctx.in_registry(read)


async def _latest(
    ctx: ApiContext, statuses: frozenset[ReportStatus], size: int, after: str | None
) -> tuple[list[ReportView], str | None]:
    if after is not None and not (after.isdigit() and len(after) <= 18):
        raise invalid_param("query", "cursor", "not a cursor from a `next` link of this API")
    before = int(after) if after is not None else None

    def read(session: Session) -> tuple[list[ReportView], str | None]:
        rows, more = report_page(session, before=before, limit=size, statuses=statuses)
        photos = photos_of(session, [row.id for row in rows])
        views = [ReportView.of(row, photos[row.id]) for row in rows]
        return views, str(rows[-1].id) if more and rows else None

    return await ctx.in_registry(read)


def _distance_key(after: str) -> tuple[float, int]:
    distance, _, report_id = after.partition(":")
    try:
        return float(distance), int(report_id)
    except ValueError:
        raise invalid_param(
            "query", "cursor", "not a cursor from a `next` link of this API"
        ) from None


@router.get(
    "/{report_id}",
    response_model=ReportView,
    summary="One report (public)",
    description="Its status and the latest operator note; no personal data. No token.",
    responses=problem_responses(404, 422, 429, 503),
    openapi_extra=PUBLIC,
)
async def report_view(request: Request, ctx: Ctx, _: PublicGet, report_id: ReportId) -> Response:
    def read(session: Session) -> ReportView:
        row = get_report(session, report_id)
        return ReportView.of(row, photos_of(session, [row.id])[row.id])

    return public_json(request, await ctx.in_registry(read), REPORTS)


@router.get(
    "/{report_id}/photos/{photo_id}",
    summary="A photo's public copy (public)",
    description="JPEG re-encoded without metadata; not served once the report is rejected.",
    responses={200: {"content": {"image/jpeg": {}}}, **problem_responses(404, 422, 429)},
    openapi_extra=PUBLIC,
)
async def public_photo(
    request: Request, ctx: Ctx, _: PublicGet, report_id: ReportId, photo_id: str
) -> Response:
    row, _found = await _photo(ctx, report_id, photo_id)
    if row.status == ReportStatus.REJECTED:
        raise ApiProblem(NOT_FOUND, f"no photo {photo_id!r}")
    path = public_photo_path(_photo_root(ctx), photo_id)
    return public_bytes(request, await _read(path, photo_id), "image/jpeg", PHOTO)


@router.get(
    "/{report_id}/photos/{photo_id}/original",
    summary="A photo as uploaded",
    description=f"With its metadata (the reporter's position may be in it). {OPERATORS}",
    responses={200: {"content": {"image/*": {}}}, **problem_responses(401, 403, 404, 422, 429)},
)
async def original_photo(
    request: Request, ctx: Ctx, _: Reader, report_id: ReportId, photo_id: str
) -> Response:
    _row, photo = await _photo(ctx, report_id, photo_id)
    path = original_path(_photo_root(ctx), photo_id, extension_of(photo.original_type))
    body = await _read(path, photo_id)
    return public_bytes(
        request, body, photo.original_type, CachePolicy(0), {"Vary": "Authorization"}
    )


@router.get(
    "/{report_id}/details",
    response_model=ReportDetail,
    summary="One report with contact and history",
    description=f"The reporter's e-mail and phone, every status move. {OPERATORS}",
    responses=problem_responses(401, 403, 404, 422, 429, 503),
)
async def report_details(request: Request, ctx: Ctx, _: Reader, report_id: ReportId) -> Response:
    def read(session: Session) -> ReportDetail:
        row = get_report(session, report_id)
        photos = photos_of(session, [row.id])[row.id]
        return ReportDetail.full(row, photos, events_of(session, row.id))

    return cached_json(request, await ctx.in_registry(read), REGISTRY)


@router.post(
    "/{report_id}/status",
    response_model=ReportDetail,
    summary="Move a report to another status",
    description=(
        "open → acknowledged → in_progress → closed, or rejected from any status still open; "
        f"closed and rejected are final. Another move → 409. The note is public. {OPERATORS}"
    ),
    responses=problem_responses(401, 403, 404, 409, 422, 429, 503),
)
async def move_report(ctx: Ctx, who: Mover, report_id: ReportId, body: StatusChange) -> Response:
    def write(session: Session) -> ReportDetail:
        row = set_report_status(
            session, report_id, body.status, note=body.note, actor=who.name, now=ctx.clock.now()
        )
        photos = photos_of(session, [row.id])[row.id]
        return ReportDetail.full(row, photos, events_of(session, row.id))

    return uncached_json(await ctx.in_registry(write))


async def _photo(ctx: ApiContext, report_id: int, photo_id: str) -> tuple[Report, ReportPhoto]:
    if not re.fullmatch(PHOTO_ID_PATTERN, photo_id):
        raise ApiProblem(NOT_FOUND, f"no photo {photo_id[:40]!r}")

    def read(session: Session) -> tuple[Report, ReportPhoto]:
        return get_report(session, report_id), get_photo(session, report_id, photo_id)

    return await ctx.in_registry(read)


def _photo_root(ctx: ApiContext) -> FilePath:
    root = ctx.settings.report_photo_dir
    if root is None:
        raise ApiProblem(NOT_FOUND, "this server keeps no photos")
    return root


async def _read(path: FilePath, photo_id: str) -> bytes:
    try:
        return await anyio.Path(path).read_bytes()
    except FileNotFoundError:
        raise ApiProblem(NOT_FOUND, f"photo {photo_id!r} is missing from storage") from None
