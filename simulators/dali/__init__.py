"""A simulated DALI line (IEC 62386-102, DALI-2 with D4i energy and diagnostics banks).

``DaliLine`` holds up to 64 ``ControlGear`` and the bus rules and timing; ``serve_luba_pty``
puts it behind a simulated Lunatone RS-232 interface that python-dali's unmodified
``DriverLubaRs232`` drives across a process boundary (``luba232:/dev/pts/N``)::

    line = DaliLine(8, clock=clock, timing=BusTiming(speed=20))
    async with await line.serve_pty(link="/tmp/dali0") as server:
        driver = DriverLubaRs232(server.uri)   # in this process or another one
        await driver.connect()
        ...
    line.gear[3].set_lamp_failure()            # faults: lamp, gear, unresponsive
    line.bus_failure(); line.power_cycle()     # line-wide events
    line.gear[3].energy_wh, line.gear[3].power_w, line.gear[3].actual_level

``gear[i]`` is the gear in slot ``i``, which has short address ``i`` until commissioning changes
it (``by_address`` looks one up). ``DirectDriver`` sends python-dali commands and sequences
straight onto a line, without a transport, for tests and the territory model.

``python -m simulators.dali --help`` runs one as a process of its own.
"""

from simulators.dali.direct import DirectDriver
from simulators.dali.errors import BusDownError, DaliSimError
from simulators.dali.gear import BUS_FAILURE_S, Clock, ControlGear, GearSettings, SystemClock
from simulators.dali.line import BusTiming, DaliLine, Reply
from simulators.dali.luba import LubaServer, serve_luba_pty, serve_luba_tcp

__all__ = [
    "BUS_FAILURE_S",
    "BusDownError",
    "BusTiming",
    "Clock",
    "ControlGear",
    "DaliLine",
    "DaliSimError",
    "DirectDriver",
    "GearSettings",
    "LubaServer",
    "Reply",
    "SystemClock",
    "serve_luba_pty",
    "serve_luba_tcp",
]
