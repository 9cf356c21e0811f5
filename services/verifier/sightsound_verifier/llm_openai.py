"""Audio LLM over any OpenAI-compatible chat-completions server: GPT-4o-audio, or vLLM serving
Qwen2-Audio-7B-Instruct / Qwen2.5-Omni.

The clip travels inside the request as a base64 WAV, in one of two content-part forms:

- ``input_audio`` (OpenAI's form, GPT-4o-audio): ``{"type": "input_audio", "input_audio": {"data": b64,
  "format": "wav"}}``;
- ``audio_url`` (vLLM's form): ``{"type": "audio_url", "audio_url": {"url": "data:audio/wav;base64,..."}}``.

Timeouts and connection errors, 429 and 5xx answers are retried (``Retry-After`` honoured, up to 10 s,
otherwise 0.5 s doubling); other 4xx answers are final. Either way a failure costs the claims their
verdicts (unverifiable, with the reason), never the request.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, Literal

import httpx

from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio_llm import AudioLLMChecker, AudioLLMError
from sightsound_verifier.llm_answers import SYSTEM_PROMPT

log = logging.getLogger("sightsound.verifier")

AudioPart = Literal["input_audio", "audio_url"]
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 10.0
FIRST_BACKOFF_S = 0.5
MAX_ERROR_TEXT = 200


def audio_part(kind: AudioPart, wav_base64: str) -> dict[str, Any]:
    """The content part carrying the clip.

    >>> audio_part("input_audio", "UklG")
    {'type': 'input_audio', 'input_audio': {'data': 'UklG', 'format': 'wav'}}
    >>> audio_part("audio_url", "UklG")
    {'type': 'audio_url', 'audio_url': {'url': 'data:audio/wav;base64,UklG'}}
    """
    if kind == "input_audio":
        return {"type": "input_audio", "input_audio": {"data": wav_base64, "format": "wav"}}
    return {"type": "audio_url", "audio_url": {"url": f"data:audio/wav;base64,{wav_base64}"}}


def chat_request(model: str, prompt: str, part: dict[str, Any], max_tokens: int) -> dict[str, Any]:
    """The chat-completions request body: system instructions, then the audio and the numbered claims."""
    return {
        "model": model,
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": [part, {"type": "text", "text": prompt}]},
        ],
        "temperature": 0.0,
        "max_tokens": max_tokens,
    }


def answer_text(body: Any) -> str:
    """``choices[0].message.content`` of a chat-completions response, or :class:`AudioLLMError`."""
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise AudioLLMError(f"response is not a chat completion ({type(exc).__name__}: {exc})") from exc
    if not isinstance(content, str):
        raise AudioLLMError("response message has no text content")
    return content


class OpenAIAudioChecker(AudioLLMChecker):
    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        audio_part_kind: AudioPart = "audio_url",
        api_key: str | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 3,
        max_claims: int = 32,
        max_tokens: int = 512,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(f"audio-llm:{model}", model, max_claims)
        self.audio_part_kind = audio_part_kind
        self.max_retries = max_retries
        self.max_tokens = max_tokens
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s, transport=transport
        )

    def close(self) -> None:
        self._client.close()

    def ask(self, prompt: str, clip: ClipAnalysis) -> str:
        body = chat_request(self.model, prompt, audio_part(self.audio_part_kind, clip.wav_base64), self.max_tokens)
        return answer_text(self._post(body))

    def _post(self, body: dict[str, Any]) -> Any:
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self._client.post("/chat/completions", json=body)
            except httpx.TransportError as exc:  # timeouts, refused connections, resets
                if last:
                    raise AudioLLMError(f"{type(exc).__name__} after {attempt + 1} attempt(s): {exc}") from exc
                self._sleep(attempt, None)
                continue
            if response.status_code in RETRY_STATUSES and not last:
                log.warning("audio LLM answered %d; retrying (attempt %d)", response.status_code, attempt + 1)
                self._sleep(attempt, response.headers.get("retry-after"))
                continue
            if response.status_code != 200:
                detail = response.text[:MAX_ERROR_TEXT]
                raise AudioLLMError(f"HTTP {response.status_code} after {attempt + 1} attempt(s): {detail}")
            try:
                return response.json()
            except ValueError as exc:
                raise AudioLLMError("response is not JSON") from exc
        raise AudioLLMError("no attempt made")  # pragma: no cover - the loop always returns or raises

    @staticmethod
    def _sleep(attempt: int, retry_after: str | None) -> None:
        delay = FIRST_BACKOFF_S * 2**attempt
        if retry_after is not None:
            with contextlib.suppress(ValueError):
                delay = min(MAX_RETRY_AFTER_S, max(0.0, float(retry_after)))
        time.sleep(delay)
