"""Client of the student service: typed ``answer`` and a raw ``forward`` for the OpenAI routes the API proxies."""

from __future__ import annotations

import httpx

from sightsound.clients.base import ServiceClient, TransientServiceError
from sightsound.contracts.student import StudentAnswerRequest, StudentAnswerResponse


class StudentClient(ServiceClient):
    service = "student"
    url_setting = "student_url"

    def answer(self, request: StudentAnswerRequest) -> StudentAnswerResponse:
        """The student's answer; raises ``ServiceRejectedError`` (4xx, with the student's detail and status)
        or ``TransientServiceError`` (connection refused, timeout, 5xx)."""
        return self._post("/v1/answer", request, StudentAnswerResponse)

    def forward(self, method: str, path: str, content: bytes = b"", content_type: str | None = None) -> httpx.Response:
        """Send a request through unchanged and hand back whatever the student answered (any status).

        Only a transport failure raises (``TransientServiceError``): the caller decides what to say then.
        """
        headers = {"content-type": content_type} if content_type else {}
        try:
            return self._client.request(method, path, content=content, headers=headers)
        except httpx.TransportError as exc:
            raise TransientServiceError(self.service, f"{type(exc).__name__}: {exc}") from exc
