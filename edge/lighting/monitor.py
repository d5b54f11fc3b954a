"""Lighting fault detection from the readings the agent already polls.

``FaultMonitor.observe`` is registered with ``ReadingBatcher.observe``: it sees every meter and
cabinet-controller reading, compares it with what the executor commanded
(``commanded(group)``) and the sun (astral, the site's coordinates), and raises or clears events:

====================== =================== ==============================================
kind (wire)            device              condition
====================== =================== ==============================================
lamp_unexpected_on     group's controller  sun up, group commanded off, power >
                                           ``lit_above_w``
contactor_error        group's controller  ``contactor_discrepancy_mask`` ≠ 0, or (settled)
                                           commanded off at night with power seen, or
                                           commanded on and no power
power_out_of_tolerance group's controller  settled, lit, power outside expected ±
                                           ``tolerance_pct``
cabinet_door_open      controller          ``door_open`` true
====================== =================== ==============================================

"Settled": every command is older than its fade plus ``settle_s``. Groups sharing a meter are
judged together (``faults_power``): expected power is the sum over the groups; the power-based
``contactor_error`` needs a group with a contactor. Every condition must hold for ``debounce``
consecutive readings to raise, and be false as many times to clear. The device of the power
events is the first group's controller: its contactor's device, else its setpoint's, else its
meter.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from astral import Observer
from astral.sun import elevation

from eclor.clock import Clock, from_epoch_ms
from eclor.wire import Event, Reading
from eclor.wire.messages import Severity
from edge.lighting import faults_kinds as kinds
from edge.lighting.config import GroupConfig, LightingConfig
from edge.lighting.dali_line import EventsSink
from edge.lighting.faults_debounce import AlarmBoard
from edge.lighting.faults_power import Commanded, Fed, judge_power

log = logging.getLogger(__name__)
MAX_QUEUED_EVENTS = 256
"""Raised/cleared events waiting for the outbox; they change only when a condition flips."""
STORE_RETRY_S = 1.0

SEVERITY: dict[str, Severity] = {
    kinds.LAMP_UNEXPECTED_ON: "warning",
    kinds.CONTACTOR_ERROR: "critical",
    kinds.POWER_OUT_OF_TOLERANCE: "warning",
    kinds.CABINET_DOOR_OPEN: "warning",
}


class FaultMonitor:
    def __init__(
        self,
        lighting: LightingConfig,
        *,
        commanded: Callable[[str], Commanded | None],
        clock: Clock,
        on_events: EventsSink,
        debounce: int = 3,
        settle_s: float = 30.0,
    ) -> None:
        self.commanded = commanded
        self.clock = clock
        self.on_events = on_events
        self.settle_s = settle_s
        self.board = AlarmBoard(debounce)
        self.observer = Observer(lighting.site.latitude, lighting.site.longitude)
        self._meters: dict[str, list[GroupConfig]] = {}
        for group in lighting.groups:
            if group.meter is not None:
                self._meters.setdefault(group.meter.device, []).append(group)
        self._controllers = {
            t.device for g in lighting.groups for t in (g.contactor, g.setpoint) if t is not None
        }
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=MAX_QUEUED_EVENTS)
        self.dropped = 0
        """Events refused because the queue was full (the outbox failing for that long)."""

    @staticmethod
    def controller(group: GroupConfig) -> str:
        for target in (group.contactor, group.setpoint, group.meter):
            if target is not None:
                return target.device
        raise ValueError(f"group {group.name!r} has no Modbus device")

    def daylight(self, moment: datetime) -> bool:
        return float(elevation(self.observer, moment)) > 0.0

    def observe(self, readings: Sequence[Reading]) -> None:
        """Batcher observer: synchronous, never raises."""
        try:
            for reading in readings:
                self._check_controller(reading)
                groups = self._meters.get(reading.device)
                if groups:
                    self._check_meter(groups, reading)
        except Exception:
            log.exception("fault monitor failed on a reading; detection continues")

    async def run(self) -> None:
        """Hand raised/cleared events to ``on_events`` as they come; a failed store is retried."""
        while True:
            events = [await self._queue.get()]
            while not self._queue.empty():
                events.append(self._queue.get_nowait())
            while True:
                try:
                    await self.on_events(events)
                    break
                except Exception:  # the outbox failing: keep the events and try again
                    log.exception("could not store %d lighting fault event(s)", len(events))
                    await asyncio.sleep(STORE_RETRY_S)

    async def flush(self) -> None:
        """Store the events still queued (call at shutdown, after cancelling :meth:`run`)."""
        events = []
        while not self._queue.empty():
            events.append(self._queue.get_nowait())
        if events:
            await self.on_events(events)

    def _check_controller(self, reading: Reading) -> None:
        if reading.device not in self._controllers:
            return
        door = reading.fields.get("door_open")
        if isinstance(door, bool | int):
            self._see(reading, reading.device, kinds.CABINET_DOOR_OPEN, "door", bool(door), {})
        mask = reading.fields.get("contactor_discrepancy_mask")
        if isinstance(mask, int | float) and not isinstance(mask, bool):
            fields = {"contactor_discrepancy_mask": int(mask)}
            self._see(reading, reading.device, kinds.CONTACTOR_ERROR, "mask", mask != 0, fields)

    def _check_meter(self, groups: list[GroupConfig], reading: Reading) -> None:
        meter = groups[0].meter
        assert meter is not None
        power = reading.fields.get(meter.power_field)
        if not isinstance(power, int | float) or isinstance(power, bool):
            return
        fed = []
        for group in groups:
            command = self.commanded(group.name)
            if command is None:
                return  # the executor has not decided yet
            assert group.meter is not None
            fed.append(Fed(group.meter, command, group.contactor is not None))
        verdict = judge_power(
            float(power),
            fed,
            now_ms=reading.time,
            daylight=self.daylight(from_epoch_ms(reading.time)),
            settle_s=self.settle_s,
        )
        device, source = self.controller(groups[0]), f"meter:{meter.device}"
        fields: dict[str, float | str] = {
            "power_w": round(float(power), 1),
            "expected_w": round(verdict.expected_w, 1),
            "group": ",".join(g.name for g in groups),
        }
        self._see(reading, device, kinds.LAMP_UNEXPECTED_ON, source, verdict.day_burner, fields)
        self._see(reading, device, kinds.CONTACTOR_ERROR, source, verdict.contactor_error, fields)
        self._see(
            reading, device, kinds.POWER_OUT_OF_TOLERANCE, source, verdict.out_of_tolerance, fields
        )

    def _see(
        self,
        reading: Reading,
        device: str,
        kind: str,
        source: str,
        condition: bool | None,
        fields: Mapping[str, float | str],
    ) -> None:
        flipped = self.board.see(device, kind, source, condition)
        if flipped is None:
            return
        state = "raised" if flipped else "cleared"
        log.info("%s on %s %s (%s)", kind, device, state, fields)
        event = Event(
            device=device,
            kind=kind,
            time=reading.time,
            severity=SEVERITY[kind],
            active=flipped,
            detail=f"{kind} {state} ({source})",
            fields=dict(fields),
        )
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            log.error("fault event queue full: %s %s on %s not stored", kind, state, device)
