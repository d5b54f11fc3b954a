"""Open311 GeoReport v2 compatibility layer over the reports (:mod:`cloud.reports.open311`).

``GET /open311/v2/services.json``, ``GET /open311/v2/services/{code}.json``,
``POST /open311/v2/requests.json`` (form-encoded: ``service_code``, ``lat``, ``long``,
``description``, optional ``address_string``, ``email``, ``phone``), ``GET
/open311/v2/requests.json`` (filters ``service_request_id``, ``service_code``, ``status``,
``start_date``, ``end_date``; the last 90 days and at most 1000 requests by default, newest
first), ``GET /open311/v2/requests/{id}.json``. JSON only; ``api_key`` and ``jurisdiction_id``
are accepted and ignored (one jurisdiction, no key needed). ``media_url`` is ignored: the server
never fetches a URL a client names; photos go through ``POST /api/v1/reports``.

No token; POSTs and GETs are rate-limited like the rest of the public API. Parameters are read
by hand so every refusal is the spec's error array, not our problem details.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.responses import Response

from cloud.api.deps import ApiContext, Ctx
from cloud.api.problems import ApiProblem, problem_responses
from cloud.api.public_limits import LimitKind, check_public_limit
from cloud.errors import NotFound
from cloud.registry.models_reports import ReportCategory, ReportStatus
from cloud.registry.reports import get_report, photos_of, report_page
from cloud.reports.intake import draft_of
from cloud.reports.open311 import (
    BY_STATUS_311,
    Created,
    CreatedList,
    ErrorList,
    RequestList,
    RequestView,
    ServiceDefinition,
    ServiceList,
    errors_311,
    service_list,
)
from cloud.reports.public_http import REPORTS, SERVICES, public_json
from cloud.reports.services import BY_CODE
from cloud.reports.submit import submit_report
from cloud.reports.views import ReportDraft

PREFIX = "/open311/v2"
router = APIRouter(prefix=PREFIX, tags=["open311"])
PUBLIC = {"x-eclor-public": True}
DEFAULT_DAYS = 90
MAX_REQUESTS = 1000
MAX_IDS = 100
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorList, "description": "Bad request"},
    404: {"model": ErrorList, "description": "Not found"},
    429: {"model": ErrorList, "description": "Too many requests"},
    **problem_responses(422),
}
TAKEN = {"service_code", "lat", "long", "description", "address_string", "email", "phone"}
IGNORED = {
    "api_key", "jurisdiction_id", "media_url", "first_name", "last_name",
    "device_id", "account_id", "address_id", "attribute",
}  # fmt: skip


class Refused(Exception):
    def __init__(
        self, status: int, *descriptions: str, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.descriptions = list(descriptions)
        self.headers = headers or {}


async def _limited(request: Request, ctx: ApiContext, kind: LimitKind) -> None:
    try:
        check_public_limit(request, ctx, kind)
    except ApiProblem as problem:
        raise Refused(429, problem.detail, headers=problem.headers) from None


@router.get(
    "/services.json",
    response_model=ServiceList,
    summary="Open311: services",
    responses=ERRORS,
    openapi_extra=PUBLIC,
)
async def services(request: Request, ctx: Ctx) -> Response:
    try:
        await _limited(request, ctx, "get")
    except Refused as refused:
        return _error(refused)
    return public_json(request, service_list(), SERVICES)


@router.get(
    "/services/{service_code}.json",
    response_model=ServiceDefinition,
    summary="Open311: a service definition",
    description="No service has extra attributes: `attributes` is always empty.",
    responses=ERRORS,
    openapi_extra=PUBLIC,
)
async def service_definition(request: Request, ctx: Ctx, service_code: str) -> Response:
    try:
        await _limited(request, ctx, "get")
        if service_code not in BY_CODE:
            raise Refused(404, f"service_code {service_code[:40]!r}: no such service")
    except Refused as refused:
        return _error(refused)
    return public_json(
        request, ServiceDefinition(service_code=service_code, attributes=[]), SERVICES
    )


@router.post(
    "/requests.json",
    status_code=201,
    response_model=CreatedList,
    summary="Open311: create a service request",
    description="Form-encoded. `lat` and `long` are required (no geocoding of addresses).",
    responses=ERRORS,
    openapi_extra=PUBLIC,
)
async def create_request(request: Request, ctx: Ctx) -> Response:
    try:
        await _limited(request, ctx, "post")
        fields = await _form(request)
        draft = _draft(fields, ctx)
        report, _photos = await submit_report(ctx, draft, [], source="open311")
    except Refused as refused:
        return _error(refused)
    created = CreatedList([Created(service_request_id=str(report.id))])
    return Response(
        created.model_dump_json(),
        status_code=201,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/requests.json",
    response_model=RequestList,
    summary="Open311: service requests",
    responses=ERRORS,
    openapi_extra=PUBLIC,
)
async def list_requests(request: Request, ctx: Ctx) -> Response:
    try:
        await _limited(request, ctx, "get")
        query = _Query.of(request.query_params, ctx.clock.now())
    except Refused as refused:
        return _error(refused)
    base = str(request.base_url)

    def read(session: Session) -> RequestList:
        rows, _more = report_page(
            session,
            before=None,
            limit=MAX_REQUESTS,
            statuses=query.statuses,
            ids=query.ids,
            categories=query.categories,
            created_from=query.start,
            created_to=query.end,
        )
        photos = photos_of(session, [row.id for row in rows])
        return RequestList([RequestView.of(row, photos[row.id], base) for row in rows])

    return public_json(request, await ctx.in_registry(read), REPORTS)


@router.get(
    "/requests/{request_id}.json",
    response_model=RequestList,
    summary="Open311: one service request",
    description="A list of one, as the spec says.",
    responses=ERRORS,
    openapi_extra=PUBLIC,
)
async def one_request(request: Request, ctx: Ctx, request_id: str) -> Response:
    base = str(request.base_url)

    def read(session: Session) -> RequestList:
        row = get_report(session, int(request_id))
        return RequestList([RequestView.of(row, photos_of(session, [row.id])[row.id], base)])

    try:
        await _limited(request, ctx, "get")
        if not _number(request_id):
            raise Refused(404, f"service_request_id {request_id[:40]!r}: no such request")
        try:
            found = await ctx.in_registry(read)
        except NotFound:
            raise Refused(404, f"service_request_id {request_id!r}: no such request") from None
    except Refused as refused:
        return _error(refused)
    return public_json(request, found, REPORTS)


class _Query:
    """The filters of ``GET requests.json``."""

    def __init__(self) -> None:
        self.ids: list[int] | None = None
        self.categories: list[ReportCategory] | None = None
        self.statuses: frozenset[ReportStatus] | None = None
        self.start: datetime | None = None
        self.end: datetime | None = None

    @classmethod
    def of(cls, params: Any, now: datetime) -> _Query:
        query = cls()
        ids = params.get("service_request_id")
        if ids:  # the spec: other parameters are then ignored
            parts = ids.split(",")
            if len(parts) > MAX_IDS or not all(_number(p.strip()) for p in parts):
                raise Refused(400, f"service_request_id: up to {MAX_IDS} numbers, comma-separated")
            query.ids = [int(p) for p in parts]
            return query
        codes = params.get("service_code")
        if codes:
            unknown = [c for c in codes.split(",") if c not in BY_CODE]
            if unknown:
                raise Refused(400, f"service_code: unknown {unknown[0][:40]!r}")
            query.categories = [ReportCategory(c) for c in codes.split(",")]
        status = params.get("status")
        if status:
            chosen: set[ReportStatus] = set()
            for part in status.split(","):
                if part not in BY_STATUS_311:
                    raise Refused(400, f"status: 'open' or 'closed', not {part[:20]!r}")
                chosen |= BY_STATUS_311[part]
            query.statuses = frozenset(chosen)
        query.start = _date(params, "start_date")
        query.end = _date(params, "end_date")
        if query.start is None and query.end is None:
            query.start = now - timedelta(days=DEFAULT_DAYS)
        if query.start and query.end and query.start > query.end:
            raise Refused(400, "start_date: after end_date")
        return query


def _number(text: str) -> bool:
    return text.isdigit() and len(text) <= 18


def _date(params: Any, name: str) -> datetime | None:
    text = params.get(name)
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Refused(400, f"{name}: not an ISO 8601 date-time") from None
    if value.tzinfo is None:
        raise Refused(400, f"{name}: give a UTC offset (2026-11-02T09:30:00+01:00)")
    return value


async def _form(request: Request) -> dict[str, str]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise Refused(400, "send the request form-encoded (application/x-www-form-urlencoded)")
    async with request.form(max_files=1, max_fields=30, max_part_size=16_384) as form:
        fields: dict[str, str] = {}
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                raise Refused(400, f"{name}: files are not taken here; use POST /api/v1/reports")
            if name in TAKEN and value != "":
                fields[name] = value
    return fields


def _draft(fields: dict[str, str], ctx: ApiContext) -> ReportDraft:
    code = fields.get("service_code")
    if code is None:
        raise Refused(400, "service_code: required")
    if code not in BY_CODE:
        raise Refused(404, f"service_code {code[:40]!r}: no such service")
    missing = [name for name in ("lat", "long") if name not in fields]
    if missing:
        raise Refused(400, *[f"{name}: required (addresses are not geocoded)" for name in missing])
    values = {
        "lat": fields["lat"],
        "long": fields["long"],
        "category": code,
        "description": fields.get("description") or BY_CODE[code].name,
        "address": fields.get("address_string"),
        "email": fields.get("email"),
        "phone": fields.get("phone"),
    }
    try:
        return draft_of({k: v for k, v in values.items() if v is not None}, ctx.settings)
    except ApiProblem as problem:
        descriptions = [f"{_name(e.loc[-1])}: {e.msg}" for e in (problem.errors or [])] or [
            problem.detail
        ]
        raise Refused(400, *descriptions) from None


def _name(field: str | int) -> str:
    return {"category": "service_code", "address": "address_string"}.get(str(field), str(field))


def _error(refused: Refused) -> Response:
    return errors_311(refused.status, refused.descriptions, refused.headers)
