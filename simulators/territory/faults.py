"""Territory-level faults: what breaks in the field, as opposed to how a device answers.

=================  ==========================  ===============================================
kind               device (reference)          effect
=================  ==========================  ===============================================
lamp_failure       gateway/line/address        the DALI gear reports a lamp failure, draws ~0
                   gateway[/device]            or ``count`` luminaires of ``circuit`` go dark
gear_failure       gateway/line/address        the DALI gear reports a control-gear failure
day_burner         gateway[/device]            contactors held closed (lit in daylight)
stuck_contactor    gateway[/device]            ``circuit`` stays where it is (or ``closed``)
door_open          gateway[/device]            the cabinet door contact opens
counter_reset      gateway/meter               the import energy counter restarts at 0
meter_replaced     gateway/meter               new serial number, counter at ``initial_kwh``
=================  ==========================  ===============================================

Conditions (all but the last two) last until :func:`clear` or for ``duration_s``. Link faults (no
answer, exception replies, corrupt frames) belong to the Modbus devices' own ``faults``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from simulators.territory.parts import Parts


class FaultKind(StrEnum):
    LAMP_FAILURE = "lamp_failure"
    GEAR_FAILURE = "gear_failure"
    DAY_BURNER = "day_burner"
    STUCK_CONTACTOR = "stuck_contactor"
    DOOR_OPEN = "door_open"
    COUNTER_RESET = "counter_reset"
    METER_REPLACED = "meter_replaced"


EVENT_KINDS = frozenset({FaultKind.COUNTER_RESET, FaultKind.METER_REPLACED})


@dataclass(frozen=True)
class FaultAction:
    """One fault to raise (or, with ``clear``, to lift) on one device."""

    kind: FaultKind
    device: str
    circuit: int = 0
    count: int = 1
    closed: bool | None = None
    serial: int | None = None
    initial_kwh: float = 0.0
    duration_s: float | None = None
    clear: bool = False

    def lifted(self) -> FaultAction:
        """The action that ends this condition."""
        return replace(self, clear=True, duration_s=None)


def apply(parts: Parts, action: FaultAction) -> None:
    """Raise or lift ``action`` on the part it names; KeyError if there is no such part."""
    handler = _HANDLERS[action.kind]
    handler(parts, action)


def _lamp_failure(parts: Parts, action: FaultAction) -> None:
    if action.device.count("/") == 2:
        parts.gear_at(action.device).set_lamp_failure(not action.clear)
        return
    count = -action.count if action.clear else action.count
    parts.cabinet_for(action.device).fail_lamps(action.circuit, count)


def _gear_failure(parts: Parts, action: FaultAction) -> None:
    parts.gear_at(action.device).set_gear_failure(not action.clear)


def _day_burner(parts: Parts, action: FaultAction) -> None:
    parts.cabinet_for(action.device).set_day_burner(not action.clear)


def _stuck_contactor(parts: Parts, action: FaultAction) -> None:
    cabinet = parts.cabinet_for(action.device)
    if action.clear:
        cabinet.stick_contactor(None)
    else:
        cabinet.stick_contactor(action.circuit, action.closed)


def _door_open(parts: Parts, action: FaultAction) -> None:
    parts.cabinet_for(action.device).state.door_open = not action.clear


def _counter_reset(parts: Parts, action: FaultAction) -> None:
    if action.clear:
        return
    meter = parts.meter(action.device)
    sink = parts.event_sinks.get(action.device)
    if sink is not None:
        sink(action)
    meter.import_energy_kwh = 0.0
    meter.export_energy_kwh = 0.0


def _meter_replaced(parts: Parts, action: FaultAction) -> None:
    if action.clear:
        return
    meter = parts.meter(action.device)
    sink = parts.event_sinks.get(action.device)
    if sink is not None:
        sink(action)
    elif action.serial is not None:
        meter.serial_number = action.serial
    else:
        meter.serial_number += 1
    meter.import_energy_kwh = action.initial_kwh
    meter.export_energy_kwh = 0.0


_HANDLERS = {
    FaultKind.LAMP_FAILURE: _lamp_failure,
    FaultKind.GEAR_FAILURE: _gear_failure,
    FaultKind.DAY_BURNER: _day_burner,
    FaultKind.STUCK_CONTACTOR: _stuck_contactor,
    FaultKind.DOOR_OPEN: _door_open,
    FaultKind.COUNTER_RESET: _counter_reset,
    FaultKind.METER_REPLACED: _meter_replaced,
}
