"""The store contract, run against both backends: the embedded SQLite store and a real influxd.

Every expected number is written out by hand, and chosen to be exact in binary floating point,
so both backends must return exactly the same values, with the same types.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypedDict

import pytest

from cloud.errors import QueryError, StoreRejected
from cloud.store import (
    AggregateFn,
    FieldValue,
    InfluxSettings,
    Latest,
    Point,
    Sample,
    SqliteSettings,
    StoreSettings,
    TimeSeriesStore,
    Window,
    WindowSeries,
    open_store,
)

pytestmark = pytest.mark.integration

T0 = 1_764_288_000_000  # 2025-11-28T00:00:00Z, a day boundary
S = 1_000
MIN = 60 * S
H = 60 * MIN
DAY = 24 * H


class Span(TypedDict, total=False):
    start_ms: int
    end_ms: int
    every_ms: int
    group_by: tuple[str, ...]


@pytest.fixture(params=["sqlite", "influxdb"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> StoreSettings:
    if request.param == "sqlite":
        return StoreSettings(
            sqlite=SqliteSettings(path=tmp_path / "ts.sqlite", retention_days=None)
        )
    server = request.getfixturevalue("influxdb")
    database = f"contract_{uuid.uuid4().hex[:12]}"
    return StoreSettings(influxdb=InfluxSettings(url=server.url, database=database))


@pytest.fixture
async def store(settings: StoreSettings) -> AsyncIterator[TimeSeriesStore]:
    opened = await open_store(settings)
    yield opened
    await opened.close()


def pt(
    device: str, time_ms: int, gateway: str = "g1", m: str = "energy", **fields: FieldValue
) -> Point:
    return Point(m, {"gateway": gateway, "device": device}, fields, time_ms)


def one(tags: dict[str, str], *windows: tuple[int, FieldValue]) -> WindowSeries:
    return WindowSeries(tags, [Window(start, value) for start, value in windows])


def exact(
    results: list[WindowSeries],
) -> list[tuple[dict[str, str], list[tuple[int, object, type]]]]:
    """Results with each value's type, so ``2`` and ``2.0`` do not compare equal."""
    return [(r.tags, [(w.start_ms, w.value, type(w.value)) for w in r.windows]) for r in results]


# Round trips


HOSTILE_TAGS = [
    "with space",
    "with,comma",
    "with=equals",
    'with "double" quotes',
    "it's",
    "C:\\temp\\logs",
    "two\\\\backslashes",
    "Rédange ☃ 北京",
    "tab\there",
    "  padded  ",
    " ",
    "=",
    ",",
    '"',
    "x' OR 1=1",
]
HOSTILE_STRINGS = [
    'say "hi"',
    "back\\slash",
    "ends with backslash\\",
    "\\",
    '\\"',
    "comma, equals= and space",
    "unicode ☃ é",
    "",
    "'single'",
]


async def test_hostile_tags_and_strings_round_trip(store: TimeSeriesStore) -> None:
    odd_key = 'odd key, ="k"'
    points = [
        Point("odd measurement, =x", {"device": tag, odd_key: tag}, {"s": text, "n": i}, T0 + i)
        for i, (tag, text) in enumerate(zip(HOSTILE_TAGS, HOSTILE_STRINGS * 2, strict=False))
    ]
    await store.write(points)
    rows = await store.latest("odd measurement, =x", group_by=("device", odd_key))
    got = {row.tags["device"]: (row.tags[odd_key], row.fields["s"].value) for row in rows}
    assert got == {p.tags["device"]: (p.tags["device"], p.fields["s"]) for p in points}
    for point in points:
        tag = point.tags["device"]
        [row] = await store.latest(
            "odd measurement, =x", where={odd_key: tag}, group_by=("device",)
        )
        assert row == Latest(
            {"device": tag},
            {
                "n": Sample(point.time_ms, point.fields["n"]),
                "s": Sample(point.time_ms, point.fields["s"]),
            },
        )


BAD_POINTS = {
    "newline in a tag value": Point("m", {"device": "a\nb"}, {"v": 1.0}, T0),
    "carriage return in a tag value": Point("m", {"device": "a\rb"}, {"v": 1.0}, T0),
    "NUL in a tag value": Point("m", {"device": "a\x00b"}, {"v": 1.0}, T0),
    "newline in a string field": Point("m", {"device": "d"}, {"s": "line\nline"}, T0),
    "newline in a measurement": Point("m\nx", {"device": "d"}, {"v": 1.0}, T0),
    "newline in a field key": Point("m", {"device": "d"}, {"v\n": 1.0}, T0),
    "tag value ending with a backslash": Point("m", {"device": "d\\"}, {"v": 1.0}, T0),
    "backslash before a comma": Point("m", {"device": "a\\,b"}, {"v": 1.0}, T0),
    "empty tag value": Point("m", {"device": ""}, {"v": 1.0}, T0),
    "tag named time": Point("m", {"time": "x"}, {"v": 1.0}, T0),
    "field named time": Point("m", {"device": "d"}, {"time": 1.0}, T0),
    "field with a leading underscore": Point("m", {"device": "d"}, {"_v": 1.0}, T0),
    "measurement starting with #": Point("#m", {"device": "d"}, {"v": 1.0}, T0),
    "a tag and a field of one name": Point("m", {"v": "d"}, {"v": 1.0}, T0),
    "no field": Point("m", {"device": "d"}, {}, T0),
    "NaN": Point("m", {"device": "d"}, {"v": float("nan")}, T0),
    "infinity": Point("m", {"device": "d"}, {"v": float("inf")}, T0),
    "int past 64 bits": Point("m", {"device": "d"}, {"v": 2**63}, T0),
    "bytes": Point("m", {"device": "d"}, {"v": b"x"}, T0),  # type: ignore[dict-item]
    "time in seconds": Point("m", {"device": "d"}, {"v": 1.0}, T0 // 1000),
}


async def test_bad_points_are_refused_before_anything_is_written(store: TimeSeriesStore) -> None:
    good = Point("m", {"device": "good"}, {"v": 1.0}, T0)
    for name, bad in BAD_POINTS.items():
        with pytest.raises(StoreRejected) as refused:
            await store.write([good, bad])
        assert refused.value.index == 1, name
    assert await store.latest("m") == []


async def test_field_types_are_kept(store: TimeSeriesStore) -> None:
    fields: dict[str, FieldValue] = {
        "f_whole": 2.0,
        "f_exp": 1e20,
        "f_tiny": 5e-324,
        "f_max": 1.7976931348623157e308,
        "f_neg": -0.1,
        "i_small": 3,
        "i_max": 2**63 - 1,
        "i_min": -(2**63),
        "b_true": True,
        "b_false": False,
        "s": "2.0",
    }
    await store.write([Point("types", {"device": "d"}, fields, T0)])
    [row] = await store.latest("types", group_by=())
    got = {name: (sample.value, type(sample.value)) for name, sample in row.fields.items()}
    assert got == {name: (value, type(value)) for name, value in fields.items()}


async def test_a_field_keeps_its_type(store: TimeSeriesStore) -> None:
    await store.write([pt("d", T0, v=2.0)])
    with pytest.raises(StoreRejected, match="type conflict"):
        await store.write([pt("d", T0 + S, v=3)])
    await store.write([pt("d", T0 + 2 * S, v=3.5)])
    [row] = await store.latest("energy")
    assert row.fields["v"] == Sample(T0 + 2 * S, 3.5)


async def test_rewriting_is_idempotent_and_the_last_write_wins(store: TimeSeriesStore) -> None:
    batch = [pt("d", T0 + i * S, a=float(i), b=10 * i) for i in range(5)]
    await store.write(batch)
    await store.write(batch)
    await store.write([pt("d", T0 + 4 * S, a=99.5)])  # only field a of the last point
    [row] = await store.latest("energy")
    assert row.fields == {"a": Sample(T0 + 4 * S, 99.5), "b": Sample(T0 + 4 * S, 40)}
    counted = await store.aggregate(
        "energy", "a", start_ms=T0, end_ms=T0 + MIN, every_ms=MIN, fn="count"
    )
    assert exact(counted) == [({"gateway": "g1", "device": "d"}, [(T0, 5, int)])]


# Latest


async def write_fleet(store: TimeSeriesStore) -> None:
    await store.write(
        [
            pt("d1", T0, v=1.0, s="a"),
            pt("d1", T0 + MIN, v=2.0),
            pt("d2", T0 + 30 * S, v=10.0, s="b"),
            pt("d3", T0 + 2 * MIN, gateway="g2", v=100.0),
        ]
    )


async def test_latest_per_device_with_each_field_at_its_own_time(store: TimeSeriesStore) -> None:
    await write_fleet(store)
    assert await store.latest("energy") == [
        Latest(
            {"gateway": "g1", "device": "d1"},
            {"s": Sample(T0, "a"), "v": Sample(T0 + MIN, 2.0)},
        ),
        Latest(
            {"gateway": "g1", "device": "d2"},
            {"s": Sample(T0 + 30 * S, "b"), "v": Sample(T0 + 30 * S, 10.0)},
        ),
        Latest({"gateway": "g2", "device": "d3"}, {"v": Sample(T0 + 2 * MIN, 100.0)}),
    ]


async def test_latest_filters_fields_and_groups(store: TimeSeriesStore) -> None:
    await write_fleet(store)
    only_g2 = await store.latest("energy", where={"gateway": "g2"})
    assert [row.tags for row in only_g2] == [{"gateway": "g2", "device": "d3"}]
    strings = await store.latest("energy", fields=["s", "missing"])
    assert [(row.tags["device"], row.fields) for row in strings] == [
        ("d1", {"s": Sample(T0, "a")}),
        ("d2", {"s": Sample(T0 + 30 * S, "b")}),
    ]
    per_gateway = await store.latest("energy", group_by=("gateway",))
    assert per_gateway == [
        Latest({"gateway": "g1"}, {"s": Sample(T0 + 30 * S, "b"), "v": Sample(T0 + MIN, 2.0)}),
        Latest({"gateway": "g2"}, {"v": Sample(T0 + 2 * MIN, 100.0)}),
    ]
    [everything] = await store.latest("energy", group_by=())
    assert everything == Latest(
        {}, {"s": Sample(T0 + 30 * S, "b"), "v": Sample(T0 + 2 * MIN, 100.0)}
    )
    assert everything.time_ms == T0 + 2 * MIN


async def test_a_missing_tag_groups_and_filters_as_empty(store: TimeSeriesStore) -> None:
    await store.write([pt("d1", T0, v=1.0), Point("energy", {"gateway": "g1"}, {"v": 2.0}, T0 + S)])
    rows = await store.latest("energy")
    assert [row.tags for row in rows] == [
        {"gateway": "g1", "device": ""},
        {"gateway": "g1", "device": "d1"},
    ]
    [row] = await store.latest("energy", where={"device": ""})
    assert row.fields == {"v": Sample(T0 + S, 2.0)}


# Aggregates


async def write_windows(store: TimeSeriesStore) -> None:
    values = {0: 1.0, 15: 2.0, 30: 4.0, 45: 8.0, 60: 0.5, 75: 0.25, 180: -1.5}
    await store.write([pt("d1", T0 + s * S, v=v, i=int(s // 15) + 1) for s, v in values.items()])


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        ("mean", [(T0, 3.75), (T0 + MIN, 0.375), (T0 + 3 * MIN, -1.5)]),
        ("min", [(T0, 1.0), (T0 + MIN, 0.25), (T0 + 3 * MIN, -1.5)]),
        ("max", [(T0, 8.0), (T0 + MIN, 0.5), (T0 + 3 * MIN, -1.5)]),
        ("sum", [(T0, 15.0), (T0 + MIN, 0.75), (T0 + 3 * MIN, -1.5)]),
        ("count", [(T0, 4), (T0 + MIN, 2), (T0 + 3 * MIN, 1)]),
        ("first", [(T0, 1.0), (T0 + MIN, 0.5), (T0 + 3 * MIN, -1.5)]),
        ("last", [(T0, 8.0), (T0 + MIN, 0.25), (T0 + 3 * MIN, -1.5)]),
    ],
)
async def test_aggregate_per_window(
    store: TimeSeriesStore, fn: AggregateFn, expected: list[tuple[int, FieldValue]]
) -> None:
    await write_windows(store)
    got = await store.aggregate(
        "energy",
        "v",
        start_ms=T0,
        end_ms=T0 + 4 * MIN,
        every_ms=MIN,
        fn=fn,
    )
    assert exact(got) == exact([one({"gateway": "g1", "device": "d1"}, *expected)])


async def test_aggregate_range_is_half_open_and_windows_stay_aligned(
    store: TimeSeriesStore,
) -> None:
    await write_windows(store)
    got = await store.aggregate(
        "energy", "v", start_ms=T0 + 20 * S, end_ms=T0 + 3 * MIN, every_ms=MIN, fn="mean"
    )
    assert exact(got) == exact(
        [one({"gateway": "g1", "device": "d1"}, (T0, 6.0), (T0 + MIN, 0.375))]
    )


async def test_aggregate_of_an_integer_field_keeps_integers(store: TimeSeriesStore) -> None:
    await write_windows(store)  # i = 1, 2, 3, 4 | 5, 6 | 13
    sums = await store.aggregate(
        "energy", "i", start_ms=T0, end_ms=T0 + 2 * MIN, every_ms=MIN, fn="sum"
    )
    means = await store.aggregate("energy", "i", start_ms=T0, end_ms=T0 + 2 * MIN, every_ms=MIN)
    tags = {"gateway": "g1", "device": "d1"}
    assert exact(sums) == exact([one(tags, (T0, 10), (T0 + MIN, 11))])
    assert exact(means) == exact([one(tags, (T0, 2.5), (T0 + MIN, 5.5))])


async def test_aggregate_combines_the_series_of_a_group(store: TimeSeriesStore) -> None:
    await write_fleet(store)  # g1: d1 1.0 @0, 2.0 @1min; d2 10.0 @30s
    span: Span = {
        "start_ms": T0,
        "end_ms": T0 + 5 * MIN,
        "every_ms": 5 * MIN,
        "group_by": ("gateway",),
    }
    expected: dict[AggregateFn, FieldValue] = {
        "mean": 13.0 / 3,
        "sum": 13.0,
        "min": 1.0,
        "max": 10.0,
        "count": 3,
        "first": 1.0,
        "last": 2.0,
    }
    for fn, value in expected.items():
        got = await store.aggregate("energy", "v", fn=fn, **span)
        assert exact(got) == exact(
            [
                one({"gateway": "g1"}, (T0, value)),
                one({"gateway": "g2"}, (T0, 100.0 if fn != "count" else 1)),
            ]
        ), fn


async def test_aggregate_functions_must_fit_the_field_type(store: TimeSeriesStore) -> None:
    await write_fleet(store)
    window: Span = {"start_ms": T0, "end_ms": T0 + DAY, "every_ms": DAY, "group_by": ()}
    numeric: tuple[AggregateFn, ...] = ("mean", "min", "max", "sum")
    for fn in numeric:
        with pytest.raises(QueryError, match="numeric"):
            await store.aggregate("energy", "s", fn=fn, **window)
    counted = await store.aggregate("energy", "s", fn="count", **window)
    last = await store.aggregate("energy", "s", fn="last", **window)
    assert exact(counted) == exact([one({}, (T0, 2))])
    assert exact(last) == exact([one({}, (T0, "b"))])


# Counter increase


async def write_meter(store: TimeSeriesStore) -> None:
    """kWh every 6 h; a reset (meter replaced) on day 1 at 06:00."""
    readings = [
        (-6 * H, 100.0),  # before the range: the first delta's predecessor
        (0, 110.0),  # at midnight exactly: belongs to day 0
        (6 * H, 120.5),
        (12 * H, 130.0),
        (18 * H, 150.0),
        (DAY, 160.0),
        (DAY + 6 * H, 2.5),  # reset: +2.5
        (DAY + 12 * H, 10.0),
        (DAY + 18 * H, 12.5),
        (2 * DAY, 20.0),
        (2 * DAY + 12 * H, 20.0),
    ]
    await store.write([pt("m1", T0 + t, energy_import_kwh=v) for t, v in readings])


async def test_energy_per_day_across_a_counter_reset(store: TimeSeriesStore) -> None:
    await write_meter(store)
    got = await store.increase(
        "energy", "energy_import_kwh", start_ms=T0, end_ms=T0 + 3 * DAY, every_ms=DAY
    )
    tags = {"gateway": "g1", "device": "m1"}
    assert exact(got) == exact([one(tags, (T0, 50.0), (T0 + DAY, 22.5), (T0 + 2 * DAY, 7.5))])


async def test_increase_is_consistent_across_window_edges(store: TimeSeriesStore) -> None:
    await write_meter(store)
    hourly = await store.increase(
        "energy", "energy_import_kwh", start_ms=T0, end_ms=T0 + 3 * DAY, every_ms=H
    )
    per_day: dict[int, float] = {}
    for window in hourly[0].windows:
        day = window.start_ms - window.start_ms % DAY
        assert isinstance(window.value, float)
        per_day[day] = per_day.get(day, 0.0) + window.value
    assert per_day == {T0: 50.0, T0 + DAY: 22.5, T0 + 2 * DAY: 7.5}
    late_start = await store.increase(
        "energy", "energy_import_kwh", start_ms=T0 + 7 * H, end_ms=T0 + DAY, every_ms=DAY
    )
    assert exact(late_start) == exact([one({"gateway": "g1", "device": "m1"}, (T0, 29.5))])


async def test_increase_adds_the_meters_of_a_group_without_mixing_them(
    store: TimeSeriesStore,
) -> None:
    await write_meter(store)
    await store.write(
        [
            pt("m2", T0 + 1, energy_import_kwh=1000.0),
            pt("m2", T0 + 12 * H + 1, energy_import_kwh=1001.0),
        ]
    )
    got = await store.increase(
        "energy",
        "energy_import_kwh",
        start_ms=T0,
        end_ms=T0 + DAY,
        every_ms=DAY,
        group_by=("gateway",),
    )
    assert exact(got) == exact([one({"gateway": "g1"}, (T0, 51.0))])


async def test_increase_of_a_wrapping_integer_counter(store: TimeSeriesStore) -> None:
    counts = [65_530, 65_535, 3, 10]
    await store.write(
        [pt("loop", T0 + i * MIN, m="traffic", lane1_vehicle_count=c) for i, c in enumerate(counts)]
    )
    window: Span = {"start_ms": T0, "end_ms": T0 + H, "every_ms": H, "group_by": ()}
    wrapped = await store.increase("traffic", "lane1_vehicle_count", wrap_at=65_536, **window)
    reset = await store.increase("traffic", "lane1_vehicle_count", **window)
    assert exact(wrapped) == exact([one({}, (T0, 16))])
    assert exact(reset) == exact([one({}, (T0, 15))])


async def test_increase_needs_a_number(store: TimeSeriesStore) -> None:
    await write_fleet(store)
    with pytest.raises(QueryError):
        await store.increase("energy", "s", start_ms=T0, end_ms=T0 + DAY, every_ms=DAY)


# Hostile filters and empty results


HOSTILE_WHERE = [
    {"device": "x' OR 1=1"},
    {"device": "d1' OR '1'='1"},
    {"device": "d1\\' OR 1=1 --"},
    {"device": '" OR ""="'},
    {"device": "\\"},
    {"device": "d1\nOR 1=1"},
    {"device": "d1'; DROP DATABASE x; SELECT '"},
    {"device\"::tag = 'd1' OR \"x": "y"},
    {"device": "d1", "gateway": "g1' OR gateway = 'g2"},
]


async def test_hostile_filters_match_nothing_and_change_nothing(store: TimeSeriesStore) -> None:
    await write_fleet(store)
    await write_meter(store)
    window: Span = {"start_ms": T0, "end_ms": T0 + DAY, "every_ms": DAY}
    for where in HOSTILE_WHERE:
        assert await store.latest("energy", where=where) == [], where
        assert await store.aggregate("energy", "v", where=where, **window) == [], where
        assert await store.increase("energy", "energy_import_kwh", where=where, **window) == []
    assert len(await store.latest("energy")) == 4


async def test_empty_results(store: TimeSeriesStore) -> None:
    window: Span = {"start_ms": T0, "end_ms": T0 + DAY, "every_ms": H}
    assert await store.latest("nothing") == []
    assert await store.aggregate("nothing", "v", **window) == []
    assert await store.increase("nothing", "v", **window) == []
    await write_fleet(store)
    assert await store.latest("energy", fields=[]) == []
    assert await store.latest("energy", fields=["missing"]) == []
    assert await store.aggregate("energy", "missing", **window) == []
    later: Span = {"start_ms": T0 + DAY, "end_ms": T0 + 2 * DAY, "every_ms": H}
    assert await store.aggregate("energy", "v", **later) == []
    assert await store.increase("energy", "v", **later) == []


async def test_bad_queries_are_refused(store: TimeSeriesStore) -> None:
    await write_fleet(store)
    with pytest.raises(QueryError):
        await store.aggregate("energy", "v", start_ms=T0, end_ms=T0, every_ms=MIN)
    with pytest.raises(QueryError):
        await store.aggregate("energy", "v", start_ms=T0, end_ms=T0 + MIN, every_ms=0)
    with pytest.raises(QueryError):
        await store.aggregate("energy", "v", start_ms=T0, end_ms=T0 + DAY, every_ms=1)
    not_a_fn: Any = "median"
    with pytest.raises(QueryError):
        await store.aggregate(
            "energy", "v", start_ms=T0, end_ms=T0 + MIN, every_ms=MIN, fn=not_a_fn
        )
    with pytest.raises(QueryError):
        await store.latest("energy", where={"device": 1})  # type: ignore[dict-item]
    with pytest.raises(QueryError):
        await store.latest("energy", group_by="device")
    with pytest.raises(QueryError):
        await store.latest("energy", group_by=("time",))
