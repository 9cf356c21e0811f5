"""The OpenAI chat-completions and models protocol, as the student service speaks it (pydantic models).

Mirrors the OpenAI API field for field, in the order of OpenAI's reference, the way vLLM's
``vllm/entrypoints/openai/protocol.py`` does; unknown request fields are accepted (the OpenAI API allows
extra fields) and ignored. What SightSound adds sits in clearly marked blocks: ``answer_choices`` in the
request, ``sightsound`` in the response. Which standard options the student can honour is decided in
:mod:`.chat`; the rest get a 400 that names the option.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sightsound.contracts.student import AudioFormat, ParseInfo, ServedModel, Timings

OWNED_BY = "sightsound"


class OpenAIBaseModel(BaseModel):
    # The OpenAI API allows extra fields.
    model_config = ConfigDict(extra="allow")


# --- errors -----------------------------------------------------------------------------------------


class ErrorInfo(OpenAIBaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(OpenAIBaseModel):
    error: ErrorInfo


# --- models -----------------------------------------------------------------------------------------


class ModelPermission(OpenAIBaseModel):
    id: str = Field(default_factory=lambda: f"modelperm-{uuid.uuid4().hex}")
    object: str = "model_permission"
    created: int = Field(default_factory=lambda: int(time.time()))
    allow_create_engine: bool = False
    allow_sampling: bool = True
    allow_logprobs: bool = False
    allow_search_indices: bool = False
    allow_view: bool = True
    allow_fine_tuning: bool = False
    organization: str = "*"
    group: str | None = None
    is_blocking: bool = False


class ModelCard(OpenAIBaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(default_factory=lambda: int(time.time()))
    owned_by: str = OWNED_BY
    root: str | None = Field(None, description="What the id resolves to now (the alias: its checkpoint).")
    parent: str | None = Field(None, description="The base student of a checkpoint.")
    max_model_len: int | None = None
    permission: list[ModelPermission] = Field(default_factory=list)


class ModelList(OpenAIBaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard] = Field(default_factory=list)


# --- chat completions: request ----------------------------------------------------------------------


class InputAudio(OpenAIBaseModel):
    data: str = Field(..., description="The audio file, base64.")
    format: AudioFormat


class ChatMessage(OpenAIBaseModel):
    """A message as sent; its content parts are checked by :func:`sightsound_student.chat.chat_query`,
    so that an unsupported part gets a message that names it."""

    role: str
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None


class StreamOptions(OpenAIBaseModel):
    include_usage: bool | None = True


class ChatCompletionRequest(OpenAIBaseModel):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "model": "sightsound-student",
                    "messages": [
                        {
                            "role": "user",
                            "content": [
                                {"type": "text", "text": "What can be heard?\nA. A person speaking\nB. A dog barking"},
                                {"type": "input_audio", "input_audio": {"data": "UklGR...", "format": "wav"}},
                            ],
                        }
                    ],
                    "max_completion_tokens": 128,
                    "temperature": 0,
                }
            ]
        },
    )

    # Ordered by the official OpenAI API documentation (https://platform.openai.com/docs/api-reference/chat/create)
    messages: list[ChatMessage]
    model: str | None = None
    frequency_penalty: float | None = 0.0
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = False
    top_logprobs: int | None = 0
    max_tokens: int | None = Field(None, description="Deprecated by OpenAI in favour of `max_completion_tokens`.")
    max_completion_tokens: int | None = None
    n: int | None = 1
    presence_penalty: float | None = 0.0
    response_format: dict[str, Any] | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    temperature: float | None = None
    top_p: float | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    user: str | None = None

    # --- SightSound extras (not in the OpenAI API) ------------------------------------------------------
    answer_choices: list[str] | None = Field(
        None,
        description="SightSound: the choices, when they are not written as lettered lines (`A. ...`) in the text.",
    )


# --- chat completions: response ---------------------------------------------------------------------


class AssistantMessage(OpenAIBaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)


class ChatCompletionChoice(OpenAIBaseModel):
    index: int
    message: AssistantMessage
    logprobs: None = None
    finish_reason: Literal["stop", "length"]


class CompletionUsage(OpenAIBaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class SightSoundAnswer(BaseModel):
    """SightSound extras: which checkpoint answered and what was read out of its text."""

    served_model: ServedModel
    question: str
    choices: list[str] | None
    answer_index: int | None
    answer_letter: str | None
    answer_text: str | None
    reasoning: str | None
    parse: ParseInfo
    timings_ms: Timings


class ChatCompletionResponse(OpenAIBaseModel):
    id: str = Field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[ChatCompletionChoice]
    usage: CompletionUsage
    service_tier: str | None = None
    system_fingerprint: str | None = None

    # --- SightSound extras (not in the OpenAI API) ------------------------------------------------------
    sightsound: SightSoundAnswer
