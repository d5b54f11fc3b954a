"""Frames around a PDU: RTU (address, PDU, CRC-16) and MBAP (Modbus TCP header), the serial
line timing, and the frame-level damage that link faults do.

The CRC is pymodbus' (``FramerRTU.compute_CRC``); the frames are built here because the servers
must damage them after encoding (a wrong CRC, a cut-off frame), which pymodbus' send path does not
let a caller do without reaching into its transaction manager.
"""

from __future__ import annotations

import struct

from pymodbus.framer.rtu import FramerRTU

MBAP_HEADER = struct.Struct(">HHHB")  # transaction id, protocol id, length, unit id
MIN_RTU_FRAME = 4  # address, function code, CRC


def crc16(data: bytes) -> bytes:
    """The Modbus CRC of ``data``, in wire order (low byte first)."""
    return FramerRTU.compute_CRC(data).to_bytes(2, "big")


def rtu_frame(unit: int, pdu: bytes) -> bytes:
    body = bytes([unit]) + pdu
    return body + crc16(body)


def parse_rtu_frame(frame: bytes) -> tuple[int, bytes] | None:
    """``(unit, pdu)`` of a whole RTU frame, or ``None`` if it is too short or its CRC is wrong."""
    if len(frame) < MIN_RTU_FRAME or crc16(frame[:-2]) != frame[-2:]:
        return None
    return frame[0], frame[1:-2]


def mbap_frame(transaction_id: int, unit: int, pdu: bytes) -> bytes:
    return MBAP_HEADER.pack(transaction_id, 0, len(pdu) + 1, unit) + pdu


def corrupt_rtu(frame: bytes) -> bytes:
    """The same frame with every bit of its CRC flipped: a master must reject it."""
    return frame[:-2] + bytes(b ^ 0xFF for b in frame[-2:])


def corrupt_mbap(frame: bytes) -> bytes:
    """Modbus TCP has no CRC; the nearest equivalent is a header a master must reject: the
    protocol identifier, always 0 for Modbus, is garbled."""
    return frame[:2] + b"\xde\xad" + frame[4:]


def truncate(frame: bytes) -> bytes:
    """The first half of the frame, as when the line drops mid-answer."""
    return frame[: max(1, len(frame) // 2)]


def character_time_s(
    baudrate: int, parity: str = "N", stopbits: int = 1, bytesize: int = 8
) -> float:
    """Seconds one character takes on the line: start bit, data bits, parity bit, stop bits."""
    bits = 1 + bytesize + (0 if parity.upper() == "N" else 1) + stopbits
    return bits / baudrate


def interframe_silence_s(
    baudrate: int, parity: str = "N", stopbits: int = 1, bytesize: int = 8
) -> float:
    """t3.5: the silence that ends an RTU frame (fixed at 1.75 ms above 19200 baud, as the
    Modbus over serial line specification says)."""
    if baudrate > 19200:
        return 0.00175
    return 3.5 * character_time_s(baudrate, parity, stopbits, bytesize)
