"""Request bodies above a size are refused with a 413 problem.

A declared ``Content-Length`` over the limit is answered at once, before anything is read; a
body sent without one (chunked) is counted as the app reads it, and the read that passes the
limit raises ``HTTPException(413)`` (the one exception FastAPI lets through from a body read),
which the problem handlers answer. (FastAPI's own
``max_body_size`` answers the first case in plain text, outside the app's error handlers.)
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloud.api.problems import TOO_LARGE, ApiProblem, problem_response


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Request(scope).headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            problem = ApiProblem(TOO_LARGE, f"the body may not exceed {self.max_bytes} bytes")
            await problem_response(Request(scope), problem)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, f"the body may not exceed {self.max_bytes} bytes")
            return message

        await self.app(scope, counted, send)
