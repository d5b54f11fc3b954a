"""Writing gateway configs and running edge agents for tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml

from edge.agent import EdgeAgent
from edge.config import load_gateway_config

PROFILES = Path(__file__).resolve().parents[2] / "firmware_configs" / "profiles"


def write_config(
    folder: Path,
    gateway_id: str,
    broker_port: int,
    buses: list[dict[str, Any]],
    devices: list[dict[str, Any]],
    **sections: Any,
) -> Path:
    document: dict[str, Any] = {
        "gateway": {"id": gateway_id, "site": gateway_id, "commune": "thil"},
        "broker": {
            "host": "127.0.0.1",
            "port": broker_port,
            "reconnect_min_s": 0.2,
            "reconnect_max_s": 1.0,
        },
        "outbox": {"path": "outbox.sqlite", "flush_interval_ms": 100},
        "uplink": {"ack_timeout_s": 5, "status_interval_s": 2},
        "breaker": {"base_s": 2, "max_s": 8},
        "health": {"port": 0},
        "profiles_dir": str(PROFILES),
        "buses": buses,
        "devices": devices,
    }
    for key, value in sections.items():
        document[key] = {**document.get(key, {}), **value}
    path = folder / f"{gateway_id}.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@asynccontextmanager
async def running_agent(config: Path) -> AsyncIterator[EdgeAgent]:
    agent = EdgeAgent(load_gateway_config(config))
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    ready = asyncio.create_task(agent.ready.wait())
    await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # raises what stopped it
    try:
        yield agent
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def until(condition: Callable[[], bool], within: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {within} s: {what or condition}")
        await asyncio.sleep(0.05)
