"""A scan's result for people (a rich table) and for scripts (JSON-ready dicts)."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from edge.scan.confidence import Candidate, Check, is_tie
from edge.scan.results import Found, ScanReport, bus_label


def report_json(report: ScanReport) -> dict[str, Any]:
    return {
        "found": [found_json(found) for found in report.found],
        "problems": list(report.problems),
        "requests": report.requests,
        "timeouts": report.timeouts,
        "elapsed_s": round(report.elapsed_s, 3),
    }


def found_json(found: Found) -> dict[str, Any]:
    best = found.best
    return {
        "bus": found.bus.model_dump(mode="json"),
        "settings": bus_label(found.bus),
        "unit": found.unit,
        "model": best.model if best else None,
        "confidence": best.confidence if best else None,
        "ambiguous": found.ambiguous,
        "values": {reading.label: reading.value for reading in found.readings},
        "identity": dict(found.identity),
        "probe": found.probe,
        "candidates": [candidate_json(c) for c in found.candidates],
    }


def candidate_json(candidate: Candidate) -> dict[str, Any]:
    return {
        "model": candidate.model,
        "confidence": candidate.confidence,
        "matched": candidate.matched,
        "signatures": len(candidate.checks),
        "checks": [check_json(check) for check in candidate.checks],
    }


def check_json(check: Check) -> dict[str, Any]:
    return {
        "label": check.label,
        "function": check.read.function.value,
        "address": check.read.address,
        "count": check.read.count,
        "outcome": check.outcome.value,
        "value": check.value,
        "detail": check.detail,
    }


def report_table(report: ScanReport) -> Group:
    """A summary line, then one table per bus (titled with its settings) of what answered."""
    by_bus: dict[str, list[Found]] = {}
    for found in sorted(report.found, key=lambda f: (bus_label(f.bus), f.unit)):
        by_bus.setdefault(bus_label(found.bus), []).append(found)
    return Group(Text(_summary(report)), *(_bus_table(bus, rows) for bus, rows in by_bus.items()))


def _bus_table(bus: str, rows: list[Found]) -> Table:
    table = Table(title=Text(bus, style="bold"), title_justify="left")
    table.add_column("unit", justify="right", no_wrap=True)
    table.add_column("model", no_wrap=True)
    table.add_column("confidence", justify="right", no_wrap=True)
    table.add_column("values read", overflow="fold", ratio=3)
    table.add_column("other candidates", overflow="fold", ratio=1)
    for found in rows:
        table.add_row(  # Text, not str: device strings and IPv6 brackets are not markup
            Text(str(found.unit)),
            _model(found),
            Text(_confidence(found)),
            Text(", ".join(map(str, found.readings)) or found.probe),
            Text(_others(found)),
        )
    return table


def _summary(report: ScanReport) -> str:
    count = len(report.found)
    return (
        f"{count} device{'s' if count != 1 else ''} found "
        f"({report.requests} requests, {report.timeouts} timeouts, {report.elapsed_s:.1f} s)"
    )


def _model(found: Found) -> Text:
    best = found.best
    if best is not None:
        return Text(best.model, style="bold green")
    if found.ambiguous:
        return Text("ambiguous: " + " or ".join(_tied(found)), style="yellow")
    if found.candidates:
        return Text(f"uncertain ({found.candidates[0].model}?)", style="yellow")
    return Text("no profile matches", style="red")


def _tied(found: Found) -> list[str]:
    top = found.candidates[0]
    return [c.model for c in found.candidates if is_tie(c, top)]


def _confidence(found: Found) -> str:
    top = found.best or (found.candidates[0] if found.candidates else None)
    return "-" if top is None else f"{top.confidence:.0%}"


def _others(found: Found) -> str:
    best = found.best
    rest = [c for c in found.candidates if c is not best]
    return ", ".join(f"{c.model} {c.confidence:.0%}" for c in rest)
