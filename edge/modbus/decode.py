"""Decoding what a read returned into field values: word and byte order, scale and offset.

Built on pymodbus's ``convert_from_registers``, which handles word order; byte order inside a
register (rare, some Asian meters) is swapped here first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field

from pymodbus.client.mixin import ModbusClientMixin

from eclor.wire.limits import INT64_MAX
from edge.modbus.planner import ReadRequest
from edge.profiles import DataType, Field

_DT = ModbusClientMixin.DATATYPE
PYMODBUS_TYPES = {
    DataType.INT16: _DT.INT16,
    DataType.UINT16: _DT.UINT16,
    DataType.INT32: _DT.INT32,
    DataType.UINT32: _DT.UINT32,
    DataType.INT64: _DT.INT64,
    DataType.UINT64: _DT.UINT64,
    DataType.FLOAT32: _DT.FLOAT32,
    DataType.FLOAT64: _DT.FLOAT64,
    DataType.STRING: _DT.STRING,
}

Value = bool | int | float | str


@dataclass(slots=True)
class Decoded:
    values: dict[str, Value] = dc_field(default_factory=dict)
    invalid: dict[str, str] = dc_field(default_factory=dict)
    """Fields the device answered with something unusable (NaN, bad text), with the reason."""


def decode_request(
    request: ReadRequest, data: Sequence[int] | Sequence[bool], out: Decoded
) -> None:
    """Decode every field of ``request`` from ``data`` (registers, or bits for coils/inputs)."""
    for field in request.fields:
        offset = field.protocol_address - request.address
        if field.function.is_bit:
            out.values[field.name] = bool(data[offset])
            continue
        registers = [int(r) for r in data[offset : offset + field.count]]
        try:
            value = decode_registers(field, registers)
        except ValueError as exc:
            out.invalid[field.name] = str(exc)
            continue
        if value is not None:
            out.values[field.name] = value


def decode_registers(field: Field, registers: list[int]) -> Value | None:
    """The field's value, or None when the device sent its "not available" value."""
    if field.byte_order == "little":
        registers = [((r & 0xFF) << 8) | (r >> 8) for r in registers]
    if field.type is DataType.BOOL:
        assert field.bit is not None
        return bool(registers[0] >> field.bit & 1)
    if field.type is DataType.STRING:
        try:
            text = ModbusClientMixin.convert_from_registers(
                registers, _DT.STRING, word_order=field.word_order
            )
        except UnicodeDecodeError as exc:
            raise ValueError(f"not UTF-8 text: {exc.reason}") from None
        return str(text).strip()
    raw = ModbusClientMixin.convert_from_registers(
        registers, PYMODBUS_TYPES[field.type], word_order=field.word_order
    )
    assert isinstance(raw, int | float)
    if isinstance(raw, float) and not math.isfinite(raw):
        raise ValueError(f"device sent {raw}")
    if field.invalid is not None and raw == field.invalid:
        return None
    if isinstance(raw, int) and raw > INT64_MAX:
        raise ValueError(f"{raw} does not fit the wire's signed 64-bit integers")
    if field.scale == 1.0 and field.offset == 0.0:
        return raw
    value = raw * field.scale + field.offset
    if not math.isfinite(value):  # a huge raw value times a large scale: the wire has no infinity
        raise ValueError(f"{raw} * {field.scale} + {field.offset} overflows to {value}")
    return value
