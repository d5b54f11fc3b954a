"""Finding and identifying Modbus devices: ``eclor edge scan`` and its Python API.

For a technician in a cabinet, and for provisioning, which calls the same functions::

    report = await scan_serial("/dev/ttyUSB0", units=range(1, 33))
    for found in report.found:
        if found.best is not None:          # None when unsure or ambiguous: ask the technician
            print(found.bus, found.unit, found.best.model, found.best.confidence)

    report = await scan_tcp([("10.0.0.5", 502)], units=[1, 2, 3])
    candidates = await identify(bus, unit=1, profiles=profiles)   # one unit on an open ModbusBus

Modules, one job each: :mod:`~edge.scan.options` (what to scan), :mod:`~edge.scan.signatures`
(a profile's ``identify:`` entries as reads), :mod:`~edge.scan.reader` (the reads sent to one
unit), :mod:`~edge.scan.confidence` (scoring), :mod:`~edge.scan.identify` (one unit),
:mod:`~edge.scan.serial_scan` and :mod:`~edge.scan.tcp_scan` (a range of units),
:mod:`~edge.scan.results`, :mod:`~edge.scan.report` (table, JSON), :mod:`~edge.scan.command`
(the CLI). The rules are in ``docs/edge.md``, "Scanning a bus".
"""

from edge.scan.confidence import MIN_CONFIDENCE, Candidate, Check, Outcome
from edge.scan.identify import Identification, Recogniser, identify
from edge.scan.options import LineSettings, factory_settings
from edge.scan.report import report_json, report_table
from edge.scan.results import Found, Reading, ScanProgress, ScanReport
from edge.scan.serial_scan import scan_serial
from edge.scan.sweep import open_bus
from edge.scan.tcp_scan import scan_tcp

__all__ = [
    "MIN_CONFIDENCE",
    "Candidate",
    "Check",
    "Found",
    "Identification",
    "LineSettings",
    "Outcome",
    "Reading",
    "Recogniser",
    "ScanProgress",
    "ScanReport",
    "factory_settings",
    "identify",
    "open_bus",
    "report_json",
    "report_table",
    "scan_serial",
    "scan_tcp",
]
