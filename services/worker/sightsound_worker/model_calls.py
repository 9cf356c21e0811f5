"""Calls to the model services from a worker: one HTTP client per service and process (shared by its threads, so
connections are reused), each call inside a model-server slot (:mod:`sightsound.clients.slots`).

The reason and verify stages mostly wait on these calls, so they run in a threads pool with many calls in flight
(README "Scaling out"); the slot limits keep the model servers at the load they batch well, whatever the number of
workers and threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from sightsound.clients.base import ServiceClient
from sightsound.clients.slots import ModelSlots
from sightsound.clients.teacher import TeacherClient
from sightsound.clients.verifier import VerifierClient
from sightsound.config import Settings, secret_value

ClientT = TypeVar("ClientT", bound=ServiceClient)
ResultT = TypeVar("ResultT")

#: A slot's lease, renewed every third of it while the call runs: a killed worker's slots free within this.
LEASE_S = 30.0

_lock = threading.Lock()
_clients: dict[tuple[str, str, str, float, str], ServiceClient] = {}
_slots: dict[tuple[str, str, int, float], ModelSlots] = {}


def _client(cls: type[ClientT], settings: Settings) -> ClientT:
    url = str(getattr(settings, cls.url_setting))
    key = (cls.__name__, url, secret_value(settings.service_token) or "", settings.http_timeout_s, "")
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = cls.from_settings(settings, max_connections=None)
    assert isinstance(client, cls)
    return client


def teacher_client(settings: Settings) -> TeacherClient:
    return _client(TeacherClient, settings)


def verifier_client(settings: Settings) -> VerifierClient:
    return _client(VerifierClient, settings)


def slots(settings: Settings, service: str) -> ModelSlots:
    """The in-flight limit of ``service`` (``teacher`` or ``verifier``), one per process."""
    limit = int(getattr(settings, f"{service}_max_in_flight"))
    key = (settings.redis_url, service, limit, LEASE_S)
    with _lock:
        found = _slots.get(key)
        if found is None:
            found = _slots[key] = ModelSlots(settings.redis_url, service, limit, LEASE_S)
    return found


@dataclass(frozen=True)
class Timed:
    """How long one model call took, and how long it waited for its slot."""

    seconds: float
    waited_s: float


@contextmanager
def model_slot(settings: Settings, service: str) -> Iterator[float]:
    with slots(settings, service).hold(settings.model_slot_wait_s) as waited:
        yield waited


def call_model(settings: Settings, service: str, call: Callable[[], ResultT]) -> tuple[ResultT, Timed]:
    """Run ``call`` inside one of ``service``'s slots; the result and its timing."""
    with model_slot(settings, service) as waited:
        start = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - start
    return result, Timed(seconds, waited)
