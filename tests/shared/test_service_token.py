"""The internal services (teacher, verifier, student) require the shared service token; the kernel's clients
send it (issue 12A). Before, anyone who reached their ports could make them run models."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from sightsound.clients.student import StudentClient
from sightsound.clients.teacher import TeacherClient
from sightsound.clients.verifier import VerifierClient
from sightsound.config import Settings

TOKEN = "service-" + uuid.uuid4().hex
METRICS_TOKEN = "metrics-" + uuid.uuid4().hex


def _teacher(settings: Settings) -> FastAPI:
    from sightsound_teacher.app import create_app

    return create_app(settings)


def _verifier(settings: Settings) -> FastAPI:
    from sightsound_verifier.app import create_app

    return create_app(settings)


def _student(settings: Settings) -> FastAPI:
    from sightsound_student.app import create_app

    return create_app(settings)


#: (factory, the route that does the work)
SERVICES: dict[str, tuple[Callable[[Settings], FastAPI], str]] = {
    "teacher": (_teacher, "/v1/reason"),
    "verifier": (_verifier, "/v1/verify"),
    "student": (_student, "/v1/answer"),
}


def _settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"environment": "test", "service_token": TOKEN, "metrics_token": METRICS_TOKEN,
                              **overrides}
    return Settings(**values)


@pytest.fixture(scope="module", params=sorted(SERVICES))
def service(request: pytest.FixtureRequest) -> tuple[str, TestClient, str]:
    factory, route = SERVICES[request.param]
    return request.param, TestClient(factory(_settings())), route  # no lifespan: no model is loaded


def test_requests_without_the_token_are_401(service: tuple[str, TestClient, str]) -> None:
    name, client, route = service
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"},
                    {"Authorization": f"Basic {TOKEN}"}):
        response = client.post(route, json={}, headers=headers)
        assert response.status_code == 401, (name, headers, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "SIGHTSOUND_SERVICE_TOKEN" in response.json()["detail"]
    for path in ("/metrics", "/openapi.json", "/docs"):
        assert client.get(path).status_code == 401, (name, path)


def test_the_token_opens_the_routes_and_health_stays_public(service: tuple[str, TestClient, str]) -> None:
    name, client, route = service
    assert client.get("/healthz").status_code == 200
    # past the gate: the request itself is judged (an empty body is invalid)
    response = client.post(route, json={}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 422, (name, response.text)
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_the_metrics_token_reads_metrics_only(service: tuple[str, TestClient, str]) -> None:
    _, client, route = service
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    assert client.get("/metrics", headers=headers).status_code == 200
    assert client.post(route, json={}, headers=headers).status_code == 401


def test_without_a_configured_token_everything_but_health_is_refused() -> None:
    client = TestClient(_verifier(_settings(service_token=SecretStr(""))))
    assert client.get("/healthz").status_code == 200
    response = client.post("/v1/verify", json={}, headers={"Authorization": "Bearer "})
    assert response.status_code == 401
    assert "has no SIGHTSOUND_SERVICE_TOKEN" in response.json()["detail"]
    assert client.post("/v1/verify", json={}, headers={"Authorization": "Bearer anything"}).status_code == 401


def test_dev_mode_opens_the_services_and_says_so() -> None:
    client = TestClient(_verifier(_settings(environment="development", auth="off", service_token=SecretStr(""))))
    response = client.post("/v1/verify", json={})
    assert response.status_code == 422
    assert response.headers["x-sightsound-auth"] == "disabled"


@pytest.mark.parametrize("client_type", [TeacherClient, VerifierClient, StudentClient])
def test_the_kernel_clients_send_the_token(client_type: type[TeacherClient]) -> None:
    seen: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, json={"detail": "no"})

    with client_type.from_settings(_settings(), transport=httpx.MockTransport(reply)) as client:
        client._client.get("/anything")
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert str(seen[0].url).startswith(getattr(_settings(), client_type.url_setting))


def test_the_student_proxy_forwards_with_the_token() -> None:
    seen: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": []})

    client = StudentClient.from_settings(_settings(), transport=httpx.MockTransport(reply))
    client.forward("GET", "/v1/models", content_type="application/json")
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert seen[0].headers["content-type"] == "application/json"
