"""The registry: communes, sites, gateways, devices, lighting groups, command audit, API tokens
and dead letters, in SQL through SQLAlchemy (SQLite by default, PostgreSQL in production).

Every function takes a :class:`~sqlalchemy.orm.Session` and works inside the caller's
transaction, so the ingest can record a status, a command result and a dead letter in one
commit. Typical use::

    engine = make_engine(url)
    upgrade(engine)                       # at service start
    sessions = make_session_factory(engine)
    with sessions.begin() as session:     # commits, or rolls back on an exception
        enrolment = enroll_gateway(session, "cab-01", now=clock.now())

Errors: :class:`cloud.errors.NotFound` and :class:`cloud.errors.Conflict` (both
:class:`cloud.errors.RegistryError`); a bad argument (a naive datetime, an id breaking the wire's
rules) is a :class:`ValueError`. Database failures pass through as SQLAlchemy's errors.
"""

from cloud.registry.audit import (
    CommandState,
    attach_result,
    command_state,
    get_command,
    list_commands,
    record_command,
)
from cloud.registry.db import make_engine, make_session_factory, normalize_url, sqlite_url
from cloud.registry.dead_letters import (
    add_dead_letter,
    count_dead_letters_by_reason,
    guess_gateway,
    list_dead_letters,
    prune_dead_letters,
)
from cloud.registry.devices import (
    add_device,
    add_lighting_group,
    get_device,
    get_lighting_group,
    list_devices,
    list_lighting_groups,
    set_device_tags,
)
from cloud.registry.gateways import (
    Enrolment,
    check_gateway_password,
    enroll_gateway,
    get_gateway,
    list_gateways,
    record_gateway_seen,
    revoke_gateway,
    rotate_gateway_password,
    set_gateway_site,
)
from cloud.registry.health import (
    StatusApplied,
    record_device_health,
    record_devices_seen,
    record_status,
)
from cloud.registry.migrate import current_revision, downgrade, head_revision, upgrade
from cloud.registry.models import (
    ApiToken,
    Base,
    CommandAudit,
    Commune,
    DeadLetter,
    Device,
    DeviceState,
    Gateway,
    GatewayStatus,
    LightingBackend,
    LightingGroup,
    Scope,
    Site,
    SiteKind,
)
from cloud.registry.places import (
    add_commune,
    add_site,
    get_commune,
    get_site,
    list_communes,
    list_sites,
    set_opening_hours,
)
from cloud.registry.tokens import (
    IssuedToken,
    TokenGrant,
    create_token,
    get_token,
    list_tokens,
    revoke_token,
    verify_token,
)

__all__ = [
    "ApiToken",
    "Base",
    "CommandAudit",
    "CommandState",
    "Commune",
    "DeadLetter",
    "Device",
    "DeviceState",
    "Enrolment",
    "Gateway",
    "GatewayStatus",
    "IssuedToken",
    "LightingBackend",
    "LightingGroup",
    "Scope",
    "Site",
    "SiteKind",
    "StatusApplied",
    "TokenGrant",
    "add_commune",
    "add_dead_letter",
    "add_device",
    "add_lighting_group",
    "add_site",
    "attach_result",
    "check_gateway_password",
    "command_state",
    "count_dead_letters_by_reason",
    "create_token",
    "current_revision",
    "downgrade",
    "enroll_gateway",
    "get_command",
    "get_commune",
    "get_device",
    "get_gateway",
    "get_lighting_group",
    "get_site",
    "get_token",
    "guess_gateway",
    "head_revision",
    "list_commands",
    "list_communes",
    "list_dead_letters",
    "list_devices",
    "list_gateways",
    "list_lighting_groups",
    "list_sites",
    "list_tokens",
    "make_engine",
    "make_session_factory",
    "normalize_url",
    "prune_dead_letters",
    "record_command",
    "record_device_health",
    "record_devices_seen",
    "record_gateway_seen",
    "record_status",
    "revoke_gateway",
    "revoke_token",
    "rotate_gateway_password",
    "set_device_tags",
    "set_gateway_site",
    "set_opening_hours",
    "sqlite_url",
    "upgrade",
    "verify_token",
]
