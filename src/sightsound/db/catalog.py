"""Writes of clips and questions, shared by the API's upload route and the benchmark importer.

Both are idempotent: a clip is unique by the SHA-256 of its bytes, a question by its clip and its
fingerprint (text, choices and answer), so writing the same thing twice returns the existing row
instead of adding one. They only add to the session; the caller commits.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sightsound.db.models import Clip, Question, Split


def question_fingerprint(text: str, choices: Sequence[str], answer_index: int | None) -> str:
    """Same text, choices and answer -> same fingerprint (so the same question is stored once per clip).

    >>> question_fingerprint("What is heard?", ["a", "b"], 1) == question_fingerprint("What is heard?", ("a", "b"), 1)
    True
    >>> question_fingerprint("What is heard?", ["a", "b"], 1) == question_fingerprint("What is heard?", ["a", "b"], 0)
    False
    """
    payload = json.dumps([text, list(choices), answer_index], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class ClipFacts:
    """What validation and ingest learned about a media file; width/height/fps are None for audio only."""

    content_hash: str
    media_url: str
    filename: str | None
    size_bytes: int
    duration_s: float
    fps: float | None
    width: int | None
    height: int | None
    has_audio: bool


def insert_clip(
    session: Session, facts: ClipFacts, *, frame_urls: list[str] | None = None, audio_url: str | None = None
) -> tuple[uuid.UUID, bool]:
    """The clip's id, and whether this call created it (False: a clip with these bytes existed)."""
    created = session.execute(
        insert(Clip)
        .values(
            id=uuid.uuid4(),
            content_hash=facts.content_hash,
            media_url=facts.media_url,
            filename=(facts.filename or "")[:255] or None,
            size_bytes=facts.size_bytes,
            duration_s=facts.duration_s,
            fps=facts.fps,
            width=facts.width,
            height=facts.height,
            has_audio=facts.has_audio,
            frame_urls=frame_urls,
            audio_url=audio_url,
        )
        .on_conflict_do_nothing(index_elements=[Clip.content_hash])
        .returning(Clip.id)
    ).scalar()
    if created is not None:
        return created, True
    return session.scalars(select(Clip.id).where(Clip.content_hash == facts.content_hash)).one(), False


@dataclass(frozen=True)
class QuestionFacts:
    text: str
    choices: Sequence[str]
    answer_index: int | None
    category: str | None
    split: Split
    source: str | None
    source_ref: str | None = None  # the benchmark's own id of an imported item
    extra: dict[str, Any] | None = None

    @property
    def fingerprint(self) -> str:
        return question_fingerprint(self.text, self.choices, self.answer_index)


def insert_question(session: Session, clip_id: uuid.UUID, facts: QuestionFacts) -> tuple[uuid.UUID, bool]:
    """The question's id, and whether this call created it (False: the clip already had this question)."""
    fingerprint = facts.fingerprint
    created = session.execute(
        insert(Question)
        .values(
            id=uuid.uuid4(),
            clip_id=clip_id,
            fingerprint=fingerprint,
            text=facts.text,
            choices=list(facts.choices),
            answer_index=facts.answer_index,
            category=facts.category,
            split=facts.split,
            source=facts.source,
            source_ref=facts.source_ref,
            extra=facts.extra,
        )
        .on_conflict_do_nothing(constraint="uq_questions_clip_fingerprint")
        .returning(Question.id)
    ).scalar()
    if created is not None:
        return created, True
    existing = select(Question.id).where(Question.clip_id == clip_id, Question.fingerprint == fingerprint)
    return session.scalars(existing).one(), False
