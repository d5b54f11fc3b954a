"""Encoding and decoding of wire messages (JSON through msgspec).

``decode`` accepts anything — truncated JSON, wrong types, huge numbers, 10 MB of garbage — and
either returns a valid message or raises :class:`~eclor.errors.DecodeError` (or a subclass) naming
the field; it never raises anything else.
"""

from __future__ import annotations

import math
import re
from typing import Any, TypeVar

import msgspec

from eclor.errors import DecodeError, EncodeError, MessageTooLarge, UnsupportedVersion
from eclor.wire import limits as L
from eclor.wire.messages import (
    Ack,
    Command,
    CommandResult,
    EventBatch,
    Reading,
    Status,
    TelemetryBatch,
    _Message,
)
from eclor.wire.names import DEVICE_IDS, NAMES, NameChecker
from eclor.wire.programs import ProgramSet, reference_problems
from eclor.wire.topics import Suffix, Topic

Message = TelemetryBatch | EventBatch | Ack | Status | Command | CommandResult | ProgramSet
M = TypeVar("M", bound=_Message)

MESSAGE_TYPES: dict[Suffix, type[_Message]] = {
    Suffix.TELEMETRY: TelemetryBatch,
    Suffix.EVENT: EventBatch,
    Suffix.ACK: Ack,
    Suffix.STATUS: Status,
    Suffix.CMD: Command,
    Suffix.CMD_RESULT: CommandResult,
    Suffix.PROGRAM: ProgramSet,
}

_encoder = msgspec.json.Encoder()
_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}
_AT = re.compile(r" - at `(?P<path>[^`]*)`(?: in `(?P<container>[^`]*)`)?$")


class _Envelope(msgspec.Struct):
    v: Any = None


_envelope_decoder = msgspec.json.Decoder(_Envelope)


def encode(message: Message) -> bytes:
    """Serialise ``message``; refuse NaN, infinity and payloads over the size limit."""
    payload = _encoder.encode(message)
    # JSON has no NaN: msgspec writes it as null, which no field of the contract allows.
    if b"null" in payload:
        _refuse_non_finite(message)
    if len(payload) > L.MAX_MESSAGE_BYTES:
        raise EncodeError(f"{len(payload)} bytes exceeds the limit of {L.MAX_MESSAGE_BYTES}")
    return payload


def decode(kind: type[M], payload: bytes | bytearray | memoryview | str) -> M:
    """Decode ``payload`` as a message of type ``kind``, enforcing every limit of the contract."""
    size = len(payload)
    if size > L.MAX_MESSAGE_BYTES:
        raise MessageTooLarge(size, L.MAX_MESSAGE_BYTES)
    decoder = _decoders.get(kind)
    if decoder is None:
        decoder = _decoders[kind] = msgspec.json.Decoder(kind)
    try:
        message: M = decoder.decode(payload)
    except msgspec.ValidationError as exc:
        _raise_version_if_foreign(payload)
        raise _decode_error(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise DecodeError(f"malformed JSON: {exc}") from None
    except UnicodeDecodeError as exc:
        # msgspec raises this one directly for invalid UTF-8 inside a string.
        raise DecodeError(f"invalid UTF-8 at byte {exc.start}") from None
    if message.v != L.CONTRACT_VERSION:
        raise UnsupportedVersion(message.v)
    _check_semantics(message)
    return message


def decode_for_topic(topic: Topic, payload: bytes | bytearray | memoryview | str) -> Message:
    """Decode a payload received on ``topic``; its ``gateway`` must be the topic's gateway."""
    message = decode(MESSAGE_TYPES[topic.suffix], payload)
    gateway = getattr(message, "gateway", None)
    if gateway is not None and gateway != topic.gateway_id:
        raise DecodeError(f"gateway {gateway!r} does not match topic {str(topic)!r}", "$.gateway")
    return message  # type: ignore[return-value]


def _raise_version_if_foreign(payload: bytes | bytearray | memoryview | str) -> None:
    """A message of another version may fail validation first: report the version instead."""
    try:
        version = _envelope_decoder.decode(payload).v
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
        return
    if version is not None and version != L.CONTRACT_VERSION:
        raise UnsupportedVersion(version)


def _decode_error(text: str) -> DecodeError:
    match = _AT.search(text)
    if match is None:
        return DecodeError(text)
    path = match["container"] or match["path"]
    reason = text[: match.start()]
    if match["container"]:
        reason = f"{reason} (in a key)"
    return DecodeError(reason, path)


def _check_semantics(message: _Message) -> None:
    if isinstance(message, TelemetryBatch):
        _check_reading_names(message)
    if isinstance(message, Command) and message.expires_at <= message.issued_at:
        raise DecodeError("expires_at must be after issued_at", "$.expires_at")
    if isinstance(message, ProgramSet):
        problems = reference_problems(message)
        if problems:
            path, reason = problems[0]
            raise DecodeError(reason, path)


def _check_reading_names(batch: TelemetryBatch) -> None:
    names, devices = NAMES.known, DEVICE_IDS.known
    for i, reading in enumerate(batch.readings):
        # Bulk membership tests in C first; the per-name path runs only for names not seen yet.
        if (
            reading.device in devices
            and reading.measurement in names
            and reading.fields.keys() <= names
            and reading.tags.keys() <= names
        ):
            continue
        _check_one_reading(reading, f"$.readings[{i}]")


def _check_one_reading(reading: Reading, path: str) -> None:
    if not DEVICE_IDS.ok(reading.device):
        raise _pattern_error(DEVICE_IDS, f"{path}.device")
    if not NAMES.ok(reading.measurement):
        raise _pattern_error(NAMES, f"{path}.measurement")
    for part, keys in (("fields", reading.fields), ("tags", reading.tags)):
        for key in keys:
            if not NAMES.ok(key):
                raise _pattern_error(NAMES, f"{path}.{part}", key)


def _pattern_error(checker: NameChecker, path: str, key: str | None = None) -> DecodeError:
    where = f" (in the key {key[:70]!r})" if key is not None else ""
    return DecodeError(f"Expected `str` matching regex {checker.pattern!r}{where}", path)


def _refuse_non_finite(value: object, path: str = "$") -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise EncodeError(f"{value} at {path}: JSON has no NaN or infinity")
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_non_finite(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_non_finite(item, f"{path}[{i}]")
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            _refuse_non_finite(getattr(value, name), f"{path}.{name}")
