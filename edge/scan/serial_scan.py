"""Scanning a serial line: every unit of a range, trying line settings until one gets answers.

Every device on one RS-485 line must run the line's setting, so once a unit answers at a setting,
the rest of the range is scanned at that setting only (``lock=True``, the default); the units
before it were tried at every setting, so none is skipped. Without the lock, each unit is tried at
each setting until it answers: slower, and only useful to find a device left at another setting.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterable, Sequence

from edge.errors import BusUnavailable
from edge.modbus.bus import ModbusBus
from edge.profiles import Profile
from edge.scan.identify import Recogniser
from edge.scan.options import SERIAL_UNITS, LineSettings, bus_name, factory_settings
from edge.scan.results import Found, ProgressCallback, ScanProgress, ScanReport
from edge.scan.sweep import examine, open_bus, shipped_profiles

ALL_UNITS = range(SERIAL_UNITS[0], SERIAL_UNITS[1] + 1)


async def scan_serial(
    port: str,
    settings: Sequence[LineSettings] | None = None,
    units: Iterable[int] = ALL_UNITS,
    *,
    timeout_ms: int = 150,
    profiles: Iterable[Profile] | None = None,
    lock: bool = True,
    progress: ProgressCallback | None = None,
) -> ScanReport:
    """Scan ``units`` on the serial ``port`` and identify whoever answers.

    ``settings`` default to the profiles' factory settings. Raises :class:`BusUnavailable` when
    the port cannot be used at all; a setting the port refuses, or a line lost mid-scan, is a
    problem in the report, which keeps what was found.
    """
    check_port(port)
    chosen = list(shipped_profiles() if profiles is None else profiles)
    recogniser = Recogniser(chosen)
    line = SerialLine(port, timeout_ms)
    report = ScanReport()
    started = time.monotonic()
    sweep = _Sweep(line, recogniser, list(settings or factory_settings(chosen)), lock)
    try:
        await sweep.run(list(units), report, progress)
    except BusUnavailable as exc:
        if not line.opened:
            raise
        report.problems.append(f"scan stopped: {exc.reason}")
    finally:
        await line.close()
        report.requests, report.timeouts = line.requests, line.timeouts
        report.problems[:0] = list(line.refused.values())
        report.elapsed_s = time.monotonic() - started
    return report


def check_port(port: str) -> None:
    """Fail early, with the system's reason, when the port cannot be opened at all."""
    try:
        fd = os.open(port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as exc:
        hint = " (is this user in the dialout group?)" if exc.errno == errno.EACCES else ""
        reason = f"cannot open {port}: {exc.strerror}{hint}"
        raise BusUnavailable(bus_name(port), None, reason) from None
    try:
        is_serial = os.isatty(fd)
    finally:
        os.close(fd)
    if not is_serial:
        raise BusUnavailable(bus_name(port), None, f"cannot open {port}: not a serial port")


class SerialLine:
    """One serial port, open at one setting at a time; remembers the settings it refused."""

    def __init__(self, port: str, timeout_ms: int) -> None:
        self.port = port
        self.timeout_ms = timeout_ms
        self.refused: dict[LineSettings, str] = {}
        self.opened = False
        self.requests = 0
        self.timeouts = 0
        self._bus: ModbusBus | None = None
        self._setting: LineSettings | None = None

    async def at(self, setting: LineSettings) -> ModbusBus | None:
        """The line at ``setting``, reopened if needed; ``None`` if the port refuses it."""
        if setting in self.refused:
            return None
        if self._bus is not None and self._setting == setting:
            return self._bus
        await self.close()
        try:
            self._bus = await open_bus(setting.bus(self.port, self.timeout_ms))
        except BusUnavailable as exc:
            self.refused[setting] = exc.reason
            return None
        self._setting, self.opened = setting, True
        return self._bus

    async def close(self) -> None:
        if self._bus is None:
            return
        self.requests += self._bus.requests
        self.timeouts += self._bus.timeouts
        await self._bus.close()
        self._bus = self._setting = None


class _Sweep:
    def __init__(
        self, line: SerialLine, recogniser: Recogniser, tries: list[LineSettings], lock: bool
    ) -> None:
        self.line = line
        self.recogniser = recogniser
        self.tries = tries
        self.lock = lock

    async def run(
        self, units: list[int], report: ScanReport, progress: ProgressCallback | None
    ) -> None:
        for done, unit in enumerate(units, 1):
            found = await self._find(unit)
            if found is not None:
                report.found.append(found)
            if progress is not None:
                progress(ScanProgress(self.line.port, done, len(units), found))

    async def _find(self, unit: int) -> Found | None:
        for setting in self.tries:
            bus = await self.line.at(setting)
            if bus is None:
                continue
            found = await examine(bus, unit, self.recogniser)
            if found is not None:
                if self.lock:
                    self.tries = [setting]
                return found
        if all(setting in self.line.refused for setting in self.tries):
            reasons = "; ".join(self.line.refused[s] for s in self.tries)
            raise BusUnavailable(bus_name(self.line.port), None, reasons)
        return None
