"""``eclor sim``: serve the demo territory in a real process and read it with real clients."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from typer.testing import CliRunner

from eclor.cli import app
from eclor.wire import Reading

ECLOR = [sys.executable, "-c", "from eclor.cli import main; main()"]
STARTUP_TIMEOUT_S = 30.0


@asynccontextmanager
async def sim_run(*args: str) -> AsyncIterator[tuple[asyncio.subprocess.Process, dict[str, Any]]]:
    """``eclor sim run --json …`` in a child process; yields it and its endpoint document."""
    process = await asyncio.create_subprocess_exec(
        *ECLOR,
        "sim",
        "run",
        "--json",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), STARTUP_TIMEOUT_S)
        if not line:
            assert process.stderr is not None
            raise AssertionError((await process.stderr.read()).decode())
        yield process, json.loads(line)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def gateway(document: dict[str, Any], gateway_id: str) -> dict[str, Any]:
    return next(g for g in document["gateways"] if g["id"] == gateway_id)


@pytest.mark.integration
async def test_run_prints_endpoints_and_a_modbus_client_reads_a_voltage() -> None:
    async with sim_run("--scenario", "demo", "--for", "3") as (process, document):
        assert document["scenario"] == "demo"
        cabinet = gateway(document, "vil-c001")
        meter = next(d for d in cabinet["devices"] if d["id"] == "meter")
        assert (meter["model"], meter["profile"], meter["unit"]) == ("sdm630", "eastron-sdm630", 1)
        client = AsyncModbusTcpClient(meter["host"], port=meter["port"], timeout=2)
        await client.connect()
        try:
            reply = await client.read_input_registers(0x0000, count=2, device_id=meter["unit"])
            assert not reply.isError()
            volts = client.convert_from_registers(reply.registers, client.DATATYPE.FLOAT32)
            frequency = await client.read_input_registers(0x0046, count=2, device_id=1)
            hertz = client.convert_from_registers(frequency.registers, client.DATATYPE.FLOAT32)
        finally:
            client.close()
        assert isinstance(volts, float)
        assert 215.0 < volts < 245.0
        assert isinstance(hertz, float)
        assert 49.9 < hertz < 50.1
        assert await asyncio.wait_for(process.wait(), 15) == 0  # --for 3 ends it


@pytest.mark.integration
async def test_every_endpoint_of_the_demo_is_listed_and_rtu_answers_on_its_pty() -> None:
    async with sim_run("--scenario", "demo", "--for", "10", "--seed", "3") as (_, document):
        assert [g["id"] for g in document["gateways"]] == [
            "vil-c001",
            "vil-c002",
            "aud-c001",
            "vil-dech",
        ]
        assert len({g["port"] for g in document["gateways"]}) == 4  # one endpoint each
        (dali,) = document["dali"]
        assert (dali["gateway"], dali["gear"]) == ("vil-c001", 4)
        assert dali["uri"].startswith("luba232:/dev/")
        rtu = gateway(document, "aud-c001")
        assert rtu["bus"] == "rtu"
        client = AsyncModbusSerialClient(rtu["port"], baudrate=9600, timeout=2)
        await client.connect()
        try:
            reply = await client.read_input_registers(0x0000, count=2, device_id=1)  # EM24 V L1
            controller = await client.read_input_registers(0x0000, count=3, device_id=2)
        finally:
            client.close()
        assert not reply.isError()
        assert 2150 < reply.registers[0] < 2450  # ×0.1 V, least significant word first
        assert controller.registers == [0xEC30, 1, 1]  # type code, map version, one circuit


@pytest.mark.integration
async def test_sigterm_stops_it_cleanly() -> None:
    async with sim_run("--scenario", "demo") as (process, _):
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 15) == 0


@pytest.mark.integration
def test_a_bad_scenario_is_reported_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ngateways: []\n", encoding="utf-8")
    done = subprocess.run(
        [*ECLOR, "sim", "run", "--scenario", str(bad), "--for", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "bad.yaml: gateways = []" in done.stderr
    assert "Traceback" not in done.stderr


def test_backfill_command_writes_readings(tmp_path: Path) -> None:
    out = tmp_path / "demo.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "sim",
            "backfill",
            "--scenario",
            "demo",
            "--days",
            "0.05",
            "--out",
            str(out),
            "--end",
            "2026-11-28T23:00:00+01:00",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = out.read_bytes().splitlines()
    assert len(lines) > 72 * 5
    first = msgspec.json.decode(lines[0], type=Reading)
    assert first.tags["gateway"] == "vil-c001"


def test_backfill_refuses_a_naive_end(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "sim",
            "backfill",
            "--scenario",
            "demo",
            "--days",
            "1",
            "--out",
            str(tmp_path / "x.jsonl"),
            "--end",
            "2026-11-28T23:00:00",
        ],
    )
    assert result.exit_code == 2
    assert "UTC offset" in result.output
