"""The pipeline declared as data: each stage's name (also its queue), the job states it runs from, what it
runs, and the stage that follows. The Celery tasks (:mod:`.tasks`) and the reaper read it; nothing else
knows the order of the stages.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sightsound.config import Settings
from sightsound.db.models import JobState
from sightsound_worker import model_calls, stages
from sightsound_worker.states import STATES_FOR_STAGE


@dataclass(frozen=True)
class Stage:
    name: str
    from_states: frozenset[JobState]
    run: Callable[[Settings, uuid.UUID], stages.StageResult]
    next: str | None  # the stage a successful run hands the job to (the result may end the job instead)


def _reason(settings: Settings, job_id: uuid.UUID) -> stages.StageResult:
    return stages.run_reason(settings, job_id, model_calls.teacher_client(settings))


def _verify(settings: Settings, job_id: uuid.UUID) -> stages.StageResult:
    return stages.run_verify(settings, job_id, model_calls.verifier_client(settings))


PIPELINE: tuple[Stage, ...] = (
    Stage("ingest", STATES_FOR_STAGE["ingest"], stages.run_ingest, "reason"),
    Stage("reason", STATES_FOR_STAGE["reason"], _reason, "verify"),
    Stage("verify", STATES_FOR_STAGE["verify"], _verify, None),
)
STAGES: dict[str, Stage] = {stage.name: stage for stage in PIPELINE}
