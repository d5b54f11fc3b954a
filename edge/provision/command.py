"""What ``eclor edge provision`` does with its flags: answers, the flow, the report, the exit code.

Exit codes: 0 PASS; 1 the self-test failed (the config is installed; the report says why);
2 the answers, flags or existing config are not usable; 3 the cloud could not be used (refused
token, unreachable, rate limited): nothing was written.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from eclor.errors import ConfigError
from edge.errors import CloudApiError, ProvisionError
from edge.provision.flow import Options, provision
from edge.provision.report import render, to_json
from edge.scan.options import parse_endpoint

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_CLOUD = 0, 1, 2, 3


@dataclass(frozen=True)
class Flags:
    """The command line, as typed; ``None`` means "not given"."""

    gateway_id: str | None = None
    site: str | None = None
    commune: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    api_url: str | None = None
    token: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    serial: list[str] = field(default_factory=list)
    baudrate: int | None = None
    parity: str | None = None
    tcp: list[str] = field(default_factory=list)
    units: str | None = None
    poll_interval_s: float | None = None
    tags: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    self_test_timeout_s: float | None = None
    health_port: int | None = None


def overrides(flags: Flags) -> dict[str, Any]:
    """Flags as an answers document to merge over the answers file (``ValueError`` if bad)."""
    doc: dict[str, Any] = {}
    gateway = {
        "id": flags.gateway_id,
        "site": flags.site,
        "commune": flags.commune,
        "latitude": flags.latitude,
        "longitude": flags.longitude,
    }
    ca_file = None if flags.ca_file is None else flags.ca_file.resolve()  # typed from here
    cloud = {"api_url": flags.api_url, "token": flags.token, "ca_file": ca_file}
    for key, section in (("gateway", gateway), ("cloud", cloud)):
        given = {k: v for k, v in section.items() if v is not None}
        if given:
            doc[key] = given
    buses = _serial_buses(flags) + _tcp_buses(flags)
    if buses:
        doc["buses"] = buses
    devices = _devices(flags)
    if devices:
        doc["devices"] = devices
    if flags.units is not None:
        doc["units"] = flags.units
    if flags.self_test_timeout_s is not None:
        doc["self_test_timeout_s"] = flags.self_test_timeout_s
    if flags.health_port is not None:
        doc["health_port"] = flags.health_port
    return doc


def _serial_buses(flags: Flags) -> list[dict[str, Any]]:
    buses = []
    for i, port in enumerate(flags.serial):
        bus: dict[str, Any] = {"kind": "rtu", "name": "rs485" if i == 0 else f"rs485-{i + 1}"}
        bus.update(port=port, baudrate=flags.baudrate, parity=flags.parity)
        buses.append({k: v for k, v in bus.items() if v is not None})
    return buses


def _tcp_buses(flags: Flags) -> list[dict[str, Any]]:
    buses = []
    for endpoint in flags.tcp:
        host, port = parse_endpoint(endpoint)
        buses.append({"kind": "tcp", "host": host, "port": port})
    return buses


def _devices(flags: Flags) -> dict[str, Any]:
    devices: dict[str, Any] = {}
    if flags.poll_interval_s is not None:
        devices["poll_interval_s"] = flags.poll_interval_s
    if flags.tags:
        pairs = [tag.partition("=") for tag in flags.tags]
        bad = [key for key, sep, _ in pairs if not sep]
        if bad:
            raise ValueError(f"--tag takes key=value, got {bad[0]!r}")
        devices["tags"] = {key: value for key, _, value in pairs}
    if flags.exclude:
        devices["exclude"] = list(flags.exclude)
    return devices


def run(
    config: Path,
    answers_file: Path | None,
    flags: Flags,
    interactive: bool | None,
    report_json: Path | None,
    console: Console,
    err: Console,
) -> int:
    """Run provisioning; print progress and the report on ``console``, errors on ``err``."""
    _quiet_logs()
    try:
        options = Options(
            config=config,
            answers_file=answers_file,
            overrides=overrides(flags),
            interactive=sys.stdin.isatty() if interactive is None else interactive,
        )
        report = asyncio.run(provision(options, console))
    except (ValueError, ConfigError, ProvisionError, OSError, EOFError) as exc:
        code = EXIT_CLOUD if isinstance(exc, CloudApiError) else EXIT_USAGE
        err.print(f"[red]provisioning stopped[/red]: {escape(str(exc))}", highlight=False)
        if isinstance(exc, CloudApiError):
            err.print("nothing was written: the working config and password file are unchanged")
        _write_json(report_json, {"result": "ERROR", "error": str(exc), "exit_code": code}, err)
        return code
    render(report, console)
    _write_json(report_json, to_json(report), err)
    return EXIT_PASS if report.passed else EXIT_FAIL


def _write_json(path: Path | None, doc: dict[str, Any], err: Console) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        err.print(f"[red]cannot write the JSON report[/red] {path}: {exc.strerror}")


def _quiet_logs() -> None:
    """Errors only on the terminal (the report says what went wrong); warnings are still made,
    for the self-test to collect."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.ERROR)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
