"""Burning hours and mean level of a group from the ``lighting`` readings' windows."""

from __future__ import annotations

import pytest

from cloud.savings.burning import HOUR_MS, STEP_MS, burning_of

DAY = 24 * HOUR_MS


def every(start: int, end: int, value: object, step: int = 60_000) -> dict[int, object]:
    """A heartbeat every minute (the edge writes at least every 60 s)."""
    return {t - t % STEP_MS: value for t in range(start, end, step)}


def test_a_night_at_full_then_half_power() -> None:
    lit: dict[int, bool] = {}
    level: dict[int, float] = {}
    lit.update(every(0, 2 * HOUR_MS, False))  # type: ignore[arg-type]
    lit.update(every(2 * HOUR_MS, 6 * HOUR_MS, True))  # type: ignore[arg-type]
    level.update(every(2 * HOUR_MS, 4 * HOUR_MS, 100.0))  # type: ignore[arg-type]
    level.update(every(4 * HOUR_MS, 6 * HOUR_MS, 50.0))  # type: ignore[arg-type]
    lit.update(every(6 * HOUR_MS, DAY, False))  # type: ignore[arg-type]
    result = burning_of(lit, level, 0, DAY)
    assert result.burning_h == pytest.approx(4.0)
    assert result.mean_level_pct == pytest.approx(75.0)


def test_the_state_before_the_day_carries_in() -> None:
    lit = {-60_000: True}
    lit.update({t: True for t in range(0, HOUR_MS, 60_000)})
    lit[HOUR_MS] = False
    result = burning_of(lit, {-60_000: 40.0}, 0, DAY)
    assert result.burning_h == pytest.approx(1.0)
    assert result.mean_level_pct == pytest.approx(40.0)


def test_a_quiet_gateway_is_not_counted_burning_for_ever() -> None:
    result = burning_of({0: True}, {0: 100.0}, 0, DAY)
    assert result.burning_h == pytest.approx(910_000 / HOUR_MS), "stale after 900 s"


def test_never_lit_has_no_mean_level() -> None:
    result = burning_of(every(0, DAY, False), {}, 0, DAY)  # type: ignore[arg-type]
    assert result.burning_h == 0
    assert result.mean_level_pct is None
