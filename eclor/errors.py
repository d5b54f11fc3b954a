"""Errors of the shared kernel.

Every failure to read something that came from outside (a message, a topic, a config file) ends in
one of these, carrying the data needed to say what was wrong and where::

    EclorError
    ├── WireError                  anything wrong with what crossed the wire
    │   ├── TopicError             a topic or gateway id outside the contract (.topic, .reason)
    │   ├── EncodeError            a message we were about to send breaks the contract (.reason)
    │   └── DecodeError            a payload that cannot be accepted (.field, .reason)
    │       ├── MessageTooLarge    more bytes than the contract allows (.size, .limit)
    │       └── UnsupportedVersion a contract version we do not speak (.version)
    └── ConfigError                a config file that cannot be used (.file, .key, .value, .reason)
"""

from __future__ import annotations

from typing import Any


class EclorError(Exception):
    """Root of every error raised on purpose by Eclor code."""


class WireError(EclorError):
    """Something that crossed, or was about to cross, the wire breaks the contract."""


class TopicError(WireError):
    def __init__(self, topic: str, reason: str) -> None:
        self.topic = topic
        self.reason = reason
        super().__init__(f"bad topic {topic!r}: {reason}")


class EncodeError(WireError):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"cannot encode message: {reason}")


class DecodeError(WireError):
    """A payload that cannot be accepted; ``field`` is a JSON path (``$.readings[3].time``)."""

    def __init__(self, reason: str, field: str = "$") -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{reason} (at {field})")


class MessageTooLarge(DecodeError):
    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"message of {size} bytes exceeds the limit of {limit} bytes")


class UnsupportedVersion(DecodeError):
    def __init__(self, version: object) -> None:
        self.version = version
        super().__init__(f"unsupported contract version {version!r}", "$.v")


class ConfigError(EclorError):
    """A config file that cannot be used. ``key`` is a dotted path such as ``buses[0].port``."""

    def __init__(self, file: str, key: str, value: Any, reason: str) -> None:
        self.file = file
        self.key = key
        self.value = value
        self.reason = reason
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{file}: {key or '<root>'} = {shown}: {reason}")
