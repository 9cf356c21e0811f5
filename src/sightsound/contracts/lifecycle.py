"""States of the platform's records: jobs, training runs and evaluations, and the question splits.

Contracts and the ORM both use these (the ORM stores them as PostgreSQL enum columns); they live here so a
contract never imports the ORM.
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    queued = "queued"
    ingesting = "ingesting"
    reasoning = "reasoning"
    verifying = "verifying"
    accepted = "accepted"
    rejected = "rejected"
    no_consensus = "no_consensus"
    failed = "failed"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({JobState.accepted, JobState.rejected, JobState.no_consensus, JobState.failed})


class Split(StrEnum):
    train = "train"
    validation = "validation"
    test = "test"


class RunState(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
