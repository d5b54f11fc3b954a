"""Faults a test or a scenario switches on and off at runtime, one device at a time.

Every simulated device carries a :class:`FaultSet` as ``device.faults``::

    meter.faults.set(Fault.NO_ANSWER)                   # silent until cleared
    meter.faults.set(Fault.SLOW, delay_ms=800, times=3) # the next three answers come late
    meter.faults.set(Fault.EXCEPTION, code=6)           # "device busy" to every request
    meter.faults.set(Fault.METER_REPLACED, serial_number=24010042)  # happens at once
    cabinet.faults.set(Fault.STUCK_CONTACTOR, circuit=2)
    meter.faults.clear(Fault.SLOW); meter.faults.clear()

There are three kinds, and they are injected at different places:

- **Link faults** (no answer, exception reply, corrupt CRC, truncated frame, slow answer) change
  how the device answers, not what it knows. They live here; the servers ask :meth:`FaultSet.plan`
  once per request addressed to the device and shape the reply frame accordingly. They stay on
  until cleared, or for ``times`` requests.
- **Events** (counter reset, meter replaced) happen to the device's state at once, so they are
  not "on" afterwards: the device applies them through the hook it gave its fault set.
- **Conditions** held in the shared state (stuck contactor: ``CabinetState.stuck_contactor``) are
  set and released through the same hook, so the territory model sees them too.

A device refuses a fault it cannot have (a loop station has no serial number to change).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass


class Fault(enum.Enum):
    NO_ANSWER = "no_answer"
    EXCEPTION = "exception"
    CORRUPT_CRC = "corrupt_crc"
    TRUNCATED = "truncated"
    SLOW = "slow"
    COUNTER_RESET = "counter_reset"
    METER_REPLACED = "meter_replaced"
    STUCK_CONTACTOR = "stuck_contactor"


LINK_FAULTS = frozenset(
    {Fault.NO_ANSWER, Fault.EXCEPTION, Fault.CORRUPT_CRC, Fault.TRUNCATED, Fault.SLOW}
)
EVENTS = frozenset({Fault.COUNTER_RESET, Fault.METER_REPLACED})


@dataclass(frozen=True)
class FaultParams:
    """Arguments of :meth:`FaultSet.set`; each fault reads the ones it needs."""

    code: int = 4
    delay_ms: float = 1000.0
    circuit: int = 0
    serial_number: int | None = None


@dataclass(frozen=True)
class ReplyPlan:
    """How to answer one request, decided before the device sees it."""

    answer: bool = True
    exception_code: int | None = None
    delay_s: float = 0.0
    corrupt_crc: bool = False
    truncate: bool = False


StateHook = Callable[[Fault, FaultParams | None], None]
"""Applies an event or condition to the device's state; ``None`` params release a condition."""


@dataclass
class _Active:
    params: FaultParams
    remaining: int | None


class FaultSet:
    """The faults of one device; see the module docstring for the kinds."""

    def __init__(self, model: str, supported: Iterable[Fault], state_hook: StateHook) -> None:
        self._model = model
        self._supported = frozenset(supported)
        self._state_hook = state_hook
        self._active: dict[Fault, _Active] = {}

    @property
    def supported(self) -> frozenset[Fault]:
        return self._supported

    @property
    def active(self) -> frozenset[Fault]:
        return frozenset(self._active)

    def __contains__(self, fault: object) -> bool:
        return fault in self._active

    def set(
        self,
        fault: Fault,
        *,
        code: int = 4,
        delay_ms: float = 1000.0,
        circuit: int = 0,
        serial_number: int | None = None,
        times: int | None = None,
    ) -> None:
        """Switch ``fault`` on (link faults, conditions) or make it happen (events)."""
        if fault not in self._supported:
            names = ", ".join(sorted(f.value for f in self._supported))
            raise ValueError(f"{self._model} cannot have fault {fault.value}; it can have {names}")
        _check_params(code, delay_ms, times)
        params = FaultParams(code, delay_ms, circuit, serial_number)
        if fault in EVENTS:
            self._state_hook(fault, params)
            return
        if fault not in LINK_FAULTS:
            if times is not None:
                raise ValueError(f"{fault.value} lasts until cleared; times= does not apply")
            self._state_hook(fault, params)
        self._active[fault] = _Active(params, times)

    def clear(self, fault: Fault | None = None) -> None:
        """Switch one fault off, or all of them."""
        for each in [fault] if fault is not None else list(self._active):
            if self._active.pop(each, None) is not None and each not in LINK_FAULTS:
                self._state_hook(each, None)

    def plan(self) -> ReplyPlan:
        """The reply plan for the next request; counts down faults set with ``times``."""
        link = {f: a for f, a in self._active.items() if f in LINK_FAULTS}
        for fault, active in link.items():
            if active.remaining is not None:
                active.remaining -= 1
                if active.remaining <= 0:
                    del self._active[fault]
        if Fault.NO_ANSWER in link:
            return ReplyPlan(answer=False)
        exception = link.get(Fault.EXCEPTION)
        slow = link.get(Fault.SLOW)
        return ReplyPlan(
            exception_code=exception.params.code if exception else None,
            delay_s=slow.params.delay_ms / 1000.0 if slow else 0.0,
            corrupt_crc=Fault.CORRUPT_CRC in link,
            truncate=Fault.TRUNCATED in link,
        )


def _check_params(code: int, delay_ms: float, times: int | None) -> None:
    if not 1 <= code <= 255:
        raise ValueError(f"exception code {code} is not 1-255")
    if delay_ms < 0:
        raise ValueError(f"delay_ms {delay_ms} is negative")
    if times is not None and times < 1:
        raise ValueError(f"times {times} must be at least 1")
