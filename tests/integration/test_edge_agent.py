"""The edge agent against simulated devices and a real Mosquitto, with a stand-in cloud."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eclor.clock import to_epoch_ms
from eclor.wire import Command
from simulators.modbus import CabinetController, Sdm630, serve_tcp
from simulators.state import CabinetState, MeterState
from tests.services.mosquitto import MosquittoServer
from tests.support.gateway import running_agent, until, write_config
from tests.support.test_cloud import CloudStandIn

pytestmark = pytest.mark.integration


@pytest.fixture
async def cabinet() -> AsyncIterator[tuple[int, MeterState, CabinetState]]:
    meter = MeterState(voltage_v=[230.2, 231.0, 229.5], power_w=[1200.0, 1100.0, 1000.0])
    cab = CabinetState()
    handle = await serve_tcp({1: Sdm630(meter), 5: CabinetController(cab)}, "127.0.0.1", 0)
    yield handle.port, meter, cab
    await handle.stop()


@pytest.fixture
def cloud(mosquitto: MosquittoServer) -> Iterator[CloudStandIn]:
    stand_in = CloudStandIn(mosquitto.host, mosquitto.port)
    yield stand_in
    stand_in.close()


def cabinet_config(tmp_path: Path, broker_port: int, sim_port: int, gateway: str) -> Path:
    return write_config(
        tmp_path,
        gateway,
        broker_port,
        buses=[
            {"name": "lan", "kind": "tcp", "host": "127.0.0.1", "port": sim_port, "timeout_ms": 300}
        ],
        devices=[
            {
                "id": "meter",
                "profile": "eastron-sdm630",
                "bus": "lan",
                "unit": 1,
                "poll_interval_s": 0.2,
                "tags": {"cabinet": gateway},
            },
            {
                "id": "ctrl",
                "profile": "eclor-cabinet-controller",
                "bus": "lan",
                "unit": 5,
                "poll_interval_s": 0.5,
            },
        ],
    )


async def test_readings_reach_the_cloud_and_leave_the_outbox_when_acked(
    tmp_path: Path,
    mosquitto: MosquittoServer,
    cloud: CloudStandIn,
    cabinet: tuple[int, MeterState, CabinetState],
) -> None:
    port, _meter, _ = cabinet
    config = cabinet_config(tmp_path, mosquitto.port, port, "gw-flow")
    async with running_agent(config) as agent:
        await until(lambda: len([r for r in cloud.readings() if r[1] == "meter"]) >= 5)
        await until(
            lambda: any(
                s.state == "online" and s.devices["meter"].state == "ok"
                for s in cloud.received.statuses
            ),
            what="a status saying the meter is ok",
        )
        await asyncio.sleep(0.5)
        stats = await agent.outbox.stats()
    meter_readings = [r for r in cloud.readings() if r[1] == "meter"]
    t, _, measurement, fields = meter_readings[0]
    assert measurement == "energy"
    assert fields["voltage_l1_v"] == pytest.approx(230.2, abs=1e-3)
    assert fields["voltage_l3_v"] == pytest.approx(229.5, abs=1e-3)
    assert abs(t - to_epoch_ms(datetime.now(UTC))) < 60_000
    assert any(r[1] == "ctrl" for r in cloud.readings())
    assert stats.rows <= 2, "acked batches leave the outbox"
    assert cloud.received.statuses[-1].state == "offline", "a clean stop says offline"


async def test_write_command_runs_once_and_answers_with_the_value_read_back(
    tmp_path: Path,
    mosquitto: MosquittoServer,
    cloud: CloudStandIn,
    cabinet: tuple[int, MeterState, CabinetState],
) -> None:
    port, _, cab = cabinet
    config = cabinet_config(tmp_path, mosquitto.port, port, "gw-cmd")
    now = datetime.now(UTC)
    command = Command(
        id="c-1",
        kind="write",
        target="device:ctrl",
        args={"contactor_2": True},
        issued_at=to_epoch_ms(now),
        expires_at=to_epoch_ms(now + timedelta(minutes=5)),
    )
    expired = Command(
        id="c-2",
        kind="write",
        target="device:ctrl",
        args={"contactor_3": True},
        issued_at=to_epoch_ms(now - timedelta(minutes=10)),
        expires_at=to_epoch_ms(now - timedelta(minutes=5)),
    )
    async with running_agent(config):
        await until(lambda: bool(cloud.readings()))
        cloud.send_command("gw-cmd", command)
        cloud.send_command("gw-cmd", command)  # a duplicate: must not run again
        cloud.send_command("gw-cmd", expired)
        await until(lambda: len(cloud.received.results) >= 2, what="two results")
        await asyncio.sleep(1.0)
    results = {r.id: r for r in cloud.received.results}
    assert len(cloud.received.results) == 2, "the duplicate was not answered twice"
    assert results["c-1"].ok
    assert results["c-1"].observed == {"contactor_2": True}
    assert cab.contactors[1] is True
    assert not results["c-2"].ok
    assert "expired" in results["c-2"].detail
    assert cab.contactors[2] is False


async def test_status_endpoint_and_metrics(
    tmp_path: Path,
    mosquitto: MosquittoServer,
    cloud: CloudStandIn,
    cabinet: tuple[int, MeterState, CabinetState],
) -> None:
    import json
    import urllib.request

    port, _, _ = cabinet
    config = cabinet_config(tmp_path, mosquitto.port, port, "gw-health")
    async with running_agent(config) as agent:
        await until(lambda: bool(cloud.readings()))
        await asyncio.sleep(1.5)
        assert agent.endpoint is not None
        base = f"http://127.0.0.1:{agent.endpoint.port}"
        health = await asyncio.to_thread(
            lambda: json.loads(urllib.request.urlopen(base + "/healthz").read())
        )
        metrics = await asyncio.to_thread(
            lambda: urllib.request.urlopen(base + "/metrics").read().decode()
        )
    assert health["gateway"] == "gw-health"
    assert health["mqtt_connected"] is True
    assert health["devices"]["meter"]["state"] == "ok"
    assert 'eclor_edge_poll_duration_seconds_count{device="meter"}' in metrics
    assert "eclor_edge_outbox_rows" in metrics


async def test_edge_status_command_prints_the_running_agents_health(
    tmp_path: Path,
    mosquitto: MosquittoServer,
    cloud: CloudStandIn,
    cabinet: tuple[int, MeterState, CabinetState],
) -> None:
    from typer.testing import CliRunner

    from eclor.cli import app
    from tests.services.ports import free_port

    port, _, _ = cabinet
    config = cabinet_config(tmp_path, mosquitto.port, port, "gw-status")
    text = config.read_text().replace("port: 0\n", f"port: {free_port()}\n", 1)
    config.write_text(text)
    async with running_agent(config):
        await until(lambda: bool(cloud.readings()))
        await asyncio.sleep(1.5)
        result = await asyncio.to_thread(
            CliRunner().invoke, app, ["edge", "status", "--config", str(config)]
        )
    assert result.exit_code == 0, result.output
    assert "gw-status" in result.output
    assert "connected" in result.output
    assert "meter" in result.output
    assert "ok" in result.output
    stopped = CliRunner().invoke(app, ["edge", "status", "--config", str(config)])
    assert stopped.exit_code == 1
    assert "no agent answers" in stopped.output
