"""Pure rules of the job state machine: queued → ingesting → reasoning → verifying → terminal."""

from __future__ import annotations

from collections.abc import Iterable

from sightsound.db.models import JobState

#: Which Celery stage continues a job found in each non-terminal state.
STAGE_FOR_STATE: dict[JobState, str] = {
    JobState.queued: "ingest",
    JobState.ingesting: "ingest",
    JobState.reasoning: "reason",
    JobState.verifying: "verify",
}

#: The states in which each stage may run; anything else means the stage already ran (skip it).
STATES_FOR_STAGE: dict[str, frozenset[JobState]] = {
    "ingest": frozenset({JobState.queued, JobState.ingesting}),
    "reason": frozenset({JobState.reasoning}),
    "verify": frozenset({JobState.verifying}),
}


def stage_for(state: JobState) -> str | None:
    """The stage that moves a job on from ``state``; ``None`` for terminal states.

    >>> stage_for(JobState.reasoning)
    'reason'
    >>> stage_for(JobState.accepted) is None
    True
    """
    return STAGE_FOR_STATE.get(state)


def outcome_of(decisions: Iterable[str]) -> JobState:
    """A job is accepted when at least one of its traces is.

    >>> outcome_of(["rejected", "accepted"])
    <JobState.accepted: 'accepted'>
    >>> outcome_of(["rejected", "rejected"])
    <JobState.rejected: 'rejected'>
    >>> outcome_of([])
    <JobState.rejected: 'rejected'>
    """
    return JobState.accepted if any(d == "accepted" for d in decisions) else JobState.rejected
