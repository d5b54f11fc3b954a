"""The territory twin: how cabinets, loop stations and waste centres behave over time.

One :class:`Territory` (made by :func:`simulators.territory.build.build_territory`) holds the
models of a whole scenario and is advanced by one injectable clock (:mod:`eclor.clock`):
``advance_to(moment)`` for tests and backfill, ``run(clock, step_s)`` as the single task of a
served territory. The models write the shared device states
(:mod:`simulators.state`) that the Modbus and DALI simulators encode; they integrate exactly over
any step, so a week can be stepped a minute at a time and a night served a second at a time.

Modules, one job each::

    build        scenario → Territory (states, models, scheduled faults)
    model        Territory: advance, run, inject/schedule faults
    cabinet      a lighting cabinet and its meter (autonomous vs commanded, see its docstring)
    program      a cabinet's built-in photocell/astronomical program and dimming steps
    sun          astral switch times in the site's zone
    lamps        DALI curve → LED power and power factor
    electrical   supply voltage/frequency, meter instantaneous values, energy counting
    dali_feed    DALI gear fed by a cabinet circuit
    watched      a CabinetState that tells the model's writes from the edge's
    traffic      loop stations: daily profiles, Poisson arrivals, interval statistics
    waste        waste centres: opening hours, bays, queue (event simulation)
    faults       field faults: lamp/gear failure, day-burner, stuck contactor, counter events
    parts        the registry of parts by reference (gateway/device)
    edge_view    device states read as their profiles name them (backfill)
    ptypair      two linked ptys for RTU gateways
    randomness   seeded streams, Poisson and friends
    localtime    Europe/Paris at the edges
"""

from simulators.territory.cabinet import CabinetMode, CabinetModel
from simulators.territory.faults import FaultAction, FaultKind
from simulators.territory.model import Territory
from simulators.territory.parts import Parts

__all__ = [
    "CabinetMode",
    "CabinetModel",
    "FaultAction",
    "FaultKind",
    "Parts",
    "Territory",
]
# build_territory lives in simulators.territory.build: it imports the scenario models, which
# import this package's enums, so it is not re-exported here.
