"""The students' LRU cache: one load per key however many threads ask at once, failures not cached,
least recently used dropped first."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from sightsound_student.cache import LRUCache


class CountingLoader:
    def __init__(self, delay_s: float = 0.0, fail_first: int = 0) -> None:
        self.calls: dict[str, int] = {}
        self.delay_s = delay_s
        self.fail_first = fail_first
        self._lock = threading.Lock()

    def __call__(self, key: str) -> object:
        with self._lock:
            self.calls[key] = self.calls.get(key, 0) + 1
            attempt = self.calls[key]
        time.sleep(self.delay_s)
        if attempt <= self.fail_first:
            raise RuntimeError(f"load {attempt} of {key} failed")
        return object()


def test_concurrent_requests_for_one_key_load_it_once_and_share_it() -> None:
    cache: LRUCache[object] = LRUCache(2)
    loader = CountingLoader(delay_s=0.3)
    with ThreadPoolExecutor(8) as pool:
        fetched = list(pool.map(lambda _: cache.get("checkpoint:a", lambda: loader("checkpoint:a")), range(8)))
    assert loader.calls == {"checkpoint:a": 1}
    assert len({id(f.value) for f in fetched}) == 1
    assert sum(f.loaded_here for f in fetched) == 1
    assert all(f.wait_s >= 0.25 for f in fetched)  # the others waited for that one load
    again = cache.get("checkpoint:a", lambda: loader("checkpoint:a"))
    assert again.wait_s == 0.0 and not again.loaded_here and cache.hits == 1


def test_loads_of_different_keys_do_not_wait_for_each_other() -> None:
    cache: LRUCache[object] = LRUCache(4)
    loader = CountingLoader(delay_s=0.3)
    started = time.perf_counter()
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda k: cache.get(k, lambda: loader(k)), ["a", "b", "c"]))
    assert time.perf_counter() - started < 0.8  # in parallel, not 3 x 0.3 s
    assert loader.calls == {"a": 1, "b": 1, "c": 1}


def test_a_failed_load_reaches_every_waiter_and_is_retried_next_time() -> None:
    cache: LRUCache[object] = LRUCache(2)
    loader = CountingLoader(delay_s=0.2, fail_first=1)
    errors: list[str] = []

    def ask() -> None:
        try:
            cache.get("k", lambda: loader("k"))
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == ["load 1 of k failed"] * 4 and loader.calls == {"k": 1}
    assert cache.keys() == []
    assert cache.get("k", lambda: loader("k")).loaded_here  # not cached: tried again, and it works now
    assert loader.calls == {"k": 2}


def test_the_least_recently_used_student_is_dropped() -> None:
    dropped: list[str] = []
    cache: LRUCache[object] = LRUCache(2, on_evict=lambda key, _: dropped.append(key))
    loader = CountingLoader()
    for key in ("a", "b"):
        cache.get(key, lambda key=key: loader(key))  # type: ignore[misc]
    cache.get("a", lambda: loader("a"))  # a is now the most recent
    cache.get("c", lambda: loader("c"))
    assert dropped == ["b"] and cache.keys() == ["a", "c"] and cache.evictions == 1
    cache.get("b", lambda: loader("b"))
    assert loader.calls == {"a": 1, "b": 2, "c": 1} and dropped == ["b", "a"]


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LRUCache(0)
