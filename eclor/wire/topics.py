"""Topics of wire contract v1: ``eclor/v1/{gateway_id}/{suffix}``.

A gateway id is 1–63 characters of lower-case ASCII letters, digits, ``-`` and ``_``, starting
with a letter or a digit. That keeps it safe as an MQTT topic level (no ``/``, ``+``, ``#``,
``$``), as an MQTT username, a file name, an InfluxDB tag value and a DNS label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from eclor.errors import TopicError
from eclor.wire.limits import CONTRACT_VERSION

TOPIC_ROOT = f"eclor/v{CONTRACT_VERSION}"
GATEWAY_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_GATEWAY_ID = re.compile(GATEWAY_ID_PATTERN)


class Suffix(StrEnum):
    TELEMETRY = "telemetry"
    EVENT = "event"
    ACK = "ack"
    STATUS = "status"
    CMD = "cmd"
    CMD_RESULT = "cmd/result"
    PROGRAM = "program"


UPLINK_SUFFIXES = frozenset({Suffix.TELEMETRY, Suffix.EVENT, Suffix.STATUS, Suffix.CMD_RESULT})
DOWNLINK_SUFFIXES = frozenset({Suffix.ACK, Suffix.CMD, Suffix.PROGRAM})
RETAINED_SUFFIXES = frozenset({Suffix.STATUS, Suffix.PROGRAM})


@dataclass(frozen=True, slots=True)
class Topic:
    gateway_id: str
    suffix: Suffix

    def __str__(self) -> str:
        return f"{TOPIC_ROOT}/{self.gateway_id}/{self.suffix.value}"

    @property
    def retained(self) -> bool:
        return self.suffix in RETAINED_SUFFIXES


def check_gateway_id(gateway_id: str) -> str:
    """Return ``gateway_id`` if it is valid, else raise :class:`TopicError` saying why."""
    if not _GATEWAY_ID.fullmatch(gateway_id):
        raise TopicError(
            gateway_id,
            "a gateway id is 1-63 characters of a-z, 0-9, '-' and '_', starting with a letter "
            "or a digit",
        )
    return gateway_id


def topic(gateway_id: str, suffix: Suffix | str) -> str:
    """Build the topic string for ``gateway_id`` and ``suffix``."""
    return str(Topic(check_gateway_id(gateway_id), _suffix(suffix, str(suffix))))


def subscription(suffix: Suffix | str, gateway_id: str | None = None) -> str:
    """A subscription filter: one gateway's ``suffix``, or every gateway's (``+``) when ``None``."""
    level = "+" if gateway_id is None else check_gateway_id(gateway_id)
    return f"{TOPIC_ROOT}/{level}/{_suffix(suffix, str(suffix)).value}"


def parse_topic(value: str) -> Topic:
    """Parse a topic string of the contract; raise :class:`TopicError` naming what is wrong."""
    prefix = TOPIC_ROOT + "/"
    if not value.startswith(prefix):
        raise TopicError(value, f"does not start with {prefix!r}")
    gateway_id, sep, rest = value[len(prefix) :].partition("/")
    if not sep:
        raise TopicError(value, "no suffix after the gateway id")
    if not _GATEWAY_ID.fullmatch(gateway_id):
        raise TopicError(value, f"the gateway id level {gateway_id!r} is not a valid gateway id")
    return Topic(gateway_id, _suffix(rest, value))


def _suffix(candidate: Suffix | str, whole: str) -> Suffix:
    try:
        return Suffix(candidate)
    except ValueError:
        known = ", ".join(s.value for s in Suffix)
        raise TopicError(whole, f"unknown suffix {candidate!r} (known: {known})") from None
