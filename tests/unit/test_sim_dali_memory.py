"""Memory bank rules of the simulated gear: limits, latching, the lock byte, writes."""

from __future__ import annotations

from dali.memory import energy

from simulators.dali import memory


def bank_with_counter() -> tuple[memory.MemoryBankModel, list[float]]:
    live = [1000.0]
    bank = memory.bank202(lambda: live[0], lambda: 12.3)
    return bank, live


def test_layout_comes_from_python_dali_declarations() -> None:
    bank, _ = bank_with_counter()
    assert bank.last_address == 0x0F
    assert bank.read(0x00) == 0x0F
    assert bank.read(0x01) is None  # reserved, not implemented
    assert bank.read(0x10) is None  # past the last accessible location
    assert bank.read(0x03) == 1  # bank version
    assert memory.span(energy.ActiveEnergy) == (0x04, 7)
    assert bank.read(0x04) == 0  # energy scale: 10^0 Wh
    assert bank.read(0x0B) == 0xFF  # power scale: 10^-1 W
    power = bytes(bank.read(a) or 0 for a in range(0x0C, 0x10))
    assert int.from_bytes(power, "big") == 123


def test_first_byte_latches_until_another_value_starts() -> None:
    bank, live = bank_with_counter()
    first = bank.read(0x05)
    live[0] = 0x0102030405
    latched = [first, *(bank.read(a) for a in range(0x06, 0x0B))]
    assert bytes(b or 0 for b in latched) == (1000).to_bytes(6, "big")
    bank.read(0x05)  # reading the first byte again takes a new snapshot
    assert bank.read(0x0A) == 0x05


def test_lock_byte_aa_latches_the_whole_bank() -> None:
    bank, live = bank_with_counter()
    assert bank.write(memory.LOCK_BYTE, memory.LATCH_ALL) == memory.LATCH_ALL
    live[0] = 5000
    assert bank.read(0x0A) == 1000 & 0xFF
    bank.write(memory.LOCK_BYTE, 0xFF)
    assert bank.read(0x0A) == 5000 & 0xFF
    bank.write(memory.LOCK_BYTE, memory.LATCH_ALL)
    bank.power_up()
    assert bank.lock_byte == 0xFF


def test_read_only_locations_refuse_writes() -> None:
    bank, _ = bank_with_counter()
    assert bank.write(0x05, 0) is None
    assert bank.write(0x20, 0) is None


def test_resettable_value_is_written_on_its_last_byte() -> None:
    written: list[int] = []

    def accept(number: int) -> bool:
        written.append(number)
        return True

    field = memory.Field(0x04, 3, memory.constant(b"\x00\x00\x07"), accept)
    bank = memory.MemoryBankModel(250, 0x06, [field], has_lock_byte=True, latches=True)
    assert bank.write(0x04, 0x00) == 0x00
    assert bank.write(0x05, 0x01) == 0x01
    assert not written
    assert bank.write(0x06, 0x02) == 0x02
    assert written == [0x0102]
