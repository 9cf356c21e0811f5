"""An ASGI app served by a real uvicorn in a daemon thread on loopback, for tests that need a live HTTP peer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from sightsound_ops.stack import free_port


@contextmanager
def served(app: Any, port: int | None = None, start_timeout_s: float = 20.0) -> Iterator[str]:
    """Serve ``app`` on ``127.0.0.1:port`` (a free port unless given) and yield its base URL; stop it on exit."""
    port = free_port() if port is None else port
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise TimeoutError(f"the server on port {port} did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
