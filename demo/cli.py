"""``eclor demo``."""

from __future__ import annotations

import asyncio
import json
import signal
import tempfile
from pathlib import Path

import typer
from rich.console import Console

app = typer.Typer(add_completion=False)


@app.command()
def demo(
    for_: float = typer.Option(None, "--for", help="stop by itself after this many seconds"),
    scenario: str = typer.Option(
        "demo", help="simulated territory: demo or ccphva, or a YAML path"
    ),
    api_port: int = typer.Option(8080, help="operator API port (0: any free port)"),
    influx_url: str = typer.Option(None, help="store in this InfluxDB (v1 API) instead of SQLite"),
    workdir: Path = typer.Option(None, help="keep files here (default: a temporary folder)"),
    speed: float = typer.Option(1.0, help="simulated time runs this many times faster"),
    embedded_broker: bool = typer.Option(
        False, help="use the embedded Python broker even when Mosquitto is installed"
    ),
    log_level: str = typer.Option("WARNING"),
) -> None:
    """Run the whole chain on this machine: simulated territory, edge agents, broker, cloud, API."""
    from demo.run import Demo, DemoOptions
    from eclor.logs import configure

    configure(log_level, json_lines=False)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="eclor-demo-") as tmp:
        folder = workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        options = DemoOptions(folder, scenario, for_, api_port, influx_url, speed, embedded_broker)

        async def main() -> dict[str, object]:
            runner = Demo(options, console)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, runner.stopped.set)
            return await runner.run()

        summary = asyncio.run(main())
    console.print()
    console.print("final: " + json.dumps(summary))
