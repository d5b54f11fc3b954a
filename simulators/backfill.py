"""History backfill: days of readings from the territory model, without any network.

The same model that ``eclor sim run`` serves is stepped on a manual clock at the poll interval
(the scenario's ``poll_s``, 60 s by default) from ``end − days`` to ``end``; after each step every
device is read as an edge agent would read it (:mod:`simulators.territory.edge_view`) and written
as wire :class:`~eclor.wire.Reading` objects, one JSON document per line. A ``.gz`` file name
compresses the output.

Each reading's ``device`` is the device id as the gateway's edge config names it (``meter``,
``controller``, ``loops`` …) and its tags carry ``gateway`` and ``commune``, so readings of
different gateways stay apart in one file; the time is the poll instant, epoch ms UTC.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, BinaryIO, cast

import msgspec

from eclor.clock import ManualClock, to_epoch_ms
from eclor.errors import ConfigError
from eclor.wire import Reading
from simulators.scenario import Scenario
from simulators.territory.build import build_territory
from simulators.territory.edge_view import DeviceView, ProfileView, load_profile_views
from simulators.territory.model import Territory

PROFILE_OF_MODEL = {
    "sdm630": "eastron-sdm630",
    "sdm120": "eastron-sdm120",
    "iem3155": "schneider-iem3155",
    "em24": "carlo-gavazzi-em24",
    "cabinet_controller": "eclor-cabinet-controller",
    "loop_station": "eclor-loop-station",
    "gate_controller": "eclor-gate-controller",
}
Progress = Callable[[int, int], None]  # (steps done, steps in all)


def default_profiles_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "firmware_configs" / "profiles"


@dataclass(frozen=True)
class BackfillResult:
    readings: int
    steps: int
    start: datetime
    end: datetime
    unknown_fields: dict[str, list[str]]  # profile → field names the backfill cannot produce


@dataclass(frozen=True)
class _Source:
    view: DeviceView
    device: str
    tags: dict[str, str]


def backfill(
    scenario: Scenario,
    end: datetime,
    days: float,
    out: Path,
    *,
    profiles_dir: Path | None = None,
    step_s: float | None = None,
    progress: Progress | None = None,
) -> BackfillResult:
    """Write ``days`` of readings ending at ``end`` to ``out``; see the module docstring."""
    if days <= 0:
        raise ValueError(f"days must be positive, got {days}")
    step = step_s or scenario.poll_s
    start = end - timedelta(days=days)
    clock = ManualClock(start)
    territory = build_territory(scenario, clock, start)
    views = load_profile_views(profiles_dir or default_profiles_dir())
    sources = list(_sources(scenario, territory, views))
    steps = int(timedelta(days=days).total_seconds() // step)
    encoder = msgspec.json.Encoder()
    count = 0
    with _open(out) as stream:
        for index in range(1, steps + 1):
            clock.advance(step)
            territory.advance_to(clock.now())
            count += _write_step(stream, encoder, sources, to_epoch_ms(clock.now()))
            if progress is not None:
                progress(index, steps)
    unknown = {s.view.profile.model: s.view.unknown for s in sources if s.view.unknown}
    return BackfillResult(count, steps, start, clock.now(), unknown)


def _write_step(
    stream: IO[bytes], encoder: msgspec.json.Encoder, sources: list[_Source], time_ms: int
) -> int:
    lines = bytearray()
    count = 0
    for source in sources:
        for measurement, fields in source.view.read().items():
            reading = Reading(
                device=source.device,
                measurement=measurement,
                time=time_ms,
                fields=dict(fields),
                tags=source.tags,
            )
            encoder.encode_into(reading, lines, -1)
            lines += b"\n"
            count += 1
    stream.write(lines)
    return count


def _sources(
    scenario: Scenario, territory: Territory, views: dict[str, ProfileView]
) -> Iterator[_Source]:
    parts = territory.parts
    for gateway in scenario.gateways:
        tags = {"gateway": gateway.id, "commune": gateway.commune}
        cabinet = parts.cabinets.get(gateway.id)
        commanded = None
        if cabinet is not None:
            commanded = list(cabinet.state.contactors)
            cabinet.command_mirror = commanded
        for spec in gateway.devices:
            profile = views.get(PROFILE_OF_MODEL[spec.model])
            if profile is None:
                raise ConfigError(
                    PROFILE_OF_MODEL[spec.model] + ".yaml", "", None, "no such device profile"
                )
            state = parts.device_states[f"{gateway.id}/{spec.id}"]
            view = DeviceView(profile, state, commanded)
            yield _Source(view, spec.id, tags)


@contextmanager
def _open(path: Path) -> Iterator[IO[bytes]]:
    if path.suffix == ".gz":
        with gzip.open(path, "wb", compresslevel=5) as compressed:
            yield cast(BinaryIO, compressed)
    else:
        with path.open("wb", buffering=1 << 20) as plain:
            yield plain
