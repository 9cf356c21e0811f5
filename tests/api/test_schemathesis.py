"""Schemathesis against the real API (issue 12A): uvicorn on a free loopback port, a real admin key, the student
service behind it, PostgreSQL and Redis of the tests. At least 1,000 generated requests in all; no 5xx and no
response that breaks the OpenAPI (``not_a_server_error``, ``response_schema_conformance``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from sightsound.config import Settings
from sightsound_ops.stack import ServiceProcess, free_port
from tests.conftest import TEST_SERVICE_TOKEN

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MIN_REQUESTS = 1000
#: Fuzzing cases per operation (the coverage phase adds its own): with ~30 operations, well over MIN_REQUESTS.
MAX_EXAMPLES = int(os.environ.get("SIGHTSOUND_SCHEMATHESIS_EXAMPLES", "10"))
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture(scope="module")
def api_url(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGHTSOUND_")}
    student_port, api_port = free_port(), free_port()
    env.update({
        "SIGHTSOUND_ENVIRONMENT": "test",
        "SIGHTSOUND_DATABASE_URL": settings.database_url,
        "SIGHTSOUND_REDIS_URL": settings.redis_url,
        "SIGHTSOUND_MEDIA_ROOT": str(tmp_path_factory.mktemp("fuzz-media")),
        "SIGHTSOUND_DATASET_ROOT": str(tmp_path_factory.mktemp("fuzz-datasets")),
        "SIGHTSOUND_MAX_UPLOAD_BYTES": str(2 * 1024 * 1024),
        "SIGHTSOUND_SERVICE_TOKEN": TEST_SERVICE_TOKEN,
        "SIGHTSOUND_STUDENT_URL": f"http://127.0.0.1:{student_port}",
        "SIGHTSOUND_STUDENT_BASE_MODELS": '["tiny-random"]',
        "SIGHTSOUND_STUDENT_DEVICE": "cpu",
        "SIGHTSOUND_STUDENT_MAX_NEW_TOKENS": "8",
        # One key sends every generated request: budgets that do not cut the fuzzing short (test_rate_limits).
        "SIGHTSOUND_RATE_LIMIT_READ": "100000/minute",
        "SIGHTSOUND_RATE_LIMIT_WRITE": "100000/minute",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    })
    log_dir = tmp_path_factory.mktemp("fuzz-logs")
    processes = [ServiceProcess(name, [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port)],
                                f"http://127.0.0.1:{port}/healthz", log_dir / f"{name}.log")
                 for name, module, port in (("student", "sightsound_student", student_port),
                                            ("api", "sightsound_api", api_port))]
    try:
        for proc in processes:
            proc.start(env)
        deadline = time.monotonic() + 120
        for proc in processes:
            assert proc.health_url is not None
            while True:
                assert proc.alive(), proc.log_tail()
                try:
                    if httpx.get(proc.health_url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, proc.log_tail()
                time.sleep(0.3)
        yield f"http://127.0.0.1:{api_port}"
    finally:
        for proc in processes:
            proc.stop()
        redis.Redis.from_url(settings.redis_url).flushdb()  # no worker takes what the fuzzer queued


def test_schemathesis_finds_no_server_error_and_no_schema_violation(api_url: str, api_key: str,
                                                                    tmp_path: Path) -> None:
    report = tmp_path / "report.ndjson"
    argv = [str(SCHEMATHESIS), "run", f"{api_url}/openapi.json",
            "--header", f"Authorization: Bearer {api_key}",
            "--checks", "not_a_server_error,response_schema_conformance",
            "--max-examples", str(MAX_EXAMPLES), "--seed", "12", "--workers", "1",
            "--phases", "examples,coverage,fuzzing", "--generation-with-security-parameters", "false",
            "--request-timeout", "60", "--no-color", "--output-sanitize", "true",
            "--report", "ndjson", "--report-ndjson-path", str(report),
            "--generation-database", "none", "--suppress-health-check", "all"]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=3000,
                         env={**os.environ, "SCHEMATHESIS_HOOKS": ""})
    summary = run.stdout[-6000:]
    requests = count_requests(report)
    print(summary)
    print(f"schemathesis sent {requests} requests")
    assert run.returncode == 0, summary + run.stderr[-3000:]
    assert requests >= MIN_REQUESTS, summary


def count_requests(report: Path) -> int:
    """Requests the run sent, read from its NDJSON event stream (one interaction per request)."""
    total = 0
    for line in report.read_text().splitlines():
        event = json.loads(line)
        for name, body in event.items():
            if name == "ScenarioFinished":
                total += len(body.get("recorder", {}).get("interactions", {}))
    return total
