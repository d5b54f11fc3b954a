"""Slow polls of a DALI line: gear status and level, energy (bank 202) and on-time (bank 206).

A status pass sends QUERY STATUS and QUERY ACTUAL LEVEL to each gear, spread evenly over
``status_poll_s`` so the polls use a small share of the line's ~21 queries/s. Energy counters are
read with the bank latched (python-dali's ``read_all``), one gear at a time, spread over
``energy_poll_s``. All of it is background traffic of the line: commands go first. Each gear
answer becomes a ``dali`` reading; a change of its lamp or gear failure bit raises or clears one
event.

Both polls go to the gear present (``DaliLine.present``: heard by the latest discovery and by
every status query since). A gear silent for want of mains (open contactor) is left alone until
a discovery hears it again (each energy pass starts with one, and a status pass runs one when no
gear is present): asked for its banks, it would pass for a gear without them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from dali.address import GearShort
from dali.exceptions import MemoryLocationNotImplemented, ResponseError
from dali.gear import general as g
from dali.memory import diagnostics, energy

from eclor.clock import to_epoch_ms
from eclor.wire import Event, Reading
from edge.errors import ActuatorError
from edge.lighting import faults_kinds as kinds
from edge.lighting.dali_banks import read_latched
from edge.lighting.dali_levels import arc_to_percent
from edge.lighting.dali_line import DaliLine

log = logging.getLogger(__name__)

GEAR_FAILURE_BIT, LAMP_FAILURE_BIT = 0x01, 0x02
BANK_202_FRAMES, BANK_206_FRAMES = 24, 12
_FAILURES = ((kinds.LAMP_FAILURE, "lamp_failure"), (kinds.GEAR_FAILURE, "gear_failure"))


class DaliPoller:
    def __init__(self, line: DaliLine) -> None:
        self.line = line
        self._no_bank: dict[int, set[int]] = {202: set(), 206: set()}

    async def run_status(self) -> None:
        """Until cancelled (the line going down cancels it)."""
        period = self.line.config.status_poll_s
        while True:
            with self._guard("status"):
                if not self.line.present:  # nothing answers: the contactor may have closed
                    await self.line.refresh_gear()
                await self.status_pass(period)
                continue
            await self.line.clock.sleep(period)

    async def run_energy(self) -> None:
        period = self.line.config.energy_poll_s
        await self.line.clock.sleep(period / 2)  # not at the same time as the first status pass
        while True:
            with self._guard("energy"):
                await self.line.refresh_gear()
                await self.energy_pass(period)
                continue
            await self.line.clock.sleep(period)

    @contextlib.contextmanager
    def _guard(self, poll: str) -> Iterator[None]:
        """Keep a poll loop alive: line errors are the supervisor's; anything else is logged."""
        try:
            yield
        except ActuatorError as exc:
            log.info("DALI line %s: %s poll interrupted (%s)", self.line.name, poll, exc)
        except Exception:
            log.exception("DALI line %s: %s poll failed; next pass later", self.line.name, poll)

    async def status_pass(self, spread_s: float) -> None:
        """Query every gear present once, one every ``spread_s / gear`` seconds (0: as fast as
        the bus)."""
        addresses = sorted(self.line.present)
        pause = spread_s / max(1, len(addresses))
        for address in addresses:
            await self.status_of(address)
            await self.line.clock.sleep(pause)
        if not addresses:
            await self.line.clock.sleep(spread_s)

    async def status_of(self, address: int) -> Reading | None:
        status = await self.line.send(g.QueryStatus(GearShort(address)), background=True)
        level = await self.line.send(g.QueryActualLevel(GearShort(address)), background=True)
        byte, arc = _answer(status), _answer(level)
        if byte is None or arc is None:
            log.info("DALI %s did not answer its status query", self.line.gear_id(address))
            self.line.present.discard(address)  # no mains, until a discovery hears it again
            return None
        failures = {"lamp_failure": bool(byte & LAMP_FAILURE_BIT)}
        failures["gear_failure"] = bool(byte & GEAR_FAILURE_BIT)
        reading = self._reading(address, {"level_pct": round(arc_to_percent(arc), 2), **failures})
        await self.line.on_readings([reading])
        await self._failure_events(address, failures, reading.time)
        return reading

    async def energy_pass(self, spread_s: float) -> None:
        """Read the banks of every gear present (after the discovery that precedes the pass)."""
        addresses = sorted(self.line.present)
        pause = spread_s / max(1, len(addresses))
        for address in addresses:
            await self.energy_of(address)
            await self.line.clock.sleep(pause)
        if not addresses:
            await self.line.clock.sleep(spread_s)

    async def energy_of(self, address: int) -> Reading | None:
        fields: dict[str, float] = {}
        bank = await self._bank(address, energy.BANK_202, BANK_202_FRAMES)
        for kind, name in ((energy.ActiveEnergy, "energy_wh"), (energy.ActivePower, "power_w")):
            value = _number(bank.get(kind))
            if value is not None:
                fields[name] = value
        bank = await self._bank(
            address, diagnostics.BANK_206, BANK_206_FRAMES, [diagnostics.LightSourceOnTime]
        )
        seconds = _number(bank.get(diagnostics.LightSourceOnTime))
        if seconds is not None:
            fields["operating_hours_h"] = round(seconds / 3600, 4)
        if not fields:
            return None
        reading = self._reading(address, fields)
        await self.line.on_readings([reading])
        return reading

    async def _bank(
        self, address: int, bank: Any, frames: int, values: Sequence[Any] = ()
    ) -> dict[Any, Any]:
        """``values`` of ``bank`` (all of it when empty), latched; {} if the gear has no bank."""
        if address in self._no_bank[bank.address]:
            return {}
        try:
            gear = GearShort(address)
            sequence = read_latched(gear, bank, values) if values else bank.read_all(gear)
            answer: dict[Any, Any] = await self.line.send(sequence, frames=frames, background=True)
        except (MemoryLocationNotImplemented, ResponseError) as exc:
            log.info("DALI %s: no bank %d (%s)", self.line.gear_id(address), bank.address, exc)
            self._no_bank[bank.address].add(address)
            return {}
        return answer

    def _reading(self, address: int, fields: dict[str, Any]) -> Reading:
        tags = {"line": self.line.name}
        group = self.line.lighting_group(address)
        if group is not None:
            tags["group"] = group
        return Reading(
            device=self.line.gear_id(address),
            measurement="dali",
            time=to_epoch_ms(self.line.clock.now()),
            fields=fields,
            tags=tags,
        )

    async def _failure_events(self, address: int, failures: dict[str, bool], time: int) -> None:
        events = []
        for kind, name in _FAILURES:
            key = (address, kind)
            if failures[name] == (key in self.line.active_failures):
                continue
            if failures[name]:
                self.line.active_failures.add(key)
            else:
                self.line.active_failures.discard(key)
            what = "lamp" if kind == kinds.LAMP_FAILURE else "control gear"
            state = "failed" if failures[name] else "works again"
            events.append(
                Event(
                    device=self.line.gear_id(address),
                    kind=kind,
                    time=time,
                    severity="warning",
                    active=failures[name],
                    detail=f"DALI {what} {state} (line {self.line.name}, gear {address})",
                )
            )
        if events:
            await self.line.on_events(events)


def _number(value: object) -> float | None:
    """A bank value as a float; None for a flag (MASK, TMASK, invalid) or a missing value."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return float(value)
    return None


def _answer(response: Any) -> int | None:
    raw = getattr(response, "raw_value", None)
    if raw is None or raw.error:
        return None
    return int(raw.as_integer)
