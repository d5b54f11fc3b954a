"""The short chaos run for CI: every fault kind once, real processes, every invariant checked.

About two and a half minutes: 75 s of faults after an 8 s warm-up, then the drain and the
checks. The long run is ``python -m tests.chaos --seed 1 --minutes 10`` (docs/chaos.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.chaos.faults import Kind
from tests.chaos.lights import expected_lit
from tests.chaos.run import run
from tests.chaos.stand import SITE

pytestmark = pytest.mark.integration


def test_a_short_chaos_run_loses_nothing_changes_nothing_and_keeps_the_lights(
    tmp_path: Path,
) -> None:
    lit = expected_lit(datetime.now(UTC), 49.4717, 5.9078, str(SITE["timezone"]))
    report = run(seed=7, fault_s=75, workdir=tmp_path, min_each=1)
    table = report.table()
    print(table)

    assert {k.value for k in Kind} <= set(+report.injected.counts), table
    counts = report.verdict.counts
    assert report.verdict.ok, table
    assert counts["lost"] == counts["changed"] == counts["uncommitted"] == 0, table
    assert counts["produced"] > 500, table
    assert counts["stored"] + counts["evicted"] + counts["in_window"] == counts["produced"], table
    assert report.verdict.evicted_by_agent["gw-full"] > 0, "the small outbox should have evicted"
    assert counts["evicted"] > 0, table
    assert report.drained, table
    assert not report.lights.problems, table
    if lit:  # at night the power cut opens lit contactors: the agent must have put them back
        assert report.lights.wrong_stretches, table
