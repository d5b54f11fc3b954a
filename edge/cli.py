"""``eclor edge``: commands a technician runs on a gateway."""

from __future__ import annotations

import asyncio
import json
import signal
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from eclor.errors import ConfigError
from eclor.versions import eclor_version, version_table
from eclor.wire import CONTRACT_VERSION

app = typer.Typer(help="Run, inspect and provision a gateway agent.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

_DRIVERS = ["pymodbus", "pyserial", "paho-mqtt", "python-dali", "serialx", "astral"]
ConfigOption = typer.Option(..., "--config", "-c", help="gateway config YAML", exists=False)


@app.callback()
def _group() -> None:
    """Run, inspect and provision a gateway agent."""


@app.command()
def info() -> None:
    """Show the agent's version, wire contract and driver libraries."""
    table = Table(title=f"eclor edge {eclor_version()}, wire contract v{CONTRACT_VERSION}")
    table.add_column("library")
    table.add_column("version")
    for name, ver in version_table(_DRIVERS):
        table.add_row(name, ver)
    console.print(table)


def _load(config: Path) -> Any:
    from edge.config import load_gateway_config

    try:
        return load_gateway_config(config)
    except ConfigError as exc:
        err.print(f"[red]config error[/red] {exc}")
        raise typer.Exit(2) from None


@app.command("check-config")
def check_config(config: Path = ConfigOption) -> None:
    """Validate a gateway config and its profiles; print the read plan per device."""
    from edge.modbus.planner import plan_reads

    loaded = _load(config)
    table = Table(title=f"{loaded.config.gateway.id}: config OK")
    for column in ("device", "profile", "bus", "unit", "every", "requests per poll"):
        table.add_column(column)
    for device in loaded.config.devices:
        profile = loaded.profiles[device.profile]
        unit = device.unit if device.unit is not None else profile.default_unit_id
        table.add_row(
            device.id,
            device.profile,
            device.bus,
            str(unit),
            f"{device.poll_interval_s:g} s",
            str(len(plan_reads(profile))),
        )
    console.print(table)


@app.command()
def run(
    config: Path = ConfigOption,
    log_level: str = typer.Option("INFO", help="DEBUG, INFO, WARNING or ERROR"),
    plain_logs: bool = typer.Option(False, help="human-readable logs instead of JSON lines"),
) -> None:
    """Run the agent until SIGTERM or SIGINT."""
    from eclor.logs import configure
    from edge.agent import EdgeAgent

    loaded = _load(config)
    configure(log_level, json_lines=not plain_logs)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await EdgeAgent(loaded).run(stop)

    asyncio.run(main())


@app.command()
def status(config: Path = ConfigOption) -> None:
    """Show the running agent's health: link, outbox, every device."""
    loaded = _load(config)
    health = loaded.config.health
    if health.port is None:
        err.print("the health endpoint is off in this config (health.port: null)")
        raise typer.Exit(2)
    url = f"http://{health.host}:{health.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            doc = json.loads(response.read())
    except (urllib.error.URLError, OSError) as exc:
        err.print(f"[red]no agent answers on {url}[/red]: {exc}. Is `eclor edge run` running?")
        raise typer.Exit(1) from None
    _print_status(doc)


def _print_status(doc: dict[str, Any]) -> None:
    outbox = doc.get("outbox") or {}
    link = "[green]connected[/green]" if doc.get("mqtt_connected") else "[red]not connected[/red]"
    console.print(f"gateway [bold]{doc['gateway']}[/bold] {doc.get('version', '')}: broker {link}")
    age = outbox.get("oldest_age_s")
    console.print(
        f"outbox: {outbox.get('rows', 0)} batches, {outbox.get('bytes', 0)} bytes awaiting ack, "
        f"oldest {'-' if age is None else f'{age:.0f} s'}, evicted {outbox.get('evicted', 0)}"
    )
    table = Table(title="devices")
    for column in ("device", "state", "last ok (UTC)", "errors", "detail"):
        table.add_column(column)
    colours = {"ok": "green", "degraded": "yellow", "unreachable": "red", "unknown": "dim"}
    for name, dev in sorted(doc.get("devices", {}).items()):
        state = dev["state"]
        last = dev.get("last_ok")
        when = "-" if last is None else _utc(last)
        table.add_row(
            name,
            f"[{colours.get(state, 'white')}]{state}[/]",
            when,
            str(dev.get("errors", 0)),
            dev.get("detail", ""),
        )
    console.print(table)


def _utc(ms: int) -> str:
    from eclor.clock import from_epoch_ms

    return from_epoch_ms(ms).strftime("%Y-%m-%d %H:%M:%S")


@app.command()
def scan(
    port: str | None = typer.Option(None, help="serial line, e.g. /dev/ttyUSB0"),
    tcp: list[str] = typer.Option(
        [], "--tcp", help="HOST[:PORT] of a Modbus TCP gateway or device (port 502); repeatable"
    ),
    baud: str | None = typer.Option(
        None, help="baud rates to try, e.g. 9600,19200 [default: the profiles' factory settings]"
    ),
    parity: str | None = typer.Option(None, help="parities to try: N, E, O, e.g. N,E"),
    stopbits: str | None = typer.Option(None, help="stop bits to try: 1, 2 or 1,2 [default: 1]"),
    units: str | None = typer.Option(
        None, help="unit ids, e.g. 1-247 or 1,2,10-20 [default: 1-247; TCP also takes 0 and 255]"
    ),
    timeout_ms: int = typer.Option(
        150, "--timeout-ms", min=20, max=30_000, help="per request; a silent unit costs one"
    ),
    every_setting: bool = typer.Option(
        False, help="keep trying every line setting after one got answers (mixed-setting lines)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON on stdout"),
    profiles: Path | None = typer.Option(None, help="profile folder [default: the shipped ones]"),
) -> None:
    """Find the Modbus devices on a serial line or behind TCP endpoints and identify them."""
    from edge.scan.command import ScanOptions, run_scan

    options = ScanOptions(
        port, tcp, baud, parity, stopbits, units, timeout_ms, every_setting, profiles
    )
    raise typer.Exit(run_scan(options, console, err, as_json=as_json))


@app.command()
def provision(
    config: Path = typer.Option(
        Path("/etc/eclor/gateway.yaml"), "--config", "-c", help="gateway config to write"
    ),
    answers: Path | None = typer.Option(None, help="answers YAML (see docs/edge.md)"),
    interactive: bool | None = typer.Option(
        None, "--interactive/--non-interactive", help="[default: interactive on a terminal]"
    ),
    gateway_id: str | None = typer.Option(None, help="gateway id, e.g. cab-thil-04"),
    site: str | None = typer.Option(None, help="site id [default: the gateway id]"),
    commune: str | None = typer.Option(None),
    latitude: float | None = typer.Option(None, min=-90, max=90, help="WGS84 degrees"),
    longitude: float | None = typer.Option(None, min=-180, max=180, help="WGS84 degrees"),
    api_url: str | None = typer.Option(None, help="cloud API, e.g. https://api.eclor.example"),
    token: str | None = typer.Option(
        None, envvar="ECLOR_ENROL_TOKEN", help="one-time enrolment token; none: keep credentials"
    ),
    ca_file: Path | None = typer.Option(None, help="CA of the broker's TLS certificate"),
    serial: list[str] = typer.Option([], help="serial line to scan, e.g. /dev/ttyUSB0"),
    baudrate: int | None = typer.Option(None, help="for --serial [default: try the profiles']"),
    parity: str | None = typer.Option(None, help="N, E or O, for --serial"),
    tcp: list[str] = typer.Option([], help="HOST[:PORT] of a Modbus TCP endpoint to scan"),
    units: str | None = typer.Option(None, help="unit ids to scan, e.g. 1-16 [default: 1-247]"),
    poll_interval: float | None = typer.Option(None, help="seconds, for new devices [10]"),
    tag: list[str] = typer.Option([], help="KEY=VALUE tag for new devices; repeatable"),
    exclude: list[str] = typer.Option([], help="BUS:UNIT or device id to leave out"),
    self_test_timeout: float | None = typer.Option(None, help="seconds [60]"),
    health_port: int | None = typer.Option(None, help="the agent's /healthz port [9108]"),
    report_json: Path | None = typer.Option(None, help="also write the report as JSON"),
) -> None:
    """Set up this gateway: scan, write the config, enrol with the cloud, self-test, report."""
    from edge.provision.command import Flags
    from edge.provision.command import run as run_provision

    flags = Flags(
        gateway_id, site, commune, latitude, longitude, api_url, token, ca_file, serial,
        baudrate, parity, tcp, units, poll_interval, tag, exclude, self_test_timeout,
        health_port,
    )  # fmt: skip
    code = run_provision(config, answers, flags, interactive, report_json, console, err)
    raise typer.Exit(code)
