"""Malformed inputs each end in the documented error, naming the field; nothing else escapes."""

from __future__ import annotations

import contextlib
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eclor.errors import DecodeError, EncodeError, MessageTooLarge, UnsupportedVersion
from eclor.wire import (
    MESSAGE_TYPES,
    Command,
    ProgramSet,
    Reading,
    Suffix,
    TelemetryBatch,
    Topic,
    decode,
    decode_for_topic,
    encode,
)
from eclor.wire import limits as L
from eclor.wire.names import NAME_PATTERN, NameChecker

T0 = 1_764_370_000_000


def reading(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "device": "meter-1",
        "measurement": "energy",
        "time": T0,
        "fields": {"voltage_l1_v": 230.2},
        "tags": {"site": "thil"},
    }
    base.update(overrides)
    return base


def batch(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {"v": 1, "gateway": "cab-01", "seq": 7, "readings": [reading()]}
    base.update(overrides)
    return base


def raw(obj: object) -> bytes:
    return json.dumps(obj).encode()


CORPUS: list[tuple[str, bytes, type[DecodeError], str]] = [
    ("empty", b"", DecodeError, "$"),
    ("truncated", raw(batch())[:-7], DecodeError, "$"),
    ("not json", b"\x00\xff garbage", DecodeError, "$"),
    ("array instead of object", b"[1,2,3]", DecodeError, "$"),
    ("NaN literal", raw(batch()).replace(b"230.2", b"NaN"), DecodeError, "$"),
    ("Infinity literal", raw(batch()).replace(b"230.2", b"Infinity"), DecodeError, "$"),
    (
        "float overflow",
        raw(batch()).replace(b"230.2", b"1e999"),
        DecodeError,
        "$.readings[0].fields[...]",
    ),
    (
        "int beyond int64",
        raw(batch(readings=[reading(fields={"n": 2**70})])),
        DecodeError,
        "$.readings[0].fields[...]",
    ),
    ("huge seq", raw(batch(seq=2**64)), DecodeError, "$.seq"),
    ("negative seq", raw(batch(seq=-1)), DecodeError, "$.seq"),
    ("seq as string", raw(batch(seq="7")), DecodeError, "$.seq"),
    ("unknown version", raw(batch(v=2)), UnsupportedVersion, "$.v"),
    ("unknown version with new fields", raw(batch(v=3, extra={"a": 1})), UnsupportedVersion, "$.v"),
    (
        "version missing is v1, bad field still named",
        raw({"gateway": "cab-01", "seq": 1, "readings": 3}),
        DecodeError,
        "$.readings",
    ),
    ("unknown field", raw(batch(colour="red")), DecodeError, "$"),
    (
        "unknown reading field",
        raw(batch(readings=[reading(unit="V")])),
        DecodeError,
        "$.readings[0]",
    ),
    ("bad gateway id", raw(batch(gateway="Cab/01")), DecodeError, "$.gateway"),
    ("gateway id too long", raw(batch(gateway="a" * 64)), DecodeError, "$.gateway"),
    ("no readings", raw(batch(readings=[])), DecodeError, "$.readings"),
    (
        "too many readings",
        raw(batch(readings=[reading()] * (L.MAX_READINGS_PER_BATCH + 1))),
        DecodeError,
        "$.readings",
    ),
    ("no fields", raw(batch(readings=[reading(fields={})])), DecodeError, "$.readings[0].fields"),
    (
        "too many fields",
        raw(batch(readings=[reading(fields={f"f{i}": i for i in range(65)})])),
        DecodeError,
        "$.readings[0].fields",
    ),
    (
        "field name with unit symbol",
        raw(batch(readings=[reading(fields={"power W": 1})])),
        DecodeError,
        "$.readings[0].fields",
    ),
    (
        "bad device id",
        raw(batch(readings=[reading(device="m 1")])),
        DecodeError,
        "$.readings[0].device",
    ),
    (
        "bad measurement",
        raw(batch(readings=[reading(measurement="E")])),
        DecodeError,
        "$.readings[0].measurement",
    ),
    (
        "bad tag key",
        raw(batch(readings=[reading(tags={"Site": "x"})])),
        DecodeError,
        "$.readings[0].tags",
    ),
    (
        "bad name, later reading",
        raw(batch(readings=[reading(), reading(fields={"x-y": 2})])),
        DecodeError,
        "$.readings[1].fields",
    ),
    (
        "null field value",
        raw(batch(readings=[reading(fields={"a": None})])),
        DecodeError,
        "$.readings[0].fields[...]",
    ),
    (
        "nested field value",
        raw(batch(readings=[reading(fields={"a": [1]})])),
        DecodeError,
        "$.readings[0].fields[...]",
    ),
    (
        "long string value",
        raw(batch(readings=[reading(fields={"a": "x" * 300})])),
        DecodeError,
        "$.readings[0].fields[...]",
    ),
    (
        "time before 2000",
        raw(batch(readings=[reading(time=1000)])),
        DecodeError,
        "$.readings[0].time",
    ),
    (
        "time in seconds",
        raw(batch(readings=[reading(time=1_764_370_000)])),
        DecodeError,
        "$.readings[0].time",
    ),
    (
        "time as ISO string",
        raw(batch(readings=[reading(time="2026-11-28T00:00:00Z")])),
        DecodeError,
        "$.readings[0].time",
    ),
    (
        "empty tag value",
        raw(batch(readings=[reading(tags={"site": ""})])),
        DecodeError,
        "$.readings[0].tags[...]",
    ),
    # Found by the mutation test below: msgspec raised UnicodeDecodeError itself.
    ("invalid UTF-8 in a string", raw(batch()).replace(b"cab-01", b"\x80ab-01"), DecodeError, "$"),
    ("too large", b"{" + b" " * (L.MAX_MESSAGE_BYTES + 1) + b"}", MessageTooLarge, "$"),
]


@pytest.mark.parametrize(("name", "payload", "error", "field"), CORPUS, ids=[c[0] for c in CORPUS])
def test_malformed_telemetry_raises_the_documented_error(
    name: str, payload: bytes, error: type[DecodeError], field: str
) -> None:
    with pytest.raises(error) as caught:
        decode(TelemetryBatch, payload)
    assert type(caught.value) is error
    assert caught.value.field == field


def test_ten_megabytes_of_garbage_is_refused_by_size_before_parsing() -> None:
    with pytest.raises(MessageTooLarge) as caught:
        decode(TelemetryBatch, os.urandom(10 * 1024 * 1024))
    assert caught.value.size == 10 * 1024 * 1024


def test_command_that_expires_before_it_was_issued_is_refused() -> None:
    payload = raw(
        {
            "v": 1,
            "id": "c1",
            "kind": "set_level",
            "target": "group:a",
            "issued_at": T0,
            "expires_at": T0,
        }
    )
    with pytest.raises(DecodeError) as caught:
        decode(Command, payload)
    assert caught.value.field == "$.expires_at"


def test_program_set_with_a_dangling_reference_names_it() -> None:
    program = {"id": "night", "on": {"ref": "sunset"}, "off": {"ref": "sunrise"}}
    payload = raw(
        {
            "v": 1,
            "gateway": "cab-01",
            "revision": 1,
            "issued_at": T0,
            "site": {"latitude": 49.47, "longitude": 5.95},
            "programs": [program],
            "calendars": [{"id": "std", "default_program": "nope"}],
            "assignments": [{"group": "main", "calendar": "std"}],
        }
    )
    with pytest.raises(DecodeError) as caught:
        decode(ProgramSet, payload)
    assert caught.value.field == "$.calendars[0].default_program"


def test_fixed_switch_time_without_time_is_refused() -> None:
    program = {"id": "p", "on": {"ref": "fixed"}, "off": {"ref": "sunrise"}}
    payload = raw(
        {
            "v": 1,
            "gateway": "cab-01",
            "revision": 1,
            "issued_at": T0,
            "site": {"latitude": 49.47, "longitude": 5.95},
            "programs": [program],
            "calendars": [{"id": "std", "default_program": "p"}],
            "assignments": [],
        }
    )
    with pytest.raises(DecodeError) as caught:
        decode(ProgramSet, payload)
    assert caught.value.field == "$.programs[0].on.time"


def test_payload_from_another_gateway_is_refused_on_its_topic() -> None:
    with pytest.raises(DecodeError) as caught:
        decode_for_topic(Topic("cab-02", Suffix.TELEMETRY), raw(batch()))
    assert caught.value.field == "$.gateway"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_encoder_refuses_non_finite_values(value: float) -> None:
    message = TelemetryBatch(
        gateway="cab-01",
        seq=1,
        readings=[Reading(device="m", measurement="energy", time=T0, fields={"a": value})],
    )
    with pytest.raises(EncodeError, match=r"readings\[0\]\.fields\.a"):
        encode(message)


def test_encoder_accepts_the_string_null_in_a_value() -> None:
    message = TelemetryBatch(
        gateway="cab-01",
        seq=1,
        readings=[Reading(device="m", measurement="energy", time=T0, fields={"a": "null"})],
    )
    assert decode(TelemetryBatch, encode(message)) == message


def test_encoder_refuses_an_oversized_message() -> None:
    big = {f"f{i}": "x" * 250 for i in range(60)}
    readings = [Reading(device="m", measurement="energy", time=T0, fields=big)] * 20
    with pytest.raises(EncodeError, match="exceeds the limit"):
        encode(TelemetryBatch(gateway="cab-01", seq=1, readings=readings))


@settings(max_examples=400, deadline=None)
@given(payload=st.binary(max_size=2048), suffix=st.sampled_from(list(Suffix)))
def test_arbitrary_bytes_never_raise_anything_but_decode_error(
    payload: bytes, suffix: Suffix
) -> None:
    with contextlib.suppress(DecodeError):
        decode(MESSAGE_TYPES[suffix], payload)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(value=json_values, suffix=st.sampled_from(list(Suffix)))
def test_arbitrary_json_never_raises_anything_but_decode_error(
    value: object, suffix: Suffix
) -> None:
    with contextlib.suppress(DecodeError):
        decode(MESSAGE_TYPES[suffix], json.dumps(value).encode())


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mutated_valid_messages_never_raise_anything_but_decode_error(data: st.DataObject) -> None:
    payload = bytearray(raw(batch()))
    for _ in range(data.draw(st.integers(1, 5))):
        position = data.draw(st.integers(0, len(payload) - 1))
        payload[position] = data.draw(st.integers(0, 255))
    with contextlib.suppress(DecodeError):
        decode(TelemetryBatch, bytes(payload))


def test_name_checker_stays_bounded_and_keeps_checking() -> None:
    checker = NameChecker(NAME_PATTERN, limit=3)
    assert all(checker.ok(n) for n in ["a", "b", "c", "d"])
    assert len(checker.known) <= 3
    assert not checker.ok("Not_a_name")
    assert "Not_a_name" not in checker.known
