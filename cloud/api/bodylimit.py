"""Request bodies above a size are refused with a 413 problem.

A declared ``Content-Length`` over the limit is answered at once, before anything is read; a
body sent without one (chunked) is counted as the app reads it, and the read that passes the
limit raises ``HTTPException(413)`` (the one exception FastAPI lets through from a body read),
which the problem handlers answer. (FastAPI's own
``max_body_size`` answers the first case in plain text, outside the app's error handlers.)

Some routes take more than the default (a report with photos): ``per_route`` maps
``(method, path)`` to that route's own limit.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloud.api.problems import TOO_LARGE, ApiProblem, problem_response


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, max_bytes: int, per_route: dict[tuple[str, str], int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_route = per_route or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_route.get((scope["method"], scope["path"]), self.max_bytes)
        declared = Request(scope).headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            problem = ApiProblem(TOO_LARGE, f"the body may not exceed {limit} bytes")
            await problem_response(Request(scope), problem)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"the body may not exceed {limit} bytes")
            return message

        await self.app(scope, counted, send)
