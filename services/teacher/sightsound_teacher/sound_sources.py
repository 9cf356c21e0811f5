"""What the embedded teacher's view supports claiming: ImageNet labels -> sound sources -> claim lines.

The embedded teacher sees frames only through an ImageNet tagger. This small table says which labels
imply which sound (a dog breed: a dog barks; a violin: violin music; a missile: a loud roar; a wall
clock: regular ticks; clothing or a microphone: a person speaks), and :func:`view_claims` turns a clip's
tags into claim lines of the claim language (:mod:`sightsound.contracts.claim_language`) plus the same
claims as natural sentences for the reasoning. No sound source in view and a still scene: a silence
claim. Guesses from pictures, by design: the verifier checks every one against the audio. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from sightsound_teacher.tagger import Tag


@dataclass(frozen=True)
class SoundSource:
    """A sound a label implies: the claim line's pairs and the sentence that says it."""

    source: str
    event: str
    sentence: str  # "a dog barks"
    extra: str = ""  # further pairs of the claim line, e.g. "instrument=violin"
    second: str = ""  # an optional second claim line about the same source (e.g. its loudness)


#: ImageNet class index ranges of whole groups (timm's class order).
_GROUPS: tuple[tuple[range, SoundSource], ...] = (
    (range(7, 25), SoundSource("bird", "chirp", "a bird calls")),
    (range(80, 101), SoundSource("bird", "chirp", "a bird calls")),
    (range(127, 147), SoundSource("bird", "chirp", "a bird calls")),
    (range(30, 33), SoundSource("frog", "croak", "a frog croaks")),
    (range(151, 269), SoundSource("dog", "bark", "a dog barks")),
    (range(269, 273), SoundSource("wolf", "howl", "a wolf howls")),
    (range(281, 286), SoundSource("cat", "meow", "a cat meows")),
    (range(286, 294), SoundSource("big cat", "roar", "a big cat roars")),
)

_ENGINE = SoundSource(
    "vehicle", "engine", "a vehicle's engine runs", second="source=vehicle; event=engine; loudness=steady"
)
_TRAIN = SoundSource("train", "rumble", "a train rumbles past", second="source=train; event=rumble; loudness=loud")
_AIRCRAFT = SoundSource(
    "aircraft", "engine", "an aircraft engine roars", second="source=aircraft; event=engine; loudness=loud"
)
_ROCKET = SoundSource("rocket", "roar", "a rocket roars", second="source=rocket; event=roar; loudness=loud")
_PERSON = SoundSource("person", "speech", "a person speaks")
_CLOCK = SoundSource("clock", "tick", "a clock ticks", second="source=clock; event=tick; pattern=regular")


def _instrument(name: str) -> SoundSource:
    return SoundSource("music", "music", f"{name} music plays", extra=f"instrument={name}")


#: Single labels (ImageNet lemmas, as :mod:`sightsound_teacher.imagenet_labels` names them).
_LABELS: dict[str, SoundSource] = {
    # instruments
    **{
        label: _instrument(name)
        for label, name in {
            "accordion": "accordion", "acoustic guitar": "guitar", "electric guitar": "electric guitar",
            "banjo": "banjo", "bassoon": "bassoon", "cello": "cello", "chime": "chimes", "cornet": "cornet",
            "drum": "drums", "drumstick": "drums", "flute": "flute", "French horn": "french horn", "gong": "gong",
            "grand piano": "piano", "upright": "piano", "harmonica": "harmonica", "harp": "harp",
            "maraca": "maracas", "marimba": "marimba", "oboe": "oboe", "ocarina": "ocarina", "organ": "organ",
            "panpipe": "panpipe", "sax": "saxophone", "steel drum": "steel drum", "trombone": "trombone",
            "violin": "violin",
        }.items()
    },
    # people (ImageNet has no "person": people show through their clothes and what they hold)
    **dict.fromkeys(
        (
            "microphone", "groom", "ballplayer", "scuba diver", "suit", "jersey", "sweatshirt", "cardigan",
            "lab coat", "academic gown", "military uniform", "wig", "bow tie", "Windsor tie", "football helmet",
            "mortarboard", "kimono", "abaya", "cowboy hat", "sunglasses", "sunglass", "cellular telephone",
            "dial telephone", "pay-phone",
        ),
        _PERSON,
    ),
    # vehicles
    **dict.fromkeys(
        (
            "sports car", "convertible", "cab", "jeep", "minivan", "limousine", "police van", "ambulance",
            "fire engine", "garbage truck", "pickup", "tow truck", "trailer truck", "moving van", "school bus",
            "trolleybus", "minibus", "motor scooter", "moped", "racer", "go-kart", "tractor", "snowmobile",
            "forklift", "half track", "tank", "beach wagon", "amphibian", "speedboat", "fireboat", "lawn mower",
            "chain saw",
        ),
        _ENGINE,
    ),
    **dict.fromkeys(
        ("steam locomotive", "electric locomotive", "passenger car", "freight car", "bullet train", "streetcar"),
        _TRAIN,
    ),
    **dict.fromkeys(("airliner", "warplane", "airship"), _AIRCRAFT),
    **dict.fromkeys(("missile", "projectile", "space shuttle"), _ROCKET),
    **dict.fromkeys(("wall clock", "analog clock"), _CLOCK),
    "digital clock": SoundSource("alarm clock", "beep", "an alarm clock beeps"),
    "tripod": SoundSource("camera", "click", "a camera shutter clicks"),
    "reflex camera": SoundSource("camera", "click", "a camera shutter clicks"),
    "espresso maker": SoundSource("espresso machine", "hiss", "an espresso machine hisses"),
    "vacuum": SoundSource("vacuum cleaner", "whir", "a vacuum cleaner whirs"),
    "hand blower": SoundSource("hand dryer", "whir", "a hand dryer whirs"),
    "power drill": SoundSource("drill", "whir", "a drill whirs"),
    "sorrel": SoundSource("horse", "neigh", "a horse neighs"),
    "hog": SoundSource("pig", "oink", "a pig grunts"),
    "ox": SoundSource("cow", "moo", "a cow moos"),
    "ram": SoundSource("sheep", "bleat", "a sheep bleats"),
    "sea lion": SoundSource("sea lion", "bark", "a sea lion barks"),
    "Indian elephant": SoundSource("elephant", "trumpet", "an elephant trumpets"),
    "African elephant": SoundSource("elephant", "trumpet", "an elephant trumpets"),
    "cricket": SoundSource("cricket", "chirp", "crickets chirp"),
    "bee": SoundSource("bee", "buzz", "a bee buzzes"),
    "fly": SoundSource("fly", "buzz", "a fly buzzes"),
    "fountain": SoundSource("water", "splash", "water splashes"),
    "seashore": SoundSource("waves", "crash", "waves crash"),
    "church": SoundSource("bell", "ring", "a bell rings"),
    "bell cote": SoundSource("bell", "ring", "a bell rings"),
}

#: Mean tagger probability (over frames) from which a label counts; below CONFIDENT the claim is hedged.
MIN_PROBABILITY = 0.04
CONFIDENT = 0.15
#: Most sources claimed per clip.
MAX_SOURCES = 3
SILENCE_LINE = "source=scene; event=silence; present=yes"
SILENCE_SENTENCE = "nothing in view makes a sound and the scene is still, so the clip is silent"


@lru_cache(maxsize=1)
def _by_label() -> dict[str, SoundSource]:
    from sightsound_teacher.imagenet_labels import imagenet_labels

    labels = imagenet_labels()
    table = {labels[i]: source for indices, source in _GROUPS for i in indices}
    return table | _LABELS


def source_for(label: str) -> SoundSource | None:
    """The sound an ImageNet label implies, if any.

    >>> source_for("violin").extra, source_for("cup") is None
    ('instrument=violin', True)
    """
    return _LABELS.get(label) or _by_label().get(label)


@dataclass(frozen=True)
class ViewClaims:
    """Claim lines (claims block) and the same claims as sentences (reasoning)."""

    lines: tuple[str, ...]
    sentences: tuple[str, ...]

    def prose(self) -> str:
        """The sentences as the opening of the reasoning.

        >>> ViewClaims(("x=1",), ("a dog barks", "a cat meows")).prose()
        'From what the frames show, I expect that a dog barks, and that a cat meows. '
        """
        return "From what the frames show, I expect that " + ", and that ".join(self.sentences) + ". "


def mean_probabilities(frame_tags: Sequence[Sequence[Tag]]) -> list[tuple[str, float]]:
    """Each label's mean probability over the frames (0 where a frame lacks it), most probable first."""
    totals: dict[str, float] = {}
    for row in frame_tags:
        for tag in row:
            totals[tag.label] = totals.get(tag.label, 0.0) + tag.probability
    n = max(1, len(frame_tags))
    return sorted(((label, total / n) for label, total in totals.items()), key=lambda item: (-item[1], item[0]))


def still(frame_tags: Sequence[Sequence[Tag]]) -> bool:
    """Whether every frame has the same most probable label (the view does not change)."""
    tops = {row[0].label for row in frame_tags if row}
    return len(tops) <= 1


def view_claims(frame_tags: Sequence[Sequence[Tag]]) -> ViewClaims:
    """The claims the tags support: one line per sound source in view (up to :data:`MAX_SOURCES`, plus a
    second line where the source implies a loudness or a pattern), each hedged when the tag is weak; with no
    source in view, a silence claim (hedged unless the view is still).

    >>> from sightsound_teacher.tagger import Tag
    >>> view_claims([[Tag("violin", 0.8), Tag("cup", 0.1)], [Tag("violin", 0.6), Tag("tabby", 0.3)]]).lines
    ('source=music; event=music; instrument=violin; present=yes', 'source=cat; event=meow; present=yes')
    >>> view_claims([[Tag("cup", 0.9)], [Tag("cup", 0.8)]]).lines
    ('source=scene; event=silence; present=yes',)
    """
    lines: list[str] = []
    sentences: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for label, probability in mean_probabilities(frame_tags):
        source = source_for(label)
        if source is None or probability < MIN_PROBABILITY or len(seen) >= MAX_SOURCES:
            continue
        key = (source.source, source.event, source.extra)
        if key in seen:
            continue
        seen.add(key)
        hedged = probability < CONFIDENT
        pairs = [f"source={source.source}", f"event={source.event}", *([source.extra] if source.extra else [])]
        pairs.append("hedged=yes" if hedged else "present=yes")
        lines.append("; ".join(pairs))
        if source.second:
            lines.append(source.second + ("; hedged=yes" if hedged else ""))
        sentences.append(f"{'perhaps ' if hedged else ''}{source.sentence} ({label})")
    if not lines:
        lines.append(SILENCE_LINE if still(frame_tags) else SILENCE_LINE + "; hedged=yes")
        sentences.append(SILENCE_SENTENCE if still(frame_tags) else "perhaps " + SILENCE_SENTENCE)
    return ViewClaims(tuple(lines), tuple(sentences))
