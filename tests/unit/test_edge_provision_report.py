"""Provisioning's report and verdict, the clock comparison, and the interactive review."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path

from rich.console import Console

from edge.config import Device
from edge.provision.cloud_api import ClockCheck, _Answer, _clock
from edge.provision.merge import MergeNotes
from edge.provision.prompts import Asker, review
from edge.provision.report import Report, device_lines, judge, render, to_json
from edge.provision.selection import FoundDevice, Origin, Proposal
from edge.provision.selftest import DeviceCheck, UplinkCheck

NOW = datetime(2026, 11, 28, 22, 30, tzinfo=UTC)


def check(device: str, ok: bool = True, detail: str = "") -> DeviceCheck:
    return DeviceCheck(device, "eastron-sdm630", "rs485", 1, ok, "voltage_l1_v 230.2 V", detail)


def uplink(ok: bool = True, **polled: str) -> UplinkCheck:
    return UplinkCheck(
        connected=ok, acked_batches=2 if ok else 0, drained=ok, ack_round_trip_s=0.042,
        polled=polled, detail="" if ok else "broker refused the connection: Not authorized",
    )  # fmt: skip


def report(**changes: object) -> Report:
    base = Report(
        gateway="cab-thil-04", site="cab-thil-04", commune="thil", latitude=49.4717,
        longitude=5.9078, config=Path("/etc/eclor/gateway.yaml"), backup=None,
        api_url="https://api.eclor.example", broker="mqtt.eclor.example:8883 (TLS, MQTT 5)",
        mqtt_username="cab-thil-04", enrolment="enrolled", devices=device_lines([check("m")], None),
        changes=MergeNotes(), clock=ClockCheck(0.3, 0.05, "server_time"), uplink=uplink(),
        finished_at=NOW,
    )  # fmt: skip
    return judge(replace(base, **changes))  # type: ignore[arg-type]


def test_everything_fine_passes() -> None:
    result = report()
    assert result.passed
    assert result.warnings == []


def test_a_failing_device_fails_with_its_reason() -> None:
    result = report(devices=device_lines([check("m"), check("d", False, "timeout")], None))
    assert result.failures == ["d: timeout"]


def test_the_agents_own_poll_counts_too() -> None:
    lines = device_lines([check("m")], uplink(m="degraded: exception 02 reading energy"))
    assert lines[0].ok is False
    assert lines[0].detail == "agent poll degraded: exception 02 reading energy"


def test_no_ack_fails_with_what_the_agent_saw() -> None:
    result = report(uplink=uplink(ok=False))
    assert result.failures == ["uplink: broker refused the connection: Not authorized"]


def test_the_clock_warns_over_two_seconds_and_fails_over_a_minute() -> None:
    assert report(clock=ClockCheck(-2.5, 0.1, "server_time")).warnings == [
        "clock off by -2.5 s (more than 2 s)"
    ]
    late = report(clock=ClockCheck(61.0, 0.1, "server_time"))
    assert late.failures == ["clock off by +61.0 s (more than 60 s)"]
    assert report(clock=None).warnings == ["clock not compared (the cloud sent no time)"]


def test_the_report_shows_what_a_technician_checks() -> None:
    screen = io.StringIO()
    failing = device_lines([check("m"), check("d", False, "no response")], None)
    render(report(devices=failing), Console(file=screen, width=200))
    text = screen.getvalue()
    for expected in (
        "cab-thil-04",
        "thil",
        "49.47170, 5.90780",
        "mqtt.eclor.example:8883",
        "✓",
        "✗",
        "voltage_l1_v 230.2 V",
        "42 ms",
        "+0.30 s",
        "FAIL",
        "d: no response",
        "23:30:00 CET",
    ):
        assert expected in text, expected  # fmt: skip
    assert max(len(line) for line in text.splitlines()) <= 100, "fits a phone photo"
    doc = to_json(report(devices=failing))
    assert doc["result"] == "FAIL"
    assert doc["uplink"]["ack_round_trip_s"] == 0.042


def answer(headers: dict[str, str], sent_at: float, round_trip: float = 0.2) -> _Answer:
    message = Message()
    for key, value in headers.items():
        message[key] = value
    return _Answer(200, message, b"{}", sent_at, round_trip)


def test_the_clock_offset_comes_from_server_time_else_the_date_header() -> None:
    sent = NOW.timestamp()
    exact = _clock(answer({}, sent - 3.0), "2026-11-28T22:30:00.000000Z")
    assert exact == ClockCheck(3.0, 0.1, "server_time")
    date = _clock(answer({"Date": "Sat, 28 Nov 2026 22:30:10 GMT"}, sent), None)
    assert date == ClockCheck(10.5, 0.6, "date_header")
    assert _clock(answer({}, sent), None) is None


def test_review_accepts_renames_and_drops() -> None:
    def proposal(unit: int) -> Proposal:
        device = Device(id=f"gw-meter-{unit}", profile="eastron-sdm630", bus="rs485", unit=unit)
        return Proposal(FoundDevice("rs485", unit, "eastron-sdm630", 1.0, []), device, Origin.NEW)

    screen = io.StringIO()
    keys = io.StringIO("n\n\nr\nBad Id!\nmain\nd\n")
    asker = Asker(Console(file=screen, width=120), keys)
    kept, renamed, dropped = review(asker, [proposal(1), proposal(2), proposal(3)])
    assert (kept.device.id, kept.excluded) == ("gw-meter-1", False)
    assert (renamed.device.id, renamed.excluded) == ("main", False)
    assert dropped.excluded
    assert "letters, digits" in screen.getvalue()
