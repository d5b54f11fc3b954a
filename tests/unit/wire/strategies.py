"""Hypothesis strategies producing valid messages of every type of wire contract v1."""

from __future__ import annotations

from hypothesis import strategies as st

from eclor.wire import (
    Ack,
    Assignment,
    Calendar,
    CalendarRule,
    Command,
    CommandResult,
    ControlProgram,
    DeviceHealth,
    Event,
    EventBatch,
    LevelStep,
    OutboxHealth,
    ProgramSet,
    Reading,
    Site,
    Status,
    SwitchTime,
    TelemetryBatch,
    Window,
)
from eclor.wire import limits as L

gateway_ids = st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,62}\Z")
names = st.from_regex(r"\A[a-z][a-z0-9_]{0,20}\Z")
device_ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:-]{0,30}\Z")
epoch_ms = st.integers(L.MIN_EPOCH_MS, L.MAX_EPOCH_MS)
seqs = st.integers(0, L.INT64_MAX)
texts = st.text(max_size=60)
scalars = st.one_of(
    st.booleans(),
    st.integers(L.INT64_MIN, L.INT64_MAX),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
fields = st.dictionaries(names, scalars, min_size=1, max_size=8)
tags = st.dictionaries(names, st.text(min_size=1, max_size=30), max_size=4)
percent = st.floats(0, 100)
time_of_day = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))

readings = st.builds(
    Reading, device=device_ids, measurement=names, time=epoch_ms, fields=fields, tags=tags
)
telemetry = st.builds(
    TelemetryBatch,
    gateway=gateway_ids,
    seq=seqs,
    readings=st.lists(readings, min_size=1, max_size=5),
)
events = st.builds(
    Event,
    device=device_ids,
    kind=names,
    time=epoch_ms,
    severity=st.sampled_from(["info", "warning", "critical"]),
    active=st.booleans(),
    detail=texts,
    fields=st.dictionaries(names, scalars, max_size=3),
)
event_batches = st.builds(
    EventBatch, gateway=gateway_ids, seq=seqs, events=st.lists(events, min_size=1, max_size=4)
)
acks = st.builds(Ack, gateway=gateway_ids, seqs=st.lists(seqs, min_size=1, max_size=20))
device_health = st.builds(
    DeviceHealth,
    state=st.sampled_from(["ok", "degraded", "unreachable", "unknown"]),
    last_ok=st.none() | epoch_ms,
    errors=st.integers(0, 10**9),
    detail=texts,
)
statuses = st.builds(
    Status,
    gateway=gateway_ids,
    state=st.sampled_from(["online", "offline"]),
    time=epoch_ms,
    version=st.text(max_size=20),
    outbox=st.none()
    | st.builds(
        OutboxHealth,
        rows=st.integers(0, 10**9),
        bytes=st.integers(0, 10**12),
        oldest_age_s=st.none() | st.floats(0, 1e9),
        evicted=st.integers(0, 10**9),
    ),
    devices=st.dictionaries(device_ids, device_health, max_size=4),
)


@st.composite
def commands(draw: st.DrawFn) -> Command:
    issued = draw(st.integers(L.MIN_EPOCH_MS, L.MAX_EPOCH_MS - 1))
    return Command(
        id=draw(device_ids),
        kind=draw(names),
        target=draw(st.text(min_size=1, max_size=40)),
        args=draw(st.dictionaries(names, scalars, max_size=4)),
        issued_at=issued,
        expires_at=draw(st.integers(issued + 1, L.MAX_EPOCH_MS)),
    )


command_results = st.builds(
    CommandResult,
    gateway=gateway_ids,
    seq=seqs,
    id=device_ids,
    ok=st.booleans(),
    time=epoch_ms,
    detail=texts,
    observed=st.dictionaries(names, scalars, max_size=4),
)

switch_times = st.one_of(
    st.builds(SwitchTime, ref=st.just("fixed"), time=time_of_day, offset_min=st.just(0)),
    st.builds(
        SwitchTime,
        ref=st.sampled_from(["sunset", "sunrise"]),
        offset_min=st.integers(-240, 240),
    ),
)


@st.composite
def program_sets(draw: st.DrawFn) -> ProgramSet:
    program_ids = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    calendar_ids = draw(st.lists(names, min_size=1, max_size=2, unique=True))
    programs = [
        ControlProgram(
            id=pid,
            on=draw(switch_times),
            off=draw(switch_times),
            level_pct=draw(percent),
            steps=draw(
                st.lists(st.builds(LevelStep, at=switch_times, level_pct=percent), max_size=3)
            ),
            switch_off=draw(
                st.lists(st.builds(Window, start=time_of_day, end=time_of_day), max_size=2)
            ),
            fade_s=draw(st.floats(0, 960)),
        )
        for pid in program_ids
    ]
    rule = st.builds(
        CalendarRule,
        program=st.sampled_from(program_ids),
        weekdays=st.lists(st.integers(1, 7), max_size=7),
        dates=st.lists(st.just("2026-12-25"), max_size=1),
    )
    calendars = [
        Calendar(
            id=cid,
            rules=draw(st.lists(rule, max_size=3)),
            default_program=draw(st.sampled_from(program_ids)),
        )
        for cid in calendar_ids
    ]
    groups = draw(st.lists(names, max_size=4, unique=True))
    return ProgramSet(
        gateway=draw(gateway_ids),
        revision=draw(seqs),
        issued_at=draw(epoch_ms),
        site=Site(latitude=draw(st.floats(-90, 90)), longitude=draw(st.floats(-180, 180))),
        programs=programs,
        calendars=calendars,
        assignments=[
            Assignment(group=g, calendar=draw(st.sampled_from(calendar_ids))) for g in groups
        ],
    )


ALL_MESSAGES = {
    "telemetry": telemetry,
    "event": event_batches,
    "ack": acks,
    "status": statuses,
    "cmd": commands(),
    "cmd/result": command_results,
    "program": program_sets(),
}
