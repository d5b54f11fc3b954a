"""Build every lighting group's actuators from the ``lighting:`` config; own the DALI lines.

The executor calls::

    backends = build_group_actuators(
        config.lighting,
        devices={device_id: ModbusDevice(id, bus, unit, profile), ...},  # the agent's devices
        clock=clock,
        on_readings=batcher.put,          # ``dali`` readings
        on_events=outbox.append_events,   # lamp_failure, gear_failure, dali_line_down
    )
    backends.start()                      # connect the DALI lines (in the background)
    backends.actuators["main-street"]     # -> [DaliActuator, ContactorActuator, ...]
    await backends.close()

A setpoint in a group that also has a contactor is left unchanged at level 0 (the contactor
switches off; see ``setpoint.py``). Order within a group: contactor first (power before dimming),
then setpoint, then DALI. References are checked by ``edge.lighting.config.check_lighting``; one
missing here (config and devices out of step) raises ``ValueError`` naming the group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

from eclor.clock import Clock
from edge.lighting.actuators.base import Actuator
from edge.lighting.actuators.contactor import ContactorActuator
from edge.lighting.actuators.dali import DaliActuator
from edge.lighting.actuators.modbus_point import ModbusDevice
from edge.lighting.actuators.setpoint import SetpointActuator
from edge.lighting.config import LightingConfig
from edge.lighting.dali_line import DaliLine, EventsSink, ReadingsSink


@dataclass
class LightingBackends:
    actuators: dict[str, list[Actuator]]
    lines: dict[str, DaliLine] = field(default_factory=dict)

    def start(self) -> None:
        for line in self.lines.values():
            line.start()

    async def close(self) -> None:
        """Close every actuator (pending DALI resends), then the DALI lines."""
        for group in self.actuators.values():
            for actuator in group:
                await actuator.close()
        await asyncio.gather(*(line.close() for line in self.lines.values()))


def build_group_actuators(
    lighting: LightingConfig,
    *,
    devices: Mapping[str, ModbusDevice],
    clock: Clock,
    on_readings: ReadingsSink,
    on_events: EventsSink,
) -> LightingBackends:
    lines = {
        c.name: DaliLine(c, clock=clock, on_readings=on_readings, on_events=on_events)
        for c in lighting.dali_lines
    }
    actuators: dict[str, list[Actuator]] = {}
    for group in lighting.groups:
        built: list[Actuator] = []

        def device(device_id: str, group_name: str = group.name) -> ModbusDevice:
            if device_id not in devices:
                raise ValueError(f"lighting group {group_name!r}: no Modbus device {device_id!r}")
            return devices[device_id]

        if group.contactor is not None:
            built.append(ContactorActuator(device(group.contactor.device), group.contactor))
        if group.setpoint is not None:
            built.append(
                SetpointActuator(
                    device(group.setpoint.device),
                    group.setpoint,
                    hold_when_off=group.contactor is not None,
                )
            )
        if group.dali is not None:
            line = lines.get(group.dali.line)
            if line is None:
                raise ValueError(f"lighting group {group.name!r}: no DALI line {group.dali.line!r}")
            line.group_names[None if group.dali.broadcast else group.dali.group] = group.name
            built.append(DaliActuator(line, group.dali))
        actuators[group.name] = built
    return LightingBackends(actuators, lines)
