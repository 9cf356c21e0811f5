"""Recipes of the synthetic set: what each clip plays and shows, and its question (pure: nothing is rendered).

A :class:`Recipe` holds lazy audio (an :class:`~sightsound_devdata.clipgen.AudioSpec`), the photo shown, a
question whose right answer is known from how the audio is built, and three wrong answers. Each
category has one recipe function ``(k, rng) -> Recipe``: ``k`` is the item's index within its category
(it walks the pools, so items of one category differ), ``rng`` draws the details.

The picture helps only where that is natural: a ``sound_source`` clip may show the source (a clock
with the alarm, a camera with the shutter), show a decoy whose sound is among the wrong answers (a cat
while a phone rings), or show a texture. In the other categories the picture cannot tell the answer
(how many hits, louder or quieter, which word), so only the audio can: ``picture_gives_answer`` says
which is which, so that evaluations can be split by it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sightsound_devdata.clipgen import AudioSpec, Concat, Mix, Noise, Silence, Speech
from sightsound_devdata.photos import NEUTRAL_PHOTOS, PHOTOS
from sightsound_devdata.sounds import LevelRamp, Recorded

VOICES = ("en-us", "en", "en-us+f3", "en+m3")


@dataclass(frozen=True)
class Recipe:
    category: str
    question: str
    answer: str
    distractors: tuple[str, str, str]
    audio: AudioSpec
    photo: str
    sounds: tuple[str, ...]  # recorded sounds (``library:name``) and ``espeak-ng:<voice>``
    picture_gives_answer: bool
    min_duration_s: float = 3.0
    #: Shuffle the choices per item; False keeps ``answer, *distractors`` in one fixed order per category.
    shuffle: bool = True
    #: The choices in their fixed order (``shuffle=False``), the answer among them.
    fixed_choices: tuple[str, ...] = ()
    #: Items of one category with the same stratum are spread evenly over the splits (see ``assign_splits``).
    stratum: str = ""


def _pick(rng: np.random.Generator, options: Sequence[str], exclude: Sequence[str] = (), n: int = 1) -> list[str]:
    pool = [o for o in options if o not in exclude]
    return [pool[int(i)] for i in rng.choice(len(pool), size=n, replace=False)]


def _three(
    rng: np.random.Generator, options: Sequence[str], answer: str, keep: Sequence[str] = ()
) -> tuple[str, str, str]:
    """Three wrong answers: those in ``keep`` first, the rest drawn from ``options``."""
    wrong = [k for k in keep if k != answer][:3]
    wrong += _pick(rng, options, exclude=[answer, *wrong], n=3 - len(wrong))
    return wrong[0], wrong[1], wrong[2]


def _speech(text: str, voice: str, lead_s: float = 0.4) -> AudioSpec:
    return Silence(lead_s) + Speech(text, voice=voice)


# --- sound source ---------------------------------------------------------------------------------

#: (sound, label, matching photo or "", how it is played: "fill" the clip or repeat a "shot")
SOURCES = (
    ("freedesktop:alarm-clock-elapsed", "an alarm clock ringing", "clock", "fill"),
    ("freedesktop:phone-incoming-call", "a telephone ringing", "", "shot"),
    ("freedesktop:camera-shutter", "a camera shutter clicking", "camera", "shot"),
    ("sonic-pi:misc_crow", "a crow cawing", "", "shot"),
    ("sonic-pi:loop_amen", "a drum kit playing a beat", "", "fill"),
    ("sonic-pi:guit_em9", "a guitar chord", "", "fill"),
    ("sonic-pi:loop_tabla", "tabla drums", "", "fill"),
    ("sonic-pi:ambi_choir", "a choir singing", "", "shot"),
)
#: Photos whose own sound makes a tempting wrong answer.
DECOYS = {
    "chelsea": "a cat meowing",
    "rocket": "a rocket engine roaring",
    "coffee": "a coffee machine hissing",
    "horse": "a horse neighing",
    "coins": "coins clinking",
    "astronaut": "an astronaut talking on the radio",
    "clock": "an alarm clock ringing",
    "camera": "a camera shutter clicking",
}
OTHER_SOURCES = ("a dog barking", "a car engine", "rain falling", "a baby crying", "a piano melody")


def _repeated_shot(name: str, seconds: float, rng: np.random.Generator) -> AudioSpec:
    parts: list[AudioSpec] = [Silence(float(rng.uniform(0.2, 0.5)))]
    for _ in range(int(rng.integers(2, 4))):
        parts += [Recorded(name), Silence(float(rng.uniform(0.3, 0.7)))]
    return Mix((Concat(tuple(parts)), Silence(seconds)))


def sound_source(k: int, rng: np.random.Generator) -> Recipe:
    sound, label, match, play = SOURCES[k % len(SOURCES)]
    seconds = float(rng.choice([3.0, 3.5, 4.0, 4.5]))
    audio = Recorded(sound, seconds, loop=True) if play == "fill" else _repeated_shot(sound, seconds, rng)
    # Sources with a photo of their own show it every other round; the others alternate decoy / neutral.
    mode = "match" if match and (k // len(SOURCES)) % 2 == 0 else ("neutral", "decoy")[k % 2]
    decoys = [p for p, decoy in DECOYS.items() if decoy != label]
    photo = match if mode == "match" else _pick(rng, decoys)[0] if mode == "decoy" else _pick(rng, NEUTRAL_PHOTOS)[0]
    keep = [DECOYS[photo]] if mode == "decoy" else []
    options = [s[1] for s in SOURCES] + list(OTHER_SOURCES)
    return Recipe(
        "sound_source",
        "What is making the sound in this clip?",
        label,
        _three(rng, options, label, keep),
        audio,
        photo,
        (sound,),
        picture_gives_answer=mode == "match",
        min_duration_s=seconds,
    )


# --- speech content -------------------------------------------------------------------------------

NUMBERS = ("two", "three", "four", "five", "six", "seven", "eight", "nine")
ANIMALS = ("cat", "horse", "dog", "bird", "cow", "sheep")
COLOURS = ("red", "blue", "green", "yellow", "black", "white")
ANIMAL_PHOTOS = {"cat": "chelsea", "horse": "horse"}


def speech_content(k: int, rng: np.random.Generator) -> Recipe:
    voice = VOICES[k % len(VOICES)]
    topic = ("number", "animal", "colour")[k % 3]
    question = {
        "number": "Which number does the speaker say?",
        "animal": "Which animal does the speaker mention?",
        "colour": "Which colour does the speaker say the bike is?",
    }[topic]
    photo = _pick(rng, [*NEUTRAL_PHOTOS, "astronaut", "camera"])[0]
    keep: list[str] = []
    options: Sequence[str]
    if topic == "number":
        answer = _pick(rng, NUMBERS)[0]
        text, options = f"The code is {answer}.", NUMBERS
    elif topic == "colour":
        answer = _pick(rng, COLOURS)[0]
        text, options = f"My new bike is {answer}.", COLOURS
    else:
        # The cat or horse photo, in turn: the animal said (the picture helps) or a decoy (it misleads).
        shown = _pick(rng, sorted(ANIMAL_PHOTOS))[0]
        answer = shown if (k // 3) % 2 == 0 else _pick(rng, ANIMALS, exclude=[shown])[0]
        text, options = f"I saw a {answer} in the garden.", ANIMALS
        photo, keep = ANIMAL_PHOTOS[shown], [shown]
    return Recipe(
        "speech_content",
        question,
        answer,
        _three(rng, options, answer, keep),
        _speech(text, voice) + Silence(0.4),
        photo,
        (f"espeak-ng:{voice}",),
        picture_gives_answer=ANIMAL_PHOTOS.get(answer) == photo,
    )


# --- music or speech ------------------------------------------------------------------------------

MUSIC = (
    "sonic-pi:loop_garzul",
    "sonic-pi:loop_mika",
    "sonic-pi:loop_compus",
    "sonic-pi:loop_safari",
    "sonic-pi:ambi_piano",
    "sonic-pi:guit_em9",
    "sonic-pi:loop_breakbeat",
    "sonic-pi:loop_tabla",
)
SENTENCES = (
    "Please close the kitchen door.",
    "The train leaves at seven.",
    "Turn left at the light.",
    "We need more milk and bread.",
    "The meeting starts soon.",
    "She found her keys.",
)
MIXES = ("music only", "speech only", "speech over background music", "near silence")


def music_or_speech(k: int, rng: np.random.Generator) -> Recipe:
    answer = MIXES[k % len(MIXES)]
    seconds = float(rng.choice([3.5, 4.0, 4.5]))
    music, sentence, voice = _pick(rng, MUSIC)[0], _pick(rng, SENTENCES)[0], VOICES[k % len(VOICES)]
    speech = _speech(sentence, voice, lead_s=float(rng.uniform(0.2, 0.6)))
    audio: AudioSpec
    sounds: tuple[str, ...]
    if answer == "music only":
        audio, sounds = Recorded(music, seconds, loop=True, amplitude=0.7), (music,)
    elif answer == "speech only":
        audio, sounds = speech, (f"espeak-ng:{voice}",)
    elif answer == "speech over background music":
        audio = Mix((speech, Recorded(music, seconds, loop=True, amplitude=0.2)))
        sounds = (music, f"espeak-ng:{voice}")
    else:  # a quiet room: noise about 66 dB below full scale, not digital zero
        audio, sounds = Noise(seconds, amplitude=0.0005, seed=k), ()
    return Recipe(
        "music_or_speech",
        "What can be heard in this clip?",
        answer,
        _three(rng, MIXES, answer),
        audio,
        _pick(rng, sorted(PHOTOS))[0],
        sounds,
        picture_gives_answer=False,
        min_duration_s=seconds,
    )


# --- counting -------------------------------------------------------------------------------------

#: (one-shot sound, what one event is called)
SHOTS = (
    ("sonic-pi:drum_snare_hard", "snare drum hits"),
    ("sonic-pi:elec_ping", "electronic pings"),
    ("sonic-pi:perc_snap", "finger snaps"),
    ("sonic-pi:drum_cowbell", "cowbell hits"),
    ("sonic-pi:tabla_na", "tabla strokes"),
    ("sonic-pi:elec_wood", "knocks"),
    ("freedesktop:bell", "bell dings"),
    ("sonic-pi:misc_crow", "crow caws"),
)
SHOT_S = 0.4  # each event is cut to at most this long, so events never run into each other
MAX_COUNT = 5


def event_count(k: int, rng: np.random.Generator) -> Recipe:
    sound, events = SHOTS[k % len(SHOTS)]
    count = 1 + (k * 2 + k // MAX_COUNT) % MAX_COUNT  # walks 1..5 out of step with the sounds
    parts: list[AudioSpec] = [Silence(float(rng.uniform(0.2, 0.4)))]
    for _ in range(count):
        parts += [Recorded(sound, SHOT_S), Silence(float(rng.uniform(0.25, 0.45)))]
    low = int(rng.integers(max(1, count - 3), count + 1))  # four consecutive counts around the answer
    wrong = [str(n) for n in range(low, low + 4) if n != count]
    return Recipe(
        "event_count",
        f"How many {events} can be heard?",
        str(count),
        (wrong[0], wrong[1], wrong[2]),
        Concat(tuple(parts)),
        _pick(rng, sorted(PHOTOS))[0],
        (sound,),
        picture_gives_answer=False,
    )


# --- loudness -------------------------------------------------------------------------------------

#: Recordings whose own level is steady within a few dB over 5 s (measured), so a ramp is the only trend.
STEADY = (
    "sonic-pi:loop_garzul",
    "sonic-pi:ambi_drone",
    "sonic-pi:loop_mika",
    "sonic-pi:vinyl_hiss",
    "sonic-pi:loop_breakbeat",
    "sonic-pi:guit_em9",
)
LEVELS = ("it gets louder", "it gets quieter", "it stays about the same", "it stops halfway through")
RAMP_DB = 36.0


def loudness(k: int, rng: np.random.Generator) -> Recipe:
    answer = LEVELS[k % len(LEVELS)]
    sound, seconds = STEADY[k % len(STEADY)], float(rng.choice([3.5, 4.0, 4.5, 5.0]))
    base = Recorded(sound, seconds, loop=True)
    audio: AudioSpec
    if answer == "it gets louder":
        audio = LevelRamp(base, -RAMP_DB, 0.0)
    elif answer == "it gets quieter":
        audio = LevelRamp(base, 0.0, -RAMP_DB)
    elif answer == "it stays about the same":
        audio = base
    else:
        audio = Recorded(sound, seconds / 2, loop=True) + Silence(seconds / 2)
    return Recipe(
        "loudness",
        "How does the loudness change over the clip?",
        answer,
        _three(rng, LEVELS, answer),
        audio,
        _pick(rng, sorted(PHOTOS))[0],
        (sound,),
        picture_gives_answer=False,
        min_duration_s=seconds,
    )


# --- sound presence (the main job's learnable category) -------------------------------------------

PRESENCE_QUESTION = "Is anything making a sound in this clip?"
#: In a fixed order: a 170M student learns the two answers that occur in minutes, where reading shuffled
#: choices would take it far longer (evaluations with choice rotations measure how much it leans on position).
PRESENCE_CHOICES = (
    "No, the clip is silent",
    "Yes, something makes a sound",
    "It is silent at first, then a sound starts",
    "A sound plays, then it goes silent",
)
#: Photos the embedded teacher reads as a sound source (tagger labels -> a cat meows, a dog barks, a rocket
#: roars, a camera clicks) and photos of still scenes it reads as silent. (The wall clock is left out: its tags
#: are weak, so K traces disagree and the question is dropped; so is the printed page, whose labels - brass,
#: menu, crossword - set SmolLM2 writing about a train, a hallucination the verifier rightly rejects but one
#: that has nothing to do with the picture misleading about the sound.)
SOURCE_PHOTOS = ("chelsea", "horse", "rocket", "camera")
STILL_PHOTOS = ("brick", "grass", "gravel", "hubble_deep_field", "coffee", "coins")
#: Recordings that sound (each clip layers two, from random points, after a random lead, under a random level
#: tilt, so no two clips share their audio: a shared recording would be train/test leakage by fingerprint).
PRESENCE_RECORDINGS = (
    "freedesktop:alarm-clock-elapsed", "sonic-pi:misc_crow", "freedesktop:bell", "sonic-pi:loop_amen",
    "freedesktop:phone-incoming-call", "sonic-pi:guit_em9", "sonic-pi:ambi_choir", "sonic-pi:loop_tabla",
    "sonic-pi:loop_mika", "sonic-pi:loop_compus", "sonic-pi:loop_safari", "sonic-pi:ambi_piano",
    "sonic-pi:loop_breakbeat", "sonic-pi:elec_chime",
)  # (steady textures such as a drone, a pad or a drum roll are left out: their signatures match at any offset)
#: Every ordered pair of two recordings; item ``k`` plays pair ``53 k`` (53 is prime to their number, 182, so
#: items 0-181 all play different pairs).
_PAIRS = tuple((a, b) for a in PRESENCE_RECORDINGS for b in PRESENCE_RECORDINGS if a != b)
#: Each block of ten items: (sounding, picture) -- 4 quiet rooms under still pictures (the picture agrees),
#: 3 sounds under pictures of a source (agrees), 3 sounds under still pictures (MISLEADS: the teacher,
#: which cannot hear, says silent and claims silence; the verifier hears the sound and rejects the trace).
PRESENCE_LAYOUT = (
    (False, "still"), (True, "source"), (True, "still"), (False, "still"), (True, "source"),
    (False, "still"), (True, "still"), (True, "source"), (False, "still"), (True, "still"),
)
PRESENCE_SECONDS = 3.0
_SUBJECTS = ("The red bus", "My brother", "The old clock", "Our neighbour", "The little dog", "This train",
             "The blue car", "Her sister")
_PREDICATES = ("leaves at seven.", "is very late today.", "needs a new battery.", "went to the market.",
               "was asleep all morning.", "stops near the bridge.", "is painted green.", "will be back soon.")


def _presence_sound(k: int, rng: np.random.Generator, voice_over: bool) -> tuple[AudioSpec, tuple[str, ...]]:
    """What sounds in item ``k``: an espeak-ng voice saying one of 64 sentences when ``voice_over``, else two
    recordings from random points, layered; after a random lead of 0-0.8 s and under a random level tilt."""
    lead = float(rng.uniform(0.0, 0.8))
    audio: AudioSpec
    sounds: tuple[str, ...]
    if voice_over:
        voice = VOICES[int(rng.integers(len(VOICES)))]
        sentence = f"{_pick(rng, _SUBJECTS)[0]} {_pick(rng, _PREDICATES)[0]}"
        audio, sounds = Silence(lead) + Speech(sentence, voice=voice), (f"espeak-ng:{voice}",)
    else:  # two recordings layered, the second 6-18 dB under the first: no two items play the same pair
        first, second = _PAIRS[(53 * k) % len(_PAIRS)]
        level = float(rng.uniform(-18.0, -6.0))
        under = LevelRamp(Recorded(second, PRESENCE_SECONDS, loop=True, start_s=float(rng.uniform(0.0, 2.0))),
                          level, level)
        audio = Mix((Silence(lead) + Recorded(first, PRESENCE_SECONDS - lead, loop=True,
                                              start_s=float(rng.uniform(0.0, 2.0))), under))
        sounds = (first, second)
    tilt = rng.uniform(-12.0, 0.0, size=2)
    return Mix((LevelRamp(audio, float(tilt[0]), float(tilt[1])), Silence(PRESENCE_SECONDS))), sounds


def sound_presence(k: int, rng: np.random.Generator) -> Recipe:
    """A quiet room or a sound, under a picture that agrees with the audio in 7 items of 10 and misleads in 3
    (:data:`PRESENCE_LAYOUT`); ``picture_gives_answer`` says which. Choices in a fixed order."""
    sounding, picture = PRESENCE_LAYOUT[k % len(PRESENCE_LAYOUT)]
    photos = SOURCE_PHOTOS if picture == "source" else STILL_PHOTOS
    photo = photos[(k // len(PRESENCE_LAYOUT) + k) % len(photos)]
    audio: AudioSpec
    if sounding:
        # Half the sounds a still picture hides are an off-screen voice.
        audio, sounds = _presence_sound(k, rng, picture == "still" and (k + k // len(PRESENCE_LAYOUT)) % 2 == 0)
    else:  # a quiet room: noise about 66 dB below full scale, not digital zero
        audio, sounds = Noise(PRESENCE_SECONDS, amplitude=0.0005, seed=k), ()
    answer = PRESENCE_CHOICES[1] if sounding else PRESENCE_CHOICES[0]
    wrong = [c for c in PRESENCE_CHOICES if c != answer]
    return Recipe(
        "sound_presence",
        PRESENCE_QUESTION,
        answer,
        (wrong[0], wrong[1], wrong[2]),
        audio,
        photo,
        sounds,
        picture_gives_answer=sounding == (picture == "source"),
        min_duration_s=PRESENCE_SECONDS,
        shuffle=False,
        fixed_choices=PRESENCE_CHOICES,
        stratum=str(k % len(PRESENCE_LAYOUT)),
    )


RECIPES: dict[str, Callable[[int, np.random.Generator], Recipe]] = {
    "sound_source": sound_source,
    "speech_content": speech_content,
    "music_or_speech": music_or_speech,
    "event_count": event_count,
    "loudness": loudness,
    "sound_presence": sound_presence,
}
#: The five categories of the general set (the order items take them in); ``sound_presence`` is asked for
#: by name (the main job's set).
CATEGORIES = ("sound_source", "speech_content", "music_or_speech", "event_count", "loudness")
