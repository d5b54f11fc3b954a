"""Scenarios: what a simulated territory contains, as YAML validated by pydantic.

A scenario lists gateways (one per lighting cabinet or waste centre, plus any standalone loop
station), each with its site, commune, coordinates, field bus and devices (model, Modbus unit id),
and optionally a cabinet (installed power, circuits), a waste centre (bays, opening hours, arrival
rates) and DALI lines. Faults can be scripted at an absolute time or after a delay. Any error is a
:class:`~eclor.errors.ConfigError` naming the file, the key path (``gateways[3].devices[1].unit``)
and the bad value.

Packaged scenarios live in ``simulators/scenarios/NAME.yaml``; :func:`load_scenario` takes a name
or a path.
"""

from __future__ import annotations

import re
from datetime import date, time
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from eclor.errors import ConfigError
from simulators.territory.faults import FaultKind
from simulators.territory.traffic import Profile

GATEWAY_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
"""Lower-case letters, digits and hyphens, at most 63: a DNS label, a topic level, a file name."""
DEVICE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")

MeterModel = Literal["sdm630", "sdm120", "iem3155", "em24"]
METER_MODELS: tuple[str, ...] = ("sdm630", "sdm120", "iem3155", "em24")
SINGLE_PHASE_MODELS = frozenset({"sdm120"})


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# -- lighting ---------------------------------------------------------------------------------


class DimStepSpec(_Spec):
    """Lower the setpoint between two local times (wrapping midnight when ``to`` < ``from``)."""

    start: time = Field(alias="from")
    end: time = Field(alias="to")
    level_pct: int = Field(ge=1, le=100)


class LightingSpec(_Spec):
    """Territory-wide defaults of the cabinets' built-in program and of their luminaires."""

    on_offset_min: float = Field(15.0, ge=-120, le=120)
    off_offset_min: float = Field(15.0, ge=-120, le=120)
    dim_steps: list[DimStepSpec] = Field(default_factory=list)
    luminaire_w: float = Field(60.0, gt=0, le=2000)
    standby_w: float = Field(4.0, ge=0, le=200)


class CabinetSpec(_Spec):
    """A lighting cabinet: its installed power, spread over 1–4 contactor circuits."""

    installed_w: float = Field(gt=0, le=250_000)
    circuits: int = Field(2, ge=1, le=4)
    luminaire_w: float | None = Field(None, gt=0, le=2000)
    on_offset_min: float | None = Field(None, ge=-120, le=120)
    off_offset_min: float | None = Field(None, ge=-120, le=120)
    dim_steps: list[DimStepSpec] | None = None


# -- buses and devices --------------------------------------------------------------------------


class TcpBus(_Spec):
    """One Modbus TCP endpoint for the gateway, answering every unit id of its devices."""

    kind: Literal["tcp"] = "tcp"


class RtuBus(_Spec):
    """Modbus RTU on a pseudo-terminal pair (the gateway opens the printed device path)."""

    kind: Literal["rtu"]
    baudrate: int = Field(9600, ge=1200, le=115_200)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1


Bus = Annotated[TcpBus | RtuBus, Field(discriminator="kind")]
Unit = Annotated[int, Field(ge=1, le=247)]
DeviceId = Annotated[str, Field(pattern=DEVICE_ID_PATTERN)]


class MeterSpec(_Spec):
    """An energy meter metering the gateway's cabinet."""

    id: DeviceId
    model: MeterModel
    unit: Unit
    serial: int | None = Field(None, ge=1, le=99_999_999)


class CabinetControllerSpec(_Spec):
    """The cabinet's controller: contactor coils, door contact and dim setpoint over Modbus."""

    id: DeviceId
    model: Literal["cabinet_controller"]
    unit: Unit


class LaneSpec(_Spec):
    direction: str = Field("in", min_length=1, max_length=32)
    peak_vph: float = Field(gt=0, le=3000)
    profile: Profile = Profile.URBAN
    free_speed_kmh: float = Field(50.0, gt=0, le=150)
    truck_share: float = Field(0.08, ge=0, le=1)


class LoopStationSpec(_Spec):
    """A traffic-loop station: per lane counts, occupancy, and speed with double loops."""

    id: DeviceId
    model: Literal["loop_station"]
    unit: Unit
    interval_s: int = Field(60, ge=10, le=3600)
    double_loop: bool = False
    lanes: list[LaneSpec] = Field(min_length=1, max_length=4)


class GateControllerSpec(_Spec):
    """The waste centre's gate controller: entries, exits, queue detector."""

    id: DeviceId
    model: Literal["gate_controller"]
    unit: Unit


DeviceSpec = Annotated[
    MeterSpec | CabinetControllerSpec | LoopStationSpec | GateControllerSpec,
    Field(discriminator="model"),
]


class DaliLineSpec(_Spec):
    """A DALI line of ``gear`` control gear at short addresses 0…gear−1.

    On a cabinet gateway the gear are fed by contactor ``circuit``; elsewhere they are always fed.
    """

    id: DeviceId
    gear: int = Field(ge=1, le=64)
    rated_w: float = Field(40.0, gt=0, le=1000)
    circuit: int = Field(0, ge=0, le=3)


# -- waste centres ------------------------------------------------------------------------------


def _default_day_factors() -> dict[Weekday, float]:
    return {"sat": 1.8, "sun": 1.2}


class WasteCentreSpec(_Spec):
    """A déchetterie; days missing from ``opening_hours`` are closed all day."""

    bays: int = Field(ge=1, le=60)
    opening_hours: dict[Weekday, list[str]]
    closed_dates: list[date] = Field(default_factory=list)
    arrivals_per_hour: float = Field(30.0, gt=0, le=1000)
    day_factors: dict[Weekday, float] = Field(default_factory=_default_day_factors)
    service_min: float = Field(12.0, gt=0, le=240)
    service_cv: float = Field(0.5, ge=0, le=3)
    max_queue: int = Field(30, ge=0, le=1000)
    queue_lane_m: float = Field(70.0, gt=0, le=2000)

    @field_validator("opening_hours")
    @classmethod
    def _periods(cls, value: dict[Weekday, list[str]]) -> dict[Weekday, list[str]]:
        for periods in value.values():
            for period in periods:
                parse_period(period)
        return value


def parse_period(text: str) -> tuple[time, time]:
    """``"09:00-12:00"`` → (09:00, 12:00); the end must come after the start."""
    match = _HOURS.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not an opening period like '09:00-12:00'")
    start = time(int(match[1]), int(match[2]))
    end = time(int(match[3]), int(match[4]))
    if end <= start:
        raise ValueError(f"{text!r} ends before it starts")
    return start, end


# -- gateways, faults, scenario -----------------------------------------------------------------


class GatewaySpec(_Spec):
    id: str = Field(pattern=GATEWAY_ID_PATTERN)
    site: str = Field(min_length=1, max_length=200)
    commune: str = Field(min_length=1, max_length=100)
    latitude: float = Field(ge=-60, le=60)
    longitude: float = Field(ge=-180, le=180)
    bus: Bus = Field(default_factory=TcpBus)
    cabinet: CabinetSpec | None = None
    waste_centre: WasteCentreSpec | None = None
    devices: list[DeviceSpec] = Field(min_length=1, max_length=247)
    dali_lines: list[DaliLineSpec] = Field(default_factory=list, max_length=4)

    def meter(self) -> MeterSpec | None:
        return next((d for d in self.devices if isinstance(d, MeterSpec)), None)


class FaultSpec(_Spec):
    """A scripted fault: at an absolute time (with its offset) or ``after_s`` from the start."""

    at: AwareDatetime | None = None
    after_s: float | None = Field(None, ge=0)
    device: str = Field(min_length=1, max_length=200)
    kind: FaultKind
    circuit: int = Field(0, ge=0, le=3)
    count: int = Field(1, ge=1, le=10_000)
    closed: bool | None = None
    serial: int | None = Field(None, ge=1, le=99_999_999)
    initial_kwh: float = Field(0.0, ge=0)
    duration_s: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one_time(self) -> FaultSpec:
        if (self.at is None) == (self.after_s is None):
            raise ValueError("give exactly one of 'at' (a time with its offset) or 'after_s'")
        return self


class Scenario(_Spec):
    """A whole territory.

    ``start`` is the simulated start of ``eclor sim run`` (default: now; ``--start`` overrides);
    ``tick_s`` the real seconds between two model steps (each step is ``tick_s × speed`` simulated
    seconds); ``poll_s`` the interval of the readings ``eclor sim backfill`` writes.
    """

    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    timezone: str = "Europe/Paris"
    start: AwareDatetime | None = None
    seed: int = Field(0, ge=0, le=2**63 - 1)
    tick_s: float = Field(1.0, gt=0, le=60)
    poll_s: float = Field(60.0, gt=0, le=3600)
    lighting: LightingSpec = Field(default_factory=LightingSpec)
    gateways: list[GatewaySpec] = Field(min_length=1)
    faults: list[FaultSpec] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# -- loading ------------------------------------------------------------------------------------


def packaged_scenarios() -> list[str]:
    folder = resources.files("simulators") / "scenarios"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def scenario_path(name_or_path: str) -> Path:
    """The file of a packaged scenario name (``demo``) or of a path to a YAML file."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or "/" in name_or_path or candidate.is_file():
        if not candidate.is_file():
            raise ConfigError(name_or_path, "", name_or_path, "no such scenario file")
        return candidate
    packaged = Path(str(resources.files("simulators") / "scenarios" / f"{name_or_path}.yaml"))
    if not packaged.is_file():
        known = ", ".join(packaged_scenarios())
        raise ConfigError(
            name_or_path, "", name_or_path, f"no such scenario; packaged ones are: {known}"
        )
    return packaged


def load_scenario(name_or_path: str) -> Scenario:
    """Read, validate and cross-check a scenario; raise ConfigError saying what and where."""
    path = scenario_path(name_or_path)
    return parse_scenario(path.read_text(encoding="utf-8"), str(path))


def parse_scenario(text: str, file: str) -> Scenario:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(file, "", None, f"not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(file, "", data, "a scenario is a mapping at the top level")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        raise _config_error(file, data, error) from error
    check_scenario(scenario, file)
    return scenario


def _config_error(file: str, data: Any, error: ValidationError) -> ConfigError:
    """The most telling error: a misspelt key before the missing one it leaves behind."""
    errors = error.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    path, value = _locate(data, first["loc"])
    if first["type"] in {"union_tag_invalid", "union_tag_not_found"}:
        tag = str(first.get("ctx", {}).get("discriminator", "")).strip("'")
        return ConfigError(file, f"{path}.{tag}", first.get("ctx", {}).get("tag"), first["msg"])
    if first["type"] != "missing":
        value = first.get("input", value)
    return ConfigError(file, path, value, first["msg"])


def _locate(data: Any, loc: tuple[int | str, ...]) -> tuple[str, Any]:
    """A dotted key path for a pydantic ``loc``, skipping the tags of discriminated unions."""
    parts: list[str] = []
    node = data
    for step in loc:
        if isinstance(step, int) and isinstance(node, list) and 0 <= step < len(node):
            parts.append(f"[{step}]")
            node = node[step]
        elif isinstance(node, dict) and step in node:
            parts.append(f".{step}" if parts else str(step))
            node = node[step]
        elif isinstance(node, dict) and isinstance(step, str) and step not in node:
            if not _is_union_tag(node, step):
                parts.append(f".{step}" if parts else str(step))
                node = None
        else:
            parts.append(f".{step}" if parts else str(step))
            node = None
    return "".join(parts), node


def _is_union_tag(node: dict[str, Any], step: str) -> bool:
    return step in {node.get("model"), node.get("kind")}


# -- cross-checks pydantic cannot express field by field -----------------------------------------


def check_scenario(scenario: Scenario, file: str) -> None:
    """Unique ids and units, devices that fit their gateway, faults that hit something."""
    seen: dict[str, int] = {}
    for index, gateway in enumerate(scenario.gateways):
        key = f"gateways[{index}]"
        if gateway.id in seen:
            raise ConfigError(
                file, f"{key}.id", gateway.id, f"already the id of gateways[{seen[gateway.id]}]"
            )
        seen[gateway.id] = index
        _check_gateway(gateway, key, file)
    refs = fault_targets(scenario)
    for index, fault in enumerate(scenario.faults):
        kinds = refs.get(fault.device)
        if kinds is None:
            raise ConfigError(file, f"faults[{index}].device", fault.device, "no such device")
        if fault.kind not in kinds:
            allowed = ", ".join(sorted(kinds)) or "none"
            raise ConfigError(
                file,
                f"faults[{index}].kind",
                fault.kind.value,
                f"{fault.device} cannot have this fault (it can have: {allowed})",
            )


def _check_gateway(gateway: GatewaySpec, key: str, file: str) -> None:
    if gateway.cabinet is not None and gateway.waste_centre is not None:
        raise ConfigError(
            file, key, gateway.id, "a gateway is a cabinet or a waste centre, not both"
        )
    names: dict[str, str] = {}
    units: dict[int, int] = {}
    counts: dict[str, int] = {}
    for index, device in enumerate(gateway.devices):
        where = f"{key}.devices[{index}]"
        if device.id in names:
            raise ConfigError(file, f"{where}.id", device.id, f"already used by {names[device.id]}")
        names[device.id] = where
        if device.unit in units:
            other = units[device.unit]
            raise ConfigError(
                file, f"{where}.unit", device.unit, f"already the unit of devices[{other}]"
            )
        units[device.unit] = index
        role = _role(device)
        counts[role] = counts.get(role, 0) + 1
        _check_device_fits(gateway, device, role, counts[role], where, file)
    if gateway.waste_centre is not None and counts.get("gate", 0) == 0:
        raise ConfigError(
            file, f"{key}.devices", None, "a waste centre needs a gate_controller device"
        )
    for index, line in enumerate(gateway.dali_lines):
        if line.id in names:
            raise ConfigError(
                file, f"{key}.dali_lines[{index}].id", line.id, f"already used by {names[line.id]}"
            )
        names[line.id] = f"{key}.dali_lines[{index}]"
        if gateway.cabinet is not None and line.circuit >= gateway.cabinet.circuits:
            raise ConfigError(
                file,
                f"{key}.dali_lines[{index}].circuit",
                line.circuit,
                f"the cabinet has {gateway.cabinet.circuits} circuit(s), numbered from 0",
            )


def _role(device: DeviceSpec) -> str:
    if isinstance(device, MeterSpec):
        return "meter"
    if isinstance(device, CabinetControllerSpec):
        return "controller"
    if isinstance(device, GateControllerSpec):
        return "gate"
    return "loops"


def _check_device_fits(
    gateway: GatewaySpec, device: DeviceSpec, role: str, count: int, where: str, file: str
) -> None:
    needs = {"meter": "cabinet", "controller": "cabinet", "gate": "waste_centre"}.get(role)
    if needs is not None and getattr(gateway, needs) is None:
        raise ConfigError(
            file, f"{where}.model", device.model, f"needs a '{needs}' section on its gateway"
        )
    if needs is not None and count > 1:
        raise ConfigError(file, f"{where}.model", device.model, f"only one {role} per gateway")


_CABINET_FAULTS = frozenset(
    {FaultKind.LAMP_FAILURE, FaultKind.DAY_BURNER, FaultKind.STUCK_CONTACTOR, FaultKind.DOOR_OPEN}
)
_METER_FAULTS = frozenset({FaultKind.COUNTER_RESET, FaultKind.METER_REPLACED})
_GEAR_FAULTS = frozenset({FaultKind.LAMP_FAILURE, FaultKind.GEAR_FAILURE})


def fault_targets(scenario: Scenario) -> dict[str, frozenset[FaultKind]]:
    """Every reference a fault may name, with the kinds of fault it can have."""
    refs: dict[str, frozenset[FaultKind]] = {}
    for gateway in scenario.gateways:
        if gateway.cabinet is not None:
            refs[gateway.id] = _CABINET_FAULTS
        for device in gateway.devices:
            ref = f"{gateway.id}/{device.id}"
            if isinstance(device, MeterSpec):
                refs[ref] = _METER_FAULTS
            elif isinstance(device, CabinetControllerSpec):
                refs[ref] = _CABINET_FAULTS
            else:
                refs[ref] = frozenset()
        for line in gateway.dali_lines:
            for address in range(line.gear):
                refs[f"{gateway.id}/{line.id}/{address}"] = _GEAR_FAULTS
    return refs
