"""Open311 GeoReport v2 shapes over our reports (https://wiki.open311.org/GeoReport_v2).

Mapping: ``service_code`` is our category; ``service_request_id`` our report id as text; status
``open`` while a report is open, acknowledged or in progress, ``closed`` once closed or
rejected, with the latest operator note as ``status_notes``; ``media_url`` the absolute URL of
the first photo's public copy (never the original). Errors are the spec's
``[{"code": ..., "description": ...}]`` arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, RootModel
from starlette.responses import JSONResponse, Response

from cloud.registry.models_reports import Report, ReportPhoto, ReportStatus
from cloud.reports.public_http import NOSNIFF
from cloud.reports.services import GROUP, KEYWORDS, SERVICES, Service, service_name
from cloud.reports.views import photo_url

AGENCY = "Service propreté de l'intercommunalité"
NOTICE = "Merci : votre signalement est transmis au service propreté."
Status311 = Literal["open", "closed"]
OPEN_311 = frozenset({ReportStatus.OPEN, ReportStatus.ACKNOWLEDGED, ReportStatus.IN_PROGRESS})
BY_STATUS_311: dict[str, frozenset[ReportStatus]] = {
    "open": OPEN_311,
    "closed": frozenset({ReportStatus.CLOSED, ReportStatus.REJECTED}),
}


class ServiceView(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool = False
    type: Literal["realtime", "batch", "blackbox"] = "realtime"
    keywords: str = KEYWORDS
    group: str = GROUP

    @classmethod
    def of(cls, service: Service) -> ServiceView:
        return cls(
            service_code=service.code.value,
            service_name=service.name,
            description=service.description,
        )


class ServiceList(RootModel[list[ServiceView]]):
    pass


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[dict[str, str]]


class RequestView(BaseModel):
    service_request_id: str
    status: Status311
    status_notes: str | None
    service_name: str
    service_code: str
    description: str
    agency_responsible: str = AGENCY
    service_notice: str | None = None
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None = None
    address: str | None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float
    long: float
    media_url: str | None

    @classmethod
    def of(cls, row: Report, photos: Sequence[ReportPhoto], base_url: str) -> RequestView:
        shown = photos if row.status != ReportStatus.REJECTED else []
        media = base_url.rstrip("/") + photo_url(row.id, shown[0].id) if shown else None
        return cls(
            service_request_id=str(row.id),
            status="open" if row.status in OPEN_311 else "closed",
            status_notes=row.status_note,
            service_name=service_name(row.category),
            service_code=row.category.value,
            description=row.description,
            requested_datetime=row.created_at,
            updated_datetime=row.updated_at,
            address=row.address,
            lat=row.latitude,
            long=row.longitude,
            media_url=media,
        )


class RequestList(RootModel[list[RequestView]]):
    pass


class Created(BaseModel):
    service_request_id: str
    service_notice: str = NOTICE
    account_id: str | None = None


class CreatedList(RootModel[list[Created]]):
    pass


class Error311(BaseModel):
    code: int
    description: str


class ErrorList(RootModel[list[Error311]]):
    pass


def errors_311(
    status: int, descriptions: Sequence[str], headers: dict[str, str] | None = None
) -> Response:
    body = ErrorList([Error311(code=status, description=d) for d in descriptions])
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=status,
        headers={"Cache-Control": "no-store", **NOSNIFF, **(headers or {})},
    )


def service_list() -> ServiceList:
    return ServiceList([ServiceView.of(service) for service in SERVICES])
