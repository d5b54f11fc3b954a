"""The point rules every backend enforces, and readings turned into points."""

from __future__ import annotations

import pytest

from cloud.errors import StoreRejected
from cloud.store.points import (
    Point,
    check_points,
    key_problem,
    measurement_problem,
    point_from_reading,
    point_problem,
    tag_value_problem,
)
from eclor.wire import Reading

T = 1_764_288_000_000


@pytest.mark.parametrize(
    "value",
    ["plain", "with space", "a,b", "a=b", "C:\\temp", "two\\\\b", 'quote"', "☃", "\t", " "],
)
def test_good_tag_values(value: str) -> None:
    assert tag_value_problem(value) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "non-empty"),
        ("a\nb", "newline"),
        ("a\rb", "newline"),
        ("a\x00", "NUL"),
        ("end\\", "backslash"),
        ("a\\,b", "backslash"),
        ("a\\=b", "backslash"),
        ("a\\ b", "backslash"),
        (3, "string"),
    ],
)
def test_bad_tag_values(value: object, reason: str) -> None:
    problem = tag_value_problem(value)
    assert problem is not None
    assert reason in problem
    assert tag_value_problem(value) == problem  # the cache only remembers good ones


def test_names() -> None:
    assert key_problem("time") is not None
    assert key_problem("_field") is not None
    assert key_problem("import_energy_kwh") is None
    assert measurement_problem("#comment") is not None
    assert measurement_problem("a=b") is None  # '=' needs no escape in a measurement
    assert measurement_problem("a\\=b") is None
    assert measurement_problem("a\\ b") is not None


@pytest.mark.parametrize(
    ("point", "reason"),
    [
        (Point("m", {}, {"v": "x" * 70_000}, T), "bytes"),
        (Point("m", {}, {"v": "é" * 40_000}, T), "bytes"),
        (Point("m", {}, {"v": None}, T), "unsupported"),  # type: ignore[dict-item]
        (Point("m", {}, {"v": 1.0}, True), "int"),
        (Point("m", {}, {"v": 1.0}, 4_102_444_800_001), "outside"),
        (Point("m", {"v": "x"}, {"v": 1.0}, T), "tag and a field"),
        ("not a point", "not a Point"),
    ],
)
def test_bad_points(point: Point, reason: str) -> None:
    problem = point_problem(point)
    assert problem is not None
    assert reason in problem


def test_check_points_names_the_first_bad_point() -> None:
    good = Point("m", {}, {"v": 1.0}, T)
    with pytest.raises(StoreRejected) as refused:
        check_points([good, good, Point("m", {}, {"v": float("nan")}, T), Point("", {}, {}, 0)])
    assert refused.value.index == 2
    assert str(refused.value).startswith("point 2: field 'v'")


def test_a_reading_becomes_a_point_tagged_with_its_gateway_and_device() -> None:
    reading = Reading(
        device="cab-thil-04-meter",
        measurement="energy",
        time=T,
        fields={"energy_import_kwh": 18234.75},
        tags={"commune": "thil", "gateway": "spoofed", "device": "spoofed"},
    )
    assert point_from_reading(reading, "cab-thil-04") == Point(
        "energy",
        {"commune": "thil", "gateway": "cab-thil-04", "device": "cab-thil-04-meter"},
        {"energy_import_kwh": 18234.75},
        T,
    )
