"""``/v1/clips``: upload a clip with its question; read a clip with everything the pipeline stored."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Request, Response, UploadFile, status
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, selectinload
from starlette.concurrency import run_in_threadpool

from sightsound.db.catalog import ClipFacts, QuestionFacts, insert_clip, insert_question
from sightsound.db.models import Claim, Clip, Job, Question, Trace
from sightsound.web import ProblemError, problem_openapi_responses
from sightsound_api.deps import SessionDep, SettingsDep, scope
from sightsound_api.idempotency import replay
from sightsound_api.questions import QuestionIn, build_question
from sightsound_api.schemas import ClipOut, ClipTraceOut, JobOut, QuestionOut
from sightsound_api.uploads import receive, store_original, upload_workdir, validate
from sightsound_api.views import job_out

router = APIRouter(prefix="/v1/clips", tags=["clips"])


@router.post(
    "",
    dependencies=[scope("submit")],
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobOut,
    summary="Upload a clip and an audio question; the pipeline runs in the background",
    responses={
        202: {"description": "Accepted; poll the job at the `Location` header."},
        **problem_openapi_responses(409, 413, 415, 422),
    },
)
async def create_clip(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    video: Annotated[UploadFile, File(description="The video (any container/codec FFmpeg decodes).")],
    question: Annotated[str, Form(description="The audio question.", examples=["What is heard?"])],
    choices: Annotated[
        list[str],
        Form(description="Exactly 4 choices: repeat the field 4 times, or send one JSON array."),
    ],
    answer_index: Annotated[int | None, Form(description="Index (0-3) of the right choice, if known.")] = None,
    category: Annotated[str | None, Form(description="Free category label, e.g. `sound`.")] = None,
    split: Annotated[str, Form(description="train, validation or test.")] = "train",
    source: Annotated[str | None, Form(description="Where the question comes from.")] = None,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> JobOut:
    question_in = build_question(question, choices, answer_index, category, split, source)
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > settings.max_upload_bytes + 64 * 1024:
        raise ProblemError(413, f"the upload is larger than the limit of {settings.max_upload_bytes} bytes",
                           kind="upload-too-large")

    existing = await run_in_threadpool(
        replay, session, Job, idempotency_key, lambda row: row.question.fingerprint == question_in.fingerprint,
        response, "/v1/jobs")
    if existing is not None:
        return job_out(existing, deduplicated=True)

    with upload_workdir(settings) as workdir:
        from pathlib import Path

        received = await receive(video, settings, Path(workdir))
        probe = await validate(received, settings)
        media_url = await store_original(received, settings)

    facts = ClipFacts(
        content_hash=received.content_hash,
        media_url=media_url,
        filename=received.filename,
        size_bytes=received.size_bytes,
        duration_s=probe.duration_s,
        fps=probe.fps,
        width=probe.width,
        height=probe.height,
        has_audio=probe.has_audio,
    )
    # PostgreSQL and the broker off the event loop: a stall there must not freeze every other route.
    job, inserted = await run_in_threadpool(_record_job, session, facts, question_in, idempotency_key)
    if inserted:
        # After the commit: a worker must never get a message for a row it cannot see yet.
        await run_in_threadpool(request.app.state.dispatcher.try_enqueue, "ingest", job.id)
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return job_out(job, deduplicated=not inserted)


def _record_job(session: Session, facts: ClipFacts, question_in: QuestionIn,
                idempotency_key: str | None) -> tuple[Job, bool]:
    """Insert (or find) the clip, its question and its job in one transaction; the job, and whether it is new."""
    clip_id, _ = insert_clip(session, facts)
    question_id, _ = insert_question(
        session,
        clip_id,
        QuestionFacts(
            text=question_in.text,
            choices=question_in.choices,
            answer_index=question_in.answer_index,
            category=question_in.category,
            split=question_in.split,
            source=question_in.source,
        ),
    )
    inserted = session.execute(
        insert(Job)
        .values(id=uuid.uuid4(), question_id=question_id, idempotency_key=idempotency_key)
        .on_conflict_do_nothing(index_elements=[Job.question_id])
        .returning(Job.id)
    ).scalar()
    session.commit()
    job = session.scalars(select(Job).where(Job.question_id == question_id)).one()
    _ = job.question  # loaded here, not on the event loop (job_out reads it)
    return job, inserted is not None


@router.get(
    "/{clip_id}",
    dependencies=[scope("read")],
    response_model=ClipOut,
    summary="A clip with its questions, jobs, samples, claims, verdicts and decisions",
    responses=problem_openapi_responses(404, 422),
)
def get_clip(clip_id: uuid.UUID, session: SessionDep) -> ClipOut:
    clip = session.scalar(
        select(Clip)
        .where(Clip.id == clip_id)
        .options(
            selectinload(Clip.questions)
            .selectinload(Question.job)
            .selectinload(Job.traces)
            .options(
                selectinload(Trace.claims).selectinload(Claim.verdicts),
                selectinload(Trace.decision),
            )
        )
    )
    if clip is None:
        raise ProblemError(404, f"no clip with id {clip_id}", kind="clip-not-found")
    questions = []
    for q in clip.questions:
        q_fields = {name: getattr(q, name) for name in QuestionOut.model_fields if name not in ("job", "traces")}
        q_out = QuestionOut(**q_fields)
        if q.job is not None:
            q_out.job = job_out(q.job)
            q_out.traces = [ClipTraceOut.model_validate(s, from_attributes=True) for s in q.job.traces]
        questions.append(q_out)
    fields = {name: getattr(clip, name) for name in ClipOut.model_fields if name != "questions"}
    return ClipOut(**fields, questions=questions)
