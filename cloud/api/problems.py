"""Every error as RFC 9457 (ex-7807) problem details, ``application/problem+json``.

Each problem has ``type`` (a URN naming its kind, listed in :data:`KINDS`; ``about:blank`` for
plain HTTP errors such as 405), ``title`` (fixed per kind), ``status``, ``detail`` (this
occurrence, in words) and ``instance`` (the request path). Extension members: ``errors`` on
validation problems (where and what, never the rejected input), ``request_id`` on internal
errors (the same id is logged with the traceback), and health checks on ``/healthz``'s 503.
Error responses are never cached (``Cache-Control: no-store``).

Raise :class:`ApiProblem` from routes; :func:`install_problem_handlers` maps the cloud's own
errors (:mod:`cloud.errors`), FastAPI's validation errors, Starlette's HTTP errors and, as the
one last resort, any other exception.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.responses import Response

from cloud.errors import Conflict, NotFound, QueryError, StoreUnavailable

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:eclor:problem:"
RETRY_UNAVAILABLE_S = 5
"""Retry-After sent with a 503 from the store or the registry."""
_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProblemKind:
    slug: str
    status: int
    title: str

    @property
    def type(self) -> str:
        return TYPE_PREFIX + self.slug


UNAUTHORIZED = ProblemKind("unauthorized", 401, "Authentication required")
FORBIDDEN = ProblemKind("forbidden", 403, "Insufficient scope")
NOT_FOUND = ProblemKind("not-found", 404, "Not found")
CONFLICT = ProblemKind("conflict", 409, "Conflict")
TOO_LARGE = ProblemKind("too-large", 413, "Request body too large")
INVALID = ProblemKind("invalid-request", 422, "Invalid request")
RATE_LIMITED = ProblemKind("rate-limited", 429, "Too many failed authentications")
INTERNAL = ProblemKind("internal-error", 500, "Internal server error")
STORE_UNAVAILABLE = ProblemKind("store-unavailable", 503, "Time-series store unavailable")
REGISTRY_UNAVAILABLE = ProblemKind("registry-unavailable", 503, "Registry unavailable")
UNHEALTHY = ProblemKind("unhealthy", 503, "Service unhealthy")
KINDS = (
    UNAUTHORIZED,
    FORBIDDEN,
    NOT_FOUND,
    CONFLICT,
    TOO_LARGE,
    INVALID,
    RATE_LIMITED,
    INTERNAL,
    STORE_UNAVAILABLE,
    REGISTRY_UNAVAILABLE,
    UNHEALTHY,
)


class InvalidParam(BaseModel):
    """One reason a request was refused: where (``["query", "from"]``) and why."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:eclor:problem:not-found"])
    title: str
    status: int
    detail: str
    instance: str
    errors: list[InvalidParam] | None = Field(
        default=None, description="Validation problems only: each refused input"
    )
    request_id: str | None = Field(
        default=None, description="Internal errors only: the id logged with the error"
    )


class ApiProblem(Exception):
    """Raise to answer with a problem (``headers`` such as ``WWW-Authenticate`` added)."""

    def __init__(
        self,
        kind: ProblemKind,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        errors: Sequence[InvalidParam] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.headers = dict(headers or {})
        self.errors = list(errors) if errors is not None else None
        self.extensions = dict(extensions or {})


def invalid_param(where: str, name: str, message: str) -> ApiProblem:
    """A 422 naming one bad parameter (``where``: query, path or body)."""
    error = InvalidParam(loc=[where, name], msg=message, type="value_error")
    return ApiProblem(INVALID, f"{where} parameter {name!r}: {message}", errors=[error])


def problem_response(request: Request, problem: ApiProblem) -> Response:
    kind = problem.kind
    body = Problem(
        type=kind.type,
        title=kind.title,
        status=kind.status,
        detail=problem.detail,
        instance=request.url.path,
        errors=problem.errors,
        **problem.extensions,
    )
    return _send(body, problem.headers)


def _send(body: Problem, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=body.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


async def _on_api_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return problem_response(request, exc)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        InvalidParam(loc=list(e.get("loc", ())), msg=str(e.get("msg", "")), type=str(e["type"]))
        for e in exc.errors()
    ]
    where = ", ".join(".".join(map(str, e.loc)) for e in errors[:5])
    detail = f"{len(errors)} invalid input(s): {where}" if errors else "invalid request"
    return problem_response(request, ApiProblem(INVALID, detail, errors=errors))


_FASTAPI_UNREADABLE_BODY = "There was an error parsing the body"


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == NOT_FOUND.status:
        problem = ApiProblem(NOT_FOUND, f"no resource at {request.url.path}", headers=exc.headers)
        return problem_response(request, problem)
    if exc.status_code == TOO_LARGE.status:
        return problem_response(request, ApiProblem(TOO_LARGE, str(exc.detail)))
    if exc.status_code == 400 and exc.detail == _FASTAPI_UNREADABLE_BODY:  # e.g. not UTF-8
        return problem_response(request, ApiProblem(INVALID, "body: not readable as JSON"))
    phrase = _phrase(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail else phrase
    body = Problem(
        type="about:blank",
        title=phrase,
        status=exc.status_code,
        detail=detail,
        instance=request.url.path,
    )
    return _send(body, exc.headers)


async def _on_not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotFound)
    return problem_response(request, ApiProblem(NOT_FOUND, f"no {exc.kind} {exc.key!r}"))


async def _on_conflict(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Conflict)
    detail = f"{exc.kind} {exc.key!r}: {exc.reason}"
    return problem_response(request, ApiProblem(CONFLICT, detail))


async def _on_query_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, QueryError)
    return problem_response(request, ApiProblem(INVALID, f"query refused: {exc.reason}"))


async def _on_store_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StoreUnavailable)
    _log.warning("store unavailable on %s: %s", request.url.path, exc.reason)
    detail = "the time-series store cannot answer now; try again later"
    retry = {"Retry-After": str(RETRY_UNAVAILABLE_S)}
    return problem_response(request, ApiProblem(STORE_UNAVAILABLE, detail, headers=retry))


async def _on_registry_unavailable(request: Request, exc: Exception) -> Response:
    _log.warning("registry unavailable on %s: %s", request.url.path, type(exc).__name__)
    detail = "the registry database cannot answer now; try again later"
    retry = {"Retry-After": str(RETRY_UNAVAILABLE_S)}
    return problem_response(request, ApiProblem(REGISTRY_UNAVAILABLE, detail, headers=retry))


async def _last_resort(request: Request, exc: Exception) -> Response:
    """The one catch-all: any exception nothing else handled is a bug. Answer a 500 that says
    nothing about it, log the traceback under an id the caller can quote."""
    request_id = secrets.token_hex(8)
    _log.error(
        "unhandled %s on %s %s [request %s]",
        type(exc).__name__,
        request.method,
        request.url.path,
        request_id,
        exc_info=exc,
    )
    detail = f"the server failed to answer; quote request id {request_id} when reporting it"
    extensions = {"request_id": request_id}
    return problem_response(request, ApiProblem(INTERNAL, detail, extensions=extensions))


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiProblem, _on_api_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(NotFound, _on_not_found)
    app.add_exception_handler(Conflict, _on_conflict)
    app.add_exception_handler(QueryError, _on_query_error)
    app.add_exception_handler(StoreUnavailable, _on_store_unavailable)
    app.add_exception_handler(OperationalError, _on_registry_unavailable)
    app.add_exception_handler(PoolTimeout, _on_registry_unavailable)
    app.add_exception_handler(Exception, _last_resort)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses (served as problem+json, see openapi.py)."""
    return {
        status: {"model": Problem, "description": _phrase(status)} for status in sorted(statuses)
    }


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
