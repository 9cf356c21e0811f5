"""Concurrency limits per model server, shared by every worker on every host: a Redis-backed semaphore.

A model server (vLLM behind the teacher, the verifier's audio LLM) is fastest with a steady number of requests in
flight: too few and its batches run half empty, too many and every request waits in its queue while holding a
worker thread. ``SIGHTSOUND_TEACHER_MAX_IN_FLIGHT`` and ``SIGHTSOUND_VERIFIER_MAX_IN_FLIGHT`` say how many; the
workers (any number, on any host) take a slot before each call and give it back after.

The slots are a sorted set per server in Redis: member = a random token, score = when the slot's lease ends (Redis
server time, so the hosts' clocks do not matter). A holder's process renews its leases every third of ``lease_s``
while its calls run, however long they take; a worker killed mid-call stops renewing, and its slots free within
``lease_s``. Every release pushes a wake-up onto a list that waiting workers block on (``BLPOP``), so a freed slot
is taken within a round trip, not a polling interval.

Redis is transport only here too: losing it loses the leases, never data (a limit briefly not enforced).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import redis

# KEYS[1] slots, KEYS[2] wake-ups; ARGV: limit, lease seconds, token. 1 when the slot was taken.
_ACQUIRE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], t + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000) + 60000)
  return 1
end
return 0
"""
# KEYS[1] slots; ARGV: lease seconds, tokens... Extends the leases of the tokens still held.
_RENEW = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', t + tonumber(ARGV[1]), ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1]) * 1000) + 60000)
return #ARGV - 1
"""
# KEYS[1] slots, KEYS[2] wake-ups; ARGV: token, limit. Wakes one waiter (the list is kept short).
_RELEASE = """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('LPUSH', KEYS[2], '1')
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[2], 60000)
return removed
"""


class NoSlotError(TimeoutError):
    """No slot of the model server freed up within the wait; the caller retries later."""


@dataclass
class ModelSlots:
    """The in-flight limit of one model server (``name``): at most ``limit`` holders at a time (0: unlimited)."""

    redis_url: str
    name: str
    limit: int
    lease_s: float = 30.0
    client: Any = field(default=None, repr=False)
    _held: set[str] = field(default_factory=set, repr=False)
    _keeper: threading.Thread | None = field(default=None, repr=False)
    _keeper_pid: int = field(default=0, repr=False)  # a forked child starts its own keeper
    _mutex: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.client is None and self.limit > 0:
            self.client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=5, socket_timeout=30,
                                               health_check_interval=30)
        self._key = f"sightsound:slots:{self.name}"
        self._wake = f"sightsound:slots:{self.name}:wake"
        self._acquire = self.client.register_script(_ACQUIRE) if self.client is not None else None
        self._release = self.client.register_script(_RELEASE) if self.client is not None else None
        self._renew = self.client.register_script(_RENEW) if self.client is not None else None

    def try_acquire(self) -> str | None:
        """A slot's token, or ``None`` when all ``limit`` slots are taken."""
        token = secrets.token_hex(8)
        assert self._acquire is not None
        got = self._acquire(keys=[self._key, self._wake], args=[self.limit, self.lease_s, token])
        if int(got) != 1:
            return None
        with self._mutex:
            self._held.add(token)
            if self._keeper is None or not self._keeper.is_alive() or self._keeper_pid != os.getpid():
                self._keeper_pid = os.getpid()
                self._keeper = threading.Thread(target=self._keep, name=f"slots-{self.name}", daemon=True)
                self._keeper.start()
        return token

    def release(self, token: str) -> None:
        with self._mutex:
            self._held.discard(token)
        assert self._release is not None
        self._release(keys=[self._key, self._wake], args=[token, self.limit])

    def renew(self) -> int:
        """Extend the leases of the slots this process holds; how many."""
        with self._mutex:
            held = list(self._held)
        if not held:
            return 0
        assert self._renew is not None
        return int(self._renew(keys=[self._key], args=[self.lease_s, *held]))

    def _keep(self) -> None:
        while True:
            time.sleep(self.lease_s / 3)
            with contextlib.suppress(redis.RedisError):
                self.renew()

    def in_flight(self) -> int:
        """Slots held now (leases not yet ended)."""
        if self.client is None:
            return 0
        now = time.time()
        return int(self.client.zcount(self._key, now, "+inf"))

    @contextlib.contextmanager
    def hold(self, wait_s: float) -> Iterator[float]:
        """Hold a slot for the duration; yields the seconds spent waiting for it. :class:`NoSlotError` after
        ``wait_s`` without one."""
        if self.limit <= 0:
            yield 0.0
            return
        start = time.monotonic()
        deadline = start + wait_s
        token = self.try_acquire()
        while token is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise NoSlotError(f"no free {self.name} slot within {wait_s:.0f} s ({self.limit} in flight)")
            # Woken by a release; the timeout bounds the wait when a holder died with its slot (its lease ends).
            self.client.blpop([self._wake], timeout=max(0.05, min(left, 1.0)))
            token = self.try_acquire()
        waited = time.monotonic() - start
        try:
            yield waited
        finally:
            with contextlib.suppress(redis.RedisError):  # the lease ends the slot anyway
                self.release(token)
