"""Authentication and scopes of the public API (issue 12A): every route but health refuses a request without a
valid key (401, ``WWW-Authenticate: Bearer``), a key without the route's scope gets 403 naming it, ``admin``
grants all, revoked keys stop working at once; dev mode without keys exists only in development and says so."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from sightsound.auth import SCOPES, hash_secret, parse_scopes
from sightsound.config import Settings
from sightsound.db.keys import create_key, list_keys, revoke_key
from sightsound.db.session import session_scope
from sightsound_api.main import create_app
from sightsound_api.security import PUBLIC_PATHS, route_scopes, served_routes


@pytest.fixture(scope="module")
def app_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def _routes(client: TestClient) -> list[tuple[str, str, Any]]:
    """(method, path, route) of every API route of the app, routers included, but the public ones."""
    found = []
    for route in served_routes(client.app):  # type: ignore[arg-type]
        if route.path_format not in PUBLIC_PATHS:
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    found.append((method, route.path_format, route))
    return found


def _scopes_of(route: Any) -> list[str]:
    return route_scopes(route)


def assert_401(response: Any, *words: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    detail = body["detail"] if "detail" in body else body["error"]["message"]
    for word in words:
        assert word in detail, detail


def test_an_unauthenticated_deploy_is_refused(app_client: TestClient) -> None:
    """The finding: anyone reaching port 8000 could deploy a checkpoint as the production student."""
    response = app_client.post(f"/v1/checkpoints/{uuid.uuid4()}/deploy")
    assert_401(response, "Authorization: Bearer")
    assert response.headers["content-type"].startswith("application/problem+json")


def test_an_unauthenticated_cancel_and_training_run_are_refused(app_client: TestClient) -> None:
    assert_401(app_client.post(f"/v1/training-runs/{uuid.uuid4()}/cancel"))
    assert_401(app_client.post("/v1/training-runs", json={"dataset_id": str(uuid.uuid4())}))


def test_every_route_but_health_and_docs_refuses_a_request_without_a_key(app_client: TestClient) -> None:
    """Walks the app's routes, so a route added later cannot forget authentication."""
    routes = _routes(app_client)
    assert len(routes) >= 20
    for method, path, _ in routes:
        response = app_client.request(method, _fill(path), content=b"{not json", headers={
            "content-type": "application/json"})
        assert response.status_code == 401, f"{method} {path} answered {response.status_code} without a key"
        assert response.headers["www-authenticate"].startswith("Bearer"), f"{method} {path}"


def test_every_route_declares_exactly_one_scope(app_client: TestClient) -> None:
    for method, path, route in _routes(app_client):
        scopes = _scopes_of(route)
        assert len(scopes) == 1, f"{method} {path} declares scopes {scopes}: declare one with RequireScope"
        assert scopes[0] in SCOPES


def test_a_key_without_the_routes_scope_gets_403_naming_it(app_client: TestClient, api_keys: dict[str, str]) -> None:
    for method, path, route in _routes(app_client):
        needed = _scopes_of(route)[0]
        other = next(s for s in ("read", "submit", "train") if s != needed)
        response = app_client.request(method, _fill(path), headers={"Authorization": f"Bearer {api_keys[other]}"})
        assert response.status_code == 403, f"{method} {path} with a {other} key: {response.status_code}"
        assert f"`{needed}` scope" in response.json()["detail"], response.text


def test_the_scopes_of_the_risky_routes(app_client: TestClient) -> None:
    by_route = {(m, p): _scopes_of(r)[0] for m, p, r in _routes(app_client)}
    assert by_route[("POST", "/v1/checkpoints/{checkpoint_id}/deploy")] == "admin"
    assert by_route[("POST", "/v1/training-runs/{run_id}/cancel")] == "admin"
    assert by_route[("POST", "/v1/training-runs")] == "train"
    assert by_route[("POST", "/v1/evaluations")] == "train"
    assert by_route[("POST", "/v1/datasets")] == "train"
    assert by_route[("POST", "/v1/clips")] == "submit"
    assert by_route[("POST", "/v1/student/answer")] == "submit"
    assert by_route[("POST", "/v1/chat/completions")] == "submit"
    assert by_route[("GET", "/v1/stats")] == "read"
    assert by_route[("GET", "/metrics")] == "read"


def test_bearer_and_x_api_key_both_work_and_admin_grants_all(app_client: TestClient,
                                                             api_keys: dict[str, str]) -> None:
    for headers in ({"Authorization": f"Bearer {api_keys['read']}"}, {"X-API-Key": api_keys["read"]},
                    {"Authorization": f"bearer {api_keys['admin']}"}):
        assert app_client.get("/v1/stats", headers=headers).status_code == 200, headers
    deploy = app_client.post(f"/v1/checkpoints/{uuid.uuid4()}/deploy",
                             headers={"Authorization": f"Bearer {api_keys['admin']}"})
    assert deploy.status_code == 404  # authorised; the checkpoint does not exist


def test_unknown_and_revoked_keys_are_401(app_client: TestClient, settings: Settings) -> None:
    assert_401(app_client.get("/v1/stats", headers={"Authorization": "Bearer ssk_not-a-key"}), "unknown or revoked")
    assert_401(app_client.get("/v1/stats", headers={"Authorization": "Basic dXNlcjpwYXNz"}), "Bearer")
    with session_scope(settings.database_url) as session:
        created = create_key(session, "soon revoked", "read")
        key_id = created.key.id
    headers = {"X-API-Key": created.secret}
    assert app_client.get("/v1/stats", headers=headers).status_code == 200
    with session_scope(settings.database_url) as session:
        assert revoke_key(session, key_id) is not None
    assert_401(app_client.get("/v1/stats", headers=headers), "unknown or revoked")


def test_only_the_hash_and_a_prefix_are_stored(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        created = create_key(session, "stored", "read,submit")
        stored = next(k for k in list_keys(session) if k.id == created.key.id)
        assert stored.key_hash == hash_secret(created.secret) != created.secret
        assert created.secret.startswith(stored.prefix) and len(stored.prefix) < len(created.secret) // 3
        assert stored.scopes == ["read", "submit"]
    with pytest.raises(ValueError, match="unknown scope"):
        parse_scopes("read,root")


def test_the_openai_routes_take_the_key_as_openai_clients_send_it(app_client: TestClient) -> None:
    response = app_client.get("/v1/models")
    assert_401(response)
    assert response.json()["error"]["code"] == "invalid_api_key"  # OpenAI's error shape on its routes


def test_health_is_public_and_metrics_needs_read_or_the_metrics_token(settings: Settings,
                                                                       api_keys: dict[str, str]) -> None:
    local = settings.model_copy(update={"metrics_token": SecretStr("metrics-" + uuid.uuid4().hex)})
    with TestClient(create_app(local)) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/openapi.json").status_code == 200
        assert_401(client.get("/metrics"))
        assert client.get("/metrics", headers={"X-API-Key": api_keys["submit"]}).status_code == 403
        assert client.get("/metrics", headers={"X-API-Key": api_keys["read"]}).status_code == 200
        token = {"Authorization": f"Bearer {local.metrics_token.get_secret_value()}"}  # type: ignore[union-attr]
        assert client.get("/metrics", headers=token).status_code == 200
        assert_401(client.get("/v1/stats", headers=token), "metrics token")  # the metrics token reads /metrics only


def test_the_openapi_declares_the_security_schemes(app_client: TestClient) -> None:
    spec = app_client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= next(iter(
        s for s in schemes.values() if s.get("scheme") == "bearer")).items()
    assert any(s.get("in") == "header" and s.get("name") == "X-API-Key" for s in schemes.values())
    deploy = spec["paths"]["/v1/checkpoints/{checkpoint_id}/deploy"]["post"]
    assert deploy["security"] and "401" in deploy["responses"] and "403" in deploy["responses"]
    assert "admin" in deploy["description"]


def test_dev_mode_without_keys_is_development_only_and_loud(settings: Settings,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    for environment in ("test", "production"):
        with pytest.raises(ValidationError, match="development only"):
            Settings(environment=environment, auth="off", database_url=settings.database_url)  # type: ignore[arg-type]
    dev = settings.model_copy(update={"environment": "development", "auth": "off"})
    with caplog.at_level(logging.WARNING, logger="sightsound.auth"):
        app = create_app(dev)
    assert any("AUTHENTICATION IS DISABLED" in r.getMessage() for r in caplog.records)
    with TestClient(app) as client:
        response = client.get("/v1/stats")
        assert response.status_code == 200
        assert response.headers["x-sightsound-auth"] == "disabled"
        assert client.get("/healthz").headers["x-sightsound-auth"] == "disabled"


PRODUCTION_TOKEN = "p" * 40


@pytest.mark.parametrize(("overrides", "words"), [
    ({"service_token": ""}, "SIGHTSOUND_SERVICE_TOKEN"),
    ({"service_token": "short"}, "SIGHTSOUND_SERVICE_TOKEN"),
    ({"database_url": "postgresql+psycopg://sightsound:sightsound@postgres:5432/sightsound"}, "compose default"),
    ({"database_url": "postgresql+psycopg://sightsound:change-me@postgres:5432/sightsound"}, "compose default"),
])
def test_production_refuses_unsafe_auth_settings(overrides: dict[str, str], words: str) -> None:
    values: dict[str, Any] = {"environment": "production", "teacher_backend": "embedded",
                              "database_url": "postgresql+psycopg://sightsound:s3cret-xyz@db:5432/sightsound",
                              "service_token": PRODUCTION_TOKEN, **overrides}
    with pytest.raises(ValidationError, match=words):
        Settings(**values)
    ok = {**values, "service_token": PRODUCTION_TOKEN,
          "database_url": "postgresql+psycopg://sightsound:s3cret-xyz@db:5432/sightsound"}
    assert Settings(**ok).environment == "production"


def test_secrets_are_never_printed(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from sightsound.config import get_settings
    from sightsound_ops.cli import main

    secrets = {"SIGHTSOUND_SERVICE_TOKEN": "svc-" + uuid.uuid4().hex,
               "SIGHTSOUND_METRICS_TOKEN": "met-" + uuid.uuid4().hex,
               "SIGHTSOUND_TEACHER_OPENAI_API_KEY": "tea-" + uuid.uuid4().hex,
               "SIGHTSOUND_VERIFIER_LLM_API_KEY": "ver-" + uuid.uuid4().hex}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        assert main(["settings"]) == 0
        printed = capsys.readouterr().out
        assert '"service_token": "**********"' in printed
        for value in secrets.values():
            assert value not in printed
        assert Settings().env()["SIGHTSOUND_SERVICE_TOKEN"] == secrets["SIGHTSOUND_SERVICE_TOKEN"]
    finally:
        get_settings.cache_clear()
