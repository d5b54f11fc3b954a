"""Reception of ProgramSets from the retained ``program`` topic.

A set is taken only when it decodes under this contract version, passes
:func:`~eclor.wire.programs.reference_problems`, names this gateway and has a newer revision than
the one running; anything else is refused, counted in ``eclor_edge_rejected_messages`` (reasons
``program_invalid``, ``program_version``, ``program_gateway``, ``program_stale``) and logged, and
the last good set stays. The same revision again (the broker replays the retained message at every
reconnection) is ignored quietly.
"""

from __future__ import annotations

import logging

from eclor.errors import DecodeError, UnsupportedVersion
from eclor.wire import ProgramSet, decode
from edge.metrics import EdgeMetrics

log = logging.getLogger(__name__)


class ProgramInbox:
    def __init__(
        self,
        gateway_id: str,
        metrics: EdgeMetrics,
        current: ProgramSet | None = None,
        raw: bytes | None = None,
    ) -> None:
        self.gateway_id = gateway_id
        self._metrics = metrics
        self.current = current
        self.raw = raw
        if current is not None:
            metrics.lighting_program_revision.set(current.revision)

    def offer(self, payload: bytes) -> bool:
        """True when ``payload`` replaced the running set."""
        try:
            program = decode(ProgramSet, payload)
        except UnsupportedVersion as exc:
            return self._refuse("program_version", str(exc))
        except DecodeError as exc:
            return self._refuse("program_invalid", str(exc))
        if program.gateway != self.gateway_id:
            return self._refuse("program_gateway", f"it is for gateway {program.gateway!r}")
        if self.current is not None:
            if program.revision == self.current.revision:
                return False
            if program.revision < self.current.revision:
                return self._refuse(
                    "program_stale",
                    f"revision {program.revision} is older than {self.current.revision}",
                )
        self.current, self.raw = program, bytes(payload)
        self._metrics.lighting_program_revision.set(program.revision)
        log.info("lighting program revision %d taken", program.revision)
        return True

    def _refuse(self, reason: str, detail: str) -> bool:
        self._metrics.rejected_messages.labels(reason).inc()
        running = "none" if self.current is None else f"revision {self.current.revision}"
        log.warning("refused a lighting program: %s; keeping %s", detail, running)
        return False
