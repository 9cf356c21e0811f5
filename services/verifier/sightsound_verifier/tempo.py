"""Tempo from librosa's beat tracker, with a pulse-clarity check so that speech or noise gets no tempo.

The onset-strength envelope (16 ms hop) feeds ``librosa.beat.beat_track``. Whether there is a beat at
all is judged from the envelope itself: its normalised autocorrelation at the beat period (pulse
clarity, 1.0 for a metronome, near 0 for noise) and the regularity of the tracked beats. Tempo
octave errors (a tracker reporting double or half) are the classic failure, so callers treat a claim
at twice or half the measured tempo as ambiguous, not as contradicted.

The octave is settled, where it can be, by accents (:func:`accent_bpm`): the beat is the pulse of the
*accented* onsets, those whose loudness peak is within ``ACCENT_DB`` of the loud onsets' level, and
quieter onsets between them are subdivisions (off-beat hi-hats, ghost notes). When the accented onsets
recur regularly at the tracked tempo, at twice it or at half it, that reading is the pulse
(``TempoEstimate.pulse_bpm``):

- accents at twice the tracked tempo: the tracker took every other equally loud hit as a beat (160 bpm
  kick / snare read as 80); the pulse is the double;
- accents at half the tracked tempo: the tracker counted quiet subdivisions as beats (60 bpm kick /
  snare with off-beat hi-hats read as 121); the pulse is the half;
- accents at the tracked tempo: neither octave has support: a double would need onsets between the
  beats and a half would need every other beat to be weaker, and the audio has neither.

Without a regular accent pulse at one of the three (too few onsets, irregular accents, a rate matching
none), ``pulse_bpm`` is None and the octave stays ambiguous.
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
#: An onset is accented when the power it adds is within this many dB of the loud onsets' (90th percentile).
#: 6 dB is half the amplitude: a hi-hat or ghost note under a kick and snare is 15-20 dB down.
ACCENT_DB = 6.0
#: Least accented onsets for an accent pulse, and least share of their intervals within
#: ``OCTAVE_TOLERANCE`` of the median interval (a regular pulse; a missed onset or two is allowed).
MIN_ACCENTS = 4
MIN_ACCENT_REGULARITY = 0.75
#: Relative tolerance for the accent rate to match the tracked tempo, its double or its half.
OCTAVE_TOLERANCE = 0.10
#: Seconds after an onset within which its loudness peak is looked for.
ACCENT_PEAK_S = 0.08


@dataclass(frozen=True)
class TempoEstimate:
    window: TimeRange
    bpm: float | None
    beats: int
    clarity: float
    beat_cv: float | None
    onset_bpm: float | None
    note: str = ""
    #: The pulse rate of the accented onsets (see :func:`accent_bpm`), when they recur regularly.
    accent_bpm: float | None = None
    #: The tracked tempo, its double or its half, whichever the accent pulse settles; None when unsettled.
    pulse_bpm: float | None = None

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


def accent_bpm(
    samples: NDArray[np.float32], sample_rate: int, hop: int, onset_frames: NDArray[np.int_]
) -> float | None:
    """The rate (bpm) of the accented onsets: those whose added power (RMS power peak within
    ``ACCENT_PEAK_S`` less the power just before) is within ``ACCENT_DB`` of the 90th percentile of all
    onsets'; None unless there are ``MIN_ACCENTS`` and their intervals are regular.

    >>> sr, hop = 16_000, 250
    >>> y = np.zeros(8 * sr, np.float32)
    >>> for k in range(16):  # loud hits every 0.5 s, quiet ones (-20 dB) half-way between
    ...     y[k * sr // 2 : k * sr // 2 + 800] = 0.8
    ...     y[k * sr // 2 + sr // 4 : k * sr // 2 + sr // 4 + 800] = 0.08
    >>> accent_bpm(y, sr, hop, np.arange(32) * sr // 4 // hop)
    120.0
    """
    if len(onset_frames) < MIN_ACCENTS:
        return None
    power = librosa.feature.rms(y=samples, frame_length=2 * hop, hop_length=hop)[0].astype(np.float64) ** 2
    reach = max(1, round(ACCENT_PEAK_S * sample_rate / hop))
    # An onset's strength is the power it adds: its peak less the power just before it (a hi-hat over a
    # kick's decaying tail adds little, however loud the tail).
    added = np.array(
        [
            power[max(0, f - 1) : f + reach].max(initial=0.0) - power[max(0, f - 4) : max(1, f - 1)].min()
            for f in onset_frames
        ]
    )
    levels = 10 * np.log10(np.maximum(added, 1e-12))
    accented = np.asarray(onset_frames)[levels >= np.percentile(levels, 90) - ACCENT_DB]
    if len(accented) < MIN_ACCENTS:
        return None
    intervals = np.diff(accented).astype(np.float64)
    median = float(np.median(intervals))
    if median <= 0 or np.mean(np.abs(intervals - median) <= OCTAVE_TOLERANCE * median) < MIN_ACCENT_REGULARITY:
        return None
    return round(60.0 / (median * hop / sample_rate), 1)


def settle_octave(bpm: float, accents: float | None) -> float | None:
    """The tracked ``bpm``, its double or its half, whichever the accent rate matches; None if none does.

    >>> settle_octave(80.0, 163.0), settle_octave(121.0, 60.5), settle_octave(150.0, 150.0), settle_octave(90.0, 130.0)
    (160.0, 60.5, 150.0, None)
    """
    if accents is None:
        return None
    for factor in (1.0, 2.0, 0.5):
        if abs(accents - bpm * factor) <= OCTAVE_TOLERANCE * bpm * factor:
            return round(bpm * factor, 1)
    return None


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
    accents = accent_bpm(y, sample_rate, hop, onset_frames)
    return TempoEstimate(
        span,
        round(bpm, 1),
        len(beat_frames),
        round(clarity, 3),
        None if cv is None else round(cv, 3),
        onset_bpm,
        note,
        accents,
        settle_octave(bpm, accents),
    )
