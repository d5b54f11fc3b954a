"""Wire contract v1: topics, message types, codec and limits shared by edge and cloud.

See ``docs/wire.md`` for the contract with an example of every message.
"""

from eclor.wire.codec import MESSAGE_TYPES, Message, decode, decode_for_topic, encode
from eclor.wire.limits import CONTRACT_VERSION
from eclor.wire.messages import (
    Ack,
    Command,
    CommandResult,
    DeviceHealth,
    Event,
    EventBatch,
    OutboxHealth,
    Reading,
    Status,
    TelemetryBatch,
)
from eclor.wire.programs import (
    Assignment,
    Calendar,
    CalendarRule,
    ControlProgram,
    LevelStep,
    ProgramSet,
    Site,
    SwitchTime,
    Window,
)
from eclor.wire.topics import (
    TOPIC_ROOT,
    Suffix,
    Topic,
    check_gateway_id,
    parse_topic,
    subscription,
    topic,
)

__all__ = [
    "CONTRACT_VERSION",
    "MESSAGE_TYPES",
    "TOPIC_ROOT",
    "Ack",
    "Assignment",
    "Calendar",
    "CalendarRule",
    "Command",
    "CommandResult",
    "ControlProgram",
    "DeviceHealth",
    "Event",
    "EventBatch",
    "LevelStep",
    "Message",
    "OutboxHealth",
    "ProgramSet",
    "Reading",
    "Site",
    "Status",
    "Suffix",
    "SwitchTime",
    "TelemetryBatch",
    "Topic",
    "Window",
    "check_gateway_id",
    "decode",
    "decode_for_topic",
    "encode",
    "parse_topic",
    "subscription",
    "topic",
]
