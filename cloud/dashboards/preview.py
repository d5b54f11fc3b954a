"""``eclor dashboards preview``: one PNG per panel, from the same InfluxQL the board sends.

Variables are chosen as Grafana would offer them (first value of each cascading query, « All »
where a query has none), the queries run against InfluxDB and matplotlib draws the series with
the panel's thresholds as dashed lines. Prometheus panels are listed as skipped (no Prometheus is
queried here), and a panel whose queries return nothing is listed as empty: both are reported,
never drawn as a blank picture.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from cloud.dashboards.board import Board
from cloud.dashboards.boards import BOARDS
from cloud.dashboards.influx import InfluxReader, Range, Series
from cloud.dashboards.panels import PanelSpec
from cloud.dashboards.query import Query

log = logging.getLogger(__name__)


@dataclass
class PreviewResult:
    written: list[Path] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    variables: dict[str, dict[str, str]] = field(default_factory=dict)


def preview(
    reader: InfluxReader,
    window: Range,
    out: Path,
    boards: tuple[Board, ...] = BOARDS,
    prefer: dict[str, str] | None = None,
) -> PreviewResult:
    result = PreviewResult()
    for board in boards:
        window = Range(window.start_ms, window.end_ms + board.ahead_h * 3_600_000, window.interval)
        chosen = reader.choose(board, window, prefer=prefer, strict=False)
        result.variables[board.uid] = chosen
        folder = out / board.uid
        folder.mkdir(parents=True, exist_ok=True)
        for number, spec in enumerate(board.panels, start=1):
            name = f"{board.uid} #{number} {spec.title}"
            if spec.prometheus:
                result.skipped.append(f"{name} (Prometheus)")
                continue
            drawn = [
                (query, reader.panel_series(query, chosen, window))
                for query in spec.queries
                if isinstance(query, Query)
            ]
            if not any(series for _, series in drawn):
                result.empty.append(name)
                continue
            path = folder / f"{number:02d}-{_slug(spec.title)}.png"
            if spec.kind == "table":
                _draw_table(spec, drawn, chosen, path)
            elif spec.kind == "stat":
                _draw_stat(spec, drawn, chosen, path)
            else:
                _draw(spec, drawn, chosen, path)
            result.written.append(path)
    return result


def _draw(
    spec: PanelSpec, drawn: list[tuple[Query, list[Series]]], chosen: dict[str, str], path: Path
) -> None:
    figure, axes = plt.subplots(figsize=(10, 4), dpi=80)
    try:
        first_unit = drawn[0][0].effective_unit
        for query, series_list in drawn:
            # a second unit gets its own axis on the right, as Grafana's override does
            target = axes if query.effective_unit == first_unit else axes.twinx()
            for series in series_list:
                for index, column in enumerate(series.columns[1:], start=1):
                    _plot(target, spec, series, index, f"{column} {_tags(series)}".strip())
            label = f"{query.columns[0].field.label} [{query.effective_unit}]"
            target.set_ylabel(label, fontsize=8)
            if target is not axes:
                target.legend(fontsize=6, loc="upper right")
        for value, colour in spec.thresholds if spec.kind != "states" else ():
            axes.axhline(value, color=colour, linestyle="--", linewidth=0.8)
        variables = ", ".join(f"{k}={v}" for k, v in chosen.items())
        axes.set_title(f"{spec.title}\n{variables}", fontsize=9)
        axes.xaxis_date("Europe/Paris")
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m %Hh"))  # type: ignore[no-untyped-call]
        axes.legend(fontsize=6, loc="upper left")
        figure.autofmt_xdate()
        figure.savefig(path, bbox_inches="tight")
    finally:
        plt.close(figure)


def _draw_table(
    spec: PanelSpec, drawn: list[tuple[Query, list[Series]]], chosen: dict[str, str], path: Path
) -> None:
    rows: list[list[str]] = []
    header: list[str] = []
    for _query, series_list in drawn:
        for series in series_list:
            keys = sorted(series.tags)
            header = [*keys, *series.columns[1:]]
            for values in series.values:
                rows.append([series.tags[k] for k in keys] + [str(v) for v in values[1:]])
    figure, axes = plt.subplots(figsize=(10, 1.6 + 0.3 * len(rows)), dpi=80)
    try:
        axes.axis("off")
        axes.table(cellText=rows, colLabels=header, loc="center")
        variables = ", ".join(f"{k}={v}" for k, v in chosen.items())
        axes.set_title(f"{spec.title}\n{variables}", fontsize=9)
        figure.savefig(path, bbox_inches="tight")
    finally:
        plt.close(figure)


def _draw_stat(
    spec: PanelSpec, drawn: list[tuple[Query, list[Series]]], chosen: dict[str, str], path: Path
) -> None:
    lines = []
    for query, series_list in drawn:
        for series in series_list:
            for index, column in enumerate(series.columns[1:], start=1):
                values = [row[index] for row in series.values if row[index] is not None]
                if values:
                    value = values[-1]
                    shown = f"{value:.2f}" if isinstance(value, float) else str(value)
                    lines.append(f"{column} = {shown} [{query.effective_unit}] {_tags(series)}")
    figure, axes = plt.subplots(figsize=(6, 2.4), dpi=80)
    try:
        axes.axis("off")
        axes.text(0.5, 0.45, "\n".join(lines), ha="center", va="center", fontsize=14)
        variables = ", ".join(f"{k}={v}" for k, v in chosen.items())
        axes.set_title(f"{spec.title}\n{variables}", fontsize=9)
        figure.savefig(path, bbox_inches="tight")
    finally:
        plt.close(figure)


def _plot(axes: Axes, spec: PanelSpec, series: Series, index: int, label: str) -> None:
    rows = [row for row in series.values if row[index] is not None]
    if not rows:
        return
    # matplotlib's date numbers: days since 1970-01-01 UTC
    times = [row[0] / 86_400_000 for row in rows]
    states = sorted({str(row[index]) for row in rows if isinstance(row[index], str)})
    values = [states.index(row[index]) if states else _number(row[index]) for row in rows]
    if states:
        axes.set_yticks(range(len(states)), states, fontsize=7)
    if spec.kind == "bars":
        axes.bar(times, values, width=0.03 if len(rows) > 48 else 0.8, label=label)
    else:
        axes.step(times, values, where="post", label=label)


def _number(value: object) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    raise TypeError(f"not a number: {value!r}")


def _tags(series: Series) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(series.tags.items()) if v)


def _slug(title: str) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]
