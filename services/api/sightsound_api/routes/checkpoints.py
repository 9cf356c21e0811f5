"""``/v1/checkpoints``: the students training saved, and which one answers student requests (deployed)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sightsound.db.models import Checkpoint, TrainingRun
from sightsound.registry import UnknownModel, deploy_checkpoint, url_path
from sightsound.web import ProblemError, problem_openapi_responses
from sightsound_api.checkpoint_schemas import CheckpointDetail, CheckpointPage, CheckpointRunOut
from sightsound_api.deps import SessionDep, scope
from sightsound_api.pagination import newest_first_page

router = APIRouter(prefix="/v1/checkpoints", tags=["checkpoints"])


def checkpoint_out(checkpoint: Checkpoint, run: TrainingRun) -> CheckpointDetail:
    return CheckpointDetail(
        id=checkpoint.id,
        model_ref=f"checkpoint:{checkpoint.id}",
        run_id=checkpoint.run_id,
        run=CheckpointRunOut.model_validate(run),
        stage=checkpoint.stage,
        step=checkpoint.step,
        url=checkpoint.url,
        metrics=dict(checkpoint.metrics),
        deployed=checkpoint.deployed,
        deployed_at=checkpoint.deployed_at,
        folder_present=(url_path(checkpoint.url) / "checkpoint.json").exists(),
        created_at=checkpoint.created_at,
    )


def _detail(session: SessionDep, checkpoint: Checkpoint) -> CheckpointDetail:
    return checkpoint_out(checkpoint, session.get_one(TrainingRun, checkpoint.run_id))


def _get(session: SessionDep, checkpoint_id: uuid.UUID) -> Checkpoint:
    checkpoint = session.get(Checkpoint, checkpoint_id)
    if checkpoint is None:
        raise ProblemError(404, f"no checkpoint with id {checkpoint_id}", kind="checkpoint-not-found")
    return checkpoint


@router.get("", dependencies=[scope("read")], response_model=CheckpointPage, summary="List checkpoints, newest first",
            responses=problem_openapi_responses(400, 422))
def list_checkpoints(
    session: SessionDep,
    run_id: Annotated[uuid.UUID | None, Query(description="Only this training run's checkpoints.")] = None,
    deployed: Annotated[bool | None, Query(description="Only the deployed one (true) or the others (false).")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> CheckpointPage:
    stmt = select(Checkpoint)
    if run_id is not None:
        stmt = stmt.where(Checkpoint.run_id == run_id)
    if deployed is not None:
        stmt = stmt.where(Checkpoint.deployed.is_(deployed))
    rows, next_cursor = newest_first_page(session, stmt, Checkpoint, limit, cursor)
    runs = {r.id: r for r in session.scalars(select(TrainingRun).where(TrainingRun.id.in_({c.run_id for c in rows})))}
    return CheckpointPage(items=[checkpoint_out(c, runs[c.run_id]) for c in rows], next_cursor=next_cursor)


@router.get("/deployed", response_model=CheckpointDetail, summary="The deployed checkpoint",
            dependencies=[scope("read")], responses=problem_openapi_responses(404))
def get_deployed(session: SessionDep) -> CheckpointDetail:
    checkpoint = session.scalars(select(Checkpoint).where(Checkpoint.deployed)).first()
    if checkpoint is None:
        raise ProblemError(404, "no checkpoint is deployed: deploy one with POST /v1/checkpoints/{id}/deploy",
                           kind="none-deployed")
    return _detail(session, checkpoint)


@router.get("/{checkpoint_id}", response_model=CheckpointDetail, summary="A checkpoint with its run",
            dependencies=[scope("read")], responses=problem_openapi_responses(404, 422))
def get_checkpoint(checkpoint_id: uuid.UUID, session: SessionDep) -> CheckpointDetail:
    return _detail(session, _get(session, checkpoint_id))


@router.post(
    "/{checkpoint_id}/deploy",
    dependencies=[scope("admin")],
    response_model=CheckpointDetail,
    summary="Deploy a checkpoint: student requests that name no model (or `deployed`) get it from now on",
    responses=problem_openapi_responses(404, 409, 422),
)
def deploy(checkpoint_id: uuid.UUID, session: SessionDep) -> CheckpointDetail:
    """Marks this checkpoint deployed and the previously deployed one not, in one transaction. The student
    service resolves `deployed` on every request, so the next answer comes from this checkpoint."""
    _get(session, checkpoint_id)
    try:
        checkpoint = deploy_checkpoint(session, checkpoint_id)
        session.commit()
    except UnknownModel as exc:  # it exists (checked above), so its folder is gone
        session.rollback()
        raise ProblemError(409, str(exc), kind="checkpoint-folder-gone") from exc
    except IntegrityError as exc:  # a concurrent deploy of another checkpoint won the one-deployed index
        session.rollback()
        raise ProblemError(409, "another checkpoint was deployed at the same moment; retry",
                           kind="deploy-conflict") from exc
    return _detail(session, checkpoint)
