"""Message types of wire contract v1, one per row of the DESIGN's wire table.

Types carry their own limits (``msgspec.Meta``), so the decoder enforces them in C while parsing.
Every message has ``v``, the contract version. Times are epoch milliseconds, UTC, stamped once where
the thing happened (a reading at read time on the edge).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from eclor.wire import limits as L
from eclor.wire.names import DEVICE_ID_PATTERN, NAME_PATTERN
from eclor.wire.topics import GATEWAY_ID_PATTERN

GatewayId = Annotated[str, Meta(pattern=GATEWAY_ID_PATTERN)]
Name = Annotated[str, Meta(pattern=NAME_PATTERN)]
"""Measurement, field, tag, command-kind and event-kind names: snake_case, units in the name."""
DeviceId = Annotated[str, Meta(pattern=DEVICE_ID_PATTERN)]
# In readings (the hot path) names are checked after parsing, once per distinct name: names.py.
_HotName = Annotated[str, Meta(min_length=1, max_length=L.MAX_ID_LENGTH)]
CommandId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$")]
EpochMs = Annotated[int, Meta(ge=L.MIN_EPOCH_MS, le=L.MAX_EPOCH_MS)]
Seq = Annotated[int, Meta(ge=0, le=L.INT64_MAX)]
Text = Annotated[str, Meta(max_length=L.MAX_DETAIL_LENGTH)]
TagValue = Annotated[str, Meta(min_length=1, max_length=L.MAX_TAG_VALUE_LENGTH)]

Int64 = Annotated[int, Meta(ge=L.INT64_MIN, le=L.INT64_MAX)]
Float = Annotated[float, Meta(ge=-1.7976931348623157e308, le=1.7976931348623157e308)]
ShortString = Annotated[str, Meta(max_length=L.MAX_STRING_FIELD_LENGTH)]
Scalar = bool | Int64 | Float | ShortString
"""A field value. JSON has no NaN or infinity; the encoder refuses them."""

Fields = Annotated[dict[_HotName, Scalar], Meta(min_length=1, max_length=L.MAX_FIELDS_PER_READING)]
Tags = Annotated[dict[_HotName, TagValue], Meta(max_length=L.MAX_TAGS_PER_READING)]
Args = Annotated[dict[Name, Scalar], Meta(max_length=L.MAX_ARGS_PER_COMMAND)]


class _Message(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    v: int = L.CONTRACT_VERSION


class Reading(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One read of one device: identified in the store by measurement, tags and time."""

    device: _HotName
    measurement: _HotName
    time: EpochMs
    fields: Fields
    tags: Tags = msgspec.field(default_factory=dict)


class TelemetryBatch(_Message, kw_only=True):
    gateway: GatewayId
    seq: Seq
    readings: Annotated[list[Reading], Meta(min_length=1, max_length=L.MAX_READINGS_PER_BATCH)]


Severity = Literal["info", "warning", "critical"]


class Event(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An alarm or a state change: ``active`` is true when raised, false when cleared."""

    device: DeviceId
    kind: Name
    time: EpochMs
    severity: Severity
    active: bool = True
    detail: Text = ""
    fields: Annotated[dict[Name, Scalar], Meta(max_length=L.MAX_FIELDS_PER_READING)] = (
        msgspec.field(default_factory=dict)
    )


class EventBatch(_Message, kw_only=True):
    gateway: GatewayId
    seq: Seq
    events: Annotated[list[Event], Meta(min_length=1, max_length=L.MAX_EVENTS_PER_BATCH)]


class Ack(_Message, kw_only=True):
    """The batch sequence numbers the cloud has stored: the edge may delete them."""

    gateway: GatewayId
    seqs: Annotated[list[Seq], Meta(min_length=1, max_length=L.MAX_SEQS_PER_ACK)]


class OutboxHealth(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    rows: Annotated[int, Meta(ge=0)]
    bytes: Annotated[int, Meta(ge=0)]
    oldest_age_s: Annotated[float, Meta(ge=0, le=1e10)] | None = None
    evicted: Annotated[int, Meta(ge=0)] = 0


DeviceState = Literal["ok", "degraded", "unreachable", "unknown"]


class DeviceHealth(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    state: DeviceState
    last_ok: EpochMs | None = None
    errors: Annotated[int, Meta(ge=0)] = 0
    detail: Text = ""


class Status(_Message, kw_only=True):
    """Retained; ``offline`` is also the gateway's MQTT last will."""

    gateway: GatewayId
    state: Literal["online", "offline"]
    time: EpochMs
    version: Annotated[str, Meta(max_length=64)] = ""
    outbox: OutboxHealth | None = None
    devices: Annotated[dict[DeviceId, DeviceHealth], Meta(max_length=L.MAX_DEVICES_PER_STATUS)] = (
        msgspec.field(default_factory=dict)
    )


class Command(_Message, kw_only=True):
    """A command for one gateway: deduplicated by ``id``, ignored once ``expires_at`` has passed.

    ``target`` names what it acts on, e.g. ``group:main-street`` or ``device:cab-01-meter``.
    """

    id: CommandId
    kind: Name
    target: Annotated[str, Meta(min_length=1, max_length=L.MAX_TARGET_LENGTH)]
    args: Args = msgspec.field(default_factory=dict)
    issued_at: EpochMs
    expires_at: EpochMs


class CommandResult(_Message, kw_only=True):
    """The answer to a command; ``observed`` holds what was read back (the level after a dim).

    Buffered in the outbox and acknowledged like a batch: ``seq`` is from the same sequence.
    """

    gateway: GatewayId
    seq: Seq
    id: CommandId
    ok: bool
    time: EpochMs
    detail: Text = ""
    observed: Args = msgspec.field(default_factory=dict)
