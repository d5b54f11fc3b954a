"""Devices for the chaos suite (``tests/chaos``) that keep a record of everything they served.

    python -m simulators.chaos_devices --spec spec.json

``spec.json`` names the Modbus TCP endpoint, the units of sequence devices, the unit of one
cabinet controller and three files: ``served`` (JSON lines written by this process), ``control``
(read by this process: faults to hold and power cuts to apply) and ``ready`` (written once the
endpoint listens, holding its port).

A *sequence device* (model ``chaos-seq``) answers input registers 0x0000-0x0003 with two uint32,
``seq`` then ``value``. Each read it answers takes the next ``seq`` and the value
:func:`produced_value` gives for it, and is logged as ``{"k": "read", "unit", "seq", "value",
"t_ms"}`` before the reply leaves. Reads refused by a fault (no answer, exception reply) take no
number and log nothing, so the log is exactly the readings a poller could have received.

The cabinet controller is the normal simulated one; its commanded contactors and setpoint are
logged as ``{"k": "cabinet", "t_ms", "contactors", "setpoint"}`` every ``sample_s`` and on
change. A ``power_cut`` counter increase in the control file opens every contactor and sets the
setpoint to 0, as a controller that lost its supply comes back; the agent must re-assert.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from pathlib import Path
from typing import IO, Any, ClassVar

from simulators.modbus import serve_tcp
from simulators.modbus.cabinet import CabinetController
from simulators.modbus.codec import uint32
from simulators.modbus.datamodel import Registers, RegisterTable
from simulators.modbus.device import ModbusDevice
from simulators.modbus.faults import LINK_FAULTS, Fault
from simulators.state import CabinetState

log = logging.getLogger(__name__)
_MODULUS = 1_000_003  # a prime: values spread over 0..1e6, exact in a float64 store


def produced_value(unit: int, seq: int) -> int:
    """The value a sequence device serves with ``seq``: a checker can recompute it."""
    return (unit * 7919 + seq * 104_729) % _MODULUS


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class SequenceDevice(ModbusDevice):
    """Serves ``seq`` and ``value`` (uint32 each) and logs every read it answers."""

    model: ClassVar[str] = "chaos-seq"
    functions: ClassVar[frozenset[int]] = frozenset({4})
    supported_faults: ClassVar[frozenset[Fault]] = LINK_FAULTS

    def __init__(self, unit: int, served: IO[str]) -> None:
        super().__init__()
        self.unit = unit
        self.seq = 0
        self._served = served
        self.inputs = RegisterTable([Registers(0x0000, 4, self._serve)])

    def _serve(self) -> list[int]:
        self.seq += 1
        value = produced_value(self.unit, self.seq)
        record = {"k": "read", "unit": self.unit, "seq": self.seq, "value": value}
        self._served.write(json.dumps({**record, "t_ms": now_ms()}) + "\n")
        self._served.flush()
        return uint32(self.seq) + uint32(value)


class CabinetRecorder:
    """Logs a cabinet controller's commanded state on change and every ``sample_s``."""

    def __init__(self, controller: CabinetController, served: IO[str], sample_s: float) -> None:
        self.controller = controller
        self._served = served
        self._sample_s = sample_s
        self._last: tuple[list[bool], int] | None = None
        self._last_ms = 0

    def state(self) -> tuple[list[bool], int]:
        return list(self.controller.commanded), self.controller.state.dim_setpoint_pct

    def record(self) -> None:
        state, t = self.state(), now_ms()
        if state != self._last or t - self._last_ms >= self._sample_s * 1000:
            line = {"k": "cabinet", "t_ms": t, "contactors": state[0], "setpoint": state[1]}
            self._served.write(json.dumps(line) + "\n")
            self._served.flush()
            self._last, self._last_ms = state, t

    def power_cut(self) -> None:
        controller = self.controller
        for circuit in range(len(controller.commanded)):
            controller.commanded[circuit] = False
            controller.state.contactors[circuit] = False
        controller.state.dim_setpoint_pct = 0
        self.record()


class Controls:
    """Applies the control file: faults held per unit, power cuts by counter."""

    def __init__(self, path: Path, devices: dict[int, ModbusDevice], cabinet: CabinetRecorder):
        self.path = path
        self.devices = devices
        self.cabinet = cabinet
        self._seen = ""
        self._power_cuts = 0

    def poll(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        if text == self._seen:
            return
        self._seen = text
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            log.warning("control file %s is not JSON yet; keeping the current faults", self.path)
            return
        self._apply_faults({int(u): f for u, f in document.get("faults", {}).items()})
        cuts = int(document.get("power_cuts", 0))
        while self._power_cuts < cuts:
            self._power_cuts += 1
            self.cabinet.power_cut()

    def _apply_faults(self, wanted: dict[int, str | None]) -> None:
        for unit, device in self.devices.items():
            fault = wanted.get(unit)
            for active in device.faults.active:
                if fault is None or active.value != fault:
                    device.faults.clear(active)
            if fault is not None and Fault(fault) not in device.faults:
                device.faults.set(Fault(fault))


async def run(spec: dict[str, Any], served: IO[str]) -> None:
    """Serve until cancelled; ``served`` is the open log (see the module docstring)."""
    devices: dict[int, ModbusDevice] = {
        int(u): SequenceDevice(int(u), served) for u in spec["seq_units"]
    }
    controller = CabinetController(CabinetState(contactors=[False, False]))
    devices[int(spec["cabinet_unit"])] = controller
    cabinet = CabinetRecorder(controller, served, float(spec.get("sample_s", 0.25)))
    controls = Controls(Path(spec["control"]), devices, cabinet)
    handle = await serve_tcp(devices, "127.0.0.1", int(spec.get("port", 0)))
    _announce(Path(spec["ready"]), int(handle.port))
    try:
        while True:
            controls.poll()
            cabinet.record()
            await asyncio.sleep(0.05)
    finally:
        await handle.stop()


def _announce(path: Path, port: int) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(str(port), encoding="utf-8")
    temporary.replace(path)  # whoever sees the file sees the whole port number


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--spec", type=Path, required=True, help="spec JSON (see the docstring)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    spec = json.loads(args.spec.read_text(encoding="utf-8"))
    with Path(spec["served"]).open("a", encoding="utf-8") as served:
        asyncio.run(run(spec, served))


if __name__ == "__main__":
    main()
