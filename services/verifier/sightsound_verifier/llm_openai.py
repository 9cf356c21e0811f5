"""Audio LLM over any OpenAI-compatible chat-completions server: GPT-4o-audio, or vLLM serving
Qwen2-Audio-7B-Instruct / Qwen2.5-Omni.

The clip travels inside the request as a base64 WAV, in one of two content-part forms:

- ``input_audio`` (OpenAI's form, GPT-4o-audio): ``{"type": "input_audio", "input_audio": {"data": b64,
  "format": "wav"}}``;
- ``audio_url`` (vLLM's form): ``{"type": "audio_url", "audio_url": {"url": "data:audio/wav;base64,..."}}``.

Timeouts and connection errors, 429 and 5xx answers are retried by the platform's one OpenAI-protocol client
(:mod:`sightsound.clients.openai_chat`: ``Retry-After`` honoured, otherwise 0.5 s doubling); other 4xx
answers are final. Either way a failure costs the claims their
verdicts (unverifiable, with the reason), never the request.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import httpx

from sightsound.clients.openai_chat import ChatFailure, OpenAIChatClient
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio_llm import AudioLLMChecker, AudioLLMError
from sightsound_verifier.llm_answers import SYSTEM_PROMPT
from sightsound_verifier.usage import add_tokens

log = logging.getLogger("sightsound.verifier")

AudioPart = Literal["input_audio", "audio_url"]
FIRST_BACKOFF_S = 0.5


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
        self._client = OpenAIChatClient(base_url, api_key=api_key, timeout_s=timeout_s, max_retries=max_retries,
                                        backoff_s=FIRST_BACKOFF_S, retry_timeouts=True, transport=transport,
                                        what="the audio LLM")

    def close(self) -> None:
        self._client.close()

    def ask(self, prompt: str, clip: ClipAnalysis) -> str:
        body = chat_request(self.model, prompt, audio_part(self.audio_part_kind, clip.wav_base64), self.max_tokens)
        return answer_text(self._post(body))

    def _post(self, body: dict[str, Any]) -> Any:
        try:
            answer = self._client.post_chat(body)
        except ChatFailure as failure:
            status = f"HTTP {failure.status}" if failure.status is not None else failure.kind
            raise AudioLLMError(f"{status} after {failure.attempts} attempt(s): {failure}") from failure
        add_tokens(answer)
        return answer
