"""The territory twin's lighting cabinets: astral switch times, energy, modes and faults.

Expected values are computed here independently of the model: switch times with astral directly,
the DALI curve and the LED power law from their formulas.
"""

from __future__ import annotations

import asyncio
import math
import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from astral import Observer
from astral.sun import sun

from eclor.clock import ManualClock
from simulators.modbus.cabinet import CabinetController
from simulators.modbus.faults import Fault
from simulators.scenario import FaultSpec, load_scenario
from simulators.state import MeterState
from simulators.territory.build import build_territory, cabinet_config
from simulators.territory.cabinet import CabinetMode, CabinetModel
from simulators.territory.electrical import Supply
from simulators.territory.faults import FaultAction, FaultKind
from simulators.territory.model import Territory
from simulators.territory.program import DimStep, LocalProgram
from simulators.territory.sun import SunSchedule
from simulators.territory.watched import WatchedCabinetState

PARIS = ZoneInfo("Europe/Paris")
LAT, LON = 49.4683, 5.9289  # Villerupt
OFFSET = timedelta(minutes=15)


def make_cabinet(
    start: datetime,
    *,
    installed_w: float = 3300.0,
    circuits: int = 2,
    phases: int = 3,
    steps: tuple[DimStep, ...] = (),
) -> CabinetModel:
    program = LocalProgram(SunSchedule(LAT, LON, PARIS), PARIS, steps)
    state = WatchedCabinetState(contactors=[False] * circuits)
    config = cabinet_config(installed_w, circuits, 55.0, 4.0, phases)
    supply = Supply(random.Random(7), PARIS)
    cabinet = CabinetModel("c", config, program, state, supply, MeterState())
    cabinet.start(start)
    return cabinet


def step_through(cabinet: CabinetModel, start: datetime, hours: float, step_s: float) -> None:
    now = start
    end = start + timedelta(hours=hours)
    while now < end:
        nxt = min(end, now + timedelta(seconds=step_s))
        cabinet.advance(now, nxt)
        now = nxt


def lit_windows(day: date) -> tuple[datetime, datetime]:
    """Switch-on on the evening of ``day`` and switch-off the next morning, straight from astral."""
    observer = Observer(LAT, LON)
    on = sun(observer, date=day, tzinfo=PARIS)["sunset"] + OFFSET
    off = sun(observer, date=day + timedelta(days=1), tzinfo=PARIS)["sunrise"] - OFFSET
    return on, off


def dali_light(arc: int) -> float:
    return 10 ** ((arc - 1) / (253 / 3) - 1) / 100


def led_power(installed_w: float, light: float) -> float:
    return installed_w * (0.07 + 0.93 * light)


# -- switch times ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 3, 28),  # the clocks go forward that night
        date(2026, 6, 20),
        date(2026, 10, 24),  # and back that one
        date(2026, 11, 28),
        date(2026, 12, 21),
    ],
)
def test_lights_on_only_between_sunset_and_sunrise_with_offsets(day: date) -> None:
    start = datetime(day.year, day.month, day.day, 12, tzinfo=PARIS)
    cabinet = make_cabinet(start)
    windows = [lit_windows(day + timedelta(days=shift)) for shift in (-1, 0, 1)]
    now = start
    for _ in range(48 * 60):
        nxt = now + timedelta(minutes=1)
        cabinet.advance(now, nxt)
        now = nxt
        expected = any(on <= now < off for on, off in windows)
        assert cabinet.state.contactors == [expected, expected], now.astimezone(PARIS)


def test_switch_times_use_the_local_zone_not_utc() -> None:
    on, off = lit_windows(date(2026, 11, 28))
    assert on.astimezone(PARIS).hour == 16
    assert off.astimezone(PARIS).hour == 7
    cabinet = make_cabinet(on - timedelta(minutes=1))
    cabinet.advance(on - timedelta(minutes=1), on + timedelta(seconds=1))
    assert cabinet.lit


# -- energy ------------------------------------------------------------------------------------


def test_energy_counter_equals_the_integral_of_power_over_a_day() -> None:
    day = date(2026, 11, 28)
    start = datetime(2026, 11, 28, 12, tzinfo=PARIS)
    dim = (DimStep(time(22), time(6), 50),)
    on, off = lit_windows(day)
    at22 = datetime(2026, 11, 28, 22, tzinfo=PARIS)
    at06 = datetime(2026, 11, 29, 6, tzinfo=PARIS)
    full_h = ((at22 - on) + (off - at06)).total_seconds() / 3600
    dim_h = (at06 - at22).total_seconds() / 3600
    expected_kwh = (
        4.0 * 24 + led_power(3300, 1.0) * full_h + led_power(3300, dali_light(229)) * dim_h
    ) / 1000

    for step_s in (10.0, 60.0, 37.0, 900.0, 3600.0):
        cabinet = make_cabinet(start, steps=dim)
        assert cabinet.meter is not None
        before = cabinet.meter.import_energy_kwh
        step_through(cabinet, start, 24, step_s)
        counted = cabinet.meter.import_energy_kwh - before
        assert counted == pytest.approx(expected_kwh, rel=0.005), step_s
        assert counted == pytest.approx(expected_kwh, rel=1e-6), step_s  # exact, in fact


def test_counter_matches_the_sampled_power_of_the_meter() -> None:
    start = datetime(2026, 11, 28, 12, tzinfo=ZoneInfo("Europe/Paris"))
    cabinet = make_cabinet(start, steps=(DimStep(time(23), time(5), 30),))
    meter = cabinet.meter
    assert meter is not None
    before = meter.import_energy_kwh
    integral_wh = 0.0
    previous = meter.total_power_w
    now = start
    for _ in range(24 * 60 * 6):
        nxt = now + timedelta(seconds=10)
        cabinet.advance(now, nxt)
        integral_wh += (previous + meter.total_power_w) / 2 * 10 / 3600
        previous = meter.total_power_w
        now = nxt
    assert (meter.import_energy_kwh - before) * 1000 == pytest.approx(integral_wh, rel=0.005)


def test_meter_values_are_consistent() -> None:
    on, _ = lit_windows(date(2026, 11, 28))
    cabinet = make_cabinet(on + timedelta(minutes=5))
    meter = cabinet.meter
    assert meter is not None
    for phase in range(3):
        v, i, p, pf = (
            meter.voltage_v[phase],
            meter.current_a[phase],
            meter.power_w[phase],
            meter.power_factor[phase],
        )
        assert 220 < v < 240
        assert 0.9 <= pf <= 0.98 or phase != 0
        assert i == pytest.approx(p / (v * pf), rel=1e-9)
    assert 49.95 <= meter.frequency_hz <= 50.05
    assert meter.total_power_w == pytest.approx(3300 + 4, rel=1e-9)


def test_power_factor_is_lower_when_dimmed_and_standby_is_a_few_watts() -> None:
    on, _ = lit_windows(date(2026, 11, 28))
    full = make_cabinet(on + timedelta(minutes=5))
    dimmed = make_cabinet(on + timedelta(minutes=5), steps=(DimStep(time.min, time.max, 10),))
    assert full.meter is not None
    assert dimmed.meter is not None
    assert dimmed.meter.power_factor[1] < full.meter.power_factor[1]
    assert dimmed.meter.total_power_w == pytest.approx(led_power(3300, dali_light(170)) + 4)
    day = make_cabinet(datetime(2026, 11, 28, 12, tzinfo=PARIS))
    assert day.meter is not None
    assert day.meter.total_power_w == pytest.approx(4.0)


def test_single_phase_meter_sees_everything_on_phase_one() -> None:
    on, _ = lit_windows(date(2026, 11, 28))
    cabinet = make_cabinet(on + timedelta(minutes=5), installed_w=1100, circuits=1, phases=1)
    assert cabinet.meter is not None
    assert cabinet.meter.power_w == [pytest.approx(1104.0), 0.0, 0.0]
    assert cabinet.meter.voltage_v[1] == 0.0


# -- commands ----------------------------------------------------------------------------------


def test_a_coil_write_puts_the_cabinet_in_commanded_mode() -> None:
    noon = datetime(2026, 11, 28, 12, tzinfo=PARIS)
    cabinet = make_cabinet(noon)
    device = CabinetController(cabinet.state)
    cabinet.command_mirror = device.commanded
    assert device.coils.write(0, [False]) is None  # the same value as now: still a command
    cabinet.advance(noon, noon + timedelta(hours=12))  # across sunset
    assert cabinet.mode is CabinetMode.COMMANDED
    assert not cabinet.lit
    assert device.coils.write(0, [True, True]) is None
    cabinet.advance(noon + timedelta(hours=12), noon + timedelta(hours=24))  # across sunrise
    assert cabinet.state.contactors == [True, True]


def test_autonomous_program_drives_the_controller_coils_without_discrepancy() -> None:
    on, _ = lit_windows(date(2026, 11, 28))
    cabinet = make_cabinet(on - timedelta(minutes=1))
    device = CabinetController(cabinet.state)
    cabinet.command_mirror = device.commanded
    cabinet.advance(on - timedelta(minutes=1), on + timedelta(minutes=1))
    assert device.coils.read(0, 2) == [True, True]
    assert device.discrepancies() == 0
    assert cabinet.mode is CabinetMode.AUTONOMOUS


def test_set_mode_returns_to_the_builtin_program() -> None:
    noon = datetime(2026, 11, 28, 12, tzinfo=PARIS)
    cabinet = make_cabinet(noon)
    cabinet.state.dim_setpoint_pct = 40
    cabinet.advance(noon, noon + timedelta(minutes=1))
    assert cabinet.mode is CabinetMode.COMMANDED
    cabinet.set_mode(CabinetMode.AUTONOMOUS)
    cabinet.advance(noon + timedelta(minutes=1), noon + timedelta(minutes=2))
    assert cabinet.state.dim_setpoint_pct == 100
    assert cabinet.mode.value == "autonomous"


# -- faults ------------------------------------------------------------------------------------


def territory_at(start: datetime) -> tuple[ManualClock, Territory]:
    clock = ManualClock(start)
    demo = load_scenario("demo").model_copy(update={"faults": []})
    return clock, build_territory(demo, clock)


def test_day_burner_lights_in_daylight_until_lifted() -> None:
    noon = datetime(2026, 11, 28, 12, tzinfo=PARIS)
    clock, territory = territory_at(noon)
    territory.inject(FaultAction(FaultKind.DAY_BURNER, "vil-c002", duration_s=3600))
    clock.advance(60)
    territory.advance_to(clock.now())
    cabinet = territory.parts.cabinets["vil-c002"]
    assert cabinet.lit
    assert cabinet.meter is not None
    assert cabinet.meter.total_power_w > 1000
    clock.advance(3600)
    territory.advance_to(clock.now())
    assert not cabinet.lit


def test_stuck_contactor_keeps_its_circuit_lit_after_sunrise() -> None:
    _, off = lit_windows(date(2026, 11, 28))
    clock, territory = territory_at(off - timedelta(minutes=30))
    territory.inject(FaultAction(FaultKind.STUCK_CONTACTOR, "vil-c002/controller", circuit=1))
    device = CabinetController(territory.parts.cabinets["vil-c002"].state)
    territory.parts.cabinets["vil-c002"].command_mirror = device.commanded
    clock.advance(3600)
    territory.advance_to(clock.now())
    cabinet = territory.parts.cabinets["vil-c002"]
    assert cabinet.state.contactors == [False, True]
    assert device.discrepancies() == 0b10
    assert cabinet.power_w() == pytest.approx(4 + 2100 / 2, rel=0.05)


def test_stuck_contactor_set_through_the_modbus_device_is_honoured() -> None:
    _, off = lit_windows(date(2026, 11, 28))
    clock, territory = territory_at(off - timedelta(minutes=30))
    cabinet = territory.parts.cabinets["vil-c002"]
    device = CabinetController(cabinet.state)
    device.faults.set(Fault.STUCK_CONTACTOR, circuit=0)
    clock.advance(3600)
    territory.advance_to(clock.now())
    assert cabinet.state.contactors == [True, False]


def test_lamp_failure_removes_luminaire_power() -> None:
    on, _ = lit_windows(date(2026, 11, 28))
    clock, territory = territory_at(on + timedelta(minutes=5))
    cabinet = territory.parts.cabinets["vil-c002"]
    before = cabinet.power_w()
    territory.inject(FaultAction(FaultKind.LAMP_FAILURE, "vil-c002", circuit=0, count=3))
    clock.advance(1)
    territory.advance_to(clock.now())
    assert before - cabinet.power_w() == pytest.approx(3 * cabinet.config.luminaire_w)


def test_counter_reset_and_meter_replaced() -> None:
    _, territory = territory_at(datetime(2026, 11, 28, 20, tzinfo=PARIS))
    meter = territory.parts.meters["vil-c001/meter"]
    assert meter.import_energy_kwh > 100  # a meter installed some time ago
    territory.inject(FaultAction(FaultKind.COUNTER_RESET, "vil-c001/meter"))
    assert meter.import_energy_kwh == 0.0
    serial = meter.serial_number
    territory.inject(FaultAction(FaultKind.METER_REPLACED, "vil-c001/meter", initial_kwh=1.5))
    assert meter.serial_number == serial + 1
    assert meter.import_energy_kwh == 1.5
    territory.inject(FaultAction(FaultKind.METER_REPLACED, "vil-c001/meter", serial=4242))
    assert meter.serial_number == 4242


def test_a_scheduled_fault_happens_at_its_instant_whatever_the_step() -> None:
    start = datetime(2026, 11, 28, 20, tzinfo=PARIS)
    clock, territory = territory_at(start)
    territory.schedule_after(1800, FaultAction(FaultKind.COUNTER_RESET, "vil-c002/meter"))
    cabinet = territory.parts.cabinets["vil-c002"]
    clock.advance(3600)
    territory.advance_to(clock.now())
    assert cabinet.meter is not None
    expected_kwh = cabinet.power_w() * 1800 / 3.6e6
    assert cabinet.meter.import_energy_kwh == pytest.approx(expected_kwh, rel=1e-9)


def test_dali_gear_follow_their_circuit_and_take_faults() -> None:
    on, _ = lit_windows(date(2026, 11, 28))
    clock, territory = territory_at(on - timedelta(minutes=10))
    line = territory.parts.dali_lines["vil-c001/dali"]
    assert all(gear.power_w == 0.0 for gear in line.gear)  # no mains in daylight
    clock.advance(20 * 60)
    territory.advance_to(clock.now())
    assert all(gear.actual_level == 254 for gear in line.gear)  # POWER ON LEVEL
    territory.inject(FaultAction(FaultKind.LAMP_FAILURE, "vil-c001/dali/2"))
    assert line.gear[2].lamp_failure
    assert line.gear[2].status & 0b10
    clock.advance(60)
    territory.advance_to(clock.now())
    cabinet = territory.parts.cabinets["vil-c001"]
    gear_w = sum(gear.power_w for gear in line.gear)
    assert gear_w == pytest.approx(3 * 40 + 4 * 0.5)
    assert cabinet.power_w() == pytest.approx(3300 + 4 + gear_w)


def test_dali_energy_reaches_the_cabinet_meter() -> None:
    on, _ = lit_windows(date(2026, 11, 28))
    start = on + timedelta(minutes=5)
    clock, territory = territory_at(start)
    cabinet = territory.parts.cabinets["vil-c001"]
    assert cabinet.meter is not None
    before = cabinet.meter.import_energy_kwh
    clock.advance(3600)
    territory.advance_to(clock.now())
    expected_wh = (3300 + 4 + 4 * 40.5) * 1.0
    assert (cabinet.meter.import_energy_kwh - before) * 1000 == pytest.approx(expected_wh, rel=1e-6)


async def test_run_follows_the_clock_in_steps() -> None:
    start = datetime(2026, 11, 28, 12, tzinfo=PARIS)
    clock, territory = territory_at(start)
    seen: list[datetime] = []
    ten = asyncio.Event()

    def on_step(moment: datetime) -> None:
        seen.append(moment)
        if len(seen) >= 10:
            ten.set()

    task = asyncio.create_task(territory.run(clock, 30.0, on_step))
    await asyncio.wait_for(ten.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen[:3] == [start + timedelta(seconds=30 * k) for k in (1, 2, 3)]
    assert math.isclose((territory.now - start).total_seconds(), 30 * len(seen))


def test_faults_scripted_in_the_scenario_happen_on_time() -> None:
    start = datetime(2026, 11, 28, 20, tzinfo=PARIS)
    scenario = load_scenario("demo")  # a DALI lamp fails after 3600 s
    at = {"at": "2026-11-28T20:30:00+01:00", "device": "vil-c002", "kind": "door_open"}
    timed = scenario.model_copy(update={"faults": [*scenario.faults, FaultSpec.model_validate(at)]})
    clock = ManualClock(start)
    territory = build_territory(timed, clock)
    gear = territory.parts.dali_lines["vil-c001/dali"].gear[2]
    door = territory.parts.cabinets["vil-c002"].state
    clock.advance(1799)
    territory.advance_to(clock.now())
    assert not door.door_open
    clock.advance(1)
    territory.advance_to(clock.now())
    assert door.door_open
    assert not gear.lamp_failure
    clock.advance(1800)
    territory.advance_to(clock.now())
    assert gear.lamp_failure


def test_lifted_faults_give_the_contactors_back_to_their_coils_in_commanded_mode() -> None:
    noon = datetime(2026, 11, 28, 12, tzinfo=PARIS)
    clock, territory = territory_at(noon)
    cabinet = territory.parts.cabinets["vil-c002"]
    device = CabinetController(cabinet.state)
    cabinet.command_mirror = device.commanded
    assert device.coils.write(0, [False, False]) is None  # the edge takes over
    territory.inject(FaultAction(FaultKind.DAY_BURNER, "vil-c002", duration_s=600))
    territory.inject(FaultAction(FaultKind.STUCK_CONTACTOR, "vil-c002", circuit=1, duration_s=1500))
    clock.advance(300)
    territory.advance_to(clock.now())
    assert cabinet.state.contactors == [True, True]
    assert device.discrepancies() == 0b11
    clock.advance(600)
    territory.advance_to(clock.now())
    assert cabinet.state.contactors == [False, True]  # the day-burner is gone, circuit 1 stuck
    clock.advance(700)
    territory.advance_to(clock.now())
    assert cabinet.state.contactors == [False, False]
    assert cabinet.mode is CabinetMode.COMMANDED
