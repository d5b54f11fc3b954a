"""The edge agent through a dead device, a kill -9 and a broker outage: nothing is lost."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulators.modbus import Fault, Sdm630, serve_rtu, serve_tcp
from simulators.state import MeterState
from tests.services.mosquitto import MosquittoServer
from tests.services.plugin import MosquittoFactory
from tests.services.serial_pty import PtyPair
from tests.support.gateway import running_agent, until, write_config
from tests.support.test_cloud import CloudStandIn

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cloud(mosquitto: MosquittoServer) -> Iterator[CloudStandIn]:
    stand_in = CloudStandIn(mosquitto.host, mosquitto.port)
    yield stand_in
    stand_in.close()


def meter(i: int) -> Sdm630:
    return Sdm630(MeterState(serial_number=1000 + i, voltage_v=[230.0 + i, 230.0, 230.0]))


async def test_a_dead_device_on_a_shared_rtu_bus_does_not_stall_the_others(
    tmp_path: Path, mosquitto: MosquittoServer, cloud: CloudStandIn, pty_pair: PtyPair
) -> None:
    devices = {1: meter(1), 2: meter(2), 3: meter(3)}
    devices[2].faults.set(Fault.NO_ANSWER)
    handle = await serve_rtu(devices, pty_pair.device_side, baudrate=38400)
    interval, timeout_ms = 0.5, 200
    config = write_config(
        tmp_path,
        "gw-rtu",
        mosquitto.port,
        buses=[
            {
                "name": "rs485",
                "kind": "rtu",
                "port": pty_pair.master_side,
                "baudrate": 38400,
                "timeout_ms": timeout_ms,
            }
        ],
        devices=[
            {
                "id": f"m{u}",
                "profile": "eastron-sdm630",
                "bus": "rs485",
                "unit": u,
                "poll_interval_s": interval,
                "fields": ["voltage_l1_v", "energy_import_kwh"],
            }
            for u in devices
        ],
        breaker={"base_s": 2.0, "max_s": 4.0},
    )
    try:
        async with running_agent(config) as agent:
            await asyncio.sleep(10)
            states = {d: r.state for d, r in agent.health.devices.items()}
    finally:
        await handle.stop()

    assert states == {"m1": "ok", "m2": "unreachable", "m3": "ok"}
    # The dead meter is tried twice (breaker threshold), then once per back-off window:
    # windows of about 2 s then 4 s within 10 s allow at most a handful of probes.
    assert devices[2].requests_seen <= 2 + 4
    for device in ("m1", "m3"):
        times = sorted({t for t, d, *_ in cloud.readings() if d == device})
        gaps = [(b - a) / 1000 for a, b in itertools.pairwise(times)]
        assert len(times) >= 10 / interval * 0.6
        # A healthy meter waits at most one timeout of the dead one between two of its polls.
        assert max(gaps) <= interval + timeout_ms / 1000 + 0.35, gaps


AGENT = [sys.executable, "-m", "eclor", "edge", "run", "--plain-logs", "--config"]


def start_agent(config: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = (config.parent / "agent.log").open("ab")
    return subprocess.Popen([*AGENT, str(config)], env=env, cwd=ROOT, stderr=log)


def outbox_seqs(path: Path) -> set[int]:
    db = sqlite3.connect(path)
    try:
        return {row[0] for row in db.execute("SELECT seq FROM batch")}
    finally:
        db.close()


def next_seq(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT value FROM counter WHERE name='next_seq'").fetchone()[0])
    finally:
        db.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_kill_9_during_heavy_polling_loses_no_batch(
    tmp_path: Path, mosquitto: MosquittoServer, cloud: CloudStandIn, seed: int
) -> None:
    rng = random.Random(seed)
    handle = await serve_tcp({u: meter(u) for u in range(1, 11)}, "127.0.0.1", 0)
    config = write_config(
        tmp_path,
        f"gw-kill-{seed}",
        mosquitto.port,
        buses=[{"name": "lan", "kind": "tcp", "host": "127.0.0.1", "port": handle.port}],
        devices=[
            {
                "id": f"m{u}",
                "profile": "eastron-sdm630",
                "bus": "lan",
                "unit": u,
                "poll_interval_s": 0.1,
            }
            for u in range(1, 11)
        ],
        outbox={"flush_interval_ms": 50, "batch_max_readings": 20},
        health={"port": None},
    )
    outbox = tmp_path / "outbox.sqlite"
    cloud.ack_enabled = seed != 2  # seed 2: nothing acked before the kill, all must come again
    try:
        agent = start_agent(config)
        await until(lambda: len(cloud.seqs()) >= 20, within=30, what="batches before the kill")
        await asyncio.sleep(rng.uniform(0.0, 1.5))
        agent.send_signal(signal.SIGKILL)
        agent.wait()
        unacked_at_kill = outbox_seqs(outbox)
        written_at_kill = next_seq(outbox) - 1
        received_before = set(cloud.seqs())
        if seed == 2:
            assert unacked_at_kill == set(range(1, written_at_kill + 1))
        cloud.ack_enabled = True

        agent = start_agent(config)
        await until(
            lambda: unacked_at_kill <= set(cloud.seqs()), within=30, what="the unacked ones"
        )
        await until(lambda: max(cloud.seqs()) > written_at_kill + 5, what="new batches")
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=30) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
        await handle.stop()

    received = cloud.seqs()
    assert set(range(1, written_at_kill + 1)) <= set(received), (
        "a batch written before the kill was lost"
    )
    duplicates = {s for s in received if received.count(s) > 1}
    assert duplicates <= unacked_at_kill, "only batches unacked at the kill may come twice"
    assert unacked_at_kill - received_before <= set(received)


async def test_broker_outage_loses_nothing_and_the_backlog_drains_at_the_set_rate(
    tmp_path: Path, mosquitto_factory: MosquittoFactory
) -> None:
    broker = mosquitto_factory()
    cloud = CloudStandIn(broker.host, broker.port)
    handle = await serve_tcp({1: meter(1), 2: meter(2)}, "127.0.0.1", 0)
    rate = 4.0
    config = write_config(
        tmp_path,
        "gw-outage",
        broker.port,
        buses=[{"name": "lan", "kind": "tcp", "host": "127.0.0.1", "port": handle.port}],
        devices=[
            {
                "id": f"m{u}",
                "profile": "eastron-sdm630",
                "bus": "lan",
                "unit": u,
                "poll_interval_s": 0.2,
            }
            for u in (1, 2)
        ],
        outbox={"flush_interval_ms": 200, "batch_max_readings": 50},
        uplink={"drain_rate_per_s": rate, "max_inflight": 8},
    )
    try:
        async with running_agent(config) as agent:
            await until(lambda: len(cloud.seqs()) >= 3)
            broker.stop()
            await asyncio.sleep(4)
            backlog_end = await agent.outbox.next_seq()
            backlog = set(range(max(cloud.seqs()) + 1, backlog_end))
            broker.restart()
            reconnected = time.monotonic()
            await until(lambda: backlog <= set(cloud.seqs()), within=30, what="the backlog")
            written = set(range(1, await agent.outbox.next_seq()))
            # A batch lost in flight when the broker died comes again after its ack timeout.
            await until(lambda: written <= set(cloud.seqs()), within=30, what="every batch")
    finally:
        await handle.stop()
        cloud.close()

    assert len(backlog) >= 10, "the outage should leave a backlog"
    arrivals = cloud.received.arrival
    backlog_times = sorted(arrivals[s] for s in backlog)
    live = [arrivals[s] for s in arrivals if s >= backlog_end]
    assert live
    assert min(live) < backlog_times[-1], "live data goes before the end of the backlog"
    burst = 1  # the token bucket starts empty and holds at most one second of tokens
    spread = backlog_times[-1] - max(reconnected, backlog_times[0])
    assert spread >= (len(backlog) - burst - 1) / rate * 0.8, (spread, len(backlog))
