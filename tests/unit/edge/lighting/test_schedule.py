"""Program evaluation: hand-computed nights, calendars, the evening's date, DST, polar days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from astral import Observer
from astral.sun import sunrise, sunset
from hypothesis import given, settings
from hypothesis import strategies as st

from eclor.wire import (
    Assignment,
    Calendar,
    CalendarRule,
    ControlProgram,
    LevelStep,
    ProgramSet,
    Site,
    SwitchTime,
    Window,
)
from edge.lighting.schedule import (
    evaluate_default,
    evaluate_group,
    program_for_date,
    rule_matches,
)

PARIS = ZoneInfo("Europe/Paris")
THIL = Site(latitude=49.4717, longitude=5.9078, timezone="Europe/Paris")


def fixed(hhmm: str) -> SwitchTime:
    return SwitchTime(ref="fixed", time=hhmm)


def night_program(pid: str = "night", level: float = 100.0, **extra: object) -> ControlProgram:
    """On 18:00 → off 07:00, 50 % from 22:00, off 23:00–05:00 (the French practice)."""
    fields: dict[str, object] = {
        "id": pid,
        "on": fixed("18:00"),
        "off": fixed("07:00"),
        "level_pct": level,
        "steps": [LevelStep(at=fixed("22:00"), level_pct=50)],
        "switch_off": [Window(start="23:00", end="05:00")],
        **extra,
    }
    return ControlProgram(**fields)  # type: ignore[arg-type]


def program_set(
    programs: list[ControlProgram], rules: list[CalendarRule] | None = None, default: str = "night"
) -> ProgramSet:
    return ProgramSet(
        gateway="cab-thil-04",
        revision=1,
        issued_at=1_780_000_000_000,
        site=THIL,
        programs=programs,
        calendars=[Calendar(id="cal", rules=rules or [], default_program=default)],
        assignments=[Assignment(group="main", calendar="cal")],
    )


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=PARIS)


def test_a_night_with_a_step_and_a_switch_off_window() -> None:
    ps = program_set([night_program()])
    expected = [
        ((17, 59), 0.0, False),
        ((18, 0), 100.0, True),
        ((21, 59), 100.0, True),
        ((22, 0), 50.0, True),
        ((22, 59), 50.0, True),
        ((23, 0), 0.0, False),
        ((28, 4, 59), 0.0, False),
        ((28, 5, 0), 50.0, True),
        ((28, 6, 59), 50.0, True),
        ((28, 7, 0), 0.0, False),
        ((28, 12, 0), 0.0, False),
    ]
    for when, level, lit in expected:
        day, hour, minute = when if len(when) == 3 else (27, *when)
        target = evaluate_group(ps, "main", local(2026, 11, day, hour, minute))
        assert target is not None
        assert (target.level_pct, target.lit) == (level, lit), when
    target = evaluate_group(ps, "main", local(2026, 11, 27, 12))
    assert target is not None
    assert target.next_change == local(2026, 11, 27, 18)
    target = evaluate_group(ps, "main", local(2026, 11, 27, 22, 30))
    assert target is not None
    assert target.next_change == local(2026, 11, 27, 23)
    target = evaluate_group(ps, "main", local(2026, 11, 27, 23, 30))
    assert target is not None
    assert target.next_change == local(2026, 11, 28, 5)
    assert target.program_id == "night"


def test_a_group_the_set_does_not_assign_has_no_target() -> None:
    assert evaluate_group(program_set([night_program()]), "other", local(2026, 11, 27, 20)) is None


def test_calendar_first_matching_rule_wins_else_default() -> None:
    rules = [
        CalendarRule(program="fete", dates=["2026-07-14"]),
        CalendarRule(program="winter", from_day="12-15", to_day="01-05"),
        CalendarRule(program="weekend", weekdays=[6, 7]),
        CalendarRule(program="fete", weekdays=[6]),  # never reached: the rule above wins
    ]
    cal = Calendar(id="cal", rules=rules, default_program="night")
    assert program_for_date(cal, date(2026, 7, 14)) == "fete"  # a Tuesday
    assert program_for_date(cal, date(2026, 12, 20)) == "winter"  # a Sunday, but winter is first
    assert program_for_date(cal, date(2027, 1, 5)) == "winter"  # wraps the new year
    assert program_for_date(cal, date(2027, 1, 6)) == "night"  # a Wednesday
    assert program_for_date(cal, date(2026, 12, 14)) == "night"  # a Monday before the range
    assert program_for_date(cal, date(2026, 11, 28)) == "weekend"  # a Saturday


def test_rule_criteria_combine() -> None:
    rule = CalendarRule(program="p", from_day="06-01", to_day="08-31", weekdays=[5])
    assert rule_matches(rule, date(2026, 7, 3))  # a Friday in summer
    assert not rule_matches(rule, date(2026, 7, 4))  # a Saturday
    assert not rule_matches(rule, date(2026, 9, 4))  # a Friday after the range
    assert rule_matches(CalendarRule(program="p", from_day="11-01"), date(2026, 12, 31))
    assert not rule_matches(CalendarRule(program="p", to_day="02-28"), date(2026, 3, 1))


def test_the_evening_date_governs_the_whole_night() -> None:
    """Saturday's program runs until Sunday morning even though the date changed at midnight."""
    saturday = ControlProgram(id="saturday", on=fixed("18:00"), off=fixed("07:00"), level_pct=30)
    plain = ControlProgram(id="night", on=fixed("18:00"), off=fixed("07:00"), level_pct=100)
    ps = program_set([plain, saturday], [CalendarRule(program="saturday", weekdays=[6])])
    sunday_1am = evaluate_group(ps, "main", local(2026, 11, 29, 1))  # 29 Nov 2026 is a Sunday
    sunday_8pm = evaluate_group(ps, "main", local(2026, 11, 29, 20))
    friday_1am = evaluate_group(ps, "main", local(2026, 11, 28, 1))  # Friday's night
    assert sunday_1am is not None
    assert sunday_1am.program_id == "saturday"
    assert sunday_1am.level_pct == 30
    assert sunday_8pm is not None
    assert sunday_8pm.program_id == "night"
    assert friday_1am is not None
    assert friday_1am.level_pct == 100


def test_dst_nights_are_an_hour_shorter_in_spring_and_longer_in_autumn() -> None:
    """18:00 → 07:00 is 13 h of wall time: 12 h on the spring night, 14 h on the autumn one."""
    ps = program_set([ControlProgram(id="night", on=fixed("18:00"), off=fixed("07:00"))])
    for evening, hours in ((date(2026, 3, 28), 12), (date(2026, 10, 24), 14)):
        start = local(evening.year, evening.month, evening.day, 18)
        lit = 0
        moment = start.astimezone(UTC)
        while moment < start.astimezone(UTC) + timedelta(hours=20):
            target = evaluate_group(ps, "main", moment)
            assert target is not None
            lit += target.lit
            moment += timedelta(minutes=30)
        assert lit / 2 == hours, evening


def test_a_nonexistent_local_time_happens_at_the_jump() -> None:
    """02:30 does not exist on 29 March 2026 in Paris: the window starts at the jump, 03:00."""
    program = night_program(switch_off=[Window(start="02:30", end="05:00")], steps=[])
    ps = program_set([program])
    before = evaluate_group(ps, "main", datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC))  # 01:59:59
    after = evaluate_group(ps, "main", datetime(2026, 3, 29, 1, 0, tzinfo=UTC))  # 03:00 CEST
    assert before is not None
    assert before.lit
    assert before.next_change == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert after is not None
    assert not after.lit


def test_a_time_shown_twice_happens_the_first_time() -> None:
    """02:30 happens twice on 25 October 2026 in Paris: the window ends at the first (CEST)."""
    program = night_program(switch_off=[Window(start="23:00", end="02:30")], steps=[])
    ps = program_set([program])
    first = evaluate_group(ps, "main", datetime(2026, 10, 25, 0, 30, tzinfo=UTC))  # 02:30 CEST
    assert first is not None
    assert first.lit


def test_sun_relative_times_use_the_site_zone_and_offsets() -> None:
    program = ControlProgram(
        id="sun",
        on=SwitchTime(ref="sunset", offset_min=15),
        off=SwitchTime(ref="sunrise", offset_min=-15),
    )
    ps = program_set([program], default="sun")
    observer = Observer(latitude=THIL.latitude, longitude=THIL.longitude)
    dusk = sunset(observer, date=date(2026, 11, 27), tzinfo=PARIS)
    dawn = sunrise(observer, date=date(2026, 11, 28), tzinfo=PARIS)
    assert local(2026, 11, 27, 16, 30) < dusk < local(2026, 11, 27, 16, 50)  # almanac: ~16:39
    on = dusk + timedelta(minutes=15)
    off = dawn - timedelta(minutes=15)
    for moment, lit in (
        (on - timedelta(seconds=1), False),
        (on, True),
        (off - timedelta(seconds=1), True),
        (off, False),
    ):
        target = evaluate_group(ps, "main", moment)
        assert target is not None
        assert target.lit is lit, moment
    target = evaluate_group(ps, "main", on - timedelta(minutes=5))
    assert target is not None
    assert abs((target.next_change - on).total_seconds()) < 1


def test_polar_day_falls_back_to_18_and_06() -> None:
    svalbard = Site(latitude=78.22, longitude=15.65, timezone="Arctic/Longyearbyen")
    zone = ZoneInfo("Arctic/Longyearbyen")
    evening = evaluate_default(svalbard, datetime(2026, 6, 21, 19, tzinfo=zone))
    noon = evaluate_default(svalbard, datetime(2026, 6, 21, 12, tzinfo=zone))
    # NO_PROGRAM: sunset+15 → 18:15, sunrise−15 → 05:45
    assert evening.lit
    assert evening.level_pct == 100
    assert not noon.lit
    assert noon.next_change == datetime(2026, 6, 21, 18, 15, tzinfo=zone)


def test_no_program_default_is_on_at_night_at_full_level() -> None:
    night = evaluate_default(THIL, local(2026, 11, 28, 2))
    day = evaluate_default(THIL, local(2026, 11, 28, 13))
    assert (night.level_pct, night.lit, night.program_id) == (100.0, True, "no_program")
    assert (day.level_pct, day.lit) == (0.0, False)


# -- properties --------------------------------------------------------------------------------

hhmm = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))
_DST_DAYS = [datetime(y, m, d, tzinfo=UTC) for y, m, d in ((2026, 3, 29), (2026, 10, 25))]
moments = st.one_of(
    st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
    st.builds(
        lambda day, s: day + timedelta(seconds=s),
        st.sampled_from(_DST_DAYS),
        st.integers(-36 * 3600, 36 * 3600),
    ),
)
windows = st.lists(
    st.builds(lambda a, b: Window(start=a, end=b), hhmm, hhmm).filter(lambda w: w.start != w.end),
    max_size=3,
)
steps = st.lists(
    st.builds(lambda t, v: LevelStep(at=fixed(t), level_pct=v), hhmm, st.floats(0, 100)),
    max_size=5,
)


def _shown_twice(moment: datetime) -> bool:
    """In the autumn hour the clock shows twice (windows end at its first showing)."""
    local = moment.astimezone(PARIS)
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def _in_window(moment: datetime, window: Window) -> bool:
    here = moment.astimezone(PARIS).strftime("%H:%M")
    if window.start < window.end:
        return window.start <= here < window.end
    return here >= window.start or here < window.end


@settings(max_examples=300, deadline=None)
@given(moments, hhmm, hhmm, st.floats(0, 100), steps, windows)
def test_levels_stay_in_range_and_windows_are_dark(
    moment: datetime, on: str, off: str, level: float, steps: list[LevelStep], wins: list[Window]
) -> None:
    program = ControlProgram(
        id="p", on=fixed(on), off=fixed(off), level_pct=level, steps=steps, switch_off=wins
    )
    target = evaluate_group(program_set([program], default="p"), "main", moment)
    assert target is not None
    assert 0 <= target.level_pct <= 100
    assert target.lit == (target.level_pct > 0)
    assert target.next_change > moment
    if any(_in_window(moment, w) for w in wins) and not _shown_twice(moment):
        assert not target.lit


@settings(max_examples=200, deadline=None)
@given(moments, st.integers(0, 120), st.integers(-120, 0))
def test_sun_programs_are_dark_in_daylight(moment: datetime, after: int, before: int) -> None:
    program = ControlProgram(
        id="sun",
        on=SwitchTime(ref="sunset", offset_min=after),
        off=SwitchTime(ref="sunrise", offset_min=before),
    )
    target = evaluate_group(program_set([program], default="sun"), "main", moment)
    day = moment.astimezone(PARIS).date()
    observer = Observer(latitude=THIL.latitude, longitude=THIL.longitude)
    if (
        sunrise(observer, date=day, tzinfo=PARIS)
        <= moment
        < sunset(observer, date=day, tzinfo=PARIS)
    ):
        assert target is not None
        assert not target.lit
