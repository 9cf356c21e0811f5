"""Student serving through real processes: the student service and the API under uvicorn on free loopback
ports, PostgreSQL, checkpoint folders on disk.

The student is ``tiny-random``: a tiny Qwen2-Audio with RANDOM weights (and the checkpoints are random LoRA
adapters on it), so its texts are noise; what is tested is the plumbing: which checkpoint answers, that a
deploy changes the next answer without a restart, the OpenAI protocol with the official client, and that
bad input gets a clear 4xx and stores nothing.
"""

from __future__ import annotations

import base64
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import soundfile
from sqlalchemy import update

from sightsound.config import Settings
from sightsound.db.models import Checkpoint, Dataset, RunState, TrainingRun
from sightsound.db.session import session_scope
from sightsound_devdata.clipgen import Tone, VideoSpec, make_clip
from sightsound_devdata.demo_clip import silent_video_clip
from sightsound_ops.stack import ServiceProcess, free_port, wait_ready
from tests.conftest import TEST_SERVICE_TOKEN, BearerByUrl
from tests.student.samples import random_lora_checkpoint, stored_files, wav_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MAX_AUDIO_S = 4.0
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
QUESTION = "What can be heard?"
CHOICES = ["A steady tone", "A dog barking", "Speech", "Silence"]


#: Sends the API key to the API and the service token to the student service (set up by ``serving``).
HTTP = httpx.Client(timeout=5)


@dataclass
class Serving:
    api_url: str
    student_url: str
    media_root: Path
    run_id: uuid.UUID
    first: uuid.UUID  # two loadable checkpoints, different random adapters
    second: uuid.UUID
    gone: uuid.UUID  # recorded, but its folder was deleted
    spare: uuid.UUID  # loaded by the concurrency test only
    processes: dict[str, ServiceProcess]
    api_key: str = ""

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log_tail(30)}" for p in self.processes.values())


@pytest.fixture(scope="module")
def serving(api_key: str, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serving]:
    runs = tmp_path_factory.mktemp("runs")
    media_root = tmp_path_factory.mktemp("student-media")
    folders = {
        "first": random_lora_checkpoint(runs / "sft" / "step-0000001", seed=1, scale=0.3, step=1),
        "second": random_lora_checkpoint(runs / "sft" / "step-0000002", seed=2, scale=0.3, step=2),
        "spare": random_lora_checkpoint(runs / "sft" / "step-0000004", seed=4, scale=0.3, step=4),
    }
    ids = {name: uuid.uuid4() for name in ("first", "second", "gone", "spare")}
    run_id = uuid.uuid4()
    saved = datetime.now(UTC)  # one transaction has one now(): give the rows their own times to sort by
    with session_scope(settings.database_url) as session:
        session.execute(update(Checkpoint).values(deployed=False))
        dataset = Dataset(name=f"serving-{run_id.hex[:8]}", version=1, variant="cot", counts={"records": 1})
        session.add(dataset)
        session.flush()
        session.add(TrainingRun(id=run_id, dataset_id=dataset.id, student_model="tiny-random", stages=["sft"],
                                hyperparameters={}, state=RunState.succeeded, progress={}))
        session.flush()
        for step, name in enumerate(("first", "second", "gone", "spare"), start=1):
            folder = folders.get(name, runs / "sft" / f"step-{step:07d}")
            session.add(Checkpoint(id=ids[name], run_id=run_id, stage="sft", step=step, url=folder.as_uri(),
                                   metrics={"loss": 1.0 / step}, created_at=saved + timedelta(seconds=step)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGHTSOUND_")}
    env.update({
        "SIGHTSOUND_ENVIRONMENT": "test",
        "SIGHTSOUND_DATABASE_URL": settings.database_url,
        "SIGHTSOUND_REDIS_URL": settings.redis_url,
        "SIGHTSOUND_MEDIA_ROOT": str(media_root),
        "SIGHTSOUND_SERVICE_TOKEN": TEST_SERVICE_TOKEN,
        "SIGHTSOUND_MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
        "SIGHTSOUND_STUDENT_BASE_MODELS": '["tiny-random"]',
        "SIGHTSOUND_STUDENT_DEVICE": "cpu",
        "SIGHTSOUND_STUDENT_MAX_NEW_TOKENS": "16",
        "SIGHTSOUND_STUDENT_MAX_AUDIO_S": str(MAX_AUDIO_S),
        "SIGHTSOUND_STUDENT_CACHE_SIZE": "2",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    })
    student_port, api_port = free_port(), free_port()
    env["SIGHTSOUND_STUDENT_URL"] = f"http://127.0.0.1:{student_port}"
    log_dir = tmp_path_factory.mktemp("serving-logs")
    processes = {
        name: ServiceProcess(name, [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port)],
                             f"http://127.0.0.1:{port}/readyz", log_dir / f"{name}.log")
        for name, module, port in (("student", "sightsound_student", student_port),
                                   ("api", "sightsound_api", api_port))
    }
    try:
        for proc in processes.values():
            proc.start(env)
        deadline = time.monotonic() + 120
        for proc in processes.values():
            wait_ready(proc, deadline)
        assert not (runs / "sft" / "step-0000003").exists()  # the "gone" checkpoint has no folder
        HTTP.auth = BearerByUrl({f"http://127.0.0.1:{api_port}": api_key,
                                 f"http://127.0.0.1:{student_port}": TEST_SERVICE_TOKEN})
        yield Serving(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{student_port}", media_root, run_id,
                      ids["first"], ids["second"], ids["gone"], ids["spare"], processes, api_key)
    finally:
        for proc in processes.values():
            proc.stop()
        with session_scope(settings.database_url) as session:
            session.execute(update(Checkpoint).values(deployed=False))
    assert not any(p.alive() for p in processes.values())


def problem(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    for word in words:
        assert word in body["detail"], body["detail"]
    return body


def upload(serving: Serving, name: str, data: bytes, mime: str = "audio/wav", *, question: str = QUESTION,
           choices: list[str] | str | None = CHOICES, **fields: Any) -> httpx.Response:
    """``choices`` a list: the field repeated; a string: one field holding a JSON array."""
    form: dict[str, Any] = {"question": question, **fields}
    if choices is not None:
        form["choices"] = choices
    return HTTP.post(f"{serving.api_url}/v1/student/answer", data=form, files={"file": (name, data, mime)},
                      timeout=120)


def openai_client(serving: Serving) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{serving.api_url}/v1", api_key=serving.api_key, max_retries=0, timeout=120)


def audio_message(text: str, *audios: bytes) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts += [{"type": "input_audio", "input_audio": {"data": base64.b64encode(a).decode(), "format": "wav"}}
              for a in audios]
    return [{"role": "user", "content": parts}]


# --- checkpoints through the API ------------------------------------------------------------------------------


def test_checkpoints_are_listed_read_and_only_loadable_ones_deploy(serving: Serving) -> None:
    api = serving.api_url
    problem(HTTP.get(f"{api}/v1/checkpoints/deployed"), 404, "no checkpoint is deployed")
    listed = HTTP.get(f"{api}/v1/checkpoints", params={"run_id": str(serving.run_id), "limit": 3}).json()
    assert [c["step"] for c in listed["items"]] == [4, 3, 2] and listed["next_cursor"]
    rest = HTTP.get(f"{api}/v1/checkpoints", params={"run_id": str(serving.run_id), "limit": 3,
                                                      "cursor": listed["next_cursor"]}).json()
    assert [c["step"] for c in rest["items"]] == [1] and rest["next_cursor"] is None
    problem(HTTP.get(f"{api}/v1/checkpoints", params={"cursor": "garbage"}), 400, "cursor")

    one = HTTP.get(f"{api}/v1/checkpoints/{serving.first}").json()
    assert one["model_ref"] == f"checkpoint:{serving.first}"
    assert one["run"]["id"] == str(serving.run_id) and one["run"]["student_model"] == "tiny-random"
    assert (one["stage"], one["step"], one["metrics"], one["deployed"]) == ("sft", 1, {"loss": 1.0}, False)
    assert one["folder_present"] is True
    assert HTTP.get(f"{api}/v1/checkpoints/{serving.gone}").json()["folder_present"] is False

    problem(HTTP.get(f"{api}/v1/checkpoints/{uuid.uuid4()}"), 404, "no checkpoint with id")
    problem(HTTP.post(f"{api}/v1/checkpoints/{uuid.uuid4()}/deploy"), 404, "no checkpoint with id")
    problem(HTTP.post(f"{api}/v1/checkpoints/{serving.gone}/deploy"), 409, "folder", "gone")
    problem(HTTP.post(f"{api}/v1/checkpoints/not-a-uuid/deploy"), 422, "checkpoint_id")
    assert HTTP.get(f"{api}/v1/checkpoints", params={"deployed": "true"}).json()["items"] == []


# --- answers through the API ------------------------------------------------------------------------------------


def deploy(serving: Serving, checkpoint_id: uuid.UUID) -> None:
    response = HTTP.post(f"{serving.api_url}/v1/checkpoints/{checkpoint_id}/deploy")
    assert response.status_code == 200, response.text
    assert response.json()["deployed"] is True


def test_a_wav_upload_is_answered_by_the_deployed_checkpoint_and_stored_once(serving: Serving) -> None:
    deploy(serving, serving.first)
    deployed = HTTP.get(f"{serving.api_url}/v1/checkpoints/deployed").json()
    assert deployed["id"] == str(serving.first) and deployed["deployed_at"]

    data = wav_bytes(2.0)
    response = upload(serving, "tone.wav", data)
    assert response.status_code == 200, serving.logs()
    body = response.json()
    assert body["model"] == {"ref": f"checkpoint:{serving.first}", "checkpoint_id": str(serving.first),
                             "run_id": str(serving.run_id), "stage": "sft", "step": 1, "base_model": "tiny-random"}
    assert body["text"] and 1 <= body["usage"]["completion_tokens"] <= 16
    assert body["usage"]["prompt_tokens"] > 25  # the audio placeholder expanded to the clip's audio tokens
    assert set(body["timings_ms"]) == {"load", "decode_audio", "generate", "total"}
    assert body["timings_ms"]["total"] >= body["timings_ms"]["generate"] > 0
    assert set(body["parse"]) == {"how", "error"}
    if body["answer_index"] is not None:  # random weights: it may or may not name a choice
        assert body["answer_text"] == CHOICES[body["answer_index"]]
    audio = body["audio"]
    assert abs(audio["duration_s"] - 2.0) < 0.05
    stored = Path(audio["url"].removeprefix("file://"))
    assert stored.is_file() and stored.resolve().is_relative_to(serving.media_root.resolve())
    assert soundfile.info(str(stored)).samplerate == 16_000

    again = upload(serving, "same-tone.wav", data).json()
    assert again["audio"]["url"] == audio["url"]  # content-addressed: stored once
    assert again["text"] == body["text"]  # greedy: the same answer
    assert again["timings_ms"]["load"] == 0.0  # the checkpoint stayed loaded


def test_a_video_upload_is_answered_from_its_audio_track(serving: Serving, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "beep.mp4", video=VideoSpec(width=64, height=48, fps=5), audio=Tone(660, 1.5))
    response = upload(serving, "beep.mp4", clip.read_bytes(), "video/mp4", choices='["A beep", "A bark"]')
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"]["ref"] == f"checkpoint:{serving.first}"
    assert abs(body["audio"]["duration_s"] - 1.5) < 0.1 and body["audio"]["url"].endswith("-16000.wav")


def test_the_openai_client_asks_through_the_api(serving: Serving) -> None:
    client = openai_client(serving)
    models = {m.id: m for m in client.models.list()}
    assert {"sightsound-student", f"checkpoint:{serving.first}", f"checkpoint:{serving.second}",
            "base:tiny-random"} <= set(models)
    assert models["sightsound-student"].model_extra["root"] == f"checkpoint:{serving.first}"  # type: ignore[index]
    completion = client.chat.completions.create(
        model="sightsound-student",
        messages=audio_message(f"{QUESTION}\nA. {CHOICES[0]}\nB. {CHOICES[1]}", wav_bytes(1.0)),  # type: ignore[arg-type]
        max_completion_tokens=8,
    )
    assert completion.object == "chat.completion" and completion.model == f"checkpoint:{serving.first}"
    assert completion.choices[0].message.role == "assistant" and completion.choices[0].message.content
    assert completion.choices[0].finish_reason in ("stop", "length")
    assert completion.usage is not None and 1 <= completion.usage.completion_tokens <= 8
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    extras = completion.model_extra["sightsound"]  # type: ignore[index]
    assert extras["choices"] == CHOICES[:2] and extras["question"] == QUESTION
    assert extras["served_model"]["checkpoint_id"] == str(serving.first)


def test_deploying_another_checkpoint_changes_the_next_answer_without_a_restart(serving: Serving) -> None:
    pids = {name: proc.pid for name, proc in serving.processes.items()}
    data = wav_bytes(1.0, 330.0)
    deploy(serving, serving.first)
    before = upload(serving, "a.wav", data).json()
    deploy(serving, serving.second)
    after = upload(serving, "a.wav", data).json()
    assert before["model"]["ref"] == f"checkpoint:{serving.first}"
    assert after["model"]["ref"] == f"checkpoint:{serving.second}" and after["model"]["step"] == 2
    assert after["text"] != before["text"], "the two random adapters should write different greedy texts"

    client = openai_client(serving)
    completion = client.chat.completions.create(model="sightsound-student",
                                                messages=audio_message(QUESTION, data))  # type: ignore[arg-type]
    assert completion.model == f"checkpoint:{serving.second}"
    assert {m.id: m for m in client.models.list()}["sightsound-student"].model_extra["root"] == (  # type: ignore[index]
        f"checkpoint:{serving.second}")
    assert {name: proc.pid for name, proc in serving.processes.items()} == pids and all(
        p.alive() for p in serving.processes.values())


def test_a_named_model_is_answered_by_that_model(serving: Serving) -> None:
    body = upload(serving, "a.wav", wav_bytes(1.0), model=f"checkpoint:{serving.first}").json()
    assert body["model"]["ref"] == f"checkpoint:{serving.first}"
    base = upload(serving, "a.wav", wav_bytes(1.0), model="base:tiny-random").json()
    assert base["model"] == {"ref": "base:tiny-random", "checkpoint_id": None, "run_id": None, "stage": None,
                             "step": None, "base_model": "tiny-random"}


# --- bad input ------------------------------------------------------------------------------------------------------


def test_bad_uploads_get_a_clear_4xx_and_store_nothing(serving: Serving, tmp_path: Path) -> None:
    before = stored_files(serving.media_root)
    wav = wav_bytes(1.0)
    api = serving.api_url
    silent = silent_video_clip(tmp_path / "silent.mp4").read_bytes()
    cases: list[tuple[httpx.Response, int, tuple[str, ...]]] = [
        (HTTP.post(f"{api}/v1/student/answer", data={"question": QUESTION, "choices": CHOICES}), 422,
         ("file", "multipart field")),
        (upload(serving, "notes.wav", b"this is plain text, not audio\n" * 20), 415, ("not a decodable audio",)),
        (upload(serving, "silent.mp4", silent, "video/mp4"), 422, ("no audio track", "only video")),
        (upload(serving, "a.wav", wav, model=f"checkpoint:{uuid.uuid4()}"), 404, ("no checkpoint",)),
        (upload(serving, "a.wav", wav, model="base:not-served"), 404, ("not served here", "base:tiny-random")),
        (upload(serving, "a.wav", wav, model="checkpoint:nope"), 422, ("not a checkpoint id",)),
        (upload(serving, "a.wav", wav, model="gpt-4o"), 422, ("not a model name",)),
        (upload(serving, "a.wav", wav, question="   "), 422, ("question is empty",)),
        (upload(serving, "a.wav", wav, choices=["only one"]), 422, ("2 to 4 choices (got 1)",)),
        (upload(serving, "a.wav", wav, choices=list("abcde")), 422, ("2 to 4 choices (got 5)",)),
        (upload(serving, "a.wav", wav, choices=["Dog", "dog "]), 422, ("'dog' appears twice",)),
        (upload(serving, "a.wav", wav, choices='["a", '), 422, ("not a valid JSON array",)),
        (upload(serving, "a.wav", wav, max_new_tokens="999"), 422, ("between 1 and 16",)),
        (upload(serving, "long.wav", wav_bytes(MAX_AUDIO_S + 1.5)), 422, ("at most 4 s", "STUDENT_MAX_AUDIO_S")),
        (upload(serving, "big.wav", b"\0" * (MAX_UPLOAD_BYTES + 1024)), 413, ("larger than the limit",)),
        (upload(serving, "empty.wav", b""), 422, ("empty",)),
    ]
    for response, status, words in cases:
        problem(response, status, *words)
    assert stored_files(serving.media_root) == before


def test_the_openai_route_refuses_what_it_cannot_answer_in_openai_shape(serving: Serving) -> None:
    client = openai_client(serving)
    wav = wav_bytes(1.0)
    no_audio = [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}]
    bad_b64 = [{"role": "user", "content": [{"type": "text", "text": QUESTION},
                                            {"type": "input_audio", "input_audio": {"data": "%%%", "format": "wav"}}]}]
    not_audio = audio_message(QUESTION, b"plain text, not audio" * 10)
    cases: list[tuple[dict[str, Any], type[openai.APIStatusError], str]] = [
        ({"messages": no_audio}, openai.BadRequestError, "exactly one input_audio part is required, found 0"),
        ({"messages": audio_message(QUESTION, wav, wav)}, openai.BadRequestError, "found 2"),
        ({"messages": bad_b64}, openai.BadRequestError, "not valid base64"),
        ({"messages": not_audio}, openai.BadRequestError, "not a decodable audio file"),
        ({"messages": audio_message(QUESTION, wav), "n": 2}, openai.BadRequestError, "n=2 is not supported"),
        ({"messages": audio_message(QUESTION, wav), "stream": True}, openai.BadRequestError, "stream=true"),
        ({"messages": audio_message(QUESTION, wav), "max_completion_tokens": 999}, openai.BadRequestError,
         "above this server's limit of 16"),
        ({"messages": audio_message(QUESTION, wav), "model": f"checkpoint:{uuid.uuid4()}"}, openai.NotFoundError,
         "no checkpoint"),
        ({"messages": audio_message(QUESTION, wav), "model": "gpt-4o"}, openai.BadRequestError, "not a model name"),
    ]
    for options, error, words in cases:
        kwargs = {"model": "sightsound-student", **options}
        with pytest.raises(error) as caught:
            client.chat.completions.create(**kwargs)
        assert words in caught.value.message, caught.value.message
        body = caught.value.body
        assert isinstance(body, dict) and {"message", "type", "param", "code"} <= set(body), body


# --- the student service itself -----------------------------------------------------------------------------------


def test_the_student_service_reads_only_the_media_store(serving: Serving, tmp_path: Path) -> None:
    url = f"{serving.student_url}/v1/answer"
    outside = tmp_path / "outside.wav"
    outside.write_bytes(wav_bytes(1.0))
    for audio_url in (outside.as_uri(), "file:///etc/passwd", "http://example.com/a.wav",
                      (serving.media_root / ".." / outside.name).as_uri()):
        problem(HTTP.post(url, json={"audio_url": audio_url, "question": QUESTION, "model": "base:tiny-random"}),
                422, "audio_url")
    problem(HTTP.post(url, json={"question": QUESTION, "audio_url": outside.as_uri(),
                                  "audio_base64": base64.b64encode(wav_bytes(1.0)).decode()}), 422, "either")
    inline = HTTP.post(url, json={"audio_base64": base64.b64encode(wav_bytes(1.0)).decode(), "format": "wav",
                                   "question": QUESTION, "choices": CHOICES[:2], "model": "base:tiny-random",
                                   "max_new_tokens": 4}, timeout=120)
    assert inline.status_code == 200, inline.text
    assert inline.json()["usage"]["completion_tokens"] <= 4


def test_concurrent_requests_for_a_new_checkpoint_load_it_once(serving: Serving) -> None:
    body = {"audio_base64": base64.b64encode(wav_bytes(0.5)).decode(), "format": "wav", "question": QUESTION,
            "model": f"checkpoint:{serving.spare}", "max_new_tokens": 2}
    with ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(lambda _: HTTP.post(f"{serving.student_url}/v1/answer", json=body, timeout=120),
                                  range(3)))
    assert [r.status_code for r in responses] == [200, 200, 200], [r.text for r in responses]
    assert sum(r.json()["timings_ms"]["load"] > 0 for r in responses) >= 1
    metrics = HTTP.get(f"{serving.student_url}/metrics").text
    loads = re.search(rf'sightsound_student_loads_total\{{model="checkpoint:{serving.spare}"\}} (\S+)', metrics)
    assert loads is not None and float(loads.group(1)) == 1.0, metrics
