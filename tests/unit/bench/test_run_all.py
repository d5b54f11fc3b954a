"""bench.run_all's runner: a benchmark that breaks or hangs becomes a FAILED outcome, one that
works hands its figures back (real subprocesses; the wire benchmark is the quick one)."""

from __future__ import annotations

from pathlib import Path

from bench.run_all import Benchmark, run_one


def test_a_working_benchmark_hands_its_figures_back(tmp_path: Path) -> None:
    outcome = run_one(Benchmark("wire", "Wire codec", (), ("--rounds", "2"), 60), True, tmp_path)
    assert not outcome.failed, outcome.error
    assert outcome.figures is not None
    labels = [figure.label for figure in outcome.figures.figures]
    assert labels == ["encode, eclor.wire", "decode, eclor.wire"]
    assert all(figure.ratio and figure.ratio > 0 for figure in outcome.figures.figures)
    assert outcome.command == "python -m bench.wire --rounds 2"


def test_a_crashing_benchmark_is_failed_with_its_output(tmp_path: Path) -> None:
    bench = Benchmark("wire", "Wire codec", (), ("--rounds", "not-a-number"), 60)
    outcome = run_one(bench, True, tmp_path)
    assert outcome.failed
    assert outcome.error.startswith("exit code 2")
    assert "invalid int value" in outcome.error


def test_a_hanging_benchmark_is_stopped_and_failed(tmp_path: Path) -> None:
    bench = Benchmark("wire", "Wire codec", (), ("--rounds", "1000000"), 1.5)
    outcome = run_one(bench, True, tmp_path)
    assert outcome.failed
    assert outcome.error.startswith("timed out after 1.5 s")
    assert outcome.seconds < 30
