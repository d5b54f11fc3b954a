"""What the technician answers, from an answers file, flags, or prompts; and the defaults.

An answers file is YAML (example in ``docs/edge.md``)::

    gateway: {id: cab-thil-04, site: cab-thil-04, commune: thil, latitude: 49.47, longitude: 5.91}
    cloud: {api_url: https://api.eclor.example, token: …}
    buses:
      - {name: rs485, kind: rtu, port: /dev/ttyUSB0, baudrate: 9600, parity: N, units: "1-16"}
      - {name: site-lan, kind: tcp, host: 192.168.10.20, units: [1]}
    devices:
      poll_interval_s: 10
      tags: {zone: nord}
      exclude: ["rs485:7"]                 # bus:unit, or the id of a device already configured
      overrides:
        "rs485:1": {id: cab-thil-04-meter, tags: {circuit: main}}

Flags override the file key by key; prompts (interactive mode) start from the result. Missing
values come from the existing config when there is one. :func:`resolve` turns answers into
:class:`Settings`, or says everything that is missing at once.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from eclor.config import read_yaml, validate
from eclor.wire.names import DEVICE_ID_PATTERN, NAME_PATTERN
from eclor.wire.topics import GATEWAY_ID_PATTERN
from edge.config import Bus, GatewayConfig, Identity, RtuBus, TcpBus
from edge.errors import AnswersError

TOKEN_ENV = "ECLOR_ENROL_TOKEN"
DEFAULT_POLL_INTERVAL_S = 10.0
_UNITS = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+))?\s*$")


def parse_units(value: str | list[int] | None) -> list[int] | None:
    """``"1-4,10"`` → ``[1, 2, 3, 4, 10]``; a list is checked; ``None`` stays (scan's default)."""
    if value is None:
        return None
    units: list[int] = []
    parts = value.split(",") if isinstance(value, str) else value
    for part in parts:
        if isinstance(part, int):
            units.append(part)
            continue
        match = _UNITS.match(part)
        if match is None:
            raise ValueError(f"not a unit id or range: {part!r} (use e.g. 1-16,20)")
        first, last = int(match[1]), int(match[2] or match[1])
        units.extend(range(first, last + 1))
    bad = [u for u in units if not 0 <= u <= 247]
    if bad or not units:
        raise ValueError(f"unit ids go from 0 to 247 (got {bad or 'none'})")
    return sorted(set(units))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Scan(_Strict):
    units: list[int] | None = None
    """Unit ids to scan; ``None``: all of them (1-247)."""

    @field_validator("units", mode="before")
    @classmethod
    def _units(cls, value: str | list[int] | None) -> list[int] | None:
        return parse_units(value)


class RtuScan(_Scan):
    """A serial line to scan. Line settings left out are found: the profiles' factory
    settings are tried (9600 8N1, then 19200 8E1…) until a unit answers."""

    kind: Literal["rtu"]
    name: str = Field(default="rs485", pattern=GATEWAY_ID_PATTERN)
    port: str = Field(min_length=1)
    baudrate: int | None = Field(default=None, ge=300, le=921_600)
    parity: Literal["N", "E", "O"] | None = None
    stopbits: Literal[1, 2] | None = None
    timeout_ms: int = Field(
        default=300, ge=20, le=30_000, description="the agent's, not the scan's"
    )

    @property
    def fixed(self) -> bool:
        return any(v is not None for v in (self.baudrate, self.parity, self.stopbits))


class TcpScan(_Scan):
    """A Modbus TCP endpoint (a device, or a gateway in front of a serial line)."""

    kind: Literal["tcp"]
    name: str | None = Field(default=None, pattern=GATEWAY_ID_PATTERN)
    host: str = Field(min_length=1)
    port: int = Field(default=502, ge=1, le=65535)
    timeout_ms: int = Field(default=500, ge=20, le=30_000)

    @property
    def bus_name(self) -> str:
        return self.name or _name_of(f"{self.host}-{self.port}")


ScanBus = Annotated[RtuScan | TcpScan, Field(discriminator="kind")]


def scan_name(bus: RtuScan | TcpScan) -> str:
    return bus.name if isinstance(bus, RtuScan) else bus.bus_name


def _name_of(text: str) -> str:
    name = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return name[:63] or "bus"


def scan_of(bus: Bus) -> RtuScan | TcpScan | None:
    """How to scan a bus of an existing config again (RTU over TCP cannot be scanned)."""
    if isinstance(bus, RtuBus):
        data = bus.model_dump(include={"name", "port", "baudrate", "parity", "stopbits"})
        return RtuScan(kind="rtu", timeout_ms=bus.timeout_ms, **data)
    if isinstance(bus, TcpBus):
        return TcpScan(
            kind="tcp", name=bus.name, host=bus.host, port=bus.port, timeout_ms=bus.timeout_ms
        )
    return None


class GatewayAnswers(_Strict):
    id: str | None = Field(default=None, pattern=GATEWAY_ID_PATTERN)
    site: str | None = None
    commune: str | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class CloudAnswers(_Strict):
    api_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+")
    token: SecretStr | None = None
    ca_file: Path | None = Field(default=None, description="CA for the broker's TLS certificate")


Tags = dict[Annotated[str, Field(pattern=NAME_PATTERN)], str]


class DeviceAnswer(_Strict):
    id: str | None = Field(default=None, pattern=DEVICE_ID_PATTERN)
    profile: str | None = Field(
        default=None, description="the model, when the scan cannot tell (ambiguous, unknown)"
    )
    poll_interval_s: float | None = Field(default=None, ge=0.1, le=86_400)
    tags: Tags = {}
    exclude: bool = False


class DevicesAnswers(_Strict):
    poll_interval_s: float = Field(default=DEFAULT_POLL_INTERVAL_S, ge=0.1, le=86_400)
    tags: Tags = {}
    exclude: list[str] = []
    overrides: dict[str, DeviceAnswer] = {}

    @field_validator("overrides")
    @classmethod
    def _addresses(cls, value: dict[str, DeviceAnswer]) -> dict[str, DeviceAnswer]:
        for key in value:
            bus, _, unit = key.rpartition(":")
            if not bus or not unit.isdigit():
                raise ValueError(f"{key!r}: key a device by bus name and unit, e.g. 'rs485:1'")
        return value

    def answer_for(self, address: str) -> DeviceAnswer:
        return self.overrides.get(address, DeviceAnswer())

    def excludes(self, address: str, device_id: str | None = None) -> bool:
        if self.answer_for(address).exclude:
            return True
        return address in self.exclude or (device_id is not None and device_id in self.exclude)


class Answers(_Strict):
    gateway: GatewayAnswers = GatewayAnswers()
    cloud: CloudAnswers = CloudAnswers()
    buses: list[ScanBus] = []
    devices: DevicesAnswers = DevicesAnswers()
    units: list[int] | None = None
    """Unit ids to scan on the buses that name none (default: 1-247)."""
    outbox_path: Path | None = None
    password_file: Path | None = None
    health_port: int | None = Field(
        default=None, ge=0, le=65535, description="the agent's /healthz port [existing, or 9108]"
    )
    self_test_timeout_s: float = Field(default=60.0, ge=5, le=3600)

    @field_validator("units", mode="before")
    @classmethod
    def _units(cls, value: str | list[int] | None) -> list[int] | None:
        return parse_units(value)


def load_answers(path: Path | None, overrides: dict[str, Any]) -> Answers:
    """The answers file (if any) with ``overrides`` (from flags) merged over it key by key."""
    base: dict[str, Any] = {}
    if path is not None:
        base = read_yaml(path) or {}
        if not isinstance(base, dict):
            raise AnswersError([f"{path}: an answers file is a YAML mapping"])
        validate(Answers, base, str(path))  # an error in the file names the file and the key
    return validate(Answers, deep_merge(base, overrides), "flags" if path is None else str(path))


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True)
class Settings:
    """Complete answers: everything provisioning needs."""

    config_path: Path
    identity: Identity
    api_url: str
    token: str | None = field(repr=False)
    """``None``: keep the existing enrolment (re-run without a new token)."""
    buses: list[RtuScan | TcpScan]
    units: list[int] | None
    devices: DevicesAnswers
    ca_file: Path | None
    outbox_path: Path
    password_file: Path
    health_port: int | None
    self_test_timeout_s: float


def with_defaults(answers: Answers, existing: GatewayConfig | None) -> Answers:
    """Fill what the answers leave out from the existing config and the environment."""
    gateway = answers.gateway
    if existing is not None:
        known = existing.gateway.model_dump(exclude_none=True)
        gateway = GatewayAnswers(**{**known, **gateway.model_dump(exclude_none=True)})
    if gateway.id is not None and gateway.site is None:
        gateway = gateway.model_copy(update={"site": gateway.id})
    cloud = answers.cloud
    if cloud.token is None and os.environ.get(TOKEN_ENV):
        cloud = cloud.model_copy(update={"token": SecretStr(os.environ[TOKEN_ENV])})
    if cloud.ca_file is None and existing is not None:
        cloud = cloud.model_copy(update={"ca_file": existing.broker.tls.ca_file})
    buses = answers.buses
    if not buses and existing is not None:
        buses = [scan for scan in map(scan_of, existing.buses) if scan is not None]
    return answers.model_copy(update={"gateway": gateway, "cloud": cloud, "buses": buses})


def resolve(
    answers: Answers, config_path: Path, existing: GatewayConfig | None, has_credentials: bool
) -> Settings:
    """Complete settings, or :class:`AnswersError` naming every missing answer."""
    g, cloud = answers.gateway, answers.cloud
    missing = [
        f"gateway.{key}"
        for key in ("id", "commune", "latitude", "longitude")
        if getattr(g, key) is None
    ]
    if cloud.api_url is None:
        missing.append("cloud.api_url")
    if cloud.token is None and not has_credentials:
        missing.append(f"cloud.token (or --token, or ${TOKEN_ENV})")
    if not answers.buses:
        missing.append("buses (at least one bus to scan)")
    if missing:
        raise AnswersError([f"missing answer: {m}" for m in missing])
    assert g.id is not None
    assert cloud.api_url is not None
    identity = Identity(**{**g.model_dump(exclude_none=True), "site": g.site or g.id})
    return Settings(
        config_path=config_path,
        identity=identity,
        api_url=cloud.api_url.rstrip("/").removesuffix("/api/v1"),
        token=None if cloud.token is None else cloud.token.get_secret_value().strip(),
        buses=list(answers.buses),
        units=answers.units,
        devices=answers.devices,
        ca_file=cloud.ca_file,
        outbox_path=answers.outbox_path or _outbox_default(config_path, existing),
        password_file=answers.password_file or _password_default(config_path, existing),
        health_port=answers.health_port,
        self_test_timeout_s=answers.self_test_timeout_s,
    )


def _outbox_default(config_path: Path, existing: GatewayConfig | None) -> Path:
    """The existing config's outbox; under ``/etc`` the systemd unit's state folder; else a file
    next to the config."""
    if existing is not None:
        return existing.outbox.path
    if config_path.resolve().is_relative_to("/etc"):
        return Path("/var/lib/eclor/outbox.sqlite")
    return Path(f"{config_path.stem}.outbox.sqlite")


def _password_default(config_path: Path, existing: GatewayConfig | None) -> Path:
    if existing is not None and existing.broker.password_file is not None:
        return existing.broker.password_file
    return Path(f"{config_path.stem}.mqtt.secret")
