"""Decoding 16-bit DALI forward frames as control gear see them (IEC 62386-102, tables 15 and 16).

A forward frame is an address byte and an opcode byte. The address byte is

* ``0AAAAAAS`` short address A (0–63), ``100GGGGS`` group G (0–15), ``1111111S`` broadcast,
  ``1111110S`` broadcast to gear without a short address; S = 0 means the second byte is a
  direct arc power level (DAPC), S = 1 that it is a command opcode;
* ``101xxxx1`` / ``110xxxx1`` (0xA1–0xCB, odd): a special command, addressed to every gear, whose
  second byte is its data.

Opcode numbers are the standard's; only the ones the simulated gear acts on are named.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum


class Target(Enum):
    SHORT = "short"
    GROUP = "group"
    BROADCAST = "broadcast"
    UNADDRESSED = "unaddressed"  # broadcast to gear without a short address


@dataclass(frozen=True)
class Addressed:
    """A frame for some gear: DAPC (``value`` = level) or a command (``value`` = opcode)."""

    target: Target
    number: int  # short address or group; 0 for broadcasts
    is_dapc: bool
    value: int


@dataclass(frozen=True)
class Special:
    """A special command (``opcode`` is the first byte) with its data byte."""

    opcode: int
    data: int


class Op(IntEnum):
    """Standard command opcodes (second byte, S = 1)."""

    OFF = 0x00
    UP = 0x01
    DOWN = 0x02
    STEP_UP = 0x03
    STEP_DOWN = 0x04
    RECALL_MAX_LEVEL = 0x05
    RECALL_MIN_LEVEL = 0x06
    STEP_DOWN_AND_OFF = 0x07
    ON_AND_STEP_UP = 0x08
    ENABLE_DAPC_SEQUENCE = 0x09
    GO_TO_LAST_ACTIVE_LEVEL = 0x0A
    GO_TO_SCENE = 0x10  # + scene
    RESET = 0x20
    STORE_ACTUAL_LEVEL_IN_DTR0 = 0x21
    SAVE_PERSISTENT_VARIABLES = 0x22
    SET_OPERATING_MODE = 0x23
    RESET_MEMORY_BANK = 0x24
    IDENTIFY_DEVICE = 0x25
    SET_MAX_LEVEL = 0x2A
    SET_MIN_LEVEL = 0x2B
    SET_SYSTEM_FAILURE_LEVEL = 0x2C
    SET_POWER_ON_LEVEL = 0x2D
    SET_FADE_TIME = 0x2E
    SET_FADE_RATE = 0x2F
    SET_EXTENDED_FADE_TIME = 0x30
    SET_SCENE = 0x40  # + scene
    REMOVE_FROM_SCENE = 0x50  # + scene
    ADD_TO_GROUP = 0x60  # + group
    REMOVE_FROM_GROUP = 0x70  # + group
    SET_SHORT_ADDRESS = 0x80
    ENABLE_WRITE_MEMORY = 0x81
    QUERY_STATUS = 0x90
    QUERY_CONTROL_GEAR_PRESENT = 0x91
    QUERY_LAMP_FAILURE = 0x92
    QUERY_LAMP_POWER_ON = 0x93
    QUERY_LIMIT_ERROR = 0x94
    QUERY_RESET_STATE = 0x95
    QUERY_MISSING_SHORT_ADDRESS = 0x96
    QUERY_VERSION_NUMBER = 0x97
    QUERY_CONTENT_DTR0 = 0x98
    QUERY_DEVICE_TYPE = 0x99
    QUERY_PHYSICAL_MINIMUM = 0x9A
    QUERY_POWER_FAILURE = 0x9B
    QUERY_CONTENT_DTR1 = 0x9C
    QUERY_CONTENT_DTR2 = 0x9D
    QUERY_OPERATING_MODE = 0x9E
    QUERY_LIGHT_SOURCE_TYPE = 0x9F
    QUERY_ACTUAL_LEVEL = 0xA0
    QUERY_MAX_LEVEL = 0xA1
    QUERY_MIN_LEVEL = 0xA2
    QUERY_POWER_ON_LEVEL = 0xA3
    QUERY_SYSTEM_FAILURE_LEVEL = 0xA4
    QUERY_FADE_TIME_FADE_RATE = 0xA5
    QUERY_MANUFACTURER_SPECIFIC_MODE = 0xA6
    QUERY_NEXT_DEVICE_TYPE = 0xA7
    QUERY_EXTENDED_FADE_TIME = 0xA8
    QUERY_CONTROL_GEAR_FAILURE = 0xAA
    QUERY_SCENE_LEVEL = 0xB0  # + scene
    QUERY_GROUPS_0_7 = 0xC0
    QUERY_GROUPS_8_15 = 0xC1
    QUERY_RANDOM_ADDRESS_H = 0xC2
    QUERY_RANDOM_ADDRESS_M = 0xC3
    QUERY_RANDOM_ADDRESS_L = 0xC4
    READ_MEMORY_LOCATION = 0xC5
    QUERY_EXTENDED_VERSION_NUMBER = 0xFF  # after ENABLE DEVICE TYPE


class SpecialOp(IntEnum):
    """Special command opcodes (first byte)."""

    TERMINATE = 0xA1
    DTR0 = 0xA3
    INITIALISE = 0xA5
    RANDOMISE = 0xA7
    COMPARE = 0xA9
    WITHDRAW = 0xAB
    PING = 0xAD
    SEARCHADDRH = 0xB1
    SEARCHADDRM = 0xB3
    SEARCHADDRL = 0xB5
    PROGRAM_SHORT_ADDRESS = 0xB7
    VERIFY_SHORT_ADDRESS = 0xB9
    QUERY_SHORT_ADDRESS = 0xBB
    ENABLE_DEVICE_TYPE = 0xC1
    DTR1 = 0xC3
    DTR2 = 0xC5
    WRITE_MEMORY_LOCATION = 0xC7
    WRITE_MEMORY_LOCATION_NO_REPLY = 0xC9


# Commands that act only when received twice within 100 ms with no other frame between.
_TWICE_OPCODE_RANGE = range(Op.RESET, Op.ENABLE_WRITE_MEMORY + 1)
_TWICE_SPECIAL = frozenset({SpecialOp.INITIALISE, SpecialOp.RANDOMISE})


def decode(frame: int) -> Addressed | Special | None:
    """Decode a 16-bit forward frame; None for reserved address bytes."""
    address, second = (frame >> 8) & 0xFF, frame & 0xFF
    is_dapc = not address & 1
    if address < 0x80:
        return Addressed(Target.SHORT, address >> 1, is_dapc, second)
    if address < 0xA0:
        return Addressed(Target.GROUP, (address >> 1) & 0x0F, is_dapc, second)
    if address >= 0xFE:
        return Addressed(Target.BROADCAST, 0, is_dapc, second)
    if address >= 0xFC:
        return Addressed(Target.UNADDRESSED, 0, is_dapc, second)
    if address & 1 and address <= 0xCB:
        return Special(address, second)
    return None


def needs_sending_twice(frame: int, device_type: int = 0) -> bool:
    """Whether a 16-bit frame is a configuration command (acts only when sent twice)."""
    decoded = decode(frame)
    if isinstance(decoded, Special):
        return decoded.opcode in _TWICE_SPECIAL
    if decoded is None or decoded.is_dapc:
        return False
    if decoded.value in _TWICE_OPCODE_RANGE:
        return True
    # Application extended configuration commands (0xE0–0xEF in most device types); the
    # simulated gear implements none, so their pairing only matters for bus accounting.
    return device_type != 0 and 0xE0 <= decoded.value <= 0xEF
