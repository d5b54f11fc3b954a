"""What the API shows of gateways and devices, and what it takes to register them.

Views are built from registry rows inside the registry transaction. No view carries a secret: a
gateway's MQTT password appears only in :class:`GatewayRegistered`, the answer to its
registration, and is never stored in clear.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from cloud.registry.models import Device, DeviceState, Gateway, GatewayStatus
from eclor.wire.limits import MAX_ID_LENGTH
from eclor.wire.names import DEVICE_ID_PATTERN, NAME_PATTERN
from eclor.wire.topics import GATEWAY_ID_PATTERN

GatewayId = Annotated[str, Field(pattern=GATEWAY_ID_PATTERN, examples=["cab-thil-04"])]
DeviceId = Annotated[str, Field(pattern=DEVICE_ID_PATTERN, examples=["cab-thil-04-meter"])]
TagKey = Annotated[str, Field(pattern=NAME_PATTERN)]
TagValue = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\n\r\x00]+$")]


class Outbox(BaseModel):
    """The gateway's on-disk backlog, as it last reported."""

    rows: int | None
    bytes: int | None
    oldest_age_s: float | None


class DeviceView(BaseModel):
    gateway_id: str
    device_id: str
    profile: str
    unit_id: int | None
    tags: dict[str, str]
    installed_power_before_w: float | None
    created_at: datetime
    health: DeviceState = Field(description="As the gateway last reported")
    health_at: datetime | None = Field(description="Time of the status that set `health`")
    health_errors: int
    health_detail: str
    last_ok_at: datetime | None
    last_seen_at: datetime | None = Field(description="Latest reading received from it")

    @classmethod
    def of(cls, row: Device) -> DeviceView:
        return cls(
            gateway_id=row.gateway_id,
            device_id=row.device_id,
            profile=row.profile,
            unit_id=row.unit_id,
            tags={str(k): str(v) for k, v in row.tags.items()},
            installed_power_before_w=row.installed_power_before_w,
            created_at=row.created_at,
            health=row.health,
            health_at=row.health_at,
            health_errors=row.health_errors,
            health_detail=row.health_detail,
            last_ok_at=row.last_ok_at,
            last_seen_at=row.last_seen_at,
        )


class GatewayView(BaseModel):
    id: str
    site_id: str | None
    status: GatewayStatus = Field(description="As the gateway (or its MQTT last will) last said")
    status_at: datetime | None
    last_seen_at: datetime | None = Field(description="Latest message heard from the gateway")
    stale: bool = Field(description="Not heard from within the API's gateway staleness limit")
    version: str | None
    outbox: Outbox | None
    revoked: bool
    enrolled_at: datetime

    @classmethod
    def fields_of(cls, row: Gateway, now: datetime, stale_after: timedelta) -> dict[str, object]:
        outbox = None
        if row.outbox_rows is not None or row.outbox_bytes is not None:
            outbox = Outbox(
                rows=row.outbox_rows,
                bytes=row.outbox_bytes,
                oldest_age_s=row.outbox_oldest_age_s,
            )
        return {
            "id": row.id,
            "site_id": row.site_id,
            "status": row.status,
            "status_at": row.status_at,
            "last_seen_at": row.last_seen_at,
            "stale": row.last_seen_at is None or now - row.last_seen_at > stale_after,
            "version": row.version,
            "outbox": outbox,
            "revoked": row.revoked,
            "enrolled_at": row.enrolled_at,
        }

    @classmethod
    def of(cls, row: Gateway, now: datetime, stale_after: timedelta) -> GatewayView:
        return cls.model_validate(cls.fields_of(row, now, stale_after))


class GatewayDetail(GatewayView):
    mqtt_username: str
    credential_issued_at: datetime | None
    revoked_at: datetime | None
    devices: list[DeviceView]

    @classmethod
    def with_devices(
        cls, row: Gateway, devices: list[Device], now: datetime, stale_after: timedelta
    ) -> GatewayDetail:
        return cls.model_validate(
            {
                **GatewayView.fields_of(row, now, stale_after),
                "mqtt_username": row.mqtt_username,
                "credential_issued_at": row.credential_issued_at,
                "revoked_at": row.revoked_at,
                "devices": [DeviceView.of(d) for d in devices],
            }
        )


class GatewayPage(BaseModel):
    items: list[GatewayView]
    next: str | None = Field(description="Link to the next page; null on the last one")


class DevicePage(BaseModel):
    items: list[DeviceView]
    next: str | None = Field(description="Link to the next page; null on the last one")


class MqttCredentials(BaseModel):
    username: str
    password: str = Field(description="Shown this once; the registry keeps only a hash")


class GatewayRegistered(BaseModel):
    gateway: GatewayDetail
    credentials: MqttCredentials


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GatewayCreate(_Input):
    id: GatewayId
    site_id: Annotated[str | None, Field(pattern=GATEWAY_ID_PATTERN)] = None
    mqtt_username: Annotated[str | None, Field(pattern=GATEWAY_ID_PATTERN)] = Field(
        default=None, description="Defaults to the gateway id"
    )


class DeviceCreate(_Input):
    device_id: DeviceId
    profile: Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)] = Field(
        examples=["eastron-sdm630"]
    )
    unit_id: Annotated[int | None, Field(ge=0, le=247)] = None
    tags: dict[TagKey, TagValue] = Field(default_factory=dict)
    installed_power_before_w: Annotated[float | None, Field(ge=0)] = None
