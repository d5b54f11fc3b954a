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
