"""`eclor edge scan` as a technician and a script run it: the table, `--json`, exit codes, and
errors that are one line, not a traceback.

The command runs its own event loop, so the simulated devices live on a loop in a thread.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import pytest
from typer.testing import CliRunner

from eclor.cli import app
from simulators.modbus import CabinetController, Iem3155, ModbusDevice, Sdm630, serve_rtu, serve_tcp
from simulators.state import CabinetState, MeterState
from tests.services.ports import free_port
from tests.services.serial_pty import PtyPair

pytestmark = pytest.mark.integration

runner = CliRunner()


@contextmanager
def devices_in_a_thread(
    devices: Mapping[int, ModbusDevice], serial_port: str | None = None
) -> Iterator[str]:
    """Serve ``devices`` (TCP, or RTU on ``serial_port``); yields ``host:port`` or the port."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    start = serve_rtu(devices, serial_port) if serial_port else serve_tcp(devices)
    server = asyncio.run_coroutine_threadsafe(start, loop).result(5)
    try:
        yield serial_port or f"{server.host}:{server.port}"
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def scan(*args: str) -> tuple[int, str]:
    result = runner.invoke(
        app, ["edge", "scan", "--timeout-ms", "150", *args], env={"COLUMNS": "200"}
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_the_table_names_each_device_over_rtu(pty_pair: PtyPair) -> None:
    line = {1: Sdm630(MeterState(serial_number=24010042)), 3: Iem3155(MeterState())}
    with devices_in_a_thread(line, pty_pair.device_side):
        code, output = scan("--port", pty_pair.master_side, "--baud", "9600", "--parity", "N",
                            "--units", "1-3")  # fmt: skip
    assert code == 0, output
    assert "2 devices found" in output
    assert "eastron-sdm630" in output
    assert "schneider-iem3155" in output
    assert "serial_number 24010042" in output
    assert "9600 8N1" in output


def test_json_for_scripts_over_tcp() -> None:
    with devices_in_a_thread({10: CabinetController(CabinetState())}) as where:
        code, output = scan("--tcp", where, "--units", "9-10", "--json")
    assert code == 0, output
    doc = json.loads(output)
    (found,) = doc["found"]
    assert found["unit"] == 10
    assert found["model"] == "eclor-cabinet-controller"
    assert found["confidence"] == 1.0
    assert found["bus"]["kind"] == "tcp"
    assert found["values"] == {"input 0x0000": 0xEC30, "input 0x0002": 4}
    assert doc["problems"] == []


def test_nobody_answering_exits_1() -> None:
    with devices_in_a_thread({10: CabinetController(CabinetState())}) as where:
        code, output = scan("--tcp", where, "--units", "1-2", "--json")
    assert code == 1
    assert json.loads(output)["found"] == []


def test_a_port_that_cannot_be_opened_is_one_line_and_exit_2() -> None:
    code, output = scan("--port", "/nonexistent/ttyUSB0", "--units", "1")
    assert code == 2
    assert "cannot open /nonexistent/ttyUSB0: No such file or directory" in output
    assert "Traceback" not in output


def test_an_endpoint_that_refuses_is_one_line_and_exit_2() -> None:
    code, output = scan("--tcp", f"127.0.0.1:{free_port()}", "--units", "1")
    assert code == 2
    assert "Connection refused" in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give either --port"),
        (["--port", "/dev/null", "--units", "0"], "must be within 1-247"),
        (["--port", "/dev/null", "--baud", "9601"], "baud rate '9601'"),
        (["--tcp", "localhost", "--parity", "E"], "are for --port"),
    ],
)
def test_wrong_options_say_what_is_wrong(args: list[str], message: str) -> None:
    code, output = scan(*args)
    assert code == 2
    assert message in output
