"""What goes wrong in a student request, independent of the protocol that reports it.

The native route answers ``application/problem+json`` and the OpenAI route answers OpenAI's
``{"error": {...}}``; both raise :class:`StudentRequestError` and each turns it into its own shape.
"""

from __future__ import annotations


class StudentRequestError(Exception):
    """``status`` for the response, ``kind`` a stable code, ``message`` what to fix, ``param`` the field."""

    def __init__(self, status: int, kind: str, message: str, param: str | None = None, *,
                 retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.param = param
        self.retry_after_s = retry_after_s  # a 429's Retry-After

    def headers(self) -> dict[str, str] | None:
        return None if self.retry_after_s is None else {"Retry-After": str(self.retry_after_s)}
