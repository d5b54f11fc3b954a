"""Did the lights follow their program throughout?

The lighting gateway runs without a cloud program, so its rule is the no-program default of
docs/edge.md: lit at 100 % from sunset + 15 min to sunrise − 15 min, off otherwise. The expected
state is computed here with astral (not with the agent's code) for the site, and compared with
the cabinet controller's commanded contactors and setpoint as the simulator logged them.

A wrong stretch is allowed to last ``tick_s + reassert_s`` plus the simulator's sampling and
a poll (after a controller power cut, the agent restores it at its next re-assertion), and, when
the lighting agent was dead during the stretch, as long as it was dead plus ``restart_s``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from astral import Observer
from astral.sun import sunrise, sunset

OFFSET = timedelta(minutes=15)


@dataclass(frozen=True)
class CabinetSample:
    t_ms: int
    contactors: tuple[bool, ...]
    setpoint: int


@dataclass
class LightVerdict:
    samples: int = 0
    wrong_stretches: list[tuple[int, int, int]] = field(default_factory=list)
    """(start ms, length ms, allowed ms) of every stretch in a wrong state."""
    problems: list[str] = field(default_factory=list)

    @property
    def longest_wrong_ms(self) -> int:
        return max((length for _, length, _ in self.wrong_stretches), default=0)


def load_samples(path: Path) -> list[CabinetSample]:
    samples = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record["k"] == "cabinet":
                samples.append(
                    CabinetSample(int(record["t_ms"]), tuple(record["contactors"]),
                                  int(record["setpoint"]))
                )  # fmt: skip
    return samples


def expected_lit(moment: datetime, latitude: float, longitude: float, zone: str) -> bool:
    paris = ZoneInfo(zone)
    local = moment.astimezone(paris)
    observer = Observer(latitude, longitude)
    rise = sunrise(observer, local.date(), tzinfo=paris)
    fall = sunset(observer, local.date(), tzinfo=paris)
    return bool(local < rise - OFFSET or local >= fall + OFFSET)


def correct(sample: CabinetSample, lit: bool) -> bool:
    if not lit:
        return not any(sample.contactors)
    return all(sample.contactors) and sample.setpoint == 100


def check(
    samples: list[CabinetSample],
    site: dict[str, float | str],
    allowed_ms: int,
    outages: list[tuple[int, int]],
    restart_ms: int,
) -> LightVerdict:
    """``outages``: (kill ms, restarted ms) of the lighting agent."""
    verdict = LightVerdict(samples=len(samples))
    started = False
    wrong_since: int | None = None
    for sample in sorted(samples, key=lambda s: s.t_ms):
        moment = datetime.fromtimestamp(sample.t_ms / 1000, UTC)
        lit = expected_lit(moment, float(site["latitude"]), float(site["longitude"]),
                           str(site["timezone"]))  # fmt: skip
        ok = correct(sample, lit)
        started = started or ok  # before the agent's first decision the cabinet is unknown
        if not started:
            continue
        if not ok and wrong_since is None:
            wrong_since = sample.t_ms
        elif ok and wrong_since is not None:
            _close(verdict, wrong_since, sample.t_ms, allowed_ms, outages, restart_ms)
            wrong_since = None
    if not started:
        verdict.problems.append("the cabinet never reached the programmed state")
    if wrong_since is not None:
        verdict.problems.append(f"the cabinet was still wrong at the end (since {wrong_since})")
    return verdict


def _close(
    verdict: LightVerdict,
    start: int,
    end: int,
    allowed_ms: int,
    outages: list[tuple[int, int]],
    restart_ms: int,
) -> None:
    allowed = allowed_ms
    for killed, restarted in outages:
        if killed <= end and restarted + restart_ms + allowed_ms >= start:
            allowed += restarted - killed + restart_ms
    verdict.wrong_stretches.append((start, end - start, allowed))
    if end - start > allowed:
        verdict.problems.append(
            f"lights wrong for {(end - start) / 1000:.1f} s from {start} "
            f"(allowed {allowed / 1000:.1f} s)"
        )
