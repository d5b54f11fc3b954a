"""Line protocol: exact escaping, number formats, and a round trip through a reference parser that
follows InfluxDB 1.x's scanner (a backslash escapes the next byte; only ``\\,`` ``\\=`` ``\\ `` are
unescaped in names and tags, only ``\\\\`` and ``\\"`` in strings)."""

from __future__ import annotations

import math
import re

from hypothesis import assume, given
from hypothesis import strategies as st

from cloud.store.lineprotocol import encode_line, encode_lines, format_value
from cloud.store.points import FieldValue, Point, point_problem

T = 1_764_288_000_000


def test_every_element_is_escaped_its_own_way() -> None:
    point = Point("my meas,x=1", {"k y": "v,=w", "a": "C:\\temp"}, {"f=": 'a"b\\c', "n": 3}, T)
    assert encode_line(point) == (
        'my\\ meas\\,x=1,a=C:\\temp,k\\ y=v\\,\\=w f\\=="a\\"b\\\\c",n=3i 1764288000000'
    )


def test_tags_are_sorted_and_lines_end_with_a_newline() -> None:
    points = [Point("m", {"z": "1", "a": "2"}, {"v": True}, T), Point("m", {}, {"v": False}, T)]
    assert encode_lines(points) == b"m,a=2,z=1 v=true 1764288000000\nm v=false 1764288000000\n"


def test_number_formats() -> None:
    assert format_value(2.0) == "2.0"
    assert format_value(1e20) == "1e+20"
    assert format_value(5e-324) == "5e-324"
    assert format_value(-0.1) == "-0.1"
    assert format_value(3) == "3i"
    assert format_value(-(2**63)) == "-9223372036854775808i"
    assert format_value(True) == "true"
    assert format_value("") == '""'


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_never_looks_like_an_integer(value: float) -> None:
    text = format_value(value)
    assert any(mark in text for mark in ".eE")
    assert float(text) == value
    assert math.copysign(1, float(text)) == math.copysign(1, value)


# A reference parser


def _scan(line: str, at: int, stops: str) -> tuple[str, int]:
    start = at
    while at < len(line) and line[at] not in stops:
        at += 2 if line[at] == "\\" else 1
    return line[start:at], at


def _unescape(raw: str, chars: str) -> str:
    for char in chars:
        raw = raw.replace("\\" + char, char)
    return raw


def _scan_string(line: str, at: int) -> tuple[str, int]:
    assert line[at] == '"'
    out, at = [], at + 1
    while line[at] != '"':
        if line[at] == "\\" and line[at + 1] in '\\"':
            at += 1
        out.append(line[at])
        at += 1
    return "".join(out), at + 1


def _value(line: str, at: int) -> tuple[FieldValue, int]:
    if line[at] == '"':
        return _scan_string(line, at)
    raw, at = _scan(line, at, ", ")
    if raw in ("true", "false"):
        return raw == "true", at
    if raw.endswith("i"):
        return int(raw[:-1]), at
    return float(raw), at


def parse_line(line: str) -> Point:
    raw, at = _scan(line, 0, ", ")
    measurement = _unescape(raw, ", ")
    tags = {}
    while line[at] == ",":
        key, at = _scan(line, at + 1, "=")
        value, at = _scan(line, at + 1, ", ")
        tags[_unescape(key, ",= ")] = _unescape(value, ",= ")
    fields = {}
    while line[at] in ", ":
        key, at = _scan(line, at + 1, "=")
        fields[_unescape(key, ",= ")], at = _value(line, at + 1)
        if line[at] == " ":
            break
    return Point(measurement, tags, fields, int(line[at + 1 :]))


def _storable(text: str) -> str:
    """Move a backslash line protocol cannot express off the end or off a special character."""
    return "a" + re.sub(r"\\(?=[,= ]|$)", r"\\x", text)


NASTY = st.text(st.sampled_from(list("ab ,=\"'\\\té☃#_")), max_size=8).map(_storable)
VALUES = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.sampled_from(list("ab ,=\"'\\\té☃")), max_size=8),
)


@given(
    NASTY,
    st.dictionaries(NASTY, NASTY, max_size=3),
    st.dictionaries(NASTY, VALUES, min_size=1, max_size=3),
)
def test_every_storable_point_parses_back_to_itself(
    measurement: str, tags: dict[str, str], fields: dict[str, FieldValue]
) -> None:
    point = Point(measurement, tags, fields, T)
    assume(point_problem(point) is None)
    parsed = parse_line(encode_line(point))
    assert parsed.measurement == measurement
    assert parsed.tags == tags
    assert {k: (v, type(v)) for k, v in parsed.fields.items()} == {
        k: (v, type(v)) for k, v in fields.items()
    }
    assert parsed.time_ms == T
