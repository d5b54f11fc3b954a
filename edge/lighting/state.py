"""The executor's persisted state: the last ProgramSet received and the overrides in force.

One small JSON file (``lighting.state_path``), replaced atomically: written to a temporary file in
the same folder, fsynced, renamed over the old one, and the folder fsynced, so a power cut leaves
either the old or the new state, never a mix. The ProgramSet is kept as the bytes received and
validated again on load (contract version, references, gateway). A file that cannot be used is
logged, renamed ``<name>.corrupt-<epoch s>`` for a technician to look at, and the safe default
(no program, no override) applies.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eclor.errors import DecodeError
from eclor.wire import ProgramSet, decode
from edge.lighting.overrides import Override

log = logging.getLogger(__name__)
FORMAT = 1


@dataclass(slots=True)
class LightingState:
    program_bytes: bytes | None = None
    program: ProgramSet | None = None
    overrides: list[Override] = field(default_factory=list)


class StateFile:
    def __init__(self, path: Path, gateway_id: str) -> None:
        self.path = path
        self.gateway_id = gateway_id

    def load(self, now_s: float) -> LightingState:
        """The stored state; an empty one when there is none or it is unusable (set aside)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return LightingState()
        try:
            return self._parse(raw)
        except (ValueError, TypeError, KeyError, DecodeError) as exc:
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(now_s)}")
            os.replace(self.path, aside)
            log.error(
                "lighting state %s is unusable (%s): kept as %s; running the safe default",
                self.path,
                exc,
                aside,
            )
            return LightingState()

    def _parse(self, raw: bytes) -> LightingState:
        document = json.loads(raw)
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError(f"not a lighting state file of format {FORMAT}")
        state = LightingState()
        text = document.get("program")
        if text is not None:
            state.program_bytes = str(text).encode("utf-8")
            state.program = decode(ProgramSet, state.program_bytes)
            if state.program.gateway != self.gateway_id:
                raise ValueError(f"program is for gateway {state.program.gateway!r}")
        state.overrides = [Override.from_json(o) for o in document.get("overrides", [])]
        return state

    def save(self, state: LightingState) -> None:
        """Replace the file with ``state``, atomically and durably (blocking: run in a thread)."""
        document: dict[str, Any] = {
            "format": FORMAT,
            "program": None if state.program_bytes is None else state.program_bytes.decode(),
            "overrides": [o.to_json() for o in state.overrides],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        with open(temporary, "wb") as handle:
            handle.write(json.dumps(document).encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
