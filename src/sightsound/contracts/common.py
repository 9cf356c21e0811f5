"""Types shared by every contract: the claim line format and the verdict vocabulary.

The teacher writes sound claims in a block the verifier parses. Both sides agree on the format here,
so the format is a contract, not an implementation detail of either service:

    <think>free reasoning</think>
    <claims>
    source=person; event=speech; present=yes
    source=scene; event=sound; loudness=rising
    </claims>
    <answer>B</answer>

One claim per line, ``key=value`` pairs separated by ``;``. Keys are listed in ``CLAIM_KEYS``; a
value may be double-quoted (for quoted words). Unknown keys are kept as attributes.
"""

from __future__ import annotations

from enum import StrEnum

CLAIMS_OPEN = "<claims>"
CLAIMS_CLOSE = "</claims>"
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
ANSWER_OPEN = "<answer>"
ANSWER_CLOSE = "</answer>"
CHOICE_LETTERS = ("A", "B", "C", "D")

#: Keys a claim line may carry, in the order the prompt documents them.
CLAIM_KEYS = (
    "source",  # what makes the sound: person, dog, car, scene, ...
    "event",  # what happens: speech, singing, music, bark, beep, silence, sound, ...
    "kind",  # optional explicit ClaimKind value
    "present",  # yes | no
    "count",  # integer
    "order",  # e.g. "dog before car"
    "time",  # e.g. "0-2s"
    "loudness",  # rising | falling | steady | loud | quiet
    "pitch",  # rising | falling | high | low | "440Hz"
    "tempo",  # fast | slow | "120bpm"
    "words",  # quoted speech content
)


class ClaimKind(StrEnum):
    speech_presence = "speech_presence"
    speech_content = "speech_content"
    music = "music"
    singing = "singing"
    sound_source = "sound_source"
    event_count = "event_count"
    temporal_order = "temporal_order"
    loudness = "loudness"
    pitch = "pitch"
    tempo = "tempo"
    silence = "silence"
    other = "other"


class VerdictLabel(StrEnum):
    supported = "supported"
    contradicted = "contradicted"
    unverifiable = "unverifiable"


class TraceDecisionLabel(StrEnum):
    accepted = "accepted"
    rejected = "rejected"
