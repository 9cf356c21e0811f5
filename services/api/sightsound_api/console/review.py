"""Reviewing in the console: the queue (least sure first; j/k to move, a/r to accept or reject, and plain forms
without JavaScript) and the forms that overrule a claim's verdict or a trace's decision (scope ``submit``).

A form posts, the override is recorded (:mod:`sightsound.db.overrides`, the same code as the JSON routes), and the
browser is sent back where it came from (``303``); a script that asks for JSON gets the override instead.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from sightsound.auth import Principal
from sightsound.contracts.common import TraceDecisionLabel, VerdictLabel
from sightsound.db.models import ReviewOverride
from sightsound.db.overrides import MAX_COMMENT, NotFound, Reviewer, overrule_claim, overrule_trace
from sightsound.web import ProblemError
from sightsound_api.console import queue
from sightsound_api.console.clip_view import letter, trace_view
from sightsound_api.console.door import safe_next
from sightsound_api.console.render import render, reviewer, viewer
from sightsound_api.deps import SessionDep
from sightsound_api.override_schemas import OverrideOut, RowId

router = APIRouter(prefix="/ui", include_in_schema=False)
Viewer = Annotated[Principal, Depends(viewer)]
ReviewerDep = Annotated[Principal, Depends(reviewer)]
Comment = Annotated[str, Form(max_length=MAX_COMMENT)]


@router.get("/review", response_class=HTMLResponse)
def review_queue(request: Request, session: SessionDep, _: Viewer,
                 cursor: Annotated[str | None, Query(max_length=200)] = None,
                 reviewed: Annotated[bool, Query(description="Include traces already reviewed.")] = False,
                 ) -> Response:
    items, next_cursor = queue.page(session, cursor, include_reviewed=reviewed)
    from sightsound.db.overrides import history

    rows: dict[int, list[ReviewOverride]] = {}
    for row in history(session, [i["trace"].id for i in items]):
        rows.setdefault(row.trace_id, []).append(row)
    for item in items:
        item["view"] = trace_view(item["trace"], 1.0, rows.get(item["trace"].id, []))
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(request, "review.html", title="Review queue", items=items, next_cursor=next_cursor,
                  cursor=cursor, reviewed=reviewed, here=here, letter=letter)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _done(request: Request, row: ReviewOverride, back: str) -> Response:
    if _wants_json(request):
        return JSONResponse(OverrideOut.model_validate(row).model_dump(mode="json"), status_code=201)
    return RedirectResponse(safe_next(back), status_code=303)


@router.post("/claims/{claim_id}/override")
def claim_override(request: Request, claim_id: RowId, session: SessionDep, principal: ReviewerDep,
                   verdict: Annotated[VerdictLabel, Form()], comment: Comment = "",
                   next: Annotated[str, Form(max_length=500)] = "/ui") -> Response:
    try:
        row = overrule_claim(session, claim_id, verdict, comment, Reviewer.of(principal.name, principal.key_id))
    except NotFound as exc:
        raise ProblemError(404, str(exc), kind="claim-not-found") from exc
    session.commit()
    return _done(request, row, f"{next}#claim-{claim_id}" if "#" not in next else next)


@router.post("/traces/{trace_id}/override")
def trace_override(request: Request, trace_id: RowId, session: SessionDep, principal: ReviewerDep,
                   decision: Annotated[TraceDecisionLabel, Form()], comment: Comment = "",
                   next: Annotated[str, Form(max_length=500)] = "/ui") -> Response:
    try:
        row = overrule_trace(session, trace_id, decision, comment, Reviewer.of(principal.name, principal.key_id))
    except NotFound as exc:
        raise ProblemError(404, str(exc), kind="trace-not-found") from exc
    session.commit()
    return _done(request, row, next)
