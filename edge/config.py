"""The gateway's config: identity, broker, outbox, buses and devices, validated as a whole.

Loaded from YAML (examples in ``firmware_configs/gateways/``). Any error names the file, the key
path and the bad value, and the agent refuses to start. Relative paths are relative to the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from eclor.config import is_placeholder, load_yaml_model
from eclor.errors import ConfigError
from eclor.wire.names import DEVICE_ID_PATTERN, NAME_PATTERN
from eclor.wire.topics import GATEWAY_ID_PATTERN
from edge.lighting.config import LightingConfig, check_lighting
from edge.profiles import Profile, default_profiles_dir, load_profiles

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*$", re.I)
_UNITS = {
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
}


def parse_size(value: int | str) -> int:
    """``"256MiB"`` → 268435456; integers are bytes."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"not a size: {value!r} (use e.g. 512MiB, 2GB or a number of bytes)")
    if isinstance(value, int):
        return value
    match = _SIZE.match(value)
    if match is None:
        raise ValueError(f"not a size: {value!r} (use e.g. 512MiB, 2GB or a number of bytes)")
    return int(float(match[1]) * _UNITS[(match[2] or "B").upper()])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Identity(_Strict):
    id: str = Field(pattern=GATEWAY_ID_PATTERN)
    site: str | None = None
    commune: str | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class Tls(_Strict):
    enabled: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @model_validator(mode="after")
    def _client_pair(self) -> Self:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self


class Broker(_Strict):
    host: str
    port: int = Field(default=1883, ge=1, le=65535)
    protocol: Literal["5", "3.1.1"] = Field(
        default="5", description="3.1.1 for brokers without MQTT 5 (the embedded demo broker)"
    )
    username: str | None = None
    password_file: Path | None = None
    tls: Tls = Tls()
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    reconnect_min_s: float = Field(default=1.0, gt=0)
    reconnect_max_s: float = Field(default=60.0, gt=0)


class OutboxSettings(_Strict):
    path: Path
    max_bytes: Annotated[int, Field(ge=1024)] = 256 * 1024**2
    max_age_days: float = Field(default=30, gt=0)
    batch_max_readings: int = Field(default=500, ge=1, le=1000)
    flush_interval_ms: int = Field(default=250, ge=10, le=10_000)
    max_staged_readings: int = Field(default=20_000, ge=100)

    @field_validator("max_bytes", mode="before")
    @classmethod
    def _size(cls, value: int | str) -> int:
        return parse_size(value)


class Uplink(_Strict):
    max_inflight: int = Field(default=32, ge=1, le=1000)
    ack_timeout_s: float = Field(default=30, gt=0)
    drain_rate_per_s: float = Field(default=20, gt=0, description="backlog messages per second")
    status_interval_s: float = Field(default=30, gt=0)


class _Bus(_Strict):
    name: str = Field(pattern=GATEWAY_ID_PATTERN)
    timeout_ms: int = Field(default=500, ge=20, le=30_000)


class TcpBus(_Bus):
    kind: Literal["tcp"]
    host: str
    port: int = Field(default=502, ge=1, le=65535)


class RtuOverTcpBus(_Bus):
    kind: Literal["rtu_over_tcp"]
    host: str
    port: int = Field(ge=1, le=65535)


class RtuBus(_Bus):
    kind: Literal["rtu"]
    port: str = Field(min_length=1, description="serial device, e.g. /dev/ttyUSB0")
    baudrate: int = Field(default=9600, ge=300, le=921_600)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8


Bus = Annotated[TcpBus | RtuOverTcpBus | RtuBus, Field(discriminator="kind")]


class Breaker(_Strict):
    base_s: float = Field(default=5, gt=0)
    max_s: float = Field(default=300, gt=0)


class Device(_Strict):
    id: str = Field(pattern=DEVICE_ID_PATTERN)
    profile: str
    bus: str
    unit: int | None = Field(default=None, ge=0, le=247)
    poll_interval_s: float = Field(default=10, ge=0.1, le=86_400)
    fields: list[str] | None = None
    tags: dict[Annotated[str, Field(pattern=NAME_PATTERN)], str] = {}


class Health(_Strict):
    host: str = "127.0.0.1"
    port: int | None = Field(
        default=9108, ge=0, le=65535, description="null turns the endpoint off; 0 picks a free port"
    )


class GatewayConfig(_Strict):
    gateway: Identity
    broker: Broker
    outbox: OutboxSettings
    uplink: Uplink = Uplink()
    breaker: Breaker = Breaker()
    health: Health = Health()
    profiles_dir: Path | None = None
    buses: list[Bus] = []
    devices: list[Device] = []
    lighting: LightingConfig | None = None


def _check_references(path: Path, config: GatewayConfig) -> None:
    def refuse(key: str, value: str, reason: str) -> None:
        raise ConfigError(str(path), key, value, reason)

    buses: set[str] = set()
    for i, bus in enumerate(config.buses):
        if bus.name in buses:
            refuse(f"buses[{i}].name", bus.name, "used twice")
        buses.add(bus.name)
    devices: set[str] = set()
    for i, device in enumerate(config.devices):
        if device.id in devices:
            refuse(f"devices[{i}].id", device.id, "used twice")
        devices.add(device.id)
        if device.bus not in buses:
            refuse(f"devices[{i}].bus", device.bus, f"no such bus (have {sorted(buses)})")


class LoadedConfig(_Strict):
    """A validated config with its profiles resolved; what the agent runs on."""

    source: Path
    config: GatewayConfig
    profiles: dict[str, Profile]


def load_gateway_config(path: Path) -> LoadedConfig:
    config = load_yaml_model(path, GatewayConfig)
    config = _resolve_paths(config, path.parent)
    _check_references(path, config)
    profiles = load_profiles(config.profiles_dir or default_profiles_dir())
    for i, device in enumerate(config.devices):
        _check_device(path, i, device, profiles)
    if config.lighting is not None:
        _check_lighting(path, config, profiles)
    _check_secret(path, config.broker)
    return LoadedConfig(source=path, config=config, profiles=profiles)


def _resolve_paths(config: GatewayConfig, base: Path) -> GatewayConfig:
    def resolve(p: Path | None) -> Path | None:
        return None if p is None else (p if p.is_absolute() else (base / p).resolve())

    outbox = config.outbox.model_copy(update={"path": resolve(config.outbox.path)})
    tls = config.broker.tls.model_copy(
        update={
            k: resolve(getattr(config.broker.tls, k)) for k in ("ca_file", "cert_file", "key_file")
        }
    )
    broker = config.broker.model_copy(
        update={"password_file": resolve(config.broker.password_file), "tls": tls}
    )
    lighting = config.lighting
    if lighting is not None:
        lighting = lighting.model_copy(update={"state_path": resolve(lighting.state_path)})
    return config.model_copy(
        update={
            "outbox": outbox,
            "broker": broker,
            "profiles_dir": resolve(config.profiles_dir),
            "lighting": lighting,
        }
    )


def _check_device(path: Path, i: int, device: Device, profiles: dict[str, Profile]) -> None:
    profile = profiles.get(device.profile)
    if profile is None:
        raise ConfigError(
            str(path),
            f"devices[{i}].profile",
            device.profile,
            f"unknown profile (have {sorted(profiles)})",
        )
    names = {f.name for f in profile.fields}
    for j, name in enumerate(device.fields or []):
        if name not in names:
            raise ConfigError(
                str(path), f"devices[{i}].fields[{j}]", name, f"not a field of {profile.model}"
            )


def _check_lighting(path: Path, config: GatewayConfig, profiles: dict[str, Profile]) -> None:
    assert config.lighting is not None
    fields: dict[str, list[str]] = {}
    writables: dict[str, list[str]] = {}
    for device in config.devices:
        profile = profiles[device.profile]
        fields[device.id] = device.fields or [f.name for f in profile.fields]
        writables[device.id] = [w.name for w in profile.writable]
    check_lighting(path, config.lighting, fields, writables)


def _check_secret(path: Path, broker: Broker) -> None:
    if broker.password_file is None:
        return
    try:
        secret = broker.password_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            str(path),
            "broker.password_file",
            str(broker.password_file),
            f"cannot read: {exc.strerror}",
        ) from None
    if is_placeholder(secret):
        raise ConfigError(
            str(path),
            "broker.password_file",
            str(broker.password_file),
            "holds an empty or placeholder password: provision the gateway's own credentials",
        )


def read_password(broker: Broker) -> str | None:
    if broker.password_file is None:
        return None
    return broker.password_file.read_text(encoding="utf-8").strip()
