"""How well each choice agrees with what the embedded teacher's view makes it expect to hear. Pure.

A vision-language teacher that sees a cat answers "a cat meowing"; one that sees a still, empty scene
answers "the clip is silent". SmolLM2-135M's likelihoods alone (:mod:`sightsound_teacher.choice_scoring`)
barely do this: on the synthetic set's photos its calibrated scores gave the silent-scene choice
0.15-0.79 and the named source's choice little more than chance. So the embedded teacher adds a
grounding term: each choice's agreement with its own view claims (:mod:`sightsound_teacher.sound_sources`):

- a view with sound sources: +1 when the choice names one of them (its source, event or instrument word,
  e.g. ``cat``/``meow``), +0.5 when it only says that something is heard, -1 when it says the clip is silent;
- a view with no source (the silence claim): +1 when the choice says silent/quiet/nothing, -1 when it
  says something is heard (a choice saying both scores 0).

Still a judgement of the frames only, never of the sound: it is what makes the teacher right where the
picture tells the truth and wrong, confidently, where the picture misleads (a still, empty picture over an
off-screen voice), which is the hallucination the verifier exists to catch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sightsound_teacher.sound_sources import SILENCE_LINE

#: Weight of the agreement against the calibrated log-probability scores (whose spread across choices
#: is about 0.1-1.5 on the synthetic set): at the default temperature 0.7 an agreeing choice among four
#: gets about 0.9 of the probability, so K=2 traces agree about four times in five.
GROUNDING_WEIGHT = 2.5

SILENT_WORDS = frozenset({"silent", "silence", "quiet", "nothing", "soundless", "noiseless", "mute"})
AUDIBLE_WORDS = frozenset({"sound", "heard", "hear", "noise", "audible", "something", "someone", "play", "start"})
_WORD = re.compile(r"[a-z]+")
_GENERIC = frozenset({"scene", "sound", "music", "yes", "no"})


def stem(word: str) -> str:
    """A crude English stem, enough to match ``meows``/``meowing``/``meow``.

    >>> [stem(w) for w in ("meowing", "barks", "clicked", "sounds", "glass", "silence")]
    ['meow', 'bark', 'click', 'sound', 'glass', 'silence']
    """
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def words(text: str) -> set[str]:
    return {stem(w) for w in _WORD.findall(text.lower())}


def view_sources(lines: Sequence[str]) -> tuple[bool, set[str]]:
    """Whether the view claims silence, and the stemmed words naming the sources it expects.

    >>> view_sources(["source=cat; event=meow; present=yes"])
    (False, {'cat', 'meow'})
    >>> view_sources(["source=scene; event=silence; present=yes; hedged=yes"])
    (True, set())
    """
    silent = any(line.startswith(SILENCE_LINE.split("; present")[0]) for line in lines)
    named: set[str] = set()
    for line in lines:
        for pair in line.split(";"):
            key, _, value = pair.strip().partition("=")
            if key in ("source", "event", "instrument"):
                named |= words(value) - _GENERIC - {stem(w) for w in SILENT_WORDS}
    return silent and not named, named


def agreement(choice: str, lines: Sequence[str]) -> float:
    """The choice's agreement with the view (see the module docstring), in [-1, 1].

    >>> cat = ["source=cat; event=meow; present=yes"]
    >>> [agreement(c, cat) for c in ("A cat meowing", "Yes, something makes a sound", "No, the clip is silent")]
    [1.0, 0.5, -1.0]
    >>> still = ["source=scene; event=silence; present=yes"]
    >>> [agreement(c, still) for c in ("No, the clip is silent", "Yes, something makes a sound", "A dog barking")]
    [1.0, -1.0, 0.0]
    >>> agreement("It is silent at first, then a sound starts", still)
    0.0
    """
    silent_view, named = view_sources(lines)
    said = words(choice)
    says_silent = bool(said & {stem(w) for w in SILENT_WORDS})
    says_audible = bool(said & {stem(w) for w in AUDIBLE_WORDS})
    if silent_view:
        return float(says_silent) - float(says_audible)
    if not named:
        return 0.0
    if said & named:
        return 1.0 - float(says_silent)
    return 0.5 * float(says_audible) - float(says_silent)


def agreements(choices: Sequence[str], lines: Sequence[str]) -> list[float]:
    return [agreement(choice, lines) for choice in choices]
