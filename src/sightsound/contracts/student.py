"""Contract of the student service: ``POST /v1/answer`` (one audio question, one answer).

The audio comes by reference (``audio_url``, a media-store URL: what the API sends after storing an
upload) or inline (``audio_base64`` with its ``format``). ``model`` is a registry reference
(:mod:`sightsound.registry`): ``deployed`` when absent. The answer says which checkpoint answered
(``model``), what the student wrote (``text``), what was read out of it (``answer_index``, ``reasoning``,
``parse``), and what it cost (``usage``, ``timings_ms``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sightsound.contracts.text import check_text

AudioFormat = Literal["wav", "mp3", "flac", "ogg"]
MAX_QUESTION_CHARS = 2000
MAX_CHOICE_CHARS = 500


def check_choices(choices: Sequence[str]) -> list[str]:
    """The choices, stripped, or ``ValueError`` saying what is wrong (2-4 non-empty distinct strings).

    >>> check_choices([" dog ", "cat"])
    ['dog', 'cat']
    >>> check_choices(["dog"])
    Traceback (most recent call last):
    ...
    ValueError: choices: give 2 to 4 choices (got 1), or none for a free question
    >>> check_choices(["Dog", "dog"])
    Traceback (most recent call last):
    ...
    ValueError: choices: every choice must differ from the others ('dog' appears twice)
    """
    stripped = [check_text("choices", c.strip()) for c in choices]
    if not 2 <= len(stripped) <= 4:
        raise ValueError(f"choices: give 2 to 4 choices (got {len(stripped)}), or none for a free question")
    if any(not c for c in stripped):
        raise ValueError("choices: a choice is empty")
    if any(len(c) > MAX_CHOICE_CHARS for c in stripped):
        raise ValueError(f"choices: each choice must be at most {MAX_CHOICE_CHARS} characters")
    seen: set[str] = set()
    for choice in stripped:
        key = choice.casefold()
        if key in seen:
            raise ValueError(f"choices: every choice must differ from the others ({key!r} appears twice)")
        seen.add(key)
    return stripped


def check_question(question: str) -> str:
    """The question, stripped, or ``ValueError``.

    >>> check_question("  What is heard? ")
    'What is heard?'
    """
    text = check_text("question", question.strip())
    if not text:
        raise ValueError("question: the question is empty; ask what to listen for")
    if len(text) > MAX_QUESTION_CHARS:
        raise ValueError(f"question: longer than {MAX_QUESTION_CHARS} characters")
    return text


class StudentAnswerRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "audio_url": "file:///var/lib/sightsound/media/audio/ab/abcd-16000.wav",
                    "question": "What can be heard?",
                    "choices": ["A person speaking", "A dog barking", "Piano music", "Nothing at all"],
                    "model": "deployed",
                    "max_new_tokens": 128,
                    "temperature": 0.0,
                }
            ]
        },
    )

    audio_url: str | None = Field(None, description="A media-store URL of the audio (or a video with audio).")
    audio_base64: str | None = Field(None, description="The audio file itself, base64 (instead of `audio_url`).")
    format: AudioFormat | None = Field(
        None, description="Format of `audio_base64` (the content is decoded by what it is, this is a hint)."
    )
    question: str = Field(..., description="What to listen for.")
    choices: list[str] | None = Field(None, description="2 to 4 distinct choices; none for a free question.")
    model: str | None = Field(
        None, description="`deployed` (default), `sightsound-student`, `checkpoint:<id>` or `base:<name>`."
    )
    max_new_tokens: int | None = Field(None, ge=1, description="Longest answer; the server's limit caps it.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 decodes greedily.")

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        return check_question(value)

    @field_validator("choices")
    @classmethod
    def _choices(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_choices(value)

    @model_validator(mode="after")
    def _one_audio(self) -> StudentAnswerRequest:
        if (self.audio_url is None) == (self.audio_base64 is None):
            raise ValueError("send the audio once: either audio_url or audio_base64 (with format)")
        return self


class ServedModel(BaseModel):
    """Which student answered: its canonical reference and, for a checkpoint, where it comes from."""

    ref: str = Field(..., description="`checkpoint:<id>` or `base:<name>`.")
    checkpoint_id: uuid.UUID | None = None
    run_id: uuid.UUID | None = None
    stage: str | None = None
    step: int | None = None
    base_model: str


class ParseInfo(BaseModel):
    how: str | None = Field(None, description="How the answer was read: `tag`, `letter`, `choice-text`; null if not.")
    error: str | None = Field(None, description="Why no answer could be read, if none was.")


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int


class Timings(BaseModel):
    load: float = Field(..., description="Waiting for the model to load (0 when it was loaded already).")
    decode_audio: float
    generate: float
    total: float


class StudentAnswerResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": {
                        "ref": "checkpoint:0b5c2f5e-0a5e-4c59-9d1a-3f1c2b7a9e10",
                        "checkpoint_id": "0b5c2f5e-0a5e-4c59-9d1a-3f1c2b7a9e10",
                        "run_id": "9a1b2c3d-4e5f-4a6b-8c7d-6e5f4a3b2c1d",
                        "stage": "grpo",
                        "step": 500,
                        "base_model": "Qwen/Qwen2-Audio-7B-Instruct",
                    },
                    "answer_index": 0,
                    "answer_letter": "A",
                    "answer_text": "A person speaking",
                    "reasoning": "A voice says a sentence, then it is quiet.",
                    "text": "<think>A voice says a sentence, then it is quiet.</think><answer>A</answer>",
                    "parse": {"how": "tag", "error": None},
                    "usage": {"prompt_tokens": 212, "completion_tokens": 19},
                    "timings_ms": {"load": 0.0, "decode_audio": 4.1, "generate": 310.5, "total": 322.0},
                }
            ]
        }
    )

    model: ServedModel
    answer_index: int | None
    answer_letter: str | None
    answer_text: str | None
    reasoning: str | None
    text: str
    parse: ParseInfo
    usage: Usage
    timings_ms: Timings
