"""Issue 12B, finding 5: what callers can make the student service hold. Loads of different checkpoints are
capped (concurrent loads, and models in memory counting the ones still loading), and requests waiting for a
student are a bounded queue: past it, 429 with Retry-After. (Which refs may be loaded at all is the registry's
rule: recorded checkpoints and allow-listed base models only, see test_student_e2e.)"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from sightsound.config import Settings
from sightsound.registry import ResolvedModel
from sightsound_student import students
from sightsound_student.cache import LRUCache
from sightsound_student.errors import StudentRequestError
from sightsound_student.students import StudentPool


def resolved(name: str) -> ResolvedModel:
    return ResolvedModel(ref=f"base:{name}", checkpoint_id=None, folder=None, base_model=name, variant="cot")


class Tracker:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loading = 0
        self.max_loading = 0

    def load(self, delay_s: float) -> object:
        with self.lock:
            self.loading += 1
            self.max_loading = max(self.max_loading, self.loading)
        time.sleep(delay_s)
        with self.lock:
            self.loading -= 1
        return object()


def test_models_in_memory_count_the_ones_still_loading() -> None:
    cache: LRUCache[object] = LRUCache(2)
    tracker = Tracker()
    resident: list[int] = []

    def get(key: str) -> None:
        cache.get(key, lambda: tracker.load(0.2))
        resident.append(cache.resident())

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(get, [f"k{i}" for i in range(6)]))
    assert max(resident) <= 2 and len(cache.keys()) <= 2


@pytest.fixture
def pool(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> StudentPool:
    local = settings.model_copy(update={"student_cache_size": 2, "student_max_concurrent_loads": 1,
                                        "student_max_waiting": 2, "student_device": "cpu"})
    made = StudentPool(local)
    tracker = Tracker()
    made.tracker = tracker  # type: ignore[attr-defined]
    monkeypatch.setattr(made, "_load", lambda r: tracker.load(0.3))
    monkeypatch.setattr(students, "answer", lambda *a, **k: [time.sleep(0.5) or "answer"])
    return made


def ask(pool: StudentPool, name: str) -> Any:
    return pool.generate(resolved(name), np.zeros(16_000, np.float32), "What?", None, max_new_tokens=4,
                         temperature=0.0)


def test_loads_of_different_checkpoints_run_one_at_a_time(pool: StudentPool) -> None:
    with ThreadPoolExecutor(3) as threads:
        results = list(threads.map(lambda n: ask(pool, n), ["a", "b", "c"]))
    assert [r.answer for r in results] == ["answer"] * 3
    assert pool.tracker.max_loading == 1  # type: ignore[attr-defined]
    assert len(pool.cache.keys()) <= 2


def test_a_full_wait_queue_is_429_with_retry_after(pool: StudentPool) -> None:
    outcomes: list[object] = []

    def one(name: str) -> None:
        try:
            outcomes.append(ask(pool, name).answer)
        except StudentRequestError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=one, args=("a",)) for _ in range(6)]
    for thread in threads:
        thread.start()
        time.sleep(0.02)
    for thread in threads:
        thread.join()
    refused = [o for o in outcomes if isinstance(o, StudentRequestError)]
    assert refused and all(o.status == 429 and o.retry_after_s and o.retry_after_s >= 1 for o in refused)
    assert outcomes.count("answer") >= 3  # one answering + student_max_waiting waiting got through


def test_429_carries_retry_after_on_both_protocols(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from sightsound_student.app import create_app

    app = create_app(settings.model_copy(update={"auth": "off", "environment": "development"}))
    busy = StudentRequestError(429, "busy", "the student is busy", "model", retry_after_s=7)
    monkeypatch.setattr(app.state.pool, "resolve", lambda name: (_ for _ in ()).throw(busy))
    client = TestClient(app)
    native = client.post("/v1/answer", json={"question": "What?", "audio_base64": "AAAA", "format": "wav"})
    assert native.status_code == 429 and native.headers["retry-after"] == "7"
    audio = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
    chat = client.post("/v1/chat/completions",
                       json={"messages": [{"role": "user", "content": [{"type": "text", "text": "What?"}, audio]}]})
    assert chat.status_code == 429 and chat.headers["retry-after"] == "7"
    assert chat.json()["error"]["code"] == "busy"
