"""Program documents: checked before they are stored, turned into the wire's ProgramSet.

A document is a :class:`~eclor.wire.programs.ProgramSet` without ``gateway``, ``revision`` and
``issued_at`` (the server sets them). :func:`program_problems` lists every reason to refuse one as
``(json path, reason)`` pairs: what the wire schema refuses (a level out of 0-100, an unknown
field), dangling or duplicate references, groups the registry does not know for the gateway, and
empty or overlapping periods, which the wire schema cannot express.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Set
from typing import Any

import msgspec

from eclor.wire.programs import ControlProgram, ProgramSet, SwitchTime, reference_problems

SERVER_SET = ("gateway", "revision", "issued_at")
CHECK_MS = 946_684_800_000  # any valid issued_at (the wire refuses times before 2000)
_AT_PATH = re.compile(r"^(?P<msg>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.DOTALL)
Problem = tuple[str, str]


def program_set(
    document: Mapping[str, Any], *, gateway_id: str, revision: int, issued_at_ms: int
) -> ProgramSet:
    """The wire message of a checked document (raises ``msgspec.ValidationError`` otherwise)."""
    whole = {**document, "gateway": gateway_id, "revision": revision, "issued_at": issued_at_ms}
    return msgspec.convert(whole, ProgramSet)


def program_problems(document: Mapping[str, Any], known_groups: Set[str]) -> list[Problem]:
    """Every reason to refuse ``document`` for a gateway whose groups are ``known_groups``."""
    for key in SERVER_SET:
        if key in document:
            return [(f"$.{key}", "set by the server; leave it out")]
    try:
        parsed = program_set(document, gateway_id="check", revision=1, issued_at_ms=CHECK_MS)
    except msgspec.ValidationError as error:
        return [_schema_problem(str(error))]
    problems = reference_problems(parsed)
    for i, assignment in enumerate(parsed.assignments):
        if assignment.group not in known_groups:
            problems.append((f"$.assignments[{i}].group", "no such lighting group on the gateway"))
    for i, program in enumerate(parsed.programs):
        problems.extend(period_problems(program, f"$.programs[{i}]"))
    return problems


def period_problems(program: ControlProgram, path: str) -> list[Problem]:
    """Empty on/off period, empty or overlapping switch-off windows, two steps at one moment."""
    problems: list[Problem] = []
    if _same_moment(program.on, program.off):
        problems.append((f"{path}.off", "the active period is empty: off is the same as on"))
    spans: list[tuple[int, int, int]] = []
    for j, window in enumerate(program.switch_off):
        start, end = _minutes(window.start), _minutes(window.end)
        if start == end:
            problems.append((f"{path}.switch_off[{j}]", "empty window: start equals end"))
            continue
        spans.extend((j, a, b) for a, b in _split_midnight(start, end))
    for k, (j, a, b) in enumerate(spans):
        for other, c, d in spans[k + 1 :]:
            if other != j and a < d and c < b:
                problems.append((f"{path}.switch_off[{other}]", f"overlaps switch_off[{j}]"))
    seen: dict[tuple[str, str | None, int], int] = {}
    for j, step in enumerate(program.steps):
        key = (step.at.ref, step.at.time, step.at.offset_min)
        if key in seen:
            problems.append((f"{path}.steps[{j}].at", f"same moment as steps[{seen[key]}]"))
        seen.setdefault(key, j)
    return problems


def _same_moment(a: SwitchTime, b: SwitchTime) -> bool:
    return (a.ref, a.time, a.offset_min) == (b.ref, b.time, b.offset_min)


def _minutes(time_of_day: str) -> int:
    hours, minutes = time_of_day.split(":")
    return int(hours) * 60 + int(minutes)


def _split_midnight(start: int, end: int) -> list[tuple[int, int]]:
    return [(start, end)] if start < end else [(start, 24 * 60), (0, end)]


def _schema_problem(message: str) -> Problem:
    match = _AT_PATH.match(message)
    assert match is not None  # the pattern matches any text
    return (match["path"] or "$", match["msg"])
