"""One chaos run: start the stand, inject the plan, drain, read every record, check, report."""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.chaos import ledger, lights, outbox_ledger
from tests.chaos.faults import Injected, Injector, Kind, plan, write_plan
from tests.chaos.stand import SITE, Stand, StandSettings

log = logging.getLogger(__name__)
COMMIT_SLACK_MS = 2000
"""Added to the flush interval for the in-window class: an fsync on a loaded shared disk."""
RESTART_MS = 15_000
"""How long a restarted agent may take to load, connect its bus and decide again."""


@dataclass
class Report:
    seed: int
    planned_s: float
    elapsed_s: float = 0.0
    injected: Injected = field(default_factory=Injected)
    verdict: ledger.Verdict = field(default_factory=ledger.Verdict)
    lights: lights.LightVerdict = field(default_factory=lights.LightVerdict)
    drained: bool = False

    @property
    def ok(self) -> bool:
        return self.verdict.ok and not self.lights.problems and self.drained

    def table(self) -> str:
        c = self.verdict.counts
        rows = [f"chaos run: seed {self.seed}, {self.planned_s:.0f} s of faults asked, "
                f"{self.injected.fault_phase_s:.0f} s injecting (first fault to last repair), "
                f"{self.elapsed_s:.0f} s in all (start to verdict)", "",
                "| fault | injected |", "|---|---:|"]  # fmt: skip
        rows += [f"| {k.value} | {self.injected.counts[k.value]} |" for k in Kind]
        rows += ["", "| readings | count |", "|---|---:|"]
        names = (
            "produced",
            "committed",
            "stored",
            "stored_then_evicted",
            "evicted",
            "in_window",
            "pending",
        )
        for name in names:
            rows.append(f"| {name} | {c[name]} |")
        for name in ("uncommitted", "lost", "changed", "duplicate_seq", "phantom"):
            rows.append(f"| **{name}** (must be 0) | {c[name]} |")
        evicted = ", ".join(f"{a} {n}" for a, n in sorted(self.verdict.evicted_by_agent.items()))
        rows += ["", f"outbox eviction counters (telemetry readings): {evicted}",
                 f"longest distance read → kill in the in-window class: "
                 f"{self.verdict.max_in_window_ms} ms",
                 f"lights: {self.lights.samples} cabinet samples, "
                 f"{len(self.lights.wrong_stretches)} wrong stretches, longest "
                 f"{self.lights.longest_wrong_ms / 1000:.1f} s",
                 f"outboxes drained at the end: {self.drained}"]  # fmt: skip
        problems = self.verdict.problems + self.lights.problems
        rows += ["", "verdict: " + ("PASS" if self.ok else "FAIL"), *problems]
        return "\n".join(rows)


def run(seed: int, fault_s: float, workdir: Path, min_each: int = 1) -> Report:
    """Run faults for about ``fault_s`` seconds after a short warm-up, then check."""
    began = time.monotonic()
    report = Report(seed, fault_s)
    stand = Stand(workdir, StandSettings())
    try:
        stand.start()
        time.sleep(8)  # the agents connect and the lights take their first decision
        faults = plan(random.Random(seed), fault_s, min_each, stand)
        write_plan(workdir / "plan.jsonl", faults)
        injector = Injector(stand)
        report.injected = injector.run(faults)
        injector.close()
        time.sleep(stand.settings.reassert_s + 2)  # the lights settle after the last fault
        stand.set_faults({u: "no_answer" for u in stand.settings.agent_of_unit()})
        time.sleep(1)  # the last answered reads reach their outboxes
        report.drained = _drain(stand, timeout_s=180)
        stored = read_store(stand.influx.url)
    finally:
        stand.stop()
    report.verdict = _verdict(stand, report.injected, stored)
    report.lights = lights.check(
        lights.load_samples(stand.served_path),
        SITE,
        int((stand.settings.tick_s + stand.settings.reassert_s) * 1000) + 3000,
        report.injected.outages.get("gw-light", []),
        RESTART_MS,
    )
    report.elapsed_s = time.monotonic() - began
    return report


def _verdict(stand: Stand, injected: Injected, stored: list[ledger.StoredPoint]) -> ledger.Verdict:
    settings = stand.settings
    served = ledger.load_served(stand.served_path, settings.agent_of_unit())
    outboxes = {a.name: outbox_ledger.read(stand.outbox(a.name)) for a in settings.agents}
    window = settings.flush_interval_ms + COMMIT_SLACK_MS
    return ledger.check(served, outboxes, stored, injected.kills, window)


def _drain(stand: Stand, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        depths = {a: outbox_ledger.depth(stand.outbox(a)) for a in stand.agents}
        if not any(depths.values()):
            time.sleep(1)  # the ingest flushed before acking; let the store settle
            return True
        time.sleep(0.5)
    log.warning("outboxes not drained within %s s: %s", timeout_s, depths)
    return False


def read_store(url: str, measurement: str = "chaos") -> list[ledger.StoredPoint]:
    query = f'SELECT "seq", "value", "device" FROM "{measurement}"'
    params = urllib.parse.urlencode(
        {"db": "eclor", "q": query, "epoch": "ms", "chunked": "true", "chunk_size": "5000"}
    )
    points: list[ledger.StoredPoint] = []
    with urllib.request.urlopen(f"{url}/query?{params}", timeout=60) as response:
        for line in response.read().decode().splitlines():
            for result in json.loads(line).get("results", []):
                if "error" in result:
                    raise RuntimeError(f"InfluxDB refused {query!r}: {result['error']}")
                for series in result.get("series", []):
                    columns = series["columns"]
                    for row in series["values"]:
                        value = dict(zip(columns, row, strict=True))
                        points.append(
                            ledger.StoredPoint(str(value["device"]), int(value["seq"]),
                                               int(value["value"]), int(value["time"]))
                        )  # fmt: skip
    return points


def default_workdir(seed: int) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return Path("/tmp") / f"eclor-chaos-{seed}-{stamp}"
