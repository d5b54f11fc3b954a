from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eclor.errors import TopicError
from eclor.wire import Suffix, Topic, check_gateway_id, parse_topic, subscription, topic
from tests.unit.wire.strategies import gateway_ids


@given(gateway=gateway_ids, suffix=st.sampled_from(list(Suffix)))
def test_topic_round_trips(gateway: str, suffix: Suffix) -> None:
    assert parse_topic(topic(gateway, suffix)) == Topic(gateway, suffix)


def test_cmd_result_is_two_levels() -> None:
    assert topic("cab-01", Suffix.CMD_RESULT) == "eclor/v1/cab-01/cmd/result"
    assert parse_topic("eclor/v1/cab-01/cmd/result").suffix is Suffix.CMD_RESULT


def test_retained_suffixes_are_status_and_program() -> None:
    assert {s for s in Suffix if Topic("g", s).retained} == {Suffix.STATUS, Suffix.PROGRAM}


@pytest.mark.parametrize(
    "bad", ["", "Cab-01", "cab/01", "+", "#", "$sys", "-cab", "a" * 64, "café", "cab 01", "cab+1"]
)
def test_invalid_gateway_ids_are_refused(bad: str) -> None:
    with pytest.raises(TopicError):
        check_gateway_id(bad)
    with pytest.raises(TopicError):
        topic(bad, Suffix.TELEMETRY)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("eclor/v2/cab-01/telemetry", "does not start with"),
        ("eclor/v1/cab-01", "no suffix"),
        ("eclor/v1/cab-01/telemetry/extra", "unknown suffix"),
        ("eclor/v1/CAB/telemetry", "not a valid gateway id"),
        ("eclor/v1/+/telemetry", "not a valid gateway id"),
        ("eclor/v1/cab-01/cmd/results", "unknown suffix"),
    ],
)
def test_bad_topics_say_why(value: str, reason: str) -> None:
    with pytest.raises(TopicError, match=reason) as caught:
        parse_topic(value)
    assert caught.value.topic == value


def test_subscriptions() -> None:
    assert subscription(Suffix.TELEMETRY) == "eclor/v1/+/telemetry"
    assert subscription("ack", "cab-01") == "eclor/v1/cab-01/ack"
