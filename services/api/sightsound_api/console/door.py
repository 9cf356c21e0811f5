"""The console's front door: a login page that takes an API key and keeps it in an HTTP-only, ``SameSite=Strict``
cookie scoped to ``/ui``; on every other ``/ui`` request the cookie is handed to the API's own gate as the
``X-API-Key`` header, so the console is checked by the same key lookup and scopes as the JSON API.

An ASGI middleware outside the gate (installed after it): the login page, logout and the static files are answered
here without a key; a page the gate refuses (401) to a browser (``Accept: text/html``) becomes a redirect to the
login page. A ``POST`` whose
``Origin`` names another host is refused (belt and braces beside ``SameSite=Strict``).
"""

from __future__ import annotations

from collections.abc import Callable
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sightsound.auth import Principal
from sightsound_api.console.render import render

PREFIX = "/ui"
COOKIE = "sightsound_console"
#: A console session lasts a working day; the key itself stays valid until revoked.
COOKIE_MAX_AGE_S = 12 * 3600
STATIC = Path(__file__).parent / "static"
Lookup = Callable[[str], Principal | None]


def safe_next(target: str | None) -> str:
    """Where to go after logging in: only a console path (never another site).

    >>> safe_next("/ui/clips/1?x=2"), safe_next("https://evil.example/ui"), safe_next("//evil/ui"), safe_next(None)
    ('/ui/clips/1?x=2', '/ui', '/ui', '/ui')
    """
    if not target or not target.startswith(PREFIX) or target.startswith("//") or "\\" in target:
        return PREFIX
    return target


def cookie_of(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header: no session
                return None
            if COOKIE in jar:
                return jar[COOKIE].value or None
    return None


def _has_credentials(scope: Scope) -> bool:
    return any(name in (b"authorization", b"x-api-key") for name, _ in scope["headers"])


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return str(value.decode("latin-1"))
    return None


def same_origin(scope: Scope) -> bool:
    """A browser's ``Origin`` (when it sends one) must name this host."""
    origin = _header(scope, b"origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == (_header(scope, b"host") or "")


class ConsoleDoor:
    """See the module. ``lookup`` authenticates a key for the login form (the gate's own lookup);
    ``auth_off`` (development only) skips the login."""

    def __init__(self, app: ASGIApp, lookup: Lookup, auth_off: bool = False) -> None:
        self.app = app
        self.lookup = lookup
        self.auth_off = auth_off
        self.front = Router(routes=[
            Route(f"{PREFIX}/login", self.login_page, methods=["GET"]),
            Route(f"{PREFIX}/login", self.login, methods=["POST"]),
            Route(f"{PREFIX}/logout", self.logout, methods=["POST", "GET"]),
            Mount(f"{PREFIX}/static", app=StaticFiles(directory=STATIC), name="console-static"),
        ])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST" and not same_origin(scope):
            await Response("cross-site request refused", status_code=403)(scope, receive, send)
            return
        if path in (f"{PREFIX}/login", f"{PREFIX}/logout") or path.startswith(f"{PREFIX}/static/"):
            await self.front(scope, receive, send)
            return
        key = cookie_of(scope)
        if key and not _has_credentials(scope):
            scope = dict(scope, headers=[*scope["headers"], (b"x-api-key", key.encode("latin-1"))])
        if "text/html" not in (_header(scope, b"accept") or ""):  # a script or an API client: the gate's own 401
            await self.app(scope, receive, send)
            return
        target = path + (f"?{scope['query_string'].decode('latin-1')}" if scope.get("query_string") else "")
        await self.app(scope, receive, self._to_login(send, target))

    def _to_login(self, send: Send, target: str) -> Send:
        """A 401 from the gate becomes ``303 See Other`` to the login page (its body is dropped)."""
        refused = False

        async def sending(message: Message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start" and message["status"] == 401:
                refused = True
                location = f"{PREFIX}/login?next={quote(target, safe='')}"
                await send({"type": "http.response.start", "status": 303,
                            "headers": [(b"location", location.encode()), (b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return
            if refused:
                return
            await send(message)

        return sending

    async def login_page(self, request: Request) -> Response:
        return render(request, "login.html", next=safe_next(request.query_params.get("next")),
                      error=None, auth_off=self.auth_off, title="Log in")

    async def login(self, request: Request) -> Response:
        form = await request.form()
        key = str(form.get("key", "")).strip()
        target = safe_next(str(form.get("next", "")) or None)
        if self.auth_off:
            return RedirectResponse(target, status_code=303)
        from starlette.concurrency import run_in_threadpool

        principal = await run_in_threadpool(self.lookup, key) if key else None
        error = None
        if principal is None:
            error = "That API key is unknown or revoked."
        elif not principal.grants("read"):
            error = "That key lacks the `read` scope the console needs."
        if error is not None:
            return render(request, "login.html", status_code=401, next=target, error=error, auth_off=False,
                          title="Log in")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, key, max_age=COOKIE_MAX_AGE_S, path=PREFIX, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
        return response

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")
        return response
