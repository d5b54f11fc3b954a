"""Run a board's queries against an InfluxDB the way Grafana would, with real variable values.

Used by ``eclor dashboards preview`` and by the tests: template variables are resolved top-down
(each cascading query is run with the choices above it substituted), then every panel query is
run over the chosen range with ``$timeFilter``, ``$__interval`` and the variables replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from cloud.dashboards.board import Board, TagVariable, TextVariable
from cloud.dashboards.errors import DashboardError
from cloud.dashboards.query import ALL, Query, substitute


@dataclass(frozen=True)
class Series:
    name: str
    tags: dict[str, str]
    columns: list[str]
    values: list[list[Any]]


@dataclass(frozen=True)
class Range:
    start_ms: int
    end_ms: int
    interval: str = "1h"


class InfluxReader:
    def __init__(self, url: str, database: str, timeout_s: float = 30.0) -> None:
        self._client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout_s)
        self._database = database

    def close(self) -> None:
        self._client.close()

    def run(self, influxql: str) -> list[Series]:
        params = {"db": self._database, "q": influxql, "epoch": "ms"}
        try:
            response = self._client.get("/query", params=params)
        except httpx.HTTPError as exc:
            raise DashboardError(f"InfluxDB unreachable for {influxql!r}: {exc}") from exc
        body = response.json() if response.content else {}
        if response.status_code != 200:
            raise DashboardError(
                f"InfluxDB refused {influxql!r}: {body.get('error', response.text)}"
            )
        [result] = body["results"]
        if "error" in result:
            raise DashboardError(f"InfluxDB error for {influxql!r}: {result['error']}")
        return [
            Series(s["name"], s.get("tags", {}), s["columns"], s["values"])
            for s in result.get("series", [])
        ]

    def variable_values(
        self, variable: TagVariable, chosen: dict[str, str], window: Range
    ) -> list[str]:
        text = substitute(
            variable.influxql(), chosen, window.start_ms, window.end_ms, window.interval
        )
        return sorted({str(row[1]) for series in self.run(text) for row in series.values})

    def choose(
        self,
        board: Board,
        window: Range,
        prefer: dict[str, str] | None = None,
        strict: bool = True,
    ) -> dict[str, str]:
        """One value per variable, top-down: ``prefer``'s when offered, else the first.

        A variable without values raises, or with ``strict=False`` is set to « All »."""
        chosen: dict[str, str] = {}
        for variable in board.variables:
            if isinstance(variable, TextVariable):
                chosen[variable.name] = variable.default
                continue
            values = self.variable_values(variable, chosen, window)
            if not values and not strict:
                chosen[variable.name] = ALL
                continue
            if not values:
                raise DashboardError(
                    f"board {board.uid}: variable ${variable.name} has no value under {chosen}"
                )
            wanted = (prefer or {}).get(variable.name)
            chosen[variable.name] = wanted if wanted in values else values[0]
        return chosen

    def panel_series(self, query: Query, chosen: dict[str, str], window: Range) -> list[Series]:
        text = substitute(query.influxql(), chosen, window.start_ms, window.end_ms, window.interval)
        return self.run(text)
