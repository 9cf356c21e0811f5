"""The OpenAI chat-completions protocol as the teacher speaks it: request bodies in, samples out. Pure.

Request (``POST {base_url}/chat/completions``): the prompt's messages with each image part turned into
an ``image_url`` part holding a JPEG data URI; ``n`` = K samples in ONE request (vLLM then prefills the
prompt and frames once); ``temperature``, ``top_p``, ``seed``, ``max_tokens``. With ``flavor="vllm"``
two fields of vLLM's own are added: ``return_token_ids`` (exact per-sample token counts) and, when
structured decoding is on, ``structured_outputs.regex`` (the output format, see
:mod:`sightsound_teacher.regex_format`; ``max_tokens`` stays ``max_new_tokens``). A plain OpenAI-compatible
server gets standard fields only.

Response: one :class:`~sightsound_teacher.backends.base.Generation` per choice, in ``index`` order.
Token accounting, per sample:

- ``prompt_tokens`` is ``usage.prompt_tokens`` (the prompt is shared by the K choices);
- ``completion_tokens`` is exact when the choice carries its ``token_ids`` (vLLM) or its ``logprobs``
  (one entry per token); otherwise ``usage.completion_tokens`` is split across the choices in proportion
  to their text length and the sample is marked ``completion_tokens_estimated``.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from PIL import Image

from sightsound.contracts.teacher import SamplingParams
from sightsound_teacher.backends.base import Generation
from sightsound_teacher.prompt import Message

Flavor = Literal["vllm", "openai"]
JPEG_QUALITY = 90
#: Statuses worth retrying: rate limits, and a server that is failing or restarting.


def image_data_uri(image: Image.Image, quality: int = JPEG_QUALITY) -> str:
    """The image as a ``data:image/jpeg;base64,...`` URI."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def to_openai_messages(messages: Sequence[Message], image_uris: Sequence[str]) -> list[dict[str, Any]]:
    """Prompt messages in the OpenAI shape: ``image`` parts become ``image_url`` parts, in order.

    A message made of text parts only becomes a plain string (every chat template accepts that).

    >>> msgs = [{"role": "user", "content": [{"type": "text", "text": "see"}, {"type": "image"}]}]
    >>> to_openai_messages(msgs, ["data:image/jpeg;base64,AA"])[0]["content"][1]
    {'type': 'image_url', 'image_url': {'url': 'data:image/jpeg;base64,AA'}}
    >>> to_openai_messages([{"role": "system", "content": [{"type": "text", "text": "hi"}]}], [])
    [{'role': 'system', 'content': 'hi'}]
    """
    uris = iter(image_uris)
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            out.append({"role": message["role"], "content": content})
            continue
        if all(part["type"] == "text" for part in content):
            out.append({"role": message["role"], "content": "\n".join(str(p["text"]) for p in content)})
            continue
        parts: list[dict[str, Any]] = []
        for part in content:
            if part["type"] == "image":
                try:
                    parts.append({"type": "image_url", "image_url": {"url": next(uris)}})
                except StopIteration:
                    raise ValueError("fewer images than image parts in the prompt") from None
            else:
                parts.append({"type": "text", "text": str(part["text"])})
        out.append({"role": message["role"], "content": parts})
    if next(uris, None) is not None:
        raise ValueError("more images than image parts in the prompt")
    return out


def chat_body(
    model: str,
    messages: list[dict[str, Any]],
    sampling: SamplingParams,
    n: int,
    *,
    flavor: Flavor = "vllm",
    regex: str | None = None,
    max_tokens: int | None = None,
) -> dict[str, Any]:
    """The JSON body of one chat-completions request for ``n`` samples (``max_tokens`` defaults to the
    request's ``max_new_tokens``)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "n": n,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_new_tokens if max_tokens is None else max_tokens,
        "stream": False,
    }
    if sampling.seed is not None:
        body["seed"] = sampling.seed
    if flavor == "vllm":
        body["return_token_ids"] = True
        if regex is not None:
            body["structured_outputs"] = {"regex": regex}
    return body


def split_by_length(total: int, texts: Sequence[str]) -> list[int]:
    """Split ``total`` tokens across ``texts`` in proportion to their length (largest remainder; exact sum).

    >>> split_by_length(10, ["aaaa", "a", ""]), split_by_length(3, ["", ""]), split_by_length(0, ["x"])
    ([8, 2, 0], [2, 1], [0])
    """
    if not texts:
        return []
    weights = [len(t) for t in texts]
    if sum(weights) == 0:
        weights = [1] * len(texts)
    scale = total / sum(weights)
    shares = [w * scale for w in weights]
    counts = [int(s) for s in shares]
    order = sorted(range(len(texts)), key=lambda i: (-(shares[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


class ResponseError(ValueError):
    """The server answered 200 with a body that is not a usable chat completion."""


def _exact_tokens(choice: Mapping[str, Any]) -> int | None:
    token_ids = choice.get("token_ids")
    if isinstance(token_ids, list):
        return len(token_ids)
    logprobs = choice.get("logprobs")
    if isinstance(logprobs, Mapping) and isinstance(logprobs.get("content"), list):
        return len(logprobs["content"])
    return None


def parse_chat_response(body: Any, n: int, latency_ms: float) -> list[Generation]:
    """The ``n`` samples of a chat completion, in choice order, with token counts (see module doc)."""
    if not isinstance(body, Mapping) or not isinstance(body.get("choices"), list):
        raise ResponseError("the response has no `choices` list")
    choices = sorted(body["choices"], key=lambda c: int(c.get("index", 0)) if isinstance(c, Mapping) else 0)
    if len(choices) != n:
        raise ResponseError(
            f"asked for n={n} samples, the server returned {len(choices)}: it may not support `n` (vLLM and OpenAI do)"
        )
    texts: list[str] = []
    for choice in choices:
        message = choice.get("message") if isinstance(choice, Mapping) else None
        if not isinstance(message, Mapping):
            raise ResponseError("a choice has no `message`")
        content = message.get("content")
        texts.append(content if isinstance(content, str) else "")
    usage = body.get("usage") if isinstance(body.get("usage"), Mapping) else {}
    assert isinstance(usage, Mapping)
    prompt_tokens = int(usage.get("prompt_tokens") or 0)
    exact = [_exact_tokens(c) for c in choices]
    if all(e is not None for e in exact):
        counts = [int(e or 0) for e in exact]
        estimated = False
    else:
        counts = split_by_length(int(usage.get("completion_tokens") or 0), texts)
        estimated = True
    return [
        Generation(text, latency_ms, prompt_tokens, count, completion_tokens_estimated=estimated)
        for text, count in zip(texts, counts, strict=True)
    ]
