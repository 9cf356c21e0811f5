"""Tempo from librosa's beat tracker, with a pulse-clarity check so that speech or noise gets no tempo.

The onset-strength envelope (16 ms hop) feeds ``librosa.beat.beat_track``. Whether there is a beat at
all is judged from the envelope itself: its normalised autocorrelation at the beat period (pulse
clarity, 1.0 for a metronome, near 0 for noise) and the regularity of the tracked beats. Tempo
octave errors (a tracker reporting double or half) are the classic failure, so callers treat a claim
at twice or half the measured tempo as ambiguous, not as contradicted.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
from numpy.typing import NDArray

from sightsound_verifier.audio import TimeRange

HOP_S = 0.016
MIN_BEATS = 4
#: Least pulse clarity (envelope autocorrelation at the beat period) for a tempo to be reported.
MIN_CLARITY = 0.3
#: Largest coefficient of variation of inter-beat intervals for the beats to count as regular.
MAX_BEAT_CV = 0.15
MIN_SPAN_S = 2.0


@dataclass(frozen=True)
class TempoEstimate:
    window: TimeRange
    bpm: float | None
    beats: int
    clarity: float
    beat_cv: float | None
    onset_bpm: float | None
    note: str = ""

    @property
    def rhythmic(self) -> bool:
        return self.bpm is not None and not self.note

    @property
    def confidence(self) -> float:
        """0.5 at the least clarity, 0.95 at clarity 0.8 or more."""
        if not self.rhythmic:
            return 0.0
        return round(0.5 + 0.45 * min(1.0, (self.clarity - MIN_CLARITY) / (0.8 - MIN_CLARITY)), 3)


def pulse_clarity(envelope: NDArray[np.float64], period_frames: float) -> float:
    """Normalised autocorrelation of ``envelope`` at ``period_frames`` (best within ±2 frames).

    >>> pulse = np.tile([1.0, 0, 0, 0, 0, 0, 0, 0], 20)
    >>> round(pulse_clarity(pulse, 8), 2)
    0.95
    """
    x = envelope - envelope.mean()
    energy = float(np.dot(x, x))
    if energy <= 0 or period_frames < 1:
        return 0.0
    best = -1.0
    centre = round(period_frames)
    for lag in range(max(1, centre - 2), centre + 3):
        if lag >= len(x):
            break
        best = max(best, float(np.dot(x[:-lag], x[lag:])) / energy)
    return best


def estimate_tempo(samples: NDArray[np.float32], sample_rate: int, window: TimeRange | None = None) -> TempoEstimate:
    duration = len(samples) / sample_rate
    span = window if window is not None else (0.0, duration)
    first, last = int(span[0] * sample_rate), int(min(span[1], duration) * sample_rate)
    y = samples[first:last]
    if (last - first) / sample_rate < MIN_SPAN_S:
        return TempoEstimate(span, None, 0, 0.0, None, None, f"a tempo needs at least {MIN_SPAN_S} s of audio")
    hop = max(1, round(HOP_S * sample_rate))
    envelope = librosa.onset.onset_strength(y=y, sr=sample_rate, hop_length=hop).astype(np.float64)
    if float(envelope.max(initial=0.0)) <= 1e-6:
        return TempoEstimate(span, None, 0, 0.0, None, None, "no onsets: the audio has no rhythm")
    tempo, beat_frames = librosa.beat.beat_track(onset_envelope=envelope, sr=sample_rate, hop_length=hop)
    bpm = float(np.atleast_1d(tempo)[0])
    onset_frames = librosa.onset.onset_detect(onset_envelope=envelope, sr=sample_rate, hop_length=hop)
    onset_bpm = None
    if len(onset_frames) >= 3:
        onset_bpm = round(60.0 / (float(np.median(np.diff(onset_frames))) * hop / sample_rate), 1)
    if bpm <= 0 or len(beat_frames) < MIN_BEATS:
        return TempoEstimate(span, None, len(beat_frames), 0.0, None, onset_bpm, "too few beats tracked")
    clarity = pulse_clarity(envelope, 60.0 / bpm * sample_rate / hop)
    intervals = np.diff(beat_frames).astype(np.float64)
    cv = float(intervals.std() / intervals.mean()) if intervals.size and intervals.mean() > 0 else None
    note = ""
    if clarity < MIN_CLARITY:
        note = f"no clear pulse (clarity {clarity:.2f} < {MIN_CLARITY})"
    elif cv is None or cv > MAX_BEAT_CV:
        note = f"beats are irregular (interval variation {cv if cv is not None else float('nan'):.2f})"
    return TempoEstimate(
        span,
        round(bpm, 1),
        len(beat_frames),
        round(clarity, 3),
        None if cv is None else round(cv, 3),
        onset_bpm,
        note,
    )
