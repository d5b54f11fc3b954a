"""``eclor dashboards push``: data sources, folder and boards into a Grafana, through its HTTP API.

Idempotent: each object is read first (by uid) and written only when what Grafana holds differs
from what the source builds, so a second run changes nothing. ``dry_run`` plans the same changes
and returns them, each with a unified diff, without writing.

HTTP goes through ``grafana-client`` (the maintained successor of the abandoned ``grafana-api``):

- ``GET /api/health``: reachable (no auth);
- ``GET /api/datasources/uid/{uid}``, ``POST /api/datasources``, ``PUT /api/datasources/uid/{uid}``;
- ``GET /api/folders/{uid}``, ``POST /api/folders``, ``PUT /api/folders/{uid}``;
- ``GET /api/dashboards/uid/{uid}``, ``POST /api/dashboards/db`` (``overwrite``, ``folderUid``).
"""

from __future__ import annotations

import difflib
import json
import logging
from dataclasses import dataclass
from typing import Any, Literal

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from cloud.dashboards import provisioning
from cloud.dashboards.boards import BOARDS
from cloud.dashboards.build import board_json
from cloud.dashboards.errors import GrafanaError

log = logging.getLogger(__name__)
Action = Literal["create", "update", "unchanged"]
_DATASOURCE_KEYS = ("name", "type", "access", "url", "basicAuth", "isDefault", "user", "jsonData")
_GRAFANA_ADDED = ("id", "version")


@dataclass(frozen=True)
class Settings:
    grafana_url: str
    token: str
    influx_url: str
    influx_database: str = "eclor"
    influx_user: str = ""
    influx_password: str = ""
    prometheus_url: str | None = None
    timeout_s: float = 10.0


@dataclass(frozen=True)
class Change:
    kind: Literal["datasource", "folder", "dashboard"]
    uid: str
    action: Action
    diff: str

    def line(self) -> str:
        return f"{self.action} {self.kind} {self.uid}"


class Pusher:
    def __init__(self, settings: Settings, api: GrafanaApi | None = None) -> None:
        self._settings = settings
        self._api = api or GrafanaApi.from_url(
            settings.grafana_url, credential=settings.token, timeout=settings.timeout_s
        )

    def run(self, dry_run: bool = False) -> list[Change]:
        self._call("health", "GET", "/health")
        changes = [self._datasource(source, dry_run) for source in self._datasources()]
        changes.append(self._folder(dry_run))
        changes += [self._dashboard(board_json(board), dry_run) for board in BOARDS]
        for change in changes:
            log.info("%s", change.line())
        return changes

    def _datasources(self) -> list[dict[str, Any]]:
        s = self._settings
        sources = [
            provisioning.influx_datasource(
                s.influx_url, s.influx_database, s.influx_user, s.influx_password
            )
        ]
        if s.prometheus_url:
            sources.append(provisioning.prometheus_datasource(s.prometheus_url))
        return sources

    def _datasource(self, wanted: dict[str, Any], dry_run: bool) -> Change:
        uid = wanted["uid"]
        held = self._get(f"datasource {uid}", f"/datasources/uid/{uid}")
        shown = {k: wanted[k] for k in _DATASOURCE_KEYS if k in wanted}
        if held is None:
            change = Change("datasource", uid, "create", _diff({}, shown, uid))
            if not dry_run:
                self._call(f"create datasource {uid}", "POST", "/datasources", wanted)
            return change
        current = {k: held[k] for k in _DATASOURCE_KEYS if k in held}
        if _covers(current, shown):
            return Change("datasource", uid, "unchanged", "")
        if not dry_run:
            self._call(f"update datasource {uid}", "PUT", f"/datasources/uid/{uid}", wanted)
        return Change("datasource", uid, "update", _diff(current, shown, uid))

    def _folder(self, dry_run: bool) -> Change:
        uid, title = provisioning.FOLDER_UID, provisioning.FOLDER_TITLE
        held = self._get(f"folder {uid}", f"/folders/{uid}")
        if held is None:
            if not dry_run:
                self._call(f"create folder {uid}", "POST", "/folders", {"uid": uid, "title": title})
            return Change("folder", uid, "create", _diff({}, {"title": title}, uid))
        if held.get("title") == title:
            return Change("folder", uid, "unchanged", "")
        if not dry_run:
            body = {"title": title, "version": held.get("version"), "overwrite": True}
            self._call(f"update folder {uid}", "PUT", f"/folders/{uid}", body)
        return Change(
            "folder", uid, "update", _diff({"title": held.get("title")}, {"title": title}, uid)
        )

    def _dashboard(self, board: dict[str, Any], dry_run: bool) -> Change:
        uid = str(board["uid"])
        held = self._get(f"dashboard {uid}", f"/dashboards/uid/{uid}")
        before: dict[str, Any] = {}
        if held is not None:
            before = {k: v for k, v in held["dashboard"].items() if k not in _GRAFANA_ADDED}
            folder = held.get("meta", {}).get("folderUid")
            if before == board and folder == provisioning.FOLDER_UID:
                return Change("dashboard", uid, "unchanged", "")
        if not dry_run:
            body = {
                "dashboard": board,
                "folderUid": provisioning.FOLDER_UID,
                "overwrite": True,
                "message": "eclor dashboards push",
            }
            self._call(f"save dashboard {uid}", "POST", "/dashboards/db", body)
        action: Action = "create" if held is None else "update"
        return Change("dashboard", uid, action, _diff(before, board, uid))

    def _get(self, what: str, path: str) -> dict[str, Any] | None:
        try:
            found = self._api.client.GET(path)
        except GrafanaClientError as exc:
            if exc.status_code == 404:
                return None
            raise GrafanaError(f"read {what}", _reason(exc)) from exc
        except GrafanaException as exc:
            raise GrafanaError(f"read {what}", _reason(exc)) from exc
        except OSError as exc:  # niquests' connection errors are OSErrors
            raise GrafanaError(f"read {what}", str(exc)) from exc
        if not isinstance(found, dict):
            raise GrafanaError(f"read {what}", f"unexpected answer {found!r}")
        return found

    def _call(self, action: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            return getattr(self._api.client, method)(path, json=body)
        except GrafanaException as exc:
            raise GrafanaError(action, _reason(exc)) from exc
        except OSError as exc:  # connection refused, DNS: niquests' errors are OSErrors
            raise GrafanaError(action, str(exc)) from exc


def _covers(held: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Grafana adds defaults to jsonData; what we set must be there with the same values."""
    for key, value in wanted.items():
        if isinstance(value, dict):
            inner = held.get(key)
            if not isinstance(inner, dict) or not _covers(inner, value):
                return False
        elif held.get(key) != value:
            return False
    return True


def _diff(before: dict[str, Any], after: dict[str, Any], uid: str) -> str:
    lines_before = json.dumps(before, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    lines_after = json.dumps(after, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    diff = difflib.unified_diff(
        lines_before, lines_after, f"grafana/{uid}", f"eclor/{uid}", lineterm=""
    )
    return "\n".join(diff)


def _reason(exc: GrafanaException) -> str:
    return f"HTTP {exc.status_code}: {exc.message}" if exc.status_code else str(exc.message)
