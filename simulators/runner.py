"""Serve a whole scenario: every gateway's Modbus devices, every DALI line, one model task.

Sockets and tasks stay few however large the territory: one Modbus TCP endpoint per gateway
answers all of its unit ids (or one pty pair for an RTU gateway), one DALI endpoint per line, and a
single task advances the whole territory model (never one per device). With ``base_port`` 0 every
endpoint gets a free port; otherwise gateway *i* listens on ``base_port + i`` and DALI line *j* on
``base_port + len(gateways) + j``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eclor.clock import Clock
from simulators.dali import serve_luba_pty, serve_luba_tcp
from simulators.dali.line import DaliLine
from simulators.dali.luba import LubaServer
from simulators.modbus.cabinet import CabinetController
from simulators.modbus.carlo_gavazzi import Em24
from simulators.modbus.device import ModbusDevice
from simulators.modbus.eastron import Sdm120, Sdm630
from simulators.modbus.faults import Fault
from simulators.modbus.gate_controller import GateController
from simulators.modbus.handle import ServerHandle
from simulators.modbus.loop_station import LoopStation
from simulators.modbus.rtu_server import serve_rtu
from simulators.modbus.schneider import Iem3155
from simulators.modbus.tcp_server import serve_tcp
from simulators.scenario import DeviceSpec, GatewaySpec, RtuBus, Scenario
from simulators.state import CabinetState, GateControllerState, LoopStationState, MeterState
from simulators.territory.build import build_territory
from simulators.territory.faults import FaultAction, FaultKind
from simulators.territory.model import Territory
from simulators.territory.ptypair import PtyPair

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceEndpoint:
    id: str
    model: str  # as in the scenario (sdm630, cabinet_controller …)
    profile: str  # the device profile it answers like (eastron-sdm630 …)
    unit: int


@dataclass(frozen=True)
class GatewayEndpoint:
    id: str
    site: str
    commune: str
    latitude: float
    longitude: float
    bus: str  # "tcp" or "rtu"
    host: str  # the bound address, or the serial device path for RTU
    port: int | str  # the TCP port, or the serial device path the gateway opens
    devices: tuple[DeviceEndpoint, ...]


@dataclass(frozen=True)
class DaliEndpoint:
    gateway: str
    line: str
    gear: int
    host: str
    port: int
    uri: str | None  # luba232:/dev/pts/N for python-dali's DriverLubaRs232


@dataclass
class RunningTerritory:
    """A served territory; :meth:`stop` closes every endpoint and the model task."""

    scenario: Scenario
    territory: Territory
    clock: Clock
    gateways: list[GatewayEndpoint] = field(default_factory=list)
    dali: list[DaliEndpoint] = field(default_factory=list)
    devices: dict[str, ModbusDevice] = field(default_factory=dict)  # by gateway/device
    _handles: list[ServerHandle] = field(default_factory=list)
    _luba: list[LubaServer] = field(default_factory=list)
    _ptys: list[PtyPair] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    @property
    def model_task(self) -> asyncio.Task[None]:
        """The one task that advances the territory; it only ends if the model fails."""
        assert self._task is not None, "the territory is not running"
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for handle in self._handles:
            await handle.stop()
        for server in self._luba:
            await server.close()
        for pair in self._ptys:
            pair.close()
        self._handles, self._luba, self._ptys = [], [], []

    def as_dict(self) -> dict[str, Any]:
        """The endpoints as one JSON-ready document (what ``eclor sim run --json`` prints)."""
        return {
            "scenario": self.scenario.name,
            "start": self.territory.started_at.astimezone(self.scenario.zone).isoformat(),
            "gateways": [_gateway_dict(g) for g in self.gateways],
            "dali": [vars(d) for d in self.dali],
        }


def _gateway_dict(gateway: GatewayEndpoint) -> dict[str, Any]:
    data = {k: v for k, v in vars(gateway).items() if k != "devices"}
    data["devices"] = [
        {**vars(d), "host": gateway.host, "port": gateway.port} for d in gateway.devices
    ]
    return data


async def start_territory(
    scenario: Scenario,
    clock: Clock,
    *,
    host: str = "127.0.0.1",
    base_port: int = 0,
    speed: float = 1.0,
) -> RunningTerritory:
    """Build the territory of ``scenario`` on ``clock``, serve it, and start its model task.

    The model advances every ``scenario.tick_s`` real seconds, i.e. ``tick_s × speed`` seconds of
    ``clock`` time (pass the clock's speed). On any failure to start, whatever started is stopped.
    """
    territory = build_territory(scenario, clock)
    running = RunningTerritory(scenario, territory, clock)
    try:
        for index, gateway in enumerate(scenario.gateways):
            port = base_port + index if base_port else 0
            running.gateways.append(await _serve_gateway(running, gateway, host, port))
        dali_port = base_port + len(scenario.gateways) if base_port else 0
        for ref, line in territory.parts.dali_lines.items():
            running.dali.append(await _serve_dali(running, ref, line, host, dali_port))
            dali_port = dali_port + 1 if base_port else 0
    except BaseException:
        await running.stop()
        raise
    step_s = scenario.tick_s * speed
    running._task = asyncio.create_task(territory.run(clock, step_s), name="territory-model")
    return running


async def _serve_gateway(
    running: RunningTerritory, gateway: GatewaySpec, host: str, port: int
) -> GatewayEndpoint:
    devices: dict[int, ModbusDevice] = {}
    described = []
    for spec in gateway.devices:
        device = _make_device(running, gateway, spec)
        devices[spec.unit] = device
        described.append(DeviceEndpoint(spec.id, spec.model, device.model, spec.unit))
    if isinstance(gateway.bus, RtuBus):
        pair = PtyPair()
        running._ptys.append(pair)
        pair.start()
        bus = gateway.bus
        handle = await serve_rtu(devices, pair.device_side, bus.baudrate, bus.parity, bus.stopbits)
        bound_host: str = pair.master_side
        bound_port: int | str = pair.master_side
    else:
        handle = await serve_tcp(devices, host, port)
        bound_host, bound_port = handle.host, handle.port
    running._handles.append(handle)
    return GatewayEndpoint(
        gateway.id,
        gateway.site,
        gateway.commune,
        gateway.latitude,
        gateway.longitude,
        gateway.bus.kind,
        bound_host,
        bound_port,
        tuple(described),
    )


def _make_device(running: RunningTerritory, gateway: GatewaySpec, spec: DeviceSpec) -> ModbusDevice:
    ref = f"{gateway.id}/{spec.id}"
    parts = running.territory.parts
    device = make_modbus_device(spec.model, parts.device_states[ref], spec.unit)
    running.devices[ref] = device
    if isinstance(device, CabinetController):
        parts.cabinets[gateway.id].command_mirror = device.commanded
    if spec.model in {"sdm630", "sdm120", "iem3155", "em24"}:
        parts.event_sinks[ref] = _meter_events(device)
    return device


def _meter_events(device: ModbusDevice) -> Callable[[FaultAction], None]:
    """Meter events go through the device, which also forgets its peaks on a replacement."""

    def apply(action: FaultAction) -> None:
        if action.kind is FaultKind.METER_REPLACED:
            device.faults.set(Fault.METER_REPLACED, serial_number=action.serial)
        else:
            device.faults.set(Fault.COUNTER_RESET)

    return apply


def _meter(factory: Callable[[MeterState], ModbusDevice]) -> Factory:
    def make(state: object, unit: int) -> ModbusDevice:
        assert isinstance(state, MeterState)
        return factory(state)

    return make


def _eastron(factory: type[Sdm630]) -> Factory:
    """Eastron meters also report their node address (= unit id) in a holding register."""

    def make(state: object, unit: int) -> ModbusDevice:
        assert isinstance(state, MeterState)
        return factory(state, node_address=unit)

    return make


def _cabinet(state: object, unit: int) -> ModbusDevice:
    assert isinstance(state, CabinetState)
    return CabinetController(state)


def _loops(state: object, unit: int) -> ModbusDevice:
    assert isinstance(state, LoopStationState)
    return LoopStation(state)


def _gate(state: object, unit: int) -> ModbusDevice:
    assert isinstance(state, GateControllerState)
    return GateController(state)


Factory = Callable[[object, int], ModbusDevice]
_FACTORIES: dict[str, Factory] = {
    "sdm630": _eastron(Sdm630),
    "sdm120": _eastron(Sdm120),
    "iem3155": _meter(Iem3155),
    "em24": _meter(Em24),
    "cabinet_controller": _cabinet,
    "loop_station": _loops,
    "gate_controller": _gate,
}


def make_modbus_device(model: str, state: object, unit: int = 1) -> ModbusDevice:
    """The simulated Modbus device for a scenario device ``model`` over its shared ``state``."""
    return _FACTORIES[model](state, unit)


async def _serve_dali(
    running: RunningTerritory, ref: str, line: DaliLine, host: str, port: int
) -> DaliEndpoint:
    tcp = await serve_luba_tcp(line, host, port)
    running._luba.append(tcp)
    pty = await serve_luba_pty(line)
    running._luba.append(pty)
    address = tcp.tcp_address
    assert address is not None
    gateway, line_id = ref.split("/", 1)
    return DaliEndpoint(gateway, line_id, len(line.gear), address[0], address[1], pty.uri)
