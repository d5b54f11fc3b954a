"""Memory banks of a simulated DALI-2 control gear: bank 0 and the D4i banks 202, 205 and 206.

The layouts are not retyped here: each field takes its locations from python-dali's ``dali.memory``
declarations (``energy.ActiveEnergy``, ``diagnostics.LightSourceOnTime`` …), which follow DiiA
Part 252 (energy reporting) and Part 253 (diagnostics and maintenance), version 1.1.

Reading (IEC 62386-102 9.10 and DiiA Part 252 9.2.2, as quoted by python-dali's maintainers):

* reading the first byte of a multi-byte value latches all of its bytes; they stay latched until the
  first byte of any value (multi- or single-byte) is read, so reading a value byte by byte, as
  ``MemoryValue.read`` does, always gives a consistent number;
* writing 0xAA to the lock byte (location 0x02) latches the whole bank until another value is
  written there (``MemoryBank.read_all`` does this); 0x55 unlocks lockable banks;
* an unimplemented location, or one past the last accessible address, gives no answer.

Assumed rather than confirmed against the DiiA text (which is not public): that the scale byte of
a scaled value (e.g. 0x04 before active energy at 0x05–0x0A) counts as a single-byte value of its
own, and the plausible constant values chosen for supply voltage, temperatures and the like.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dali.memory import diagnostics, energy
from dali.memory.location import MemoryValue

LOCK_BYTE = 0x02
LATCH_ALL = 0xAA
UNLOCK = 0x55


@dataclass(frozen=True)
class Field:
    """A value in a bank: ``length`` bytes from ``start``, MSB first, read live from the gear."""

    start: int
    length: int
    read: Callable[[], bytes]
    # Called with the whole value once its last byte is written; returns whether it was accepted.
    write: Callable[[int], bool] | None = None

    def contains(self, location: int) -> bool:
        return self.start <= location < self.start + self.length


def span(value: type[MemoryValue]) -> tuple[int, int]:
    """(first location, number of locations) of a python-dali memory value declaration."""
    addresses = [location.address for location in value.locations]
    if addresses != list(range(addresses[0], addresses[0] + len(addresses))):
        raise ValueError(f"{value.__name__} is not contiguous")
    return addresses[0], len(addresses)


def unsigned(number: float, length: int, max_value: int | None = None) -> bytes:
    """An unsigned big-endian value, clamped to 0..max_value (default: the largest that fits)."""
    top = max_value if max_value is not None else 256**length - 1
    return max(0, min(top, int(number))).to_bytes(length, "big")


def constant(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def field(value: type[MemoryValue], read: Callable[[], bytes]) -> Field:
    start, length = span(value)
    return Field(start, length, read)


def scaled_fields(
    value: type[MemoryValue], scale: int, amount: Callable[[], float], *, counter: bool
) -> tuple[Field, Field]:
    """A DiiA scaled value: a signed power-of-ten scale byte, then the number in that unit.

    A counter shows only completed units (it is truncated); a measurement is rounded.
    """
    start, length = span(value)
    max_value = getattr(value, "max_value", None)
    scale_byte = (scale & 0xFF).to_bytes(1, "big")

    def number() -> bytes:
        units = amount() / 10**scale
        return unsigned(math.floor(units) if counter else round(units), length - 1, max_value)

    return Field(start, 1, constant(scale_byte)), Field(start + 1, length - 1, number)


class MemoryBankModel:
    """One memory bank: its fields, the lock byte, latching and writes."""

    def __init__(
        self,
        number: int,
        last_address: int,
        fields: Sequence[Field],
        *,
        has_lock_byte: bool,
        latches: bool,
    ) -> None:
        self.number = number
        self.last_address = last_address
        self.has_lock_byte = has_lock_byte
        self.latches = latches
        self.lock_byte = 0xFF
        self._fields = sorted(
            [Field(0, 1, constant(bytes([last_address]))), *fields], key=lambda f: f.start
        )
        self._latched: tuple[Field, bytes] | None = None
        self._bank_snapshot: dict[int, int] | None = None
        self._staged: dict[int, int] = {}

    def _field_at(self, location: int) -> Field | None:
        for candidate in self._fields:
            if candidate.contains(location):
                return candidate
        return None

    def _live(self, location: int) -> int | None:
        if self.has_lock_byte and location == LOCK_BYTE:
            return self.lock_byte
        found = self._field_at(location)
        if found is None:
            return None
        return found.read()[location - found.start]

    def read(self, location: int) -> int | None:
        """The answer to READ MEMORY LOCATION at ``location``, or None (no answer)."""
        if location > self.last_address:
            return None
        if self._bank_snapshot is not None and location != LOCK_BYTE:
            return self._bank_snapshot.get(location)
        found = self._field_at(location)
        if not self.latches or found is None:
            return self._live(location)
        if location == found.start:
            data = found.read()
            self._latched = (found, data) if found.length > 1 else None
            return data[0]
        if self._latched is not None and self._latched[0] is found:
            return self._latched[1][location - found.start]
        return self._live(location)

    def write(self, location: int, value: int) -> int | None:
        """WRITE MEMORY LOCATION: the value written (the answer), or None if not written."""
        if location > self.last_address:
            return None
        if self.has_lock_byte and location == LOCK_BYTE:
            self._set_lock_byte(value)
            return value
        found = self._field_at(location)
        if found is None or found.write is None:
            return None
        self._staged[location] = value
        if location != found.start + found.length - 1:
            return value
        data = [self._staged.pop(a, 0) for a in range(found.start, found.start + found.length)]
        return value if found.write(int.from_bytes(bytes(data), "big")) else None

    def _set_lock_byte(self, value: int) -> None:
        self.lock_byte = value
        if self.latches and value == LATCH_ALL:
            self._bank_snapshot = {}
            for location in range(self.last_address + 1):
                live = self._live(location)
                if live is not None:
                    self._bank_snapshot[location] = live
        else:
            self._bank_snapshot = None

    def power_up(self) -> None:
        """RAM contents after a power cycle: lock byte 0xFF, nothing latched or staged."""
        self._set_lock_byte(0xFF)
        self._latched = None
        self._staged.clear()


# --- the banks of a simulated LED gear -----------------------------------------------------


@dataclass(frozen=True)
class Identity:
    gtin: int = 0x0123456789AB
    serial: int = 1
    firmware: tuple[int, int] = (1, 0)
    hardware: tuple[int, int] = (1, 0)


def bank0(identity: Identity) -> MemoryBankModel:
    """IEC 62386-102 bank 0 (ROM): GTIN, versions, serial number; parts 101/102 version 2.0."""
    fields = [
        Field(0x02, 1, constant(b"\x00")),  # last accessible memory bank (200+ are DiiA banks)
        Field(0x03, 6, constant(identity.gtin.to_bytes(6, "big"))),
        Field(0x09, 2, constant(bytes(identity.firmware))),
        Field(0x0B, 8, constant(identity.serial.to_bytes(8, "big"))),
        Field(0x13, 2, constant(bytes(identity.hardware))),
        Field(0x15, 1, constant(b"\x08")),  # part 101 version 2.0
        Field(0x16, 1, constant(b"\x08")),  # part 102 version 2.0
        Field(0x17, 1, constant(b"\xff")),  # part 103 not implemented
        Field(0x18, 1, constant(b"\x00")),  # logical control device units
        Field(0x19, 1, constant(b"\x01")),  # logical control gear units
        Field(0x1A, 1, constant(b"\x00")),  # index of this logical gear unit
    ]
    return MemoryBankModel(0, 0x1A, fields, has_lock_byte=False, latches=False)


ENERGY_SCALE = 0  # active energy in Wh
POWER_SCALE = -1  # active power in 0.1 W


def bank202(energy_wh: Callable[[], float], power_w: Callable[[], float]) -> MemoryBankModel:
    """Part 252 bank 202: active energy (Wh) and active power (W), each with a scale byte."""
    bank = energy.BANK_202
    fields = [
        field(energy.ActiveBankVersion, constant(b"\x01")),
        *scaled_fields(energy.ActiveEnergy, ENERGY_SCALE, energy_wh, counter=True),
        *scaled_fields(energy.ActivePower, POWER_SCALE, power_w, counter=False),
    ]
    last = bank.LastAddress.locations[0].default
    return MemoryBankModel(202, last, fields, has_lock_byte=True, latches=True)


def _counter(value: type[MemoryValue], source: Callable[[], float]) -> Field:
    start, length = span(value)
    max_value = getattr(value, "max_value", None)
    return Field(start, length, lambda: unsigned(source(), length, max_value))


def _resettable(
    value: type[MemoryValue], source: Callable[[], float], reset: Callable[[int], None]
) -> Field:
    start, length = span(value)
    max_value: int = value.max_value

    def write(number: int) -> bool:
        if number > max_value:
            return False  # ≥ MASK - 1: behaves as not implemented
        reset(number)
        return True

    return Field(start, length, lambda: unsigned(source(), length, max_value), write)


def _flag(value: type[MemoryValue], source: Callable[[], bool]) -> Field:
    start, _ = span(value)
    return Field(start, 1, lambda: b"\x01" if source() else b"\x00")


def _byte(value: type[MemoryValue], number: int) -> Field:
    start, _ = span(value)
    return Field(start, 1, constant(bytes([number])))


@dataclass(frozen=True)
class GearDiagnostics:
    """What bank 205 reads from the gear."""

    operating_time_s: Callable[[], float]
    start_count: Callable[[], int]
    failure: Callable[[], bool]
    failure_count: Callable[[], int]
    output_percent: Callable[[], float]
    supply_voltage_v: float = 230.0
    supply_frequency_hz: int = 50
    power_factor: float = 0.95
    temperature_c: int = 35


def bank205(gear: GearDiagnostics) -> MemoryBankModel:
    """Part 253 bank 205: control gear operating time, starts, supply, failures, temperature."""
    d = diagnostics
    fields = [
        field(d.ControlGearDiagnosticBankVersion, constant(b"\x01")),
        _counter(d.ControlGearOperatingTime, gear.operating_time_s),
        _counter(d.ControlGearStartCounter, gear.start_count),
        _counter(d.ControlGearExternalSupplyVoltage, lambda: gear.supply_voltage_v * 10),
        _byte(d.ControlGearExternalSupplyVoltageFrequency, gear.supply_frequency_hz),
        _byte(d.ControlGearPowerFactor, round(gear.power_factor * 100)),
        _flag(d.ControlGearOverallFailureCondition, gear.failure),
        _counter(d.ControlGearOverallFailureConditionCounter, gear.failure_count),
        _byte(d.ControlGearExternalSupplyUndervoltage, 0),
        _byte(d.ControlGearExternalSupplyUndervoltageCounter, 0),
        _byte(d.ControlGearExternalSupplyOvervoltage, 0),
        _byte(d.ControlGearExternalSupplyOvervoltageCounter, 0),
        _byte(d.ControlGearOutputPowerLimitation, 0),
        _byte(d.ControlGearOutputPowerLimitationCounter, 0),
        _byte(d.ControlGearThermalDerating, 0),
        _byte(d.ControlGearThermalDeratingCounter, 0),
        _byte(d.ControlGearThermalShutdown, 0),
        _byte(d.ControlGearThermalShutdownCounter, 0),
        _byte(d.ControlGearTemperature, gear.temperature_c + 60),
        _counter(d.ControlGearOutputCurrentPercent, gear.output_percent),
    ]
    last = d.BANK_205.LastAddress.locations[0].default
    return MemoryBankModel(205, last, fields, has_lock_byte=True, latches=True)


@dataclass(frozen=True)
class LightSourceDiagnostics:
    """What bank 206 reads from the gear."""

    on_time_s: Callable[[], float]
    on_time_resettable_s: Callable[[], float]
    reset_on_time: Callable[[int], None]
    start_count: Callable[[], int]
    start_count_resettable: Callable[[], int]
    reset_start_count: Callable[[int], None]
    voltage_v: Callable[[], float]
    current_a: Callable[[], float]
    failure: Callable[[], bool]
    failure_count: Callable[[], int]
    temperature_c: int = 40


def bank206(lamp: LightSourceDiagnostics) -> MemoryBankModel:
    """Part 253 bank 206: light source on-time (s), starts, voltage, current, failures."""
    d = diagnostics
    fields = [
        field(d.LightSourceDiagnosticBankVersion, constant(b"\x01")),
        _resettable(
            d.LightSourceStartCounterResettable, lamp.start_count_resettable, lamp.reset_start_count
        ),
        _counter(d.LightSourceStartCounter, lamp.start_count),
        _resettable(d.LightSourceOnTimeResettable, lamp.on_time_resettable_s, lamp.reset_on_time),
        _counter(d.LightSourceOnTime, lamp.on_time_s),
        _counter(d.LightSourceVoltage, lambda: lamp.voltage_v() * 10),
        _counter(d.LightSourceCurrent, lambda: lamp.current_a() * 1000),
        _flag(d.LightSourceOverallFailureCondition, lamp.failure),
        _counter(d.LightSourceOverallFailureConditionCounter, lamp.failure_count),
        _byte(d.LightSourceShortCircuit, 0),
        _byte(d.LightSourceShortCircuitCounter, 0),
        _flag(d.LightSourceOpenCircuit, lamp.failure),  # a failed lamp is modelled as open
        _counter(d.LightSourceOpenCircuitCounter, lamp.failure_count),
        _byte(d.LightSourceThermalDerating, 0),
        _byte(d.LightSourceThermalDeratingCounter, 0),
        _byte(d.LightSourceThermalShutdown, 0),
        _byte(d.LightSourceThermalShutdownCounter, 0),
        _byte(d.LightSourceTemperature, lamp.temperature_c + 60),
    ]
    last = d.BANK_206.LastAddress.locations[0].default
    return MemoryBankModel(206, last, fields, has_lock_byte=True, latches=True)
