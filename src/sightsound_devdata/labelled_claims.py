"""A labelled claim set whose truth is known by construction, for measuring the verifier (``perf/verifier.py``).

Each clip is assembled from real recorded sounds shipped by Debian (``sonic-pi-samples``: music loops,
drum and percussion hits, a choir; ``sound-theme-freedesktop``: desktop bells and alerts), espeak-ng
speech and numpy tones, chirps and noise, placed at known times. Each clip gets claims that are true
and claims that are false *by how the clip was built*, in the claim-line format of the teacher.

Generation is deterministic for a seed (numpy's ``default_rng``). Families, and what their truth rests on:

- ``speech``: one espeak-ng sentence (4 voices), sometimes after a tone or over low noise. Words quoted
  from it are true, words from another sentence false; it is speech, not music, not silence, not singing.
- ``music``: a sonic-pi loop (drum loops, piano, guitar, synth) tiled to 6-8 s: music, no speech.
- ``singing``: sonic-pi's choir sample, tiled: singing.
- ``tone``: a steady numpy tone (110-2000 Hz) or a rising / falling chirp: its frequency, direction,
  and register (for tones far from the thresholds) are known.
- ``count``: N copies (1-7) of one single-event sound (a hit, a bell, a beep, a noise burst) at random
  gaps, sometimes over low noise: N events; N±1 and N±2 are false.
- ``tempo``: kick and snare on every beat at a known bpm (hi-hats on the off-beats in some clips).
- ``order``: two locatable sounds one after the other (speech and tone, speech and music, speech and
  singing): which comes first is known.
- ``silence`` and ``loudness``: digital silence or -70 dBFS noise; noise or tone ramps and steady noise.

Sound-source claims ("a dog barks") are included where the audio is silent (decidable) and where it is
not (the acoustic analyzers cannot name sources: those count as unverifiable, as they should).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import librosa
import numpy as np
import soundfile as sf
from numpy.typing import NDArray

from sightsound_devdata.clipgen import Noise, Ramp, Speech, Tone

RATE = 16_000
SONIC_PI = Path("/usr/share/sonic-pi/samples")
FREEDESKTOP = Path("/usr/share/sounds/freedesktop/stereo")
Truth = Literal["supported", "contradicted"]
Audio = NDArray[np.float32]

SENTENCES = (
    "Please close the kitchen door before dinner",
    "The train to London leaves at seven tonight",
    "My brother plays football every Sunday morning",
    "Turn left at the next traffic light",
    "The weather is lovely today in the park",
    "We need more milk and fresh bread",
    "Remember to water the garden plants tomorrow",
    "The meeting starts in ten minutes upstairs",
    "This old bridge was built from grey stone",
    "Our flight was delayed by almost two hours",
    "She found her car keys under the sofa",
    "Nobody knows why the computer stopped working",
)
#: espeak-ng voices and whether they are male (a ~100 Hz voice: "low" is true, "high" false).
VOICES = (("en-us", True), ("en", True), ("en-us+f3", False), ("en+m3", True))
MUSIC_LOOPS = (
    "loop_amen_full",
    "loop_compus",
    "loop_tabla",
    "loop_safari",
    "loop_mika",
    "loop_garzul",
    "loop_breakbeat",
    "ambi_piano",
    "guit_em9",
    "loop_electric",
)
#: Single-event sounds (one hit / ring / alert each), with the source and event a teacher would name.
ONE_SHOTS = (
    (SONIC_PI / "drum_snare_hard.flac", "drum", "hit"),
    (SONIC_PI / "bd_haus.flac", "drum", "thump"),
    (SONIC_PI / "tabla_na.flac", "tabla", "hit"),
    (SONIC_PI / "elec_ping.flac", "device", "ping"),
    (SONIC_PI / "misc_crow.flac", "crow", "caw"),
    (SONIC_PI / "elec_blip.flac", "device", "blip"),
    (SONIC_PI / "drum_cowbell.flac", "cowbell", "clank"),
    (SONIC_PI / "perc_snap.flac", "person", "snap"),
    (SONIC_PI / "elec_wood.flac", "door", "knock"),
    (SONIC_PI / "perc_bell.flac", "bell", "ring"),
    (FREEDESKTOP / "bell.oga", "bell", "ding"),
    (FREEDESKTOP / "message.oga", "phone", "alert"),
    (FREEDESKTOP / "dialog-warning.oga", "computer", "alert"),
)
CHOIR = SONIC_PI / "ambi_choir.flac"
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@dataclass(frozen=True)
class LabelledClaim:
    line: str
    truth: Truth


@dataclass
class LabelledClip:
    name: str
    family: str
    samples: Audio = field(repr=False)
    claims: list[LabelledClaim] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / RATE

    def add(self, line: str, truth: Truth) -> None:
        self.claims.append(LabelledClaim(line, truth))

    def trace_text(self) -> str:
        """The claims as one teacher trace (a ``<claims>`` block)."""
        body = "\n".join(c.line for c in self.claims)
        think = "<think>The claims below come from how the clip was made.</think>"
        return f"{think}\n<claims>\n{body}\n</claims>\n<answer>A</answer>"


def missing_sources() -> list[str]:
    """Debian packages the set needs that are not installed (empty when all is there)."""
    missing = []
    if not (SONIC_PI / "loop_amen_full.flac").exists():
        missing.append("sonic-pi-samples")
    if not (FREEDESKTOP / "bell.oga").exists():
        missing.append("sound-theme-freedesktop")
    return missing


@lru_cache(maxsize=64)
def load_sound(path: Path) -> Audio:
    """A recorded sound, mono at 16 kHz, peak-normalised to 0.8."""
    frames, rate = sf.read(path, dtype="float32", always_2d=True)
    samples = (
        librosa.resample(frames.mean(axis=1), orig_sr=rate, target_sr=RATE) if rate != RATE else frames.mean(axis=1)
    )
    peak = float(np.max(np.abs(samples))) or 1.0
    return (0.8 * samples / peak).astype(np.float32)


@lru_cache(maxsize=64)
def speech(text: str, voice: str, wpm: int) -> Audio:
    return Speech(text, voice=voice, words_per_minute=wpm, amplitude=0.8).render(RATE)


def silence(seconds: float) -> Audio:
    return np.zeros(int(seconds * RATE), np.float32)


def db_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def place(canvas: Audio, sound: Audio, at_s: float, gain: float = 1.0) -> None:
    first = int(at_s * RATE)
    piece = sound[: max(0, len(canvas) - first)]
    canvas[first : first + len(piece)] += gain * piece


def tile(sound: Audio, seconds: float) -> Audio:
    n = int(seconds * RATE)
    reps = int(np.ceil(n / len(sound)))
    return np.tile(sound, reps)[:n].astype(np.float32)


def finish(samples: Audio) -> Audio:
    return np.clip(samples, -1.0, 1.0).astype(np.float32)


def chirp(f0: float, f1: float, seconds: float, amplitude: float = 0.5) -> Audio:
    t = np.arange(int(seconds * RATE)) / RATE
    k = np.log(f1 / f0) / seconds
    phase = 2 * np.pi * f0 * (np.exp(k * t) - 1) / k
    x = amplitude * np.sin(phase)
    fade = min(len(x) // 2, int(0.01 * RATE))
    x[:fade] *= np.linspace(0, 1, fade)
    x[-fade:] *= np.linspace(1, 0, fade)
    return np.asarray(x, dtype=np.float32)


def phrase_of(sentence: str, rng: np.random.Generator) -> str:
    words = sentence.split()
    length = int(rng.integers(3, 6))
    start = int(rng.integers(0, len(words) - length + 1))
    return " ".join(words[start : start + length]).lower()


# --- families ---------------------------------------------------------------------------------------


def speech_clip(i: int, rng: np.random.Generator) -> LabelledClip:
    sentence = SENTENCES[i % len(SENTENCES)]
    voice, male = VOICES[int(rng.integers(len(VOICES)))]
    spoken = speech(sentence, voice, int(rng.choice([140, 160, 175])))
    lead = float(rng.uniform(0.3, 1.0))
    canvas = silence(lead + len(spoken) / RATE + 0.6)
    place(canvas, spoken, lead)
    if rng.random() < 0.4:
        canvas += Noise(len(canvas) / RATE, db_gain(-45), seed=i).render(RATE)[: len(canvas)]
    clip = LabelledClip(f"speech-{i:02d}", "speech", finish(canvas))
    other = SENTENCES[(i + 1 + int(rng.integers(len(SENTENCES) - 1))) % len(SENTENCES)]
    clip.add("source=person; event=speech; present=yes", "supported")
    clip.add("source=person; event=speech; present=no", "contradicted")
    clip.add(f'source=person; event=speech; words="{phrase_of(sentence, rng)}"', "supported")
    clip.add(f'source=person; event=speech; words="{phrase_of(other, rng)}"', "contradicted")
    clip.add("source=music; event=music; present=no", "supported")
    clip.add("event=music; present=yes", "contradicted")
    clip.add("event=singing; present=yes", "contradicted")
    clip.add("source=scene; event=silence", "contradicted")
    if male:
        clip.add("source=man; event=speech; pitch=low", "supported")
        clip.add("source=man; event=speech; pitch=high", "contradicted")
    return clip


def music_clip(i: int, rng: np.random.Generator) -> LabelledClip:
    loop = MUSIC_LOOPS[i % len(MUSIC_LOOPS)]
    music = tile(load_sound(SONIC_PI / f"{loop}.flac"), float(rng.uniform(6.0, 8.0)))
    clip = LabelledClip(f"music-{i:02d}-{loop}", "music", finish(music * db_gain(float(rng.uniform(-10, -2)))))
    clip.add("event=music; present=yes", "supported")
    clip.add("source=band; event=music; present=no", "contradicted")
    clip.add("source=person; event=speech; present=no", "supported")
    clip.add("source=person; event=speech; present=yes", "contradicted")
    clip.add("source=scene; event=silence; present=no", "supported")
    clip.add("event=singing; present=no", "supported")
    clip.add("source=dog; event=bark", "contradicted")  # true by construction; no analyzer names sources
    return clip


def singing_clip(i: int, rng: np.random.Generator) -> LabelledClip:
    choir = tile(load_sound(CHOIR), float(rng.uniform(4.0, 6.0)))
    lead = float(rng.uniform(0.2, 0.8))
    canvas = silence(lead + len(choir) / RATE + 0.3)
    place(canvas, choir, lead, db_gain(float(rng.uniform(-8, -2))))
    clip = LabelledClip(f"singing-{i:02d}", "singing", finish(canvas))
    clip.add("source=choir; event=singing; present=yes", "supported")
    clip.add("event=singing; present=no", "contradicted")
    clip.add("source=scene; event=silence", "contradicted")
    return clip


TONE_HZ = (110.0, 150.0, 200.0, 330.0, 440.0, 660.0, 880.0, 1200.0, 1500.0, 2000.0)


def tone_clip(i: int, rng: np.random.Generator) -> LabelledClip:
    seconds = float(rng.uniform(2.0, 4.0))
    lead = float(rng.uniform(0.2, 1.0))
    if i % 3 == 2:  # a chirp
        low, high = float(rng.uniform(250, 400)), float(rng.uniform(900, 1400))
        rising = bool(rng.random() < 0.5)
        sound = chirp(low, high, seconds) if rising else chirp(high, low, seconds)
        canvas = silence(lead + seconds + 0.5)
        place(canvas, sound, lead)
        clip = LabelledClip(f"chirp-{i:02d}-{'up' if rising else 'down'}", "tone", finish(canvas))
        clip.add(f"source=whistle; event=tone; pitch={'rising' if rising else 'falling'}", "supported")
        clip.add(f"source=whistle; event=tone; pitch={'falling' if rising else 'rising'}", "contradicted")
        clip.add("source=whistle; event=tone; pitch=steady", "contradicted")
    else:
        hz = TONE_HZ[int(rng.integers(len(TONE_HZ)))]
        canvas = silence(lead + seconds + 0.5)
        place(canvas, Tone(hz, seconds, 0.5).render(RATE), lead)
        if rng.random() < 0.4:
            canvas += Noise(len(canvas) / RATE, db_gain(-40), seed=100 + i).render(RATE)[: len(canvas)]
        clip = LabelledClip(f"tone-{i:02d}-{hz:g}hz", "tone", finish(canvas))
        off = int(rng.choice([-7, -5, -4, -3, 3, 4, 5, 7]))
        clip.add(f"source=alarm; event=beep; pitch={hz:g}Hz", "supported")
        clip.add(f"source=alarm; event=beep; pitch={hz * 2 ** (off / 12):.0f}Hz", "contradicted")
        clip.add("source=alarm; event=beep; pitch=steady", "supported")
        clip.add("source=alarm; event=beep; pitch=rising", "contradicted")
        if hz <= 200:
            clip.add("event=hum; pitch=low", "supported")
            clip.add("event=hum; pitch=high", "contradicted")
        elif hz >= 1200:
            clip.add("event=beep; pitch=high", "supported")
            clip.add("event=beep; pitch=low", "contradicted")
    clip.add("source=person; event=speech; present=yes", "contradicted")
    clip.add("source=person; event=speech; present=no", "supported")
    return clip


def _one_shot(rng: np.random.Generator, i: int) -> tuple[Audio, str, str]:
    choice = int(rng.integers(len(ONE_SHOTS) + 2))
    if choice == len(ONE_SHOTS):
        return Noise(0.15, 0.8, seed=i).render(RATE), "scene", "burst"
    if choice == len(ONE_SHOTS) + 1:
        return Tone(1000.0, 0.15, 0.6).render(RATE), "alarm", "beep"
    path, source, event = ONE_SHOTS[choice]
    return load_sound(path), source, event


def count_clip(i: int, rng: np.random.Generator) -> LabelledClip:
    count = 1 + i % 7
    sound, source, event = _one_shot(rng, i)
    length = min(len(sound) / RATE, 0.9)
    at = float(rng.uniform(0.2, 0.6))
    times = []
    for _ in range(count):
        times.append(at)
        at += length + float(rng.uniform(0.3, 0.9))
    canvas = silence(at + 0.5)
    for start in times:
        place(canvas, sound[: int(length * RATE)] if len(sound) / RATE > 0.9 else sound, start)
    if rng.random() < 0.4:
        canvas += Noise(len(canvas) / RATE, db_gain(float(rng.uniform(-50, -40))), seed=200 + i).render(RATE)[
            : len(canvas)
        ]
    clip = LabelledClip(f"count-{i:02d}-{count}x{source}-{event}", "count", finish(canvas))
    wrong = count + int(rng.choice([-2, -1, 1, 2] if count > 2 else [1, 2]))

    def say(n: int) -> str:
        return NUMBER_WORDS[n] if n < len(NUMBER_WORDS) and rng.random() < 0.5 else str(n)

    clip.add(f"source={source}; event={event}; count={say(count)}", "supported")
    clip.add(f"source={source}; event={event}; count={say(wrong)}", "contradicted")
    clip.add("source=scene; event=silence", "contradicted")
    clip.add(f"source={source}; event={event}", "supported")  # no analyzer names sources: unverifiable
    return clip


TEMPO_BPM = (60, 66, 72, 80, 90, 100, 110, 120, 128, 140, 150, 160, 170)


def tempo_clip(i: int, rng: np.random.Generator) -> LabelledClip:
    bpm = TEMPO_BPM[i % len(TEMPO_BPM)]
    beat = 60.0 / bpm
    seconds = 8.0
    canvas = silence(seconds)
    kick, snare = load_sound(SONIC_PI / "bd_haus.flac"), load_sound(SONIC_PI / "drum_snare_hard.flac")
    hats = rng.random() < 0.35
    hat = load_sound(SONIC_PI / "drum_cymbal_closed.flac")
    t, n = 0.2, 0
    while t < seconds - 0.3:
        place(canvas, kick if n % 2 == 0 else snare, t, 0.8)
        if hats:
            place(canvas, hat, t + beat / 2, 0.25)
        t, n = t + beat, n + 1
    clip = LabelledClip(f"tempo-{i:02d}-{bpm}bpm{'-hats' if hats else ''}", "tempo", finish(canvas))
    ratio = float(rng.choice([0.75, 0.8, 1.2, 1.25, 1.33]))
    clip.add(f"source=drums; event=music; tempo={bpm}bpm", "supported")
    clip.add(f"source=drums; event=music; tempo={round(bpm * ratio)}bpm", "contradicted")
    if bpm >= 130:
        clip.add("source=drums; event=music; tempo=fast", "supported")
        clip.add("source=drums; event=music; tempo=slow", "contradicted")
    elif bpm <= 75:
        clip.add("source=drums; event=music; tempo=slow", "supported")
        clip.add("source=drums; event=music; tempo=fast", "contradicted")
    return clip


ORDER_PAIRS = (("speech", "tone"), ("tone", "speech"), ("speech", "music"), ("music", "speech"))
ORDER_WORDS = {"speech": ("speech", "the man talking"), "tone": ("a beep", "the tone"), "music": ("music", "the music")}


def order_clip(i: int, rng: np.random.Generator) -> LabelledClip:
    first, second = ORDER_PAIRS[i % len(ORDER_PAIRS)]

    def render(kind: str) -> Audio:
        if kind == "speech":
            return speech(SENTENCES[int(rng.integers(len(SENTENCES)))], "en-us", 160)
        if kind == "tone":
            return Tone(float(rng.choice([440.0, 660.0, 880.0])), float(rng.uniform(1.5, 2.5)), 0.4).render(RATE)
        loop = MUSIC_LOOPS[int(rng.integers(len(MUSIC_LOOPS)))]
        return tile(load_sound(SONIC_PI / f"{loop}.flac"), float(rng.uniform(2.0, 3.0))) * db_gain(-4)

    a, b = render(first), render(second)
    lead, gap = float(rng.uniform(0.2, 0.6)), float(rng.uniform(0.3, 0.8))
    canvas = silence(lead + len(a) / RATE + gap + len(b) / RATE + 0.4)
    place(canvas, a, lead)
    place(canvas, b, lead + len(a) / RATE + gap)
    clip = LabelledClip(f"order-{i:02d}-{first}-then-{second}", "order", finish(canvas))
    wa, wb = ORDER_WORDS[first][i % 2], ORDER_WORDS[second][(i // 2) % 2]
    clip.add(f'order="{wa} before {wb}"', "supported")
    clip.add(f'order="{wb} before {wa}"', "contradicted")
    clip.add(f'order="{wb} after {wa}"', "supported")
    clip.add(f'order="{wa} after {wb}"', "contradicted")
    return clip


def silence_clip(i: int, rng: np.random.Generator) -> LabelledClip:
    seconds = float(rng.uniform(3.0, 6.0))
    canvas = silence(seconds)
    if i % 2:
        canvas += Noise(seconds, db_gain(-70), seed=300 + i).render(RATE)[: len(canvas)]
    clip = LabelledClip(f"silence-{i:02d}", "silence", finish(canvas))
    clip.add("source=scene; event=silence", "supported")
    clip.add("source=scene; event=sound", "contradicted")
    clip.add("source=person; event=speech; present=yes", "contradicted")
    clip.add("event=music; present=yes", "contradicted")
    clip.add("source=dog; event=bark", "contradicted")
    clip.add("source=dog; event=bark; present=no", "supported")
    clip.add("source=door; event=knock; count=2", "contradicted")
    return clip


def loudness_clip(i: int, rng: np.random.Generator) -> LabelledClip:
    seconds = float(rng.uniform(3.0, 5.0))
    kind = ("rising", "falling", "steady")[i % 3]
    source = "noise" if i % 2 == 0 else "tone"
    if kind == "steady":
        level = float(rng.uniform(-30, -10))
        samples = Noise(seconds, db_gain(level), seed=400 + i).render(RATE)
    else:
        samples = Ramp(seconds, kind, source, freq_hz=440.0, seed=400 + i).render(RATE)  # type: ignore[arg-type]
    clip = LabelledClip(f"loudness-{i:02d}-{kind}-{source}", "loudness", finish(samples))
    others = [k for k in ("rising", "falling", "steady") if k != kind]
    clip.add(f"source=scene; event=sound; loudness={kind}", "supported")
    for other in others:
        clip.add(f"source=scene; event=sound; loudness={other}", "contradicted")
    return clip


FAMILIES: dict[str, tuple[Callable[[int, np.random.Generator], LabelledClip], int]] = {
    "speech": (speech_clip, 24),
    "music": (music_clip, 10),
    "singing": (singing_clip, 8),
    "tone": (tone_clip, 18),
    "count": (count_clip, 21),
    "tempo": (tempo_clip, 13),
    "order": (order_clip, 12),
    "silence": (silence_clip, 6),
    "loudness": (loudness_clip, 6),
}


def build_labelled_set(
    seed: int = 0, scale: float = 1.0, families: tuple[str, ...] | None = None
) -> list[LabelledClip]:
    """The whole set (``scale`` multiplies each family's clip count; at least one clip each)."""
    missing = missing_sources()
    if missing:
        raise RuntimeError(f"install the Debian packages {' '.join(missing)} (apt-get install -y ...)")
    clips = []
    for offset, (name, (make, count)) in enumerate(FAMILIES.items()):
        if families is not None and name not in families:
            continue
        rng = np.random.default_rng([seed, offset])
        clips += [make(i, rng) for i in range(max(1, round(count * scale)))]
    return clips
