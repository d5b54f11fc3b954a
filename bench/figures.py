"""Figures a benchmark hands to ``bench.run_all`` besides printing them.

A benchmark builds :class:`Figure` rows (a value, and the reference it is compared with in the
same run) and machine-readable ``facts`` (per-unit costs the 1-million-luminaire projection uses),
then calls :func:`emit`. When ``bench.run_all`` started it, the environment variable
:data:`ENV` names a JSON file to write them to; run by hand, :func:`emit` does nothing, so the
benchmarks' command lines are unchanged.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ENV = "ECLOR_BENCH_FIGURES"


@dataclass(frozen=True)
class Figure:
    """One measured value and, when it has one, its same-run reference."""

    label: str
    value: float
    unit: str
    reference: float | None = None
    reference_label: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.reference is None or self.reference == 0 or not math.isfinite(self.reference):
            return None
        return self.value / self.reference


@dataclass
class Figures:
    """What one benchmark measured."""

    figures: list[Figure] = field(default_factory=list)
    facts: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> Figures:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("figures file: expected a JSON object")
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Figures:
        try:
            figures = [Figure(**row) for row in data.get("figures", [])]
            facts = {str(k): float(v) for k, v in data.get("facts", {}).items()}
            notes = [str(note) for note in data.get("notes", [])]
        except (TypeError, ValueError) as error:
            raise ValueError(f"figures file: malformed content ({error})") from error
        return cls(figures, facts, notes)


def emit(
    figures: Sequence[Figure],
    facts: Mapping[str, float] | None = None,
    notes: Sequence[str] = (),
) -> None:
    """Write the figures where ``bench.run_all`` asked for them (nothing when run by hand)."""
    target = os.environ.get(ENV)
    if not target:
        return
    result = Figures(list(figures), dict(facts or {}), list(notes))
    Path(target).write_text(result.to_json())
