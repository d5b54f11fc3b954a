"""What an edge agent would read from a simulated device, without the wire: for history backfill.

Field names, measurements, data types, scales and counter wraps come from the device profiles
(``firmware_configs/profiles/<model>.yaml``, read here as plain YAML: simulators do not import the
edge). Values come straight from the shared state and are quantised the way the register encoding
and the edge's decoding would (float32 precision; fixed-point integers times their scale; counters
wrapping at their width), so a backfilled reading equals one the edge would have produced. A
consistency test compares both paths field by field. Reading the registers themselves would be
exact by construction but about ten times slower, too slow for a week of a whole territory.

Fields a device does not have (circuits 3–4 of a two-circuit cabinet, lane 3 of a two-lane station,
speed without double loops) are left out, as an edge configured for that device would leave them.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from eclor.errors import ConfigError
from simulators.state import CabinetState, GateControllerState, LoopStationState, MeterState

Value = bool | int | float
_F32 = struct.Struct(">f")
_INT_BITS = {"int16": 16, "uint16": 16, "int32": 32, "uint32": 32, "int64": 64, "uint64": 64}


@dataclass(frozen=True)
class FieldView:
    name: str
    measurement: str
    type: str
    scale: float = 1.0
    offset: float = 0.0
    wraps_at: int | None = None


@dataclass(frozen=True)
class ProfileView:
    model: str
    measurement: str
    fields: tuple[FieldView, ...]


def load_profile_views(directory: Path) -> dict[str, ProfileView]:
    """Every profile in ``directory`` by model name; ConfigError names a broken one."""
    if not directory.is_dir():
        raise ConfigError(str(directory), "", None, "profile directory not found")
    return {path.stem: _load(path) for path in sorted(directory.glob("*.yaml"))}


def _load(path: Path) -> ProfileView:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("fields"), list):
        raise ConfigError(str(path), "fields", None, "a profile lists its fields")
    default = str(data.get("measurement", "")) or path.stem
    fields = []
    for index, raw in enumerate(data["fields"]):
        try:
            fields.append(_field(raw, default))
        except (KeyError, TypeError, ValueError) as error:
            raise ConfigError(str(path), f"fields[{index}]", raw, str(error)) from error
    return ProfileView(str(data.get("model", path.stem)), default, tuple(fields))


def _field(raw: dict[str, Any], default_measurement: str) -> FieldView:
    counter = raw.get("counter")
    wraps = counter.get("wraps_at") if isinstance(counter, dict) else None
    return FieldView(
        name=str(raw["name"]),
        measurement=str(raw.get("measurement") or default_measurement),
        type=str(raw["type"]),
        scale=float(raw.get("scale", 1.0)),
        offset=float(raw.get("offset", 0.0)),
        wraps_at=int(wraps) if wraps is not None else None,
    )


Convert = Callable[[Value], Value]


def as_decoded(field: FieldView, value: Value) -> Value:
    """``value`` as the edge decodes it after the device encoded it for ``field``."""
    return converter(field)(value)


def converter(field: FieldView) -> Convert:
    """A function doing :func:`as_decoded` for ``field``, specialised once for speed."""
    if field.type == "bool":
        return bool
    scale, offset = field.scale, field.offset
    identity = scale == 1.0 and offset == 0.0
    if field.type == "float32":
        pack, unpack = _F32.pack, _F32.unpack
        if identity:
            return lambda value: float(unpack(pack(value))[0])
        return lambda value: float(unpack(pack((value - offset) / scale))[0]) * scale + offset
    if field.type == "float64":
        return float  # a float64 carries the value whole, scaled or not
    bits = _INT_BITS.get(field.type)
    if bits is None:
        raise ValueError(f"{field.name}: type {field.type} is not backfilled")
    signed = not field.type.startswith("u")
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    wraps = field.wraps_at

    def integer(value: Value) -> Value:
        raw = round((value - offset) / scale) if math.isfinite(value) else 0
        if wraps is not None:
            raw %= wraps
        raw = min(max(raw, low), high)
        return raw if identity else raw * scale + offset

    return integer


# -- field name → value in the state -------------------------------------------------------------

Read = Callable[[Any], Value | None]
Getter = Callable[["re.Match[str]"], Read]
"""From the match of a field name to a function reading that field from a state."""


def _item(values: str) -> Getter:
    def bind(match: re.Match[str]) -> Read:
        index = int(match[1]) - 1
        return lambda state: _index(getattr(state, values), index)

    return bind


def _attribute(name: str) -> Getter:
    return lambda match: lambda state: getattr(state, name)


def _index(values: list[Any], index: int) -> Any:
    return values[index] if 0 <= index < len(values) else None


def _bitmap(bits: list[bool]) -> int:
    return sum(1 << i for i, bit in enumerate(bits) if bit)


_METER: list[tuple[str, Getter]] = [
    (r"voltage_l(\d)_v", _item("voltage_v")),
    (r"current_l(\d)_a", _item("current_a")),
    (r"power_l(\d)_w", _item("power_w")),
    (r"power_factor_l(\d)", _item("power_factor")),
    (r"power_total_w", _attribute("total_power_w")),
    (r"power_factor_total", _attribute("total_power_factor")),
    (r"frequency_hz", _attribute("frequency_hz")),
    (r"energy_import_kwh", _attribute("import_energy_kwh")),
    (r"energy_export_kwh", _attribute("export_energy_kwh")),
    (r"energy_total_kwh", lambda m: lambda s: s.import_energy_kwh + s.export_energy_kwh),
    (r"serial_number", _attribute("serial_number")),
]
_LANE_FIELDS = frozenset({"vehicle_count", "occupancy_pct", "speed_kmh", "interval_count"})


def _lane(match: re.Match[str]) -> Read:
    index, what = int(match[1]) - 1, match[2]
    if what not in _LANE_FIELDS:
        return lambda state: None

    def read(state: LoopStationState) -> Value | None:
        if not 0 <= index < len(state.lanes):
            return None
        value: Value | None = getattr(state.lanes[index], what)
        return value

    return read


_LOOPS: list[tuple[str, Getter]] = [
    (r"lane_count", lambda m: lambda s: len(s.lanes)),
    (r"interval_s", _attribute("interval_s")),
    (r"lane(\d)_(\w+)", _lane),
]
_GATE: list[tuple[str, Getter]] = [
    (name, _attribute(name))
    for name in (
        "entries",
        "exits",
        "queue_count",
        "queue_occupancy_pct",
        "capacity",
        "barrier_open",
    )
]


def _cabinet_getters(commanded: list[bool] | None) -> list[tuple[str, Getter]]:
    def wanted(state: CabinetState) -> list[bool]:
        return commanded if commanded is not None else state.contactors

    def command(match: re.Match[str]) -> Read:
        index = int(match[1]) - 1
        return lambda state: _index(wanted(state), index)

    def discrepancy(state: CabinetState) -> Value:
        return _bitmap(wanted(state)) ^ _bitmap(state.contactors)

    return [
        (r"contactor_(\d+)_command", command),
        (r"contactor_(\d+)_closed", _item("contactors")),
        (r"door_open", _attribute("door_open")),
        (r"dim_setpoint_pct", _attribute("dim_setpoint_pct")),
        (r"contactor_discrepancy_mask", lambda m: discrepancy),
    ]


class DeviceView:
    """Reads one device's state as its profile names it: ``{measurement: {field: value}}``."""

    def __init__(
        self, profile: ProfileView, state: object, commanded: list[bool] | None = None
    ) -> None:
        self.profile = profile
        self.state = state
        getters = _getters_for(state, commanded)
        self.unknown: list[str] = []
        self._plan: list[tuple[str, str, Read, Convert]] = []
        for field in profile.fields:
            read = _bind(getters, field.name)
            if read is None:
                self.unknown.append(field.name)
            else:
                self._plan.append((field.measurement, field.name, read, converter(field)))

    def read(self) -> dict[str, dict[str, Value]]:
        out: dict[str, dict[str, Value]] = {}
        state = self.state
        for measurement, name, read, convert in self._plan:
            value = read(state)
            if value is not None:
                fields = out.get(measurement)
                if fields is None:
                    fields = out[measurement] = {}
                fields[name] = convert(value)
        return out


def _getters_for(state: object, commanded: list[bool] | None) -> list[tuple[str, Getter]]:
    if isinstance(state, MeterState):
        return _METER
    if isinstance(state, CabinetState):
        return _cabinet_getters(commanded)
    if isinstance(state, LoopStationState):
        return _LOOPS
    if isinstance(state, GateControllerState):
        return _GATE
    raise TypeError(f"no edge view for {type(state).__name__}")


def _bind(getters: list[tuple[str, Getter]], name: str) -> Read | None:
    for pattern, getter in getters:
        match = re.fullmatch(pattern, name)
        if match is not None:
            return getter(match)
    return None
