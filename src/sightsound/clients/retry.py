"""The platform's one retry policy for HTTP calls to other services and model servers.

Worth retrying: connection failures and the statuses in :data:`RETRYABLE_STATUSES` (request timeout,
too early, too many requests, server errors). Everything else is the caller's to fix. Waits double from a
base; a server's ``Retry-After`` (in seconds) wins, capped at :data:`MAX_RETRY_AFTER_S`.
"""

from __future__ import annotations

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0


def retry_delay(attempt: int, base_s: float, retry_after: str | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): ``base_s * 2**attempt``, or the server's
    ``Retry-After`` seconds when given (capped at :data:`MAX_RETRY_AFTER_S`).

    >>> retry_delay(0, 0.5), retry_delay(3, 0.5), retry_delay(0, 0.5, "2"), retry_delay(0, 0.5, "999")
    (0.5, 4.0, 2.0, 60.0)
    >>> retry_delay(1, 0.5, "Wed, 21 Oct 2015 07:28:00 GMT")  # an HTTP date: fall back to backoff
    1.0
    """
    if retry_after is not None:
        try:
            return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER_S)
        except ValueError:
            pass
    return float(base_s * 2**attempt)
