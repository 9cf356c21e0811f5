"""``/v1/datasets``: immutable, versioned snapshots of accepted traces for training the student."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from sqlalchemy import select

from sightsound.contracts.training import DatasetCreate
from sightsound.db.models import Dataset
from sightsound.snapshot.create import HF_DIR, JSONL_NAME, EmptySelection, create_snapshot
from sightsound.web import ProblemError, problem_openapi_responses
from sightsound_api.deps import SessionDep, SettingsDep, scope
from sightsound_api.idempotency import first_of_key, replay
from sightsound_api.pagination import newest_first_page
from sightsound_api.training_schemas import DatasetOut, DatasetPage

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])


def dataset_out(dataset: Dataset) -> DatasetOut:
    base = (dataset.export_url or "").rstrip("/")
    return DatasetOut(
        id=dataset.id,
        name=dataset.name,
        version=dataset.version,
        variant=dataset.variant,
        filters=dict(dataset.filters),
        counts=dict(dataset.counts),
        provenance=dict(dataset.provenance),
        export_url=dataset.export_url,
        jsonl_url=f"{base}/{JSONL_NAME}" if base else None,
        hf_dataset_url=f"{base}/{HF_DIR}" if base else None,
        created_at=dataset.created_at,
    )


def _same_request(dataset: Dataset, request: DatasetCreate) -> bool:
    return (
        dataset.name == request.name
        and dataset.variant == request.variant
        and dataset.filters == request.filters.model_dump(mode="json", exclude_none=True)
    )


@router.post(
    "",
    dependencies=[scope("train")],
    status_code=status.HTTP_201_CREATED,
    response_model=DatasetOut,
    summary="Snapshot accepted traces into a new dataset version",
    responses={201: {"description": "Created; the dataset is at the `Location` header."},
               **problem_openapi_responses(409, 422)},
)
def create_dataset(
    request: DatasetCreate,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> DatasetOut:
    existing = replay(session, Dataset, idempotency_key, lambda row: _same_request(row, request), response,
                      "/v1/datasets")
    if existing is not None:
        response.status_code = status.HTTP_200_OK
        return dataset_out(existing)
    try:
        with first_of_key(session, "dataset"):
            snapshot = create_snapshot(session, request, settings.dataset_root, idempotency_key)
            session.commit()
    except EmptySelection as exc:
        session.rollback()
        raise ProblemError(422, f"the dataset would be empty: {exc}; relax the filters or wait for more "
                                "accepted traces", kind="empty-dataset") from exc
    response.headers["Location"] = f"/v1/datasets/{snapshot.dataset.id}"
    return dataset_out(snapshot.dataset)


@router.get("/{dataset_id}", dependencies=[scope("read")], response_model=DatasetOut, summary="A dataset",
            responses=problem_openapi_responses(404, 422))
def get_dataset(dataset_id: uuid.UUID, session: SessionDep) -> DatasetOut:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise ProblemError(404, f"no dataset with id {dataset_id}", kind="dataset-not-found")
    return dataset_out(dataset)


@router.get("", dependencies=[scope("read")], response_model=DatasetPage, summary="List datasets, newest first",
            responses=problem_openapi_responses(400, 422))
def list_datasets(
    session: SessionDep,
    name: Annotated[str | None, Query(max_length=128, description="Only versions of this name.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> DatasetPage:
    stmt = select(Dataset)
    if name is not None:
        stmt = stmt.where(Dataset.name == name)
    rows, next_cursor = newest_first_page(session, stmt, Dataset, limit, cursor)
    return DatasetPage(items=[dataset_out(d) for d in rows], next_cursor=next_cursor)
