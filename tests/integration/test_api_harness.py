"""Shared setup of the ``test_api_*`` modules (no tests here): a real, migrated SQLite registry
in a temporary file, the embedded SQLite store (or any given store), a manual clock, and the app
behind an ``httpx.AsyncClient`` on ``ASGITransport`` (everything in the test's event loop).

The fleet seeded by :func:`seed_fleet`:

- communes 57672 Thil and 57683 Villerupt; cabinet sites ``cab-thil-04``, ``cab-thil-07`` (Thil)
  and ``cab-vil-01`` (Villerupt); a gateway of the same id at each, with devices
  ``<gateway>-meter`` (eastron-sdm630) and ``<gateway>-ctrl`` (eclor-cabinet-controller).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cloud.api import ApiDeps, ApiSettings, create_app
from cloud.registry import (
    SiteKind,
    add_commune,
    add_device,
    add_site,
    create_token,
    enroll_gateway,
    make_engine,
    make_session_factory,
    sqlite_url,
    upgrade,
)
from cloud.store import Point, SqliteSettings, SqliteStore, TimeSeriesStore
from eclor.clock import ManualClock, to_epoch_ms

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
"""A Monday morning after both 2026 clock changes (29 March, 25 October)."""
THIL = "57672"
VILLERUPT = "57683"
CABINETS = {"cab-thil-04": THIL, "cab-thil-07": THIL, "cab-vil-01": VILLERUPT}


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient
    sessions: sessionmaker[Session]
    store: TimeSeriesStore
    clock: ManualClock
    metrics: CollectorRegistry

    def token(self, *scopes: str, expires_at: datetime | None = None) -> str:
        with self.sessions.begin() as session:
            issued = create_token(
                session, "test", scopes, now=self.clock.now(), expires_at=expires_at
            )
        return issued.secret

    def auth(self, *scopes: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*scopes)}"}

    def client_at(self, ip: str) -> httpx.AsyncClient:
        """Another client of the same app, from address ``ip``."""
        transport = httpx.ASGITransport(app=self.app, client=(ip, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://eclor.test")


@asynccontextmanager
async def open_api(
    folder: Path,
    *,
    store: TimeSeriesStore | None = None,
    registry: Engine | None = None,
    settings: ApiSettings | None = None,
    raise_app_exceptions: bool = True,
) -> AsyncIterator[Api]:
    """The app on a migrated registry (a new SQLite file in ``folder`` unless given an empty
    ``registry`` engine) and ``store`` (the embedded store in ``folder`` by default, closed
    afterwards; a given store is left open)."""
    engine = registry or make_engine(sqlite_url(folder / "registry.sqlite"))
    upgrade(engine)
    clock = ManualClock(NOW)
    own_store = store is None
    if store is None:
        store = await SqliteStore.open(
            SqliteSettings(path=folder / "timeseries.sqlite", retention_days=None), clock
        )
    deps = ApiDeps(
        sessions=make_session_factory(engine),
        store=store,
        clock=clock,
        metrics=CollectorRegistry(),
        settings=settings or ApiSettings(),
    )
    app = create_app(deps)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://eclor.test") as client:
            yield Api(app, client, deps.sessions, store, clock, deps.metrics)
    finally:
        if own_store:
            await store.close()
        if registry is None:
            engine.dispose()


def seed_fleet(sessions: sessionmaker[Session], now: datetime = NOW) -> None:
    with sessions.begin() as session:
        add_commune(session, THIL, "Thil")
        add_commune(session, VILLERUPT, "Villerupt")
        for gateway, commune in CABINETS.items():
            add_site(
                session,
                gateway,
                name=f"Cabinet {gateway}",
                commune=commune,
                kind=SiteKind.CABINET,
                latitude=49.47,
                longitude=5.91,
            )
            enroll_gateway(session, gateway, now=now, site_id=gateway)
            add_device(session, gateway, f"{gateway}-meter", profile="eastron-sdm630", now=now)
            add_device(
                session, gateway, f"{gateway}-ctrl", profile="eclor-cabinet-controller", now=now
            )


def meter_points(
    gateway: str,
    start: datetime,
    end: datetime,
    *,
    kw: float,
    step: timedelta = timedelta(minutes=15),
    counter_kwh: float = 1000.0,
    device: str | None = None,
) -> Iterator[Point]:
    """A meter drawing ``kw`` steadily: one counter sample every ``step`` in ``[start, end)``
    (stepped in UTC: adding a timedelta to a local time steps the wall clock, not real time)."""
    moment, end = start.astimezone(UTC), end.astimezone(UTC)
    per_step = kw * step.total_seconds() / 3600
    while moment < end:
        yield energy_point(gateway, moment, counter_kwh, device=device)
        counter_kwh += per_step
        moment += step


def energy_point(
    gateway: str, moment: datetime, counter_kwh: float, device: str | None = None, **fields: float
) -> Point:
    """A reading of ``device`` (default: the gateway's main meter) with its import counter."""
    return Point(
        "energy",
        {"gateway": gateway, "device": device or f"{gateway}-meter"},
        {"energy_import_kwh": counter_kwh, **fields},
        to_epoch_ms(moment),
    )


async def write(store: TimeSeriesStore, points: Sequence[Point] | Iterator[Point]) -> None:
    await store.write(list(points))
