"""Running the demo: broker, simulated territory, cloud, one edge agent per gateway."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table
from sqlalchemy.orm import Session

from cloud.broker import EmbeddedBroker, MosquittoProcess, free_port
from cloud.config import ApiConfig, CloudConfig, MqttConfig, PublicApiConfig, RegistryConfig
from cloud.lighting.defaults import night_program
from cloud.registry.devices import add_lighting_group, list_lighting_groups
from cloud.registry.gateways import list_gateways
from cloud.registry.models import LightingBackend
from cloud.registry.tokens import create_token
from cloud.runtime import CloudRuntime
from cloud.store.settings import InfluxSettings, SqliteSettings, StoreSettings
from demo.wiring import gateway_config, register
from eclor.clock import ScaledClock, WallClock
from edge.agent import EdgeAgent
from edge.config import Broker, GatewayConfig, LoadedConfig
from edge.lighting.config import GroupConfig
from edge.profiles import default_profiles_dir, load_profiles
from simulators.runner import RunningTerritory, start_territory
from simulators.scenario import Scenario, load_scenario

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoOptions:
    folder: Path
    scenario: str = "demo"
    seconds: float | None = None
    api_port: int = 8080
    influx_url: str | None = None
    speed: float = 1.0
    embedded_broker: bool = False


class Demo:
    def __init__(self, options: DemoOptions, console: Console) -> None:
        self.options = options
        self.console = console
        self.stopped = asyncio.Event()

    async def run(self) -> dict[str, Any]:
        """Run until stopped (or ``seconds``); return the final summary."""
        async with contextlib.AsyncExitStack() as stack:
            broker = await self._broker(stack)
            territory = await self._territory(stack)
            runtime = await self._cloud(stack, broker)
            configs = self._configs(territory, broker)
            token = self._enrol(runtime, configs, territory.scenario)
            await self._agents(stack, configs)
            await self._programs(runtime, configs, token)
            self._print_urls(runtime, broker.url, token)
            return await self._live(runtime)
        raise AssertionError("unreachable")

    async def _broker(self, stack: contextlib.AsyncExitStack) -> MosquittoProcess | EmbeddedBroker:
        broker: MosquittoProcess | EmbeddedBroker
        if MosquittoProcess.available() and not self.options.embedded_broker:
            broker = MosquittoProcess(self.options.folder / "mosquitto")
        else:
            broker = EmbeddedBroker("127.0.0.1", free_port())
        await broker.start()
        stack.push_async_callback(broker.stop)
        return broker

    async def _territory(self, stack: contextlib.AsyncExitStack) -> RunningTerritory:
        scenario = load_scenario(self.options.scenario)
        clock = (
            WallClock()
            if self.options.speed == 1
            else ScaledClock(datetime.now(UTC), self.options.speed)
        )
        territory = await start_territory(scenario, clock, speed=self.options.speed)
        stack.push_async_callback(territory.stop)
        return territory

    async def _cloud(
        self, stack: contextlib.AsyncExitStack, broker: MosquittoProcess | EmbeddedBroker
    ) -> CloudRuntime:
        folder = self.options.folder
        protocol = "3.1.1" if isinstance(broker, EmbeddedBroker) else "5"
        store = StoreSettings(
            influxdb=InfluxSettings(url=self.options.influx_url)
            if self.options.influx_url
            else None,
            sqlite=SqliteSettings(path=folder / "timeseries.sqlite"),
        )
        config = CloudConfig(
            mqtt=MqttConfig(host=broker.host, port=broker.port, protocol=protocol),
            store=store,
            registry=RegistryConfig(url=f"sqlite:///{folder / 'registry.sqlite'}"),
            api=ApiConfig(
                host="127.0.0.1",
                port=self.options.api_port,
                public=PublicApiConfig(photo_dir=folder / "report-photos"),
            ),
        )
        runtime = CloudRuntime(config)
        stop = asyncio.Event()
        task = asyncio.create_task(runtime.run(stop), name="cloud")

        async def close() -> None:
            stop.set()
            await task

        stack.push_async_callback(close)
        ready = asyncio.create_task(runtime.ready.wait())
        await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
        return runtime

    def _configs(
        self, territory: RunningTerritory, broker: MosquittoProcess | EmbeddedBroker
    ) -> list[LoadedConfig]:
        profiles = load_profiles(default_profiles_dir())
        protocol = "3.1.1" if isinstance(broker, EmbeddedBroker) else "5"
        edge_broker = Broker(host=broker.host, port=broker.port, protocol=protocol)
        folder = self.options.folder / "edge"
        return [
            LoadedConfig(
                source=self.options.folder,
                config=gateway_config(
                    endpoint,
                    territory.scenario,
                    edge_broker,
                    folder,
                    profiles,
                    dali=territory.dali,
                ),
                profiles=profiles,
            )
            for endpoint in territory.gateways
        ]

    def _enrol(self, runtime: CloudRuntime, configs: list[LoadedConfig], scenario: Scenario) -> str:
        now = datetime.now(UTC)
        with runtime.sessions.begin() as session:
            for loaded in configs:
                register(session, loaded.config, now, scenario)
            return create_token(session, "demo", ["admin"], now=now).secret

    async def _agents(self, stack: contextlib.AsyncExitStack, configs: list[LoadedConfig]) -> None:
        for loaded in configs:
            agent = EdgeAgent(loaded)
            stop = asyncio.Event()
            task = asyncio.create_task(agent.run(stop), name=f"edge:{loaded.config.gateway.id}")

            async def close(stop: asyncio.Event = stop, task: asyncio.Task[None] = task) -> None:
                stop.set()
                await task

            stack.push_async_callback(close)
            await agent.ready.wait()

    async def _programs(
        self, runtime: CloudRuntime, configs: list[LoadedConfig], token: str
    ) -> None:
        """Each cabinet's lighting groups into the registry, then its default program through
        the operator API: the first cabinet switches off 23:00-05:00 on weekdays, the others
        burn all night at 50 % from 22:00."""
        cabinets = sorted(
            (c.config for c in configs if c.config.lighting is not None),
            key=lambda config: config.gateway.id,
        )
        if not cabinets:
            log.warning("no gateway of the scenario has lighting: no program published")
            return
        with runtime.sessions.begin() as session:
            for config in cabinets:
                _register_groups(session, config)
        api = f"http://127.0.0.1:{runtime.api_port}"
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=api, headers=headers, timeout=10) as client:
            for index, config in enumerate(cabinets):
                assert config.lighting is not None
                site = config.lighting.site
                document = night_program(
                    site.latitude,
                    site.longitude,
                    [group.name for group in config.lighting.groups],
                    weekday_switch_off=index == 0,
                    timezone=site.timezone,
                )
                path = f"/api/v1/gateways/{config.gateway.id}/program"
                response = await client.put(path, json=document)
                if response.status_code == 503:  # stored; the scheduler publishes it later
                    log.warning("program for %s stored, not yet published", config.gateway.id)
                elif response.status_code != 200:
                    raise RuntimeError(f"program for {config.gateway.id}: {response.text}")

    def _print_urls(self, runtime: CloudRuntime, broker_url: str, token: str) -> None:
        api = f"http://127.0.0.1:{runtime.api_port}"
        self.console.print(f"[bold]Eclor demo[/bold] in {self.options.folder}")
        self.console.print(f"  residents {api}/   (waits, traffic, alerts, report form)")
        self.console.print(f"  API       {api}/api/v1/gateways")
        self.console.print(f"  API docs  {api}/docs")
        self.console.print(f"  metrics   {api}/metrics")
        self.console.print(f"  broker    {broker_url}")
        self.console.print(f"  token     {token}   (admin, for the operator API)")

    async def _live(self, runtime: CloudRuntime) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = None if self.options.seconds is None else loop.time() + self.options.seconds
        summary = self._summary(runtime)
        with Live(self._table(summary), console=self.console, refresh_per_second=2) as live:
            while not self.stopped.is_set() and (deadline is None or loop.time() < deadline):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopped.wait(), 1.0)
                summary = self._summary(runtime)
                live.update(self._table(summary))
        return summary

    def _summary(self, runtime: CloudRuntime) -> dict[str, Any]:
        sample = runtime.metrics.get_sample_value
        with runtime.sessions() as session:
            gateways = list_gateways(session)
        online = sum(1 for g in gateways if str(g.status) in ("online", "GatewayStatus.ONLINE"))
        return {
            "readings_stored": int(sample("eclor_ingest_points_written_total") or 0),
            "batches_acked": int(sample("eclor_ingest_acked_batches_total") or 0),
            "gateways_online": online,
            "gateways": len(gateways),
            "api": f"http://127.0.0.1:{runtime.api_port}",
        }

    @staticmethod
    def _table(summary: dict[str, Any]) -> Table:
        table = Table(title="live", show_header=False)
        table.add_row("readings stored", f"{summary['readings_stored']:,}")
        table.add_row("batches acknowledged", f"{summary['batches_acked']:,}")
        table.add_row("gateways online", f"{summary['gateways_online']} / {summary['gateways']}")
        return table


def _register_groups(session: Session, config: GatewayConfig) -> None:
    assert config.lighting is not None
    known = {g.group_id for g in list_lighting_groups(session, config.gateway.id)}
    for group in config.lighting.groups:
        if group.name not in known:
            backend, members = _backend(group)
            add_lighting_group(
                session,
                config.gateway.id,
                group.name,
                name=group.name,
                backend=backend,
                members=members,
            )


def _backend(group: GroupConfig) -> tuple[LightingBackend, list[Any]]:
    if group.dali is not None:
        members: list[Any] = ["broadcast" if group.dali.broadcast else group.dali.group]
        return LightingBackend.DALI, members
    if group.contactor is not None:
        return LightingBackend.CONTACTOR, list(group.contactor.outputs)
    assert group.setpoint is not None
    return LightingBackend.SETPOINT, [group.setpoint.output]
