"""The registry's tables as typed SQLAlchemy models.

Natural keys where the domain has them (INSEE code, site id, gateway id; a device or a lighting
group is identified within its gateway), surrogate integers only for append-only logs (dead
letters). Every time is an aware UTC ``datetime`` (:class:`~cloud.registry.types.UTCDateTime`).
No relationships are declared: the registry functions query by key, so nothing loads lazily
behind a caller's back once a session is closed.

The schema is created and changed by the Alembic migrations in ``cloud/registry/migrations``; a
test checks that the migrated schema and these models agree.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cloud.registry.types import JsonDoc, UTCDateTime
from eclor.wire.limits import MAX_DETAIL_LENGTH, MAX_ID_LENGTH, MAX_TARGET_LENGTH

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
NAME_LENGTH = 200
"""Human-readable names (a commune, a site, a token)."""
TOPIC_LENGTH = 512
REASON_LENGTH = 64
HASH_LENGTH = 128


class SiteKind(enum.StrEnum):
    CABINET = "cabinet"
    WASTE_CENTRE = "waste_centre"
    TRAFFIC_STATION = "traffic_station"


class GatewayStatus(enum.StrEnum):
    """``unknown`` until the gateway's first status message; then as the gateway last said."""

    UNKNOWN = "unknown"
    ONLINE = "online"
    OFFLINE = "offline"


class DeviceState(enum.StrEnum):
    """As reported in the gateway's status message (``eclor.wire.DeviceHealth.state``)."""

    UNKNOWN = "unknown"
    OK = "ok"
    DEGRADED = "degraded"
    UNREACHABLE = "unreachable"


class LightingBackend(enum.StrEnum):
    DALI = "dali"
    CONTACTOR = "contactor"
    SETPOINT = "setpoint"


class ServiceRole(enum.StrEnum):
    """What a cloud service account does on the broker (its grants: :mod:`cloud.broker_config`)."""

    INGEST = "ingest"
    API = "api"


class Scope(enum.StrEnum):
    """What an API token may do; the API decides what each scope allows."""

    PUBLIC = "public"
    TECHNICIAN = "technician"
    ENERGY_MANAGER = "energy-manager"
    ADMIN = "admin"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    """Stored as its value in a ``VARCHAR`` with a CHECK constraint (no native enum types)."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class Commune(Base):
    __tablename__ = "commune"

    insee_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))


class Site(Base):
    __tablename__ = "site"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude"),
    )

    id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    commune_insee: Mapped[str] = mapped_column(ForeignKey("commune.insee_code"), index=True)
    kind: Mapped[SiteKind] = mapped_column(_enum(SiteKind, "site_kind"))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    opening_hours: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    """Waste centres only; the shape belongs to the waste-centre service."""


class Gateway(Base):
    __tablename__ = "gateway"

    id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    site_id: Mapped[str | None] = mapped_column(ForeignKey("site.id"), index=True)
    mqtt_username: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), unique=True)
    credential_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    """Hash of the gateway's MQTT password (:mod:`cloud.registry.credentials`); never the secret."""
    broker_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    """The same password in Mosquitto's password-file hash (:mod:`cloud.broker_config.passwords`),
    for ``eclor cloud broker-config``; ``None`` when revoked or enrolled before revision 0002."""
    enrolled_at: Mapped[datetime]
    credential_issued_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None]
    status: Mapped[GatewayStatus] = mapped_column(
        _enum(GatewayStatus, "gateway_status"), default=GatewayStatus.UNKNOWN
    )
    status_at: Mapped[datetime | None]
    """Time of the status message that set ``status`` (older ones arriving late are ignored)."""
    last_seen_at: Mapped[datetime | None]
    """Latest time of anything heard from the gateway."""
    version: Mapped[str | None] = mapped_column(String(64))
    outbox_rows: Mapped[int | None] = mapped_column(Integer)
    outbox_bytes: Mapped[int | None] = mapped_column(BigInteger)
    outbox_oldest_age_s: Mapped[float | None] = mapped_column(Float)


class Device(Base):
    __tablename__ = "device"

    gateway_id: Mapped[str] = mapped_column(ForeignKey("gateway.id"), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    profile: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    unit_id: Mapped[int | None] = mapped_column(Integer)
    tags: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    installed_power_before_w: Mapped[float | None] = mapped_column(Float)
    """Baseline for savings (cabinets): installed power before the works."""
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]
    health: Mapped[DeviceState] = mapped_column(
        _enum(DeviceState, "device_state"), default=DeviceState.UNKNOWN
    )
    health_at: Mapped[datetime | None]
    last_ok_at: Mapped[datetime | None]
    health_errors: Mapped[int] = mapped_column(Integer, default=0)
    health_detail: Mapped[str] = mapped_column(String(MAX_DETAIL_LENGTH), default="")


class LightingGroup(Base):
    __tablename__ = "lighting_group"

    gateway_id: Mapped[str] = mapped_column(ForeignKey("gateway.id"), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    backend: Mapped[LightingBackend] = mapped_column(_enum(LightingBackend, "lighting_backend"))
    members: Mapped[list[Any]] = mapped_column(JsonDoc)
    """What the backend drives: DALI short addresses or groups, coil addresses, device ids."""


class CommandAudit(Base):
    __tablename__ = "command_audit"
    __table_args__ = (Index("ix_command_audit_gateway_issued", "gateway_id", "issued_at"),)

    command_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    gateway_id: Mapped[str] = mapped_column(ForeignKey("gateway.id"))
    kind: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    target: Mapped[str] = mapped_column(String(MAX_TARGET_LENGTH))
    args: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    issued_by: Mapped[str] = mapped_column(String(NAME_LENGTH))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    result_ok: Mapped[bool | None] = mapped_column(Boolean)
    result_detail: Mapped[str | None] = mapped_column(String(MAX_DETAIL_LENGTH))
    result_observed: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    result_at: Mapped[datetime | None]
    """When the gateway produced the result (its ``time``)."""


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    """Public part of the token, also shown in listings and logs."""
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    scopes: Mapped[list[str]] = mapped_column(JsonDoc)
    secret_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class DeadLetter(Base):
    __tablename__ = "dead_letter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    topic: Mapped[str] = mapped_column(String(TOPIC_LENGTH))
    gateway_guess: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH), index=True)
    reason: Mapped[str] = mapped_column(String(REASON_LENGTH), index=True)
    detail: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    payload_size: Mapped[int] = mapped_column(Integer)
    """Size of the payload as received; ``len(payload)`` is less when it was truncated."""

    @property
    def truncated(self) -> bool:
        return len(self.payload) < self.payload_size


class ServiceAccount(Base):
    """An MQTT identity of a cloud service (ingest workers, the API and scheduler) on the broker.

    ``name`` is the MQTT username; it always contains a dot, which no gateway id can, so the two
    kinds of users never collide. ``grants`` are the account's ACL lines (``"read <filter>"``,
    ``"write <filter>"``), set from its role when it is created.
    """

    __tablename__ = "service_account"

    name: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    role: Mapped[ServiceRole] = mapped_column(_enum(ServiceRole, "service_role"))
    grants: Mapped[list[str]] = mapped_column(JsonDoc)
    broker_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    """Mosquitto's hash of the account's password; ``None`` once revoked. Never the secret."""
    created_at: Mapped[datetime]
    credential_issued_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


# -- enrolment tokens and the operator audit (revision 0003) ------------------------------------

CLIENT_LENGTH = 64
"""A client's address as text (IPv6 with a zone included), or a host name for the CLI."""
ACTION_LENGTH = 256


class EnrolmentToken(Base):
    """A one-time token with which a gateway enrols itself (``POST /api/v1/enrol``).

    Bound to a site (the gateway joins it) and optionally to one gateway id; valid until
    ``expires_at``, for one use. As for API tokens, ``id`` is the public part and the secret is
    kept only as a hash (:mod:`cloud.registry.enrolment`).
    """

    __tablename__ = "enrolment_token"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    gateway_id: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    """The one gateway id it may enrol, or ``None`` for any (no foreign key: that gateway
    usually does not exist yet)."""
    created_by: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
    used_by_gateway: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    """The gateway it enrolled (set with ``used_at``, in the same statement)."""


class AuditSource(enum.StrEnum):
    """Where an operator action came from."""

    API = "api"
    """A state-changing call of the operator API, by an API token."""
    ENROL = "enrol"
    """``POST /api/v1/enrol``, by an enrolment token (or a refused attempt)."""
    CLI = "cli"
    """An ``eclor cloud`` command that changes security state, by the user running it."""


class OperatorAudit(Base):
    """One operator action: who, when, what, on what, with what outcome. Append-only; never a
    secret (:mod:`cloud.registry.operator_audit`)."""

    __tablename__ = "operator_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    source: Mapped[AuditSource] = mapped_column(_enum(AuditSource, "audit_source"))
    token_id: Mapped[str | None] = mapped_column(String(32), index=True)
    """Public id of the API token (source ``api``) or enrolment token (``enrol``)."""
    actor: Mapped[str] = mapped_column(String(NAME_LENGTH))
    """The API token's name, ``enrolment``, or the CLI's ``user@host``."""
    method: Mapped[str] = mapped_column(String(8))
    """The HTTP method, or ``CLI``."""
    action: Mapped[str] = mapped_column(String(ACTION_LENGTH))
    """The route template (``/api/v1/gateways/{gateway_id}/devices``) or the CLI command."""
    targets: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    """Ids acted on: path parameters, the ``Location`` of what was created, CLI arguments."""
    status: Mapped[int] = mapped_column(Integer)
    """The HTTP status answered; for the CLI, the command's exit code (0 done, 2 refused)."""
    client: Mapped[str | None] = mapped_column(String(CLIENT_LENGTH))
    """The peer address of an API call; the host name for the CLI."""
    detail: Mapped[str] = mapped_column(String(MAX_DETAIL_LENGTH), default="")


# Tables of later features live in their own modules; importing them here puts them in
# ``Base.metadata`` for migrations and schema checks.
from cloud.registry import (  # noqa: E402, F401
    models_alarms,
    models_lighting,
    models_reports,
    models_waste,
)
