"""Shared fixtures: a PostgreSQL database per test module (cloned from a template migrated once per session,
dropped at the end), a Redis database number of the tests' own (flushed before and after each module), settings
pointing at both, generated clips."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sightsound.config import Settings
from sightsound.db.migrate import upgrade

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
#: The internal services' shared token in tests: every Settings() of the session (and every process a test
#: starts) has it; the kernel's clients send it, and tests calling a service app directly send SERVICE_HEADERS.
TEST_SERVICE_TOKEN = os.environ.setdefault("SIGHTSOUND_SERVICE_TOKEN", "test-service-token-" + uuid.uuid4().hex)
SERVICE_HEADERS = {"Authorization": f"Bearer {TEST_SERVICE_TOKEN}"}

PG_ADMIN_URL = os.environ.get("SIGHTSOUND_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_BASE_URL = os.environ.get("SIGHTSOUND_TEST_REDIS_URL", "redis://127.0.0.1:6379")
#: Redis database number of the test session (not 0, which a developer's own stack uses).
REDIS_DB = int(os.environ.get("SIGHTSOUND_TEST_REDIS_DB", "13"))


def _admin():  # type: ignore[no-untyped-def]
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def _url(name: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop(name: str) -> None:
    from sightsound.db.session import get_engine

    get_engine(_url(name)).dispose()
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def template_database() -> Iterator[str]:
    """A database migrated once per session; every test module gets a fresh copy of it."""
    name = f"sightsound_tmpl_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    try:
        upgrade(_url(name))
        from sightsound.db.session import get_engine

        get_engine(_url(name)).dispose()  # a template must have no open connections
        yield name
    finally:
        _drop(name)


@pytest.fixture(scope="module")
def database_url(template_database: str) -> Iterator[str]:
    """A fresh database per test module, cloned from the migrated template (fast), dropped at the end:
    no test module sees another's rows."""
    name = f"sightsound_test_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    admin.dispose()
    try:
        yield _url(name)
    finally:
        _drop(name)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    url = f"{REDIS_BASE_URL}/{REDIS_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def settings(database_url: str, redis_url: str, media_root: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        media_root=media_root,
        max_upload_bytes=5 * 1024 * 1024,
        frames_per_clip=4,
        frame_max_side=112,
        traces_per_question=3,
        teacher_max_new_tokens=80,
        teacher_seed=0,
        task_max_retries=2,
        task_retry_backoff_s=0.5,
        service_token=TEST_SERVICE_TOKEN,
    )




@pytest.fixture(scope="module")
def api_keys(database_url: str) -> dict[str, str]:
    """One API key per scope in this module's database (``api_keys["admin"]`` grants everything)."""
    from sightsound.auth import SCOPES
    from sightsound.db.keys import create_key
    from sightsound.db.session import session_scope

    with session_scope(database_url) as session:
        return {scope: create_key(session, f"tests ({scope})", [scope]).secret for scope in SCOPES}


@pytest.fixture(scope="module")
def api_key(api_keys: dict[str, str]) -> str:
    """An admin key of this module's database: what the API tests send unless they test scopes."""
    return api_keys["admin"]


@pytest.fixture(scope="module")
def auth_headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def speech_clip(clip_dir: Path) -> Path:
    from sightsound_devdata.demo_clip import demo_clip

    return demo_clip(clip_dir / "speech.mp4")


@pytest.fixture(scope="session")
def silent_track_clip(clip_dir: Path) -> Path:
    from sightsound_devdata.demo_clip import silent_video_clip

    return silent_video_clip(clip_dir / "noaudio.mp4")


class BearerByUrl(httpx.Auth):
    """Sends each base URL its own bearer token (the API key to the API, the service token to a service)."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        for prefix, token in self.tokens.items():
            if str(request.url).startswith(prefix):
                request.headers["Authorization"] = f"Bearer {token}"
                break
        yield request
