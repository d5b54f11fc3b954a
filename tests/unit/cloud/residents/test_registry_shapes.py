"""Opening hours, closed dates and lane geometry: what the registry accepts and refuses."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest

from cloud.registry.traffic_stations import check_geometry
from cloud.registry.waste_centres import (
    WasteCentreSpec,
    parse_closed_dates,
    parse_opening_hours,
)


def test_opening_hours_parse_to_sorted_periods_per_weekday() -> None:
    parsed = parse_opening_hours(
        {"tue": ["14:00-18:00", ["09:00", "12:00"]], "sat": [["09:00", "18:00"]]}
    )
    assert parsed == {
        1: ((time(9), time(12)), (time(14), time(18))),
        5: ((time(9), time(18)),),
    }


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ({"lun": [["09:00", "12:00"]]}, "unknown weekday 'lun'"),
        ({"mon": [["12:00", "09:00"]]}, "ends before it starts"),
        ({"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}, "overlap at 11:00"),
        ({"mon": [["9h", "12h"]]}, "not HH:MM"),
        ({"mon": ["09:00"]}, "not a [start, end] pair"),
    ],
)
def test_bad_opening_hours_name_the_day_and_the_problem(
    hours: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_opening_hours(hours)


def test_closed_dates_are_iso_dates() -> None:
    assert parse_closed_dates(["2026-12-25"]) == frozenset({date(2026, 12, 25)})
    with pytest.raises(ValueError, match="25/12/2026"):
        parse_closed_dates(["25/12/2026"])


def spec(**changes: Any) -> WasteCentreSpec:
    values: dict[str, Any] = {
        "centre_id": "vil-dech",
        "name": "Déchetterie",
        "commune": "villerupt",
        "latitude": 49.46,
        "longitude": 5.92,
        "capacity": 8,
        "opening_hours": {"sat": ["09:00-18:00"]},
    }
    values.update(changes)
    return WasteCentreSpec(**values)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"centre_id": "Vil Dech"}, "gateway id"),
        ({"capacity": 0}, "capacity 0"),
        ({"latitude": 95.0}, "WGS-84"),
        ({"timezone": "Paris"}, "IANA"),
        ({"wait_low_min": 20.0, "wait_high_min": 10.0}, "above wait_low_min"),
        ({"poll_interval_s": 0}, "poll_interval_s"),
    ],
)
def test_a_bad_waste_centre_is_refused_with_the_field_named(
    changes: dict[str, Any], message: str
) -> None:
    spec().check()
    with pytest.raises(ValueError, match=message):
        spec(**changes).check()


def test_geometry_is_checked_and_rounded_to_seven_decimals() -> None:
    line = check_geometry({"type": "LineString", "coordinates": [[5.123456789, 49.1], [5.2, 49.2]]})
    assert line["coordinates"][0] == [5.1234568, 49.1]
    assert check_geometry({"type": "Point", "coordinates": (5.9, 49.4)}) == {
        "type": "Point",
        "coordinates": [5.9, 49.4],
    }
    with pytest.raises(ValueError, match="Point or LineString"):
        check_geometry({"type": "Polygon", "coordinates": []})
    with pytest.raises(ValueError, match="not WGS-84"):
        check_geometry({"type": "Point", "coordinates": [49.4, 95.0]})
    with pytest.raises(ValueError, match="at least two positions"):
        check_geometry({"type": "LineString", "coordinates": [[5.9, 49.4]]})
