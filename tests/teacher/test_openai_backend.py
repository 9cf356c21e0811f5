"""The ``openai`` backend against a real HTTP server that speaks the OpenAI chat protocol.

The server (FastAPI + uvicorn on 127.0.0.1, a free port) checks every request against the ``openai``
package's own parameter types, part by part and with no unknown keys except vLLM's documented extras,
decodes each ``image_url`` data URI as a JPEG, and answers from a REAL model: the tiny random
Qwen2.5-VL through the transformers backend's encoder, ``n`` rows of one ``generate`` with the
request's temperature, top_p, seed and max_tokens (and, when the request carries vLLM's
``structured_outputs``, our grammar standing in for vLLM's regex engine). Its answer is validated as
an ``openai.types.chat.ChatCompletion`` before it is sent. Faults (429, 500, 400, a slow answer) are
scripted per test.
"""

from __future__ import annotations

import asyncio
import base64
import io
import re
import socket
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from openai.types.chat import ChatCompletion, ChatCompletionContentPartParam, ChatCompletionMessageParam
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
from PIL import Image
from pydantic import TypeAdapter

from sightsound.answers.tagged import parse_answer
from sightsound.config import Settings
from sightsound.contracts.teacher import ReasonRequest, ReasonResponse, SamplingParams
from sightsound_teacher.app import create_app
from sightsound_teacher.backends import BackendUpstreamError, backend_from_settings
from sightsound_teacher.backends.hf_generate import decode_rows, generate_kwargs, seeded_generate
from sightsound_teacher.backends.openai_backend import OpenAIBackend
from sightsound_teacher.backends.transformers_backend import TransformersBackend
from sightsound_teacher.frames import load_frames
from sightsound_teacher.prompt import PROMPT_VERSION_TAGS
from sightsound_teacher.regex_format import format_regex
from tests.conftest import SERVICE_HEADERS
from tests.serving import served

MakeRequest = Callable[..., ReasonRequest]
VLLM_EXTRAS = {"return_token_ids", "structured_outputs"}
PARAMS = TypeAdapter(CompletionCreateParamsNonStreaming)
MESSAGE = TypeAdapter(ChatCompletionMessageParam)
PART = TypeAdapter(ChatCompletionContentPartParam)


# --- strict validation against the openai package's types -----------------------------------------


def typed_dict_keys(td: Any) -> tuple[frozenset[str], frozenset[str]]:
    return frozenset(td.__required_keys__), frozenset(td.__required_keys__ | td.__optional_keys__)


def check_keys(what: str, value: Mapping[str, Any], td: Any) -> list[str]:
    required, known = typed_dict_keys(td)
    problems = [f"{what}: missing {k!r}" for k in sorted(required - value.keys())]
    return problems + [f"{what}: unknown key {k!r}" for k in sorted(value.keys() - known)]


def validate_body(body: dict[str, Any]) -> tuple[list[str], list[Image.Image]]:
    """Problems with ``body`` as an OpenAI chat-completions request, and the images it carries."""
    import openai.types.chat.chat_completion_content_part_image_param as image_param
    import openai.types.chat.chat_completion_content_part_text_param as text_param
    import openai.types.chat.completion_create_params as params

    problems: list[str] = []
    _, known = typed_dict_keys(params.CompletionCreateParamsNonStreaming)
    problems += [f"body: unknown key {k!r}" for k in sorted(body.keys() - known - VLLM_EXTRAS)]
    try:
        PARAMS.validate_python({k: v for k, v in body.items() if k not in VLLM_EXTRAS})
    except ValueError as exc:
        problems.append(f"body: {exc}")
    images: list[Image.Image] = []
    for i, message in enumerate(body.get("messages", [])):
        try:
            MESSAGE.validate_python(message)
        except ValueError as exc:
            problems.append(f"messages[{i}]: {exc}")
            continue
        content = message.get("content")
        if isinstance(content, str):
            continue
        for j, part in enumerate(content):
            where = f"messages[{i}].content[{j}]"
            try:
                PART.validate_python(part)
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
                continue
            if part.get("type") == "text":
                problems += check_keys(where, part, text_param.ChatCompletionContentPartTextParam)
            elif part.get("type") == "image_url":
                problems += check_keys(where, part, image_param.ChatCompletionContentPartImageParam)
                problems += check_keys(where + ".image_url", part["image_url"], image_param.ImageURL)
                url = part["image_url"]["url"]
                prefix = "data:image/jpeg;base64,"
                if not url.startswith(prefix):
                    problems.append(f"{where}: not a JPEG data URI")
                    continue
                image = Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :], validate=True)))
                if image.format != "JPEG":
                    problems.append(f"{where}: decodes as {image.format}, not JPEG")
                images.append(image.convert("RGB"))
            else:
                problems.append(f"{where}: unexpected part type {part.get('type')!r}")
    return problems, images


# --- the server -------------------------------------------------------------------------------------


@dataclass
class Stub:
    """What the test scripts (faults) and what the server saw (bodies, problems)."""

    url: str
    faults: deque[str] = field(default_factory=deque)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def reset(self, *faults: str) -> None:
        self.faults = deque(faults)
        self.bodies.clear()
        self.problems.clear()


def openai_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": "BadRequestError", "param": None, "code": status}}
    return JSONResponse(body, status_code=status, headers=headers)


def chat_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI messages back in the prompt's shape (``image`` parts) for the backend's encoder."""
    out = []
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            out.append({"role": message["role"], "content": [{"type": "text", "text": content}]})
        else:
            parts = [{"type": "image"} if p["type"] == "image_url" else p for p in content]
            out.append({"role": message["role"], "content": parts})
    return out


def answer(model: TransformersBackend, body: dict[str, Any], images: list[Image.Image]) -> dict[str, Any]:
    """A chat completion from the tiny model: ``n`` rows of one ``generate``."""
    loaded = model._require()
    inputs = {k: v.to(loaded.device) for k, v in model.encode(chat_messages(body["messages"]), images).items()}
    sampling = SamplingParams(
        temperature=body.get("temperature", 1.0),
        top_p=body.get("top_p", 1.0),
        max_new_tokens=body.get("max_tokens", 64),
        seed=body.get("seed"),
    )
    n = int(body.get("n", 1))
    structured = "structured_outputs" in body
    if structured:
        re.compile(body["structured_outputs"]["regex"])  # vLLM would refuse a bad regex
    grammar = model._grammar if structured else None
    pad = loaded.eos_ids[0]
    kwargs = generate_kwargs(sampling, n, loaded.eos_ids, pad, grammar)
    output, latency = seeded_generate(loaded.model, inputs, kwargs, sampling.seed, loaded.lock)
    prompt_len = int(inputs["input_ids"].shape[1])
    rows = decode_rows(output, prompt_len, loaded.tokenizer, loaded.eos_ids, latency, n)
    choices = []
    rows_ids = list(output) if len(output) == n else [output[0]] * n  # greedy: one row, repeated
    for i, (row, ids) in enumerate(zip(rows, rows_ids, strict=True)):
        choice: dict[str, Any] = {
            "index": i,
            "message": {"role": "assistant", "content": row.text},
            "finish_reason": "stop" if row.completion_tokens < sampling.max_new_tokens else "length",
            "logprobs": None,
        }
        if body.get("return_token_ids"):
            choice["token_ids"] = ids[prompt_len : prompt_len + row.completion_tokens].tolist()
        choices.append(choice)
    completion = sum(r.completion_tokens for r in rows)
    response = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_len,
            "completion_tokens": completion,
            "total_tokens": prompt_len + completion,
        },
    }
    ChatCompletion.model_validate(response)  # the real response shape (extra vLLM fields allowed)
    return response


def make_stub_app(model: TransformersBackend, stub: Stub) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> JSONResponse:
        body = await request.json()
        stub.bodies.append(body)
        fault = stub.faults.popleft() if stub.faults else ""
        if fault == "429":
            return openai_error(429, "rate limited, slow down", {"Retry-After": "0"})
        if fault in ("500", "503"):
            return openai_error(int(fault), "engine crashed")
        if fault == "400":
            return openai_error(400, "This model's maximum context length is 2048 tokens")
        if fault == "404":
            return openai_error(404, "The model `nope` does not exist.")
        if fault.startswith("sleep:"):
            await asyncio.sleep(float(fault.split(":")[1]))
        problems, images = validate_body(body)
        if problems:
            stub.problems += problems
            return openai_error(400, "; ".join(problems))
        return JSONResponse(await run_in_threadpool(answer, model, body, images))

    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def stub(tiny_backend: TransformersBackend) -> Iterator[Stub]:
    port = free_port()
    state = Stub(url=f"http://127.0.0.1:{port}/v1")
    with served(make_stub_app(tiny_backend, state), port):
        yield state


@pytest.fixture
def fresh(stub: Stub) -> Stub:
    stub.reset()
    return stub


def backend_for(stub: Stub, **overrides: Any) -> tuple[OpenAIBackend, list[float]]:
    delays: list[float] = []
    options: dict[str, Any] = {"timeout_s": 30.0, "max_retries": 2, "backoff_s": 0.01, "sleep": delays.append}
    backend = OpenAIBackend(stub.url, "tiny-random", **(options | overrides))
    backend.load()
    return backend, delays


def frames_of(urls: list[str]) -> list[Image.Image]:
    return load_frames(urls, 1024, "/")


# --- tests --------------------------------------------------------------------------------------------


def test_k_samples_in_one_request(
    fresh: Stub, frame_urls: list[str], make_request: MakeRequest, choices: list[str]
) -> None:
    backend, _ = backend_for(fresh, structured=True)
    request = make_request(frame_urls, k=3, max_new_tokens=96, temperature=0.9, top_p=0.95, seed=5)
    generations = backend.generate(request, frames_of(frame_urls))
    assert fresh.problems == [] and len(fresh.bodies) == 1
    sent = fresh.bodies[0]
    assert (sent["n"], sent["temperature"], sent["top_p"], sent["seed"]) == (3, 0.9, 0.95, 5)
    assert sent["max_tokens"] == 96  # tokens bound the sample; the regex has no length cap
    assert sent["return_token_ids"] is True and sent["structured_outputs"] == {"regex": format_regex()}
    images = [p for p in sent["messages"][1]["content"] if p["type"] == "image_url"]
    assert len(images) == 3 and isinstance(sent["messages"][0]["content"], str)
    assert len(generations) == 3
    for g in generations:
        assert parse_answer(g.text, choices)[1] is None, g.text
        assert g.prompt_tokens > 50 and 0 < g.completion_tokens <= sent["max_tokens"]
        assert not g.completion_tokens_estimated


def test_seed_reproduces_through_the_server(fresh: Stub, frame_urls: list[str], make_request: MakeRequest) -> None:
    backend, _ = backend_for(fresh, structured=True)
    request = make_request(frame_urls, k=2, max_new_tokens=96, seed=3)
    frames = frames_of(frame_urls)
    assert [g.text for g in backend.generate(request, frames)] == [g.text for g in backend.generate(request, frames)]


def test_plain_openai_flavor_estimates_tokens(fresh: Stub, frame_urls: list[str], make_request: MakeRequest) -> None:
    backend, _ = backend_for(fresh, flavor="openai", structured=False)
    generations = backend.generate(make_request(frame_urls, k=2, max_new_tokens=16), frames_of(frame_urls))
    sent = fresh.bodies[0]
    assert fresh.problems == [] and not VLLM_EXTRAS & sent.keys()
    assert all(g.completion_tokens_estimated for g in generations)
    assert sum(g.completion_tokens for g in generations) > 0


def test_429_is_retried_after_retry_after(fresh: Stub, frame_urls: list[str], make_request: MakeRequest) -> None:
    fresh.reset("429")
    backend, delays = backend_for(fresh)
    generations = backend.generate(make_request(frame_urls, k=2, max_new_tokens=96), frames_of(frame_urls))
    assert len(generations) == 2 and len(fresh.bodies) == 2
    assert delays == [0.0]  # the server's Retry-After: 0


def test_500_is_retried_with_backoff(fresh: Stub, frame_urls: list[str], make_request: MakeRequest) -> None:
    fresh.reset("500", "503")
    backend, delays = backend_for(fresh, backoff_s=0.01)
    assert len(backend.generate(make_request(frame_urls, k=2, max_new_tokens=96), frames_of(frame_urls))) == 2
    assert len(fresh.bodies) == 3 and delays == [0.01, 0.02]


def test_retries_run_out(fresh: Stub, frame_urls: list[str], make_request: MakeRequest) -> None:
    fresh.reset("503", "503", "503")
    backend, delays = backend_for(fresh, max_retries=2)
    with pytest.raises(BackendUpstreamError) as info:
        backend.generate(make_request(frame_urls, k=2, max_new_tokens=96), frames_of(frame_urls))
    error = info.value
    assert (error.status, error.kind, error.upstream_status) == (502, "upstream-unavailable", 503)
    assert "engine crashed" in error.detail and "3 attempts" in error.detail and len(delays) == 2


def test_400_is_surfaced_without_retry(fresh: Stub, frame_urls: list[str], make_request: MakeRequest) -> None:
    fresh.reset("400")
    backend, delays = backend_for(fresh)
    with pytest.raises(BackendUpstreamError) as info:
        backend.generate(make_request(frame_urls, k=2, max_new_tokens=96), frames_of(frame_urls))
    error = info.value
    assert (error.status, error.kind, error.upstream_status) == (422, "upstream-rejected-request", 400)
    assert "maximum context length is 2048" in error.detail
    assert len(fresh.bodies) == 1 and delays == []


def test_404_is_a_bad_gateway(fresh: Stub, frame_urls: list[str], make_request: MakeRequest) -> None:
    fresh.reset("404")
    backend, _ = backend_for(fresh)
    with pytest.raises(BackendUpstreamError) as info:
        backend.generate(make_request(frame_urls, k=2, max_new_tokens=96), frames_of(frame_urls))
    assert (info.value.status, info.value.kind) == (502, "upstream-error") and "nope" in info.value.detail


def test_timeout(fresh: Stub, frame_urls: list[str], make_request: MakeRequest) -> None:
    fresh.reset("sleep:3")
    backend, delays = backend_for(fresh, timeout_s=0.5)
    start = time.monotonic()
    with pytest.raises(BackendUpstreamError) as info:
        backend.generate(make_request(frame_urls, k=2, max_new_tokens=96), frames_of(frame_urls))
    assert time.monotonic() - start < 2.5
    assert (info.value.status, info.value.kind) == (504, "upstream-timeout") and "0.5 s" in info.value.detail
    assert delays == [] and len(fresh.bodies) == 1  # a read timeout is not retried


def test_connection_refused_is_retried_then_reported(frame_urls: list[str], make_request: MakeRequest) -> None:
    backend, delays = backend_for(Stub(url=f"http://127.0.0.1:{free_port()}/v1"), max_retries=1)
    with pytest.raises(BackendUpstreamError) as info:
        backend.generate(make_request(frame_urls, k=2, max_new_tokens=96), frames_of(frame_urls))
    assert info.value.status == 502 and "cannot reach" in info.value.detail and len(delays) == 1


def test_tags_mode_sends_text_only(fresh: Stub, frame_urls: list[str], make_request: MakeRequest) -> None:
    backend, _ = backend_for(fresh, frames="tags", structured=True)
    assert backend.prompt_version == PROMPT_VERSION_TAGS
    generations = backend.generate(make_request(frame_urls, k=2, max_new_tokens=96), frames_of(frame_urls))
    messages = fresh.bodies[0]["messages"]
    user = messages[-1]["content"]  # after the system text and the worked example (a user / assistant pair)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert fresh.problems == [] and isinstance(user, str)
    assert "Frame 1: " in user and "Frame 3: " in user and "%)" in user and len(generations) == 2


# --- through the teacher app ----------------------------------------------------------------------


def app_settings(stub: Stub, media_dir: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "environment": "test",
        "media_root": media_dir,
        "teacher_backend": "openai",
        "teacher_openai_base_url": stub.url,
        "teacher_openai_model": "tiny-random",
        "teacher_openai_max_retries": 0,
        "teacher_openai_structured": True,  # the tiny random model writes the format only when constrained
    }
    return Settings(**(base | overrides))


def reason_body(urls: list[str], k: int = 2) -> dict[str, Any]:
    return {
        "question": "What can be heard in this clip?",
        "choices": ["A person speaking", "A dog barking", "Music playing", "Silence"],
        "frame_urls": urls,
        "k": k,
        "sampling": {"temperature": 1.0, "max_new_tokens": 96, "seed": 2},
    }


def test_app_over_the_openai_backend(fresh: Stub, frame_urls: list[str], media_dir: Path) -> None:
    with TestClient(create_app(app_settings(fresh, media_dir)), headers=SERVICE_HEADERS) as client:
        assert client.get("/readyz").json() == {"status": "ready", "model": "tiny-random", "backend": "openai"}
        response = client.post("/v1/reason", json=reason_body(frame_urls, k=3))
        assert response.status_code == 200, response.text
        result = ReasonResponse.model_validate(response.json())
        fresh.reset("400")
        refused = client.post("/v1/reason", json=reason_body(frame_urls))
    assert result.backend == "openai" and len(result.traces) == 3 and result.consensus.traces_parsed == 3
    assert all(s.completion_tokens_estimated is False for s in result.traces)
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["type"].endswith("/upstream-rejected-request") and problem["upstream_status"] == 400
    assert "maximum context length" in problem["detail"]


def test_app_reports_an_unreachable_server_as_502(frame_urls: list[str], media_dir: Path) -> None:
    settings = app_settings(Stub(url=f"http://127.0.0.1:{free_port()}/v1"), media_dir)
    with TestClient(create_app(settings), headers=SERVICE_HEADERS) as client:
        response = client.post("/v1/reason", json=reason_body(frame_urls))
    assert response.status_code == 502 and response.json()["type"].endswith("/upstream-unavailable")


def test_structured_outputs_are_opt_in(fresh: Stub, frame_urls: list[str], make_request: MakeRequest) -> None:
    """Issue 10: the openai backend sends no grammar unless asked; asked, it sends the OPEN format regex."""
    settings = Settings(teacher_backend="openai", teacher_openai_base_url=fresh.url)
    assert settings.teacher_openai_structured is False
    default = backend_from_settings(settings)
    assert isinstance(default, OpenAIBackend) and default.structured is False
    backend, _ = backend_for(fresh)
    request = make_request(frame_urls, k=2, max_new_tokens=512)
    body = backend.build_body(request, frames_of(frame_urls))
    assert "structured_outputs" not in body and body["max_tokens"] == 512
    opted, _ = backend_for(fresh, structured=True)
    body = opted.build_body(request, frames_of(frame_urls))
    regex = body["structured_outputs"]["regex"]
    assert regex == format_regex() and "menu" not in regex and body["max_tokens"] == 512
    line = "source=cat; event=meow; order=after door opening"
    sample = f"<think>{'I see a cat by a door. ' * 80}</think>\n<claims>\n{line}\n</claims>\n<answer>A</answer>"
    assert re.fullmatch(regex, sample)

