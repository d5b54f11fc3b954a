"""``docs/benchmarks.md`` from one run of ``bench.run_all``: the machine, the date, each
benchmark's figures as ratios to their same-run references (or a FAILED row), and the 1 million
luminaire projection as arithmetic. Pure rendering: everything comes in as data."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

from bench.figures import Figure, Figures
from bench.projection import SOURCES, Assumptions, Measured, Projection
from bench.report_text import ABOUT, HISTORY


@dataclass(frozen=True)
class Outcome:
    """One benchmark's run: its figures, or why there are none."""

    key: str
    title: str
    command: str
    seconds: float
    figures: Figures | None
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.figures is None


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    ram_gb: float
    kernel: str
    python: str
    load: str
    libraries: dict[str, str]
    services: dict[str, str]


def number(value: float | None) -> str:
    """A figure as people read it: thousands separated, three significant digits below 100."""
    if value is None or not math.isfinite(value):
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def ratio(value: float | None) -> str:
    return "–" if value is None else f"**{value:.2f}×**"


def figure_row(figure: Figure) -> str:
    reference = (
        f"{number(figure.reference)} {figure.unit} ({figure.reference_label})"
        if figure.reference is not None
        else "–"
    )
    cells = (figure.label, f"{number(figure.value)} {figure.unit}", reference,
             ratio(figure.ratio), figure.note)  # fmt: skip
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def figures_table(outcome: Outcome) -> list[str]:
    head = ["| figure | value | same-run reference | ratio | note |", "|---|---|---|---|---|"]
    if outcome.figures is None:
        reason = outcome.error.strip().splitlines()[0] if outcome.error.strip() else "no figures"
        return [*head, f"| **FAILED** | – | – | – | {reason.replace('|', '/')} |"]
    rows = [figure_row(f) for f in outcome.figures.figures]
    if not rows:
        rows = ["| **FAILED** | – | – | – | the benchmark ended without figures |"]
    return head + rows


def section(outcome: Outcome) -> list[str]:
    lines = [f"## {outcome.title}", "", f"`{outcome.command}` — {outcome.seconds:,.0f} s", ""]
    if outcome.key in ABOUT:
        lines += [ABOUT[outcome.key].strip(), ""]
    lines += figures_table(outcome)
    lines.append("")
    if outcome.figures is not None:
        lines += [f"- {note}" for note in outcome.figures.notes]
    if outcome.failed and outcome.error.strip():
        lines += ["Last lines of its output:", "", "```", outcome.error.strip(), "```"]
    if outcome.figures is not None and outcome.figures.notes:
        lines.append("")
    if outcome.key in HISTORY:
        lines += [
            "<details><summary>Earlier findings (measured by hand on earlier code; the record "
            "of why the code is as it is)</summary>",
            "",
            HISTORY[outcome.key].strip(),
            "",
            "</details>",
            "",
        ]
    return lines


def machine_lines(machine: Machine) -> list[str]:
    libraries = ", ".join(f"{name} {version}" for name, version in machine.libraries.items())
    services = ", ".join(f"{name} {version}" for name, version in machine.services.items())
    return [
        "| | |",
        "|---|---|",
        f"| CPU | {machine.cpu}, {machine.cores} cores |",
        f"| RAM | {machine.ram_gb:.1f} GB |",
        f"| kernel | {machine.kernel} |",
        f"| Python | {machine.python} |",
        f"| load average at start | {machine.load} |",
        f"| libraries | {libraries} |",
        f"| services | {services} |",
    ]


def summary_lines(outcomes: Sequence[Outcome]) -> list[str]:
    lines = ["| benchmark | result | time |", "|---|---|---|"]
    for outcome in outcomes:
        count = 0 if outcome.figures is None else len(outcome.figures.figures)
        plural = "figure" if count == 1 else "figures"
        state = "**FAILED**" if outcome.failed or count == 0 else f"{count} {plural}"
        lines.append(f"| {outcome.title} | {state} | {outcome.seconds:,.0f} s |")
    return lines


def projection_lines(
    projection: Projection | None, measured: Measured | None, assumptions: Assumptions, why: str
) -> list[str]:
    lines = ["## Projection: 1 million luminaires", "", ABOUT["projection"].strip(), ""]
    if projection is None or measured is None:
        return [*lines, f"**Not computed**: {why}.", ""]
    lines += ["Measured in this run:", "", "| per-unit cost | value | what |", "|---|---|---|"]
    lines += [
        f"| `{f.name}` | {number(getattr(measured, f.name))} | {SOURCES.get(f.name, '')} |"
        for f in fields(measured)
    ]
    lines += ["", "Assumptions (not measured):", ""]
    for f in fields(assumptions):
        why = f.metadata.get("why", "")
        lines.append(f"- `{f.name}` = {getattr(assumptions, f.name):,}: {why}")
    lines += ["", "| quantity | arithmetic | result |", "|---|---|---|"]
    lines += [f"| {label} | {arith} | {result} |" for label, arith, result in projection.lines]
    v = projection.values
    by_conn = v["brokers_by_connections"] >= v["brokers_by_cpu"]
    limit = "connections, not CPU" if by_conn else "CPU, not connections"
    lines += [
        "",
        f"In words: {v['gateways']:,.0f} gateways send {v['points_s']:,.0f} points/s on average "
        f"({v['peak_points_s']:,.0f} while a fleet-wide backlog drains); "
        f"{v['ingest_workers']:,.0f} ingest workers and {v['brokers']:,.0f} brokers carry it, "
        f"the broker count set by {limit}. InfluxDB holds {v['series']:,.0f} "
        f"series (about {v['index_ram_gb']:,.1f} GB of in-memory index with 1.x's `inmem` index; "
        f"`tsi1` keeps it on disk) and grows by {v['disk_gb_year']:,.0f} GB a year, kept "
        "forever by the product's default. The write load is small; the series count and the "
        "disk are what size the InfluxDB machine. At one reading per luminaire per interval a "
        "gateway's readings cost it almost nothing; its fixed per-second costs (the 20-device "
        "row of the cost growth) dominate. The influxd and ingest CPU per point were "
        "measured on 18-field SDM630 points, so they overstate the cost of 6-field luminaire "
        "points.",
        "",
    ]
    return lines


def render(
    outcomes: Sequence[Outcome],
    machine: Machine,
    started: str,
    total_s: float,
    command: str,
    projection: tuple[Projection | None, Measured | None, Assumptions, str],
) -> str:
    failed = [o.title for o in outcomes if o.failed]
    lines = [
        "# Benchmarks",
        "",
        f"<!-- Generated by `{command}`; do not edit by hand: change `bench/report.py`, "
        "`bench/report_text.py` or the benchmarks and run it again. -->",
        "",
        f"Generated by `{command}` on {started} in {total_s / 60:,.1f} minutes; not written by "
        "hand. Each figure is a ratio to a reference measured in the same run on the same "
        "machine, so the figures mean something on a shared, noisy box. Re-run the command to "
        "check them (`make bench` runs the full set; `--quick` a short one for development).",
        "",
        "## Machine",
        "",
        *machine_lines(machine),
        "",
        "## Summary",
        "",
        *summary_lines(outcomes),
        "",
    ]
    if failed:
        lines += [f"**{len(failed)} benchmark(s) FAILED in this run**: {', '.join(failed)}.", ""]
    for outcome in outcomes:
        lines += section(outcome)
    lines += projection_lines(*projection)
    return "\n".join(lines).rstrip() + "\n"
