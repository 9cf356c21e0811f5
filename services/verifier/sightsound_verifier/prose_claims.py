"""Claims out of the prose of a trace (pure, rule-based): every sentence that asserts something about
sound becomes one or more claim-language v2 pair sets, as a claims block would have written them.

Per sentence: relations first (order "X before Y", overlap "X over Y" / "while", "between X and Y",
gaps "pauses between the knocks", exceptions "quiet except for the dog"), whose words are then masked;
then each clause's sound words (:mod:`~sightsound_verifier.prose_vocabulary`), with negation, hedging
and one claim per aspect (count, loudness, pitch, tempo, duration, pattern, comparison, coverage,
voice, instrument) so that every aspect is checked on its own. A qualified sentence ("mostly silent
except for ...", "silent pauses between ...", "nothing is heard at the start") never becomes the bare
"the clip is silent".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sightsound.contracts.common import ANSWER_CLOSE, ANSWER_OPEN, CLAIMS_CLOSE, CLAIMS_OPEN
from sightsound_verifier import prose_modifiers as mod
from sightsound_verifier.prose_vocabulary import (
    CHILD_WORDS,
    INSTRUMENT,
    MUSIC,
    SILENCE,
    SINGING,
    SOUND,
    SOUND_VERBS,
    SPEECH,
    TermHit,
    find_terms,
    source_noun,
)

MAX_SENTENCE = 160
#: Events that name a source or nothing in particular; a more specific sound word in the clause wins.
_SOURCE_LIKE = frozenset({"sound", "vehicle"})
#: Events too broad to stand for the sound: the word itself is the event ("rain", "crash", "cough").
_OWN_WORD = frozenset({"weather", "vehicle", "impact", "rustle", "cry", "water", "explosion", "roar", "buzz"})
_PERSON_NOUNS = frozenset(
    {
        "man",
        "woman",
        "child",
        "kid",
        "boy",
        "girl",
        "person",
        "people",
        "singer",
        "narrator",
        "speaker",
        "host",
        "crowd",
    }
)

_BLOCK = re.compile(re.escape(CLAIMS_OPEN) + r".*?(?:" + re.escape(CLAIMS_CLOSE) + r"|(?=<answer>)|$)", re.I | re.S)
_ANSWER = re.compile(re.escape(ANSWER_OPEN) + r".*?(?:" + re.escape(ANSWER_CLOSE) + r"|$)", re.I | re.S)
_TAG = re.compile(r"</?[a-z_]+>", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_META = re.compile(
    r"\b(?:the question|question asks|which of the|the options?|options? [a-d]\b|choices?\b|answer is|the answer"
    r"|\([a-d]\)|frames? (?:show|depict)s?(?! .*\b(?:so|therefore|thus|suggest)))"
)
_CLAUSE = re.compile(
    r";|\bbut\b|, whereas\b|, although\b|, and (?=(?:then )?(?:a|an|the|someone|somebody|he|she|they|it|there|we"
    r"|people|music)\b)"
)
_ORDER = re.compile(
    r"\b((?:and )?(?:a (?:moment|second|few seconds|little|bit|short while) later|shortly after(?:wards)?"
    r"|soon after(?:wards)?|afterwards)|before|after|followed by|and then|then|until|prior to)\b"
)
_PER_MINUTE = re.compile(r"\b(\d+(?:\.\d+)?) ?beats (?:per|a|each) minute\b")
_QUOTED = re.compile(r"[\"“]([^\"”]{1,200})[\"”]|'([^']{2,200})'")
_AFTER_NEGATION = re.compile(r"^\W{0,3}(?:is |are |was |were |can |could )?(?:not|n't|never|cannot)\b")
_NEGATED_AFTER = re.compile(r"\b(?:not|never|no longer)\b|n't\b")
#: Words that make a trend with no sound word a claim about the sound as a whole ("the volume drops").
_LEVEL_SUBJECT = re.compile(r"\b(?:volume|loudness|level|audio|it|everything|things|overall)\b")
_STRUCK_INSTRUMENT = re.compile(r"drum|cymbal|gong|snare|tambourine|timpani|bongo|conga|cowbell|xylophone|marimba")
_QUIET_ADJECTIVE = re.compile(r"^\s+(?:\w+ )?(?:hum|buzz|music|voice|murmur|noise|sound|tune|melody|whisper|beep)")


@dataclass(frozen=True)
class ProseClaim:
    """One claim of the prose: its v2 pairs and the sentence it came from."""

    pairs: dict[str, str]
    sentence: str
    rule: str


def prose_of(text: str) -> str:
    """The reasoning's prose: the text without its claims block, its answer and its tags."""
    return _TAG.sub(" ", _ANSWER.sub(" ", _BLOCK.sub(" ", text)))


def claims_from_prose(text: str) -> list[ProseClaim]:
    """Every sound assertion of ``text``'s prose, in order (duplicates are removed by the caller).

    >>> [c.pairs for c in claims_from_prose("The dog barks exactly four times.")]
    [{'source': 'dog', 'event': 'bark', 'count': '4', 'present': 'yes'}]
    >>> [c.pairs for c in claims_from_prose("The frames show a red car.")]
    []
    """
    found: list[ProseClaim] = []
    for raw in _SENTENCE.split(prose_of(text)):
        sentence = " ".join(raw.split())
        if not sentence:
            continue
        lowered = sentence.lower()
        if _META.search(lowered):
            continue
        shown = sentence.rstrip(".!?;: ")
        shown = shown if len(shown) <= MAX_SENTENCE else shown[: MAX_SENTENCE - 3] + "..."
        for rule, pairs in sentence_claims(lowered):
            found.append(ProseClaim(pairs, shown, rule))
    return found


def sentence_claims(sentence: str) -> list[tuple[str, dict[str, str]]]:
    """``(rule, pairs)`` of one lower-case sentence."""
    sentence = _PER_MINUTE.sub(r"\1 bpm", sentence)  # "90 beats per minute" is a tempo, not 90 beats
    sentence = mod.plain_levels(sentence)  # "the volume does not change": a steady level, not a negation
    hedged = bool(mod.HEDGES.search(sentence))
    window = mod.window(sentence)
    out: list[tuple[str, dict[str, str]]] = []
    rest = sentence
    for relation in (_exception, _gap, _between, _overlap):
        claims, rest = relation(rest)
        out += claims
    claims, sides = _ordered_sides(rest)
    out += claims
    for text, scope in sides:
        for clause in _CLAUSE.split(text):
            for rule, pairs in _clause_claims(clause, sentence):
                # "a bell rings twice before someone knocks": the knocks are no rings (see _ordered_sides)
                out.append((rule, {**pairs, **scope} if "count" in pairs else pairs))
    for _, pairs in out:
        if window and "time" not in pairs and "window" not in pairs and "order" not in pairs:
            pairs["window"] = window
        if hedged:
            pairs["hedged"] = "yes"
    return out


def _event_word(hit: TermHit) -> str:
    """The canonical event of a hit; a counted word stays a word (``event=word; count=3``)."""
    if hit.term.family == SPEECH:
        for unit in ("word", "sentence", "utterance"):
            if hit.text.startswith(unit):
                return unit
    if hit.term.event in _OWN_WORD:
        return re.sub(r"(?:es|s)$", "", hit.text) if hit.text not in {"bus", "buses"} else "bus"
    return hit.term.event


def _licensed(hit: TermHit, sentence: str) -> bool:
    return not hit.term.needs_sound_verb or bool(re.search(SOUND_VERBS, sentence))


def _sound_hits(clause: str, sentence: str) -> list[TermHit]:
    hits = [h for h in find_terms(clause) if _licensed(h, sentence)]
    hits = [h for h in hits if not (h.term.family == SILENCE and _QUIET_ADJECTIVE.match(clause[h.end :]))]
    specific = [h for h in hits if h.term.event not in _SOURCE_LIKE and h.term.family != SILENCE]
    if specific:  # "the sound of a dog barking", "the car honks": the bark / honk is the claim
        hits = [h for h in hits if h.term.event not in _SOURCE_LIKE]
    return hits


def _negated(clause: str, hit: TermHit) -> bool:
    before = clause[: hit.start]
    if hit.term.family == SILENCE and re.match(r"no |nothing", hit.text):
        return bool(re.search(r"\b(?:not|n't|never)\b", before))
    if mod.NEGATION.search(before):
        return True
    after = _AFTER_NEGATION.match(clause[hit.end : hit.end + 30])
    # "the engine never fades": the fading is denied, not the engine (a claim on the trend, negated)
    return bool(after) and mod.loudness_trend(clause[hit.end :]) is None


def _base(hit: TermHit, clause: str) -> dict[str, str]:
    if hit.term.family == SILENCE:
        return {"source": "scene", "event": "silence"}
    noun = source_noun(" ".join(clause[: hit.start].split()[-5:]))
    source = noun if noun and hit.term.family in {SPEECH, SINGING, SOUND} else hit.term.source
    if hit.term.family == INSTRUMENT:
        source = hit.text
    pairs = {"source": source or _event_word(hit), "event": _event_word(hit)}
    if hit.term.family == SINGING and hit.text.startswith("hum") and noun not in _PERSON_NOUNS:
        pairs = {"source": noun or "machine", "event": "hum"}
    if hit.term.family == SOUND and source == "bird" and pairs["event"] == "singing":
        pairs["event"] = "chirp"
    return pairs


def _clause_claims(clause: str, sentence: str) -> list[tuple[str, dict[str, str]]]:
    hits = _sound_hits(clause, sentence)
    out: list[tuple[str, dict[str, str]]] = []
    if not hits:
        return _level_claims(clause)
    seen: set[str] = set()
    instruments = [h for h in hits if h.term.family == INSTRUMENT]
    for position, hit in enumerate(hits):
        event = "instrument" if hit.term.family == INSTRUMENT else _event_word(hit)
        if event in seen:
            continue
        seen.add(event)
        pairs = _base(hit, clause)
        if hit.term.family == INSTRUMENT:
            pairs["instrument"] = ", ".join(dict.fromkeys(h.text for h in instruments))
        if _negated(clause, hit):
            out.append(("negated", {**pairs, "present": "no"}))
            continue
        later = hits[position + 1].start if position + 1 < len(hits) else len(clause)
        polarity = "no" if _NEGATED_AFTER.search(clause[hit.end : later]) else "yes"
        aspects = _aspects(clause, hit, first=position == 0)
        if hit.term.family == INSTRUMENT:  # the identity is one claim; what it plays (a tempo) is checkable
            aspects = {k: v for k, v in aspects.items() if k == "tempo"}
            out.append(("instrument", {**pairs, "present": polarity}))
            pairs = {k: v for k, v in pairs.items() if k != "instrument"}
        elif not aspects or aspects == {"loudness": "quiet"}:
            # "quiet music plays": the music is claimed as well as its level (quiet is no proof of sound)
            out.append(("presence", {**pairs, "present": polarity}))
        out += [(key, {**pairs, key: value, "present": polarity}) for key, value in aspects.items()]
    return out


def _level_claims(clause: str) -> list[tuple[str, dict[str, str]]]:
    """A trend said of the sound as a whole ("the volume drops", "it gets louder"): the scene's loudness."""
    if not _LEVEL_SUBJECT.search(clause):
        return []
    trend = mod.loudness_trend(clause)
    if trend is None:
        return []
    present = "no" if mod.NEGATION.search(clause) else "yes"
    return [("loudness", {"source": "scene", "event": "sound", "loudness": trend, "present": present})]


def _aspects(clause: str, hit: TermHit, *, first: bool) -> dict[str, str]:
    aspects: dict[str, str] = {}
    family = hit.term.family
    counted = mod.count(clause, hit.text)
    if counted and family != SILENCE:
        aspects["count"] = counted
    if family == SILENCE:
        cover = mod.coverage(clause)
        if cover:
            aspects["coverage"] = cover
        return aspects
    if not first:
        return aspects
    readers: tuple[tuple[str, Callable[[str], str | None]], ...] = (
        ("loudness", mod.loudness),
        ("pitch", mod.pitch),
        ("duration", mod.duration),
        ("pattern", mod.pattern),
        ("compare", mod.comparison),
        ("coverage", mod.coverage),
    )
    for key, reader in readers:
        value = reader(clause)
        if value:
            aspects[key] = value
    if family in {MUSIC, SINGING, INSTRUMENT}:
        value = mod.tempo(clause)
        if value:
            aspects["tempo"] = value
    if family in {SPEECH, SINGING}:
        voice = mod.voice(clause)
        noun = source_noun(clause)
        if voice is None and noun in CHILD_WORDS and family == SPEECH:
            voice = "child"
        if voice:
            aspects["voice"] = voice
    if family == SPEECH:
        quoted = _QUOTED.search(clause[hit.start :])
        if quoted:
            aspects["words"] = quoted.group(1) or quoted.group(2)
    if "compare" in aspects:
        aspects.pop("loudness", None)
        aspects.pop("pitch", None)
    return aspects


def _subject(hit: TermHit) -> str:
    """The phrase naming a hit in an order / overlap value (locatable words where they exist)."""
    family = hit.term.family
    if family == INSTRUMENT:
        return "music"
    if family in {SPEECH, SINGING, MUSIC, SILENCE}:
        return {SPEECH: "speech", SINGING: "singing", MUSIC: "music", SILENCE: "silence"}[family]
    event = hit.text if hit.term.event == "impact" else hit.term.event  # a snap, a thump: the word itself
    return f"{hit.term.source} {event}".strip() if hit.term.source else event


def _first_hit(text: str, sentence: str) -> TermHit | None:
    hits = _sound_hits(text, sentence)
    return hits[0] if hits else None


Relation = tuple[list[tuple[str, dict[str, str]]], str]


def _exception(sentence: str) -> Relation:
    otherwise = re.search(
        r"\b(?:otherwise|apart from (?:that|this|it)|besides (?:that|this))\b[^,;]*?"
        r"\b(silent|quiet|silence)\b",
        sentence,
    )
    if otherwise is not None:
        before = _first_hit(sentence[: otherwise.start()], sentence)
        pairs = {"source": "scene", "event": "silence", "except": _subject(before) if before else "sound"}
        return [("exception", pairs)], sentence[: otherwise.start()]
    match = mod.EXCEPTION.search(sentence)
    if match is None:
        return [], sentence
    head = sentence[: match.start()]
    quiet = re.search(r"\b(?:silent|silence|quiet|nothing|no (?:other )?(?:sound|noise)s?)\b", head)
    if quiet is None:
        return [], sentence
    excepted = _first_hit(match.group(1), sentence)
    phrase = _subject(excepted) if excepted else " ".join(re.findall(r"[a-z]+", match.group(1))[:4])
    pairs = {"source": "scene", "event": "silence", "except": phrase or "sound"}
    cover = mod.coverage(head)
    if cover:
        pairs["coverage"] = cover
    claims: list[tuple[str, dict[str, str]]] = [("exception", pairs)]
    if excepted is not None:
        claims.append(("presence", _base(excepted, match.group(1))))
    return claims, sentence[: quiet.start()]


def _gap(sentence: str) -> Relation:
    match = mod.GAP.search(sentence)
    if match is None:
        return [], sentence
    subject = _first_hit(sentence[match.end() :], sentence) or _first_hit(sentence[: match.start()], sentence)
    pairs = {"source": subject.term.source or "scene", "event": _event_word(subject)} if subject else {}
    pairs = pairs or {"source": "scene", "event": "sound"}
    pairs["gap"] = "yes"
    if re.search(r"\bno (?:pauses?|gaps?)\b|\bwithout (?:pauses?|gaps?)\b", sentence):
        pairs["gap"] = "no"
    masked = sentence[: match.start()] + " " * (match.end() - match.start()) + sentence[match.end() :]
    masked = re.sub(r"\b(?:silent|silence|quiet)\b", lambda m: " " * len(m.group(0)), masked)
    return [("gap", pairs)], masked


def _between(sentence: str) -> Relation:
    pair = re.search(r"\bbetween (?:the |its )?(?:two|both|each of the|consecutive) (\w+)", sentence)
    if pair is not None:
        subject, each = _first_hit(sentence[: pair.start()], sentence), _first_hit(pair.group(1), sentence)
        if subject is not None and each is not None:
            pairs = {**_base(subject, sentence[: pair.start()]), "between": f"{_subject(each)} and {_subject(each)}"}
            return [("between", pairs)], sentence[: pair.start()] + " " + sentence[pair.end() :]
    match = mod.BETWEEN.search(sentence)
    if match is None:
        return [], sentence
    subject = _first_hit(sentence[: match.start()], sentence)
    a, b = _first_hit(match.group(1), sentence), _first_hit(match.group(2), sentence)
    if subject is None or a is None or b is None:
        return [], sentence
    pairs = {**_base(subject, sentence[: match.start()]), "between": f"{_subject(a)} and {_subject(b)}"}
    return [("between", pairs)], sentence[: match.start()] + " " + sentence[match.end() :]


def _overlap(sentence: str) -> Relation:
    match = mod.OVERLAP.search(sentence)
    if match is None:
        return [], sentence
    left, right = sentence[: match.start()], sentence[match.end() :]
    hits_left, hits_right = _sound_hits(left, sentence), _sound_hits(right, sentence)
    if not hits_left or not hits_right:
        return [], sentence
    # "While music plays, a man speaks": the clause after the comma is the subject.
    if match.group(0) in {"while", "whilst", "during"} and not left.strip():
        parts = right.split(",", 1)
        if len(parts) == 2 and _sound_hits(parts[1], sentence):
            hits_left, hits_right = _sound_hits(parts[1], sentence), _sound_hits(parts[0], sentence)
    subject, other = hits_left[0], hits_right[0]
    if _negated(left, subject) or _subject(subject) == _subject(other):
        return [], sentence
    pairs = {**_base(subject, left), "overlap": _subject(other)}
    if re.search(r"\b(?:not|never|n't)\b[^,]*\b(?:at the same time|simultaneous|overlap)", sentence):
        pairs["present"] = "no"
        return [("overlap", pairs)], ""
    return [("overlap", pairs)], sentence  # the clauses still say that each sound is there


Scope = dict[str, str]


def _ordered_sides(sentence: str) -> tuple[list[tuple[str, dict[str, str]]], list[tuple[str, Scope]]]:
    """The order claim of ``sentence`` and its two sides, each with what a count on it is relative to.

    A count on one side of an order ("a bell rings twice before someone knocks") is of the events before
    (or after) the other side's sound, which the whole clip's events include: ``count_before`` /
    ``count_after`` name that sound, and ``other_count`` its own count when the sentence gives one.
    """
    claims, rest, sides = _order_with_sides(sentence)
    return claims, sides or [(rest, {})]


def _order(sentence: str) -> Relation:
    claims, rest, _ = _order_with_sides(sentence)
    return claims, rest


def _order_with_sides(sentence: str) -> tuple[list[tuple[str, dict[str, str]]], str, list[tuple[str, Scope]]]:
    match = _ORDER.search(sentence)
    if match is None:
        return [], sentence, []
    left, right = sentence[: match.start()], sentence[match.end() :]
    word = match.group(1)
    if not left.strip() and word == "after":  # "After the knock, a man speaks."
        parts = right.split(",", 1)
        if len(parts) != 2:
            return [], sentence, []
        left, right, word = parts[0], parts[1], "before"
    a, b = _first_hit(left, sentence), _first_hit(right, sentence)
    if a is None or b is None or a.text.lower() == b.text.lower():
        return [], sentence, []
    earlier, later = (b, a) if word == "after" else (a, b)
    words = (right, left) if word == "after" else (left, right)
    # two sounds of one canonical subject ("a cymbal ... a bass drum": both music) are named by their words
    names = (
        (earlier.text.lower(), later.text.lower())
        if _subject(a) == _subject(b)
        else (_subject(earlier), _subject(later))
    )
    pairs = {
        **_base(a, left),
        "order": f"{names[0]} before {names[1]}",
        # the sentence's own words for each side ("a gong rings out"), which the canonical subjects
        # ("bell ring") lose: the order checker reads the traits a name promises from them
        "earlier_words": " ".join(words[0].split()),
        "later_words": " ".join(words[1].split()),
    }
    if _negated(left, a):
        return [], sentence, []
    # each side's counts are relative to the other side's sound (named as in the order value)
    a_name = _count_partner(a, names[0 if earlier is a else 1])
    b_name = _count_partner(b, names[1 if earlier is a else 0])
    a_rel, b_rel = ("count_before", "count_after") if earlier is a else ("count_after", "count_before")
    sides: list[tuple[str, Scope]] = []
    for text, rel, other, other_hit, other_text in ((left, a_rel, b_name, b, right), (right, b_rel, a_name, a, left)):
        scope = {rel: other}
        told = mod.count(other_text, other_hit.text)
        if told is not None:
            scope["other_count"] = told
        sides.append((text, scope))
    return [("order", pairs)], left + " ; " + right, sides


def _count_partner(hit: TermHit, name: str) -> str:
    """The other sound a count is relative to: a struck instrument by its own word ("cymbal": a sound to
    count), not "music" (which would be located as music)."""
    struck = hit.term.family == INSTRUMENT and _STRUCK_INSTRUMENT.search(hit.text.lower())
    return hit.text.lower() if struck else name
