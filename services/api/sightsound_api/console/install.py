"""Installing the review console into the API app (see the package's docstring)."""

from __future__ import annotations

from fastapi import FastAPI

from sightsound.auth import Principal
from sightsound.config import Settings
from sightsound.db.keys import authenticate_key
from sightsound.db.session import get_sessionmaker
from sightsound_api.console import pages, review, runs
from sightsound_api.console.door import ConsoleDoor

#: Where the console lives under the API's base URL.
CONSOLE_PATH = "/ui"


def install_console(app: FastAPI, settings: Settings) -> None:
    """Add the console's pages and its front door (call after the API's gate is installed: the door must run
    first, to hand the cookie to the gate)."""
    sessions = get_sessionmaker(settings.database_url)

    def lookup(secret: str) -> Principal | None:
        with sessions() as session:
            return authenticate_key(session, secret)

    for module in (pages, review, runs):
        app.include_router(module.router)
    app.add_middleware(ConsoleDoor, lookup=lookup, auth_off=settings.auth == "off")


def console_url(api_url: str) -> str:
    """The console's address under an API base URL.

    >>> console_url("http://127.0.0.1:8000/")
    'http://127.0.0.1:8000/ui'
    """
    return api_url.rstrip("/") + CONSOLE_PATH
