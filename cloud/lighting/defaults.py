"""Ready-made program documents (the demo's, and a sound starting point for a new cabinet).

French practice (docs/lighting.md): lit from sunset + 15 min to sunrise − 15 min, 50 % from
22:00, and where the commune decided it a night switch-off 23:00-05:00 on weekdays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DUSK = {"ref": "sunset", "offset_min": 15}
DAWN = {"ref": "sunrise", "offset_min": -15}
HALF_FROM_22H = [{"at": {"ref": "fixed", "time": "22:00"}, "level_pct": 50.0}]
WEEKDAYS = [1, 2, 3, 4, 5]


def night_program(
    latitude: float,
    longitude: float,
    groups: Sequence[str],
    *,
    weekday_switch_off: bool,
    timezone: str = "Europe/Paris",
) -> dict[str, Any]:
    """A program document for ``groups``: full night at 100 % then 50 % from 22:00; with
    ``weekday_switch_off``, off 23:00-05:00 Monday to Friday."""
    programs: list[dict[str, Any]] = [
        {"id": "night_half", "on": DUSK, "off": DAWN, "level_pct": 100.0, "steps": HALF_FROM_22H}
    ]
    rules: list[dict[str, Any]] = []
    if weekday_switch_off:
        programs.append(
            {
                "id": "night_switch_off",
                "on": DUSK,
                "off": DAWN,
                "level_pct": 100.0,
                "steps": HALF_FROM_22H,
                "switch_off": [{"start": "23:00", "end": "05:00"}],
            }
        )
        rules.append({"program": "night_switch_off", "weekdays": WEEKDAYS})
    return {
        "site": {"latitude": latitude, "longitude": longitude, "timezone": timezone},
        "programs": programs,
        "calendars": [{"id": "year", "rules": rules, "default_program": "night_half"}],
        "assignments": [{"group": group, "calendar": "year"} for group in groups],
    }
