"""Audio LLM run in-process with transformers: ``Qwen2AudioForConditionalGeneration`` (e.g.
Qwen2-Audio-7B-Instruct; bf16 on GPU, float32 on CPU), or ``tiny-random`` (a tiny random model, tests).

The processor gets the clip with ``audio=`` (the old ``audios=`` is silently ignored by transformers 5:
every clip would then get the same answer). Decoding is greedy, and the audio special tokens are
suppressed so a small model cannot emit them. Whisper features cover 30 s: longer clips are cut there.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import torch

from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio_llm import AudioLLMChecker, AudioLLMError
from sightsound_verifier.llm_answers import SYSTEM_PROMPT
from sightsound_verifier.tiny_audio_llm import AUDIO_TOKENS, TINY_MODEL_ID, load_tiny_audio_llm

log = logging.getLogger("sightsound.verifier")
PROCESSOR_RATE = 16_000


def pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class TransformersAudioChecker(AudioLLMChecker):
    def __init__(self, model_id: str, *, device: str = "auto", max_new_tokens: int = 256, max_claims: int = 32) -> None:
        super().__init__(f"audio-llm:{model_id}", model_id, max_claims)
        self.device = pick_device(device)
        self.max_new_tokens = max_new_tokens
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any] | None = None

    def load(self) -> tuple[Any, Any]:
        """Model and processor, loaded on first use (once per checker, i.e. once per process)."""
        with self._lock:
            if self._loaded is None:
                model: Any
                processor: Any
                if self.model == TINY_MODEL_ID:
                    tiny = load_tiny_audio_llm()
                    model, processor = tiny.model, tiny.processor
                else:
                    from transformers import AutoProcessor, Qwen2AudioForConditionalGeneration

                    dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
                    log.info("loading audio LLM %s on %s (%s)", self.model, self.device, dtype)
                    model = Qwen2AudioForConditionalGeneration.from_pretrained(self.model, dtype=dtype)
                    processor = AutoProcessor.from_pretrained(self.model)  # type: ignore[no-untyped-call]
                    model.eval()
                self._loaded = (model.to(self.device), processor)
            return self._loaded

    def warm_up(self) -> None:
        self.load()

    def inputs(self, prompt: str, clip: ClipAnalysis) -> Any:
        """Processor output for one clip and the prompt (``input_ids``, ``input_features``, masks)."""
        _, processor = self.load()
        conversation = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": [{"type": "audio", "audio_url": "clip.wav"}, {"type": "text", "text": prompt}]},
        ]
        text = processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        samples = clip.clip.samples
        if clip.clip.sample_rate != PROCESSOR_RATE:
            import librosa

            samples = librosa.resample(samples, orig_sr=clip.clip.sample_rate, target_sr=PROCESSOR_RATE)
        return processor(text=text, audio=[samples], sampling_rate=PROCESSOR_RATE, return_tensors="pt")

    def ask(self, prompt: str, clip: ClipAnalysis) -> str:
        model, processor = self.load()
        try:
            inputs = self.inputs(prompt, clip).to(self.device)
            tokenizer = processor.tokenizer
            banned = [[tokenizer.convert_tokens_to_ids(t)] for t in AUDIO_TOKENS]
            with self._lock, torch.inference_mode():
                output = model.generate(
                    **inputs,
                    max_new_tokens=self.max_new_tokens,
                    do_sample=False,
                    bad_words_ids=banned,
                    pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                )
        except (RuntimeError, ValueError) as exc:  # shape / memory problems of the model, not of the request
            raise AudioLLMError(f"generation failed ({type(exc).__name__}: {exc})") from exc
        new_tokens = output[0, inputs["input_ids"].shape[1] :]
        answer: str = tokenizer.decode(new_tokens, skip_special_tokens=True)
        return answer
