"""Wire decoder target: arbitrary bytes on every topic and as every message type.

The first byte picks the message type and how the payload arrives: through ``decode``, through
``decode_for_topic`` on that type's topic, or (``topic\\npayload``) on a topic string parsed with
``parse_topic``; the rest is the payload. Only ``DecodeError`` (and its subclasses
``MessageTooLarge`` and ``UnsupportedVersion``) may come out, or ``TopicError`` for a topic string
outside the contract, and whatever is accepted must survive encode → decode unchanged.
"""

from __future__ import annotations

from eclor.errors import DecodeError, TopicError
from eclor.wire.codec import MESSAGE_TYPES, Message, decode, decode_for_topic, encode
from eclor.wire.topics import Suffix, Topic, parse_topic

SUFFIXES = tuple(Suffix)
GATEWAY = "cab-thil-04"
"""The topic's gateway in topic mode; the seeds are written for it."""


class RoundTripBroken(AssertionError):
    """An accepted message that does not come back identical from encode → decode."""


def one_input(data: bytes) -> None:
    if not data:
        return
    suffix = SUFFIXES[data[0] % len(SUFFIXES)]
    mode = (data[0] // len(SUFFIXES)) % 3
    payload = data[1:]
    try:
        if mode == 0:
            message: Message = decode(MESSAGE_TYPES[suffix], payload)  # type: ignore[assignment]
        elif mode == 1:
            message = decode_for_topic(Topic(GATEWAY, suffix), payload)
        else:
            message = _on_parsed_topic(payload)
    except (DecodeError, TopicError):
        return
    check_round_trip(message)


def _on_parsed_topic(data: bytes) -> Message:
    """``topic\\npayload``: the topic string as the broker delivers it, then the payload."""
    text, _, payload = data.partition(b"\n")
    return decode_for_topic(parse_topic(text.decode("utf-8", "replace")), payload)


def check_round_trip(message: Message) -> None:
    encoded = encode(message)
    again = decode(type(message), encoded)
    if again != message:
        raise RoundTripBroken(f"{message!r} came back as {again!r}")
    if encode(again) != encoded:
        raise RoundTripBroken(f"re-encoding is not stable: {encoded!r}")
