"""``eclor dashboards build``: the boards' JSON and the provisioning files, from the Python source.

Boards are written in the SDK's canonical form (built, then read back through the schema models
once), so the committed files, a fresh build and the schema check all agree byte for byte.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.models.dashboard import Dashboard

from cloud.dashboards import provisioning
from cloud.dashboards.board import Board
from cloud.dashboards.boards import BOARDS
from cloud.dashboards.validate import _register as register_sdk
from cloud.dashboards.validate import check, plain, to_json_text

log = logging.getLogger(__name__)


def default_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "dashboards"


def board_json(board: Board) -> dict[str, Any]:
    """The board in canonical form, checked against the schema and the layout rules."""
    register_sdk()
    canonical: dict[str, Any] = plain(Dashboard.from_json(plain(board.build())))
    check(canonical)
    return canonical


def rendered(boards: tuple[Board, ...] = BOARDS) -> dict[str, str]:
    """Relative path → file text, for every file ``build`` writes."""
    files = {f"{board.uid}.json": to_json_text(board_json(board)) for board in boards}
    files.update(provisioning.files())
    return files


def build(out: Path | None = None) -> list[Path]:
    """Write every file under ``out``; returns the paths that changed."""
    root = out or default_dir()
    changed = []
    for relative, text in rendered().items():
        path = root / relative
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        changed.append(path)
        log.info("wrote %s", path)
    return changed
