"""Values of claim attributes as numbers and named sound kinds (pure): count, Hz, bpm, order.

Each parser returns ``None`` (or an error string, for order) when the value is not understood, so the
checker can answer "unverifiable: value not understood" instead of guessing.
"""

from __future__ import annotations

import re
from enum import StrEnum

import librosa

from sightsound.contracts.verifier import Claim

_NUMBER_WORDS = {
    "zero": 0,
    "no": 0,
    "none": 0,
    "one": 1,
    "once": 1,
    "a single": 1,
    "single": 1,
    "two": 2,
    "twice": 2,
    "a couple of": 2,
    "three": 3,
    "thrice": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
}
_COUNT = re.compile(r"^\s*(\d{1,4})\s*(?:x|times?)?\s*$")
_HZ = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(k?hz)\s*$", re.IGNORECASE)
_NOTE = re.compile(r"^\s*([A-Ga-g][#b♯♭]?-?\d)\s*$")
_BPM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:bpm|beats per minute|beats/min)?\s*$", re.IGNORECASE)
_ORDER = re.compile(
    r"^\s*(?:first\s+)?(?P<a>.+?)\s+(?P<rel>before|after|then|followed by|and then|precedes|follows)\s+(?P<b>.+?)\s*$",
    re.IGNORECASE,
)


def parse_count(value: object) -> int | None:
    """``3``, ``"3"``, ``"three"``, ``"3 times"``, ``"twice"`` -> int; ``"several"`` -> None.

    >>> [parse_count(v) for v in ("3", "three", "Twice", "4 times", "several", "-1")]
    [3, 3, 2, 4, None, None]
    """
    text = str(value).strip().lower()
    match = _COUNT.match(text)
    if match:
        return int(match.group(1))
    text = re.sub(r"\s+times?$", "", text)
    return _NUMBER_WORDS.get(text)


_ESTIMATE = re.compile(
    r"^\s*(?:about|around|roughly|approximately|approx\.?|nearly|almost|some|close to|~)\s*(.+)$", re.IGNORECASE
)


def parse_count_estimate(value: object) -> tuple[int, bool] | None:
    """A count and whether it is an estimate (``"about 4"``, ``"~4"``, ``"roughly four"``).

    >>> [parse_count_estimate(v) for v in ("4", "about 4", "~ four", "roughly 6 times", "several")]
    [(4, False), (4, True), (4, True), (6, True), None]
    """
    text = str(value).strip()
    estimate = _ESTIMATE.match(text)
    found = parse_count(estimate.group(1) if estimate else text)
    return None if found is None else (found, estimate is not None)


def parse_hz(value: object) -> float | None:
    """``"440Hz"``, ``"1.2 kHz"``, ``"A4"``, ``"C#5"`` -> Hz.

    >>> [parse_hz(v) for v in ("440Hz", "1.2 kHz", "A4", "high")]
    [440.0, 1200.0, 440.0, None]
    """
    text = str(value).strip()
    match = _HZ.match(text)
    if match:
        number = float(match.group(1))
        return number * 1000.0 if match.group(2).lower() == "khz" else number
    note = _NOTE.match(text)
    if note:
        try:
            return round(float(librosa.note_to_hz(note.group(1).replace("♯", "#").replace("♭", "b"))), 2)
        except librosa.ParameterError:
            return None
    return None


def parse_bpm(value: object) -> float | None:
    """``"120bpm"``, ``"120 BPM"``, ``"96"`` -> beats per minute (between 20 and 400).

    >>> [parse_bpm(v) for v in ("120bpm", "96", "fast", "2000")]
    [120.0, 96.0, None, None]
    """
    match = _BPM.match(str(value))
    if not match:
        return None
    bpm = float(match.group(1))
    return bpm if 20.0 <= bpm <= 400.0 else None


class Locatable(StrEnum):
    """Sound kinds the analyzers can place in time (for order claims)."""

    speech = "speech"
    music = "music"
    singing = "singing"
    tone = "tone"
    silence = "silence"


_LOCATABLE_WORDS: dict[Locatable, frozenset[str]] = {
    Locatable.speech: frozenset(
        {
            "speech",
            "speaking",
            "talking",
            "talk",
            "voice",
            "voices",
            "narration",
            "words",
            "person",
            "man",
            "woman",
            "speaker",
            "someone",
            "dialogue",
            "conversation",
            "word",
            "utterance",
            "utterances",
            "sentence",
            "sentences",
            "spoken",
            "speak",
            "speaks",
            "talks",
            "says",
            "said",
            "shout",
            "shouting",
            "shouts",
            "yell",
            "yelling",
            "whisper",
            "whispering",
            "whispers",
            "narrator",
            "narrating",
            "announcer",
            "announcement",
            "announcing",
            "commentary",
            "commentator",
            "lecture",
            "chatter",
            "chatting",
            "presenter",
            "reporter",
            "interview",
        }
    ),
    Locatable.music: frozenset(
        {
            "music",
            "song",
            "melody",
            "tune",
            "instrument",
            "instrumental",
            "piano",
            "guitar",
            "drums",
            "drum",
            "band",
            "violin",
            "cello",
            "flute",
            "trumpet",
            "saxophone",
            "organ",
            "harp",
            "orchestra",
            "accordion",
            "clarinet",
            "trombone",
            "ukulele",
            "banjo",
            "xylophone",
            "tuba",
            "erhu",
            "guzheng",
            "soundtrack",
        }
    ),
    Locatable.singing: frozenset(
        {"singing", "singer", "vocals", "choir", "chant", "chanting", "sings", "sing", "humming", "vocalist", "rapping"}
    ),
    Locatable.tone: frozenset(
        {
            "tone",
            "beep",
            "beeps",
            "beeping",
            "hum",
            "whistle",
            "buzz",
            "ring",
            "ringing",
            "chime",
            "alarm",
            "sine",
            "bell",
        }
    ),
    Locatable.silence: frozenset({"silence", "quiet", "nothing", "pause"}),
}


def locatable(phrase: str) -> Locatable | None:
    """The locatable sound kind a short phrase names, if exactly one word of it tells.

    >>> locatable("the man talking"), locatable("a beep"), locatable("the dog")
    (<Locatable.speech: 'speech'>, <Locatable.tone: 'tone'>, None)
    """
    words = set(re.findall(r"[a-z]+", phrase.lower()))
    found = {kind for kind, names in _LOCATABLE_WORDS.items() if words & names}
    if Locatable.singing in found:
        found -= {Locatable.music, Locatable.speech}
    return found.pop() if len(found) == 1 else None


def subject_kind(claim: Claim) -> Locatable | None:
    """What a claim is about, by its ``event`` (its ``source`` only when it has no event): a person
    who snaps is not speech, a man who speaks is.

    >>> subject_kind(Claim(index=0, kind="pitch", text="", attributes={"source": "man", "event": "speech"}))
    <Locatable.speech: 'speech'>
    >>> subject_kind(Claim(index=0, kind="event_count", text="", attributes={"source": "person", "event": "snap"}))
    """
    event = str(claim.attributes.get("event", "")).strip()
    return locatable(event) if event else locatable(str(claim.attributes.get("source", "")))


def parse_order(value: object, subject: str = "") -> tuple[str, str] | str:
    """``(earlier, later)`` phrases of an order value, or an error string.

    ``subject`` stands in for a missing first phrase (``order="before music"`` on an ``event=speech`` line).

    >>> parse_order("speech before music"), parse_order("music after speech"), parse_order("before music", "speech")
    (('speech', 'music'), ('speech', 'music'), ('speech', 'music'))
    >>> parse_order("loud")
    "order 'loud' not understood (expected e.g. 'speech before music')"
    """
    text = str(value).strip()
    lowered = text.lower()
    for rel in ("before", "after"):
        if lowered.startswith(rel + " ") and subject:
            text = f"{subject} {text}"
            break
    match = _ORDER.match(text)
    if match is None:
        return f"order {value!r} not understood (expected e.g. 'speech before music')"
    a, rel, b = match.group("a"), match.group("rel").lower(), match.group("b")
    return (b, a) if rel in {"after", "follows"} else (a, b)
