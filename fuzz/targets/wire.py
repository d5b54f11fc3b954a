"""Wire decoder target: arbitrary bytes on every topic and as every message type.

The first byte picks the message type and whether the payload arrives through ``decode`` or
``decode_for_topic``; the rest is the payload. Only ``DecodeError`` (and its subclasses
``MessageTooLarge`` and ``UnsupportedVersion``) may come out, and whatever is accepted must
survive encode → decode unchanged.
"""

from __future__ import annotations

from eclor.errors import DecodeError
from eclor.wire.codec import MESSAGE_TYPES, Message, decode, decode_for_topic, encode
from eclor.wire.topics import Suffix, Topic

SUFFIXES = tuple(Suffix)
GATEWAY = "cab-thil-04"
"""The topic's gateway in topic mode; the seeds are written for it."""


class RoundTripBroken(AssertionError):
    """An accepted message that does not come back identical from encode → decode."""


def one_input(data: bytes) -> None:
    if not data:
        return
    suffix = SUFFIXES[data[0] % len(SUFFIXES)]
    on_topic = (data[0] // len(SUFFIXES)) % 2 == 1
    payload = data[1:]
    try:
        if on_topic:
            message: Message = decode_for_topic(Topic(GATEWAY, suffix), payload)
        else:
            message = decode(MESSAGE_TYPES[suffix], payload)  # type: ignore[assignment]
    except DecodeError:
        return
    check_round_trip(message)


def check_round_trip(message: Message) -> None:
    encoded = encode(message)
    again = decode(type(message), encoded)
    if again != message:
        raise RoundTripBroken(f"{message!r} came back as {again!r}")
    if encode(again) != encoded:
        raise RoundTripBroken(f"re-encoding is not stable: {encoded!r}")
