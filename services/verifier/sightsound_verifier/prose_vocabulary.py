"""Words of sound for the prose extractor (pure data + one matcher): which word names which sound.

Each :class:`Term` maps the surface forms of a sound word to the canonical ``event`` (and a default
``source``) written into the claim, and to a ``family`` that decides the claim's kind. Words that name
a thing that may merely be *seen* (an instrument, rain, a helicopter) are ``needs_sound_verb``: they
become claims only when the sentence also says the thing sounds (plays, is heard, roars, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Final

SPEECH, SINGING, MUSIC, INSTRUMENT, SOUND, SILENCE = "speech", "singing", "music", "instrument", "sound", "silence"


@dataclass(frozen=True)
class Term:
    event: str
    source: str
    family: str
    forms: str  # regex alternation, matched on word boundaries, case-insensitive
    needs_sound_verb: bool = False


def _t(event: str, source: str, family: str, forms: str, *, seen: bool = False) -> Term:
    return Term(event, source, family, forms, seen)


TERMS: Final[tuple[Term, ...]] = (
    # speech
    _t(
        "speech",
        "person",
        SPEECH,
        r"speak(?:s|ing)?|spoke(?:n)?|talk(?:s|ing|ed)?|say(?:s|ing)?|said|shout(?:s|ing|ed)?|yell(?:s|ing|ed)?"
        r"|whisper(?:s|ing|ed)?|narrat(?:es?|ing|ed|ion|or)|announc(?:es?|ing|ed|ement|er)|speech|speeches"
        r"|voices?|voice-over|conversation|conversing|dialog(?:ue)?|chat(?:s|ting|ter)?|lectur(?:es?|ing)"
        r"|mutter(?:s|ing)?|murmur(?:s|ing)?|utter(?:s|ance|ances)|words?|sentences?|commentary|commentator"
        r"|interview(?:s|ing)?|reads? aloud|calls? out|exclaim(?:s|ing)?|spoken|speakers?|discuss(?:es|ing|ion)"
        r"|greets?|preach(?:es|ing)?|recit(?:es?|ing)|pronounc(?:es?|ing)|counts? aloud|stammer(?:s|ing)?",
    ),
    # singing
    _t(
        "singing",
        "person",
        SINGING,
        r"sings?|singing|sang|sung|singers?|vocalists?|vocals|choir|choral|chant(?:s|ing|ed)?|hum(?:s|ming|med)?"
        r"|rap(?:s|ping|per)?|lullaby|aria|opera|serenad(?:es?|ing)|duet|karaoke|yodel(?:s|ing)?|croon(?:s|ing)?",
    ),
    # music
    _t(
        "music",
        "music",
        MUSIC,
        r"music|musical|melod(?:y|ies|ic)|tunes?|songs?|instrumental|soundtrack|orchestra(?:l)?|symphony|concert"
        r"|jazz|band|ensemble|chords?|notes?|jingle|theme music|background music|beat|beats|riff|rhythms?|grooves?"
        r"|percussion|drum (?:break|loop|pattern|groove)s?",
    ),
    # instruments (the identity needs a tagger; music presence is checkable)
    _t(
        "music",
        "",
        INSTRUMENT,
        r"guitars?|acoustic guitar|electric guitar|bass guitar|pianos?|keyboards?|violins?|violas?|cellos?"
        r"|double bass|contrabass|drums?|drumming|drummer|drum kit|flutes?|trumpets?|saxophones?|sax|clarinets?"
        r"|oboes?|bassoons?|trombones?|tubas?|french horn|organs?|harps?|banjos?|ukuleles?|accordions?|harmonicas?"
        r"|xylophones?|marimbas?|tambourines?|cymbals?|synth(?:esizer)?s?|bagpipes?|erhu|guzheng|pipa|suona|sitar"
        r"|tabla|bongos?|congas?|timpani|glockenspiel|mandolins?|lute|recorder",
        seen=True,
    ),
    # animals
    _t("bark", "dog", SOUND, r"bark(?:s|ing|ed)?|woof(?:s|ing)?|yap(?:s|ping)?|growl(?:s|ing|ed)?|howl(?:s|ing|ed)?"),
    _t("whine", "dog", SOUND, r"whin(?:es?|ing)|whimper(?:s|ing)?"),
    _t("meow", "cat", SOUND, r"meow(?:s|ing|ed)?|miaow(?:s|ing)?|purr(?:s|ing)?|hiss(?:es|ing)?"),
    _t(
        "chirp",
        "bird",
        SOUND,
        r"chirp(?:s|ing|ed)?|tweet(?:s|ing)?|birdsong|squawk(?:s|ing)?|caw(?:s|ing)?|warbl(?:es?|ing)"
        r"|trill(?:s|ing)?|cheep(?:s|ing)?|hoot(?:s|ing)?|coo(?:s|ing)?",
    ),
    _t("crow", "rooster", SOUND, r"crow(?:s|ing)|cock-a-doodle-doo"),
    _t("moo", "cow", SOUND, r"moo(?:s|ing)?|low(?:s|ing) cattle"),
    _t("neigh", "horse", SOUND, r"neigh(?:s|ing)?|whinn(?:y|ies|ying)"),
    _t("bleat", "sheep", SOUND, r"bleat(?:s|ing)?|baa(?:s|ing)?"),
    _t("quack", "duck", SOUND, r"quack(?:s|ing)?|honk(?:s|ing)? of (?:geese|a goose)"),
    _t("croak", "frog", SOUND, r"croak(?:s|ing)?|ribbit"),
    _t("roar", "", SOUND, r"roar(?:s|ing|ed)?|rumbl(?:es?|ing)"),
    _t("buzz", "", SOUND, r"buzz(?:es|ing|ed)?|buzzer|drone|droning|whirr(?:s|ing)?|whir(?:s|ring)?"),
    # vehicles and machines
    _t("engine", "engine", SOUND, r"engines?|motors?|revv?(?:s|ing|ed)?|idling"),
    _t("horn", "car", SOUND, r"horns?|honk(?:s|ing|ed)?|toot(?:s|ing)?"),
    _t("siren", "siren", SOUND, r"sirens?|wail(?:s|ing)?"),
    _t("beep", "", SOUND, r"beep(?:s|ing|ed)?|bleep(?:s|ing)?|alarms?|tones?|ding(?:s|ing)?|dings"),
    _t("ring", "bell", SOUND, r"ring(?:s|ing)?|rang|chim(?:es?|ing)|bells?|gong|clang(?:s|ing)?|jingl(?:es|ing)"),
    _t("whistle", "", SOUND, r"whistl(?:es?|ing|ed)"),
    _t(
        "vehicle",
        "vehicle",
        SOUND,
        r"traffic|cars?|trucks?|motorcycles?|trains?|airplanes?|planes?|jets?|helicopters?|vehicles?|buses|bus",
        seen=True,
    ),
    # impacts, household
    _t("knock", "door", SOUND, r"knock(?:s|ing|ed)?|rap(?:s|ping) on"),
    _t("slam", "door", SOUND, r"slam(?:s|med|ming)?"),
    _t("creak", "door", SOUND, r"creak(?:s|ing|ed)?|squeak(?:s|ing|ed)?|squeal(?:s|ing)?"),
    _t(
        "impact",
        "",
        SOUND,
        r"bang(?:s|ing|ed)?|thud(?:s|ding)?|crash(?:es|ing|ed)?|thump(?:s|ing)?|clatter(?:s|ing)?|clank(?:s|ing)?"
        r"|smash(?:es|ing)?|shatter(?:s|ing)?|pop(?:s|ping)?|snap(?:s|ping)?|crack(?:s|ing)?|click(?:s|ing|ed)?"
        r"|tap(?:s|ping)?|clink(?:s|ing)?|hammer(?:s|ing)?|stomp(?:s|ing)?",
    ),
    _t(
        "hit",
        "drum",
        SOUND,
        r"drum ?(?:hits?|strokes?|strikes?)|drums? (?:is|are|gets?|being) (?:struck|hit|beaten|tapped)"
        r"|(?:is|are|gets?|being) (?:struck|hit|beaten)|strikes? (?:of|on) (?:a|the) drum",
    ),
    _t("footsteps", "person", SOUND, r"footsteps?|footfalls?"),
    _t("clap", "person", SOUND, r"clap(?:s|ping|ped)?|applause|applaud(?:s|ing)?|cheer(?:s|ing)?"),
    _t("laugh", "person", SOUND, r"laugh(?:s|ing|ed|ter)?|giggl(?:es?|ing)|chuckl(?:es?|ing)"),
    _t(
        "cry",
        "person",
        SOUND,
        r"cr(?:y|ies|ying)|sob(?:s|bing)?|scream(?:s|ing)?|shriek(?:s|ing)?|wail of|cough(?:s|ing)?"
        r"|sneez(?:es?|ing)|sigh(?:s|ing)?|gasp(?:s|ing)?|snor(?:es?|ing)|breath(?:ing)?|groan(?:s|ing)?",
    ),
    _t("explosion", "", SOUND, r"explosions?|gunshots?|gunfire|shots?|fireworks?|blasts?"),
    _t(
        "water",
        "water",
        SOUND,
        r"splash(?:es|ing)?|drip(?:s|ping)?|trickl(?:es?|ing)|gurgl(?:es?|ing)|bubbl(?:es?|ing)|pouring"
        r"|flowing water|running water",
    ),
    _t("rustle", "", SOUND, r"rustl(?:es?|ing)|crackl(?:es?|ing)|sizzl(?:es?|ing)|crunch(?:es|ing)?|typing"),
    _t("weather", "", SOUND, r"thunder|rain(?:fall)?|wind|waves|storm", seen=True),
    _t("sound", "", SOUND, r"noises?|sounds?|audio|racket|din|commotion"),
    # silence
    _t(
        "silence",
        "scene",
        SILENCE,
        r"silent|silence|silently|hush(?:ed)?|quiet|soundless|dead air|no (?:other )?(?:sounds?|noises?|audio)"
        r"|nothing (?:else )?(?:is |can be |at all is )?(?:heard|audible)|nothing at all",
    ),
)

#: Verbs (and phrases) that say something is heard or sounds; they license ``needs_sound_verb`` terms.
SOUND_VERBS: Final = (
    r"\b(?:play(?:s|ing|ed)?|strum(?:s|ming|med)?|pluck(?:s|ing|ed)?|bow(?:s|ing|ed)|heard|hear(?:s|ing)?"
    r"|audible|sound(?:s|ing|ed)?|noise|roar(?:s|ing)?|rumbl(?:es?|ing)|honk(?:s|ing)?|pass(?:es|ing) by"
    r"|driv(?:es|ing) by|fl(?:ies|ying) overhead|whoosh(?:es|ing)?|pound(?:s|ing)|patter(?:s|ing)?"
    r"|howl(?:s|ing)|crash(?:es|ing)|blow(?:s|ing)|music|melody|tune|notes?|solo|chords?|performs?|performing)\b"
)

#: Nouns that name who or what sounds; the first one in a clause becomes the claim's ``source``.
SOURCE_NOUNS: Final = (
    "man",
    "woman",
    "child",
    "kid",
    "boy",
    "girl",
    "baby",
    "person",
    "people",
    "crowd",
    "audience",
    "narrator",
    "speaker",
    "host",
    "reporter",
    "presenter",
    "singer",
    "dog",
    "puppy",
    "cat",
    "kitten",
    "bird",
    "birds",
    "rooster",
    "cow",
    "horse",
    "sheep",
    "duck",
    "frog",
    "lion",
    "owl",
    "bee",
    "insect",
    "cricket",
    "car",
    "truck",
    "engine",
    "motorcycle",
    "train",
    "plane",
    "helicopter",
    "door",
    "phone",
    "clock",
    "bell",
    "alarm",
    "water",
    "machine",
    "robot",
)

#: Sources that say the voice belongs to a child.
CHILD_WORDS: Final = frozenset({"child", "kid", "boy", "girl", "children", "kids", "toddler", "baby"})


@dataclass(frozen=True)
class TermHit:
    term: Term
    start: int
    end: int
    text: str


@cache
def _term_regex(index: int) -> re.Pattern[str]:
    return re.compile(rf"\b(?:{TERMS[index].forms})\b", re.IGNORECASE)


def find_terms(clause: str) -> list[TermHit]:
    """Every sound word of ``clause``, in text order, overlapping hits resolved to the earliest-longest.

    >>> [(h.term.event, h.text) for h in find_terms("The dog barks while a violin is playing.")]
    [('bark', 'barks'), ('music', 'violin')]
    """
    hits: list[TermHit] = []
    for index, term in enumerate(TERMS):
        for match in _term_regex(index).finditer(clause):
            hits.append(TermHit(term, match.start(), match.end(), match.group(0)))
    hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
    kept: list[TermHit] = []
    for hit in hits:
        if kept and hit.start < kept[-1].end:
            continue
        kept.append(hit)
    return kept


def source_noun(clause: str) -> str | None:
    """The first source noun of ``clause``, lower-cased.

    >>> source_noun("Then the little dog barks twice")
    'dog'
    """
    words = re.findall(r"[a-z]+", clause.lower())
    for word in words:
        if word in SOURCE_NOUNS:
            return str(word)
    return None
