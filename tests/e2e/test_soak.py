"""The soak of issue 12, in CI's size: 60 uploads from 10 concurrent clients (each with its own key, under the
API's real rate limits) against the real API and Celery workers, with PostgreSQL cut off for a few seconds
(a loopback proxy closes every connection and refuses new ones) and the private Redis really restarted, both while
uploads and jobs are in flight. Every job ends exactly once and none fails, no row exists twice, and the media
root holds exactly the files the rows point to. ``perf/soak.py`` runs the full 200 uploads from 20 clients."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightsound.config import Settings
from sightsound_ops.soak import run_soak

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_uploads_survive_a_postgresql_and_a_redis_restart(settings: Settings, tmp_path: Path) -> None:
    result = run_soak(settings.database_url, tmp_path, uploads=60, clients=10, distinct_clips=15, timeout_s=420)
    summary = {k: v for k, v in result.items() if k != "log_tails"}
    print(summary)
    assert [r["what"] for r in result["restarts"]] == ["postgresql", "redis"], summary
    assert not result["upload_errors"] and result["uploads_taken"] == 60, result
    assert result["jobs_in_database"] == 60 and result["jobs_terminal"] == 60, result
    assert set(result["states"]) <= {"accepted", "rejected", "no_consensus"}, result  # none failed
    assert result["unfinished"] == 0
    assert result["duplicates"] == dict.fromkeys(result["duplicates"], 0), summary
    assert result["orphans_after_collector"] == 0 and result["missing_files"] == 0, summary
    # No worker died on the way (the soak starts a dead one again, as compose would, but that is a failure).
    assert result["worker_crashes"] == [], summary
