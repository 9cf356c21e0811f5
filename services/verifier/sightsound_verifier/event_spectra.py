"""Each discrete sound event's spectrum: how peaky it is (a chime, a bell) or broadband (a drum hit, a
snap), and its strongest partial. Pure numpy; no tagger names a source, so only the spectral *shape*
is told apart, and only for sound names whose shape is reliable.

- Shape: the median spectral flatness of the event's first ``ATTACK_SPAN_S`` (geometric over
  arithmetic mean of the power spectrum, 0-4 kHz and above alike): under ``PEAKY_FLATNESS`` a peaky
  (tonal) sound, over ``BROADBAND_FLATNESS`` a broadband one, in between neither.
- Peak: the frequency of the strongest spectral peak over the event's first ``ATTACK_SPAN_S``, with
  parabolic interpolation; pYIN stops at 2.5 kHz, this goes up to the Nyquist frequency, so a series
  of high chimes has a measurable pitch trend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from sightsound_verifier.audio import TimeRange

ATTACK_SPAN_S = 0.3
FRAME = 1024
PEAKY_FLATNESS = 0.02
BROADBAND_FLATNESS = 0.05
MIN_PEAK_HZ = 80.0


class Shape(StrEnum):
    peaky = "peaky"
    broadband = "broadband"


#: Sound names whose spectral shape is dependable (a knock, a crow, a kick or a gong can be either).
PEAKY_NAMES = frozenset({"chime", "chimes", "bell", "bells", "ding", "dings", "ping", "beep", "beeps", "tone", "alert"})
BROADBAND_NAMES = frozenset({"drum", "drums", "snare", "snap", "snaps", "cymbal", "cymbals", "clap", "claps", "hit"})


def named_shape(phrase: str) -> Shape | None:
    """The spectral shape a sound name stands for, when exactly one is named.

    >>> named_shape("chime"), named_shape("drum hit"), named_shape("crow"), named_shape("speech")
    (<Shape.peaky: 'peaky'>, <Shape.broadband: 'broadband'>, None, None)
    """
    words = set(re.findall(r"[a-z]+", phrase.lower()))
    found = {
        shape for shape, names in ((Shape.peaky, PEAKY_NAMES), (Shape.broadband, BROADBAND_NAMES)) if words & names
    }
    return found.pop() if len(found) == 1 else None


@dataclass(frozen=True)
class EventSpectrum:
    event: TimeRange
    flatness: float
    peak_hz: float

    @property
    def shape(self) -> Shape | None:
        if self.flatness <= PEAKY_FLATNESS:
            return Shape.peaky
        if self.flatness >= BROADBAND_FLATNESS:
            return Shape.broadband
        return None


def event_spectrum(samples: NDArray[np.float32], rate: int, event: TimeRange) -> EventSpectrum:
    start = int(event[0] * rate)
    stop = min(len(samples), int(min(event[1], event[0] + ATTACK_SPAN_S) * rate))
    segment = samples[start:stop].astype(np.float64)
    if len(segment) < FRAME:
        segment = np.pad(segment, (0, FRAME - len(segment)))
    hop = FRAME // 2
    frames = np.lib.stride_tricks.sliding_window_view(segment, FRAME)[::hop] * np.hanning(FRAME)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2 + 1e-12
    energy = power.sum(axis=1)
    loud = energy >= 0.1 * energy.max()
    flatness = np.exp(np.mean(np.log(power[loud]), axis=1)) / np.mean(power[loud], axis=1)
    spectrum = power[loud].sum(axis=0)
    freqs = np.fft.rfftfreq(FRAME, 1.0 / rate)
    spectrum[freqs < MIN_PEAK_HZ] = 0.0
    k = int(np.argmax(spectrum))
    if 0 < k < len(spectrum) - 1:  # parabolic interpolation on the log spectrum
        a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-20)
        denominator = a - 2 * b + c
        shift = 0.5 * (a - c) / denominator if denominator != 0 else 0.0
    else:
        shift = 0.0
    return EventSpectrum(event, float(np.median(flatness)), float((k + shift) * rate / FRAME))


def event_spectra(samples: NDArray[np.float32], rate: int, events: tuple[TimeRange, ...]) -> list[EventSpectrum]:
    return [event_spectrum(samples, rate, e) for e in events]


def shaped_events(spectra: list[EventSpectrum], shape: Shape) -> tuple[TimeRange, ...]:
    return tuple(s.event for s in spectra if s.shape is shape)
