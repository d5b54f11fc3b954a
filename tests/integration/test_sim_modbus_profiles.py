"""The device profiles in firmware_configs/profiles against the simulators, two independent
sources of the same register maps.

Every field of every profile is read from the simulated device over Modbus TCP with pymodbus,
decoded by the small decoder below from nothing but the profile, and compared with the state the
simulator encodes. A profile field without an expectation here, or an expectation without a
field, fails the test, so the two cannot drift apart silently.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml
from pymodbus.client import AsyncModbusTcpClient

from simulators.modbus import (
    CabinetController,
    Em24,
    GateController,
    Iem3155,
    LoopStation,
    ModbusDevice,
    Sdm120,
    Sdm630,
    serve_tcp,
)
from simulators.state import (
    CabinetState,
    GateControllerState,
    LaneState,
    LoopStationState,
    MeterState,
)

pytestmark = pytest.mark.integration

PROFILES = Path(__file__).parents[2] / "firmware_configs" / "profiles"
DT = AsyncModbusTcpClient.DATATYPE
TYPES = {
    "int16": (DT.INT16, 1),
    "uint16": (DT.UINT16, 1),
    "int32": (DT.INT32, 2),
    "uint32": (DT.UINT32, 2),
    "int64": (DT.INT64, 4),
    "uint64": (DT.UINT64, 4),
    "float32": (DT.FLOAT32, 2),
    "float64": (DT.FLOAT64, 4),
}
FUNCTIONS = {"coil", "discrete_input", "holding_register", "input_register"}
Value = float | int | bool | str | None


Expectations = dict[str, Callable[[], Value]]


@dataclass
class Site:
    """Fresh states for one test, with a value in every field so a wrong address shows."""

    meter: MeterState = field(
        default_factory=lambda: MeterState(
            serial_number=24010042,
            voltage_v=[230.2, 231.5, 229.8],
            current_a=[1.25, 2.5, 3.75],
            power_w=[250.0, 520.0, 760.0],
            power_factor=[0.87, 0.91, 0.95],
            frequency_hz=49.98,
            import_energy_kwh=12345.6,
            export_energy_kwh=7.8,
        )
    )
    loop: LoopStationState = field(
        default_factory=lambda: LoopStationState(
            lanes=[
                LaneState(
                    vehicle_count=70000, occupancy_pct=12.3, speed_kmh=54.3, interval_count=17
                ),
                LaneState(vehicle_count=40, occupancy_pct=55.0, speed_kmh=None, interval_count=3),
            ]
        )
    )
    gate: GateControllerState = field(
        default_factory=lambda: GateControllerState(
            entries=1234, exits=1200, queue_count=6, queue_occupancy_pct=41.5, barrier_open=True
        )
    )
    cabinet: CabinetState = field(
        default_factory=lambda: CabinetState(
            contactors=[True, False, True, False], door_open=True, dim_setpoint_pct=70
        )
    )


def _per_phase(name: str, values: list[float]) -> Expectations:
    return {name.format(n=n + 1): partial(values.__getitem__, n) for n in range(3)}


def three_phase(site: Site, *, energy_total: bool, serial: bool) -> Expectations:
    s = site.meter
    expected: Expectations = {
        **_per_phase("voltage_l{n}_v", s.voltage_v),
        **_per_phase("current_l{n}_a", s.current_a),
        **_per_phase("power_l{n}_w", s.power_w),
        "power_total_w": lambda: s.total_power_w,
        "power_factor_total": lambda: s.total_power_factor,
        "frequency_hz": lambda: s.frequency_hz,
        "energy_import_kwh": lambda: s.import_energy_kwh,
        "energy_export_kwh": lambda: s.export_energy_kwh,
    }
    if energy_total:
        expected["energy_total_kwh"] = lambda: s.import_energy_kwh + s.export_energy_kwh
    if serial:
        expected["serial_number"] = lambda: s.serial_number
    return expected


def sdm630(site: Site) -> Expectations:
    power_factors = _per_phase("power_factor_l{n}", site.meter.power_factor)
    return three_phase(site, energy_total=True, serial=True) | power_factors


def sdm120(site: Site) -> Expectations:
    s = site.meter
    return {
        "voltage_l1_v": lambda: s.voltage_v[0],
        "current_l1_a": lambda: s.current_a[0],
        "power_total_w": lambda: s.power_w[0],
        "power_factor_total": lambda: s.power_factor[0],
        "frequency_hz": lambda: s.frequency_hz,
        "energy_import_kwh": lambda: s.import_energy_kwh,
        "energy_export_kwh": lambda: s.export_energy_kwh,
        "energy_total_kwh": lambda: s.import_energy_kwh + s.export_energy_kwh,
        "serial_number": lambda: s.serial_number,
    }


def iem3155(site: Site) -> Expectations:
    return three_phase(site, energy_total=False, serial=True)


def em24(site: Site) -> Expectations:
    power_factors = _per_phase("power_factor_l{n}", site.meter.power_factor)
    return three_phase(site, energy_total=False, serial=False) | power_factors


def _lane(lane: LaneState, number: int) -> Expectations:
    return {
        f"lane{number}_vehicle_count": lambda: lane.vehicle_count % 65536,
        f"lane{number}_occupancy_pct": lambda: lane.occupancy_pct,
        f"lane{number}_speed_kmh": lambda: lane.speed_kmh,
        f"lane{number}_interval_count": lambda: lane.interval_count,
    }


def loop_station(site: Site) -> Expectations:
    lanes = site.loop.lanes
    expected: Expectations = {
        "lane_count": lambda: len(lanes),
        "interval_s": lambda: site.loop.interval_s,
    }
    for n in range(4):  # lanes the station lacks read as unconnected channels
        expected |= _lane(lanes[n] if n < len(lanes) else LaneState(), n + 1)
    return expected


def gate_controller(site: Site) -> Expectations:
    g = site.gate
    return {
        "entries": lambda: g.entries,
        "exits": lambda: g.exits,
        "queue_count": lambda: g.queue_count,
        "queue_occupancy_pct": lambda: g.queue_occupancy_pct,
        "barrier_open": lambda: g.barrier_open,
        "capacity": lambda: g.capacity,
    }


def cabinet_controller(site: Site) -> Expectations:
    c = site.cabinet
    expected: Expectations = {
        "door_open": lambda: c.door_open,
        "dim_setpoint_pct": lambda: c.dim_setpoint_pct,
        "contactor_discrepancy_mask": lambda: 0,
    }
    for n in range(4):
        expected[f"contactor_{n + 1}_command"] = partial(c.contactors.__getitem__, n)
        expected[f"contactor_{n + 1}_closed"] = partial(c.contactors.__getitem__, n)
    return expected


@dataclass(frozen=True)
class Case:
    unit: int
    device: Callable[[Site], ModbusDevice]
    expected: Callable[[Site], Expectations]


CASES = {
    "eastron-sdm630": Case(1, lambda site: Sdm630(site.meter), sdm630),
    "eastron-sdm120": Case(2, lambda site: Sdm120(site.meter), sdm120),
    "schneider-iem3155": Case(3, lambda site: Iem3155(site.meter), iem3155),
    "carlo-gavazzi-em24": Case(4, lambda site: Em24(site.meter), em24),
    "eclor-loop-station": Case(5, lambda site: LoopStation(site.loop), loop_station),
    "eclor-gate-controller": Case(6, lambda site: GateController(site.gate), gate_controller),
    "eclor-cabinet-controller": Case(
        7, lambda site: CabinetController(site.cabinet), cabinet_controller
    ),
}


def load(model: str) -> dict[str, Any]:
    profile = yaml.safe_load((PROFILES / f"{model}.yaml").read_text())
    assert isinstance(profile, dict)
    return profile


@pytest.fixture
def site() -> Site:
    return Site()


@pytest.fixture
async def client(site: Site) -> AsyncIterator[AsyncModbusTcpClient]:
    server = await serve_tcp({case.unit: case.device(site) for case in CASES.values()})
    assert isinstance(server.port, int)
    modbus = AsyncModbusTcpClient("127.0.0.1", port=server.port, timeout=1, retries=0)
    await modbus.connect()
    yield modbus
    modbus.close()
    await server.stop()


async def read_value(
    client: AsyncModbusTcpClient, profile: dict[str, Any], spec: dict[str, Any], unit: int
) -> Value:
    """What the edge would make of ``spec`` (a field or identify entry), from the profile only."""
    address = spec["address"] - (1 if profile["addressing"] == "one_based" else 0)
    function = spec["function"]
    if function in ("coil", "discrete_input"):
        read_bits = client.read_coils if function == "coil" else client.read_discrete_inputs
        bits = await read_bits(address, count=1, device_id=unit)
        assert not bits.isError(), bits
        return bool(bits.bits[0])
    read = client.read_holding_registers
    if function == "input_register":
        read = client.read_input_registers
    if spec["type"] == "string":
        reply = await read(address, count=spec["length"], device_id=unit)
        assert not reply.isError(), reply
        return str(client.convert_from_registers(reply.registers, DT.STRING))
    datatype, count = TYPES[spec["type"]]
    reply = await read(address, count=count, device_id=unit)
    assert not reply.isError(), (spec, reply)
    return _decode(client, list(reply.registers), datatype, spec)


def _decode(
    client: AsyncModbusTcpClient, registers: list[int], datatype: Any, spec: dict[str, Any]
) -> Value:
    if spec.get("byte_order", "big") == "little":
        registers = [((r & 0xFF) << 8) | (r >> 8) for r in registers]
    raw = client.convert_from_registers(
        registers, datatype, word_order=spec.get("word_order", "big")
    )
    assert isinstance(raw, int | float)
    if spec.get("invalid") is not None and raw == spec["invalid"]:
        return None
    scale, offset = float(spec.get("scale", 1.0)), float(spec.get("offset", 0.0))
    return raw * scale + offset


def test_every_model_has_a_profile_and_nothing_else_is_there() -> None:
    assert sorted(p.stem for p in PROFILES.glob("*.yaml")) == sorted(CASES)


@pytest.mark.parametrize("model", sorted(CASES))
def test_profile_is_well_formed(model: str) -> None:
    profile = load(model)
    assert profile["model"] == model == CASES[model].device(Site()).model
    assert profile["addressing"] in ("zero_based", "one_based")
    names = [entry["name"] for entry in profile["fields"]]
    assert len(names) == len(set(names))
    for entry in profile["fields"]:
        assert entry["function"] in FUNCTIONS
        assert entry["type"] == "bool" or entry["type"] in TYPES or entry["type"] == "string"
        assert (entry["type"] == "bool") == (entry["function"] in ("coil", "discrete_input"))
        assert re.fullmatch(r"[a-z][a-z0-9_]*", entry["name"])


@pytest.mark.parametrize("model", sorted(CASES))
async def test_profile_fields_decode_to_the_simulated_state(
    client: AsyncModbusTcpClient, site: Site, model: str
) -> None:
    profile = load(model)
    unit, expected = CASES[model].unit, CASES[model].expected(site)
    assert sorted(entry["name"] for entry in profile["fields"]) == sorted(expected)
    for entry in profile["fields"]:
        got = await read_value(client, profile, entry, unit)
        want = expected[entry["name"]]()
        assert _matches(got, want, entry), f"{model}.{entry['name']}: read {got}, state {want}"


def _matches(got: Value, want: Value, spec: dict[str, Any]) -> bool:
    if want is None or isinstance(want, bool) or isinstance(got, bool):
        return got == want
    assert isinstance(got, int | float)
    assert isinstance(want, int | float)
    if spec["type"] == "float32":
        return math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-6)
    return math.isclose(got, want, abs_tol=abs(spec.get("scale", 1.0)) / 2 + 1e-9)


@pytest.mark.parametrize("model", sorted(CASES))
async def test_identify_signature_matches_the_device(
    client: AsyncModbusTcpClient, model: str
) -> None:
    profile = load(model)
    unit = CASES[model].unit
    for signature in profile["identify"]:
        value = await read_value(client, profile, signature, unit)
        if "equals" in signature:
            assert value == signature["equals"], signature
        else:
            assert isinstance(value, int | float)
            assert signature["min"] <= value <= signature["max"], signature


LIMITED = sorted(m for m in CASES if load(m)["limits"]["max_registers_per_request"] < 125)


@pytest.mark.parametrize("model", LIMITED)
async def test_request_limits_are_the_device_limits(
    client: AsyncModbusTcpClient, model: str
) -> None:
    profile = load(model)
    unit, limit = CASES[model].unit, profile["limits"]["max_registers_per_request"]
    start = profile["fields"][0]["address"]
    allowed = await client.read_input_registers(start, count=limit, device_id=unit)
    assert not allowed.isError()
    too_many = await client.read_input_registers(start, count=limit + 2, device_id=unit)
    assert too_many.isError()
    if profile["limits"]["even_alignment"]:
        odd = await client.read_input_registers(start + 1, count=2, device_id=unit)
        assert odd.isError()
        assert odd.exception_code == 2


async def test_writable_entries_reach_the_state(client: AsyncModbusTcpClient, site: Site) -> None:
    writes = {
        "eclor-cabinet-controller": {"contactor_2": True, "dim_setpoint_pct": 35},
        "eclor-loop-station": {"interval_s": 300},
        "eclor-gate-controller": {"capacity": 12},
    }
    for model, values in writes.items():
        unit = CASES[model].unit
        entries = {entry["name"]: entry for entry in load(model)["writable"]}
        for name, value in values.items():
            entry = entries[name]
            if entry["function"] == "coil":
                reply = await client.write_coil(entry["address"], bool(value), device_id=unit)
            else:
                reply = await client.write_register(entry["address"], int(value), device_id=unit)
            assert not reply.isError(), (model, name, reply)
    assert site.cabinet.contactors[1] is True
    assert (site.cabinet.dim_setpoint_pct, site.loop.interval_s, site.gate.capacity) == (
        35,
        300,
        12,
    )
