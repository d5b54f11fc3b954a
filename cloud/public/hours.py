"""Next opening of a waste centre from its opening hours in the registry (``site.opening_hours``).

The shape read here is the scenario's: ``{"mon": ["14:00-18:00"], "tue": ["09:00-12:00",
"14:00-18:00"], ..., "closed_dates": ["2026-12-25"]}``, local times of the site's zone. A document
of another shape gives no next opening (``None``) rather than a wrong one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOOKAHEAD_DAYS = 15


def next_opening(hours: Mapping[str, Any] | None, now: datetime, zone: ZoneInfo) -> datetime | None:
    """The start of the first opening period after ``now`` (aware, in ``zone``), or ``None``."""
    if not hours:
        return None
    try:
        closed = {date.fromisoformat(str(d)) for d in hours.get("closed_dates", [])}
        local = now.astimezone(zone)
        for offset in range(LOOKAHEAD_DAYS):
            day = local.date() + timedelta(days=offset)
            if day in closed:
                continue
            for start in _starts(hours.get(WEEKDAYS[day.weekday()], [])):
                moment = datetime.combine(day, start, zone)
                if moment > local:
                    return moment
    except (TypeError, ValueError, AttributeError) as error:
        log.debug("opening hours of unexpected shape: %s", error)
    return None


def _starts(periods: Any) -> list[time]:
    return sorted(time.fromisoformat(str(period).split("-")[0].strip()) for period in periods)
