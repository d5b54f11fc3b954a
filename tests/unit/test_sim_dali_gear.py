"""Simulated DALI gear behaviour, driven with python-dali commands straight onto the line.

No transport here (``DirectDriver``): the protocol end to end is in
``tests/integration/test_sim_dali_luba.py``. Time is a ``ManualClock``, so fades, energy and
on-time are stepped exactly.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from dali.address import GearBroadcast, GearBroadcastUnaddressed, GearGroup, GearShort
from dali.gear import general as g
from dali.memory import diagnostics, energy
from dali.sequences import Commissioning, QueryDeviceTypes, QueryGroups

from eclor.clock import ManualClock
from simulators.dali import BusDownError, BusTiming, DaliLine
from simulators.dali.direct import DirectDriver

A0, A1 = GearShort(0), GearShort(1)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 1, 15, 17, 0, tzinfo=UTC))


@pytest.fixture
def line(clock: ManualClock) -> DaliLine:
    return DaliLine(3, clock=clock, rated_power_w=100.0, standby_w=0.5)


@pytest.fixture
def bus(line: DaliLine) -> DirectDriver:
    return DirectDriver(line)


def level(bus: DirectDriver, address: GearShort = A0) -> int:
    value: int = bus.send(g.QueryActualLevel(address)).value
    return value


STATUS_BITS = (
    "gear failure",
    "lamp failure",
    "lamp on",
    "limit error",
    "fade running",
    "reset state",
    "missing short address",
    "power failure",
)


def status_bits(bus: DirectDriver, address: GearShort = A0) -> set[str]:
    """QUERY STATUS as the names of the bits set (IEC 62386-102 bit order)."""
    byte = bus.send(g.QueryStatus(address)).raw_value.as_integer
    return {name for bit, name in enumerate(STATUS_BITS) if byte >> bit & 1}


def set_fade_time(bus: DirectDriver, code: int, address: GearShort = A0) -> None:
    bus.send(g.DTR0(code))
    bus.send(g.SetFadeTime(address))


# --- arc power and fades ---------------------------------------------------------------------


def test_dapc_fades_from_off_through_intermediate_levels(
    bus: DirectDriver, clock: ManualClock
) -> None:
    set_fade_time(bus, 4)  # 2.0 s
    assert bus.send(g.QueryFadeTimeFadeRate(A0)).fade_time == 4
    bus.send(g.DAPC(A0, 229))
    assert level(bus) == 1  # a lamp switched on starts its fade at the minimum level
    assert "fade running" in status_bits(bus)
    clock.advance(1.0)
    assert level(bus) == 115
    clock.advance(1.5)
    assert level(bus) == 229
    assert "fade running" not in status_bits(bus)


def test_dapc_to_zero_fades_down_then_switches_off(bus: DirectDriver, clock: ManualClock) -> None:
    bus.send(g.DAPC(A0, 254))
    set_fade_time(bus, 2)  # 1.0 s
    bus.send(g.DAPC(A0, 0))
    clock.advance(0.5)
    assert 100 < level(bus) < 254
    assert bus.send(g.QueryLampPowerOn(A0)).value is True
    clock.advance(0.6)
    assert level(bus) == 0
    assert bus.send(g.QueryLampPowerOn(A0)).value is False


def test_mask_stops_a_running_fade_where_it_is(bus: DirectDriver, clock: ManualClock) -> None:
    set_fade_time(bus, 6)  # 4 s
    bus.send(g.DAPC(A0, 254))
    clock.advance(2.0)
    bus.send(g.DAPC(A0, "MASK"))
    stopped = level(bus)
    clock.advance(10)
    assert level(bus) == stopped == 128


def test_extended_fade_time_is_used_when_fade_time_is_zero(
    bus: DirectDriver, clock: ManualClock
) -> None:
    bus.send(g.DTR0(0x49))  # base 9 (10 ×) multiplier 4 (1 min): 10 minutes
    bus.send(g.SetExtendedFadeTime(A0))
    assert bus.send(g.QueryExtendedFadeTime(A0)).raw_value.as_integer == 0x49
    bus.send(g.DAPC(A0, 254))
    clock.advance(300)
    assert level(bus) == 128
    clock.advance(301)
    assert level(bus) == 254


def test_off_recall_max_min_and_limit_error(bus: DirectDriver) -> None:
    bus.send(g.DTR0(200))
    bus.send(g.SetMaxLevel(A0))
    bus.send(g.DTR0(50))
    bus.send(g.SetMinLevel(A0))
    assert bus.send(g.QueryMaxLevel(A0)).value == 200
    assert bus.send(g.QueryMinLevel(A0)).value == 50
    bus.send(g.RecallMaxLevel(A0))
    assert level(bus) == 200
    bus.send(g.RecallMinLevel(A0))
    assert level(bus) == 50
    bus.send(g.DAPC(A0, 254))
    assert level(bus) == 200
    assert "limit error" in status_bits(bus)
    bus.send(g.DAPC(A0, 100))
    assert "limit error" not in status_bits(bus)
    bus.send(g.Off(A0))
    assert level(bus) == 0


def test_steps_and_go_to_last_active_level(bus: DirectDriver) -> None:
    bus.send(g.DAPC(A0, 100))
    bus.send(g.StepUp(A0))
    assert level(bus) == 101
    bus.send(g.StepDown(A0))
    bus.send(g.StepDown(A0))
    assert level(bus) == 99
    bus.send(g.Off(A0))
    bus.send(g.StepUp(A0))  # does nothing when off
    assert level(bus) == 0
    bus.send(g.GoToLastActiveLevel(A0))
    assert level(bus) == 99
    bus.send(g.RecallMinLevel(A0))
    bus.send(g.StepDownAndOff(A0))
    assert level(bus) == 0
    bus.send(g.OnAndStepUp(A0))
    assert level(bus) == 1


# --- groups and scenes -----------------------------------------------------------------------


def test_group_command_dims_exactly_the_members(bus: DirectDriver, line: DaliLine) -> None:
    for address in (A0, GearShort(2)):
        bus.send(g.AddToGroup(address, 3))
    assert bus.send(QueryGroups(A0)) == {3}
    assert bus.send(QueryGroups(A1)) == set()
    bus.send(g.DAPC(GearGroup(3), 170))
    assert [gear.actual_level for gear in line.gear] == [170, 0, 170]
    bus.send(g.RemoveFromGroup(A0, 3))
    bus.send(g.Off(GearGroup(3)))
    assert [gear.actual_level for gear in line.gear] == [170, 0, 0]


def test_scenes_set_through_dtr0_and_recalled(bus: DirectDriver, line: DaliLine) -> None:
    bus.send(g.DTR0(203))
    bus.send(g.SetScene(GearBroadcast(), 5))
    bus.send(g.RemoveFromScene(A1, 5))
    assert bus.send(g.QuerySceneLevel(A0, 5)).value == 203
    assert bus.send(g.QuerySceneLevel(A1, 5)).value == "MASK"
    bus.send(g.GoToScene(GearBroadcast(), 5))
    assert [gear.actual_level for gear in line.gear] == [203, 0, 203]


# --- send twice --------------------------------------------------------------------------------


def test_configuration_command_sent_once_is_ignored(bus: DirectDriver, line: DaliLine) -> None:
    bus.send(g.DTR0(120))
    once = g.SetPowerOnLevel(A0)
    line.deliver(once.frame.as_integer)
    assert bus.send(g.QueryPowerOnLevel(A0)).value == 254
    # twice, but with another frame in between: still ignored
    line.deliver(once.frame.as_integer)
    bus.send(g.QueryContentDTR0(A0))
    line.deliver(once.frame.as_integer)
    assert bus.send(g.QueryPowerOnLevel(A0)).value == 254
    bus.send(once)  # sendtwice: two frames back to back
    assert bus.send(g.QueryPowerOnLevel(A0)).value == 120


def test_configuration_command_repeated_after_100_ms_is_ignored(clock: ManualClock) -> None:
    line = DaliLine(1, clock=clock, timing=BusTiming(speed=1000))  # 100 ms of bus = 0.1 ms
    bus = DirectDriver(line)
    bus.send(g.DTR0(99))
    frame = g.SetSystemFailureLevel(A0).frame.as_integer
    line.deliver(frame)
    time.sleep(0.005)  # 5 s of bus time
    line.deliver(frame)
    assert bus.send(g.QuerySystemFailureLevel(A0)).value == 254


# --- fail-safe levels ----------------------------------------------------------------------


def test_power_on_level_applies_after_power_cycle(bus: DirectDriver, line: DaliLine) -> None:
    bus.send(g.DTR0(170))
    bus.send(g.SetPowerOnLevel(GearBroadcast()))
    bus.send(g.Off(GearBroadcast()))
    line.power_cycle()
    assert [gear.actual_level for gear in line.gear] == [170, 170, 170]
    assert "power failure" in status_bits(bus)
    assert bus.send(g.QueryPowerFailure(A0)).value is True
    bus.send(g.DAPC(A0, 200))
    assert "power failure" not in status_bits(bus)


def test_power_on_level_mask_restores_the_last_active_level(
    bus: DirectDriver, line: DaliLine
) -> None:
    bus.send(g.DTR0(255))
    bus.send(g.SetPowerOnLevel(A0))
    bus.send(g.DAPC(A0, 180))
    line.gear[0].mains_off()
    assert line.gear[0].power_w == 0.0
    assert bus.send(g.QueryControlGearPresent(A0)).value is False  # no mains, no answer
    line.gear[0].mains_on()
    assert level(bus) == 180


def test_system_failure_level_after_bus_lost_longer_than_550_ms(
    bus: DirectDriver, line: DaliLine, clock: ManualClock
) -> None:
    bus.send(g.DTR0(229))
    bus.send(g.SetSystemFailureLevel(GearBroadcast()))
    bus.send(g.DTR0(255))
    bus.send(g.SetSystemFailureLevel(GearShort(2)))  # MASK: stays as it is
    bus.send(g.DAPC(GearBroadcast(), 100))
    line.bus_failure()
    with pytest.raises(BusDownError):
        bus.send(g.Off(GearBroadcast()))
    clock.advance(0.5)
    assert [gear.actual_level for gear in line.gear] == [100, 100, 100]
    clock.advance(0.1)
    assert [gear.actual_level for gear in line.gear] == [229, 229, 100]
    line.bus_restore()
    assert bus.send(g.QuerySystemFailureLevel(A0)).value == 229
    assert level(bus) == 229


def test_mains_back_while_the_bus_is_down_power_on_then_system_failure_level(
    bus: DirectDriver, line: DaliLine, clock: ManualClock
) -> None:
    bus.send(g.DTR0(100))
    bus.send(g.SetPowerOnLevel(A0))
    bus.send(g.DTR0(200))
    bus.send(g.SetSystemFailureLevel(A0))
    line.bus_failure()
    line.power_cycle()
    assert line.gear[0].actual_level == 100
    assert not line.gear[0].limit_error
    clock.advance(0.6)
    assert line.gear[0].actual_level == 200


def test_short_bus_glitch_changes_nothing(
    bus: DirectDriver, line: DaliLine, clock: ManualClock
) -> None:
    bus.send(g.DTR0(254))
    bus.send(g.SetSystemFailureLevel(A0))
    bus.send(g.DAPC(A0, 150))
    line.bus_failure()
    clock.advance(0.4)
    line.bus_restore()
    clock.advance(10)
    assert level(bus) == 150


# --- status, faults, collisions --------------------------------------------------------------


def test_status_bits_follow_each_fault(bus: DirectDriver, line: DaliLine) -> None:
    assert status_bits(bus) == {"reset state"}
    bus.send(g.DAPC(A0, 254))
    assert status_bits(bus) == {"lamp on", "reset state"}
    line.gear[0].set_lamp_failure()
    assert status_bits(bus) == {"lamp failure", "reset state"}
    assert bus.send(g.QueryLampFailure(A0)).value is True
    assert bus.send(g.QueryLampFailure(A1)).value is False
    line.gear[0].set_lamp_failure(False)
    line.gear[0].set_gear_failure()
    assert status_bits(bus) == {"gear failure", "reset state"}
    assert bus.send(g.QueryControlGearFailure(A0)).value is True
    assert bus.send(g.QueryControlGearFailure(A1)).value is False
    line.gear[0].set_gear_failure(False)
    bus.send(g.DTR0(200))
    bus.send(g.SetMaxLevel(A0))
    assert status_bits(bus) == {"lamp on"}


def test_missing_short_address_bit(bus: DirectDriver, line: DaliLine) -> None:
    bus.send(g.DTR0(255))
    bus.send(g.SetShortAddress(A1))
    assert line.gear[1].short_address is None
    status = bus.send(g.QueryStatus(GearBroadcastUnaddressed()))
    assert status.missing_short_address
    assert bus.send(g.QueryMissingShortAddress(GearBroadcastUnaddressed())).value is True


def test_unresponsive_gear_neither_answers_nor_obeys(bus: DirectDriver, line: DaliLine) -> None:
    line.gear[1].set_responsive(False)
    assert bus.send(g.QueryControlGearPresent(A1)).value is False
    bus.send(g.DAPC(GearBroadcast(), 200))
    assert [gear.actual_level for gear in line.gear] == [200, 0, 200]


def test_broadcast_query_answered_by_several_gear_collides(bus: DirectDriver) -> None:
    response = bus.send(g.QueryActualLevel(GearBroadcast()))
    assert response.raw_value.error
    present = bus.send(g.QueryControlGearPresent(GearBroadcast()))
    assert present.raw_value.error
    assert present.value is True  # python-dali: a framing error means "more than one YES"


def test_identical_answers_can_be_configured_not_to_collide(clock: ManualClock) -> None:
    bus = DirectDriver(DaliLine(2, clock=clock, identical_answers_collide=False))
    present = bus.send(g.QueryControlGearPresent(GearBroadcast()))
    assert not present.raw_value.error
    bus.send(g.DAPC(A0, 10))
    assert bus.send(g.QueryActualLevel(GearBroadcast())).raw_value.error


# --- identification and addressing ---------------------------------------------------------


def test_device_types_led_energy_and_diagnostics(bus: DirectDriver) -> None:
    assert bus.send(QueryDeviceTypes(A0)) == [6, 51, 52]
    bus.send(g.QueryActualLevel(A0))
    assert bus.send(g.QueryNextDeviceType(A0)).raw_value is None  # not after QUERY DEVICE TYPE
    assert bus.send(g.QueryLightSourceType(A0)).raw_value.as_integer == 6


def test_commissioning_with_python_dali_gives_unique_addresses(
    bus: DirectDriver, line: DaliLine
) -> None:
    bus.send(Commissioning(readdress=True))
    assert sorted(gear.short_address for gear in line.gear if gear.short_address is not None) == [
        0,
        1,
        2,
    ]


# --- physics through the memory banks ----------------------------------------------------------


def test_energy_power_and_on_time_from_banks_202_and_206(
    bus: DirectDriver, line: DaliLine, clock: ManualClock
) -> None:
    bus.send(g.DAPC(A0, 254))
    clock.advance(3600)
    assert bus.send(energy.ActiveEnergy.read(A0)) == 100  # 100.5 Wh: whole Wh are counted
    assert bus.send(energy.ActivePower.read(A0)) == pytest.approx(100.5)
    assert bus.send(energy.ActiveEnergy.read(A1)) == 0  # standby only: 0.5 Wh
    assert bus.send(diagnostics.LightSourceOnTime.read(A0)) == 3600
    assert bus.send(diagnostics.LightSourceOnTime.read(A1)) == 0
    assert bus.send(diagnostics.LightSourceStartCounter.read(A0)) == 1
    assert bus.send(diagnostics.ControlGearOperatingTime.read(A1)) == 3600
    assert line.gear[0].energy_wh == pytest.approx(100.5)


def test_energy_at_half_light(bus: DirectDriver, line: DaliLine, clock: ManualClock) -> None:
    bus.send(g.DAPC(A0, 229))  # 50.5 %
    clock.advance(7200)
    expected_w = 0.5 + 100 * 0.50531
    assert line.gear[0].power_w == pytest.approx(expected_w, rel=1e-3)
    assert bus.send(energy.ActiveEnergy.read(A0)) == int(2 * expected_w)


def test_multi_byte_value_is_latched_when_its_first_byte_is_read(
    bus: DirectDriver, clock: ManualClock
) -> None:
    bus.send(g.DAPC(A0, 254))
    clock.advance(3600 * 3)  # 301.5 Wh
    start = energy.ActiveEnergy.locations[1].address  # after the scale byte
    bus.send(g.DTR1(202))
    bus.send(g.DTR0(start))
    data = [bus.send(g.ReadMemoryLocation(A0)).raw_value.as_integer]
    clock.advance(3600 * 1000)  # the counter moves on while the bytes are read
    data += [bus.send(g.ReadMemoryLocation(A0)).raw_value.as_integer for _ in range(5)]
    assert int.from_bytes(bytes(data), "big") == 301
    assert bus.send(energy.ActiveEnergy.read(A0)) == 100_801


def test_whole_bank_latch_with_the_lock_byte(bus: DirectDriver) -> None:
    values = bus.send(diagnostics.BANK_206.read_all(A0))
    assert values[diagnostics.LightSourceOnTime] == 0
    assert values[diagnostics.LightSourceOverallFailureCondition] is False


def test_lamp_failure_shows_in_bank_206_and_stops_on_time(
    bus: DirectDriver, line: DaliLine, clock: ManualClock
) -> None:
    bus.send(g.DAPC(A0, 254))
    clock.advance(100)
    line.gear[0].set_lamp_failure()
    clock.advance(100)
    assert bus.send(diagnostics.LightSourceOnTime.read(A0)) == 100
    assert bus.send(diagnostics.LightSourceOverallFailureCondition.read(A0)) is True
    assert bus.send(diagnostics.LightSourceOverallFailureConditionCounter.read(A0)) == 1
    assert line.gear[0].power_w == pytest.approx(0.5)


def test_resettable_on_time_can_be_written_and_keeps_the_total(
    bus: DirectDriver, clock: ManualClock
) -> None:
    bus.send(g.DAPC(A0, 254))
    clock.advance(500)
    bus.send(diagnostics.LightSourceOnTimeResettable.write(A0, 0))
    clock.advance(20)
    assert bus.send(diagnostics.LightSourceOnTimeResettable.read(A0)) == 20
    assert bus.send(diagnostics.LightSourceOnTime.read(A0)) == 520


def test_unimplemented_bank_gives_no_answer(bus: DirectDriver) -> None:
    bus.send(g.DTR1(203))
    bus.send(g.DTR0(0))
    assert bus.send(g.ReadMemoryLocation(A0)).raw_value is None
