"""The DALI simulator's numbers: dimming curve, fade times and rates, energy over a fade."""

from __future__ import annotations

import pytest

from simulators.dali import physics


@pytest.mark.parametrize(
    ("percent", "level"), [(10, 170), (25, 203), (50, 229), (100, 254), (0.1, 1)]
)
def test_dimming_curve_matches_the_standard_points(percent: float, level: int) -> None:
    assert physics.arc_level_for_percent(percent) == level
    assert physics.light_percent(level) == pytest.approx(percent, rel=0.03)


def test_off_and_mask_ends_of_the_curve() -> None:
    assert physics.light_percent(0) == 0.0
    assert physics.arc_level_for_percent(0) == 0
    assert physics.light_percent(1) == pytest.approx(0.1)
    assert physics.light_percent(254) == pytest.approx(100.0)


def test_fade_time_codes_run_from_0_7_to_90_5_seconds() -> None:
    assert physics.fade_time_s(0) == 0.0
    assert physics.fade_time_s(1) == pytest.approx(0.707, abs=1e-3)
    assert physics.fade_time_s(4) == pytest.approx(2.0)
    assert physics.fade_time_s(15) == pytest.approx(90.51, abs=0.01)
    with pytest.raises(ValueError, match=r"0\.\.15"):
        physics.fade_time_s(16)


def test_fade_rate_and_extended_fade_time() -> None:
    assert physics.fade_rate_steps_per_s(1) == pytest.approx(357.8, abs=0.1)
    assert physics.fade_rate_steps_per_s(15) == pytest.approx(2.8, abs=0.05)
    assert physics.extended_fade_time_s(15, 4) == 16 * 60  # DALI-2: up to 16 minutes
    assert physics.extended_fade_time_s(0, 1) == pytest.approx(0.1)
    assert physics.extended_fade_time_s(3, 0) == 0.0


@pytest.mark.parametrize(("start", "end"), [(1.0, 254.0), (254.0, 170.0), (200.0, 200.0)])
def test_light_integral_over_a_fade_matches_numeric_integration(start: float, end: float) -> None:
    duration, steps = 8.0, 20_000
    numeric = sum(
        physics.light_fraction(start + (end - start) * (i + 0.5) / steps) * duration / steps
        for i in range(steps)
    )
    assert physics.light_integral(start, end, duration) == pytest.approx(numeric, rel=1e-6)


def test_power_is_standby_plus_rated_times_light_fraction() -> None:
    assert physics.power_w(60, 0.5, 0.5, lamp_on=True) == pytest.approx(30.5)
    assert physics.power_w(60, 0.5, 0.5, lamp_on=False) == pytest.approx(0.5)
