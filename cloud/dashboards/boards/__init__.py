"""Every board, in the order of the folder."""

from __future__ import annotations

from cloud.dashboards.board import Board
from cloud.dashboards.boards import consumption, fleet, lighting, traffic, waste

BOARDS: tuple[Board, ...] = (
    consumption.BOARD,
    lighting.BOARD,
    waste.BOARD,
    traffic.BOARD,
    fleet.BOARD,
)
