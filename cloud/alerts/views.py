"""What the alert routes take and answer: the operator's draft and the CAP-shaped view.

The view follows CAP 1.2 names (``msgType``, ``areaDesc``…) so it maps one to one onto a CAP
document, and adds what a map needs: the area as a GeoJSON geometry (longitude first) next to the
CAP polygon string (latitude first), and the Météo-France colour by name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from cloud.alerts.cap import cap_to_geojson, geojson_polygon, geojson_to_cap
from cloud.registry.alerts import AlertContent
from cloud.registry.models_reports import (
    ALERT_TEXT_LENGTH,
    AREA_DESC_LENGTH,
    EVENT_LENGTH,
    HEADLINE_LENGTH,
    Alert,
    AlertCategory,
    AlertStatus,
    Certainty,
    MsgType,
    Severity,
    Urgency,
)

COLOUR_NAMES = {1: "vert", 2: "jaune", 3: "orange", 4: "rouge"}
INSEE_PATTERN = r"^(?:\d{5}|2[AB]\d{3})$"
MAX_COMMUNES = 200
Text = Annotated[str, Field(min_length=1)]


class AreaDraft(BaseModel):
    """Where: a description and at least one of a polygon (GeoJSON *or* CAP string) and communes."""

    model_config = ConfigDict(extra="forbid")

    area_desc: str = Field(min_length=1, max_length=AREA_DESC_LENGTH)
    geometry: dict[str, Any] | None = Field(
        default=None, description="GeoJSON Polygon, [longitude, latitude] (RFC 7946)"
    )
    cap_polygon: str | None = Field(
        default=None,
        max_length=40_000,
        description="CAP polygon: 'latitude,longitude' pairs separated by spaces, closed",
    )
    communes: list[Annotated[str, Field(pattern=INSEE_PATTERN)]] = Field(
        default_factory=list, max_length=MAX_COMMUNES, description="INSEE codes"
    )

    @field_validator("geometry")
    @classmethod
    def _geometry(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else geojson_polygon(value)

    @model_validator(mode="after")
    def _one_shape(self) -> AreaDraft:
        if self.geometry is not None and self.cap_polygon is not None:
            raise ValueError("give the polygon once: geometry (GeoJSON) or cap_polygon (CAP)")
        if self.cap_polygon is not None:
            self.geometry = cap_to_geojson(self.cap_polygon)
            self.cap_polygon = None
        if self.geometry is None and not self.communes:
            raise ValueError("an area needs a polygon or at least one commune")
        return self


class AlertDraft(BaseModel):
    """An operator's message: CAP ``info`` fields (one block, French) and its area."""

    model_config = ConfigDict(extra="forbid")

    status: Literal[AlertStatus.ACTUAL, AlertStatus.EXERCISE, AlertStatus.TEST] = AlertStatus.ACTUAL
    category: AlertCategory = AlertCategory.SAFETY
    event: str = Field(min_length=1, max_length=EVENT_LENGTH)
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    onset: AwareDatetime | None = None
    expires: AwareDatetime = Field(description="Required: an alert always leaves by itself")
    headline: str = Field(min_length=1, max_length=HEADLINE_LENGTH)
    description: str = Field(min_length=1, max_length=ALERT_TEXT_LENGTH)
    instruction: str | None = Field(default=None, max_length=ALERT_TEXT_LENGTH)
    area: AreaDraft
    colour: int | None = Field(
        default=None, ge=1, le=4, description="Météo-France: 1 vert, 2 jaune, 3 orange, 4 rouge"
    )

    def content(self) -> AlertContent:
        return AlertContent(
            category=self.category,
            event=self.event,
            urgency=self.urgency,
            severity=self.severity,
            certainty=self.certainty,
            expires=self.expires,
            headline=self.headline,
            description=self.description,
            area_desc=self.area.area_desc,
            onset=self.onset,
            instruction=self.instruction,
            polygon=self.area.geometry,
            communes=tuple(dict.fromkeys(self.area.communes)),
            colour=self.colour,
            status=self.status,
        )


class CancelDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=ALERT_TEXT_LENGTH)


class Geocode(BaseModel):
    valueName: str
    value: str


class AreaView(BaseModel):
    areaDesc: str
    polygon: str | None = Field(description="CAP: 'latitude,longitude' pairs")
    geocode: list[Geocode]
    geometry: dict[str, Any] | None = Field(description="GeoJSON Polygon, longitude first")


class InfoView(BaseModel):
    language: str = "fr-FR"
    category: AlertCategory
    event: str
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    onset: datetime | None
    expires: datetime
    headline: str
    description: str
    instruction: str | None
    colour: int | None
    colourName: str | None
    area: AreaView


class AlertView(BaseModel):
    identifier: str
    sender: str
    sent: datetime
    status: AlertStatus
    msgType: MsgType
    scope: Literal["Public"] = "Public"
    references: str | None
    supersededBy: str | None
    info: InfoView

    @classmethod
    def of(cls, row: Alert) -> AlertView:
        area = AreaView(
            areaDesc=row.area_desc,
            polygon=geojson_to_cap(row.polygon) if row.polygon else None,
            geocode=[Geocode(valueName="INSEE", value=code) for code in row.communes],
            geometry=row.polygon,
        )
        info = InfoView(
            category=row.category,
            event=row.event,
            urgency=row.urgency,
            severity=row.severity,
            certainty=row.certainty,
            onset=row.onset,
            expires=row.expires,
            headline=row.headline,
            description=row.description,
            instruction=row.instruction,
            colour=row.colour,
            colourName=COLOUR_NAMES.get(row.colour) if row.colour else None,
            area=area,
        )
        return cls(
            identifier=row.identifier,
            sender=row.sender,
            sent=row.sent,
            status=row.status,
            msgType=row.msg_type,
            references=row.references,
            supersededBy=row.superseded_by,
            info=info,
        )


class ActiveAlerts(BaseModel):
    """The public list: active alerts only, most severe first."""

    alerts: list[AlertView]
