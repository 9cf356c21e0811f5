"""From an OpenAI chat request to one student query, and what the student cannot do (pure).

The student answers one question about one clip, in the prompt shape it was trained on: one user message
with exactly one ``input_audio`` part and the question as text (lettered lines are its choices, see
:mod:`.lettered`). System prompts and earlier turns cannot be honoured by that prompt shape, so they are
refused with a message saying so rather than silently dropped; so are options that would change the
answer's meaning (``n`` > 1, streaming, tools, logprobs, stop strings, penalties, nucleus sampling).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from sightsound.contracts.student import check_choices, check_question
from sightsound_student.errors import StudentRequestError
from sightsound_student.lettered import split_lettered_choices
from sightsound_student.openai_protocol import ChatCompletionRequest, ChatMessage, InputAudio


@dataclass(frozen=True)
class ChatQuery:
    question: str
    choices: list[str] | None
    audio: InputAudio
    max_new_tokens: int | None
    temperature: float
    seed: int | None


def _bad(message: str, param: str | None, kind: str = "invalid-request") -> StudentRequestError:
    return StudentRequestError(400, kind, message, param)


def unsupported_option(request: ChatCompletionRequest) -> StudentRequestError | None:
    """The first standard option set to something the student cannot do, as an error; None if all are fine.

    >>> from sightsound_student.openai_protocol import ChatCompletionRequest as R
    >>> unsupported_option(R(messages=[], n=2)).message
    'n=2 is not supported: the student returns one answer per request; send 2 requests instead'
    >>> unsupported_option(R(messages=[], n=1, stream=False, top_p=1.0)) is None
    True
    """
    if request.n not in (None, 1):
        return _bad(f"n={request.n} is not supported: the student returns one answer per request; "
                    f"send {request.n} requests instead", "n", "unsupported-parameter")
    if request.stream:
        return _bad("stream=true is not supported: the student answers in one response; leave stream out",
                    "stream", "unsupported-parameter")
    if request.logprobs or request.top_logprobs:
        return _bad("logprobs are not supported by the student service", "logprobs", "unsupported-parameter")
    if request.tools or request.tool_choice not in (None, "none", "auto"):
        return _bad("tools are not supported: the student answers audio questions only", "tools",
                    "unsupported-parameter")
    if request.stop:
        return _bad("stop strings are not supported: the student stops at its own end of turn", "stop",
                    "unsupported-parameter")
    if request.response_format and request.response_format.get("type", "text") != "text":
        return _bad("response_format other than text is not supported: the student writes "
                    "<think>...</think><answer>X</answer>", "response_format", "unsupported-parameter")
    for name in ("frequency_penalty", "presence_penalty"):
        if getattr(request, name):
            return _bad(f"{name} is not supported (leave it 0)", name, "unsupported-parameter")
    if request.logit_bias:
        return _bad("logit_bias is not supported", "logit_bias", "unsupported-parameter")
    if request.top_p not in (None, 1, 1.0):
        return _bad("top_p is not supported: the student samples from the full distribution (use temperature)",
                    "top_p", "unsupported-parameter")
    return None


def _only_user_message(messages: list[ChatMessage]) -> ChatMessage:
    if not messages:
        raise _bad("messages is empty: send one user message with the question and an input_audio part",
                   "messages")
    others = [m.role for m in messages if m.role != "user"]
    if others:
        raise _bad(f"a {others[0]!r} message is not supported: the student answers one user message (the audio "
                   "and the question) in the prompt shape it was trained on; send only that message", "messages")
    if len(messages) > 1:
        raise _bad(f"{len(messages)} user messages sent: the student answers one question about one clip; send "
                   "one user message with the question and its audio", "messages")
    return messages[0]


def _parts(message: ChatMessage) -> tuple[list[str], list[dict[str, Any]]]:
    if message.content is None or isinstance(message.content, str):
        return ([message.content] if message.content else []), []
    texts: list[str] = []
    audios: list[dict[str, Any]] = []
    for i, part in enumerate(message.content):
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "input_audio":
            audios.append(part)
        else:
            raise _bad(f"content part {i} has type {kind!r}: the student reads `text` and `input_audio` parts "
                       "(audio as base64 in input_audio.data, with input_audio.format)", f"messages[0].content[{i}]")
    return texts, audios


def chat_query(request: ChatCompletionRequest) -> ChatQuery:
    """The question, choices, audio and sampling of ``request``, or a 400 :class:`StudentRequestError`."""
    problem = unsupported_option(request)
    if problem is not None:
        raise problem
    texts, audios = _parts(_only_user_message(request.messages))
    if len(audios) != 1:
        raise _bad(f"exactly one input_audio part is required, found {len(audios)}: the student answers about "
                   "one clip; add a {\"type\": \"input_audio\", \"input_audio\": {\"data\": <base64>, \"format\": "
                   "\"wav\"}} part" if not audios else
                   f"exactly one input_audio part is required, found {len(audios)}: send one clip per request",
                   "messages[0].content", "audio-part-count")
    try:
        audio = InputAudio.model_validate(audios[0].get("input_audio"))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise _bad(f"input_audio{'.' + where if where else ''}: {first.get('msg')} (input_audio needs `data`, "
                   "base64, and `format`: wav, mp3, flac or ogg)", "input_audio") from exc
    split = split_lettered_choices("\n".join(texts))
    try:
        question = check_question(split.question)
        raw_choices = request.answer_choices if request.answer_choices is not None else split.choices
        choices = None if raw_choices is None else check_choices(raw_choices)
    except ValueError as exc:
        raise _bad(str(exc), "messages[0].content") from exc
    temperature = 0.0 if request.temperature is None else request.temperature
    if not 0.0 <= temperature <= 2.0:
        raise _bad(f"temperature={temperature} must be between 0 and 2", "temperature")
    max_new = request.max_completion_tokens if request.max_completion_tokens is not None else request.max_tokens
    return ChatQuery(question, choices, audio, max_new, temperature, request.seed)
