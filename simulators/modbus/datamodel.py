"""The four Modbus tables of a device, encoded from live state on every read.

A device declares each value once, as a :class:`Registers` run (address, width, how to encode it
from the state, optionally how to apply a write) or a :class:`Bit`. A :class:`RegisterTable` adds
the address *blocks* the real device answers for: a read may cross reserved registers inside a
block (they read as the table's fill pattern, as real meters do), but any register outside every
block makes the whole request fail with exception 02, like an address the device does not map.

Writes are all-or-nothing: every register written must belong to a writable run and cover it
whole (02 otherwise), every run must accept its new value (03 otherwise), and only then are the
values applied.

Why not pymodbus' datastore? ``ModbusDeviceContext``/``ModbusSequentialDataBlock`` are deprecated
in 3.16 (each construction logs that v4 moves to ``SimData``/``SimDevice``), and ``SimDevice``,
still marked experimental, is a static register image: the live state would have to be copied in
by an ``action`` hook before every read, and it has no notion of reserved fill inside a block or
of a per-device refusal such as the Eastron alignment rule. Neither is used, so no v4 warning is
emitted or filtered.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pymodbus.constants import ExcCodes


class Table(enum.Enum):
    COILS = "coil"
    DISCRETE_INPUTS = "discrete_input"
    HOLDING_REGISTERS = "holding_register"
    INPUT_REGISTERS = "input_register"


def _always_valid(_: list[int]) -> bool:
    return True


@dataclass(frozen=True)
class Registers:
    """One value occupying ``size`` consecutive registers from ``address``."""

    address: int
    size: int
    read: Callable[[], list[int]]
    write: Callable[[list[int]], None] | None = None
    valid: Callable[[list[int]], bool] = _always_valid

    @property
    def end(self) -> int:
        return self.address + self.size


@dataclass(frozen=True)
class Block:
    """Addresses ``start`` to ``end`` (excluded) answer; unmapped ones read as ``fill``, repeated
    from ``start`` (``(0xFFC0, 0x0000)`` makes every reserved float a NaN)."""

    start: int
    end: int
    fill: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Bit:
    address: int
    read: Callable[[], bool]
    write: Callable[[bool], None] | None = None


class RegisterTable:
    """Holding or input registers: runs of registers inside answerable blocks."""

    def __init__(
        self,
        runs: Iterable[Registers] = (),
        *,
        blocks: Iterable[Block | tuple[int, int]] | None = None,
        fill: Sequence[int] = (0,),
    ) -> None:
        self._runs: dict[int, Registers] = {}
        for run in runs:
            for address in range(run.address, run.end):
                if address in self._runs:
                    raise ValueError(f"register {address:#06x} is mapped twice")
                self._runs[address] = run
        spans = blocks if blocks is not None else [(r.address, r.end) for r in self.runs]
        self._blocks = sorted(
            (b if isinstance(b, Block) else Block(*b) for b in spans), key=lambda b: b.start
        )
        self._fill = tuple(fill)

    @property
    def runs(self) -> list[Registers]:
        return sorted({id(r): r for r in self._runs.values()}.values(), key=lambda r: r.address)

    def _block_of(self, address: int) -> Block | None:
        for block in self._blocks:
            if block.start <= address < block.end:
                return block
        return None

    def read(self, address: int, count: int) -> list[int] | ExcCodes:
        encoded: dict[int, list[int]] = {}
        values: list[int] = []
        for reg in range(address, address + count):
            block = self._block_of(reg)
            if block is None:
                return ExcCodes.ILLEGAL_ADDRESS
            run = self._runs.get(reg)
            if run is None:
                fill = block.fill or self._fill
                values.append(fill[(reg - block.start) % len(fill)])
                continue
            if run.address not in encoded:
                encoded[run.address] = run.read()
            values.append(encoded[run.address][reg - run.address])
        return values

    def write(self, address: int, values: Sequence[int]) -> ExcCodes | None:
        pending: list[tuple[Callable[[list[int]], None], list[int]]] = []
        reg = address
        while reg < address + len(values):
            run = self._runs.get(reg)
            if run is None or run.write is None or run.address != reg:
                return ExcCodes.ILLEGAL_ADDRESS
            if run.end > address + len(values):
                return ExcCodes.ILLEGAL_ADDRESS
            chunk = list(values[reg - address : run.end - address])
            if not run.valid(chunk):
                return ExcCodes.ILLEGAL_VALUE
            pending.append((run.write, chunk))
            reg = run.end
        for write, chunk in pending:
            write(chunk)
        return None


class BitTable:
    """Coils or discrete inputs: every bit asked for must be mapped."""

    def __init__(self, bits: Iterable[Bit] = ()) -> None:
        self._bits = {bit.address: bit for bit in bits}

    def read(self, address: int, count: int) -> list[bool] | ExcCodes:
        bits = [self._bits.get(a) for a in range(address, address + count)]
        if any(bit is None for bit in bits):
            return ExcCodes.ILLEGAL_ADDRESS
        return [bit.read() for bit in bits if bit is not None]

    def write(self, address: int, values: Sequence[bool]) -> ExcCodes | None:
        bits = [self._bits.get(a) for a in range(address, address + len(values))]
        writers = [bit.write if bit is not None else None for bit in bits]
        if any(writer is None for writer in writers):
            return ExcCodes.ILLEGAL_ADDRESS
        for writer, value in zip(writers, values, strict=True):
            if writer is not None:
                writer(value)
        return None
