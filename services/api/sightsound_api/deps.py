"""Dependencies of the API routes, as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from sightsound.auth import BEARER_CHALLENGE, Principal, ScopeName
from sightsound.config import Settings
from sightsound.db.session import get_sessionmaker
from sightsound.web import ProblemError


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    session = get_sessionmaker(settings.database_url)()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


# Declared (not read: the gate has authenticated already) so the OpenAPI shows both ways to send a key.
_bearer = HTTPBearer(auto_error=False, scheme_name="bearer", description="`Authorization: Bearer <API key>`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey", description="`X-API-Key: <API key>`")
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
HeaderKey = Annotated[str | None, Depends(_header)]


class RequireScope:
    """The dependency every API route declares: the caller's key (authenticated by the gate in front of the app,
    :func:`sightsound_api.security.install_auth`) must grant ``scope``; ``admin`` grants all. A missing scope is
    403 with the scope named."""

    def __init__(self, scope: ScopeName) -> None:
        self.scope = scope

    def __call__(self, request: Request, _bearer: BearerCredentials = None, _header: HeaderKey = None) -> Principal:
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is None:  # the gate is not installed: refuse rather than serve
            refusal = ProblemError(401, "send an API key as `Authorization: Bearer <key>`", kind="unauthenticated")
            refusal.headers = {"WWW-Authenticate": BEARER_CHALLENGE}
            raise refusal
        if not principal.grants(self.scope):
            route = getattr(request.scope.get("route"), "path", request.url.path)
            held = ", ".join(sorted(principal.scopes)) or "none"
            raise ProblemError(403, f"{request.method} {route} needs the `{self.scope}` scope; this key has: {held} "
                                    f"(create a key with it: sightsound keys create --name NAME --scopes "
                                    f"{self.scope})", kind="insufficient-scope")
        return principal


def scope(name: ScopeName) -> Any:
    """``dependencies=[scope("read")]`` in a route decorator."""
    return Depends(RequireScope(name))


ReadScope = Annotated[Principal, Depends(RequireScope("read"))]
SubmitScope = Annotated[Principal, Depends(RequireScope("submit"))]
TrainScope = Annotated[Principal, Depends(RequireScope("train"))]
AdminScope = Annotated[Principal, Depends(RequireScope("admin"))]
