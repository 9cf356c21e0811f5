"""Many pipeline workers on one machine, SIGKILLed along the way: every job ends exactly once, no row twice.

Real API, PostgreSQL, Redis and Celery workers (three reason + verify workers in threads pools, two ingest workers
in prefork pools, as several hosts would run them); the teacher and verifier are the stand-ins of
``sightsound_devdata.model_standins`` (0.3 s per request, some questions without consensus, some traces rejected),
so 500 jobs fit in a few minutes on two cores. While the jobs run, workers are killed with SIGKILL (mid-call,
holding model-server slots and unacknowledged messages) and fresh ones started; the reaper runs the way beat runs
it. At the end every job is terminal, none failed, and each trace, claim, verdict and decision exists once.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from sightsound.config import Settings
from sightsound.db.models import TERMINAL_STATES, Job, Trace
from sightsound.db.session import session_scope
from sightsound.tasks.dispatch import Dispatcher
from sightsound_ops.pipeline_rig import PipelineRig, rig_env
from sightsound_worker.reaper import requeue_stuck

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

JOBS = 500
K = 4


def duplicates(settings: Settings) -> dict[str, int]:
    """Rows that exist more than once where the pipeline must write them once."""
    queries = {
        "traces": "SELECT count(*) FROM (SELECT job_id, trace_index FROM traces GROUP BY 1, 2 HAVING count(*) > 1) d",
        "claims": "SELECT count(*) FROM (SELECT trace_id, claim_index FROM claims GROUP BY 1, 2 HAVING count(*) > 1) d",
        "verdicts": "SELECT count(*) FROM (SELECT claim_id, checker FROM verdicts GROUP BY 1, 2 HAVING count(*) > 1) d",
        "decisions": "SELECT count(*) FROM (SELECT trace_id FROM trace_decisions GROUP BY 1 HAVING count(*) > 1) d",
        "jobs_per_question": "SELECT count(*) FROM (SELECT question_id FROM jobs GROUP BY 1 HAVING count(*) > 1) d",
    }
    with session_scope(settings.database_url) as session:
        return {name: int(session.execute(text(sql)).scalar_one()) for name, sql in queries.items()}


def test_many_workers_killed_along_the_way_finish_every_job_once(settings: Settings, speech_clip: Path,
                                                                 tmp_path: Path) -> None:
    env = rig_env(settings.database_url, settings.redis_url, settings.media_root, **{
        "SIGHTSOUND_TRACES_PER_QUESTION": str(K),
        "SIGHTSOUND_TEACHER_MAX_IN_FLIGHT": "64",
        "SIGHTSOUND_VERIFIER_MAX_IN_FLIGHT": "64",
        "SIGHTSOUND_HTTP_TIMEOUT_S": "10",
        # A killed worker's unacknowledged messages come back after a few seconds, not an hour.
        "SIGHTSOUND_BROKER_VISIBILITY_TIMEOUT_S": "10",
        "SIGHTSOUND_DATABASE_POOL_SIZE": "6",
    })
    rig = PipelineRig(env=env, log_dir=tmp_path / "logs", database_url=settings.database_url, teacher_s=0.3,
                      verifier_s=0.3, no_consensus=0.1, reject=0.2)
    with rig:
        for _ in range(2):
            rig.add_ingest_worker(1)
        for _ in range(3):
            rig.add_model_worker(24)
        submitted: list[str] = []
        uploader = threading.Thread(target=lambda: submitted.extend(rig.submit_many([speech_clip], JOBS, 6)))
        uploader.start()
        kills: Counter[str] = Counter()
        reaped = 0
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline:
            time.sleep(4)
            states = rig.states()
            done = sum(n for s, n in states.items() if s in {t.value for t in TERMINAL_STATES})
            if kills["models"] < 4 and done >= 40 * (kills["models"] + 1):
                victim = next(name for name in rig.workers() if name.startswith("models-"))
                rig.kill(victim, signal.SIGKILL)  # mid-call: slots held, messages unacknowledged
                rig.add_model_worker(24)
                kills["models"] += 1
            if kills["ingest"] < 2 and done >= 100 * (kills["ingest"] + 1):
                victim = next(name for name in rig.workers() if name.startswith("ingest-"))
                rig.kill(victim, signal.SIGKILL)
                rig.add_ingest_worker(1)
                kills["ingest"] += 1
            # What beat does every few minutes, sooner: re-send jobs whose message went with a killed worker.
            reaped += len(requeue_stuck(settings, older_than_s=20, send=Dispatcher(settings).enqueue).requeued)
            if not uploader.is_alive() and done >= JOBS:
                break
        uploader.join(timeout=60)
        assert len(submitted) == JOBS
        final = rig.wait_terminal(submitted, timeout_s=60)

    assert kills == {"models": 4, "ingest": 2}, kills
    assert sum(final.values()) == JOBS and set(final) <= {"accepted", "rejected", "no_consensus"}, final
    assert final["no_consensus"] > 0 and final["accepted"] > 0, final
    assert duplicates(settings) == dict.fromkeys(duplicates(settings), 0)
    with session_scope(settings.database_url) as session:
        traces = Counter(dict(session.execute(select(Trace.job_id, func.count()).group_by(Trace.job_id)).all()))
        assert len(traces) == JOBS and set(traces.values()) == {K}
        decided = session.execute(text(
            "SELECT count(*) FROM trace_decisions d JOIN traces t ON t.id = d.trace_id JOIN jobs j ON j.id = t.job_id "
            "WHERE j.state IN ('accepted', 'rejected')")).scalar_one()
        verified_jobs = final["accepted"] + final["rejected"]
        assert decided == K * verified_jobs  # the stand-in's consensus is unanimous: every trace is verified
        unfinished = session.scalar(select(func.count()).where(Job.finished_at.is_(None)))
        assert unfinished == 0
    print(f"{JOBS} jobs, kills {dict(kills)}, reaper re-sent {reaped}: {dict(final)}")
