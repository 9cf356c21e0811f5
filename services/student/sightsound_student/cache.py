"""A thread-safe LRU cache of loaded students, keyed by their canonical reference.

Requests run in a thread pool, so two requests for a student that is not loaded yet can arrive together:
the first one loads it, the others wait for that same load (a student is built once per reference, never
twice at the same time). A load that fails is not cached: the waiters get its error, the next request
tries again. At most ``size`` students are in memory, counting the ones still loading: a new load first drops
the least recently used students (a request still answering with one keeps its own reference until it is
done), and waits while ``size`` loads are under way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Fetched(Generic[T]):
    value: T
    wait_s: float  # time this caller spent loading or waiting for a load (0.0 on a hit)
    loaded_here: bool  # this caller ran the load


class LRUCache(Generic[T]):
    """``get(key, load)`` returns the cached value or runs ``load()`` once for all concurrent callers."""

    def __init__(self, size: int, on_evict: Callable[[str, T], None] | None = None) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size = size
        self._on_evict = on_evict
        self._lock = threading.Lock()
        self._slot_freed = threading.Condition(self._lock)
        self._reserved: set[str] = set()  # keys loading now, each holding one of the ``size`` slots
        self._entries: OrderedDict[str, T] = OrderedDict()
        self._loading: dict[str, Future[T]] = {}
        self.hits = 0
        self.loads = 0
        self.evictions = 0

    def resident(self) -> int:
        """Students in memory or being loaded into it."""
        with self._lock:
            return len(self._entries) + len(self._reserved)

    def keys(self) -> list[str]:
        """Cached keys, least recently used first."""
        with self._lock:
            return list(self._entries)

    def get(self, key: str, load: Callable[[], T]) -> Fetched[T]:
        started = time.perf_counter()
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return Fetched(self._entries[key], 0.0, False)
            pending = self._loading.get(key)
            if pending is None:
                pending = Future()
                self._loading[key] = pending
                owner = True
            else:
                owner = False
        if not owner:
            value = pending.result()  # re-raises the loader's error
            return Fetched(value, time.perf_counter() - started, False)
        evicted: list[tuple[str, T]] = []
        with self._lock:  # make room first: what is loading counts against the size too
            while len(self._entries) + len(self._reserved) >= self.size:
                if self._entries:
                    evicted.append(self._entries.popitem(last=False))
                else:
                    self._slot_freed.wait()
            self._reserved.add(key)
            self.evictions += len(evicted)
        self._dropped(evicted)
        try:
            value = load()
        except BaseException as exc:
            with self._lock:
                del self._loading[key]
                self._reserved.discard(key)
                self._slot_freed.notify_all()
            pending.set_exception(exc)
            raise
        with self._lock:
            self.loads += 1
            self._entries[key] = value
            del self._loading[key]
            self._reserved.discard(key)
            self._slot_freed.notify_all()
        pending.set_result(value)
        return Fetched(value, time.perf_counter() - started, True)

    def _dropped(self, evicted: list[tuple[str, T]]) -> None:
        for old_key, old_value in evicted:
            log.info("dropped student %s from the cache (least recently used)", old_key)
            if self._on_evict is not None:
                self._on_evict(old_key, old_value)
