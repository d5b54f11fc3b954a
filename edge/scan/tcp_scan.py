"""Scanning Modbus TCP endpoints: gateways in front of a serial line, or plain TCP devices.

Endpoints are scanned concurrently, units on one endpoint one after the other (a gateway has one
serial line behind it). A gateway answers exception 0A/0B for a unit id with nobody behind it,
which counts as "nobody" at once, without waiting for a timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence

from edge.config import TcpBus
from edge.errors import BusUnavailable
from edge.profiles import Profile
from edge.scan.identify import Recogniser
from edge.scan.options import tcp_bus
from edge.scan.results import ProgressCallback, ScanProgress, ScanReport, bus_label
from edge.scan.serial_scan import ALL_UNITS
from edge.scan.sweep import examine, open_bus, recogniser_for


async def scan_tcp(
    endpoints: Sequence[tuple[str, int]],
    units: Iterable[int] = ALL_UNITS,
    *,
    timeout_ms: int = 150,
    profiles: Iterable[Profile] | None = None,
    progress: ProgressCallback | None = None,
) -> ScanReport:
    """Scan ``units`` on each ``(host, port)`` and identify whoever answers.

    Raises :class:`BusUnavailable` when no endpoint can be reached; an endpoint that cannot, or
    that drops the connection mid-scan, is a problem in the report.
    """
    recogniser = recogniser_for(profiles)
    chosen = list(units)
    started = time.monotonic()
    parts = await asyncio.gather(
        *(
            _scan_endpoint(tcp_bus(host, port, timeout_ms), chosen, recogniser, progress)
            for host, port in endpoints
        )
    )
    report = ScanReport()
    for part, _ in parts:
        report.merge(part)
    report.elapsed_s = time.monotonic() - started
    if endpoints and not any(opened for _, opened in parts):
        raise BusUnavailable("tcp", None, "; ".join(report.problems))
    return report


async def _scan_endpoint(
    config: TcpBus, units: list[int], recogniser: Recogniser, progress: ProgressCallback | None
) -> tuple[ScanReport, bool]:
    report = ScanReport()
    try:
        bus = await open_bus(config)
    except BusUnavailable as exc:
        report.problems.append(exc.reason)
        return report, False
    label = bus_label(config)
    try:
        for done, unit in enumerate(units, 1):
            found = await examine(bus, unit, recogniser)
            if found is not None:
                report.found.append(found)
            if progress is not None:
                progress(ScanProgress(label, done, len(units), found))
    except BusUnavailable as exc:
        report.problems.append(f"{label}: scan stopped: {exc.reason}")
    finally:
        report.requests, report.timeouts = bus.requests, bus.timeouts
        await bus.close()
    return report, True
