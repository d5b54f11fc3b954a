"""Register encoding, the live tables, and the fault set of the simulated Modbus devices."""

from __future__ import annotations

import pytest
from pymodbus.client import ModbusBaseClient
from pymodbus.constants import ExcCodes

from simulators.modbus import codec
from simulators.modbus.datamodel import Bit, BitTable, Block, Registers, RegisterTable
from simulators.modbus.faults import Fault, FaultParams, FaultSet

DT = ModbusBaseClient.DATATYPE


def test_float32_is_most_significant_word_first() -> None:
    assert codec.float32(240.5) == [0x4370, 0x8000]  # the Eastron manual's own example


def test_int32_little_word_puts_the_low_word_first() -> None:
    regs = codec.int32(codec.scaled(230.2, 0.1), word_order="little")
    assert regs == [2302, 0]
    assert ModbusBaseClient.convert_from_registers(regs, DT.INT32, word_order="little") == 2302


def test_int64_carries_watt_hours_beyond_32_bits() -> None:
    wh = 5_000_000_000
    regs = codec.int64(wh)
    assert len(regs) == 4
    assert ModbusBaseClient.convert_from_registers(regs, DT.INT64) == wh


def test_counters_wrap_and_measurements_saturate() -> None:
    assert codec.wrap(65537, 16) == 1
    assert codec.uint16(70000) == [0xFFFF]
    assert codec.int16(-40000) == [0x8000]


def test_string_is_padded_to_its_register_count() -> None:
    regs = codec.string("iEM3155", 20)
    assert len(regs) == 20
    text = ModbusBaseClient.convert_from_registers(regs, DT.STRING)
    assert text == "iEM3155"


def _table() -> tuple[RegisterTable, dict[str, int]]:
    store = {"a": 7}

    def write(regs: list[int]) -> None:
        store["a"] = regs[0]

    table = RegisterTable(
        [
            Registers(10, 1, lambda: [store["a"]], write=write, valid=lambda r: r[0] < 100),
            Registers(12, 2, lambda: [1, 2]),
        ],
        blocks=[Block(10, 16, (0xAAAA,))],
    )
    return table, store


def test_reads_inside_a_block_fill_reserved_registers() -> None:
    table, _ = _table()
    assert table.read(10, 6) == [7, 0xAAAA, 1, 2, 0xAAAA, 0xAAAA]


def test_reads_outside_every_block_are_illegal_addresses() -> None:
    table, _ = _table()
    assert table.read(9, 2) is ExcCodes.ILLEGAL_ADDRESS
    assert table.read(15, 2) is ExcCodes.ILLEGAL_ADDRESS


def test_reads_encode_the_state_at_read_time() -> None:
    table, store = _table()
    store["a"] = 42
    assert table.read(10, 1) == [42]


def test_writes_check_address_then_value_then_apply() -> None:
    table, store = _table()
    assert table.write(12, [1, 2]) is ExcCodes.ILLEGAL_ADDRESS  # read-only
    assert table.write(11, [1]) is ExcCodes.ILLEGAL_ADDRESS  # reserved
    assert table.write(10, [100]) is ExcCodes.ILLEGAL_VALUE
    assert store["a"] == 7
    assert table.write(10, [99]) is None
    assert store["a"] == 99


def test_a_partial_write_of_a_value_is_refused() -> None:
    table = RegisterTable([Registers(0, 2, lambda: [0, 0], write=lambda _: None)])
    assert table.write(0, [1]) is ExcCodes.ILLEGAL_ADDRESS
    assert table.write(1, [1]) is ExcCodes.ILLEGAL_ADDRESS


def test_bit_tables_need_every_bit_mapped_and_writable() -> None:
    bits = {0: False, 1: True}

    def setter(address: int) -> Bit:
        return Bit(address, lambda: bits[address], lambda v: bits.__setitem__(address, v))

    table = BitTable([setter(0), setter(1), Bit(2, lambda: True)])
    assert table.read(0, 3) == [False, True, True]
    assert table.read(0, 4) is ExcCodes.ILLEGAL_ADDRESS
    assert table.write(1, [False, False]) is ExcCodes.ILLEGAL_ADDRESS  # bit 2 is read-only
    assert bits[1] is True
    assert table.write(0, [True, False]) is None
    assert bits == {0: True, 1: False}


class _Hook:
    def __init__(self) -> None:
        self.calls: list[tuple[Fault, FaultParams | None]] = []

    def __call__(self, fault: Fault, params: FaultParams | None) -> None:
        self.calls.append((fault, params))


def _faults(*extra: Fault) -> tuple[FaultSet, _Hook]:
    hook = _Hook()
    supported = {Fault.NO_ANSWER, Fault.EXCEPTION, Fault.SLOW, Fault.CORRUPT_CRC, *extra}
    return FaultSet("test-device", supported, hook), hook


def test_link_faults_shape_the_reply_plan() -> None:
    faults, _ = _faults()
    assert faults.plan().answer
    faults.set(Fault.EXCEPTION, code=6)
    faults.set(Fault.SLOW, delay_ms=250)
    faults.set(Fault.CORRUPT_CRC)
    plan = faults.plan()
    assert (plan.exception_code, plan.delay_s, plan.corrupt_crc) == (6, 0.25, True)
    faults.set(Fault.NO_ANSWER)
    assert not faults.plan().answer
    faults.clear()
    assert faults.active == frozenset()


def test_a_counted_fault_clears_itself() -> None:
    faults, _ = _faults()
    faults.set(Fault.NO_ANSWER, times=2)
    assert [faults.plan().answer for _ in range(3)] == [False, False, True]
    assert Fault.NO_ANSWER not in faults


def test_events_happen_once_and_conditions_are_released_on_clear() -> None:
    faults, hook = _faults(Fault.COUNTER_RESET, Fault.STUCK_CONTACTOR)
    faults.set(Fault.COUNTER_RESET)
    assert Fault.COUNTER_RESET not in faults
    faults.set(Fault.STUCK_CONTACTOR, circuit=2)
    assert Fault.STUCK_CONTACTOR in faults
    faults.clear(Fault.STUCK_CONTACTOR)
    assert [(f, p.circuit if p else None) for f, p in hook.calls] == [
        (Fault.COUNTER_RESET, 0),
        (Fault.STUCK_CONTACTOR, 2),
        (Fault.STUCK_CONTACTOR, None),
    ]


def test_a_device_refuses_faults_it_cannot_have() -> None:
    faults, _ = _faults()
    with pytest.raises(ValueError, match="test-device cannot have fault meter_replaced"):
        faults.set(Fault.METER_REPLACED)
    with pytest.raises(ValueError, match="exception code"):
        faults.set(Fault.EXCEPTION, code=0)
