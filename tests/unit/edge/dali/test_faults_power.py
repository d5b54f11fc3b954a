"""Metered-power verdicts for one meter feeding one or several lighting groups."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from edge.lighting.backends_config import MeterTarget
from edge.lighting.faults_power import Fed, judge_power

NOW = 1_000_000_000
METER = MeterTarget(device="meter", rated_w=1000)


@dataclass(frozen=True)
class Command:
    target_pct: float
    lit: bool
    since_ms: int = NOW - 3_600_000
    fade_s: float = 0.0


def fed(level: float, *, contactor: bool = True, **command: float) -> Fed:
    return Fed(METER, Command(level, level > 0, **command), contactor)  # type: ignore[arg-type]


def test_a_lit_group_at_its_expected_power_raises_nothing() -> None:
    verdict = judge_power(540, [fed(50)], now_ms=NOW, daylight=False, settle_s=30)
    assert verdict.expected_w == pytest.approx(1000 * (0.07 + 0.93 * 0.5))
    assert (verdict.day_burner, verdict.contactor_error, verdict.out_of_tolerance) == (
        False,
        False,
        False,
    )


def test_power_in_daylight_while_off_is_a_day_burner_and_at_night_a_stuck_contactor() -> None:
    day = judge_power(900, [fed(0)], now_ms=NOW, daylight=True, settle_s=30)
    assert (day.day_burner, day.contactor_error) == (True, False)
    night = judge_power(900, [fed(0)], now_ms=NOW, daylight=False, settle_s=30)
    assert (night.day_burner, night.contactor_error) == (False, True)
    no_contactor = judge_power(
        900, [fed(0, contactor=False)], now_ms=NOW, daylight=False, settle_s=30
    )
    assert no_contactor.contactor_error is None


def test_commanded_on_without_power_is_a_contactor_error_not_a_tolerance_one() -> None:
    verdict = judge_power(10, [fed(100)], now_ms=NOW, daylight=False, settle_s=30)
    assert (verdict.contactor_error, verdict.out_of_tolerance) == (True, False)


def test_tolerance_is_relative_to_the_sum_of_the_groups_on_one_meter() -> None:
    both = [fed(100), fed(50)]
    ok = judge_power(1000 + 535, both, now_ms=NOW, daylight=False, settle_s=30)
    assert ok.expected_w == pytest.approx(1535)
    assert ok.out_of_tolerance is False
    low = judge_power(1000, both, now_ms=NOW, daylight=False, settle_s=30)  # −35 %
    assert low.out_of_tolerance is True
    assert low.lit_above_w == pytest.approx(100)


def test_nothing_is_judged_while_a_fade_settles() -> None:
    recent = fed(100, since_ms=NOW - 20_000, fade_s=5)
    verdict = judge_power(10, [recent], now_ms=NOW, daylight=True, settle_s=30)
    assert (verdict.contactor_error, verdict.out_of_tolerance) == (None, None)
    assert verdict.day_burner is False  # commanded on: never a day-burner
    switching_off = judge_power(
        900, [fed(0, since_ms=NOW - 1000)], now_ms=NOW, daylight=True, settle_s=30
    )
    assert switching_off.day_burner is None
