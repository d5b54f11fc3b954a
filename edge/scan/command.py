"""``eclor edge scan``: from what the technician typed to a table (or JSON) and an exit code.

Exit codes: 0 when at least one device answered, 1 when nobody did, 2 when the options are wrong
or the port or every endpoint cannot be used.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from eclor.errors import ConfigError
from edge.errors import BusUnavailable
from edge.profiles import Profile, default_profiles_dir, load_profiles
from edge.scan.identify import Recogniser
from edge.scan.options import (
    TCP_UNITS,
    LineSettings,
    Parity,
    StopBits,
    factory_settings,
    parse_bauds,
    parse_endpoint,
    parse_parities,
    parse_stopbits,
    parse_units,
    settings_product,
)
from edge.scan.report import report_json, report_table
from edge.scan.results import ProgressCallback, ScanProgress, ScanReport
from edge.scan.serial_scan import scan_serial
from edge.scan.tcp_scan import scan_tcp

FOUND, NOBODY, UNUSABLE = 0, 1, 2
T = TypeVar("T")


class UsageError(ValueError):
    """Options that cannot describe a scan."""


@dataclass(frozen=True)
class ScanOptions:
    port: str | None = None
    tcp: list[str] = field(default_factory=list)
    baud: str | None = None
    parity: str | None = None
    stopbits: str | None = None
    units: str | None = None
    timeout_ms: int = 150
    every_setting: bool = False
    profiles_dir: Path | None = None


Scan = Callable[[ProgressCallback], Coroutine[Any, Any, ScanReport]]


def run_scan(options: ScanOptions, out: Console, err: Console, *, as_json: bool) -> int:
    try:
        profiles = list(load_profiles(options.profiles_dir or default_profiles_dir()).values())
        scan = plan_scan(options, profiles)
    except ValueError as exc:  # UsageError included
        err.print(f"[red]cannot scan[/red]: {escape(str(exc))}")
        return UNUSABLE
    except ConfigError as exc:
        err.print(f"[red]profile error[/red] {escape(str(exc))}")
        return UNUSABLE
    try:
        report = _with_progress(scan, err)
    except BusUnavailable as exc:
        err.print(f"[red]cannot scan[/red]: {escape(exc.reason)}")
        return UNUSABLE
    for problem in report.problems:
        err.print(f"[yellow]warning[/yellow]: {escape(problem)}")
    if as_json:
        out.out(json.dumps(report_json(report), indent=2), highlight=False)
    else:
        out.print(report_table(report))
    return FOUND if report.found else NOBODY


def plan_scan(options: ScanOptions, profiles: list[Profile]) -> Scan:
    """The scan the options describe, ready to run; ``UsageError``/``ValueError`` if none."""
    if (options.port is None) == (not options.tcp):
        raise UsageError("give either --port (a serial line) or --tcp (one or more endpoints)")
    Recogniser(profiles)  # a profile set nothing can be recognised by fails here, not mid-scan
    if options.tcp:
        return _tcp_scan(options, profiles)
    assert options.port is not None
    port = options.port
    units = parse_units(options.units or "1-247")
    settings = line_settings(options, profiles)

    def run(progress: ProgressCallback) -> Coroutine[Any, Any, ScanReport]:
        return scan_serial(
            port,
            settings,
            units,
            timeout_ms=options.timeout_ms,
            profiles=profiles,
            lock=not options.every_setting,
            progress=progress,
        )

    return run


def _tcp_scan(options: ScanOptions, profiles: list[Profile]) -> Scan:
    if options.baud or options.parity or options.stopbits or options.every_setting:
        raise UsageError("--baud, --parity, --stopbits and --every-setting are for --port")
    endpoints = [parse_endpoint(text) for text in options.tcp]
    units = parse_units(options.units or "1-247", TCP_UNITS)

    def run(progress: ProgressCallback) -> Coroutine[Any, Any, ScanReport]:
        return scan_tcp(
            endpoints, units, timeout_ms=options.timeout_ms, profiles=profiles, progress=progress
        )

    return run


def line_settings(options: ScanOptions, profiles: list[Profile]) -> list[LineSettings]:
    """The settings to try: the profiles' factory settings, or every combination asked for
    (an option left out takes the values the factory settings use)."""
    factory = factory_settings(profiles)
    if options.baud is None and options.parity is None and options.stopbits is None:
        return factory
    bauds = parse_bauds(options.baud) if options.baud else _distinct(s.baudrate for s in factory)
    parities: list[Parity] = (
        parse_parities(options.parity) if options.parity else _distinct(s.parity for s in factory)
    )
    stopbits: list[StopBits] = parse_stopbits(options.stopbits) if options.stopbits else [1]
    return settings_product(bauds, parities, stopbits)


def _distinct(values: Iterable[T]) -> list[T]:
    return list(dict.fromkeys(values))


def _with_progress(scan: Scan, err: Console) -> ScanReport:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        tasks: dict[str, TaskID] = {}
        found: dict[str, int] = {}

        def advance(event: ScanProgress) -> None:
            if event.bus not in tasks:
                tasks[event.bus] = bar.add_task(event.bus, total=event.total)
            found[event.bus] = found.get(event.bus, 0) + (event.found is not None)
            description = f"{event.bus}: {found[event.bus]} found"
            bar.update(tasks[event.bus], completed=event.done, description=description)

        return asyncio.run(scan(advance))
