"""Client of the teacher service."""

from __future__ import annotations

from sightsound.clients.base import ServiceClient
from sightsound.contracts.teacher import ReasonRequest, ReasonResponse


class TeacherClient(ServiceClient):
    service = "teacher"
    url_setting = "teacher_url"

    def reason(self, request: ReasonRequest) -> ReasonResponse:
        return self._post("/v1/reason", request, ReasonResponse)
