"""Savings and burning series on both stores (the store contract): baselines from the registry,
lit hours from the astronomical clock, metered kWh across counter resets, clock-change days, and
the savings API per cabinet, commune and territory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cloud.registry.baselines import set_baseline
from cloud.savings.jobs import backfill, write_days
from cloud.savings.sun import SunSchedule
from cloud.scheduler import JobContext
from cloud.store import InfluxSettings, SqliteSettings, StoreSettings, open_store
from cloud.store.base import TimeSeriesStore
from cloud.store.points import Point
from eclor.clock import to_epoch_ms
from tests.integration.test_api_harness import (
    THIL,
    Api,
    meter_points,
    open_api,
    seed_fleet,
    write,
)

pytestmark = pytest.mark.integration
PARIS = ZoneInfo("Europe/Paris")
SITE = SunSchedule(49.47, 5.91, PARIS)  # the harness's cabinet sites
A, B, C = "cab-thil-04", "cab-thil-07", "cab-vil-01"


@pytest.fixture(params=["sqlite", "influxdb"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TimeSeriesStore]:
    if request.param == "sqlite":
        settings = StoreSettings(
            sqlite=SqliteSettings(path=tmp_path / "ts.sqlite", retention_days=None)
        )
    else:
        server = request.getfixturevalue("influxdb")
        settings = StoreSettings(
            influxdb=InfluxSettings(url=server.url, database=f"sav_{uuid.uuid4().hex[:10]}")
        )
    opened = await open_store(settings)
    yield opened
    await opened.close()


@pytest.fixture
async def api(store: TimeSeriesStore, tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(tmp_path, store=store) as opened:
        seed_fleet(opened.sessions)
        with opened.sessions.begin() as session:
            now = opened.clock.now()
            set_baseline(session, A, now=now, installed_w=3300.0)
            set_baseline(session, B, now=now, installed_w=1000.0, meter_device=f"{B}-meter")
            set_baseline(session, C, now=now, kwh_per_lit_hour=2.0)
        yield opened


def midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), PARIS)


def context(api: Api) -> JobContext:
    return JobContext(api.sessions, api.store, api.clock)


async def savings_of(store: TimeSeriesStore, gateway: str, day: date) -> dict[str, float]:
    series = await store.aggregate(
        "savings",
        "baseline_kwh",
        start_ms=to_epoch_ms(midnight(day)),
        end_ms=to_epoch_ms(midnight(day + timedelta(days=1))),
        every_ms=3_600_000,
        fn="count",
        where={"gateway": gateway},
    )
    assert series, f"a savings point for {gateway} on {day}"
    latest = await store.latest("savings", {"gateway": gateway}, group_by=("gateway",))
    return {k: float(v.value) for k, v in latest[0].fields.items()}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("day", "length"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 10, 20), 24)]
)
async def test_a_days_savings_on_23_24_and_25_hour_days(api: Api, day: date, length: int) -> None:
    start, end = midnight(day), midnight(day + timedelta(days=1))
    await write(
        api.store, meter_points(A, start - timedelta(hours=1), end + timedelta(hours=1), kw=1.0)
    )
    await write_days(context(api), day, day)
    values = await savings_of(api.store, A, day)
    lit = SITE.lit_hours(day)
    assert values["actual_kwh"] == pytest.approx(length * 1.0, rel=1e-6)
    assert values["lit_hours_h"] == pytest.approx(lit, rel=1e-9)
    assert values["baseline_kwh"] == pytest.approx(3.3 * lit, rel=1e-9)
    assert values["savings_pct"] == pytest.approx(100 * (1 - length / (3.3 * lit)), rel=1e-6)
    latest = await api.store.latest(
        "savings", {"gateway": A}, group_by=("gateway", "commune", "site")
    )
    assert latest[0].tags == {"gateway": A, "commune": THIL, "site": A}
    assert latest[0].time_ms == to_epoch_ms(start), "stamped at local midnight"


async def test_a_counter_reset_mid_day_loses_nothing(api: Api) -> None:
    day = date(2026, 10, 20)
    start = midnight(day)
    points = list(
        meter_points(
            A,
            start - timedelta(minutes=15),
            start + timedelta(hours=12),
            kw=2.0,
            counter_kwh=5000.0,
        )
    )
    points += meter_points(
        A,
        start + timedelta(hours=12),
        midnight(day + timedelta(days=1)) + timedelta(minutes=15),
        kw=2.0,
        counter_kwh=0.0,
    )
    await write(api.store, points)
    await write_days(context(api), day, day)
    values = await savings_of(api.store, A, day)
    # the reset sample itself (0 kWh) counts as 0 across the 15 min of the reset: 47.5 kWh
    assert values["actual_kwh"] == pytest.approx(48.0 - 0.5, rel=1e-6)


async def test_only_the_baselines_meter_counts_and_a_day_without_data_is_null(api: Api) -> None:
    day = date(2026, 10, 21)
    start, end = midnight(day), midnight(day + timedelta(days=1))
    await write(api.store, meter_points(B, start - timedelta(hours=1), end, kw=0.2))
    await write(
        api.store, meter_points(B, start - timedelta(hours=1), end, kw=5.0, device=f"{B}-other")
    )
    await write_days(context(api), day, day)
    values = await savings_of(api.store, B, day)
    assert values["actual_kwh"] == pytest.approx(0.2 * 24, rel=1e-6)
    reply = await api.client.get(
        f"/api/v1/savings/cabinets/{A}",
        params={"from": str(day), "to": str(day)},
        headers=api.auth("energy-manager"),
    )
    assert reply.status_code == 200
    total = reply.json()["total"]
    assert total["actual_kwh"] is None
    assert total["savings_pct"] is None, "no metered data is null, never 0"
    assert total["lit_hours"] == pytest.approx(SITE.lit_hours(day), abs=1e-3)


async def test_the_api_sums_before_ratios_per_month_commune_and_territory(api: Api) -> None:
    first, last = date(2026, 9, 29), date(2026, 10, 2)
    span = (midnight(first) - timedelta(hours=1), midnight(last + timedelta(days=1)))
    await write(api.store, meter_points(A, *span, kw=0.5))
    await write(api.store, meter_points(B, *span, kw=0.1))
    await write(api.store, meter_points(C, *span, kw=1.0))
    await backfill(context(api), midnight(first), midnight(last + timedelta(days=1)))
    auth = api.auth("technician")
    days = [first + timedelta(days=n) for n in range(4)]
    lit = {d: SITE.lit_hours(d) for d in days}

    def expect(gateways: dict[str, tuple[float, float]], chosen: list[date]) -> tuple[float, float]:
        base = sum(per_h * lit[d] for _, per_h in gateways.values() for d in chosen)
        actual = sum(kw * 24 for kw, _ in gateways.values() for _ in chosen)
        return base, actual

    thil = {A: (0.5, 3.3), B: (0.1, 1.0)}
    reply = await api.client.get(
        f"/api/v1/savings/communes/{THIL}",
        params={"period": "month", "from": str(first), "to": str(last)},
        headers=auth,
    )
    assert reply.status_code == 200
    body = reply.json()
    assert [(p["start"], p["end"]) for p in body["periods"]] == [
        ("2026-09-29", "2026-09-30"),
        ("2026-10-01", "2026-10-02"),
    ]
    september = body["periods"][0]
    base, actual = expect(thil, days[:2])
    assert september["baseline_kwh"] == pytest.approx(base, abs=2e-3)
    assert september["actual_kwh"] == pytest.approx(actual, abs=2e-3)
    assert september["savings_pct"] == pytest.approx(100 * (1 - actual / base), abs=0.01)
    assert september["cabinets"] == 2
    territory = (
        await api.client.get(
            "/api/v1/savings/territory",
            params={"period": "year", "from": str(first), "to": str(last)},
            headers=auth,
        )
    ).json()
    base, actual = expect({**thil, C: (1.0, 2.0)}, days)
    [year] = territory["periods"]
    assert year["savings_pct"] == pytest.approx(100 * (1 - actual / base), abs=0.01)
    assert year["days_metered"] == 12
    assert territory["total"]["actual_kwh"] == pytest.approx(actual, abs=3e-3)
    assert (await api.client.get("/api/v1/savings/communes/99999", headers=auth)).status_code == 404
    bad = await api.client.get("/api/v1/savings/territory", params={"period": "week"}, headers=auth)
    assert bad.status_code == 422


async def test_burning_hours_per_group_from_the_lighting_readings(api: Api) -> None:
    day = date(2026, 10, 20)
    start = midnight(day).astimezone(UTC)
    points = []
    for minute in range(-5, 24 * 60):
        at = start + timedelta(minutes=minute)
        local_h = at.astimezone(PARIS).hour
        lit = local_h >= 18 or local_h < 6
        level = 50.0 if local_h >= 22 or local_h < 6 else 100.0
        for group, factor in (("main-street", 1.0), ("square", 0.0)):
            fields = {
                "lit": lit and factor > 0,
                "target_pct": level if lit else 0.0,
                "source": "program",
                "program": "p",
            }
            points.append(
                Point(
                    "lighting",
                    {"gateway": A, "device": "lighting", "group": group},
                    fields,
                    to_epoch_ms(at),
                )
            )
    await write(api.store, points)
    await write_days(context(api), day, day)
    rows = await api.store.latest("burning", {"gateway": A}, group_by=("group",))
    got = {row.tags["group"]: {k: v.value for k, v in row.fields.items()} for row in rows}
    assert got["main-street"]["burning_h"] == pytest.approx(12.0, abs=0.01)
    assert got["main-street"]["mean_level_pct"] == pytest.approx((4 * 100 + 8 * 50) / 12, abs=0.1)
    assert got["square"]["burning_h"] == 0.0
    assert "mean_level_pct" not in got["square"]
