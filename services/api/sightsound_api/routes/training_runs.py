"""``/v1/training-runs``: train the student on a dataset (SFT, GRPO or both) in a trainer worker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from sqlalchemy import select, update

from sightsound.contracts.training import TrainingRunCreate
from sightsound.db.models import Dataset, RunState, TrainingRun
from sightsound.web import ProblemError, problem_openapi_responses
from sightsound_api.deps import SessionDep, SettingsDep, scope
from sightsound_api.idempotency import first_of_key, replay
from sightsound_api.pagination import newest_first_page
from sightsound_api.training_limits import check_run_request
from sightsound_api.training_schemas import CheckpointOut, TrainingRunOut, TrainingRunPage

router = APIRouter(prefix="/v1/training-runs", tags=["training runs"])

TERMINAL_RUN_STATES = frozenset({RunState.succeeded, RunState.failed, RunState.cancelled})


def run_out(run: TrainingRun) -> TrainingRunOut:
    return TrainingRunOut(
        id=run.id,
        dataset_id=run.dataset_id,
        student_model=run.student_model,
        stages=list(run.stages),
        hyperparameters=dict(run.hyperparameters),
        state=run.state,
        progress=dict(run.progress),
        error=run.error,
        cancel_requested=run.cancel_requested,
        attempts=run.attempts,
        output_url=run.output_url,
        checkpoints=[CheckpointOut.model_validate(c) for c in run.checkpoints],
        created_at=run.created_at,
        updated_at=run.updated_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


def _request_of(run: TrainingRun) -> dict[str, object]:
    return {"dataset_id": str(run.dataset_id), "student_model": run.student_model, "stages": list(run.stages),
            "hyperparameters": dict(run.hyperparameters)}


def _get_run(session: SessionDep, run_id: uuid.UUID) -> TrainingRun:
    run = session.get(TrainingRun, run_id)
    if run is None:
        raise ProblemError(404, f"no training run with id {run_id}", kind="training-run-not-found")
    return run


@router.post(
    "",
    dependencies=[scope("train")],
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TrainingRunOut,
    summary="Start a training run; a trainer worker takes it from the `train` queue",
    responses={202: {"description": "Accepted; poll the run at the `Location` header."},
               **problem_openapi_responses(409, 422)},
)
def create_training_run(
    body: TrainingRunCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> TrainingRunOut:
    wanted = body.model_dump(mode="json")
    existing = replay(session, TrainingRun, idempotency_key, lambda row: _request_of(row) == wanted, response,
                      "/v1/training-runs")
    if existing is not None:
        return run_out(existing)
    dataset = session.get(Dataset, body.dataset_id)
    if dataset is None:
        raise ProblemError(422, f"dataset_id: no dataset with id {body.dataset_id}; create one with "
                                "POST /v1/datasets", kind="dataset-not-found")
    if int(dataset.counts.get("records", 0)) == 0:
        raise ProblemError(422, f"dataset_id: dataset {dataset.id} has no records to train on",
                           kind="empty-dataset")
    check_run_request(body, settings, int(dataset.counts.get("records", 0)))
    run_id = uuid.uuid4()
    run = TrainingRun(
        id=run_id,
        dataset_id=dataset.id,
        student_model=body.student_model,
        stages=list(body.stages),
        hyperparameters=wanted["hyperparameters"],
        state=RunState.queued,
        progress={"stage": None, "stages": list(body.stages), "step": 0, "total_steps": 0},
        idempotency_key=idempotency_key,
    )
    session.add(run)
    with first_of_key(session, "run"):
        session.commit()
    # After the commit: a worker must never get a message for a row it cannot see yet. If the broker is
    # down the run stays queued in PostgreSQL, and a trainer worker re-sends it when it starts.
    try:
        request.app.state.dispatcher.send_training_run(run_id)
    except Exception:
        import logging

        logging.getLogger(__name__).exception("could not send training run %s; a trainer worker re-sends "
                                              "queued runs when it starts", run_id)
    response.headers["Location"] = f"/v1/training-runs/{run_id}"
    session.refresh(run)
    return run_out(run)


@router.get("/{run_id}", response_model=TrainingRunOut, summary="A training run with its progress",
            dependencies=[scope("read")], responses=problem_openapi_responses(404, 422))
def get_training_run(run_id: uuid.UUID, session: SessionDep) -> TrainingRunOut:
    return run_out(_get_run(session, run_id))


@router.get("", response_model=TrainingRunPage, summary="List training runs, newest first",
            dependencies=[scope("read")], responses=problem_openapi_responses(400, 422))
def list_training_runs(
    session: SessionDep,
    state: Annotated[RunState | None, Query()] = None,
    dataset_id: Annotated[uuid.UUID | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> TrainingRunPage:
    stmt = select(TrainingRun)
    if state is not None:
        stmt = stmt.where(TrainingRun.state == state)
    if dataset_id is not None:
        stmt = stmt.where(TrainingRun.dataset_id == dataset_id)
    rows, next_cursor = newest_first_page(session, stmt, TrainingRun, limit, cursor)
    return TrainingRunPage(items=[run_out(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/{run_id}/cancel",
    dependencies=[scope("admin")],
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TrainingRunOut,
    summary="Cancel a run: a queued run stops at once, a running one after its current step",
    responses=problem_openapi_responses(404, 409, 422),
)
def cancel_training_run(run_id: uuid.UUID, session: SessionDep) -> TrainingRunOut:
    run = _get_run(session, run_id)
    if run.state in TERMINAL_RUN_STATES:
        raise ProblemError(409, f"training run {run_id} is {run.state.value} already", kind="run-finished")
    now = datetime.now(UTC)
    # Compare-and-set: a worker may move the run between our read and this write.
    session.execute(
        update(TrainingRun)
        .where(TrainingRun.id == run_id, TrainingRun.state == RunState.queued)
        .values(state=RunState.cancelled, cancel_requested=True, finished_at=now, updated_at=now)
    )
    session.execute(
        update(TrainingRun)
        .where(TrainingRun.id == run_id, TrainingRun.state == RunState.running)
        .values(cancel_requested=True, updated_at=now)
    )
    session.commit()
    session.refresh(run)
    return run_out(run)
