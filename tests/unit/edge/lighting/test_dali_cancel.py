"""cancel_surely ends a task that lost its cancellation, as Python 3.11's wait_for can make it."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from edge.lighting.dali_line import cancel_surely


async def _loses_one_cancellation(stop: asyncio.Event) -> None:
    """What a DALI send does when a frame completes as the cancellation comes: it goes on."""
    with contextlib.suppress(asyncio.CancelledError):  # as wait_for returns the frame's result
        await stop.wait()
    await stop.wait()  # the next wait of the poll loop


async def test_a_single_cancel_leaves_such_a_task_running() -> None:
    task = asyncio.create_task(_loses_one_cancellation(asyncio.Event()))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(task), 1.0)
    assert not task.done()
    await cancel_surely([task])


async def test_cancel_surely_ends_it_within_two_rounds() -> None:
    tasks = [asyncio.create_task(_loses_one_cancellation(asyncio.Event())) for _ in range(3)]
    done = asyncio.create_task(asyncio.sleep(0))
    await done
    started = time.monotonic()
    await cancel_surely([*tasks, done])  # a task already done is left as it is
    assert time.monotonic() - started < 2.0
    assert all(task.cancelled() for task in tasks)
    assert not done.cancelled()
