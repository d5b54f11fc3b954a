"""Cloud service accounts on the broker: the MQTT identities of the ingest and of the API.

A gateway's MQTT rights come from pattern rules on its own user name (:mod:`.acl`); the cloud's
services need rights over every gateway, so each has an account of its own with explicit grants,
stored in the registry (``service_account``) with its password in Mosquitto's hash only:

- ``ingest`` reads what gateways send (``eclor/v1/+/telemetry``, ``event``, ``status``,
  ``cmd/result``), directly or through a shared subscription, and writes ``eclor/v1/+/ack``;
- ``api`` (the operator API and the scheduler's lighting policy) writes ``eclor/v1/+/cmd`` and
  ``eclor/v1/+/program``.

An account's name is its MQTT user name and must contain a dot (``cloud.ingest``,
``ingest.paris-1``): gateway ids cannot, so a service account can never be mistaken for a gateway,
and the gateway patterns, which Mosquitto applies to every user, give it only topics that no
gateway uses. The grants are copied from the role when the account is created, so the ACL says
exactly what the registry says; a change of the wire contract comes with a migration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.broker_config.passwords import mosquitto_hash
from cloud.errors import Conflict
from cloud.registry._rows import check_aware, insert, require
from cloud.registry.credentials import new_secret
from cloud.registry.models import ServiceAccount, ServiceRole
from eclor.wire.limits import MAX_ID_LENGTH
from eclor.wire.topics import UPLINK_SUFFIXES, Suffix, subscription

SERVICE_NAME_PATTERN = r"^[a-z][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$"
_SERVICE_NAME = re.compile(SERVICE_NAME_PATTERN)

_UPLINK_ORDER = (Suffix.TELEMETRY, Suffix.EVENT, Suffix.STATUS, Suffix.CMD_RESULT)
assert frozenset(_UPLINK_ORDER) == UPLINK_SUFFIXES

ROLE_GRANTS: dict[ServiceRole, tuple[str, ...]] = {
    ServiceRole.INGEST: (
        *(f"read {subscription(suffix)}" for suffix in _UPLINK_ORDER),
        f"write {subscription(Suffix.ACK)}",
    ),
    ServiceRole.API: (
        f"write {subscription(Suffix.CMD)}",
        f"write {subscription(Suffix.PROGRAM)}",
    ),
}
"""The ACL grants of each role, as ``"<read|write> <topic filter>"``."""


@dataclass(frozen=True)
class IssuedAccount:
    """A service account and its MQTT password, which is shown this once and never stored."""

    account: ServiceAccount
    password: str = field(repr=False)


def check_service_name(name: str) -> str:
    """Return ``name`` if it can be a service account's MQTT user name, else :class:`ValueError`."""
    if len(name) > MAX_ID_LENGTH or not _SERVICE_NAME.fullmatch(name):
        raise ValueError(
            f"service account name {name!r}: 1-{MAX_ID_LENGTH} characters of a-z, 0-9, '-', '_' "
            "and at least one '.', starting with a letter (e.g. 'cloud.ingest'); the dot keeps "
            "it apart from gateway ids"
        )
    return name


def role_of(value: ServiceRole | str) -> ServiceRole:
    try:
        return ServiceRole(value)
    except ValueError:
        known = ", ".join(r.value for r in ServiceRole)
        raise ValueError(f"unknown role {value!r} (known: {known})") from None


def create_service_account(
    session: Session, name: str, role: ServiceRole | str, *, now: datetime
) -> IssuedAccount:
    """A new account with the grants of ``role`` and a fresh password; :class:`Conflict` if the
    name is taken (revoked accounts keep their name)."""
    check_service_name(name)
    chosen = role_of(role)
    check_aware("now", now)
    password = new_secret()
    account = ServiceAccount(
        name=name,
        role=chosen,
        grants=list(ROLE_GRANTS[chosen]),
        broker_hash=mosquitto_hash(password),
        created_at=now,
        credential_issued_at=now,
    )
    return IssuedAccount(insert(session, account, "service account", name), password)


def get_service_account(session: Session, name: str) -> ServiceAccount:
    return require(session, ServiceAccount, name, "service account")


def list_service_accounts(
    session: Session, *, include_revoked: bool = True
) -> list[ServiceAccount]:
    query = select(ServiceAccount).order_by(ServiceAccount.name)
    if not include_revoked:
        query = query.where(ServiceAccount.revoked_at.is_(None))
    return list(session.scalars(query))


def rotate_service_password(session: Session, name: str, *, now: datetime) -> str:
    """A new password for the account, returned this once; the old one works until the broker
    reloads its password file (then Mosquitto disconnects clients still using it)."""
    account = get_service_account(session, name)
    if account.revoked_at is not None:
        raise Conflict("service account", name, "is revoked")
    password = new_secret()
    account.broker_hash = mosquitto_hash(password)
    account.credential_issued_at = check_aware("now", now)
    return password


def revoke_service_account(session: Session, name: str, *, now: datetime) -> ServiceAccount:
    """Forget the account's password hash; revoking twice keeps the first time."""
    account = get_service_account(session, name)
    if account.revoked_at is None:
        account.revoked_at = check_aware("now", now)
        account.broker_hash = None
    return account
