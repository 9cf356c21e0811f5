"""Issue 12B, finding 3: body caps apply while the body is read, for Content-Length and chunked requests alike.

Before, a multipart upload was spooled whole before the handler's size check, a chunked request (no
Content-Length) skipped the header check, and the OpenAI proxy read a chunked body whole into memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import FastAPI, File, Request, UploadFile
from fastapi.testclient import TestClient

from sightsound.body_limit import install_body_limit
from sightsound.config import Settings
from sightsound.web import install_problem_handlers

CAP = 10_000
UPLOAD_CAP = 50_000


@pytest.fixture(scope="module")
def app_and_calls() -> tuple[FastAPI, list[str]]:
    app = FastAPI()
    install_problem_handlers(app)
    calls: list[str] = []

    @app.post("/json")
    async def raw(request: Request) -> dict[str, int]:  # reads the body the way the OpenAI proxy does
        body = await request.body()
        calls.append("json")
        return {"bytes": len(body)}

    @app.post("/upload")
    async def upload(file: Annotated[UploadFile, File()]) -> dict[str, int]:
        calls.append("upload")
        return {"bytes": len(await file.read())}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    install_body_limit(app, CAP, {"/upload": UPLOAD_CAP}, openai_paths={"/v1/chat/completions"})
    return app, calls


@pytest.fixture(scope="module")
def client(app_and_calls: tuple[FastAPI, list[str]]) -> Iterator[TestClient]:
    with TestClient(app_and_calls[0]) as test_client:
        yield test_client


def chunks(total: int, size: int = 4096) -> Iterator[bytes]:
    """A body sent with Transfer-Encoding: chunked (no Content-Length)."""
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield b"x" * n


def assert_413(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "larger than this route accepts" in response.json()["detail"]


def test_content_length_over_the_cap_is_refused_before_the_handler(
    client: TestClient, app_and_calls: tuple[FastAPI, list[str]]
) -> None:
    calls = app_and_calls[1]
    calls.clear()
    assert_413(client.post("/json", content=b"x" * (CAP + 1)))
    assert calls == []
    assert client.post("/json", content=b"x" * CAP).json() == {"bytes": CAP}


def test_a_chunked_body_is_counted_while_it_is_read(client: TestClient,
                                                    app_and_calls: tuple[FastAPI, list[str]]) -> None:
    calls = app_and_calls[1]
    calls.clear()
    response = client.post("/json", content=chunks(CAP * 5))
    assert "content-length" not in response.request.headers  # really chunked
    assert_413(response)
    assert calls == []  # the handler never got the body
    assert client.post("/json", content=chunks(CAP - 10)).json() == {"bytes": CAP - 10}


def test_a_chunked_multipart_upload_stops_at_its_routes_cap(client: TestClient,
                                                            app_and_calls: tuple[FastAPI, list[str]]) -> None:
    calls = app_and_calls[1]
    calls.clear()
    boundary = "b0undary"

    def form(size: int) -> Iterator[bytes]:
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n"
               "Content-Type: application/octet-stream\r\n\r\n").encode()
        yield from chunks(size)
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    assert_413(client.post("/upload", content=form(UPLOAD_CAP * 4), headers=headers))
    assert calls == []
    ok = client.post("/upload", content=form(CAP * 2), headers=headers)  # above the default, within the route's
    assert ok.status_code == 200 and ok.json() == {"bytes": CAP * 2}


def test_openai_paths_get_openai_errors(client: TestClient) -> None:
    for body in (b"x" * (CAP + 1), chunks(CAP * 3)):
        response = client.post("/v1/chat/completions", content=body)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "request-too-large"


def test_every_service_installs_the_cap(settings: Settings) -> None:
    from sightsound_api.main import create_app

    api = TestClient(create_app(settings))
    assert_413(api.post("/v1/datasets", content=b"{" + b" " * settings.max_request_bytes + b"}",
                        headers={"content-type": "application/json"}))
    too_big = settings.max_upload_bytes + 256 * 1024
    response = api.post("/v1/clips", content=chunks(too_big, 1 << 20),
                        headers={"content-type": "multipart/form-data; boundary=x"})
    assert response.status_code in (401, 413)  # 401 when a key is needed first: either way nothing is read whole
    assert_413(api.post("/v1/clips", content=b"x" * too_big, headers={"content-type": "multipart/form-data"}))

    from sightsound_student.app import create_app as create_student

    student = TestClient(create_student(settings))
    assert_413(student.post("/v1/answer", content=b"x" * (settings.max_upload_bytes * 2)))
    response = student.post("/v1/chat/completions", content=b"x" * (settings.max_upload_bytes * 2))
    assert response.status_code == 413 and response.json()["error"]["code"] == "request-too-large"
