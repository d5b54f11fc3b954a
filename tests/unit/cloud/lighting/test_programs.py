"""Program documents: what the wire schema, the references, the registry's groups and the period
checks refuse, each named by its JSON path."""

from __future__ import annotations

from typing import Any

from cloud.lighting.programs import program_problems, program_set

NIGHT = {"ref": "sunset", "offset_min": 15}
MORNING = {"ref": "sunrise", "offset_min": -15}


def doc(**program: Any) -> dict[str, Any]:
    return {
        "site": {"latitude": 49.47, "longitude": 5.91},
        "programs": [{"id": "p", "on": NIGHT, "off": MORNING, **program}],
        "calendars": [{"id": "c", "default_program": "p"}],
        "assignments": [{"group": "g", "calendar": "c"}],
    }


def test_a_sound_program_has_no_problem_and_becomes_a_program_set() -> None:
    windows = [{"start": "23:00", "end": "01:00"}, {"start": "01:00", "end": "05:00"}]
    document = doc(switch_off=windows)
    assert program_problems(document, {"g"}) == []
    message = program_set(document, gateway_id="cab-01", revision=3, issued_at_ms=1_790_000_000_000)
    assert (message.gateway, message.revision) == ("cab-01", 3)
    assert message.programs[0].switch_off[1].end == "05:00"


def test_overlaps_across_midnight_are_found() -> None:
    windows = [{"start": "22:00", "end": "02:00"}, {"start": "01:00", "end": "03:00"}]
    assert program_problems(doc(switch_off=windows), {"g"}) == [
        ("$.programs[0].switch_off[1]", "overlaps switch_off[0]")
    ]


def test_sun_relative_on_and_off_alike_is_an_empty_period() -> None:
    problems = program_problems(doc(off=NIGHT), {"g"})
    assert problems == [("$.programs[0].off", "the active period is empty: off is the same as on")]


def test_schema_errors_carry_their_path() -> None:
    assert program_problems(doc(fade_s=-1), {"g"}) == [
        ("$.programs[0].fade_s", "Expected `float` >= 0.0")
    ]
    assert program_problems({"programs": []}, set())[0][0] == "$"


def test_groups_must_be_known_on_the_gateway() -> None:
    assert program_problems(doc(), {"other"}) == [
        ("$.assignments[0].group", "no such lighting group on the gateway")
    ]
