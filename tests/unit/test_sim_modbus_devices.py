"""The device models at the PDU level: encodings, the exception rules of each model, writes and
the state faults. Transports are tested in tests/integration/test_sim_modbus_*.py."""

from __future__ import annotations

import struct

import pytest
from pymodbus.client import ModbusBaseClient

from simulators.modbus import (
    CabinetController,
    Em24,
    Fault,
    GateController,
    Iem3155,
    LoopStation,
    ModbusDevice,
    Sdm120,
    Sdm630,
)
from simulators.modbus.framing import parse_rtu_frame, rtu_frame
from simulators.modbus.protocol import respond
from simulators.state import (
    CabinetState,
    GateControllerState,
    LaneState,
    LoopStationState,
    MeterState,
)

DT = ModbusBaseClient.DATATYPE
GOLDEN_VOLTAGE = struct.unpack(">f", bytes.fromhex("43663334"))[0]


def read(device: ModbusDevice, function: int, address: int, count: int) -> list[int] | int:
    """Registers (or bits as 0/1) read, or the exception code."""
    reply = respond(device, struct.pack(">BHH", function, address, count))
    if reply[0] & 0x80:
        return reply[1]
    if function in (1, 2):
        bits = [bool(reply[2 + i // 8] >> (i % 8) & 1) for i in range(count)]
        return [int(b) for b in bits]
    return list(struct.unpack(f">{reply[1] // 2}H", reply[2:]))


def write(device: ModbusDevice, pdu: bytes) -> bytes:
    return respond(device, pdu)


def f32(value: float) -> list[int]:
    return ModbusBaseClient.convert_to_registers(value, DT.FLOAT32)


def as_f32(registers: list[int] | int) -> float:
    assert isinstance(registers, list)
    value = ModbusBaseClient.convert_from_registers(registers, DT.FLOAT32)
    assert isinstance(value, float)
    return value


def meter_state() -> MeterState:
    return MeterState(
        serial_number=24010042,
        voltage_v=[230.2, 231.5, 229.8],
        current_a=[1.25, 2.5, 3.75],
        power_w=[250.0, 520.0, 760.0],
        power_factor=[0.87, 0.91, 0.95],
        frequency_hz=49.98,
        import_energy_kwh=12345.6,
        export_energy_kwh=7.8,
    )


def test_the_eastron_golden_frame() -> None:
    state = meter_state()
    state.voltage_v[0] = GOLDEN_VOLTAGE
    request = bytes.fromhex("01040000000271CB")
    parsed = parse_rtu_frame(request)
    assert parsed == (1, bytes.fromhex("0400000002"))
    reply = rtu_frame(1, respond(Sdm630(state), parsed[1]))
    assert reply == bytes.fromhex("010404436633341B38")


def test_230_2_itself_is_one_float32_step_below_the_manual_example() -> None:
    assert struct.pack(">f", 230.2).hex() == "43663333"
    assert abs(GOLDEN_VOLTAGE - 230.2) < 1e-4


@pytest.mark.parametrize(
    ("function", "address", "count", "code"),
    [
        (4, 0x0001, 2, 2),  # odd start: half a float
        (4, 0x0000, 3, 2),  # odd count
        (4, 0x0000, 1, 2),  # a single register
        (4, 0x0000, 82, 2),  # 41 values
        (4, 0x0058, 2, 2),  # past the first block
        (4, 0x2000, 2, 2),  # not mapped at all
        (3, 0x0030, 2, 2),  # holding register not mapped
        (4, 0x0000, 126, 3),  # beyond the Modbus limit of 125
        (1, 0x0000, 1, 1),  # no coils on a meter
        (6, 0x0014, 1, 1),  # writes use 16 only
    ],
)
def test_sdm630_refuses_what_the_meter_refuses(
    function: int, address: int, count: int, code: int
) -> None:
    assert read(Sdm630(meter_state()), function, address, count) == code


def test_sdm630_answers_40_values_and_zeros_unmeasured_slots() -> None:
    regs = read(Sdm630(meter_state()), 4, 0x0000, 80)
    assert isinstance(regs, list)
    values = ModbusBaseClient.convert_from_registers(regs, DT.FLOAT32)
    assert isinstance(values, list)
    assert values[0] == pytest.approx(230.2)
    assert values[0x4C // 2] == 0.0  # import kvarh: not in the state


def test_sdm630_serial_number_and_settings() -> None:
    meter = Sdm630(meter_state(), node_address=7, baudrate=19200)
    assert as_f32(read(meter, 3, 0x0014, 2)) == 7.0
    assert as_f32(read(meter, 3, 0x001C, 2)) == 3.0  # 19200 baud
    high, low = as_f32(read(meter, 3, 0x002A, 2)), as_f32(read(meter, 3, 0x002C, 2))
    assert int(high) * 65536 + int(low) == 24010042
    assert read(meter, 3, 0xFC00, 2) == ModbusBaseClient.convert_to_registers(24010042, DT.UINT32)


def test_sdm630_setting_writes_are_checked_and_read_back() -> None:
    meter = Sdm630(meter_state())
    demand = struct.pack(">BHHB2H", 16, 0x0002, 2, 4, *f32(30.0))
    assert write(meter, demand) == bytes.fromhex("1000020002")
    assert read(meter, 3, 0x0002, 2) == f32(30.0)
    bad = struct.pack(">BHHB2H", 16, 0x0002, 2, 4, *f32(7.0))
    assert write(meter, bad) == bytes([0x90, 3])
    serial = struct.pack(">BHHB2H", 16, 0xFC00, 2, 4, 0, 1)
    assert write(meter, serial) == bytes([0x90, 2])


def test_sdm630_echoes_diagnostics_sub_function_zero() -> None:
    meter = Sdm630(meter_state())
    assert write(meter, bytes.fromhex("080000AA55")) == bytes.fromhex("080000AA55")
    assert write(meter, bytes.fromhex("0800010000")) == bytes([0x88, 1])


def test_sdm120_is_the_single_phase_subset() -> None:
    meter = Sdm120(meter_state())
    assert read(meter, 4, 0x0002, 2) == [0, 0]  # phase 2 voltage: not on this meter
    assert read(meter, 4, 0x00C8, 2) == 2  # line-to-line block: three-phase only
    assert as_f32(read(meter, 4, 0x000C, 2)) == 250.0


def test_iem3155_energy_is_int64_watt_hours_at_register_3204() -> None:
    state = meter_state()
    state.import_energy_kwh = 4_500_000.123  # 4.5 GWh: beyond 32 bits in Wh
    regs = read(Iem3155(state), 3, 3203, 4)
    assert isinstance(regs, list)
    assert ModbusBaseClient.convert_from_registers(regs, DT.INT64) == 4_500_000_123


def test_iem3155_reserved_floats_are_nan_and_gaps_are_illegal() -> None:
    meter = Iem3155(meter_state())
    regs = read(meter, 3, 2999, 12)
    assert isinstance(regs, list)
    assert regs[6:8] == [0xFFC0, 0x0000]
    assert read(meter, 3, 3011, 2) == 2
    assert read(meter, 4, 2999, 2) == 1
    assert read(meter, 3, 3059, 2) == f32(1.53)  # kW


def test_em24_int32_little_word_with_fixed_scales() -> None:
    meter = Em24(meter_state())
    assert read(meter, 4, 0x0000, 2) == [2302, 0]
    assert read(meter, 3, 0x0000, 2) == [2302, 0]  # 03 and 04 read the same registers
    assert read(meter, 4, 0x0034, 2) == [123456 & 0xFFFF, 123456 >> 16]
    assert read(meter, 4, 0x0033, 1) == [500]  # 49.98 Hz ×0.1
    assert read(meter, 4, 0x0000, 12) == 3  # more than 11 registers
    assert read(meter, 4, 0x0052, 2) == 2


def test_meter_replaced_changes_serial_and_restarts_energy() -> None:
    state = meter_state()
    meter = Sdm630(state)
    meter.faults.set(Fault.METER_REPLACED, serial_number=25000001)
    assert (state.serial_number, state.import_energy_kwh, state.export_energy_kwh) == (
        25000001,
        0.0,
        0.0,
    )
    meter.faults.set(Fault.METER_REPLACED)
    assert state.serial_number == 25000002


def test_counter_reset_zeroes_energy_but_keeps_the_serial() -> None:
    state = meter_state()
    Em24(state).faults.set(Fault.COUNTER_RESET)
    assert (state.import_energy_kwh, state.serial_number) == (0.0, 24010042)


def loop_state() -> LoopStationState:
    return LoopStationState(
        lanes=[
            LaneState(vehicle_count=65538, occupancy_pct=12.3, speed_kmh=54.3, interval_count=17),
            LaneState(vehicle_count=40, occupancy_pct=55.0, speed_kmh=None, interval_count=3),
        ],
        interval_s=60,
    )


def test_loop_station_lanes_and_absent_lanes() -> None:
    station = LoopStation(loop_state())
    assert read(station, 4, 0x0000, 4) == [0xEC10, 1, 2, 60]
    assert read(station, 4, 0x0000, 5) == 2
    regs = read(station, 4, 0x0010, 16)
    assert isinstance(regs, list)
    assert regs[0:4] == [2, 123, 543, 17]  # the count wrapped at 65536
    assert regs[4:8] == [40, 550, 0xFFFF, 3]  # a single loop: no speed
    assert regs[8:16] == [0, 0, 0xFFFF, 0] * 2  # lanes 3 and 4 are not connected


def test_loop_station_interval_is_writable_within_range() -> None:
    state = loop_state()
    station = LoopStation(state)
    assert write(station, struct.pack(">BHH", 6, 0, 300)) == struct.pack(">BHH", 6, 0, 300)
    assert state.interval_s == 300
    assert write(station, struct.pack(">BHH", 6, 0, 5)) == bytes([0x86, 3])
    station.faults.set(Fault.COUNTER_RESET)
    assert [lane.vehicle_count for lane in state.lanes] == [0, 0]
    with pytest.raises(ValueError, match="cannot have fault meter_replaced"):
        station.faults.set(Fault.METER_REPLACED)


def test_gate_controller_counters_barrier_and_capacity() -> None:
    state = GateControllerState(entries=2**32 + 5, exits=3, queue_count=4, barrier_open=True)
    gate = GateController(state)
    assert read(gate, 4, 0x0002, 6) == [0, 5, 0, 3, 4, 0]
    assert read(gate, 2, 0x0000, 1) == [1]
    assert read(gate, 2, 0x0000, 2) == 2
    assert write(gate, struct.pack(">BHH", 6, 0, 25)) == struct.pack(">BHH", 6, 0, 25)
    assert state.capacity == 25
    assert write(gate, struct.pack(">BHH", 5, 0, 0xFF00)) == bytes([0x85, 1])


def test_cabinet_coils_drive_the_contactors() -> None:
    state = CabinetState()
    cabinet = CabinetController(state)
    assert write(cabinet, bytes.fromhex("050001FF00")) == bytes.fromhex("050001FF00")
    assert state.contactors == [False, True, False, False]
    assert write(cabinet, bytes.fromhex("0F00000004010D")) == bytes.fromhex("0F00000004")
    assert state.contactors == [True, False, True, True]
    assert read(cabinet, 1, 0, 4) == [1, 0, 1, 1]
    assert read(cabinet, 2, 0, 4) == [1, 0, 1, 1]
    assert write(cabinet, bytes.fromhex("0500011234")) == bytes([0x85, 3])
    assert read(cabinet, 1, 0, 5) == 2


def test_cabinet_door_and_setpoint() -> None:
    state = CabinetState(door_open=True)
    cabinet = CabinetController(state)
    assert read(cabinet, 2, 0x0010, 1) == [1]
    assert read(cabinet, 4, 0x0003, 1) == [1]
    assert write(cabinet, struct.pack(">BHHBH", 16, 0, 1, 2, 40)) == struct.pack(">BHH", 16, 0, 1)
    assert state.dim_setpoint_pct == 40
    assert write(cabinet, struct.pack(">BHH", 6, 0, 101)) == bytes([0x86, 3])


def test_a_stuck_contactor_keeps_its_feedback() -> None:
    state = CabinetState()
    cabinet = CabinetController(state)
    cabinet.faults.set(Fault.STUCK_CONTACTOR, circuit=2)
    assert state.stuck_contactor == 2
    write(cabinet, bytes.fromhex("050002FF00"))
    assert read(cabinet, 1, 2, 1) == [1]  # the coil took the command
    assert read(cabinet, 2, 2, 1) == [0]  # the contactor did not move
    assert read(cabinet, 4, 0x0003, 4) == [0b10, 0b100, 0, 0b100]
    cabinet.faults.clear(Fault.STUCK_CONTACTOR)
    assert state.stuck_contactor is None
    assert read(cabinet, 2, 2, 1) == [1]
    with pytest.raises(ValueError, match="circuit index 9"):
        cabinet.faults.set(Fault.STUCK_CONTACTOR, circuit=9)
