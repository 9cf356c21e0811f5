"""The API when the student service is down or failing: 503 when it does not answer, 502 when it fails,
its own 4xx passed on with its detail. The API runs in-process (real PostgreSQL); no student model loads."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile
from fastapi.testclient import TestClient

from sightsound.clients.student import StudentClient
from sightsound.config import Settings
from sightsound_api.main import create_app
from sightsound_ops.stack import free_port
from tests.serving import served

QUESTION = "What can be heard?"


def wav() -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(8_000, np.float32), 16_000, format="WAV")
    return buffer.getvalue()


@pytest.fixture()
def api(auth_headers: dict[str, str], settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    local = settings.model_copy(update={
        "media_root": tmp_path / "media",
        "student_url": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "student_base_models": ["tiny-random"],
    })
    with TestClient(create_app(local), headers=auth_headers) as client:
        yield client


def ask(api: TestClient) -> httpx.Response:
    return api.post("/v1/student/answer", data={"question": QUESTION, "model": "base:tiny-random"},
                    files={"file": ("a.wav", wav(), "audio/wav")})


def test_a_student_service_that_does_not_answer_is_a_503_saying_so(api: TestClient) -> None:
    response = ask(api)
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "student service" in response.json()["detail"] and "does not answer" in response.json()["detail"]
    for method, path in (("POST", "/v1/chat/completions"), ("GET", "/v1/models")):
        proxied = api.request(method, path, json={"model": "sightsound-student", "messages": []})
        assert proxied.status_code == 503
        error = proxied.json()["error"]
        assert "does not answer" in error["message"] and error["code"] == "student-unavailable"


@pytest.mark.parametrize(
    ("upstream_status", "upstream_detail", "status", "words"),
    [
        (500, "internal error; the server log has the details", 502, "student service failed (500)"),
        (503, "base:tiny-random could not be loaded: out of memory", 503, "could not be loaded"),
        (404, "no checkpoint 0b5c2f5e-0a5e-4c59-9d1a-3f1c2b7a9e10", 404, "no checkpoint"),
        (422, "audio_url: the file holds no audio samples", 422, "no audio samples"),
    ],
)
def test_the_student_services_errors_are_mapped(api: TestClient, upstream_status: int, upstream_detail: str,
                                                status: int, words: str) -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/answer"
        return httpx.Response(upstream_status, json={"title": "x", "status": upstream_status,
                                                     "detail": upstream_detail},
                              headers={"content-type": "application/problem+json"})

    api.app.state.student_client = StudentClient("http://student", transport=httpx.MockTransport(reply))  # type: ignore[attr-defined]
    response = ask(api)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]


@pytest.fixture()
def busy_student(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    """The real student service (uvicorn on a loopback port) with its queue full: one request is admitted and
    held (``student_max_waiting=0``), so every other request is its 429 with ``Retry-After``."""
    from sightsound_student.app import create_app as create_student

    local = settings.model_copy(update={"media_root": tmp_path / "media", "student_base_models": ["tiny-random"],
                                        "student_max_waiting": 0})
    app = create_student(local)
    with served(app) as url, app.state.pool._admitted():  # the one request the queue holds
        yield url, local


def test_a_busy_student_is_a_429_with_its_retry_after_on_every_proxied_route(
        auth_headers: dict[str, str], busy_student: tuple[str, Settings]) -> None:
    """Finding (issue 12): the student's 429 (queue full) reached callers as another status without
    ``Retry-After``, so clients could not back off as told. The API passes it through, on both routes."""
    import base64

    student_url, local = busy_student
    token = {"Authorization": f"Bearer {local.service_token.get_secret_value()}"}
    direct = httpx.post(f"{student_url}/v1/chat/completions", headers=token,
                        json={"model": "base:tiny-random", "messages": [{"role": "user", "content": [
                            {"type": "text", "text": QUESTION},
                            {"type": "input_audio", "input_audio": {"data": base64.b64encode(wav()).decode(),
                                                                    "format": "wav"}}]}]})
    assert direct.status_code == 429 and int(direct.headers["retry-after"]) >= 1, direct.text  # the student's own
    with TestClient(create_app(local.model_copy(update={"student_url": student_url})), headers=auth_headers) as api:
        upload = ask(api)
        assert upload.status_code == 429, upload.text
        assert upload.headers["retry-after"] == direct.headers["retry-after"]
        assert upload.headers["content-type"].startswith("application/problem+json")
        assert "busy" in upload.json()["detail"]
        chat = api.post("/v1/chat/completions", json={"model": "base:tiny-random", "messages": [{
            "role": "user", "content": [
                {"type": "text", "text": QUESTION},
                {"type": "input_audio", "input_audio": {"data": base64.b64encode(wav()).decode(), "format": "wav"}}]}]})
        assert chat.status_code == 429, chat.text
        assert chat.headers["retry-after"] == direct.headers["retry-after"]
        assert "busy" in chat.json()["error"]["message"]
