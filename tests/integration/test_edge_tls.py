"""TLS always verifies the broker and never falls back to plain text."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from simulators.modbus import Sdm630, serve_tcp
from simulators.state import MeterState
from tests.services.plugin import MosquittoFactory
from tests.services.ports import free_port
from tests.support.certs import make_pki
from tests.support.gateway import running_agent, until, write_config
from tests.support.test_cloud import CloudStandIn

pytestmark = pytest.mark.integration


@pytest.fixture
async def meter_port() -> AsyncIterator[int]:
    handle = await serve_tcp({1: Sdm630(MeterState())}, "127.0.0.1", 0)
    yield handle.port
    await handle.stop()


def tls_config(tmp_path: Path, gateway: str, port: int, ca: Path, meter_port: int) -> Path:
    return write_config(
        tmp_path,
        gateway,
        port,
        buses=[{"name": "lan", "kind": "tcp", "host": "127.0.0.1", "port": meter_port}],
        devices=[{"id": "m", "profile": "eastron-sdm630", "bus": "lan", "poll_interval_s": 0.3}],
        broker={"tls": {"enabled": True, "ca_file": str(ca)}},
    )


async def test_tls_verifies_the_broker_and_never_falls_back_to_plain_text(
    tmp_path: Path, mosquitto_factory: MosquittoFactory, meter_port: int
) -> None:
    pki = make_pki(tmp_path)
    (tmp_path / "stranger").mkdir()
    stranger = make_pki(tmp_path / "stranger", "stranger")
    tls_port = free_port()
    broker = mosquitto_factory(
        extra_config=(
            f"listener {tls_port} 127.0.0.1\n"
            f"cafile {pki.ca}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\n"
        )
    )
    cloud = CloudStandIn(broker.host, broker.port)  # the cloud on the plain loopback listener
    try:
        good = tls_config(tmp_path, "gw-tls-good", tls_port, pki.ca, meter_port)
        async with running_agent(good) as agent:
            await until(lambda: any(r[1] == "m" for r in cloud.readings()))
            assert agent.link.connected.is_set()

        cases = {
            "gw-tls-stranger": (tls_port, stranger.ca),  # a broker our CA did not sign
            "gw-tls-plain": (broker.port, pki.ca),  # a plain-text listener: no fallback
        }
        for gateway, (port, ca) in cases.items():
            folder = tmp_path / gateway
            folder.mkdir()
            async with running_agent(tls_config(folder, gateway, port, ca, meter_port)) as agent:
                await asyncio.sleep(2.5)
                assert not agent.link.connected.is_set()
                registry = agent.metrics.registry
                assert registry.get_sample_value("eclor_edge_mqtt_reconnects_total") == 0
                stats = await agent.outbox.stats()
                assert stats.rows > 0, "readings wait in the outbox"
            assert not any(s.gateway == gateway for s in cloud.received.statuses)
    finally:
        cloud.close()
