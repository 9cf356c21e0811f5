"""How close quoted words are to what was heard (pure): the best fuzzy match of a phrase in a transcript.

Both sides are normalised (lower case, digits as words, punctuation and hyphens as spaces). Two views,
averaged into one score (0-100):

- phrase: the claimed phrase against every run of transcript words of about its length, by rapidfuzz's
  normalised Indel similarity on characters (the best run wins; order matters);
- words: for each claimed word, its best similarity to any heard word, averaged (order does not matter).

Both views use content words only (not "the", "a", "is", ...) when the claim has two or more, so an
unrelated sentence earns nothing for sharing function words (with fewer, one lucky word would decide:
"our flight was" against "... traffic light"); characters, not exact words, so a small ASR model's
near misses ("round" for "brown") still earn something.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

#: At or above: the words were said. At or below (with enough words heard): other words were said.
SUPPORT_SCORE = 70.0
CONTRADICT_SCORE = 50.0
MAX_TOKENS = 2_000
MIN_CONTENT_WORDS = 2

_DIGITS = {
    "0": "zero",
    "1": "one",
    "2": "two",
    "3": "three",
    "4": "four",
    "5": "five",
    "6": "six",
    "7": "seven",
    "8": "eight",
    "9": "nine",
    "10": "ten",
}
_NOT_WORD = re.compile(r"[^a-z0-9']+")


def normalise(text: str) -> list[str]:
    """Lower-case word tokens without punctuation; single digits and 10 spelled out.

    >>> normalise("Stop -- NOW, it's 3 o'clock!")
    ['stop', 'now', 'its', 'three', 'oclock']
    """
    tokens = _NOT_WORD.sub(" ", text.lower()).split()
    return [_DIGITS.get(t, t) for t in (tok.replace("'", "") for tok in tokens) if t][:MAX_TOKENS]


@dataclass(frozen=True)
class WordMatch:
    """``score`` 0-100 of the best run of heard words (``matched``) against the claimed words."""

    claimed: str
    matched: str
    score: float
    heard_words: int

    @property
    def said(self) -> bool:
        return self.score >= SUPPORT_SCORE

    @property
    def not_said(self) -> bool:
        return self.score <= CONTRADICT_SCORE


_STOPWORDS = (
    "a an the and or but of to in on at by for with from is are was were be been it its this that these those "
    "i you he she we they me him her us them my your his our their there here as so do does did not no"
)
STOPWORDS = frozenset(_STOPWORDS.split())


def match_words(claimed: str, heard: str) -> WordMatch:
    """Best fuzzy match of ``claimed`` inside ``heard``.

    >>> match_words("close the door", "Please close the door.").score
    100.0
    >>> match_words("open the window", "Please close the door.").score <= 50
    True
    """
    wanted = normalise(claimed)
    tokens = normalise(heard)
    phrase = " ".join(wanted)
    if not wanted or not tokens:
        return WordMatch(phrase, "", 0.0, len(tokens))
    content = [w for w in wanted if w not in STOPWORDS]
    if len(content) >= MIN_CONTENT_WORDS:  # content words with content words: shared "the"s earn nothing
        wanted, tokens = content, [t for t in tokens if t not in STOPWORDS] or tokens
    best_phrase, best_span = -1.0, ""
    for length in range(max(1, len(wanted) - 2), len(wanted) + 3):
        for start in range(max(1, len(tokens) - length + 1)):
            span = " ".join(tokens[start : start + length])
            score = float(fuzz.ratio(" ".join(wanted), span))
            if score > best_phrase:
                best_phrase, best_span = score, span
    heard_set = set(tokens)
    word_score = sum(max(float(fuzz.ratio(w, t)) for t in heard_set) for w in wanted) / len(wanted)
    return WordMatch(phrase, best_span, round((best_phrase + word_score) / 2, 1), len(tokens))
