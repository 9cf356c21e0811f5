"""Request body caps enforced while the body is read, for every FastAPI app (an ASGI middleware).

A cap checked after the body was read (or after a multipart form was spooled to disk) bounds nothing: the
memory or the disk is spent already. :class:`BodyLimit` sits in front of the app: a ``Content-Length`` above
the route's cap is answered 413 before a byte of the body is read, and the bytes of every request, chunked
ones included, are counted as the app reads them; the read that passes the cap raises :class:`BodyTooLarge`,
which answers 413 ``application/problem+json`` (or OpenAI's error shape on OpenAI paths) at once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sightsound.web import ProblemError, problem_response

KIND = "request-too-large"


class BodyTooLarge(ProblemError, HTTPException):
    """The body passed its cap while being read. An ``HTTPException`` too, so FastAPI's body parsing re-raises it
    instead of calling it a malformed body (400); handled as a :class:`ProblemError` (413 problem+json)."""

    def __init__(self, limit: int) -> None:
        ProblemError.__init__(self, 413, too_large_detail(limit), kind=KIND, limit_bytes=limit)
        self.limit = limit
        self.status_code = 413
        self.headers: Mapping[str, str] | None = None


def too_large_detail(limit: int) -> str:
    """
    >>> too_large_detail(1024)
    'the request body is larger than this route accepts (1024 bytes); send a smaller file or request'
    """
    return f"the request body is larger than this route accepts ({limit} bytes); send a smaller file or request"


def openai_error_body(limit: int) -> dict[str, Any]:
    return {"error": {"message": too_large_detail(limit), "type": "invalid_request_error", "param": None,
                      "code": KIND}}


def too_large_response(path: str, limit: int, openai_paths: Collection[str]) -> JSONResponse:
    if path in openai_paths:
        response = JSONResponse(openai_error_body(limit), status_code=413)
    else:
        response = problem_response(413, too_large_detail(limit), KIND, limit_bytes=limit)
    response.headers["Connection"] = "close"  # the rest of the body is not read
    return response


class BodyLimit:
    """ASGI middleware: ``limit_for(path)`` is the cap, in bytes, of a request to ``path``."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int], openai_paths: Collection[str] = ()) -> None:
        self.app = app
        self.limit_for = limit_for
        self.openai_paths = frozenset(openai_paths)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        await too_large_response(scope["path"], limit, self.openai_paths)(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and length.strip().isdigit() and int(length) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send, limit)


def install_body_limit(app: FastAPI, default_bytes: int, routes: Mapping[str, int] | None = None,
                       openai_paths: Collection[str] = ()) -> None:
    """Cap every request body of ``app`` at ``default_bytes``, and those of the paths in ``routes`` at theirs.
    Call it last when creating the app, so the cap is the outermost layer (before authentication and metrics)."""
    caps = dict(routes or {})
    paths = frozenset(openai_paths)

    async def _too_large(request: Request, exc: Exception) -> JSONResponse:  # raised inside a handler's body read
        return too_large_response(request.url.path, exc.limit if isinstance(exc, BodyTooLarge) else 0, paths)

    app.add_exception_handler(BodyTooLarge, _too_large)
    app.add_middleware(BodyLimit, limit_for=lambda path: caps.get(path, default_bytes),
                       openai_paths=openai_paths)
