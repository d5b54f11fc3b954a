"""The ``write`` command: set a device's writable points over Modbus and read them back.

``{"kind": "write", "target": "device:cab-01-ctrl", "args": {"contactor_1": true}}``. Writes take
the bus ahead of polls; each point is read back after the write and reported in ``observed``.
"""

from __future__ import annotations

from pymodbus.client.mixin import ModbusClientMixin

from eclor.wire import Command
from edge.commands import Outcome, Scalar
from edge.errors import CommandRejected
from edge.modbus.bus import ExceptionReply, ModbusBus
from edge.modbus.decode import PYMODBUS_TYPES
from edge.profiles import DataType, Function, Profile, Writable


class ModbusWriter:
    def __init__(self) -> None:
        self._devices: dict[str, tuple[ModbusBus, int, Profile]] = {}

    def add_device(self, device_id: str, bus: ModbusBus, unit: int, profile: Profile) -> None:
        self._devices[device_id] = (bus, unit, profile)

    async def __call__(self, command: Command) -> Outcome:
        kind, _, device_id = command.target.partition(":")
        if kind != "device" or device_id not in self._devices:
            raise CommandRejected(command.id, f"target {command.target!r}: no such device:ID here")
        bus, unit, profile = self._devices[device_id]
        points = {w.name: w for w in profile.writable}
        if not command.args:
            raise CommandRejected(command.id, "nothing to write: args is empty")
        observed: dict[str, Scalar] = {}
        for name, value in command.args.items():
            point = points.get(name)
            if point is None:
                raise CommandRejected(command.id, f"{name!r} is not writable on {profile.model}")
            registers = _encode(command.id, point, value)
            function = Function(point.function)
            address = point.address - (1 if profile.addressing == "one_based" else 0)
            reply = await bus.write(unit, function, address, registers, device=device_id)
            if isinstance(reply, ExceptionReply):
                return Outcome(False, f"{name}: device answered {reply}", observed)
            back = await bus.read(unit, function, address, len(registers), device=device_id)
            if isinstance(back, ExceptionReply):
                return Outcome(False, f"{name}: written, read-back answered {back}", observed)
            observed[name] = _decode(point, back)
        return Outcome(True, f"wrote {len(observed)} point(s)", observed)


def _encode(command_id: str, point: Writable, value: Scalar) -> list[int] | list[bool]:
    if point.function == "coil":
        if not isinstance(value, bool):
            raise CommandRejected(command_id, f"{point.name} takes true or false, not {value!r}")
        return [value]
    if isinstance(value, bool | str):
        raise CommandRejected(command_id, f"{point.name} takes a number, not {value!r}")
    if (point.min is not None and value < point.min) or (
        point.max is not None and value > point.max
    ):
        raise CommandRejected(
            command_id, f"{point.name}={value} outside [{point.min}, {point.max}]"
        )
    if point.type in (DataType.BOOL, DataType.STRING):
        raise CommandRejected(command_id, f"{point.name}: cannot write a {point.type} register")
    kind = PYMODBUS_TYPES[point.type]
    number = float(value) if point.type in (DataType.FLOAT32, DataType.FLOAT64) else int(value)
    return list(ModbusClientMixin.convert_to_registers(number, kind))


def _decode(point: Writable, data: list[int] | list[bool]) -> Scalar:
    if point.function == "coil":
        return bool(data[0])
    value = ModbusClientMixin.convert_from_registers(
        [int(r) for r in data], PYMODBUS_TYPES[point.type]
    )
    assert isinstance(value, int | float)
    return value
