"""Distances for the nearby search, and the checks of a resident's draft."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from cloud.reports.geo import EARTH_RADIUS_M, bounding_box, haversine_m
from cloud.reports.views import ReportDraft

VILLERUPT = (49.4686, 5.9282)
THIL = (49.4731, 5.9073)


def test_haversine_matches_known_distances() -> None:
    assert haversine_m(*VILLERUPT, *VILLERUPT) == 0.0
    # one degree of latitude is about 111.2 km everywhere
    assert haversine_m(49.0, 5.9, 50.0, 5.9) == pytest.approx(111_195, rel=1e-3)
    # Villerupt to Thil, about 1.6 km: a flat-earth estimate is good at that range
    dlat = math.radians(THIL[0] - VILLERUPT[0])
    dlon = math.radians(THIL[1] - VILLERUPT[1]) * math.cos(math.radians(VILLERUPT[0]))
    flat = EARTH_RADIUS_M * math.hypot(dlat, dlon)
    assert haversine_m(*VILLERUPT, *THIL) == pytest.approx(flat, rel=1e-4)
    # half the way round the sphere
    assert haversine_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * EARTH_RADIUS_M)


@pytest.mark.parametrize("radius", [10.0, 500.0, 5000.0])
def test_the_bounding_box_holds_every_point_of_the_circle(radius: float) -> None:
    south, west, north, east = bounding_box(*VILLERUPT, radius)
    lat, lon = VILLERUPT
    assert haversine_m(lat, lon, north, lon) == pytest.approx(radius, rel=1e-6)
    assert haversine_m(lat, lon, south, lon) == pytest.approx(radius, rel=1e-6)
    assert haversine_m(lat, lon, lat, east) >= radius
    assert haversine_m(lat, lon, lat, west) >= radius
    assert west < lon < east


def test_the_box_spans_every_longitude_at_the_pole() -> None:
    assert bounding_box(89.99, 0.0, 5000.0)[1::2] == (-180.0, 180.0)


def draft(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "lat": 49.4686,
        "long": 5.9282,
        "category": "gravats",
        "description": "  Des gravats sur le trottoir.  ",
    }
    base.update(changes)
    return base


def test_a_draft_keeps_markup_as_text_and_trims_blanks() -> None:
    checked = ReportDraft.model_validate(draft(description="<img src=x onerror=alert(1)>\n"))
    assert checked.description == "<img src=x onerror=alert(1)>"
    assert ReportDraft.model_validate(draft()).description == "Des gravats sur le trottoir."


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lat": 91}, "lat"),
        ({"long": -181}, "long"),
        ({"lat": "nord"}, "lat"),
        ({"description": "   "}, "description"),
        ({"description": "bip\x07"}, "description"),
        ({"phone": "appelle-moi"}, "phone"),
        ({"email": "a@b"}, "email"),
        ({"category": "DEPOT-SAUVAGE"}, "category"),
        ({"extra": "x"}, "extra"),
    ],
)
def test_bad_drafts_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        ReportDraft.model_validate(draft(**changes))
    assert [e["loc"][0] for e in refused.value.errors()] == [field]
