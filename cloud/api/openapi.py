"""The OpenAPI document, with error responses declared as ``application/problem+json``.

FastAPI declares every response model under ``application/json``; error answers are problem
details (:mod:`cloud.api.problems`), so the schema is rewritten once, when first asked for. Errors
of another model (Open311's own error arrays) keep ``application/json``, as they are served.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from cloud.api.problems import PROBLEM_MEDIA_TYPE

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _problem_media_types(schema)
            _body_limits(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _problem_media_types(schema: dict[str, Any]) -> None:
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                json = content.get("application/json")
                if status[:1] in ("4", "5") and json is not None and json.get("schema") == PROBLEM:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")


def _body_limits(schema: dict[str, Any]) -> None:
    """Every operation taking a body may get 413: the body limit applies before any route."""
    too_large = {
        "description": "Content Too Large",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM}},
    }
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault("413", too_large)
