"""The fault plan (seeded) and the injector that carries it out on a :class:`Stand`.

Faults come one after another, at random gaps, each held for a random time and then repaired:

==============  ==============================================================================
agent_kill      ``kill -9`` of one edge agent (its process group), restarted after the hold
ingest_kill     ``kill -9`` of ``eclor cloud serve --role ingest``, restarted
broker_kill     ``kill -9`` of Mosquitto (unsaved persistence lost), restarted on its port
influx_kill     ``kill -9`` of ``influxd`` (its WAL replays at the restart)
link_cut        the proxy between one agent and the broker drops and refuses connections
outbox_full     the same cut on ``gw-full``, whose outbox holds 4 KiB: it must evict and count
device_fault    a sequence device stops answering or answers exception 04
power_cut       the cabinet controller loses its supply: contactors open, setpoint 0
==============  ==============================================================================
"""

from __future__ import annotations

import enum
import json
import logging
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.chaos.stand import Stand

log = logging.getLogger(__name__)


class Kind(enum.StrEnum):
    AGENT_KILL = "agent_kill"
    INGEST_KILL = "ingest_kill"
    BROKER_KILL = "broker_kill"
    INFLUX_KILL = "influx_kill"
    LINK_CUT = "link_cut"
    OUTBOX_FULL = "outbox_full"
    DEVICE_FAULT = "device_fault"
    POWER_CUT = "power_cut"


HOLD_S: dict[Kind, tuple[float, float]] = {
    Kind.AGENT_KILL: (0.5, 4.0),
    Kind.INGEST_KILL: (1.0, 6.0),
    Kind.BROKER_KILL: (1.0, 6.0),
    Kind.INFLUX_KILL: (1.0, 6.0),
    Kind.LINK_CUT: (4.0, 12.0),
    Kind.OUTBOX_FULL: (12.0, 20.0),
    Kind.DEVICE_FAULT: (2.0, 8.0),
    Kind.POWER_CUT: (0.0, 0.0),
}
GAP_S = (1.0, 4.0)
FULL_AGENT = "gw-full"


@dataclass(frozen=True)
class Fault:
    kind: Kind
    target: str
    hold_s: float
    gap_s: float
    detail: str = ""


@dataclass
class Injected:
    """What happened: faults by kind, and the kill times the ledger needs."""

    counts: Counter[str] = field(default_factory=Counter)
    kills: dict[str, list[int]] = field(default_factory=dict)
    fault_phase_s: float = 0.0
    """From the first injection to the repair of the last one."""
    outages: dict[str, list[tuple[int, int]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    faults: list[Fault]
    required: int
    """The first ``required`` faults hold every kind ``min_each`` times; all of them run."""
    budget_s: float
    """After the required ones, faults go on until this long since the first one."""


def plan(rng: random.Random, budget_s: float, min_each: int, stand: Stand) -> Plan:
    """Every kind ``min_each`` times in a random order mixed with random extras up to about
    ``budget_s``, then a tail of random faults used while the wall clock allows."""
    kinds = [k for k in Kind for _ in range(min_each)]
    rng.shuffle(kinds)
    faults = [_draw(rng, kind, stand) for kind in kinds]
    while sum(_cost(f) for f in faults) + _cost(faults[-1]) < budget_s * 0.7:
        faults.insert(rng.randrange(len(faults) + 1), _draw(rng, rng.choice(list(Kind)), stand))
    required = len(faults)
    tail = [_draw(rng, rng.choice(list(Kind)), stand) for _ in range(int(budget_s / 4) + 1)]
    return Plan(faults + tail, required, budget_s)


def _cost(fault: Fault) -> float:
    return fault.gap_s + fault.hold_s + 2.0  # restarts take about two seconds here


def _draw(rng: random.Random, kind: Kind, stand: Stand) -> Fault:
    hold = round(rng.uniform(*HOLD_S[kind]), 2)
    gap = round(rng.uniform(*GAP_S), 2)
    agents = sorted(stand.agents) or [a.name for a in stand.settings.agents]
    units = sorted(stand.settings.agent_of_unit())
    match kind:
        case Kind.AGENT_KILL:
            return Fault(kind, rng.choice(agents), hold, gap)
        case Kind.LINK_CUT:
            return Fault(kind, rng.choice([a for a in agents if a != FULL_AGENT]), hold, gap)
        case Kind.OUTBOX_FULL:
            return Fault(kind, FULL_AGENT, hold, gap)
        case Kind.DEVICE_FAULT:
            detail = rng.choice(["no_answer", "exception"])
            return Fault(kind, f"seq-{rng.choice(units)}", hold, gap, detail)
        case _:
            return Fault(kind, kind.value.split("_")[0], hold, gap)


class Injector:
    """Carries out a plan on a running stand and keeps the record in ``faults.jsonl``."""

    def __init__(self, stand: Stand) -> None:
        self.stand = stand
        self.injected = Injected()
        self._log = (stand.workdir / "faults.jsonl").open("a", encoding="utf-8")

    def run(self, planned: Plan) -> Injected:
        began = time.monotonic()
        for index, fault in enumerate(planned.faults):
            spent = time.monotonic() - began
            if index >= planned.required and spent >= planned.budget_s:
                break
            time.sleep(fault.gap_s)
            started = time.time_ns() // 1_000_000
            self._inject(fault)
            self.injected.counts[fault.kind.value] += 1
            self._log.write(json.dumps({**asdict(fault), "t_ms": started}) + "\n")
            self._log.flush()
            log.info("injected %s on %s for %.1f s", fault.kind.value, fault.target, fault.hold_s)
        self.injected.fault_phase_s = time.monotonic() - began
        return self.injected

    def _inject(self, fault: Fault) -> None:
        stand = self.stand
        match fault.kind:
            case Kind.AGENT_KILL:
                self._kill_agent(fault.target, fault.hold_s)
            case Kind.INGEST_KILL:
                stand.ingest.kill()
                time.sleep(fault.hold_s)
                stand.start_ingest()
            case Kind.BROKER_KILL:
                stand.mosquitto.kill()
                time.sleep(fault.hold_s)
                stand.mosquitto.restart()
            case Kind.INFLUX_KILL:
                stand.influx.kill()
                time.sleep(fault.hold_s)
                stand.influx.restart()
            case Kind.LINK_CUT | Kind.OUTBOX_FULL:
                self._cut(fault.target, fault.hold_s)
            case Kind.DEVICE_FAULT:
                stand.set_faults({int(fault.target.removeprefix("seq-")): fault.detail})
                time.sleep(fault.hold_s)
                stand.set_faults({})
            case Kind.POWER_CUT:
                stand.power_cut()

    def _kill_agent(self, name: str, hold_s: float) -> None:
        killed = time.time_ns() // 1_000_000
        self.stand.agents[name].kill()
        self.injected.kills.setdefault(name, []).append(killed)
        time.sleep(hold_s)
        self.stand.start_agent(name)
        restarted = time.time_ns() // 1_000_000
        self.injected.outages.setdefault(name, []).append((killed, restarted))

    def _cut(self, name: str, hold_s: float) -> None:
        proxy = self.stand.proxies[name]
        proxy.cut()
        time.sleep(hold_s)
        proxy.heal()

    def close(self) -> None:
        self._log.close()


def write_plan(path: Path, planned: Plan) -> None:
    lines = [json.dumps({"required": planned.required, "budget_s": planned.budget_s})]
    lines += [json.dumps(asdict(f)) for f in planned.faults]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
