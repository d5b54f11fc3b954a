"""The report a technician photographs before closing the cabinet, and its JSON twin.

PASS needs every device read OK (by the self-test's own read and by the agent's first poll), at
least one batch acknowledged by the cloud with the outbox drained, and the clock within
:data:`CLOCK_FAIL_S` of the cloud's; a clock off by more than :data:`CLOCK_WARN_S` is a warning.
No secret is ever part of a report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from edge.provision.cloud_api import ClockCheck
from edge.provision.merge import MergeNotes
from edge.provision.selftest import DeviceCheck, UplinkCheck

WIDTH = 100
"""At most this wide, so a phone photo of the terminal stays readable."""
CLOCK_WARN_S = 2.0
CLOCK_FAIL_S = 60.0
LOCAL = ZoneInfo("Europe/Paris")
OK_MARK, FAIL_MARK = "✓", "✗"


@dataclass(frozen=True)
class DeviceLine:
    device: str
    model: str
    bus: str
    unit: int
    value: str
    ok: bool
    detail: str


def device_lines(checks: list[DeviceCheck], uplink: UplinkCheck | None) -> list[DeviceLine]:
    """One line per device: OK only when its read and the agent's first poll both were."""
    lines = []
    for check in checks:
        ok, detail = check.ok, check.detail
        polled = uplink.polled.get(check.device) if uplink is not None else None
        if ok and polled is not None and polled not in ("ok", "unknown"):
            ok, detail = False, f"agent poll {polled}"
        lines.append(
            DeviceLine(check.device, check.profile, check.bus, check.unit, check.value, ok, detail)
        )
    return lines


@dataclass(frozen=True)
class Report:
    gateway: str
    site: str | None
    commune: str | None
    latitude: float | None
    longitude: float | None
    config: Path
    backup: Path | None
    api_url: str
    broker: str
    mqtt_username: str | None
    enrolment: str
    devices: list[DeviceLine]
    changes: MergeNotes
    clock: ClockCheck | None
    uplink: UplinkCheck | None
    finished_at: datetime
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def judge(report: Report) -> Report:
    """The report with its failures and warnings filled in."""
    failures = [f"{d.device}: {d.detail}" for d in report.devices if not d.ok]
    warnings = [f"configured but not found by the scan: {n}" for n in report.changes.not_found]
    if not report.devices:
        failures.append("no device configured")
    if report.uplink is None:
        failures.append("uplink not tested")
    elif not report.uplink.ok:
        failures.append(f"uplink: {report.uplink.detail}")
    if report.uplink is not None and report.uplink.backlog:
        warnings.append(
            f"{report.uplink.backlog} older batch(es) were waiting in the outbox; "
            "the agent sends them at the uplink's drain rate"
        )
    clock = report.clock
    if clock is None:
        warnings.append("clock not compared (the cloud sent no time)")
    elif abs(clock.offset_s) > CLOCK_FAIL_S:
        failures.append(f"clock off by {clock.offset_s:+.1f} s (more than {CLOCK_FAIL_S:.0f} s)")
    elif abs(clock.offset_s) > CLOCK_WARN_S:
        warnings.append(f"clock off by {clock.offset_s:+.1f} s (more than {CLOCK_WARN_S:.0f} s)")
    return Report(**{**report.__dict__, "failures": failures, "warnings": warnings})


def render(report: Report, console: Console) -> None:
    width = min(console.width, WIDTH)
    for part in (_gateway_panel(report), _cloud_panel(report), _devices_table(report)):
        console.print(part, width=width)
    if any((report.changes.dropped, report.changes.replaced)):
        console.print(_changes(report.changes), width=width)
    console.print(_verdict_panel(report), width=width)


def _grid(rows: list[tuple[str, str | Text]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for key, value in rows:
        grid.add_row(key, Text(value) if isinstance(value, str) else value)
    return grid


def _gateway_panel(report: Report) -> Panel:
    where = (
        f"{report.latitude:.5f}, {report.longitude:.5f}"
        if report.latitude is not None and report.longitude is not None
        else "-"
    )
    local = report.finished_at.astimezone(LOCAL)
    rows: list[tuple[str, str | Text]] = [
        ("gateway", report.gateway),
        ("site", report.site or "-"),
        ("commune", report.commune or "-"),
        ("position", where),
        ("config", str(report.config)),
        ("tested", f"{local:%Y-%m-%d %H:%M:%S %Z} ({report.finished_at:%H:%M:%S} UTC)"),
    ]
    if report.backup is not None:
        rows.append(("previous config", report.backup.name))
    return Panel(_grid(rows), title="Gateway", title_align="left", box=box.ROUNDED)


def _cloud_panel(report: Report) -> Panel:
    uplink = report.uplink
    rtt, acked = "-", "-"
    if uplink is not None:
        if uplink.ack_round_trip_s is not None:
            rtt = f"{uplink.ack_round_trip_s * 1000:.0f} ms"
        stored = "all the test's readings stored" if uplink.drained else "NOT all stored"
        acked = f"{uplink.acked_batches} batch(es); {stored}"
    rows: list[tuple[str, str | Text]] = [
        ("API", report.api_url),
        ("broker", report.broker),
        ("MQTT user", report.mqtt_username or "-"),
        ("enrolment", report.enrolment),
        ("acked", acked),
        ("ack round trip", rtt),
        ("clock offset", _clock_text(report.clock)),
    ]
    return Panel(_grid(rows), title="Cloud", title_align="left", box=box.ROUNDED)


def _clock_text(clock: ClockCheck | None) -> Text:
    if clock is None:
        return Text("not compared", style="yellow")
    size = abs(clock.offset_s)
    style = "red" if size > CLOCK_FAIL_S else "yellow" if size > CLOCK_WARN_S else "green"
    return Text(f"{clock.offset_s:+.2f} s (±{clock.uncertainty_s:.2f} s)", style=style)


def _devices_table(report: Report) -> Table:
    table = Table(title="Devices", title_justify="left", box=box.SIMPLE_HEAVY)
    for column in ("", "device", "model", "bus:unit", "value read", "detail"):
        table.add_column(column, overflow="fold")
    for d in report.devices:
        mark = Text(OK_MARK, style="bold green") if d.ok else Text(FAIL_MARK, style="bold red")
        cells = (d.device, d.model, f"{d.bus}:{d.unit}", d.value or "-", d.detail)
        table.add_row(mark, *(Text(cell) for cell in cells))
    return table


def _changes(notes: MergeNotes) -> Text:
    text = Text()
    for label, items in (("dropped", notes.dropped), ("replaced", notes.replaced)):
        for item in items:
            text.append(f"{label}: {item}\n", style="dim")
    return text


def _verdict_panel(report: Report) -> Panel:
    title = Text("PASS" if report.passed else "FAIL", style="bold white")
    lines: list[Text] = [title]
    lines += [Text(f"{FAIL_MARK} {f}") for f in report.failures]
    lines += [Text(f"! {w}", style="yellow") for w in report.warnings]
    return Panel(
        Group(*lines),
        title="Result",
        title_align="left",
        style="on green" if report.passed else "on red",
        box=box.HEAVY,
    )


def to_json(report: Report) -> dict[str, Any]:
    uplink = report.uplink
    clock = report.clock
    return {
        "result": "PASS" if report.passed else "FAIL",
        "failures": report.failures,
        "warnings": report.warnings,
        "gateway": {
            "id": report.gateway,
            "site": report.site,
            "commune": report.commune,
            "latitude": report.latitude,
            "longitude": report.longitude,
        },
        "config": str(report.config),
        "backup": None if report.backup is None else str(report.backup),
        "api_url": report.api_url,
        "broker": report.broker,
        "mqtt_username": report.mqtt_username,
        "enrolment": report.enrolment,
        "devices": [d.__dict__ for d in report.devices],
        "changes": report.changes.__dict__,
        "clock": None if clock is None else clock.__dict__,
        "uplink": None
        if uplink is None
        else {
            "acked_batches": uplink.acked_batches,
            "drained": uplink.drained,
            "backlog": uplink.backlog,
            "ack_round_trip_s": uplink.ack_round_trip_s,
            "detail": uplink.detail,
        },
        "finished_at": report.finished_at.isoformat(),
    }
