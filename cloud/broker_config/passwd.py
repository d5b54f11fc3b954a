"""The broker's password file: one ``<user>:<$7$ hash>`` line per active gateway and account.

Only hashes reach it, copied from the registry (``broker_hash``); the file is written 0600
(:mod:`.files`). A malformed hash or user name, or the same user twice, refuses the whole file:
a half-right password file would lock out users silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from cloud.broker_config.acl import check_user_name
from cloud.broker_config.passwords import parse_mosquitto_hash
from cloud.errors import RegistryContentError

UserKind = Literal["gateway", "service account"]


@dataclass(frozen=True)
class BrokerUser:
    name: str
    kind: UserKind
    broker_hash: str = field(repr=False)


def render_passwd(users: Sequence[BrokerUser]) -> str:
    """The password file's text, users sorted by name."""
    seen: dict[str, UserKind] = {}
    lines = []
    for user in sorted(users, key=lambda u: u.name):
        check_user_name(user.name)
        if user.name in seen:
            raise RegistryContentError(
                f"MQTT user name {user.name!r} belongs to a {seen[user.name]} and a {user.kind}"
            )
        seen[user.name] = user.kind
        try:
            parse_mosquitto_hash(user.broker_hash)
        except ValueError as error:
            raise RegistryContentError(
                f"the broker hash of {user.kind} {user.name!r} is unusable: {error}"
            ) from None
        lines.append(f"{user.name}:{user.broker_hash}\n")
    return "".join(lines)
