"""`eclor edge scan` over Modbus TCP: the simulator's TCP server acts as a gateway in front of
its devices (exception 0B for a unit id with nobody behind it), or as a plain TCP device at 255."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

import pytest

from edge.errors import BusUnavailable
from edge.scan import Outcome, scan_tcp
from edge.scan.sweep import open_bus, shipped_profiles
from simulators.modbus import (
    CabinetController,
    Em24,
    Fault,
    GateController,
    Iem3155,
    LoopStation,
    ModbusDevice,
    Sdm120,
    Sdm630,
    ServerHandle,
    serve_tcp,
)
from simulators.state import CabinetState, GateControllerState, LoopStationState, MeterState
from tests.services.ports import free_port

pytestmark = pytest.mark.integration

TIMEOUT_MS = 150
MODELS = {
    1: "eastron-sdm630",
    2: "eastron-sdm120",
    3: "schneider-iem3155",
    4: "carlo-gavazzi-em24",
    10: "eclor-cabinet-controller",
    11: "eclor-loop-station",
    12: "eclor-gate-controller",
}


class ThreeWireSdm630(Sdm630):
    """An SDM630 set up for a three-phase three-wire network: system type 2."""

    system_type: ClassVar[float] = 2.0


def devices() -> dict[int, ModbusDevice]:
    return {
        1: Sdm630(MeterState(serial_number=24010042)),
        2: Sdm120(MeterState()),
        3: Iem3155(MeterState()),
        4: Em24(MeterState()),
        10: CabinetController(CabinetState()),
        11: LoopStation(LoopStationState()),
        12: GateController(GateControllerState()),
    }


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[ServerHandle, dict[int, ModbusDevice]]]:
    behind = devices()
    server = await serve_tcp(behind)
    yield server, behind
    await server.stop()


def endpoint(server: ServerHandle) -> tuple[str, int]:
    assert isinstance(server.port, int)
    return server.host, server.port


async def test_every_device_behind_a_gateway_is_identified(
    gateway: tuple[ServerHandle, dict[int, ModbusDevice]],
) -> None:
    server, _ = gateway
    report = await scan_tcp([endpoint(server)], range(1, 16), timeout_ms=TIMEOUT_MS)
    assert {f.unit: f.best.model if f.best else None for f in report.found} == MODELS
    assert all(f.best is not None and f.best.confidence == 1.0 for f in report.found)
    assert report.timeouts == 0  # the gateway says 0B at once for the 8 empty unit ids
    assert {(f.bus.kind, f.bus.port) for f in report.found} == {("tcp", server.port)}


async def test_a_dead_device_costs_one_timeout_and_the_others_still_answer(
    gateway: tuple[ServerHandle, dict[int, ModbusDevice]],
) -> None:
    server, behind = gateway
    behind[2].faults.set(Fault.NO_ANSWER)
    report = await scan_tcp([endpoint(server)], [1, 2, 3], timeout_ms=TIMEOUT_MS)
    assert [f.unit for f in report.found] == [1, 3]
    assert report.timeouts == 1


async def test_a_device_that_answers_only_busy_is_found_but_not_identified(
    gateway: tuple[ServerHandle, dict[int, ModbusDevice]],
) -> None:
    server, behind = gateway
    behind[4].faults.set(Fault.EXCEPTION, code=6)
    report = await scan_tcp([endpoint(server)], [4], timeout_ms=TIMEOUT_MS)
    (found,) = report.found
    assert found.candidates == ()
    assert found.best is None
    assert found.probe == "input 0x0000: exception 06 (server device busy)"


async def test_a_three_wire_sdm630_is_still_told_from_an_sdm120() -> None:
    # Three-wire set-up: both Eastron profiles miss the system type, but only the SDM630 has a
    # line-to-line voltage at input 0x00C8.
    server = await serve_tcp({1: ThreeWireSdm630(MeterState())})
    try:
        report = await scan_tcp([endpoint(server)], [1], timeout_ms=TIMEOUT_MS)
    finally:
        await server.stop()
    (found,) = report.found
    assert [(c.model, c.confidence) for c in found.candidates] == [
        ("eastron-sdm630", 0.6),
        ("eastron-sdm120", 0.5),
    ]
    assert found.best is not None
    assert found.best.model == "eastron-sdm630"
    assert not found.ambiguous


async def test_a_plain_tcp_device_at_unit_255() -> None:
    server = await serve_tcp({255: Em24(MeterState())})
    try:
        report = await scan_tcp([endpoint(server)], [0, 255], timeout_ms=TIMEOUT_MS)
    finally:
        await server.stop()
    assert [(f.unit, f.best.model if f.best else None) for f in report.found] == [
        (255, "carlo-gavazzi-em24")
    ]


async def test_an_unreachable_endpoint_is_a_problem_the_others_are_scanned(
    gateway: tuple[ServerHandle, dict[int, ModbusDevice]],
) -> None:
    server, _ = gateway
    closed = ("127.0.0.1", free_port())
    report = await scan_tcp([closed, endpoint(server)], [1], timeout_ms=TIMEOUT_MS)
    assert [f.unit for f in report.found] == [1]
    assert report.problems == [f"cannot open 127.0.0.1:{closed[1]}: Connection refused"]
    with pytest.raises(BusUnavailable, match="Connection refused"):
        await scan_tcp([closed], [1], timeout_ms=TIMEOUT_MS)


async def test_identify_reuses_answers_instead_of_asking_twice(
    gateway: tuple[ServerHandle, dict[int, ModbusDevice]],
) -> None:
    from edge.scan import Recogniser
    from edge.scan.options import tcp_bus

    server, behind = gateway
    host, port = endpoint(server)
    bus = await open_bus(tcp_bus(host, port, TIMEOUT_MS))
    try:
        identification = await Recogniser(shipped_profiles()).identify(bus, 10)
    finally:
        await bus.close()
    # 7 profiles, 12 signatures over 9 distinct reads; input 0x0000 x1 (the Eclor type code)
    # is cut from the probe's answer, and the cabinet has no device field to read after.
    assert bus.requests == behind[10].requests_seen == 8
    best = identification.candidates[0]
    assert best.model == "eclor-cabinet-controller"
    assert [c.outcome for c in best.checks] == [Outcome.MATCH, Outcome.MATCH]
