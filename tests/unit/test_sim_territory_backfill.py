"""History backfill: its readings equal what the edge decodes from the devices' registers."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest

from eclor.clock import ManualClock
from eclor.wire import Reading
from edge.modbus.decode import decode_registers
from edge.profiles import Field, load_profiles
from simulators.backfill import PROFILE_OF_MODEL, backfill, default_profiles_dir
from simulators.modbus.device import ModbusDevice
from simulators.runner import make_modbus_device
from simulators.scenario import load_scenario
from simulators.territory.build import build_territory
from simulators.territory.edge_view import DeviceView, load_profile_views
from simulators.territory.faults import FaultAction, FaultKind

PARIS = ZoneInfo("Europe/Paris")
EVENING = datetime(2026, 11, 28, 21, 30, tzinfo=PARIS)


def read_like_the_edge(device: ModbusDevice, field: Field) -> object | None:
    """The field decoded from the device's own registers, or None if the device maps no such
    address."""
    address, count = field.protocol_address, field.count
    data: list[int] | list[bool] | object
    if field.function.value == "coil":
        data = device.coils.read(address, count)
    elif field.function.value == "discrete_input":
        data = device.discrete_inputs.read(address, count)
    else:
        data = device.register_table(3 if field.function.value == "holding_register" else 4).read(
            address, count
        )
    if not isinstance(data, list):
        return None
    if field.function.is_bit:
        return bool(data[0])
    return decode_registers(field, [int(r) for r in data])


def test_every_backfilled_field_equals_the_edge_decoding_of_the_registers() -> None:
    scenario = load_scenario("demo")
    clock = ManualClock(EVENING)
    territory = build_territory(scenario, clock)
    territory.inject(FaultAction(FaultKind.STUCK_CONTACTOR, "vil-c002", circuit=0, closed=False))
    clock.advance(600)
    territory.advance_to(clock.now())
    edge_profiles = load_profiles(default_profiles_dir())
    views = load_profile_views(default_profiles_dir())
    compared = 0
    for gateway in scenario.gateways:
        cabinet = territory.parts.cabinets.get(gateway.id)
        for spec in gateway.devices:
            state = territory.parts.device_states[f"{gateway.id}/{spec.id}"]
            device = make_modbus_device(spec.model, state)
            commanded = getattr(device, "commanded", None)
            if cabinet is not None and commanded is not None:
                commanded[:] = [True] * len(commanded)  # what the evening program commands
            name = PROFILE_OF_MODEL[spec.model]
            view = DeviceView(views[name], state, commanded)
            assert view.unknown == [], name
            produced = {k: v for fields in view.read().values() for k, v in fields.items()}
            for field in edge_profiles[name].fields:
                if field.name not in produced:
                    continue
                expected = read_like_the_edge(device, field)
                assert expected is not None, (name, field.name)
                assert produced[field.name] == pytest.approx(expected, rel=1e-12), (
                    name,
                    field.name,
                )
                assert type(produced[field.name]) is type(expected), (name, field.name)
                compared += 1
    assert compared > 80


def test_fields_a_device_lacks_are_left_out() -> None:
    scenario = load_scenario("demo")
    clock = ManualClock(EVENING)
    territory = build_territory(scenario, clock)
    views = load_profile_views(default_profiles_dir())
    loops = DeviceView(views["eclor-loop-station"], territory.parts.device_states["aud-c001/loops"])
    fields = loops.read()["traffic"]
    assert "lane2_vehicle_count" in fields
    assert "lane3_vehicle_count" not in fields
    assert "lane1_speed_kmh" not in fields  # single loops
    cabinet = DeviceView(
        views["eclor-cabinet-controller"], territory.parts.device_states["vil-c002/controller"]
    )
    assert set(cabinet.read()["cabinet"]) >= {"contactor_2_closed", "dim_setpoint_pct"}
    assert "contactor_3_closed" not in cabinet.read()["cabinet"]


def test_backfill_writes_wire_readings(tmp_path: Path) -> None:
    out = tmp_path / "history.jsonl"
    end = datetime(2026, 11, 28, 23, tzinfo=PARIS)
    demo = load_scenario("demo").model_copy(update={"faults": []})
    result = backfill(demo, end, 2 / 24, out)
    assert result.steps == 120
    lines = out.read_bytes().splitlines()
    assert len(lines) == result.readings
    readings = [msgspec.json.decode(line, type=Reading) for line in lines]
    times = sorted({r.time for r in readings})
    assert len(times) == 120
    assert times[1] - times[0] == 60_000
    assert times[-1] == int(end.timestamp() * 1000)
    energy = [
        float(r.fields["energy_import_kwh"])
        for r in readings
        if r.tags["gateway"] == "vil-c001" and r.measurement == "energy"
    ]
    assert len(energy) == 120
    assert energy == sorted(energy)
    dimmed_hour = energy[119] - energy[59]  # 22:00 to 23:00, the program dims to 50 %
    luminaires_w = 3300 * (0.07 + 0.93 * 10 ** (228 / (253 / 3) - 1) / 100)
    dali_w = 4 * 40.5  # not dimmed by the cabinet: DALI levels belong to the bus
    assert dimmed_hour == pytest.approx((luminaires_w + 4 + dali_w) / 1000, abs=0.01)
    gates = [r for r in readings if r.tags["gateway"] == "vil-dech"]
    assert {r.measurement for r in gates} == {"waste_centre"}
    assert {r.device for r in readings} == {"meter", "controller", "loops", "gate"}
    assert {r.measurement for r in readings} == {
        "energy",
        "device",
        "cabinet",
        "traffic",
        "waste_centre",
    }


def test_backfill_compresses_and_follows_the_step(tmp_path: Path) -> None:
    out = tmp_path / "history.jsonl.gz"
    end = datetime(2026, 11, 28, 12, tzinfo=PARIS)
    result = backfill(load_scenario("demo"), end, 1, out, step_s=900)
    assert result.steps == 96
    with gzip.open(out, "rb") as stream:
        lines = stream.read().splitlines()
    assert len(lines) == result.readings > 96 * 10
    assert result.start == end - timedelta(days=1)
