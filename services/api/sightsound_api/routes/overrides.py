"""Reviewers overruling the machine: ``/v1/claims/{id}/overrides`` (a claim's verdict) and
``/v1/traces/{id}/overrides`` (a trace's decision). Append-only; the latest override is in force; the
machine's verdicts and decisions stay as they were."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status
from sqlalchemy import select

from sightsound.db.models import Claim, ReviewOverride, Trace
from sightsound.db.overrides import NotFound, Reviewer, overrule_claim, overrule_trace
from sightsound.web import ProblemError, problem_openapi_responses
from sightsound_api.deps import ReadScope, SessionDep, SubmitScope
from sightsound_api.idempotency import first_of_key, replay
from sightsound_api.override_schemas import ClaimOverrideIn, OverrideList, OverrideOut, RowId, TraceOverrideIn

router = APIRouter(prefix="/v1", tags=["review"])
_CREATED = {201: {"description": "Recorded; `Location` names it."}, **problem_openapi_responses(404, 409, 422)}


def _same(row: ReviewOverride, claim_id: int | None, trace_id: int | None, label: str, comment: str) -> bool:
    """Whether a stored override is the one this request asks for (an ``Idempotency-Key`` replay)."""
    said = row.verdict if claim_id is not None else row.decision
    target = row.claim_id == claim_id and (claim_id is not None or row.trace_id == trace_id)
    return target and said is not None and said.value == label and row.comment == comment.strip()


@router.post("/claims/{claim_id}/overrides", status_code=status.HTTP_201_CREATED, response_model=OverrideOut,
             summary="Overrule a claim's verdict (scope `submit`)", responses=_CREATED)
def override_claim(claim_id: RowId, body: ClaimOverrideIn, session: SessionDep, principal: SubmitScope,
                   response: Response, idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
                   ) -> OverrideOut:
    existing = replay(session, ReviewOverride, idempotency_key,
                      lambda r: _same(r, claim_id, None, body.verdict.value, body.comment), response,
                      f"/v1/claims/{claim_id}/overrides")
    if existing is not None:
        return OverrideOut.model_validate(existing)
    try:
        row = overrule_claim(session, claim_id, body.verdict, body.comment,
                             Reviewer.of(principal.name, principal.key_id))
    except NotFound as exc:
        raise ProblemError(404, str(exc), kind="claim-not-found") from exc
    row.idempotency_key = idempotency_key
    with first_of_key(session, "override"):
        session.commit()
    response.headers["Location"] = f"/v1/claims/{claim_id}/overrides/{row.id}"
    return OverrideOut.model_validate(row)


@router.post("/traces/{trace_id}/overrides", status_code=status.HTTP_201_CREATED, response_model=OverrideOut,
             summary="Overrule a trace's decision (scope `submit`)", responses=_CREATED)
def override_trace(trace_id: RowId, body: TraceOverrideIn, session: SessionDep, principal: SubmitScope,
                   response: Response, idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
                   ) -> OverrideOut:
    existing = replay(session, ReviewOverride, idempotency_key,
                      lambda r: _same(r, None, trace_id, body.decision.value, body.comment), response,
                      f"/v1/traces/{trace_id}/overrides")
    if existing is not None:
        return OverrideOut.model_validate(existing)
    try:
        row = overrule_trace(session, trace_id, body.decision, body.comment,
                             Reviewer.of(principal.name, principal.key_id))
    except NotFound as exc:
        raise ProblemError(404, str(exc), kind="trace-not-found") from exc
    row.idempotency_key = idempotency_key
    with first_of_key(session, "override"):
        session.commit()
    response.headers["Location"] = f"/v1/traces/{trace_id}/overrides/{row.id}"
    return OverrideOut.model_validate(row)


@router.get("/claims/{claim_id}/overrides", response_model=OverrideList, summary="A claim's overrides, oldest first",
            responses=problem_openapi_responses(404, 422))
def claim_overrides(claim_id: RowId, session: SessionDep, _: ReadScope) -> OverrideList:
    if session.get(Claim, claim_id) is None:
        raise ProblemError(404, f"no claim with id {claim_id}", kind="claim-not-found")
    rows = session.scalars(select(ReviewOverride).where(ReviewOverride.claim_id == claim_id)
                           .order_by(ReviewOverride.id))
    return OverrideList(items=[OverrideOut.model_validate(r) for r in rows])


@router.get("/traces/{trace_id}/overrides", response_model=OverrideList,
            summary="A trace's overrides (its decision and its claims' verdicts), oldest first",
            responses=problem_openapi_responses(404, 422))
def trace_overrides(trace_id: RowId, session: SessionDep, _: ReadScope) -> OverrideList:
    if session.get(Trace, trace_id) is None:
        raise ProblemError(404, f"no trace with id {trace_id}", kind="trace-not-found")
    rows = session.scalars(select(ReviewOverride).where(ReviewOverride.trace_id == trace_id)
                           .order_by(ReviewOverride.id))
    return OverrideList(items=[OverrideOut.model_validate(r) for r in rows])
