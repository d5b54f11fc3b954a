"""Run one target under libFuzzer in a subprocess and summarise what it did.

atheris takes over the process it runs in (libFuzzer calls ``exit`` on a finding), so the runner
starts ``python -m fuzz.launch`` and reads libFuzzer's report from its output: executions, exec/s,
coverage (``cov``: edges, ``ft``: features) and the crash files it wrote.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from fuzz.targets import TARGETS

HERE = Path(__file__).resolve().parent
SEEDS = HERE / "corpus"
_DONE = re.compile(r"^Done (?P<runs>\d+) runs in (?P<secs>\d+) second", re.M)
_STATS = re.compile(
    r"^#(?P<runs>\d+)\s+\w+\s+cov: (?P<cov>\d+) ft: (?P<ft>\d+) corp: (?P<corp>\d+)/\S+"
    r"(?: lim: \d+)? exec/s: (?P<rate>\d+)",
    re.M,
)
_ARTIFACT = re.compile(r"Test unit written to (?P<path>\S+)")
_EXCEPTION = re.compile(r"=== Uncaught Python exception: ===\n(?P<line>[^\n]+)")


@dataclass(slots=True)
class RunResult:
    target: str
    seconds: float
    executions: int = 0
    exec_per_s: int = 0
    coverage: int = 0
    features: int = 0
    corpus: int = 0
    findings: list[Path] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    returncode: int = 0
    output: str = ""

    def summary(self) -> str:
        lines = [
            f"target {self.target}: {self.executions} executions in {self.seconds:.0f} s "
            f"({self.exec_per_s} exec/s), cov {self.coverage}, ft {self.features}, "
            f"corpus {self.corpus}",
            f"findings: {len(self.findings)}",
        ]
        for path, exception in zip(self.findings, self.exceptions, strict=False):
            lines.append(f"  {path}: {exception}")
        return "\n".join(lines)


def command(target: str, seconds: int, corpus: Path, artifacts: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "fuzz.launch",
        target,
        f"-max_total_time={seconds}",
        f"-artifact_prefix={artifacts}/",
        "-timeout=20",
        "-rss_limit_mb=2048",
        "-print_final_stats=1",
        str(corpus),
        str(SEEDS / target),
    ]


def run(target: str, seconds: int, workdir: Path | None = None) -> RunResult:
    """Fuzz ``target`` for ``seconds``; new corpus entries and crashes go under ``workdir``."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r} (have {', '.join(TARGETS)})")
    base = workdir or Path(tempfile.mkdtemp(prefix=f"eclor-fuzz-{target}-"))
    corpus, artifacts = base / "corpus", base / "artifacts"
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    done = subprocess.run(
        command(target, seconds, corpus, artifacts),
        cwd=HERE.parent,
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    result = RunResult(target, time.monotonic() - started, returncode=done.returncode)
    result.output = done.stderr + done.stdout
    parse(result)
    return result


def parse(result: RunResult) -> None:
    stats = list(_STATS.finditer(result.output))
    if stats:
        last = stats[-1]
        result.coverage, result.features = int(last["cov"]), int(last["ft"])
        result.corpus, result.exec_per_s = int(last["corp"]), int(last["rate"])
        result.executions = int(last["runs"])
    done = _DONE.search(result.output)
    if done is not None:
        result.executions = int(done["runs"])
        result.exec_per_s = int(done["runs"]) // max(int(done["secs"]), 1)
    result.findings = [Path(m["path"]) for m in _ARTIFACT.finditer(result.output)]
    result.exceptions = [m["line"] for m in _EXCEPTION.finditer(result.output)]
