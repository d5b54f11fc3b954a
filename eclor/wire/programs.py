"""Lighting programs on the wire (``program`` topic, retained), shaped after TALQ 2.7.1.

A gateway receives one :class:`ProgramSet`: calendars choose a control program per day (first
matching rule wins, else the default), control programs say when the light is on (between an on and
an off switch time, fixed or sun-relative) and at which level (time-of-day steps), with night
switch-off windows; assignments bind each lighting group to a calendar. The edge runs the set with
its own astronomical clock, so lights keep their schedule when the cloud or the network is down.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from eclor.wire.messages import EpochMs, GatewayId, Name, Seq, _Message

TimeOfDay = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
MonthDay = Annotated[str, Meta(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
IsoDate = Annotated[str, Meta(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
Percent = Annotated[float, Meta(ge=0, le=100)]
Weekday = Annotated[int, Meta(ge=1, le=7)]  # ISO: 1 Monday … 7 Sunday


class SwitchTime(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A local moment: ``fixed`` at ``time``, or ``sunset``/``sunrise`` + ``offset_min``."""

    ref: Literal["fixed", "sunset", "sunrise"]
    time: TimeOfDay | None = None
    offset_min: Annotated[int, Meta(ge=-240, le=240)] = 0


class LevelStep(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    at: SwitchTime
    level_pct: Percent


class Window(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A local-time window, possibly across midnight (``23:00``-``05:00``)."""

    start: TimeOfDay
    end: TimeOfDay


class ControlProgram(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    id: Name
    on: SwitchTime
    off: SwitchTime
    level_pct: Percent = 100.0
    steps: Annotated[list[LevelStep], Meta(max_length=24)] = msgspec.field(default_factory=list)
    switch_off: Annotated[list[Window], Meta(max_length=4)] = msgspec.field(default_factory=list)
    fade_s: Annotated[float, Meta(ge=0, le=960)] = 0.0


class CalendarRule(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Chooses ``program`` on days matching every given criterion (an empty criterion matches)."""

    program: Name
    dates: Annotated[list[IsoDate], Meta(max_length=64)] = msgspec.field(default_factory=list)
    from_day: MonthDay | None = None
    to_day: MonthDay | None = None
    weekdays: Annotated[list[Weekday], Meta(max_length=7)] = msgspec.field(default_factory=list)


class Calendar(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    id: Name
    rules: Annotated[list[CalendarRule], Meta(max_length=64)] = msgspec.field(default_factory=list)
    default_program: Name


class Assignment(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    group: Name
    calendar: Name


class Site(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    latitude: Annotated[float, Meta(ge=-90, le=90)]
    longitude: Annotated[float, Meta(ge=-180, le=180)]
    timezone: Annotated[str, Meta(pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+){0,2}$")] = "Europe/Paris"


class ProgramSet(_Message, kw_only=True):
    gateway: GatewayId
    revision: Seq
    issued_at: EpochMs
    site: Site
    programs: Annotated[list[ControlProgram], Meta(max_length=64)]
    calendars: Annotated[list[Calendar], Meta(max_length=64)]
    assignments: Annotated[list[Assignment], Meta(max_length=64)]


def reference_problems(program_set: ProgramSet) -> list[tuple[str, str]]:
    """Dangling or duplicate references, as ``(json path, reason)`` pairs; empty when sound."""
    problems: list[tuple[str, str]] = []
    programs = _unique_ids(program_set.programs, "$.programs", problems)
    calendars = _unique_ids(program_set.calendars, "$.calendars", problems)
    for i, cal in enumerate(program_set.calendars):
        if cal.default_program not in programs:
            problems.append((f"$.calendars[{i}].default_program", "unknown program"))
        for j, rule in enumerate(cal.rules):
            if rule.program not in programs:
                problems.append((f"$.calendars[{i}].rules[{j}].program", "unknown program"))
    for i, prog in enumerate(program_set.programs):
        _check_switch_time(prog.on, f"$.programs[{i}].on", problems)
        _check_switch_time(prog.off, f"$.programs[{i}].off", problems)
        for j, step in enumerate(prog.steps):
            _check_switch_time(step.at, f"$.programs[{i}].steps[{j}].at", problems)
    groups: set[str] = set()
    for i, assignment in enumerate(program_set.assignments):
        if assignment.calendar not in calendars:
            problems.append((f"$.assignments[{i}].calendar", "unknown calendar"))
        if assignment.group in groups:
            problems.append((f"$.assignments[{i}].group", "group assigned twice"))
        groups.add(assignment.group)
    return problems


def _unique_ids(
    items: Sequence[ControlProgram | Calendar], path: str, problems: list[tuple[str, str]]
) -> set[str]:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.id in seen:
            problems.append((f"{path}[{i}].id", "duplicate id"))
        seen.add(item.id)
    return seen


def _check_switch_time(st: SwitchTime, path: str, problems: list[tuple[str, str]]) -> None:
    if st.ref == "fixed" and st.time is None:
        problems.append((f"{path}.time", "a fixed switch time needs a time"))
    if st.ref != "fixed" and st.time is not None:
        problems.append((f"{path}.time", "a sun-relative switch time takes an offset, not a time"))
