"""Per-clip memo of the measurements: every claim of every trace of a request shares one pass each.

Each measurement is computed on first use only, so a request whose claims are all about speech never
pays for pitch tracking or speech-to-text. One ``ClipAnalysis`` serves one request, from one thread.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import cached_property

from sightsound_verifier.audio import AudioClip, TimeRange
from sightsound_verifier.loudness import (
    LoudnessProfile,
    LoudnessTrend,
    SilenceAnalysis,
    analyze_silence,
    analyze_trend,
    loudness_profile,
    silence_threshold,
)
from sightsound_verifier.onsets import EventCount, count_events
from sightsound_verifier.pitch import PitchTrack, track_pitch
from sightsound_verifier.sound_events import ClassPresence, EventTrack, SoundClass, detect_events
from sightsound_verifier.speech import SpeechAnalysis, SpeechTrack, detect_speech
from sightsound_verifier.tempo import TempoEstimate, estimate_tempo
from sightsound_verifier.transcript import Transcript, transcribe


@dataclass(frozen=True)
class AnalyzerOptions:
    """How the model-backed analyzers run: ``asr_model`` empty means the bundled Whisper tiny.en."""

    asr_model: str = ""
    cpu_threads: int = 1


class ClipAnalysis:
    """The clip and its lazily computed measurements."""

    def __init__(self, clip: AudioClip, options: AnalyzerOptions | None = None) -> None:
        self.clip = clip
        self.options = options or AnalyzerOptions()
        self._tempo: dict[TimeRange | None, TempoEstimate] = {}

    @property
    def duration_s(self) -> float:
        return self.clip.duration_s

    @cached_property
    def wav_base64(self) -> str:
        """The clip as a base64 WAV, encoded once however many audio-LLM calls send it."""
        return base64.b64encode(self.clip.wav_bytes()).decode("ascii")

    @cached_property
    def speech_track(self) -> SpeechTrack:
        return detect_speech(self.clip.samples, self.clip.sample_rate)

    @cached_property
    def loudness(self) -> LoudnessProfile:
        return loudness_profile(self.clip.samples, self.clip.sample_rate)

    @cached_property
    def events(self) -> EventTrack:
        return detect_events(self.clip.samples, self.clip.sample_rate)

    @cached_property
    def pitch_track(self) -> PitchTrack:
        return track_pitch(self.clip.samples, self.clip.sample_rate)

    @cached_property
    def transcript(self) -> Transcript:
        return transcribe(
            self.clip.samples,
            self.clip.sample_rate,
            self.speech_track.segments,
            model_dir=self.options.asr_model,
            cpu_threads=self.options.cpu_threads,
        )

    def speech(self, window: TimeRange | None = None) -> SpeechAnalysis:
        return self.speech_track.within(window)

    @cached_property
    def silence_threshold_dbfs(self) -> float:
        """-50 dBFS, or just over the clip's steady background when sounds stand out of it."""
        return silence_threshold(self.loudness)

    def silence(self, window: TimeRange | None = None) -> SilenceAnalysis:
        return analyze_silence(self.loudness, window, self.silence_threshold_dbfs)

    def trend(self, window: TimeRange | None = None) -> LoudnessTrend:
        return analyze_trend(self.loudness, window, self.silence_threshold_dbfs)

    def sound_class(self, sound: SoundClass, window: TimeRange | None = None) -> ClassPresence:
        return self.events.within(sound, window)

    def event_count(self, window: TimeRange | None = None, *, exclude_speech: bool = True) -> EventCount:
        exclude = self.speech_track.segments if exclude_speech else ()
        return count_events(self.loudness, window, exclude)

    def tempo(self, window: TimeRange | None = None) -> TempoEstimate:
        if window not in self._tempo:
            self._tempo[window] = estimate_tempo(self.clip.samples, self.clip.sample_rate, window)
        return self._tempo[window]
