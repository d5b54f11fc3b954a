"""Simulated Modbus field devices that a master cannot tell from real ones.

Device models encode the shared state (:mod:`simulators.state`) on every read and apply writes to
it; servers put them on a TCP endpoint or a serial line; every device carries runtime-scriptable
faults::

    meter = Sdm630(MeterState())
    cabinet = CabinetController(CabinetState())
    server = await serve_rtu({1: meter, 5: cabinet}, "/dev/ttyUSB0")
    meter.faults.set(Fault.NO_ANSWER)      # the cabinet still answers on the same line
    ...
    await server.stop()

Layers, bottom up: :mod:`~simulators.modbus.codec` (values to registers),
:mod:`~simulators.modbus.datamodel` (tables of live registers),
:mod:`~simulators.modbus.device` (a device's functions, quirks and faults),
:mod:`~simulators.modbus.protocol` (request PDU to response PDU),
:mod:`~simulators.modbus.framing` and :mod:`~simulators.modbus.bus` (frames, timing, routing,
faults), :mod:`~simulators.modbus.tcp_server` and :mod:`~simulators.modbus.rtu_server`
(transports). The register maps are independent of ``firmware_configs/profiles``; tests
cross-check the two.
"""

from simulators.modbus.cabinet import CabinetController
from simulators.modbus.carlo_gavazzi import Em24
from simulators.modbus.device import ModbusDevice
from simulators.modbus.eastron import Sdm120, Sdm630
from simulators.modbus.faults import Fault, FaultSet
from simulators.modbus.gate_controller import GateController
from simulators.modbus.handle import ServerHandle
from simulators.modbus.loop_station import LoopStation
from simulators.modbus.rtu_server import serve_rtu
from simulators.modbus.schneider import Iem3155
from simulators.modbus.tcp_server import serve_rtu_over_tcp, serve_tcp

__all__ = [
    "CabinetController",
    "Em24",
    "Fault",
    "FaultSet",
    "GateController",
    "Iem3155",
    "LoopStation",
    "ModbusDevice",
    "Sdm120",
    "Sdm630",
    "ServerHandle",
    "serve_rtu",
    "serve_rtu_over_tcp",
    "serve_tcp",
]
