"""Server-side rendering of the console: one Jinja2 environment over the package's templates, and who is
looking (the principal the API's gate authenticated)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from sightsound.auth import Principal
from sightsound_api.deps import RequireScope

TEMPLATES = Path(__file__).parent / "templates"
#: The scope a reviewer needs to overrule verdicts and decisions (``admin`` grants it too).
REVIEW_SCOPE: Literal["submit"] = "submit"
VIEW_SCOPE: Literal["read"] = "read"


def ago(when: datetime | None) -> str:
    """``3 min ago``-style age of a timestamp.

    >>> from datetime import timedelta
    >>> ago(datetime.now(UTC) - timedelta(seconds=150))
    '2 min ago'
    """
    if when is None:
        return "-"
    seconds = (datetime.now(UTC) - when).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{max(int(seconds), 0)} s ago"


def number(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float | Decimal):
        return f"{value:.{digits}f}"
    return str(value)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "svg"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["ago"] = ago
    env.filters["number"] = number
    return env


def principal_of(request: Request) -> Principal | None:
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    principal = principal_of(request)
    html = environment().get_template(template).render(
        request=request, principal=principal,
        can_review=principal is not None and principal.grants(REVIEW_SCOPE), **context)
    return HTMLResponse(html, status_code=status_code)


#: The console's dependency on every page: the caller's key (the cookie, handed to the API's gate) may ``read``.
#: The same :class:`RequireScope` as the JSON API's routes, so a missing scope is the same 403.
viewer = RequireScope(VIEW_SCOPE)
#: The dependency of every change: the caller may review (``submit``, or ``admin``).
reviewer = RequireScope(REVIEW_SCOPE)
