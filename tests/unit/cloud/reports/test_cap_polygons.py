"""CAP polygons (latitude first) and GeoJSON polygons (longitude first) converted both ways."""

from __future__ import annotations

import pytest

from cloud.alerts.cap import cap_to_geojson, geojson_polygon, geojson_to_cap

# Villerupt, around the town hall: latitude 49.47 N, longitude 5.93 E.
CAP = "49.47,5.92 49.48,5.92 49.48,5.94 49.47,5.94 49.47,5.92"
RING = [[5.92, 49.47], [5.92, 49.48], [5.94, 49.48], [5.94, 49.47], [5.92, 49.47]]


def test_cap_latitude_first_becomes_geojson_longitude_first() -> None:
    geometry = cap_to_geojson(CAP)
    assert geometry == {"type": "Polygon", "coordinates": [RING]}
    longitude, latitude = geometry["coordinates"][0][0]
    assert (longitude, latitude) == (5.92, 49.47)


def test_geojson_back_to_cap_swaps_again() -> None:
    assert geojson_to_cap({"type": "Polygon", "coordinates": [RING]}) == CAP


def test_a_round_trip_keeps_seven_decimals() -> None:
    text = "49.1234567,5.7654321 49.2,5.7 49.2,5.8 49.1234567,5.7654321"
    assert geojson_to_cap(cap_to_geojson(text)) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("49.47,5.92 49.48,5.92 49.47,5.92", "at least 4"),
        ("49.47,5.92 49.48,5.92 49.48,5.94 49.47,5.95", "closed"),
        ("49.47;5.92 49.48,5.92 49.48,5.94 49.47,5.92", "pair 0"),
        ("95.0,5.92 49.48,5.92 49.48,5.94 95.0,5.92", r"latitude 95\.0"),
        ("49.47,nan 49.48,5.92 49.48,5.94 49.47,nan", "finite"),
    ],
)
def test_bad_cap_polygons_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cap_to_geojson(text)


def test_geojson_with_latitude_first_by_mistake_is_caught_when_out_of_range() -> None:
    swapped = [[lat, lon] for lon, lat in RING]  # 49.47 as a longitude is valid...
    assert geojson_polygon({"type": "Polygon", "coordinates": [swapped]})
    bad = [[10.0, 120.0], [10.0, 121.0], [11.0, 121.0], [10.0, 120.0]]
    with pytest.raises(ValueError, match=r"latitude 120\.0"):
        geojson_polygon({"type": "Polygon", "coordinates": [bad]})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"type": "Point", "coordinates": [5.9, 49.4]}, "Polygon"),
        ({"type": "Polygon", "coordinates": [RING, RING]}, "holes"),
        ({"type": "Polygon", "coordinates": [[[5.9, 49.4, 3.0], *RING]]}, "position 0"),
        ({"type": "Polygon", "coordinates": [[["5.9", "49.4"], *RING]]}, "position 0"),
    ],
)
def test_bad_geojson_polygons_are_refused(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        geojson_polygon(value)
