"""Values to 16-bit registers, the way field devices lay them out.

A thin layer over pymodbus' own converter (``convert_to_registers`` on the client classes, which
replaced the removed ``payload`` module in pymodbus 3.x), plus what a device adds around it:
scaling to a fixed-point integer, wrapping counters at their width, saturating measurements that
overflow, and fixed-length strings.
"""

from __future__ import annotations

import math
from typing import Literal, cast

from pymodbus.client import ModbusBaseClient

WordOrder = Literal["big", "little"]

_DT = ModbusBaseClient.DATATYPE
_convert = ModbusBaseClient.convert_to_registers

NAN_FLOAT32 = (0xFFC0, 0x0000)
"""The quiet NaN many meters answer for a value they do not measure."""


def float32(value: float, word_order: WordOrder = "big") -> list[int]:
    return _convert(float(value), _DT.FLOAT32, word_order=word_order)


def int16(value: int) -> list[int]:
    return _convert(saturate(value, 16, signed=True), _DT.INT16)


def uint16(value: int) -> list[int]:
    return _convert(saturate(value, 16, signed=False), _DT.UINT16)


def int32(value: int, word_order: WordOrder = "big") -> list[int]:
    return _convert(saturate(value, 32, signed=True), _DT.INT32, word_order=word_order)


def uint32(value: int, word_order: WordOrder = "big") -> list[int]:
    return _convert(saturate(value, 32, signed=False), _DT.UINT32, word_order=word_order)


def int64(value: int, word_order: WordOrder = "big") -> list[int]:
    return _convert(saturate(value, 64, signed=True), _DT.INT64, word_order=word_order)


def string(text: str, registers: int) -> list[int]:
    """``text`` in UTF-8, two bytes a register, padded with NUL to exactly ``registers``."""
    raw = text.encode("utf-8")[: registers * 2].ljust(registers * 2, b"\0")
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def scaled(value: float, scale: float) -> int:
    """The integer a device sends for ``value`` with a fixed ``scale`` (0.1 V → 2302 for 230.2)."""
    if not math.isfinite(value):
        return 0
    return round(value / scale)


def wrap(value: int, bits: int) -> int:
    """A cumulative counter as an unsigned register of ``bits`` bits: it wraps to 0."""
    return value % (1 << bits)


def saturate(value: int, bits: int, *, signed: bool) -> int:
    """A measurement too big for its register pins at the limit instead of raising."""
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return min(max(int(value), low), high)


def decode_float32(registers: list[int], word_order: WordOrder = "big") -> float:
    """The inverse of :func:`float32`, for writes of float set-up registers."""
    value = ModbusBaseClient.convert_from_registers(registers, _DT.FLOAT32, word_order=word_order)
    return float(cast(float, value))
