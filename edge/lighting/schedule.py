"""Evaluation of a lighting :class:`~eclor.wire.ProgramSet` for one group at one moment (pure).

Rules, in the order they apply:

- **Which day governs a night.** A night belongs to the local date of its evening (TALQ practice):
  the calendar is matched against the date on which the active period *starts*, and that program
  runs until its off time the next morning, even across midnight or a calendar change.
- **Calendar.** The first rule whose every given criterion matches the date wins (``dates``;
  ``from_day``–``to_day``, which may wrap the new year, e.g. ``12-15``–``01-05``; ``weekdays``,
  ISO 1–7), else the calendar's default program.
- **Active period.** From ``on`` on the governing date to the first ``off`` after it (the off time
  is taken on the same date if later, else on the next date). Outside active periods the light is
  off.
- **Level.** The program's ``level_pct``, changed by ``steps``: each step is placed at its first
  occurrence at or after the period's start and holds until the next step or the period's end.
- **Switch-off windows** (``23:00``–``05:00``) force the light off inside the period.
- **Sun-relative times** come from astral with the site's coordinates and time zone. Where the sun
  does not rise or set that day (polar day or night: astral raises ``ValueError``), sunset is taken
  as 18:00 and sunrise as 06:00 local time, so the light still runs a plausible night: lit rather
  than dark is the safe side.
- **DST.** A local time is the first instant the local clock shows it: a time that does not exist
  (02:30 on the spring-forward day) happens at the jump itself (03:00 CEST); a time that happens
  twice (autumn) is taken at its first occurrence. Nights are an hour shorter or longer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from astral import Observer
from astral.sun import sunrise, sunset

from eclor.wire.programs import (
    Calendar,
    CalendarRule,
    ControlProgram,
    ProgramSet,
    Site,
    SwitchTime,
    Window,
)

log = logging.getLogger(__name__)

Chooser = Callable[[date], ControlProgram]
"""Gives the control program governing the night that starts on a local date."""

POLAR_SUNSET = time(18, 0)
POLAR_SUNRISE = time(6, 0)
NO_PROGRAM = ControlProgram(
    id="no_program",
    on=SwitchTime(ref="sunset", offset_min=15),
    off=SwitchTime(ref="sunrise", offset_min=-15),
    level_pct=100.0,
)
"""The safe default before any program arrives: on at sunset+15 min, off at sunrise−15, 100 %."""


@dataclass(frozen=True, slots=True)
class GroupTarget:
    """What the program says for a group at one moment."""

    level_pct: float
    lit: bool
    program_id: str
    fade_s: float
    next_change: datetime
    """The next instant the program's output may change (UTC)."""


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime
    program: ControlProgram


def evaluate_group(program_set: ProgramSet, group: str, moment: datetime) -> GroupTarget | None:
    """The target for ``group`` at ``moment`` (aware); None when the set does not assign it."""
    calendar = _calendar_for(program_set, group)
    if calendar is None:
        return None
    programs = {p.id: p for p in program_set.programs}

    def choose(day: date) -> ControlProgram:
        return programs[program_for_date(calendar, day)]

    return evaluate(choose, program_set.site, moment)


def evaluate_default(site: Site, moment: datetime) -> GroupTarget:
    """The target of :data:`NO_PROGRAM` at ``moment``."""
    return evaluate(lambda _day: NO_PROGRAM, site, moment)


def evaluate(choose: Chooser, site: Site, moment: datetime) -> GroupTarget:
    """The target at ``moment`` when ``choose(date)`` gives the program governing that evening."""
    if moment.tzinfo is None:
        raise ValueError("evaluate needs an aware moment")
    zone = ZoneInfo(site.timezone)
    today = moment.astimezone(zone).date()
    periods = [active_period(choose(day), site, day) for day in (today - timedelta(days=1), today)]
    following = active_period(choose(today + timedelta(days=1)), site, today + timedelta(days=1))
    current = next((p for p in periods if p.start <= moment < p.end), None)
    boundaries = [b for p in (*periods, following) for b in (p.start, p.end)]
    if current is None:
        return GroupTarget(0.0, False, "", 0.0, _first_after(boundaries, moment))
    level, changes = _level_in(current, site, moment)
    return GroupTarget(
        level_pct=level,
        lit=level > 0,
        program_id=current.program.id,
        fade_s=current.program.fade_s,
        next_change=_first_after([*boundaries, *changes], moment),
    )


def next_change(choose: Chooser, site: Site, moment: datetime) -> datetime:
    """The next instant after ``moment`` at which the output may change."""
    return evaluate(choose, site, moment).next_change


def program_for_date(calendar: Calendar, day: date) -> str:
    """The program id the calendar chooses for ``day``: first matching rule, else the default."""
    for rule in calendar.rules:
        if rule_matches(rule, day):
            return rule.program
    return calendar.default_program


def rule_matches(rule: CalendarRule, day: date) -> bool:
    if rule.dates and day.isoformat() not in rule.dates:
        return False
    if rule.weekdays and day.isoweekday() not in rule.weekdays:
        return False
    month_day = day.strftime("%m-%d")
    low, high = rule.from_day, rule.to_day
    if low is not None and high is not None and low > high:  # wraps the new year
        return month_day >= low or month_day <= high
    if low is not None and month_day < low:
        return False
    return high is None or month_day <= high


def active_period(program: ControlProgram, site: Site, day: date) -> Period:
    """The period starting on ``day``: ``on`` that day, to the first ``off`` after it."""
    start = resolve(program.on, site, day)
    end = resolve(program.off, site, day)
    if end <= start:
        end = resolve(program.off, site, day + timedelta(days=1))
    return Period(start, end, program)


def resolve(switch: SwitchTime, site: Site, day: date) -> datetime:
    """The UTC instant of ``switch`` on local date ``day``."""
    if switch.ref == "fixed":
        assert switch.time is not None  # reference_problems() refuses a fixed time without one
        return local_instant(day, _parse(switch.time), site.timezone)
    base = _sun(site.latitude, site.longitude, site.timezone, day, switch.ref)
    return base + timedelta(minutes=switch.offset_min)


def local_instant(day: date, at: time, timezone: str) -> datetime:
    """``day`` ``at`` local time as UTC: the first instant the local clock shows ``at``.

    A time skipped by a spring-forward jump happens at the jump itself (02:30 → 03:00 CEST);
    a time shown twice in autumn happens the first time.
    """
    zone = ZoneInfo(timezone)
    wall = datetime.combine(day, at)
    instant = wall.replace(tzinfo=zone).astimezone(UTC)
    if _wall(instant, zone) == wall:
        return instant
    # In the gap: bisect between the two readings of ``wall`` for the jump (whole seconds).
    low, high = wall.replace(tzinfo=zone, fold=1).astimezone(UTC), instant
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        low, high = (low, middle) if _wall(middle, zone) >= wall else (middle, high)
    whole = high.replace(microsecond=0)
    return whole if whole > low and _wall(whole, zone) >= wall else high


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


@lru_cache(maxsize=4096)
def _sun(latitude: float, longitude: float, timezone: str, day: date, ref: str) -> datetime:
    zone = ZoneInfo(timezone)
    observer = Observer(latitude=latitude, longitude=longitude)
    try:
        moment = (sunset if ref == "sunset" else sunrise)(observer, date=day, tzinfo=zone)
    except ValueError as exc:
        fallback = POLAR_SUNSET if ref == "sunset" else POLAR_SUNRISE
        log.info(
            "no %s at %.3f,%.3f on %s (%s): using %s", ref, latitude, longitude, day, exc, fallback
        )
        return local_instant(day, fallback, timezone)
    return moment.astimezone(UTC)


def _level_in(period: Period, site: Site, moment: datetime) -> tuple[float, list[datetime]]:
    """The level at ``moment`` inside ``period`` and the instants where it changes."""
    day = period.start.astimezone(ZoneInfo(site.timezone)).date()
    changes: list[datetime] = []
    level = float(period.program.level_pct)
    latest: datetime | None = None
    for step in period.program.steps:
        at = _first_at_or_after(step.at, site, day, period.start)
        if at >= period.end:
            continue
        changes.append(at)
        if at <= moment and (latest is None or at >= latest):
            latest, level = at, float(step.level_pct)
    for start, end in _windows(period, site, day):
        changes.extend((start, end))
        if start <= moment < end:
            level = 0.0
    return level, changes


def _first_at_or_after(switch: SwitchTime, site: Site, day: date, start: datetime) -> datetime:
    at = resolve(switch, site, day)
    return at if at >= start else resolve(switch, site, day + timedelta(days=1))


def _windows(period: Period, site: Site, day: date) -> list[tuple[datetime, datetime]]:
    """Switch-off windows overlapping ``period``, clipped to it."""
    found: list[tuple[datetime, datetime]] = []
    for window in period.program.switch_off:
        for offset in (-1, 0, 1):
            start, end = _window_on(window, site.timezone, day + timedelta(days=offset))
            start, end = max(start, period.start), min(end, period.end)
            if start < end:
                found.append((start, end))
    return found


def _window_on(window: Window, timezone: str, day: date) -> tuple[datetime, datetime]:
    start_t, end_t = _parse(window.start), _parse(window.end)
    end_day = day + timedelta(days=1) if end_t <= start_t else day
    return local_instant(day, start_t, timezone), local_instant(end_day, end_t, timezone)


def _calendar_for(program_set: ProgramSet, group: str) -> Calendar | None:
    for assignment in program_set.assignments:
        if assignment.group == group:
            return next(c for c in program_set.calendars if c.id == assignment.calendar)
    return None


def _first_after(instants: list[datetime], moment: datetime) -> datetime:
    later = [i for i in instants if i > moment]
    return min(later) if later else moment + timedelta(hours=1)


def _parse(hhmm: str) -> time:
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))
