"""The chaos stand: every part as a real process, each one killable and restartable.

Mosquitto and InfluxDB come from ``tests/services``; the devices are ``python -m
simulators.chaos_devices``; the ingest is ``eclor cloud serve --role ingest``; each gateway is
``eclor edge run`` whose broker link goes through its own :class:`~tests.chaos.proxy.LinkProxy`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from cloud.registry.db import make_engine, make_session_factory, sqlite_url
from cloud.registry.gateways import enroll_gateway
from cloud.registry.migrate import upgrade
from tests.chaos import outbox_ledger
from tests.chaos.proxy import LinkProxy, ProxyLoop
from tests.services.influxdb import InfluxDBServer
from tests.services.mosquitto import MosquittoServer
from tests.services.ports import ServiceProcess

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
SHIPPED_PROFILES = ROOT / "firmware_configs" / "profiles"
SITE: dict[str, float | str] = {
    "latitude": 49.4717,
    "longitude": 5.9078,
    "timezone": "Europe/Paris",
}
CABINET_UNIT = 50
LIGHT_GROUP = "main_street"


@dataclass(frozen=True)
class AgentSpec:
    name: str
    units: tuple[int, ...]
    lighting: bool = False
    max_bytes: int | None = None
    poll_s: float = 0.5


@dataclass(frozen=True)
class StandSettings:
    flush_interval_ms: int = 250
    tick_s: float = 1.0
    reassert_s: float = 10.0
    ack_timeout_s: float = 4.0
    agents: tuple[AgentSpec, ...] = (
        AgentSpec("gw-a", (1, 2)),
        AgentSpec("gw-b", (3, 4)),
        AgentSpec("gw-light", (5,), lighting=True),
        AgentSpec("gw-full", (6, 7), max_bytes=4096, poll_s=0.25),
    )

    def agent_of_unit(self) -> dict[int, str]:
        return {u: a.name for a in self.agents for u in a.units}


def _python(*args: str) -> list[str]:
    return [sys.executable, *args]


@dataclass
class Stand:
    """Start with :meth:`start`; every method is synchronous and returns once done."""

    workdir: Path
    settings: StandSettings = field(default_factory=StandSettings)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.served_path = self.workdir / "served.jsonl"
        self.control_path = self.workdir / "control.json"
        self.control: dict[str, Any] = {"faults": {}, "power_cuts": 0}
        self.loop = ProxyLoop()
        self.mosquitto = MosquittoServer(self.workdir)
        self.influx = InfluxDBServer(self.workdir)
        self.proxies: dict[str, LinkProxy] = {}
        self.agents: dict[str, ServiceProcess] = {}
        self.ingest = ServiceProcess(
            "ingest",
            _python("-m", "eclor", "cloud", "serve", "--role", "ingest", "--config",
                    str(self.workdir / "cloud.yaml")),
            self.workdir / "ingest.log",
            env=self.env,
            cwd=ROOT,
        )  # fmt: skip
        self.devices = ServiceProcess(
            "devices",
            _python("-m", "simulators.chaos_devices", "--spec", str(self.workdir / "spec.json")),
            self.workdir / "devices.log",
            env=self.env,
            cwd=ROOT,
        )

    # -- start and stop --------------------------------------------------------------------------

    def start(self) -> None:
        self.mosquitto.start()
        self.influx.start()
        self._write_cloud_config()
        self.start_ingest()
        device_port = self._start_devices()
        profiles = self.workdir / "profiles"
        profiles.mkdir(exist_ok=True)
        shutil.copy(SHIPPED_PROFILES / "eclor-cabinet-controller.yaml", profiles)
        shutil.copy(Path(__file__).parent / "profiles" / "chaos-seq.yaml", profiles)
        for spec in self.settings.agents:
            self.proxies[spec.name] = LinkProxy(self.loop, self.mosquitto.port)
            folder = self.workdir / spec.name
            folder.mkdir(exist_ok=True)
            config = self._write_agent_config(spec, folder, device_port, profiles)
            outbox_ledger.install(folder / "outbox.sqlite")
            self.agents[spec.name] = ServiceProcess(
                spec.name,
                _python("-m", "eclor", "edge", "run", "--plain-logs", "--config", str(config)),
                folder / "agent.log",
                env=self.env,
                cwd=ROOT,
            )
            self.agents[spec.name].start()

    def stop(self) -> None:
        for agent in self.agents.values():
            agent.stop(30)
        self.ingest.stop()
        self.devices.stop()
        for proxy in self.proxies.values():
            proxy.close()
        self.loop.close()
        self.mosquitto.stop()
        self.influx.stop()

    def outbox(self, name: str) -> Path:
        return self.workdir / name / "outbox.sqlite"

    # -- the parts -------------------------------------------------------------------------------

    def start_ingest(self) -> None:
        self.ingest.start()

    def start_agent(self, name: str) -> None:
        self.agents[name].start()

    def set_faults(self, faults: dict[int, str]) -> None:
        self.control["faults"] = {str(u): f for u, f in faults.items()}
        self._write_control()

    def power_cut(self) -> None:
        self.control["power_cuts"] += 1
        self._write_control()

    def _write_control(self) -> None:
        temporary = self.control_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.control), encoding="utf-8")
        temporary.replace(self.control_path)

    def _start_devices(self) -> int:
        ready = self.workdir / "devices.ready"
        units = sorted(u for a in self.settings.agents for u in a.units)
        spec = {
            "seq_units": units,
            "cabinet_unit": CABINET_UNIT,
            "served": str(self.served_path),
            "control": str(self.control_path),
            "ready": str(ready),
        }
        (self.workdir / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        self._write_control()
        self.devices.start()
        self.devices.wait_ready(ready.exists, 30, "listen for Modbus TCP")
        time.sleep(0.1)  # the port is written just before the file is closed
        return int(ready.read_text(encoding="utf-8"))

    def _write_cloud_config(self) -> None:
        registry = self.workdir / "registry.sqlite"
        engine = make_engine(sqlite_url(registry))
        upgrade(engine)
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            for spec in self.settings.agents:
                enroll_gateway(session, spec.name, now=datetime.now(UTC))
        engine.dispose()
        document = {
            "mqtt": {"host": "127.0.0.1", "port": self.mosquitto.port},
            "store": {"influxdb": {"url": self.influx.url, "database": "eclor"}},
            "registry": {"url": f"sqlite:///{registry}"},
            "api": {"port": 0},
            "ingest": {"flush_interval_ms": 100},
        }
        (self.workdir / "cloud.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")

    def _write_agent_config(
        self, spec: AgentSpec, folder: Path, device_port: int, profiles: Path
    ) -> Path:
        s = self.settings
        devices: list[dict[str, Any]] = [
            {"id": f"seq-{u}", "profile": "chaos-seq", "bus": "lan", "unit": u,
             "poll_interval_s": spec.poll_s}
            for u in spec.units
        ]  # fmt: skip
        outbox: dict[str, Any] = {
            "path": str(folder / "outbox.sqlite"),
            "flush_interval_ms": s.flush_interval_ms,
            "batch_max_readings": 50,
        }
        if spec.max_bytes is not None:
            outbox["max_bytes"] = spec.max_bytes
        document: dict[str, Any] = {
            "gateway": {"id": spec.name, "site": spec.name, "commune": "thil"},
            "broker": {"host": "127.0.0.1", "port": self.proxies[spec.name].port,
                       "reconnect_min_s": 0.2, "reconnect_max_s": 2.0},
            "outbox": outbox,
            "uplink": {"ack_timeout_s": s.ack_timeout_s, "status_interval_s": 5,
                       "drain_rate_per_s": 50, "max_inflight": 16},
            "breaker": {"base_s": 1, "max_s": 2},
            "health": {"port": None},
            "profiles_dir": str(profiles),
            "buses": [{"name": "lan", "kind": "tcp", "host": "127.0.0.1", "port": device_port,
                       "timeout_ms": 3000}],
            "devices": devices,
        }  # fmt: skip
        if spec.lighting:
            document["devices"].append(
                {"id": "cab", "profile": "eclor-cabinet-controller", "bus": "lan",
                 "unit": CABINET_UNIT, "poll_interval_s": 2}
            )  # fmt: skip
            document["lighting"] = {
                "state_path": str(folder / "lighting.json"),
                "tick_s": s.tick_s,
                "reassert_s": s.reassert_s,
                "site": SITE,
                "no_program": "astronomical",
                "groups": [
                    {"name": LIGHT_GROUP,
                     "contactor": {"device": "cab", "outputs": ["contactor_1", "contactor_2"]},
                     "setpoint": {"device": "cab", "output": "dim_setpoint_pct"}}
                ],
            }  # fmt: skip
        path = folder / "gateway.yaml"
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        return path
