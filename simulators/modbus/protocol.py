"""One request PDU in, one response PDU out: the Modbus application layer of every device.

Requests are decoded and responses encoded with pymodbus' own PDU classes, so the bytes are the
library's, but the dispatch is ours rather than pymodbus' ``datastore_update``: the devices are
not pymodbus datastores (they encode live state and have quirks), and the checks a real device
makes in a fixed order must be explicit here:

1. function code not implemented by the device → 01 (Illegal function);
2. malformed request, quantity outside the specification (1-2000 bits, 1-125 registers read,
   1-1968 coils / 1-123 registers written), byte count disagreeing with the quantity, a single
   coil value other than 0x0000/0xFF00 → 03 (Illegal data value);
3. a rule of the device itself (:meth:`ModbusDevice.check_request`) → its code, usually 02;
4. an address the device does not map, or a write to a read-only one → 02 (Illegal data address);
5. a written value the device refuses → 03.
"""

from __future__ import annotations

from collections.abc import Callable

from pymodbus.constants import ExcCodes
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU
from pymodbus.pdu.bit_message import (
    ReadCoilsResponse,
    ReadDiscreteInputsResponse,
    WriteMultipleCoilsResponse,
    WriteSingleCoilResponse,
)
from pymodbus.pdu.diag_message import ReturnQueryDataResponse
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersResponse,
    ReadInputRegistersResponse,
    WriteMultipleRegistersResponse,
    WriteSingleRegisterResponse,
)

from simulators.modbus.device import ModbusDevice

_DECODER = DecodePDU(is_server=True)
_COIL_ON, _COIL_OFF = 0xFF00, 0x0000
MAX_WRITE_COILS = 0x07B0
MAX_WRITE_REGISTERS = 0x007B

Outcome = ModbusPDU | ExcCodes
Handler = Callable[[ModbusDevice, ModbusPDU, bytes], Outcome]
"""Gets the device, the request decoded by pymodbus, and the raw PDU for fields pymodbus hides."""


def exception_pdu(function_code: int, code: int) -> bytes:
    """The PDU of an exception reply: function code with bit 7 set, then the code."""
    reply = ExceptionResponse(function_code & 0x7F, code)
    return bytes([reply.function_code]) + reply.encode()


def respond(device: ModbusDevice, pdu: bytes) -> bytes:
    """Answer ``pdu`` (function code and data, no address or checksum) as ``device`` would."""
    function_code = pdu[0]
    if function_code not in device.functions or function_code not in IMPLEMENTED_FUNCTIONS:
        return exception_pdu(function_code, ExcCodes.ILLEGAL_FUNCTION)
    outcome = _diagnostics(pdu) if function_code == 8 else _dispatch(device, pdu)
    if isinstance(outcome, ExcCodes):
        return exception_pdu(function_code, outcome)
    return bytes([outcome.function_code]) + outcome.encode()


def _dispatch(device: ModbusDevice, pdu: bytes) -> Outcome:
    request = _DECODER.decode(pdu)
    if request is None:
        return ExcCodes.ILLEGAL_VALUE
    return _HANDLERS[pdu[0]](device, request, pdu)


def _read_bits(device: ModbusDevice, request: ModbusPDU, _pdu: bytes) -> Outcome:
    function_code = request.function_code
    refused = device.check_request(function_code, request.address, request.count)
    if refused is not None:
        return refused
    table = device.coils if function_code == 1 else device.discrete_inputs
    bits = table.read(request.address, request.count)
    if isinstance(bits, ExcCodes):
        return bits
    if function_code == 1:
        return ReadCoilsResponse(bits=bits)
    return ReadDiscreteInputsResponse(bits=bits)


def _read_registers(device: ModbusDevice, request: ModbusPDU, _pdu: bytes) -> Outcome:
    function_code = request.function_code
    refused = device.check_request(function_code, request.address, request.count)
    if refused is not None:
        return refused
    registers = device.register_table(function_code).read(request.address, request.count)
    if isinstance(registers, ExcCodes):
        return registers
    if function_code == 3:
        return ReadHoldingRegistersResponse(registers=registers)
    return ReadInputRegistersResponse(registers=registers)


def _write_coil(device: ModbusDevice, request: ModbusPDU, pdu: bytes) -> Outcome:
    raw_value = int.from_bytes(pdu[3:5], "big")
    if raw_value not in (_COIL_ON, _COIL_OFF):
        return ExcCodes.ILLEGAL_VALUE
    refused = device.check_request(5, request.address, 1)
    if refused is not None:
        return refused
    value = raw_value == _COIL_ON
    failed = device.coils.write(request.address, [value])
    if failed is not None:
        return failed
    return WriteSingleCoilResponse(address=request.address, bits=[value])


def _write_register(device: ModbusDevice, request: ModbusPDU, _pdu: bytes) -> Outcome:
    value = request.registers[0]
    refused = device.check_request(6, request.address, 1)
    if refused is not None:
        return refused
    failed = device.register_table(6).write(request.address, [value])
    if failed is not None:
        return failed
    return WriteSingleRegisterResponse(address=request.address, registers=[value])


def _write_coils(device: ModbusDevice, request: ModbusPDU, pdu: bytes) -> Outcome:
    count, byte_count = request.count, pdu[5]
    if not 1 <= count <= MAX_WRITE_COILS or byte_count != (count + 7) // 8:
        return ExcCodes.ILLEGAL_VALUE
    if len(pdu) - 6 != byte_count:
        return ExcCodes.ILLEGAL_VALUE
    refused = device.check_request(15, request.address, count)
    if refused is not None:
        return refused
    failed = device.coils.write(request.address, list(request.bits[:count]))
    if failed is not None:
        return failed
    return WriteMultipleCoilsResponse(address=request.address, count=count)


def _write_registers(device: ModbusDevice, request: ModbusPDU, pdu: bytes) -> Outcome:
    count, byte_count = request.count, pdu[5]
    if not 1 <= count <= MAX_WRITE_REGISTERS or byte_count != 2 * count:
        return ExcCodes.ILLEGAL_VALUE
    if len(pdu) - 6 != byte_count:
        return ExcCodes.ILLEGAL_VALUE
    refused = device.check_request(16, request.address, count)
    if refused is not None:
        return refused
    failed = device.register_table(16).write(request.address, list(request.registers))
    if failed is not None:
        return failed
    return WriteMultipleRegistersResponse(address=request.address, count=count)


def _diagnostics(pdu: bytes) -> Outcome:
    """Only sub-function 0, Return Query Data: the data comes back unchanged."""
    if len(pdu) < 3 or int.from_bytes(pdu[1:3], "big") != 0:
        return ExcCodes.ILLEGAL_FUNCTION
    if len(pdu) != 5:
        return ExcCodes.ILLEGAL_VALUE
    return ReturnQueryDataResponse(message=pdu[3:])


_HANDLERS: dict[int, Handler] = {
    1: _read_bits,
    2: _read_bits,
    3: _read_registers,
    4: _read_registers,
    5: _write_coil,
    6: _write_register,
    15: _write_coils,
    16: _write_registers,
}
IMPLEMENTED_FUNCTIONS = frozenset(_HANDLERS) | {8}
