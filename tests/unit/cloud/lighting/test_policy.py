"""Adaptive policy arithmetic: EN 13201 class steps to levels, and when a raise is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from cloud.lighting.policy import PolicyBody, PolicyStep, Raise, decide, level_for, step_level

NOW = datetime(2026, 11, 2, 19, 0, tzinfo=UTC)
HOLD = timedelta(minutes=10)
STEPS = [PolicyStep(min_vph=300, road_class="M5"), PolicyStep(min_vph=600, road_class="M4")]


def test_a_class_step_down_is_the_luminance_ratio() -> None:
    assert step_level(PolicyStep(min_vph=0, road_class="M5"), "M4") == 66.7  # 0.5 / 0.75
    assert step_level(PolicyStep(min_vph=0, road_class="M6"), "M5") == 60.0  # 0.3 / 0.5
    assert step_level(PolicyStep(min_vph=0, road_class="M3"), "M4") == 100.0  # capped
    assert step_level(PolicyStep(min_vph=0, road_class="M5", level_pct=55), "M4") == 55


@pytest.mark.parametrize(
    ("vph", "level"), [(None, None), (0, None), (299.9, None), (300, 66.7), (599, 66.7), (600, 100)]
)
def test_level_follows_the_highest_step_reached(vph: float | None, level: float | None) -> None:
    assert level_for(vph, STEPS, "M4") == level


def test_up_at_once_renewed_late_down_after_the_hold() -> None:
    assert decide(66.7, None, NOW, HOLD) == Raise(66.7, NOW + HOLD)
    live = Raise(66.7, NOW + HOLD)
    assert decide(66.7, live, NOW + timedelta(minutes=4), HOLD) is None
    assert decide(66.7, live, NOW + timedelta(minutes=6), HOLD) == Raise(
        66.7, NOW + timedelta(minutes=16)
    )
    assert decide(100, live, NOW + timedelta(minutes=1), HOLD) == Raise(
        100, NOW + timedelta(minutes=11)
    )
    high = Raise(100, NOW + HOLD)
    assert decide(66.7, high, NOW + timedelta(minutes=9), HOLD) is None
    assert decide(66.7, high, NOW + HOLD, HOLD) == Raise(66.7, NOW + 2 * HOLD)
    assert decide(None, high, NOW, HOLD) is None


def _body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "gateway": "cab-01",
        "group": "main_street",
        "loop_gateway": "cab-02",
        "loop_device": "loops",
        "lanes": [1, 2],
        "design_class": "M4",
        "steps": [{"min_vph": 300, "road_class": "M5"}],
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    "changes",
    [
        {"steps": []},
        {"steps": [{"min_vph": 300, "road_class": "M5"}, {"min_vph": 300, "road_class": "M4"}]},
        {"lanes": [1, 1]},
        {"lanes": [0]},
        {"design_class": "P3"},
        {"window_min": 0},
        {"hold_min": 241},
        {"steps": [{"min_vph": 300, "road_class": "M5", "level_pct": 101}]},
    ],
)
def test_bad_policies_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PolicyBody.model_validate(_body(**changes))
    assert PolicyBody.model_validate(_body()).window_min == 5
