"""Persisted lighting state (atomic, corrupt files set aside) and ProgramSet reception rules."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from eclor.wire import encode
from edge.lighting.overrides import Override, OverrideBook
from edge.lighting.programs import ProgramInbox
from edge.lighting.state import LightingState, StateFile
from edge.metrics import EdgeMetrics
from tests.unit.edge.lighting.test_schedule import night_program, program_set


def _rejected(metrics: EdgeMetrics, reason: str) -> float:
    value = metrics.registry.get_sample_value(
        "eclor_edge_rejected_messages_total", {"reason": reason}
    )
    return value or 0.0


def test_state_round_trip_keeps_program_bytes_and_overrides(tmp_path: Path) -> None:
    payload = encode(program_set([night_program()]))
    file = StateFile(tmp_path / "lighting.json", "cab-thil-04")
    override = Override("main", 30.0, 1_000, 2_000, "override", "operator", 2.0, "c1", None, 4)
    file.save(LightingState(payload, None, [override]))
    loaded = file.load(now_s=0)
    assert loaded.program_bytes == payload
    assert loaded.program is not None
    assert loaded.program.revision == 1
    assert loaded.overrides == [override]
    assert not list(tmp_path.glob(".*.tmp"))


def test_missing_state_is_empty(tmp_path: Path) -> None:
    state = StateFile(tmp_path / "none.json", "cab-thil-04").load(now_s=0)
    assert state.program is None
    assert state.overrides == []


def test_corrupt_state_is_set_aside_and_the_default_applies(tmp_path: Path) -> None:
    path = tmp_path / "lighting.json"
    path.write_bytes(b'{"format": 1, "program": "{not json')
    state = StateFile(path, "cab-thil-04").load(now_s=1_800_000_000)
    assert state.program is None
    assert state.overrides == []
    assert not path.exists()
    assert (tmp_path / "lighting.json.corrupt-1800000000").read_bytes().startswith(b'{"format"')


def test_state_with_a_program_for_another_gateway_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lighting.json"
    foreign = msgspec.structs.replace(program_set([night_program()]), gateway="cab-other")
    doc = {"format": 1, "program": encode(foreign).decode(), "overrides": []}
    path.write_text(json.dumps(doc))
    assert StateFile(path, "cab-thil-04").load(now_s=5).program is None
    assert (tmp_path / "lighting.json.corrupt-5").exists()


def test_program_inbox_refusals_are_counted_and_the_last_good_set_stays() -> None:
    metrics = EdgeMetrics()
    inbox = ProgramInbox("cab-thil-04", metrics)
    good = program_set([night_program()])
    newer = msgspec.structs.replace(good, revision=5)
    assert inbox.offer(encode(newer))
    assert not inbox.offer(encode(newer))  # retained replay: ignored quietly
    assert not inbox.offer(encode(good))  # revision 1 < 5
    assert not inbox.offer(encode(msgspec.structs.replace(newer, gateway="cab-x", revision=9)))
    assert not inbox.offer(encode(newer).replace(b'"v":1', b'"v":2'))
    dangling = encode(msgspec.structs.replace(newer, revision=7)).replace(
        b'"default_program":"night"', b'"default_program":"nope"'
    )
    assert not inbox.offer(dangling)
    assert not inbox.offer(b"\x00garbage")
    assert inbox.current is not None
    assert inbox.current.revision == 5
    assert _rejected(metrics, "program_stale") == 1
    assert _rejected(metrics, "program_gateway") == 1
    assert _rejected(metrics, "program_version") == 1
    assert _rejected(metrics, "program_invalid") == 2
    assert metrics.registry.get_sample_value("eclor_edge_lighting_program_revision") == 5


def test_last_override_wins_and_raises_take_their_maximum() -> None:
    book = OverrideBook()
    book.add(Override("main", 80.0, 0, 10_000))
    book.add(Override("main", 20.0, 0, 5_000))
    book.add(Override("main", 60.0, 0, 10_000, mode="raise"))
    book.add(Override("main", 70.0, 0, 3_000, mode="raise"))
    first = book.override_for("main", 1_000)
    assert first is not None
    assert first.level_pct == 20.0
    later = book.override_for("main", 6_000)
    assert later is not None
    assert later.level_pct == 80.0
    high = book.raise_for("main", 1_000)
    assert high is not None
    assert high.level_pct == 70.0
    assert book.next_change(1_000) == 3_000
    assert len(book.expire(5_000)) == 2
    assert book.clear("main") == 1
    remaining = book.snapshot()
    assert [o.mode for o in remaining] == ["raise"]
