"""DALI arithmetic, back-end config validation and the debounced alarm board."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from edge.lighting.backends_config import (
    ContactorTarget,
    DaliLineConfig,
    DaliTarget,
    MeterTarget,
)
from edge.lighting.dali_levels import arc_to_percent, fade_setting, fade_time_s, percent_to_arc
from edge.lighting.faults_debounce import AlarmBoard


@pytest.mark.parametrize(("percent", "arc"), [(10, 170), (25, 203), (50, 229), (100, 254), (0, 0)])
def test_percent_to_arc_matches_the_iec_62386_curve(percent: float, arc: int) -> None:
    assert percent_to_arc(percent) == arc


def test_arc_to_percent_inverts_the_curve_and_tiny_levels_stay_on() -> None:
    assert arc_to_percent(254) == pytest.approx(100)
    assert arc_to_percent(1) == pytest.approx(0.1)
    assert arc_to_percent(0) == 0
    assert percent_to_arc(0.01) == 1
    assert all(percent_to_arc(arc_to_percent(n)) == n for n in range(1, 255))


def test_out_of_range_levels_are_refused() -> None:
    with pytest.raises(ValueError, match="outside 0–100"):
        percent_to_arc(101)
    with pytest.raises(ValueError, match="outside 0–254"):
        arc_to_percent(255)


def test_fade_uses_fade_time_up_to_90_s_then_the_extended_fade() -> None:
    assert fade_setting(0.2) == fade_setting(0)
    assert fade_setting(0).seconds == 0
    two = fade_setting(2.0)
    assert (two.fade_code, two.extended, two.seconds) == (4, 0, 2.0)
    assert fade_setting(90).fade_code == 15
    assert fade_time_s(15) == pytest.approx(90.5, abs=0.1)
    ten_minutes = fade_setting(600)
    assert ten_minutes.fade_code == 0
    assert ten_minutes.extended == (4 << 4) | 9  # (9 + 1) × 1 min
    assert ten_minutes.seconds == 600
    assert fade_setting(16 * 60).seconds == 16 * 60
    with pytest.raises(ValueError, match="negative"):
        fade_setting(-1)


def test_dali_line_ports_timeouts_and_levels_are_validated() -> None:
    assert DaliLineConfig(name="dali", port="luba232:/dev/ttyUSB0").timeout_s == 0.5
    assert DaliLineConfig(name="d2", port="luba232:socket://10.0.0.5:4001").status_poll_s == 60
    with pytest.raises(ValidationError, match="not a DALI port"):
        DaliLineConfig(name="dali", port="/dev/ttyUSB0")
    with pytest.raises(ValidationError, match="timeout_s"):
        DaliLineConfig(name="dali", port="luba232:/dev/x", timeout_s=0)
    with pytest.raises(ValidationError, match="system_failure_level_pct"):
        DaliLineConfig(name="dali", port="luba232:/dev/x", system_failure_level_pct=120)
    with pytest.raises(ValidationError, match="status_poll_s"):
        DaliLineConfig(name="dali", port="luba232:/dev/x", status_poll_s=1)
    with pytest.raises(ValidationError, match="reconnect_max_s"):
        DaliLineConfig(name="dali", port="luba232:/dev/x", reconnect_min_s=10, reconnect_max_s=5)


def test_a_dali_target_is_a_group_xor_broadcast() -> None:
    assert DaliTarget(line="dali", group=15).label == "dali/group15"
    assert DaliTarget(line="dali", broadcast=True).label == "dali/broadcast"
    for bad in ({}, {"group": 1, "broadcast": True}):
        with pytest.raises(ValidationError, match="either group"):
            DaliTarget(line="dali", **bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="group"):
        DaliTarget(line="dali", group=16)


def test_contactor_outputs_distinct_and_meter_expectations() -> None:
    with pytest.raises(ValidationError, match="listed twice"):
        ContactorTarget(device="controller", outputs=["contactor_1", "contactor_1"])
    meter = MeterTarget(device="meter", rated_w=1000)
    assert meter.expected_w(100) == pytest.approx(1000)
    assert meter.expected_w(50) == pytest.approx(1000 * (0.07 + 0.93 * 0.5))
    assert meter.expected_w(0) == 0
    assert meter.lit_above_w == pytest.approx(50)


def test_alarm_board_debounces_and_merges_sources() -> None:
    board = AlarmBoard(needed=3)
    flips = [board.see("ctl", "contactor_error", "mask", c) for c in (True, True, False)]
    assert flips == [None, None, None]  # never three in a row
    assert [board.see("ctl", "contactor_error", "mask", True) for _ in range(3)] == [
        None,
        None,
        True,
    ]
    assert board.see("ctl", "contactor_error", "mask", None) is None
    for _ in range(3):
        assert board.see("ctl", "contactor_error", "power:g", True) is None  # already raised
    for _ in range(3):
        assert board.see("ctl", "contactor_error", "mask", False) is None  # power:g still active
    assert board.active("ctl", "contactor_error")
    assert [board.see("ctl", "contactor_error", "power:g", False) for _ in range(3)] == [
        None,
        None,
        False,
    ]
    assert not board.active("ctl", "contactor_error")
