"""``eclor sim``: serve a simulated territory, or write its history.

``eclor sim run --scenario demo`` serves every device of the scenario and prints where (a table,
or with ``--json`` one JSON document on one line for scripts), until SIGINT/SIGTERM or ``--for``
seconds. ``eclor sim backfill --scenario ccphva --days 7 --out history.jsonl`` writes the readings
an edge would have produced over those days, one wire Reading per line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from eclor.clock import ScaledClock
from eclor.errors import ConfigError
from simulators.scenario import Scenario, load_scenario

app = typer.Typer(
    help="Serve the simulated territory (Modbus and DALI devices) or write its history.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

ScenarioOption = Annotated[
    str, typer.Option("--scenario", "-s", help="A packaged scenario name (demo, ccphva) or a path.")
]


def _scenario(name: str, seed: int | None) -> Scenario:
    try:
        scenario = load_scenario(name)
    except ConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    return scenario if seed is None else scenario.model_copy(update={"seed": seed})


def _moment(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint=option) from error
    if moment.tzinfo is None:
        raise typer.BadParameter(f"{text!r} needs its UTC offset, e.g. +01:00", param_hint=option)
    return moment


@app.command()
def run(
    scenario: ScenarioOption = "demo",
    speed: Annotated[
        float, typer.Option(min=0.001, help="Simulated seconds per real second.")
    ] = 1.0,
    json_output: Annotated[bool, typer.Option("--json", help="Print endpoints as JSON.")] = False,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    base_port: Annotated[int, typer.Option(min=0, max=65535, help="0: free ports.")] = 0,
    for_s: Annotated[
        float | None, typer.Option("--for", min=0, help="Stop after this many real seconds.")
    ] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Override the scenario's seed.")] = None,
    start: Annotated[
        str | None, typer.Option(help="Simulated start, ISO 8601 with offset (default: now).")
    ] = None,
) -> None:
    """Serve every device of a scenario until SIGINT/SIGTERM or --for seconds."""
    chosen = _scenario(scenario, seed)
    begin = _moment(start, "--start") or chosen.start
    try:
        asyncio.run(_serve(chosen, begin, host, base_port, speed, json_output, for_s))
    except OSError as error:
        typer.echo(f"error: cannot serve {chosen.name}: {error}", err=True)
        raise typer.Exit(1) from error


async def _serve(
    scenario: Scenario,
    begin: datetime | None,
    host: str,
    base_port: int,
    speed: float,
    json_output: bool,
    for_s: float | None,
) -> None:
    from simulators.runner import start_territory

    with _stop_signals() as stop:  # before printing: a script may signal as soon as it reads
        clock = ScaledClock(begin or datetime.now(UTC), speed)
        running = await start_territory(
            scenario, clock, host=host, base_port=base_port, speed=speed
        )
        try:
            if json_output:
                sys.stdout.write(json.dumps(running.as_dict(), ensure_ascii=False) + "\n")
                sys.stdout.flush()
            else:
                _print_table(running.as_dict(), speed)
            await _until_stopped(stop, for_s, running.model_task)
        finally:
            await running.stop()


@contextlib.contextmanager
def _stop_signals() -> Iterator[asyncio.Event]:
    """An event set by SIGINT or SIGTERM while the block runs."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        yield stop
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _until_stopped(
    stop: asyncio.Event, for_s: float | None, model: asyncio.Task[None]
) -> None:
    """Wait for ``stop`` or ``for_s`` seconds; re-raise if the model task failed."""
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({stopped, model}, timeout=for_s, return_when=asyncio.FIRST_COMPLETED)
        if model.done():
            model.result()  # the model never ends by itself: surface its exception
    finally:
        stopped.cancel()


def _print_table(document: dict[str, Any], speed: float) -> None:
    console = Console()
    table = Table(title=f"Scenario {document['scenario']} — from {document['start']}, ×{speed:g}")
    for column in ("gateway", "commune", "bus", "endpoint", "units"):
        table.add_column(column)
    devices = 0
    for gateway in document["gateways"]:
        rtu = gateway["bus"] == "rtu"
        where = gateway["port"] if rtu else f"{gateway['host']}:{gateway['port']}"
        units = ", ".join(f"{d['unit']} {d['id']} ({d['model']})" for d in gateway["devices"])
        table.add_row(gateway["id"], gateway["commune"], gateway["bus"], str(where), units)
        devices += len(gateway["devices"])
    for line in document["dali"]:
        where = f"{line['host']}:{line['port']}  {line['uri'] or ''}"
        units = f"DALI line {line['line']}, {line['gear']} gear"
        table.add_row(line["gateway"], "", "dali", where, units)
    console.print(table)
    console.print(
        f"{devices} Modbus devices on {len(document['gateways'])} endpoints, "
        f"{len(document['dali'])} DALI line(s). Ctrl-C to stop."
    )


@app.command()
def backfill(
    scenario: ScenarioOption,
    days: Annotated[float, typer.Option(min=0.001, help="How many days of history.")],
    out: Annotated[Path, typer.Option(help="Output file: JSON lines (.gz to compress).")],
    end: Annotated[
        str | None, typer.Option(help="End of the history, ISO 8601 with offset (default: now).")
    ] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Override the scenario's seed.")] = None,
    step: Annotated[
        float | None, typer.Option(min=1, help="Poll interval, s (default: the scenario's).")
    ] = None,
    profiles: Annotated[
        Path | None, typer.Option(help="Device profile folder (default: the shipped one).")
    ] = None,
) -> None:
    """Write DAYS of the readings an edge would have produced, ending at END."""
    from simulators.backfill import backfill as run_backfill

    chosen = _scenario(scenario, seed)
    finish = _moment(end, "--end") or datetime.now(UTC).replace(second=0, microsecond=0)
    console = Console(stderr=True)
    began = time.monotonic()
    columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"{chosen.name}, {days:g} days", total=None)
        try:
            result = run_backfill(
                chosen,
                finish,
                days,
                out,
                profiles_dir=profiles,
                step_s=step,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except ConfigError as error:
            console.print(f"error: {error}")
            raise typer.Exit(2) from error
    elapsed = time.monotonic() - began
    zone = finish.tzinfo
    console.print(
        f"{result.readings} readings over {result.steps} steps "
        f"({result.start.astimezone(zone).isoformat()} → {result.end.astimezone(zone).isoformat()})"
        f" in {elapsed:.1f} s → {out}"
    )
    for profile, fields in result.unknown_fields.items():
        console.print(f"warning: {profile}: fields not produced by the backfill: {fields}")
