"""From a served simulated territory to edge agent configs and registry entries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from cloud.registry.baselines import ensure_baseline
from cloud.registry.devices import add_device, list_devices
from cloud.registry.gateways import enroll_gateway
from cloud.registry.models import Gateway
from demo.residents_seed import seed_residents
from edge.config import Broker, Device, GatewayConfig, Health, Identity, OutboxSettings, Uplink
from edge.config import RtuBus as EdgeRtuBus
from edge.config import TcpBus as EdgeTcpBus
from edge.lighting.backends_config import (
    ContactorTarget,
    DaliLineConfig,
    DaliTarget,
    MeterTarget,
    SetpointTarget,
)
from edge.lighting.config import GroupConfig, LightingConfig, SiteConfig
from edge.profiles import Profile
from simulators.runner import DaliEndpoint, GatewayEndpoint
from simulators.scenario import GatewaySpec, RtuBus, Scenario

POLL_INTERVAL_S = 5.0


def gateway_config(
    endpoint: GatewayEndpoint,
    scenario: Scenario,
    broker: Broker,
    folder: Path,
    profiles: dict[str, Profile],
    poll_interval_s: float = POLL_INTERVAL_S,
    uplink: Uplink | None = None,
    dali: Sequence[DaliEndpoint] = (),
) -> GatewayConfig:
    """An edge agent config polling every device of the simulated gateway.

    A cabinet gateway also gets a ``lighting:`` section (see :func:`lighting_config`); pass the
    territory's ``dali`` endpoints so a cabinet that feeds a DALI line drives it too.
    """
    bus_name = "lan" if endpoint.bus == "tcp" else "rs485"
    bus: EdgeTcpBus | EdgeRtuBus
    if endpoint.bus == "tcp":
        bus = EdgeTcpBus(kind="tcp", name=bus_name, host=endpoint.host, port=int(endpoint.port))
    else:
        spec = next(g.bus for g in scenario.gateways if g.id == endpoint.id)
        assert isinstance(spec, RtuBus)
        bus = EdgeRtuBus(
            kind="rtu",
            name=bus_name,
            port=str(endpoint.port),
            baudrate=spec.baudrate,
            parity=spec.parity,
            stopbits=spec.stopbits,
            timeout_ms=300,
        )
    devices = [
        Device(
            id=f"{endpoint.id}-{d.id}",
            profile=d.profile,
            bus=bus_name,
            unit=d.unit,
            poll_interval_s=poll_interval_s,
            tags={"site": endpoint.id, "commune": _slug(endpoint.commune)},
        )
        for d in endpoint.devices
        if d.profile in profiles
    ]
    return GatewayConfig(
        gateway=Identity(
            id=endpoint.id,
            site=endpoint.site,
            commune=endpoint.commune,
            latitude=endpoint.latitude,
            longitude=endpoint.longitude,
        ),
        broker=broker,
        outbox=OutboxSettings(path=folder / endpoint.id / "outbox.sqlite"),
        uplink=uplink or Uplink(status_interval_s=10),
        health=Health(port=None),
        buses=[bus],
        devices=devices,
        lighting=lighting_config(endpoint, scenario, folder, devices, dali),
    )


def lighting_config(
    endpoint: GatewayEndpoint,
    scenario: Scenario,
    folder: Path,
    devices: Sequence[Device],
    dali: Sequence[DaliEndpoint] = (),
) -> LightingConfig | None:
    """One lighting group ``main`` per simulated cabinet: every circuit's contactor, the dim
    setpoint, the meter at the cabinet's installed power, and its DALI line (broadcast) if served.
    None for a gateway without a cabinet controller."""
    spec = next(g for g in scenario.gateways if g.id == endpoint.id)
    by_profile = {d.profile: d.id for d in devices}
    controller = by_profile.get("eclor-cabinet-controller")
    if spec.cabinet is None or controller is None:
        return None
    lines = [
        DaliLineConfig(name=_line_name(d.line), port=f"luba232:socket://{d.host}:{d.port}")
        for d in dali
        if d.gateway == endpoint.id
    ]
    meter = _meter(spec, devices)
    group = GroupConfig(
        name="main",
        contactor=ContactorTarget(
            device=controller,
            outputs=[f"contactor_{i + 1}" for i in range(spec.cabinet.circuits)],
        ),
        setpoint=SetpointTarget(device=controller, output="dim_setpoint_pct"),
        meter=None
        if meter is None
        else MeterTarget(
            device=meter, rated_w=spec.cabinet.installed_w, power_field="power_total_w"
        ),
        dali=DaliTarget(line=lines[0].name, broadcast=True) if lines else None,
    )
    return LightingConfig(
        state_path=folder / endpoint.id / "lighting.json",
        # The executor sleeps until the program's next change anyway; a long tick keeps a demo
        # clock running thousands of times real time from spinning (retries wait this long).
        tick_s=30,
        site=SiteConfig(
            latitude=endpoint.latitude, longitude=endpoint.longitude, timezone=scenario.timezone
        ),
        dali_lines=lines,
        groups=[group],
    )


def _meter(spec: GatewaySpec, devices: Sequence[Device]) -> str | None:
    meter = spec.meter()
    if meter is None:
        return None
    wanted = f"{spec.id}-{meter.id}"
    return wanted if any(d.id == wanted for d in devices) else None


def _line_name(line: str) -> str:
    name = "".join(c if c.isalnum() or c in "_-" else "-" for c in line.lower())
    return name if name[:1].isalpha() else f"dali-{name}"[:31]


def _slug(name: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "-".join(plain.lower().replace("'", " ").split())


def register(
    session: Session, config: GatewayConfig, now: datetime, scenario: Scenario | None = None
) -> None:
    """Enrol the gateway and its devices in the registry, as provisioning would; ``scenario``
    (the demo's by default) gives the waste centres' hours and the loop lanes' layout."""
    gateway_id = config.gateway.id
    if session.get(Gateway, gateway_id) is None:
        enroll_gateway(session, gateway_id, now=now)
    known = {d.device_id for d in list_devices(session, gateway_id)}
    for device in config.devices:
        if device.id not in known:
            add_device(
                session,
                gateway_id,
                device.id,
                profile=device.profile,
                now=now,
                unit_id=device.unit,
                tags=device.tags,
            )
    if config.lighting is not None:  # full-power baseline for the savings series
        meters = {g.meter.device: g.meter.rated_w for g in config.lighting.groups if g.meter}
        ensure_baseline(session, gateway_id, now=now, meters=meters)
    seed_residents(session, config, now, scenario)  # waste centre and loop lanes (issue 7)
