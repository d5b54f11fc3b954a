"""What the broker's files are made of, read from the registry in one transaction.

Left out, each with its reason (reported by the command, never an error):

- revoked gateways and service accounts;
- gateways enrolled before revision 0002, which have no broker hash yet: the registry never held
  their plaintext, so only a new password (``rotate_gateway_password``) brings them in;
- gateways whose MQTT user name is not their id: the ACL's pattern rules give a user the topics
  of the gateway *named like the user*, so such a gateway could not reach its own topics and
  might reach another's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.broker_config.acl import Grant, ServiceGrants, parse_grant
from cloud.broker_config.passwd import BrokerUser
from cloud.errors import RegistryContentError
from cloud.registry.models import Gateway, ServiceAccount

NO_BROKER_HASH = "no broker password hash (enrolled before it was kept): rotate its password"
USERNAME_NOT_ID = "its MQTT user name {username!r} is not its id: the pattern ACL cannot serve it"


@dataclass(frozen=True)
class Skipped:
    """A gateway left out of the password file, and why."""

    gateway_id: str
    reason: str


@dataclass(frozen=True)
class RegistrySnapshot:
    users: tuple[BrokerUser, ...]
    services: tuple[ServiceGrants, ...]
    skipped: tuple[Skipped, ...]

    @property
    def gateway_count(self) -> int:
        return sum(1 for user in self.users if user.kind == "gateway")


def read_registry(session: Session) -> RegistrySnapshot:
    """Active gateways and service accounts; see the module docstring for who is left out."""
    users: list[BrokerUser] = []
    skipped: list[Skipped] = []
    gateways = session.scalars(select(Gateway).where(Gateway.revoked.is_(False)))
    for gateway in gateways:
        if gateway.mqtt_username != gateway.id:
            reason = USERNAME_NOT_ID.format(username=gateway.mqtt_username)
            skipped.append(Skipped(gateway.id, reason))
        elif gateway.broker_hash is None:
            skipped.append(Skipped(gateway.id, NO_BROKER_HASH))
        else:
            users.append(BrokerUser(gateway.mqtt_username, "gateway", gateway.broker_hash))
    services: list[ServiceGrants] = []
    accounts = session.scalars(select(ServiceAccount).where(ServiceAccount.revoked_at.is_(None)))
    for account in accounts:
        services.append(ServiceGrants(account.name, _grants(account)))
        if account.broker_hash is not None:
            users.append(BrokerUser(account.name, "service account", account.broker_hash))
    return RegistrySnapshot(
        tuple(sorted(users, key=lambda u: u.name)),
        tuple(sorted(services, key=lambda s: s.name)),
        tuple(sorted(skipped, key=lambda s: s.gateway_id)),
    )


def _grants(account: ServiceAccount) -> tuple[Grant, ...]:
    if not isinstance(account.grants, list):
        raise RegistryContentError(f"service account {account.name!r}: grants are not a list")
    try:
        return tuple(parse_grant(str(text)) for text in account.grants)
    except ValueError as error:
        raise RegistryContentError(f"service account {account.name!r}: {error}") from None
