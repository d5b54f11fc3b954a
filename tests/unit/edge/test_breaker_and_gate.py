from __future__ import annotations

import asyncio
import random

import pytest

from edge.modbus.breaker import CircuitBreaker
from edge.modbus.gate import READ, WRITE, PriorityGate
from edge.uplink.sender import TokenBucket


def test_breaker_opens_after_threshold_and_backs_off_exponentially() -> None:
    b = CircuitBreaker(base_s=5, max_s=40, threshold=2, rng=random.Random(1))
    assert not b.record_failure(0.0)
    assert b.allows(0.0)
    assert b.record_failure(0.0)
    assert not b.allows(1.0)
    windows = []
    now = 0.0
    for _ in range(6):
        now = b.retry_at
        assert b.allows(now)
        windows.append(b.retry_at)
        b.record_failure(now)
        windows[-1] = b.retry_at - now
    assert windows[0] == pytest.approx(10, rel=0.1)
    assert windows[1] == pytest.approx(20, rel=0.1)
    assert all(w <= 40 * 1.1 for w in windows)
    assert b.record_success()
    assert b.allows(now)
    assert not b.is_open


async def test_writes_jump_ahead_of_waiting_reads() -> None:
    gate = PriorityGate()
    order: list[str] = []

    async def use(name: str, priority: int, hold: float) -> None:
        async with gate.hold(priority):
            order.append(name)
            await asyncio.sleep(hold)

    first = asyncio.create_task(use("read-1", READ, 0.05))
    await asyncio.sleep(0.01)
    tasks = [
        asyncio.create_task(use("read-2", READ, 0)),
        asyncio.create_task(use("read-3", READ, 0)),
    ]
    await asyncio.sleep(0.001)
    tasks.append(asyncio.create_task(use("write", WRITE, 0)))
    await asyncio.gather(first, *tasks)
    assert order == ["read-1", "write", "read-2", "read-3"]


async def test_a_cancelled_waiter_does_not_wedge_the_gate() -> None:
    gate = PriorityGate()
    async with gate.hold(READ):
        waiter = asyncio.create_task(gate.hold(READ).__aenter__())
        await asyncio.sleep(0)
        waiter.cancel()
    async with asyncio.timeout(1):
        async with gate.hold(READ):
            pass


def test_token_bucket_paces_and_caps_the_burst() -> None:
    bucket = TokenBucket(rate=4, burst=4, now=0.0)
    assert bucket.available(0.0) == 0
    assert bucket.available(0.5) == 2
    bucket.take(2)
    assert bucket.available(100.0) == 4
