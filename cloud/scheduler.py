"""The scheduler role: periodic jobs, run by exactly one process of the fleet.

APScheduler runs the jobs. With PostgreSQL, the process that holds a session-level advisory lock is
the leader and the others wait on standby, retrying the lock; with SQLite the deployment is one
process by construction.

Feature packages bring their own jobs: each module named in :data:`JOB_MODULES` has a function
``jobs(context: JobContext) -> list[Job]``; the scheduler collects them at start.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from cloud.config import CloudConfig
from cloud.registry.dead_letters import prune_dead_letters
from cloud.store.base import TimeSeriesStore
from eclor.clock import Clock

log = logging.getLogger(__name__)
LOCK_KEY = 0x45434C4F  # "ECLO"


@dataclass(frozen=True)
class Job:
    name: str
    every_s: float
    run: Callable[[], Awaitable[None]]


Publish = Callable[[str, bytes, bool], bool]
"""``publish(topic, payload, retain)`` on the cloud's MQTT connection; False when not sent."""


@dataclass(frozen=True)
class JobContext:
    """What a feature's jobs are built from."""

    sessions: sessionmaker[Session]
    store: TimeSeriesStore
    clock: Clock
    publish: Publish | None = None
    config: CloudConfig | None = None
    """The service's configuration; None in tests that build jobs on their own (defaults apply)."""


JOB_MODULES = (
    "cloud.lighting.jobs",
    "cloud.alarms.jobs",
    "cloud.savings.jobs",
    "cloud.residents.jobs",
)


def feature_jobs(context: JobContext) -> list[Job]:
    """Every job of the modules in :data:`JOB_MODULES`, in that order."""
    found: list[Job] = []
    for name in JOB_MODULES:
        module = importlib.import_module(name)
        found.extend(module.jobs(context))
    return found


def wall_interval_s(every_s: float, speed: float) -> float:
    """A job's period on the wall clock: under a clock ``speed`` times faster than the wall (a
    simulated night), jobs run as often in simulated time as they would in production, down to
    once a second."""
    return max(every_s / speed, 1.0) if speed > 1 else every_s


class Leadership:
    """Holds the fleet-wide scheduler lock while it is the leader (PostgreSQL advisory lock)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def try_acquire(self) -> bool:
        if self._engine.dialect.name != "postgresql":
            return True
        connection = self._engine.connect()
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar()
        if got:
            self._connection = connection
            return True
        connection.close()
        return False

    def release(self) -> None:
        if self._connection is not None:
            self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            self._connection.close()
            self._connection = None


class CloudScheduler:
    def __init__(
        self,
        engine: Engine,
        sessions: sessionmaker[Session],
        clock: Clock,
        dead_letter_days: int,
        jobs: list[Job] | None = None,
    ) -> None:
        self._leadership = Leadership(engine)
        self._sessions = sessions
        self._clock = clock
        self._dead_letter_days = dead_letter_days
        self.jobs: list[Job] = [Job("prune-dead-letters", 3600, self._prune_dead_letters)]
        self.jobs.extend(jobs or [])
        self.is_leader = False

    async def run(self, retry_s: float = 30.0) -> None:
        while not await asyncio.to_thread(self._leadership.try_acquire):
            log.info("another scheduler leads; standing by")
            await asyncio.sleep(retry_s)
        self.is_leader = True
        scheduler = AsyncIOScheduler(timezone="UTC")
        speed = getattr(self._clock, "speed", 1.0)
        for job in self.jobs:
            scheduler.add_job(
                job.run,
                "interval",
                seconds=wall_interval_s(job.every_s, speed),
                id=job.name,
                next_run_time=datetime.now(UTC),  # APScheduler runs on the wall clock
                max_instances=1,
                coalesce=True,
            )
        scheduler.start()
        log.info("scheduler leading with %d jobs", len(self.jobs))
        try:
            await asyncio.Event().wait()
        finally:
            scheduler.shutdown(wait=False)
            await asyncio.to_thread(self._leadership.release)
            self.is_leader = False

    async def _prune_dead_letters(self) -> None:
        cutoff = self._clock.now() - timedelta(days=self._dead_letter_days)

        def prune() -> int:
            with self._sessions.begin() as session:
                return prune_dead_letters(session, received_before=cutoff)

        removed = await asyncio.to_thread(prune)
        if removed:
            log.info("pruned %d dead letters older than %d days", removed, self._dead_letter_days)
