"""What a sentence says *about* a sound, as claim-language v2 values (pure): time, coverage, count,
loudness, pitch, tempo, duration, pattern, comparison, hedging and negation.

Each reader takes one clause (lower-case text) and returns the v2 ``key -> value`` pairs it found, so
the prose extractor writes the same claims a claims block would.
"""

from __future__ import annotations

import re
from typing import Final

NUMBER_WORDS: Final = {
    "one": 1,
    "a single": 1,
    "single": 1,
    "once": 1,
    "two": 2,
    "twice": 2,
    "a couple of": 2,
    "a pair of": 2,
    "pair of": 2,
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
    "fifteen": 15,
    "twenty": 20,
}
_NUM_WORDS = "|".join(sorted((re.escape(w) for w in NUMBER_WORDS), key=len, reverse=True))
_N = rf"(?:\d+(?:\.\d+)?|{_NUM_WORDS})"
_BOUNDS: Final = (
    (r"more than|over|above|upwards of", ">"),
    (r"at least|no fewer than|no less than", ">="),
    (r"fewer than|less than|under|below", "<"),
    (r"at most|no more than|up to", "<="),
)
_BOUND_RE = "|".join(words for words, _ in _BOUNDS)
ORDINALS: Final = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "last": -1,
    "final": -1,
    "penultimate": -2,
}
_ORD = "|".join(ORDINALS)

HEDGES = re.compile(
    r"\b(?:might|may|perhaps|probably|possibly|could|likely|presumably|maybe|seems?|appears?|suggests?"
    r"|would|i think|i guess|implies|assume|expected)\b"
)
NEGATION = re.compile(
    r"\b(?:no|not|never|without|nobody|none|neither|nor|absent|absence|lacks?|lacking|free of|cannot)\b"
    r"|n't\b|\bno(?:-| )one\b"
)
EXCEPTION = re.compile(r"\b(?:except(?: for)?|apart from|other than|aside from|save for|but for|besides|only)\s+(.+)")
GAP = re.compile(
    r"\b(?:pauses?|gaps?|silences?|silent (?:pauses?|gaps?|intervals?|moments?)|breaks?|quiet (?:pauses?|gaps?))"
    r"\s+(?:between|after|separat\w*)|\bseparated by (?:silence|pauses?|gaps?)|\bwith (?:pauses|gaps) in between"
)
OVERLAP = re.compile(
    r"\b(?:at the same time(?: as)?|simultaneous(?:ly)?|while|whilst|over(?= (?:the |some |a )?(?:music|speech|"
    r"talking|singing|noise|sound))|alongside|together with|along with|accompanied by|on top of|overlap\w*"
    r"|during)\b"
)
BETWEEN = re.compile(r"\bbetween (?:the |a |an )?(.+?) and (?:the |a |an )?(.+?)(?:$|,)")


def number(text: str) -> float | None:
    """``"3"`` or ``"three"`` -> 3.0."""
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    return float(NUMBER_WORDS[text]) if text in NUMBER_WORDS else None


def _fmt(value: float) -> str:
    return f"{value:g}"


def _bound(words: str | None) -> str:
    if not words:
        return ""
    for alternatives, op in _BOUNDS:
        if re.fullmatch(alternatives, words):
            return op
    return ""


def window(clause: str) -> str | None:
    """The part of the clip a clause speaks of, as a v2 ``window`` value.

    >>> [window(c) for c in ("in the final two seconds", "midway through", "at the very start", "a dog")]
    ['final 2s', 'middle', 'start', None]
    """
    match = re.search(rf"\b(?:in|during|for|over|within) the (first|last|final|opening|closing) ({_N}) sec", clause)
    if match:
        side = {"opening": "first", "closing": "last"}.get(match.group(1), match.group(1))
        seconds = number(match.group(2))
        if seconds is not None:
            return f"{side} {_fmt(seconds)}s"
    match = re.search(rf"\b(?:between|from) ({_N}) (?:s |sec\w* )?(?:and|to) ({_N}) ?(?:s|secs?|seconds?)\b", clause)
    if match:
        a, b = number(match.group(1)), number(match.group(2))
        if a is not None and b is not None and b > a:
            return f"{_fmt(a)}-{_fmt(b)}s"
    match = re.search(rf"\bafter (?:about )?({_N}) seconds?", clause)
    if match:
        a = number(match.group(1))
        if a is not None:
            return f"{_fmt(a)}-{_fmt(a + 3600)}s"
    if re.search(
        r"\b(?:at|in|near|towards?) the (?:very )?(?:start|beginning|outset|opening)\b|\binitially\b|\bat first\b"
        r"|\b(?:opens|starts|begins) with\b|\bin the (?:first|opening) (?:moments?|part|seconds)\b",
        clause,
    ):
        return "start"
    if re.search(r"\b(?:midway|halfway)\b|\bin the middle\b", clause):
        return "middle"
    if re.search(
        r"\b(?:at|near|towards?) the (?:very )?end\b|\b(?:ends|finishes|closes) with\b"
        r"|\bin the (?:final|last|closing) (?:moments?|part|seconds)\b|\bat the close\b",
        clause,
    ):
        return "end"
    return None


def coverage(clause: str) -> str | None:
    """``whole`` / ``most`` / ``part`` / ``brief`` from "throughout", "mostly", "occasionally", "briefly"."""
    if re.search(
        r"\bthroughout\b|\b(?:for |during |over )?the (?:whole|entire|full) (?:clip|video|recording|time|duration"
        r"|audio|thing)\b|\bcontinuous(?:ly)?\b|\bconstant(?:ly)?\b|\ball along\b|\bnon-?stop\b|\bthe whole time\b",
        clause,
    ):
        return "whole"
    if re.search(
        r"\bmost(?:ly| of the (?:clip|time|video|recording|audio))\b|\blargely\b|\bfor the most part\b", clause
    ):
        return "most"
    if re.search(r"\bbrief(?:ly)?\b|\bfor a (?:moment|second|split second)\b|\bmomentar(?:y|ily)\b", clause):
        return "brief"
    if re.search(r"\b(?:occasional(?:ly)?|intermittent(?:ly)?|at times|now and then|sporadic(?:ally)?)\b", clause):
        return "part"
    return None


#: Words of an estimate ("about four knocks"): kept as ``about N``, never an exact count.
_APPROX = r"about|around|roughly|approximately|some|nearly|almost|close to"
#: Nouns that may stand between a number and the sound they qualify ("two finger snaps", "three door
#: knocks"); a plural noun there is what is counted ("two dogs bark": two dogs), so it is not one of them.
_NOUN_MODIFIERS = (
    r"(?:finger|door|cymbal|drum|bass drum|snare|kick|bell|hand|knuckle|car|phone|dog|bird|crow|alarm|gong|glass"
    r"|metal|wood(?:en)?|doorbell|clock|timer|horn|chime|church|bike|bicycle|hammer|whistle|tambourine|cowbell"
    r"|drumstick|stick|clap|piano|guitar|wind|dinner|sleigh)"
)


def count(clause: str, term_text: str) -> str | None:
    """How many times the sound named by ``term_text`` occurs, as a v2 ``count`` value.

    >>> count("the dog barks exactly four times", "barks"), count("three loud knocks", "knocks")
    ('4', '3')
    >>> count("it barks more than five times", "barks"), count("several knocks", "knocks")
    ('>5', '>=3')
    """
    term = re.escape(term_text)
    match = re.search(
        rf"\b(?:({_APPROX}|exactly|{_BOUND_RE}) )?({_N}) (?:(?:separate|distinct|loud|short|quick|sharp"
        rf"|soft|brief|faint|single|more|consecutive|rapid|\w+-\w+) )*(?:{_NOUN_MODIFIERS} )?{term}",
        clause,
    )
    if match is None:
        match = re.search(
            rf"{term}\b.{{0,40}}?\b(?:({_APPROX}|exactly|{_BOUND_RE}) )?({_N}|once|twice|thrice)"
            rf"(?: times)?\b",
            clause,
        )
        if match is not None and match.group(2) not in {"once", "twice", "thrice"} and "time" not in match.group(0):
            match = None
    if match is not None:
        value = number(match.group(2))
        if value is not None and value == int(value) and value > 0:
            if match.group(1) and re.fullmatch(_APPROX, match.group(1)):
                return f"about {int(value)}"  # an estimate: the count checker allows it more slack
            return f"{_bound(match.group(1))}{int(value)}"
    if re.search(rf"\b(?:several|many|numerous) (?:\w+ )?{term}|{term}\b.{{0,20}}\b(?:several|many) times", clause):
        return ">=3"
    if re.search(rf"\b(?:multiple|repeated(?:ly)?|a few) (?:\w+ )?{term}|{term}\b.{{0,20}}\brepeatedly", clause):
        return ">=2"
    return None


_BY = r"(?:(?:much|a lot|a bit|a little|slightly|even|far|ever|increasingly|progressively|noticeably|\w+ly)\s+)*"
_CHANGES = r"(?:gets?|getting|got|grows?|growing|grew|becomes?|becoming|became|turns?|turning|goes|going|is getting)"
_VOLUME = r"(?:volume|loudness|level|intensity)"
_OF = r"(?:'s|s'| of (?:the |a |an |its |their )?[a-z]+(?: [a-z]+)?)?"
_DENIED = r"(?:(?:does not|doesn't|did not|didn't|never|will not|won't) )?"
_RISING: Final = re.compile(
    rf"\b{_CHANGES}\s+{_BY}(?:louder|stronger|more intense|more powerful)\b|\blouder and louder\b|\bcrescendo\b"
    r"|\bswell(?:s|ing|ed)?\b(?! (?:of|in the)\b)|\bbuil(?:ds?|ding|t) (?:up|to|in (?:volume|intensity|loudness))\b"
    r"|\bintensif(?:y|ies|ying|ied)\b|\bramps? up\b|\bramping up\b"
    rf"|\b(?:increas|ris|grow|gain|build|swell)\w* in {_VOLUME}\b"
    rf"|\b{_VOLUME}{_OF} {_DENIED}(?:\w+ly )?(?:increase|rise|grow|build|swell|climb|go(?:es)? up|picks? up|ramps? up"
    r"|gets? higher)s?\b"
    r"|\b(?:is|are|gets?|being) turned up\b|\bturns? up the volume\b|\bfad(?:es?|ing|ed) in\b"
    r"|\b(?:each|every)\b.{0,40}\blouder than the (?:one before|previous(?: one)?|last(?: one)?|one preceding it)\b",
)
_FALLING: Final = re.compile(
    rf"\b{_CHANGES}\s+{_BY}(?:quieter|softer|fainter|weaker|dimmer|less loud)\b"
    r"|\bfad(?:es?|ing|ed)\b(?! in\b)|\bd(?:ies?|ying|ied) (?:down|away|out|off)\b|\bdecrescendo\b|\bdiminuendo\b"
    r"|\b(?:tapers?|tapering|tapered|trails?|trailing|trailed) off\b|\bpeters? out\b|\bsubsid(?:es?|ing|ed)\b"
    r"|\bquiet(?:s|ens?|ed|ing)? down\b|\b(?:ebbs?|ebbing) away\b"
    rf"|\b(?:decreas|diminish|drop|fall|declin|dropp)\w* in {_VOLUME}\b"
    rf"|\b{_VOLUME}{_OF} {_DENIED}(?:\w+ly )?(?:decrease|drop|fall|diminishe|decline|dip|go(?:es)? down|sink|lower)s?\b"
    r"|\b(?:is|are|gets?|being) turned down\b|\bturns? down the volume\b"
    r"|\b(?:quieter and quieter|softer and softer|fainter and fainter|weaker and weaker)\b"
    r"|\b(?:each|every)\b.{0,40}\b(?:quieter|softer|fainter|weaker) than the "
    r"(?:one before|previous(?: one)?|last(?: one)?|one preceding it)\b",
)
_STEADY: Final = re.compile(
    rf"\b(?:steady|constant|even|unchanging|unchanged|stable|consistent|same|uniform|flat|fixed) {_VOLUME}\b"
    rf"|\b{_VOLUME}{_OF} (?:stays|remains|is|keeps|holds|stay|remain)(?: \w+)? (?:the same|constant|steady|unchanged"
    r"|even|level|flat|stable|consistent)\b|\b(?:equally|just as|uniformly) loud\b|\bsame loudness\b",
)
#: Phrases that say a level does not change with a negation inside ("the volume does not change"), or a
#: change as two levels ("starts quietly and ends loud"), rewritten before the clause is read, so that
#: neither the negation nor the word "quiet" is read on its own.
_REWRITES: Final = (
    (
        re.compile(
            rf"\b({_VOLUME}{_OF}) (?:does not|doesn't|did not|didn't|never|will not|won't) (?:really )?"
            r"(?:change|vary|fluctuate|waver)s?\b"
        ),
        r"\1 stays the same",
    ),
    (
        re.compile(rf"\b(?:does not|doesn't|did not|didn't|never) (?:change|vary|vari|fluctuate)\w* in {_VOLUME}\b"),
        "stays at the same volume",
    ),
    (re.compile(rf"\bno (?:change|variation) in {_VOLUME}\b"), "a steady volume"),
    (
        re.compile(
            r"\bneither (?:gets |grows |becomes )?(?:louder|rises|swells) nor (?:gets |grows |becomes )?"
            rf"(?:quieter|softer|falls|fades)(?: in {_VOLUME})?"
        ),
        "stays at the same volume",
    ),
    (
        re.compile(r"\bwithout (?:getting|growing|becoming) (?:louder|quieter|softer) or (?:louder|quieter|softer)\b"),
        "at the same volume",
    ),
    (
        re.compile(
            r"\b(?:starts?|begins?|opens?)(?: off| out)? (?:very )?(?:quiet(?:ly)?|soft(?:ly)?|faint(?:ly)?)\b,? and "
            r"(?:then )?"
            r"(?:ends|finishes|becomes|grows|gets|turns|builds)(?: up)?(?: \w+)? (?:loud|louder|loudly)\b"
            r"|\bfrom (?:quiet|soft|faint) to loud\b"
        ),
        "grows louder",
    ),
    (
        re.compile(
            r"\b(?:starts?|begins?|opens?)(?: off| out)? (?:very )?loud(?:ly)?\b,? and (?:then )?"
            r"(?:ends|finishes|becomes|grows|gets|turns)(?: \w+)? "
            r"(?:quiet(?:ly)?|soft(?:ly)?|faint(?:ly)?|quieter|softer)\b"
            r"|\bfrom loud to (?:quiet|soft|faint)\b"
        ),
        "grows quieter",
    ),
)


def plain_levels(sentence: str) -> str:
    """``sentence`` with level phrases that hold a negation or the word "quiet" said plainly.

    >>> plain_levels("the volume of the hum does not change"), plain_levels("it starts quietly and ends loud")
    ('the volume of the hum stays the same', 'it grows louder')
    """
    for pattern, plain in _REWRITES:
        sentence = pattern.sub(plain, sentence)
    return sentence


def loudness_trend(clause: str) -> str | None:
    """``rising`` / ``falling`` / ``steady`` when the clause says one trend (none when it says two).

    >>> [loudness_trend(c) for c in ("the music swells", "it dies away", "the hum stays at the same level")]
    ['rising', 'falling', 'steady']
    >>> loudness_trend("the music fades in and out") is None
    True
    """
    if re.search(r"\bfad(?:es?|ing|ed) in and out\b", clause):
        return None
    found = [
        name
        for name, pattern in (("rising", _RISING), ("falling", _FALLING), ("steady", _STEADY))
        if pattern.search(clause)
    ]
    return found[0] if len(found) == 1 else None


def loudness(clause: str) -> str | None:
    """``rising`` / ``falling`` / ``steady`` / ``loud`` / ``quiet`` from the clause's loudness words."""
    if re.search(r"\bfad(?:es?|ing|ed) in and out\b", clause):
        return None
    trend = loudness_trend(clause)
    if trend is not None:
        return trend
    if sum(bool(p.search(clause)) for p in (_RISING, _FALLING, _STEADY)) > 1:
        return None  # "swells and fades": no one trend
    if re.search(r"\b(?:very |extremely )?loud(?:ly)?\b|\bdeafening\b|\bblaring\b", clause):
        return "loud"
    if re.search(r"\b(?:faint(?:ly)?|soft(?:ly)?|quiet(?:ly)?|muffled|barely audible)\b", clause):
        return "quiet"
    return None


_PITCH_DIRECTIONS: Final = (
    ("rising", r"rises?|rising|go(?:es|ing)? (?:\w+ )?up|climbs?|climbing|increases?|ascends?|ascending", "higher"),
    ("falling", r"falls?|falling|drops?|dropping|go(?:es|ing)? (?:\w+ )?down|decreases?|descends?|descending", "lower"),
)
_PITCHED = r"(?:pitch|tone|note|notes|melody|voice|frequency)"
_CHANGE = r"(?:gets?|getting|grows?|growing|becomes?|becoming|go(?:es)?|going|steps?)"
_LEVEL = r"(?:voice|tone|pitch|note|sound)s? (?:is|are|sounds?|seems?|feels?)\s+(?:to be\s+)?(?:(?:fairly|quite|very"
_LEVEL += r"|rather|pretty|relatively|somewhat)\s+)?"


def pitch(clause: str) -> str | None:
    """Pitch register, direction, or a frequency with an optional bound (``<200Hz``).

    >>> [pitch(c) for c in ("the beeps rise in pitch", "each seems lower than the one before", "a fairly high voice")]
    ['rising', 'falling', 'high']
    """
    match = re.search(rf"\b(?:(about|around|{_BOUND_RE}) )?(\d+(?:\.\d+)?) ?(k?hz)\b", clause)
    if match:
        return f"{_bound(match.group(1))}{match.group(2)}{'kHz' if match.group(3) == 'khz' else 'Hz'}"
    for direction, verbs, more in _PITCH_DIRECTIONS:
        adjective = "rising|ascending" if direction == "rising" else "falling|descending"
        if re.search(
            rf"\b{_PITCHED} (?:\w+ )?(?:{verbs})\b|\b(?:{verbs}) (?:\w+ )?in pitch\b"
            rf"|\b(?:{adjective}) (?:pitch|tone|notes?)\b|\b{more} and {more}\b|\b{more} (?:each|every) time\b"
            rf"|\b{_CHANGE} (?:\w+ )?{more}\b(?! than)"
            rf"|\b{more}(?:[- ]pitched)? than the (?:(?:one|note|tone|sound)s? (?:before|earlier)"
            r"|(?:previous|last) one)\b",
            clause,
        ):
            return direction
    if re.search(
        r"\b(?:same|constant|steady|unchanging|unchanged|one|single|identical|fixed) (?:pitch|note|tone)\b"
        r"|\bpitch (?:stays|remains|is) (?:the same|constant|steady|unchanged)\b",
        clause,
    ):
        return "steady"
    if re.search(
        rf"\bhigh[- ]pitched\b|\bshrill\b|\bsqueaky\b|\bhigh (?:pitch|note|tone|voice)|\b{_LEVEL}high\b"
        r"|\b(?:fairly|quite|very|rather) high (?:voice|pitch)",
        clause,
    ):
        return "high"
    if re.search(
        rf"\blow[- ]pitched\b|\bdeep (?:voice|tone|sound|rumble|hum)|\blow (?:pitch|note|tone|voice)"
        rf"|\b{_LEVEL}(?:low|deep)\b",
        clause,
    ):
        return "low"
    return None


_PACE = r"(?:tempo|pace|rhythm|beat|groove|music) (?:is|seems|sounds|feels)(?: to be)? (?:(?:quite|very|rather|pretty"
_PACE += r"|fairly) )?"


def tempo(clause: str) -> str | None:
    match = re.search(
        rf"\b(?:(about|around|roughly|approximately|nearly|close to|{_BOUND_RE}) )?(\d+(?:\.\d+)?) ?"
        r"(?:bpm|beats (?:per|a|each) minute)\b",
        clause,
    )
    if match:
        return f"{_bound(match.group(1))}{match.group(2)}bpm"
    if re.search(
        r"\b(?:fast|rapid|quick|upbeat|brisk|lively|energetic)\b[- ]?(?:\w+ )?(?:tempo|pace|rhythm|beat|music"
        rf"|melody|song|tune)\b|\b{_PACE}(?:fast|quick|rapid|brisk|upbeat)\b",
        clause,
    ):
        return "fast"
    if re.search(
        r"\b(?:slow|leisurely|languid)\b[- ]?(?:\w+ )?(?:tempo|pace|rhythm|beat|music|melody|song|tune)\b"
        rf"|\b{_PACE}(?:slow|relaxed|leisurely)\b",
        clause,
    ):
        return "slow"
    return None


def duration(clause: str) -> str | None:
    """``lasts about 2 seconds`` -> ``2s``; ``for less than two seconds`` -> ``<2s``."""
    match = re.search(
        rf"\b(?:lasts?|lasting|for|long|continues for|goes on for)\s+(?:(about|around|roughly|{_BOUND_RE}) )?({_N})"
        r" ?(?:s|secs?|seconds?)\b",
        clause,
    )
    if match is None:
        return None
    value = number(match.group(2))
    return None if value is None else f"{_bound(match.group(1))}{_fmt(value)}s"


def pattern(clause: str) -> str | None:
    match = re.search(rf"\bgroups? of ({_N})\b|\bsets? of ({_N})\b", clause)
    if match:
        value = number(match.group(1) or match.group(2))
        if value is not None:
            return f"groups of {int(value)}"
    if re.search(r"\bin (?:pairs|twos)\b|\bdouble knocks?\b", clause):
        return "groups of 2"
    if re.search(r"\bin (?:threes|triplets)\b", clause):
        return "groups of 3"
    if re.search(r"\balternat(?:es?|ing|ely)\b", clause):
        return "alternating"
    if re.search(r"\b(?:evenly|regularly) spaced\b|\bat (?:regular|even|steady) intervals\b|\bsteady rhythm\b", clause):
        return "regular"
    if re.search(r"\birregular(?:ly)?\b|\bunevenly\b|\bat random\b", clause):
        return "irregular"
    if re.search(r"\b(?:speeds? up|accelerat\w+)\b", clause):
        return "accelerating"
    if re.search(r"\bslows? down\b|\bdecelerat\w+\b", clause):
        return "slowing"
    return None


def comparison(clause: str) -> str | None:
    """Two events of one source compared by ordinal, as a v2 ``compare`` value.

    >>> comparison("the first knock is louder than the last")
    'first louder than last'
    >>> comparison("the second note is higher")
    'second higher than first'
    """
    match = re.search(
        rf"\b({_ORD}) (?:\w+ )?(?:is|was|sounds|seems|are)? ?(?:much |slightly |a bit |noticeably )?"
        rf"(louder|quieter|softer|higher|lower|longer|shorter)(?:[- ]pitched)?\b(?: than (?:the )?({_ORD}))?",
        clause,
    )
    if match is None:
        return None
    first, relation, second = match.group(1), match.group(2), match.group(3)
    if second is None:
        second = "second" if first == "first" else "first"
    if first == "final":
        first = "last"
    if second == "final":
        second = "last"
    return None if first == second else f"{first} {relation} than {second}"


def voice(clause: str) -> str | None:
    """Voice attributes a checker can use: child, robotic, male, female."""
    if re.search(
        r"\b(?:robot(?:ic)?|synthe(?:tic|sized)|computer(?:-generated|ized)?|text-to-speech|mechanical"
        r"|machine) voice\b|\bvoice (?:is|sounds) (?:robotic|synthetic|mechanical)\b|\brobotic\b",
        clause,
    ):
        return "robotic"
    if re.search(
        r"\b(?:child|kid|boy|girl|toddler)(?:'s|ren's)? (?:voice|speaks|talks|says|sings|singing|speaking"
        r"|talking|is speaking|is talking|is singing)\b|\bchildren (?:speak|talk|sing)",
        clause,
    ):
        return "child"
    if re.search(r"\b(?:male|man's|masculine) voice\b", clause):
        return "male"
    if re.search(r"\b(?:female|woman's|feminine) voice\b", clause):
        return "female"
    return None
