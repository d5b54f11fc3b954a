"""Errors of the boards' tooling (``eclor dashboards``).

Under :class:`cloud.errors.CloudError`::

    DashboardError            anything the boards' tooling raises on purpose
    ├── BoardInvalid          a board breaks the dashboard schema or the layout rules
    │                         (.board, .problems)
    └── GrafanaError          Grafana refused or could not be reached (.action, .reason)
"""

from __future__ import annotations

from cloud.errors import CloudError


class DashboardError(CloudError):
    """The boards' tooling could not do what was asked."""


class BoardInvalid(DashboardError):
    def __init__(self, board: str, problems: list[str]) -> None:
        self.board = board
        self.problems = problems
        super().__init__(f"board {board!r} is invalid: " + "; ".join(problems))


class GrafanaError(DashboardError):
    def __init__(self, action: str, reason: str) -> None:
        self.action = action
        self.reason = reason
        super().__init__(f"Grafana: {action}: {reason}")
