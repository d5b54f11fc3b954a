"""Every message type survives encode → decode unchanged."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eclor.wire import MESSAGE_TYPES, Message, Suffix, Topic, decode, decode_for_topic, encode
from tests.unit.wire.strategies import ALL_MESSAGES


@pytest.mark.parametrize("suffix", sorted(ALL_MESSAGES))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_every_message_type_round_trips(suffix: str, data: st.DataObject) -> None:
    message: Message = data.draw(ALL_MESSAGES[suffix])
    kind = MESSAGE_TYPES[Suffix(suffix)]
    assert type(message) is kind
    assert decode(kind, encode(message)) == message


@settings(max_examples=50, deadline=None)
@given(message=ALL_MESSAGES["telemetry"])
def test_decode_for_topic_accepts_the_topics_own_gateway(message: Message) -> None:
    gateway = message.gateway  # type: ignore[union-attr]
    assert decode_for_topic(Topic(gateway, Suffix.TELEMETRY), encode(message)) == message


def test_every_suffix_has_a_strategy() -> None:
    assert set(ALL_MESSAGES) == {s.value for s in Suffix}
