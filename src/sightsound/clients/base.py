"""Typed httpx clients for the services; errors are split into transient and final ones."""

from __future__ import annotations

from typing import ClassVar, Self, TypeVar

import httpx
from pydantic import BaseModel

from sightsound.clients.retry import RETRYABLE_STATUSES
from sightsound.config import Settings, secret_value

ResponseT = TypeVar("ResponseT", bound=BaseModel)

TRANSIENT_STATUSES = RETRYABLE_STATUSES  # the platform's one retry policy (sightsound.clients.retry)


class ServiceError(Exception):
    """A call to another service failed."""

    def __init__(self, service: str, message: str, status: int | None = None, *,
                 retry_after: str | None = None) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service
        self.status = status
        self.message = message
        self.retry_after = retry_after  # the service's Retry-After header (a 429 or 503), to pass on as it said


class TransientServiceError(ServiceError):
    """Worth retrying: connection errors, timeouts, 429 and 5xx."""


class ServiceRejectedError(ServiceError):
    """The service refused the request (4xx): retrying the same request cannot help."""


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)[:500]


class ServiceClient:
    service = "service"
    url_setting: ClassVar[str] = ""  # the Settings field holding the service's base URL

    @classmethod
    def from_settings(cls, settings: Settings, transport: httpx.BaseTransport | None = None, *,
                      max_connections: int | None = 100) -> Self:
        """A client of this service as the settings configure it: its URL, the HTTP timeout, the service token."""
        return cls(getattr(settings, cls.url_setting), settings.http_timeout_s, transport,
                   token=secret_value(settings.service_token), max_connections=max_connections)

    def __init__(self, base_url: str, timeout_s: float = 300.0, transport: httpx.BaseTransport | None = None, *,
                 token: str | None = None, max_connections: int | None = 100):
        """``token``: the internal services' shared token (``SIGHTSOUND_SERVICE_TOKEN``), sent as a bearer header.
        ``max_connections``: open connections at most (``None``: no limit; one client shared by a worker's threads
        holds as many as it has calls in flight)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections or 1024)
        self._client = httpx.Client(base_url=base_url, timeout=timeout_s, transport=transport, headers=headers,
                                    limits=limits)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _post(self, path: str, payload: BaseModel, response_type: type[ResponseT]) -> ResponseT:
        try:
            response = self._client.post(path, json=payload.model_dump(mode="json"))
        except httpx.TransportError as exc:
            raise TransientServiceError(self.service, f"{type(exc).__name__}: {exc}") from exc
        if response.status_code in TRANSIENT_STATUSES:
            raise TransientServiceError(self.service, _detail(response), response.status_code,
                                        retry_after=response.headers.get("retry-after"))
        if response.status_code >= 400:
            raise ServiceRejectedError(self.service, _detail(response), response.status_code)
        return response_type.model_validate(response.json())
