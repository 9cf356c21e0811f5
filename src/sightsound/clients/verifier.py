"""Client of the verifier service."""

from __future__ import annotations

from sightsound.clients.base import ServiceClient
from sightsound.contracts.verifier import VerifyRequest, VerifyResponse


class VerifierClient(ServiceClient):
    service = "verifier"
    url_setting = "verifier_url"

    def verify(self, request: VerifyRequest) -> VerifyResponse:
        return self._post("/v1/verify", request, VerifyResponse)
