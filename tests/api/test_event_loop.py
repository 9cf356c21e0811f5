"""Issue 12B, finding 10: an ``async def`` route never does blocking PostgreSQL work or a Celery publish on the
event loop, so a stalled database (or broker) stalls that request only: ``/healthz`` and every other route go on.
Each case stalls one blocking call of a route and checks ``/healthz`` answers while the call is stalled."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from sightsound.config import Settings
from sightsound_api.main import create_app
from sightsound_api.routes import clips as clips_routes
from sightsound_api.routes import student as student_routes

CHOICES = ["A person speaking", "A dog barking", "Piano music", "Nothing at all"]


STALL_S = 3.0
#: Set when a stalled call gave up waiting: it was stalling the event loop, so nobody could release it.
gave_up = threading.Event()


def stalled(original: Callable[..., Any], entered: threading.Event, release: threading.Event) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        if not release.wait(STALL_S):
            gave_up.set()
        return original(*args, **kwargs)
    return call


async def health_while_stalled(app: Any, headers: dict[str, str], request: Callable[[httpx.AsyncClient], Any],
                               entered: threading.Event, release: threading.Event) -> httpx.Response:
    gave_up.clear()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers) as client:
        pending = asyncio.create_task(request(client))
        for _ in range(500):
            if entered.is_set():
                break
            await asyncio.sleep(0.01)
        health = await asyncio.wait_for(client.get("/healthz"), 10)
        assert health.status_code == 200
        assert entered.is_set() and not gave_up.is_set(), "the stalled call ran on the event loop: /healthz waited"
        release.set()
        return await pending


@pytest.mark.parametrize("target", ["replay", "insert_clip"])
def test_a_stalled_database_does_not_freeze_the_upload_route(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, auth_headers: dict[str, str], speech_clip: Path,
    target: str,
) -> None:
    entered, release = threading.Event(), threading.Event()
    monkeypatch.setattr(clips_routes, target, stalled(getattr(clips_routes, target), entered, release))
    app = create_app(settings)
    question = f"What can be heard? ({uuid.uuid4().hex[:8]})"

    async def upload(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/v1/clips", files={"video": ("c.mp4", speech_clip.read_bytes(), "video/mp4")},
                                 data={"question": question, "choices": CHOICES})

    try:
        response = asyncio.run(health_while_stalled(app, auth_headers, upload, entered, release))
    finally:
        release.set()
        redis.Redis.from_url(settings.redis_url).flushdb()
    assert response.status_code == 202, response.text


def test_a_stalled_database_does_not_freeze_the_student_upload_route(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, auth_headers: dict[str, str],
) -> None:
    entered, release = threading.Event(), threading.Event()
    monkeypatch.setattr(student_routes, "resolve_model",
                        stalled(student_routes.resolve_model, entered, release))
    app = create_app(settings)

    async def ask(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/v1/student/answer", data={"question": "What?", "model": "base:nothing-here"})

    try:
        response = asyncio.run(health_while_stalled(app, auth_headers, ask, entered, release))
    finally:
        release.set()
    assert response.status_code == 404, response.text  # resolved (off the loop) and refused
