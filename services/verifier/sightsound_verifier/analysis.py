"""Per-clip memo of the measurements: every claim of every trace of a request shares one pass each.

Each measurement is computed on first use only, so a request whose claims are all about speech never
pays for the loudness profile. One ``ClipAnalysis`` serves one request, from one thread.
"""

from __future__ import annotations

from functools import cached_property

from sightsound_verifier.audio import AudioClip, TimeRange
from sightsound_verifier.loudness import (
    LoudnessProfile,
    LoudnessTrend,
    SilenceAnalysis,
    analyze_silence,
    analyze_trend,
    loudness_profile,
)
from sightsound_verifier.speech import SpeechAnalysis, SpeechTrack, detect_speech


class ClipAnalysis:
    """The clip and its lazily computed speech and loudness measurements."""

    def __init__(self, clip: AudioClip) -> None:
        self.clip = clip

    @property
    def duration_s(self) -> float:
        return self.clip.duration_s

    @cached_property
    def speech_track(self) -> SpeechTrack:
        return detect_speech(self.clip.samples, self.clip.sample_rate)

    @cached_property
    def loudness(self) -> LoudnessProfile:
        return loudness_profile(self.clip.samples, self.clip.sample_rate)

    def speech(self, window: TimeRange | None = None) -> SpeechAnalysis:
        return self.speech_track.within(window)

    def silence(self, window: TimeRange | None = None) -> SilenceAnalysis:
        return analyze_silence(self.loudness, window)

    def trend(self, window: TimeRange | None = None) -> LoudnessTrend:
        return analyze_trend(self.loudness, window)
