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

The language is versioned (``CLAIM_FORMAT_VERSION``); version 2 (relative windows, coverage,
exceptions, gaps, overlap, comparisons, patterns, instruments, voices, inequalities such as
``count>5``) is specified in :mod:`sightsound.contracts.claim_language` and re-exported here. Every
version 1 line is a valid version 2 line with the same meaning.
"""

from __future__ import annotations

from enum import StrEnum

from sightsound.contracts.claim_language import (
    CLAIM_FORMAT_VERSION,
    CLAIM_KEY_PATTERN,
    CLAIM_KEYS_V1,
    CLAIM_KEYS_V2,
    CLAIM_KEYS_V2_ADDED,
    CLAIM_OPERATORS,
    CLAIM_PAIR_PATTERN,
    CLAIM_VALUE_PATTERN,
    CLAIM_VALUE_SYNTAX,
    INEQUALITY_KEYS,
    claim_line_regex,
    claim_value_error,
    is_valid_claim_line,
    split_pair,
)

__all__ = [
    "ANSWER_CLOSE",
    "ANSWER_OPEN",
    "CHOICE_LETTERS",
    "CLAIMS_CLOSE",
    "CLAIMS_OPEN",
    "CLAIM_FORMAT_VERSION",
    "CLAIM_KEYS",
    "CLAIM_KEYS_V1",
    "CLAIM_KEYS_V2",
    "CLAIM_KEYS_V2_ADDED",
    "CLAIM_KEY_PATTERN",
    "CLAIM_OPERATORS",
    "CLAIM_PAIR_PATTERN",
    "CLAIM_VALUE_PATTERN",
    "CLAIM_VALUE_SYNTAX",
    "INEQUALITY_KEYS",
    "THINK_CLOSE",
    "THINK_OPEN",
    "ClaimKind",
    "TraceDecisionLabel",
    "VerdictLabel",
    "claim_line_regex",
    "claim_value_error",
    "is_valid_claim_line",
    "split_pair",
]

CLAIMS_OPEN = "<claims>"
CLAIMS_CLOSE = "</claims>"
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
ANSWER_OPEN = "<answer>"
ANSWER_CLOSE = "</answer>"
CHOICE_LETTERS = ("A", "B", "C", "D")

#: Keys a claim line may carry (version 2; ``CLAIM_KEYS_V1`` are the version 1 subset).
CLAIM_KEYS = CLAIM_KEYS_V2


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
    # version 2
    instrument = "instrument"  # which instruments play (music presence is checkable, identity needs a tagger)
    voice = "voice"  # voice attributes: child, male, female, robotic, ...
    gap = "gap"  # silence between consecutive events
    overlap = "overlap"  # two sounds at the same time, or one between two others
    comparison = "comparison"  # two events of one source compared (louder, higher, longer)
    pattern = "pattern"  # repetition: groups of N, alternating, regular
    coverage = "coverage"  # how much of the clip (or window) a sound fills
    exception = "exception"  # "quiet except for X": everything but X is quiet
    duration = "duration"  # how long a sound lasts (with an inequality)
    other = "other"


class VerdictLabel(StrEnum):
    supported = "supported"
    contradicted = "contradicted"
    unverifiable = "unverifiable"


class TraceDecisionLabel(StrEnum):
    accepted = "accepted"
    rejected = "rejected"
