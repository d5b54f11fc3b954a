"""A Grafana HTTP API stand-in: exactly the endpoints ``eclor dashboards push`` calls.

No Grafana runs on the test machines, so this server answers like Grafana 11's HTTP API does
(status codes and bodies from Grafana's HTTP API reference: data sources, folders, dashboards,
health) and checks request bodies against what that reference documents: required keys and
their types, known keys only (Grafana ignores unknown ones; refusing them catches a misspelt
key), ``Authorization: Bearer <token>`` on everything but ``/api/health``, version checks
unless ``overwrite``, an existing ``folderUid``. Every request is recorded for the tests.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.services.ports import LOOPBACK

_UID = re.compile(r"^[a-zA-Z0-9\-_]{1,40}$")
_DATASOURCE_KEYS = {
    "name": str,
    "type": str,
    "access": str,
    "url": str,
    "user": str,
    "database": str,
    "basicAuth": bool,
    "basicAuthUser": str,
    "withCredentials": bool,
    "isDefault": bool,
    "jsonData": dict,
    "secureJsonData": dict,
    "uid": str,
    "version": int,
}
_SAVE_KEYS = {
    "dashboard": dict,
    "folderUid": str,
    "folderId": int,
    "message": str,
    "overwrite": bool,
}
_FOLDER_KEYS = {"uid": str, "title": str, "parentUid": str, "description": str}
_FOLDER_UPDATE_KEYS = {"title": str, "version": int, "overwrite": bool, "description": str}


class ApiError(Exception):
    def __init__(self, code: int, message: str, **extra: Any) -> None:
        self.code = code
        self.body = {"message": message, **extra}


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    authorization: str | None


@dataclass
class GrafanaState:
    token: str
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    next_id: int = 1

    @property
    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


def _check_body(body: Any, schema: dict[str, type], required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "bad request data")
    for key, value in body.items():
        if key not in schema:
            raise ApiError(400, f"bad request data: unknown property {key!r}")
        wanted = schema[key]
        wrong = (wanted is int and isinstance(value, bool)) or not isinstance(value, wanted)
        if wrong and not (key == "version" and value is None):
            raise ApiError(400, f"bad request data: {key} must be a {wanted.__name__}")
    for key in required:
        if key not in body or body[key] in ("", None):
            raise ApiError(400, f"bad request data: {key} is required")
    return body


class _Api:
    """The endpoints, on :class:`GrafanaState`; each returns ``(status, body)`` or raises."""

    def __init__(self, state: GrafanaState) -> None:
        self.state = state

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        routes = [
            ("GET", r"/api/health", self.health),
            ("GET", r"/api/datasources/uid/([^/]+)", self.get_datasource),
            ("POST", r"/api/datasources", self.add_datasource),
            ("PUT", r"/api/datasources/uid/([^/]+)", self.update_datasource),
            ("GET", r"/api/folders/([^/]+)", self.get_folder),
            ("POST", r"/api/folders", self.add_folder),
            ("PUT", r"/api/folders/([^/]+)", self.update_folder),
            ("GET", r"/api/dashboards/uid/([^/]+)", self.get_dashboard),
            ("POST", r"/api/dashboards/db", self.save_dashboard),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if match and verb == method:
                return handler(body, *match.groups())
        raise ApiError(404, "Not found")

    def health(self, _body: Any) -> tuple[int, Any]:
        return 200, {"commit": "standin", "database": "ok", "version": "11.6.0"}

    def get_datasource(self, _body: Any, uid: str) -> tuple[int, Any]:
        if uid not in self.state.datasources:
            raise ApiError(404, "Data source not found")
        return 200, self.state.datasources[uid]

    def _datasource_row(self, body: dict[str, Any], row_id: int, version: int) -> dict[str, Any]:
        if body["access"] not in ("proxy", "direct"):
            raise ApiError(400, "bad request data: access must be proxy or direct")
        secure = body.get("secureJsonData", {})
        if not all(isinstance(v, str) for v in secure.values()):
            raise ApiError(400, "bad request data: secureJsonData values must be strings")
        row = {
            "id": row_id,
            "uid": body["uid"],
            "orgId": 1,
            "name": body["name"],
            "type": body["type"],
            "typeLogoUrl": "",
            "access": body["access"],
            "url": body.get("url", ""),
            "user": body.get("user", ""),
            "database": body.get("database", ""),
            "basicAuth": body.get("basicAuth", False),
            "basicAuthUser": body.get("basicAuthUser", ""),
            "withCredentials": body.get("withCredentials", False),
            "isDefault": body.get("isDefault", False),
            # Grafana fills defaults into jsonData; the client must not expect an exact echo.
            "jsonData": {"timeInterval": "", **body.get("jsonData", {})},
            "secureJsonFields": {key: True for key in secure},
            "version": version,
            "readOnly": False,
        }
        return row

    def add_datasource(self, body: Any) -> tuple[int, Any]:
        body = _check_body(body, _DATASOURCE_KEYS, ("name", "type", "access"))
        uid = body.setdefault("uid", f"ds{self.state.next_id}")
        if not _UID.match(uid):
            raise ApiError(400, "invalid data source uid")
        if uid in self.state.datasources:
            raise ApiError(409, "data source with the same uid already exists")
        if any(d["name"] == body["name"] for d in self.state.datasources.values()):
            raise ApiError(409, "data source with the same name already exists")
        row = self._datasource_row(body, self.state.new_id(), 1)
        self.state.datasources[uid] = row
        return 200, {
            "datasource": row,
            "id": row["id"],
            "message": "Datasource added",
            "name": row["name"],
        }

    def update_datasource(self, body: Any, uid: str) -> tuple[int, Any]:
        body = _check_body(body, _DATASOURCE_KEYS, ("name", "type", "access"))
        held = self.state.datasources.get(uid)
        if held is None:
            raise ApiError(404, "Data source not found")
        if body.get("uid", uid) != uid:
            raise ApiError(400, "uid in body does not match the path")
        body["uid"] = uid
        row = self._datasource_row(body, held["id"], held["version"] + 1)
        if "secureJsonData" not in body:
            row["secureJsonFields"] = held["secureJsonFields"]
        self.state.datasources[uid] = row
        return 200, {
            "datasource": row,
            "id": row["id"],
            "message": "Datasource updated",
            "name": row["name"],
        }

    def get_folder(self, _body: Any, uid: str) -> tuple[int, Any]:
        if uid not in self.state.folders:
            raise ApiError(404, "folder not found", status="not-found")
        return 200, self.state.folders[uid]

    def add_folder(self, body: Any) -> tuple[int, Any]:
        body = _check_body(body, _FOLDER_KEYS, ("title",))
        uid = body.get("uid") or f"f{self.state.next_id}"
        if not _UID.match(uid):
            raise ApiError(400, "uid contains illegal characters")
        if uid in self.state.folders:
            raise ApiError(409, "a folder with the same uid already exists")
        folder = {
            "id": self.state.new_id(),
            "uid": uid,
            "orgId": 1,
            "title": body["title"],
            "url": f"/dashboards/f/{uid}/",
            "hasAcl": False,
            "canSave": True,
            "canEdit": True,
            "canAdmin": True,
            "canDelete": True,
            "version": 1,
        }
        self.state.folders[uid] = folder
        return 200, folder

    def update_folder(self, body: Any, uid: str) -> tuple[int, Any]:
        body = _check_body(body, _FOLDER_UPDATE_KEYS, ("title",))
        folder = self.state.folders.get(uid)
        if folder is None:
            raise ApiError(404, "folder not found", status="not-found")
        if not body.get("overwrite") and body.get("version") != folder["version"]:
            raise ApiError(
                412, "the folder has been changed by someone else", status="version-mismatch"
            )
        folder.update(title=body["title"], version=folder["version"] + 1)
        return 200, folder

    def get_dashboard(self, _body: Any, uid: str) -> tuple[int, Any]:
        stored = self.state.dashboards.get(uid)
        if stored is None:
            raise ApiError(404, "Dashboard not found")
        return 200, stored

    def save_dashboard(self, body: Any) -> tuple[int, Any]:
        body = _check_body(body, _SAVE_KEYS, ("dashboard",))
        board = body["dashboard"]
        if not isinstance(board.get("title"), str) or not board["title"].strip():
            raise ApiError(400, "Dashboard title cannot be empty", status="empty-name")
        uid = board.get("uid")
        if uid is not None and (not isinstance(uid, str) or not _UID.match(uid)):
            raise ApiError(400, "uid contains illegal characters", status="bad-uid")
        folder_uid = body.get("folderUid", "")
        if folder_uid and folder_uid not in self.state.folders:
            raise ApiError(400, "folder not found", status="folder-not-found")
        existing = self.state.dashboards.get(uid) if uid else None
        if board.get("id") is not None and (
            existing is None or existing["dashboard"]["id"] != board["id"]
        ):
            raise ApiError(404, "Dashboard not found", status="not-found")
        overwrite = bool(body.get("overwrite"))
        version_held = existing["dashboard"]["version"] if existing else None
        if existing is not None and not overwrite and board.get("version") != version_held:
            raise ApiError(
                412, "The dashboard has been changed by someone else", status="version-mismatch"
            )
        for other_uid, other in self.state.dashboards.items():
            same_place = other["meta"]["folderUid"] == folder_uid
            same_title = other["dashboard"]["title"] == board["title"]
            if other_uid != uid and same_place and same_title and not overwrite:
                raise ApiError(
                    412,
                    "A dashboard with the same name in the folder already exists",
                    status="name-exists",
                )
        uid = uid or f"d{self.state.next_id}"
        row_id = existing["dashboard"]["id"] if existing else self.state.new_id()
        version = existing["dashboard"]["version"] + 1 if existing else 1
        slug = re.sub(r"[^a-z0-9]+", "-", board["title"].lower()).strip("-")
        stored = {**board, "id": row_id, "uid": uid, "version": version}
        meta = {
            "type": "db",
            "slug": slug,
            "url": f"/d/{uid}/{slug}",
            "folderUid": folder_uid,
            "folderTitle": self.state.folders[folder_uid]["title"] if folder_uid else "General",
            "version": version,
            "provisioned": False,
        }
        self.state.dashboards[uid] = {"dashboard": stored, "meta": meta}
        answer = {
            "id": row_id,
            "uid": uid,
            "url": meta["url"],
            "status": "success",
            "version": version,
        }
        return 200, {**answer, "slug": slug, "folderUid": folder_uid}


class GrafanaStandIn:
    """``with GrafanaStandIn(token) as grafana: …`` serves on ``grafana.url`` in a thread."""

    def __init__(self, token: str = "glsa_standin_token") -> None:
        self.state = GrafanaState(token)
        api = _Api(self.state)
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                auth = self.headers.get("Authorization")
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                state.requests.append(Recorded(self.command, path, body, auth))
                try:
                    if path != "/api/health" and auth != f"Bearer {state.token}":
                        raise ApiError(
                            401, "Unauthorized", messageId="auth.unauthorized", statusCode=401
                        )
                    if isinstance(body, str):
                        raise ApiError(400, "bad request data: not JSON")
                    if (
                        self.command in ("POST", "PUT")
                        and self.headers.get_content_type() != "application/json"
                    ):
                        raise ApiError(415, "Unsupported Media Type: application/json expected")
                    status, answer = api.handle(self.command, path, body)
                except ApiError as error:
                    status, answer = error.code, error.body
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.url = f"http://{LOOPBACK}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> GrafanaStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
