"""The CI fuzz runs: each atheris target for 20 s in a subprocess, no findings allowed.

A finding fails the test with the exception and the crash file; replay it with
``python -m fuzz reproduce --target NAME FILE`` and turn it into a regression test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz.runner import RunResult, parse, run
from fuzz.targets import TARGETS

SECONDS = 20


@pytest.mark.parametrize("target", TARGETS)
def test_short_fuzz_run_finds_nothing(target: str, tmp_path: Path) -> None:
    result = run(target, SECONDS, tmp_path)
    assert not result.findings, result.summary()
    assert result.returncode == 0, result.output[-3000:]
    assert result.executions > 100, result.summary()
    assert result.coverage > 0, result.summary()


def test_the_runner_reads_a_crash_report_from_libfuzzer_output(tmp_path: Path) -> None:
    """The output atheris printed for the first modbus finding (trimmed)."""
    result = RunResult("wire", 1.0, returncode=1)
    result.output = (
        "#2\tINITED cov: 143 ft: 143 corp: 1/1b exec/s: 0 rss: 64Mb\n"
        "#8192\tpulse  cov: 234 ft: 714 corp: 44/649b lim: 33 exec/s: 2048 rss: 64Mb\n"
        "\n === Uncaught Python exception: ===\nBadValue: int16 decoded as -inf\n"
        "artifact_prefix='/tmp/a/'; Test unit written to /tmp/a/crash-ae99\n"
    )
    parse(result)
    assert (result.executions, result.coverage, result.features) == (8192, 234, 714)
    assert result.findings == [Path("/tmp/a/crash-ae99")]
    assert result.exceptions == ["BadValue: int16 decoded as -inf"]
