"""The reads sent to one unit during identification, each sent at most once.

Several profiles read the same registers (input 0x0000 is the Eastron voltage, the EM24 voltage
and the Eclor type code): an answer is kept, and a read that lies inside an answered one is cut
from it instead of being sent. A read without a usable answer is retried (the unit has answered
before, so silence now is more likely noise than absence); a bus that is gone raises.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.errors import BusUnavailable, TransportError
from edge.modbus.bus import ExceptionReply, ModbusBus
from edge.scan.signatures import ReadKey


@dataclass(frozen=True, slots=True)
class Unanswered:
    """The read got no usable answer: a timeout, a broken or short frame."""

    reason: str


Answer = list[int] | list[bool] | ExceptionReply | Unanswered


class UnitReader:
    def __init__(self, bus: ModbusBus, unit: int, *, retries: int = 1) -> None:
        self.bus = bus
        self.unit = unit
        self.retries = retries
        self.device = f"unit {unit}"
        self._answers: dict[ReadKey, Answer] = {}

    async def read(self, key: ReadKey, *, retries: int | None = None) -> Answer:
        """The answer to ``key``, from an earlier answer when one covers it."""
        known = self._known(key)
        if known is not None:
            return known
        answer = await self._fetch(key, self.retries if retries is None else retries)
        self._answers[key] = answer
        return answer

    def _known(self, key: ReadKey) -> Answer | None:
        if key in self._answers:
            return self._answers[key]
        for other, answer in self._answers.items():
            if isinstance(answer, list) and other.covers(key):
                start = key.address - other.address
                return answer[start : start + key.count]
        return None

    async def _fetch(self, key: ReadKey, retries: int) -> Answer:
        reason = ""
        for _ in range(retries + 1):
            try:
                return await self.bus.read(
                    self.unit, key.function, key.address, key.count, device=self.device
                )
            except BusUnavailable:
                raise
            except TransportError as exc:  # DeviceTimeout, or an answer of the wrong size
                reason = exc.reason
        return Unanswered(reason)
