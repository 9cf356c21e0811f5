"""Per-key rate limits of the API (issue 12, "rate limits per key, Redis-backed"): past its budget a key gets 429
with ``Retry-After`` before the request is served; keys do not share a budget, reads and writes have their own,
the window frees requests again; a Redis that does not answer lets requests through (fail open, logged). Real
PostgreSQL and Redis; small budgets and windows of a second or two, never timed assertions."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from sightsound.config import Settings
from sightsound_api.main import create_app
from sightsound_ops.stack import free_port
from tests.serving import served


@pytest.fixture()
def limited(settings: Settings) -> Iterator[TestClient]:
    """The API with tiny budgets: 3 reads and 2 writes per key per 30 s."""
    local = settings.model_copy(update={"rate_limit_read": "3 per 30 seconds", "rate_limit_write": "2 per 30 seconds"})
    with TestClient(create_app(local)) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def fresh_key(database_url: str, scopes: str = "admin") -> str:
    from sightsound.db.keys import create_key
    from sightsound.db.session import session_scope

    with session_scope(database_url) as session:
        return create_key(session, "rate limit test", [scopes]).secret


def assert_429(response: httpx.Response, setting: str) -> int:
    assert response.status_code == 429, response.text
    retry = int(response.headers["retry-after"])
    assert 1 <= retry <= 30
    assert response.headers["content-type"].startswith("application/problem+json")
    detail = response.json()["detail"]
    assert "rate limit" in detail and setting in detail and "retry in" in detail, detail
    return retry


def test_requests_past_a_keys_budget_are_refused_with_retry_after(limited: TestClient, settings: Settings) -> None:
    key = bearer(fresh_key(settings.database_url))
    for _ in range(3):
        assert limited.get("/v1/datasets", headers=key).status_code == 200
    assert_429(limited.get("/v1/datasets", headers=key), "SIGHTSOUND_RATE_LIMIT_READ")
    # Health and the documentation are not counted (and not refused).
    assert limited.get("/healthz", headers=key).status_code == 200


def test_keys_do_not_share_a_budget(limited: TestClient, settings: Settings) -> None:
    first, second = bearer(fresh_key(settings.database_url)), bearer(fresh_key(settings.database_url))
    for _ in range(3):
        assert limited.get("/v1/datasets", headers=first).status_code == 200
    assert limited.get("/v1/datasets", headers=first).status_code == 429
    for _ in range(3):
        assert limited.get("/v1/datasets", headers=second).status_code == 200


def test_writes_have_their_own_smaller_budget(limited: TestClient, settings: Settings) -> None:
    """Two uploads' worth of writes (refused ones count: they were received) use up the write budget; reads go on."""
    key = bearer(fresh_key(settings.database_url))
    for _ in range(2):
        assert limited.post("/v1/datasets", headers=key, json={}).status_code == 422
    assert_429(limited.post("/v1/datasets", headers=key, json={}), "SIGHTSOUND_RATE_LIMIT_WRITE")
    refused = limited.post("/v1/clips", headers=key, files={"video": ("c.mp4", b"x" * 1000, "video/mp4")})
    assert refused.status_code == 429  # refused before the body is read, whatever it holds
    assert limited.get("/v1/datasets", headers=key).status_code == 200


def test_the_openai_routes_refuse_in_openais_shape(limited: TestClient, settings: Settings) -> None:
    key = bearer(fresh_key(settings.database_url))
    for _ in range(3):
        limited.get("/v1/datasets", headers=key)
    response = limited.get("/v1/models", headers=key)
    assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


def test_the_budget_comes_back_after_the_window(settings: Settings) -> None:
    local = settings.model_copy(update={"rate_limit_read": "2 per 1 second"})
    key = bearer(fresh_key(settings.database_url))
    with TestClient(create_app(local)) as client:
        for _ in range(2):
            assert client.get("/v1/datasets", headers=key).status_code == 200
        refused = client.get("/v1/datasets", headers=key)
        assert refused.status_code == 429
        time.sleep(int(refused.headers["retry-after"]) + 0.2)  # what the client was told to wait
        assert client.get("/v1/datasets", headers=key).status_code == 200


def test_without_keys_in_development_the_budget_is_per_client_ip(settings: Settings) -> None:
    local = settings.model_copy(update={"environment": "development", "auth": "off",
                                        "rate_limit_read": "2 per 30 seconds"})
    with TestClient(create_app(local)) as client:
        for _ in range(2):
            assert client.get("/v1/datasets").status_code == 200
        response = client.get("/v1/datasets")
    assert response.status_code == 429 and "client testclient" in response.json()["detail"]


def test_a_redis_that_does_not_answer_lets_requests_through_and_says_so(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """Fail open: a Redis outage must not turn every request into a 500 (or a 429)."""
    local = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens
                                        "rate_limit_read": "1 per 30 seconds"})
    key = bearer(fresh_key(settings.database_url))
    with caplog.at_level(logging.WARNING, logger="sightsound.api.rate_limits"), TestClient(create_app(local)) as client:
        statuses = [client.get("/v1/datasets", headers=key).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert any("rate limits are not enforced" in r.getMessage() for r in caplog.records)


def test_rate_limit_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="not a rate limit"):
        Settings(rate_limit_write="many per minute")
    with pytest.raises(ValidationError, match="RATE_LIMITS=off"):
        Settings(environment="production", rate_limits="off", database_url="postgresql+psycopg://u:secret-pw@db/x",
                 service_token="x" * 40)
    assert Settings(rate_limit_read="50/second;1200/minute").rate_limit_read == "50/second;1200/minute"


def test_every_limited_operation_documents_the_429(limited: TestClient) -> None:
    spec = limited.get("/openapi.json").json()
    operations = [op for path in spec["paths"].values() for op in path.values() if "x-required-scope" in op]
    assert operations and all("429" in op["responses"] for op in operations)


def test_the_cli_client_waits_as_told_and_sends_again(settings: Settings) -> None:
    """The CLI and the main job (``ApiClient``) back off on a 429 for its ``Retry-After`` instead of failing."""
    from sightsound_ops.api_client import ApiClient

    local = settings.model_copy(update={"rate_limit_read": "1 per 1 second"})
    with served(create_app(local)) as url, ApiClient(url, api_key=fresh_key(settings.database_url)) as api:
        pages = [api.get("/v1/datasets") for _ in range(2)]  # the second is refused once, then served
    assert all("items" in page for page in pages)
