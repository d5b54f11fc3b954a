"""Waste centres: capacity, queue detector, opening hours and closed dates, wait thresholds.

Opening hours are local-time periods per weekday::

    {"mon": [["14:00", "18:00"]], "tue": [["09:00", "12:00"], ["14:00", "18:00"]], ...}

A weekday left out is closed all day. :func:`parse_opening_hours` turns that into
``{weekday number: ((start, end), ...)}`` and is the only parser of the shape.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.registry._rows import check_device_id, check_gateway_id, check_name, insert, require
from cloud.registry.models import NAME_LENGTH
from cloud.registry.models_waste import WasteCentre

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Periods = dict[int, tuple[tuple[time, time], ...]]


@dataclass(frozen=True)
class WasteCentreSpec:
    """Everything :func:`add_waste_centre` stores, checked by :meth:`check`."""

    centre_id: str
    name: str
    commune: str
    latitude: float
    longitude: float
    capacity: int
    opening_hours: Mapping[str, Any]
    closed_dates: tuple[str, ...] = ()
    has_queue_detector: bool = True
    device_id: str | None = None
    poll_interval_s: float = 60.0
    timezone: str = "Europe/Paris"
    wait_low_min: float | None = None
    wait_high_min: float | None = None

    def check(self) -> None:
        check_gateway_id(self.centre_id)
        check_name("waste centre name", self.name, NAME_LENGTH)
        check_name("commune", self.commune, NAME_LENGTH)
        if self.device_id is not None:
            check_device_id(self.device_id)
        if not (-90 <= self.latitude <= 90 and -180 <= self.longitude <= 180):
            raise ValueError(f"position ({self.latitude}, {self.longitude}) is not WGS-84 degrees")
        if not 0 < self.capacity <= 1000:
            raise ValueError(f"capacity {self.capacity}: 1-1000 vehicles")
        if not self.poll_interval_s > 0:
            raise ValueError(f"poll_interval_s {self.poll_interval_s}: must be positive")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"time zone {self.timezone!r} is not an IANA zone name") from None
        parse_opening_hours(self.opening_hours)
        parse_closed_dates(self.closed_dates)
        _check_thresholds(self.wait_low_min, self.wait_high_min)


def add_waste_centre(session: Session, spec: WasteCentreSpec) -> WasteCentre:
    spec.check()
    row = WasteCentre(
        id=spec.centre_id,
        name=spec.name,
        commune=spec.commune,
        latitude=spec.latitude,
        longitude=spec.longitude,
        timezone=spec.timezone,
        device_id=spec.device_id,
        capacity=spec.capacity,
        has_queue_detector=spec.has_queue_detector,
        poll_interval_s=spec.poll_interval_s,
        opening_hours=_normalised_hours(spec.opening_hours),
        closed_dates=sorted(set(spec.closed_dates)),
        wait_low_min=spec.wait_low_min,
        wait_high_min=spec.wait_high_min,
    )
    return insert(session, row, "waste centre", spec.centre_id)


def get_waste_centre(session: Session, centre_id: str) -> WasteCentre:
    return require(session, WasteCentre, centre_id, "waste centre")


def list_waste_centres(session: Session) -> list[WasteCentre]:
    return list(session.scalars(select(WasteCentre).order_by(WasteCentre.id)))


def set_opening_hours(
    session: Session,
    centre_id: str,
    opening_hours: Mapping[str, Any],
    closed_dates: Iterable[str] | None = None,
) -> WasteCentre:
    row = get_waste_centre(session, centre_id)
    parse_opening_hours(opening_hours)
    row.opening_hours = _normalised_hours(opening_hours)
    if closed_dates is not None:
        dates = tuple(closed_dates)
        parse_closed_dates(dates)
        row.closed_dates = sorted(set(dates))
    return row


def parse_opening_hours(opening_hours: Mapping[str, Any]) -> Periods:
    """``{weekday (0 = Monday): ((start, end), ...)}``, sorted; ValueError naming the bad part."""
    if not isinstance(opening_hours, Mapping):
        raise ValueError("opening hours: a mapping of weekday (mon..sun) to periods")
    unknown = sorted(set(opening_hours) - set(WEEKDAYS))
    if unknown:
        raise ValueError(f"opening hours: unknown weekday {unknown[0]!r}; one of {WEEKDAYS}")
    parsed: Periods = {}
    for number, day in enumerate(WEEKDAYS):
        periods = sorted(_period(day, p) for p in opening_hours.get(day) or ())
        for (_, end), (start, _) in itertools.pairwise(periods):
            if start < end:
                raise ValueError(f"opening hours[{day}]: periods overlap at {start:%H:%M}")
        if periods:
            parsed[number] = tuple(periods)
    return parsed


def parse_closed_dates(dates: Iterable[str]) -> frozenset[date]:
    found: set[date] = set()
    for text in dates:
        try:
            found.add(date.fromisoformat(text))
        except (TypeError, ValueError):
            raise ValueError(f"closed date {text!r}: an ISO date such as 2026-12-25") from None
    return frozenset(found)


def _period(day: str, period: Any) -> tuple[time, time]:
    if isinstance(period, str):
        period = period.split("-")
    if not isinstance(period, list | tuple) or len(period) != 2:
        raise ValueError(f"opening hours[{day}]: {period!r} is not a [start, end] pair")
    try:
        start, end = (time.fromisoformat(str(part).strip()) for part in period)
    except ValueError:
        raise ValueError(f"opening hours[{day}]: {period!r} is not HH:MM times") from None
    if not start < end:
        raise ValueError(f"opening hours[{day}]: {start:%H:%M}-{end:%H:%M} ends before it starts")
    return start, end


def _normalised_hours(opening_hours: Mapping[str, Any]) -> dict[str, Any]:
    parsed = parse_opening_hours(opening_hours)
    return {
        WEEKDAYS[day]: [[f"{s:%H:%M}", f"{e:%H:%M}"] for s, e in periods]
        for day, periods in parsed.items()
    }


def _check_thresholds(low: float | None, high: float | None) -> None:
    if low is not None and not low > 0:
        raise ValueError(f"wait_low_min {low}: must be positive")
    if low is not None and high is not None and not high > low:
        raise ValueError(f"wait_high_min {high} must be above wait_low_min {low}")
