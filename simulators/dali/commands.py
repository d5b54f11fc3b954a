"""What a simulated control gear does with each DALI command (IEC 62386-102, DALI-2).

``execute`` takes a decoded forward frame that has already passed the line's send-twice check
(configuration commands arrive here once, on their second frame) and returns the answer byte or
None. Arc power commands and settings go to ``ControlGear``; the volatile protocol variables
(DTR0–2, write enable, the ENABLE DEVICE TYPE context, addressing state) live in
``ProtocolState``.

Not modelled: the 15-minute INITIALISE timer, operating modes other than 0, DT6-specific
extended commands (only QUERY EXTENDED VERSION NUMBER answers), and power-on/reset timing.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from simulators.dali import physics
from simulators.dali.frames import Addressed, Op, Special, SpecialOp, Target
from simulators.dali.physics import MASK

if TYPE_CHECKING:
    from simulators.dali.gear import ControlGear

YES = 0xFF
LIGHT_SOURCE_LED = 6
PART_102_VERSION = 0x08  # 2.0, as in bank 0 location 0x16
EXTENDED_VERSIONS = {6: 0x08, 51: 0x04, 52: 0x04}  # part 207 2.0; parts 252/253 1.0 (assumed)
_KEEPS_WRITE_ENABLE = frozenset(
    {Op.QUERY_CONTENT_DTR0, Op.QUERY_CONTENT_DTR1, Op.QUERY_CONTENT_DTR2}
)
_SPECIAL_KEEPS_WRITE_ENABLE = frozenset(
    {
        SpecialOp.DTR0,
        SpecialOp.DTR1,
        SpecialOp.DTR2,
        SpecialOp.WRITE_MEMORY_LOCATION,
        SpecialOp.WRITE_MEMORY_LOCATION_NO_REPLY,
    }
)


@dataclass
class ProtocolState:
    """Volatile variables of the gear's DALI interface."""

    rng: random.Random
    dtr0: int = 0
    dtr1: int = 0
    dtr2: int = 0
    write_enabled: bool = False
    device_type: int = 0  # set by ENABLE DEVICE TYPE, for the next command only
    device_type_queue: list[int] = field(default_factory=list)
    device_type_frame: int = -2  # frame index of the last QUERY (NEXT) DEVICE TYPE answered
    initialising: bool = False
    withdrawn: bool = False
    random_address: int = 0xFFFFFF
    search_address: int = 0xFFFFFF

    def power_up(self) -> None:
        self.write_enabled = False
        self.device_type = 0
        self.device_type_queue.clear()
        self.initialising = False
        self.withdrawn = False


def is_addressed(gear: ControlGear, frame: Addressed) -> bool:
    if frame.target is Target.SHORT:
        return gear.short_address == frame.number
    if frame.target is Target.GROUP:
        return frame.number in gear.settings.groups
    if frame.target is Target.UNADDRESSED:
        return gear.short_address is None
    return True


def _yes(condition: bool) -> int | None:
    return YES if condition else None


def execute(gear: ControlGear, frame: Addressed | Special, index: int) -> int | None:
    """Act on one (already send-twice-checked) frame; the answer byte or None."""
    p = gear.protocol
    device_type, p.device_type = p.device_type, 0
    if isinstance(frame, Special):
        if frame.opcode not in _SPECIAL_KEEPS_WRITE_ENABLE:
            p.write_enabled = False
        return _special(gear, frame, index)
    if frame.is_dapc or frame.value not in _KEEPS_WRITE_ENABLE:
        p.write_enabled = False
    if not is_addressed(gear, frame):
        return None
    if frame.is_dapc:
        gear.go_to(frame.value, fade=True)
        return None
    opcode = frame.value
    if opcode >= 0xE0:
        if opcode == Op.QUERY_EXTENDED_VERSION_NUMBER and device_type in gear.device_types:
            return EXTENDED_VERSIONS.get(device_type, 0x08)
        return None
    if opcode in (Op.QUERY_DEVICE_TYPE, Op.QUERY_NEXT_DEVICE_TYPE):
        return _device_type(gear, opcode, index)
    if opcode & 0xF0 == Op.QUERY_SCENE_LEVEL:
        return gear.settings.scenes[opcode & 0x0F]
    with_param = 0x10 <= opcode < 0x20 or 0x40 <= opcode < 0x80  # scene or group number
    base, param = (opcode & 0xF0, opcode & 0x0F) if with_param else (opcode, 0)
    handler = _HANDLERS.get(base)
    return handler(gear, param) if handler else None


# --- arc power --------------------------------------------------------------------------------


def _off(gear: ControlGear, _: int) -> None:
    gear.limit_error = False
    gear.set_level_now(0)


def _fade_rate_steps(gear: ControlGear) -> float:
    return physics.fade_rate_steps_per_s(gear.settings.fade_rate) * 0.2


def _step_down_and_off(gear: ControlGear, _: int) -> None:
    level = gear.actual_level
    if 0 < level <= gear.settings.min_level:
        gear.set_level_now(0)
    else:
        gear.step(-1)


def _on_and_step_up(gear: ControlGear, _: int) -> None:
    if gear.actual_level == 0:
        gear.set_level_now(gear.settings.min_level)
    else:
        gear.step(+1)


def _go_to_scene(gear: ControlGear, scene: int) -> None:
    level = gear.settings.scenes[scene]
    if level != MASK:
        gear.go_to(level, fade=True)


# --- configuration (already received twice) ------------------------------------------------


def _set_max_level(gear: ControlGear, _: int) -> None:
    s, dtr0 = gear.settings, gear.protocol.dtr0
    s.max_level = s.min_level if dtr0 <= s.min_level else min(dtr0, physics.MAX_ARC_LEVEL)
    gear.limit_to_range()


def _set_min_level(gear: ControlGear, _: int) -> None:
    s, dtr0 = gear.settings, gear.protocol.dtr0
    if dtr0 <= gear.physical_minimum:
        s.min_level = gear.physical_minimum
    else:
        s.min_level = min(dtr0, s.max_level)
    gear.limit_to_range()


def _set_system_failure_level(gear: ControlGear, _: int) -> None:
    gear.settings.system_failure_level = gear.protocol.dtr0


def _set_power_on_level(gear: ControlGear, _: int) -> None:
    gear.settings.power_on_level = gear.protocol.dtr0


def _set_fade_time(gear: ControlGear, _: int) -> None:
    gear.settings.fade_time = min(gear.protocol.dtr0, 15)


def _set_fade_rate(gear: ControlGear, _: int) -> None:
    gear.settings.fade_rate = max(1, min(gear.protocol.dtr0, 15))


def _set_extended_fade_time(gear: ControlGear, _: int) -> None:
    dtr0, s = gear.protocol.dtr0, gear.settings
    s.extended_fade_base, s.extended_fade_multiplier = (
        (0, 0) if dtr0 > 0x4F else (dtr0 & 0x0F, (dtr0 >> 4) & 0x07)
    )


def _set_scene(gear: ControlGear, scene: int) -> None:
    gear.settings.scenes[scene] = gear.protocol.dtr0


def _remove_from_scene(gear: ControlGear, scene: int) -> None:
    gear.settings.scenes[scene] = MASK


def _add_to_group(gear: ControlGear, group: int) -> None:
    gear.settings.groups.add(group)


def _remove_from_group(gear: ControlGear, group: int) -> None:
    gear.settings.groups.discard(group)


def _set_short_address(gear: ControlGear, _: int) -> None:
    dtr0 = gear.protocol.dtr0
    if dtr0 == MASK:
        gear.short_address = None
    elif dtr0 & 0x81 == 0x01:
        gear.short_address = (dtr0 >> 1) & 0x3F


def _store_actual_level(gear: ControlGear, _: int) -> None:
    gear.protocol.dtr0 = gear.actual_level


def _set_operating_mode(gear: ControlGear, _: int) -> None:
    if gear.protocol.dtr0 == 0:
        gear.settings.operating_mode = 0


def _reset_memory_bank(gear: ControlGear, _: int) -> None:
    if gear.protocol.dtr0 in (0, 206):
        c = gear.counters
        c.on_time_offset_s = gear.on_time_s
        c.lamp_starts_offset = c.lamp_starts


def _enable_write_memory(gear: ControlGear, _: int) -> None:
    gear.protocol.write_enabled = True


# --- queries ------------------------------------------------------------------------------------


def _read_memory_location(gear: ControlGear, _: int) -> int | None:
    p = gear.protocol
    bank = gear.banks.get(p.dtr1)
    if bank is None:
        return None  # not implemented: ignored, DTR0 unchanged
    answer = bank.read(p.dtr0)
    p.dtr0 = min(p.dtr0 + 1, 0xFF)
    return answer


def _groups(gear: ControlGear, first: int) -> int:
    return sum(1 << (g - first) for g in gear.settings.groups if first <= g < first + 8)


def _device_type(gear: ControlGear, opcode: int, index: int) -> int | None:
    p, types = gear.protocol, sorted(gear.device_types)
    if opcode == Op.QUERY_DEVICE_TYPE:
        if len(types) <= 1:
            return types[0] if types else 254
        p.device_type_queue, p.device_type_frame = types, index
        return MASK
    if p.device_type_frame != index - 1:
        return None  # not directly after QUERY (NEXT) DEVICE TYPE
    p.device_type_frame = index
    return p.device_type_queue.pop(0) if p.device_type_queue else 254


Handler = Callable[["ControlGear", int], int | None]


def _query(read: Callable[[ControlGear], int | None]) -> Handler:
    return lambda gear, _: read(gear)


_HANDLERS: dict[int, Handler] = {
    Op.OFF: _off,
    Op.UP: lambda g, _: g.fade_by(_fade_rate_steps(g)),
    Op.DOWN: lambda g, _: g.fade_by(-_fade_rate_steps(g)),
    Op.STEP_UP: lambda g, _: g.step(+1),
    Op.STEP_DOWN: lambda g, _: g.step(-1),
    Op.RECALL_MAX_LEVEL: lambda g, _: g.go_to(g.settings.max_level, fade=False),
    Op.RECALL_MIN_LEVEL: lambda g, _: g.go_to(g.settings.min_level, fade=False),
    Op.STEP_DOWN_AND_OFF: _step_down_and_off,
    Op.ON_AND_STEP_UP: _on_and_step_up,
    Op.GO_TO_LAST_ACTIVE_LEVEL: lambda g, _: g.go_to(g.last_active_level, fade=True),
    Op.GO_TO_SCENE: _go_to_scene,
    Op.RESET: lambda g, _: g.reset_settings(),
    Op.STORE_ACTUAL_LEVEL_IN_DTR0: _store_actual_level,
    Op.SET_OPERATING_MODE: _set_operating_mode,
    Op.RESET_MEMORY_BANK: _reset_memory_bank,
    Op.SET_MAX_LEVEL: _set_max_level,
    Op.SET_MIN_LEVEL: _set_min_level,
    Op.SET_SYSTEM_FAILURE_LEVEL: _set_system_failure_level,
    Op.SET_POWER_ON_LEVEL: _set_power_on_level,
    Op.SET_FADE_TIME: _set_fade_time,
    Op.SET_FADE_RATE: _set_fade_rate,
    Op.SET_EXTENDED_FADE_TIME: _set_extended_fade_time,
    Op.SET_SCENE: _set_scene,
    Op.REMOVE_FROM_SCENE: _remove_from_scene,
    Op.ADD_TO_GROUP: _add_to_group,
    Op.REMOVE_FROM_GROUP: _remove_from_group,
    Op.SET_SHORT_ADDRESS: _set_short_address,
    Op.ENABLE_WRITE_MEMORY: _enable_write_memory,
    Op.QUERY_STATUS: _query(lambda g: g.status),
    Op.QUERY_CONTROL_GEAR_PRESENT: _query(lambda g: YES),
    Op.QUERY_LAMP_FAILURE: _query(lambda g: _yes(g.lamp_failure)),
    Op.QUERY_LAMP_POWER_ON: _query(lambda g: _yes(g.lamp_on)),
    Op.QUERY_LIMIT_ERROR: _query(lambda g: _yes(g.limit_error)),
    Op.QUERY_RESET_STATE: _query(lambda g: _yes(g.in_reset_state)),
    Op.QUERY_MISSING_SHORT_ADDRESS: _query(lambda g: _yes(g.short_address is None)),
    Op.QUERY_VERSION_NUMBER: _query(lambda g: PART_102_VERSION),
    Op.QUERY_CONTENT_DTR0: _query(lambda g: g.protocol.dtr0),
    Op.QUERY_CONTENT_DTR1: _query(lambda g: g.protocol.dtr1),
    Op.QUERY_CONTENT_DTR2: _query(lambda g: g.protocol.dtr2),
    Op.QUERY_PHYSICAL_MINIMUM: _query(lambda g: g.physical_minimum),
    Op.QUERY_POWER_FAILURE: _query(lambda g: _yes(g.power_cycle_seen)),
    Op.QUERY_OPERATING_MODE: _query(lambda g: g.settings.operating_mode),
    Op.QUERY_LIGHT_SOURCE_TYPE: _query(lambda g: LIGHT_SOURCE_LED),
    Op.QUERY_ACTUAL_LEVEL: _query(lambda g: g.actual_level),
    Op.QUERY_MAX_LEVEL: _query(lambda g: g.settings.max_level),
    Op.QUERY_MIN_LEVEL: _query(lambda g: g.settings.min_level),
    Op.QUERY_POWER_ON_LEVEL: _query(lambda g: g.settings.power_on_level),
    Op.QUERY_SYSTEM_FAILURE_LEVEL: _query(lambda g: g.settings.system_failure_level),
    Op.QUERY_FADE_TIME_FADE_RATE: _query(
        lambda g: (g.settings.fade_time << 4) | g.settings.fade_rate
    ),
    Op.QUERY_EXTENDED_FADE_TIME: _query(
        lambda g: (g.settings.extended_fade_multiplier << 4) | g.settings.extended_fade_base
    ),
    Op.QUERY_CONTROL_GEAR_FAILURE: _query(lambda g: _yes(g.gear_failure)),
    Op.QUERY_GROUPS_0_7: _query(lambda g: _groups(g, 0)),
    Op.QUERY_GROUPS_8_15: _query(lambda g: _groups(g, 8)),
    Op.QUERY_RANDOM_ADDRESS_H: _query(lambda g: (g.protocol.random_address >> 16) & 0xFF),
    Op.QUERY_RANDOM_ADDRESS_M: _query(lambda g: (g.protocol.random_address >> 8) & 0xFF),
    Op.QUERY_RANDOM_ADDRESS_L: _query(lambda g: g.protocol.random_address & 0xFF),
    Op.READ_MEMORY_LOCATION: _read_memory_location,
}


# --- special commands ------------------------------------------------------------------------


def _initialise_selects(gear: ControlGear, data: int) -> bool:
    if data == 0x00:
        return True  # all gear
    if data == 0xFF:
        return gear.short_address is None
    return data & 0x81 == 0x01 and gear.short_address == (data >> 1) & 0x3F


def _special(gear: ControlGear, frame: Special, _index: int) -> int | None:
    p, op, data = gear.protocol, frame.opcode, frame.data
    selected = p.initialising and p.random_address == p.search_address
    if op == SpecialOp.DTR0:
        p.dtr0 = data
    elif op == SpecialOp.DTR1:
        p.dtr1 = data
    elif op == SpecialOp.DTR2:
        p.dtr2 = data
    elif op == SpecialOp.ENABLE_DEVICE_TYPE:
        p.device_type = data
    elif op in (SpecialOp.WRITE_MEMORY_LOCATION, SpecialOp.WRITE_MEMORY_LOCATION_NO_REPLY):
        return _write_memory(gear, data, reply=op == SpecialOp.WRITE_MEMORY_LOCATION)
    elif op == SpecialOp.TERMINATE:
        p.initialising = p.withdrawn = False
    elif op == SpecialOp.INITIALISE:
        if _initialise_selects(gear, data):
            p.initialising, p.withdrawn = True, False
    elif op == SpecialOp.RANDOMISE and p.initialising:
        p.random_address = p.rng.randrange(0, 0xFFFFFF)
    elif op == SpecialOp.COMPARE:
        return _yes(p.initialising and not p.withdrawn and p.random_address <= p.search_address)
    elif op == SpecialOp.WITHDRAW and selected:
        p.withdrawn = True
    elif op in (SpecialOp.SEARCHADDRH, SpecialOp.SEARCHADDRM, SpecialOp.SEARCHADDRL):
        shift = {SpecialOp.SEARCHADDRH: 16, SpecialOp.SEARCHADDRM: 8}.get(SpecialOp(op), 0)
        p.search_address = (p.search_address & ~(0xFF << shift)) | (data << shift)
    elif op == SpecialOp.PROGRAM_SHORT_ADDRESS and selected:
        if data == MASK:
            gear.short_address = None
        elif data & 0x81 == 0x01:
            gear.short_address = (data >> 1) & 0x3F
    elif op == SpecialOp.VERIFY_SHORT_ADDRESS:
        return _yes(p.initialising and gear.short_address == (data >> 1) & 0x3F)
    elif op == SpecialOp.QUERY_SHORT_ADDRESS and selected and not p.withdrawn:
        return MASK if gear.short_address is None else (gear.short_address << 1) | 1
    return None


def _write_memory(gear: ControlGear, data: int, *, reply: bool) -> int | None:
    p = gear.protocol
    bank = gear.banks.get(p.dtr1)
    if not p.write_enabled or bank is None:
        return None
    written = bank.write(p.dtr0, data)
    p.dtr0 = min(p.dtr0 + 1, 0xFF)
    return written if reply else None
