"""Realistic clip audio for the realistic labelled claim set: real recordings placed at known times.

Sounds come from Debian packages (``sonic-pi-samples``, ``sound-theme-freedesktop``) and espeak-ng.
A clip is a list of :class:`Placed` sounds (the ground truth) rendered onto a canvas, then made less
clean the way real recordings are: a level ramp on some sounds, a room reverb (convolution with a
synthetic exponentially decaying noise impulse response) and a background noise bed (pink noise or a
recorded vinyl hiss) at a known signal-to-noise ratio. Everything is deterministic for a seed.

The audible span of a placed sound (:attr:`Placed.end`) is where its own envelope falls 35 dB under its
peak, plus a reverb allowance: claims about silence in a window are true only clear of those spans.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy.signal import fftconvolve

from sightsound_devdata.clipgen import Speech, resample
from sightsound_devdata.labelled_claims import SENTENCES as LABELLED_SENTENCES
from sightsound_devdata.sounds import decode_sound, sound_path

RATE = 16_000
Audio = NDArray[np.float32]
#: A sound's audible end: its 10 ms envelope last above this many dB under its peak.
AUDIBLE_DB = 35.0


@dataclass(frozen=True)
class SoundDef:
    """A recorded sound and the words a teacher would use for it.

    ``subject`` + ``verb`` + ``tail`` is a sentence ("someone" "knocks" " on the door"); ``plural`` names
    several events ("knocks"); ``name`` is the short noun used in order claims and block lines.
    """

    key: str
    recording: str
    subject: str
    verb: str
    tail: str
    plural: str
    name: str
    source: str
    event: str
    category: str  # percussive | tonal | ringing | animal
    cut_s: float | None = None


ONE_SHOTS: tuple[SoundDef, ...] = (
    SoundDef(
        "knock",
        "sonic-pi:elec_wood",
        "someone",
        "knocks",
        " on the door",
        "knocks",
        "knock",
        "door",
        "knock",
        "percussive",
    ),
    SoundDef(
        "snare", "sonic-pi:drum_snare_hard", "a drum", "is struck", "", "drum hits", "drum", "drum", "hit", "percussive"
    ),
    SoundDef("kick", "sonic-pi:bd_haus", "a bass drum", "thumps", "", "thumps", "thump", "drum", "thump", "percussive"),
    SoundDef(
        "snap",
        "sonic-pi:perc_snap",
        "someone",
        "snaps their fingers",
        "",
        "finger snaps",
        "snap",
        "person",
        "snap",
        "percussive",
    ),
    SoundDef("crow", "sonic-pi:misc_crow", "a crow", "caws", "", "caws", "crow", "crow", "caw", "animal"),
    SoundDef("ping", "sonic-pi:elec_ping", "a device", "beeps", "", "beeps", "beep", "device", "beep", "tonal"),
    SoundDef("ding", "freedesktop:bell", "a small bell", "dings", "", "dings", "bell", "bell", "ding", "tonal"),
    SoundDef("alert", "freedesktop:message", "a phone", "chimes", "", "chimes", "chime", "phone", "chime", "tonal"),
)
RINGING: tuple[SoundDef, ...] = (
    SoundDef("bell", "sonic-pi:perc_bell", "a bell", "rings", "", "rings", "bell", "bell", "ring", "ringing", 3.0),
    SoundDef(
        "cymbal",
        "sonic-pi:drum_cymbal_open",
        "a cymbal",
        "crashes",
        "",
        "cymbal crashes",
        "cymbal",
        "cymbal",
        "crash",
        "ringing",
    ),
    SoundDef("chime", "sonic-pi:elec_chime", "a chime", "sounds", "", "chimes", "chime", "chime", "chime", "ringing"),
    SoundDef(
        "gong", "sonic-pi:perc_bell2", "a gong", "rings out", "", "gong strokes", "gong", "gong", "ring", "ringing", 3.0
    ),
)
#: Music loops: (recording, how a teacher would name the music, block source).
MUSIC: tuple[tuple[str, str, str], ...] = (
    ("sonic-pi:loop_amen_full", "a drum break", "drums"),
    ("sonic-pi:loop_compus", "electronic music", "music"),
    ("sonic-pi:loop_safari", "a percussion groove", "drums"),
    ("sonic-pi:loop_garzul", "a synth loop", "music"),
    ("sonic-pi:loop_mika", "an electronic beat", "music"),
    ("sonic-pi:loop_tabla", "tabla music", "tabla"),
    ("sonic-pi:guit_em9", "a guitar", "guitar"),
    ("sonic-pi:ambi_piano", "a piano", "piano"),
)
CHOIR = "sonic-pi:ambi_choir"
#: The spoken sentences are the synthetic labelled set's (one list).
SENTENCES = LABELLED_SENTENCES
#: espeak-ng voices: (voice, speaker noun, male).
VOICES = (
    ("en-us", "a man", True),
    ("en+m3", "a man", True),
    ("en-us+f3", "a woman", False),
    ("en+f4", "a woman", False),
)


@dataclass(frozen=True)
class Placed:
    """One sound placed in the clip: the ground truth every claim's label is computed from."""

    label: str  # SoundDef.key, "speech", "music", "singing"
    category: str
    start: float
    end: float  # audible end (own decay + reverb allowance)
    gain_db: float = 0.0


@dataclass
class Mixer:
    """A canvas of ``seconds`` with its placed sounds; :meth:`finish` adds reverb and noise."""

    seconds: float
    rng: np.random.Generator
    canvas: Audio = field(init=False, repr=False)
    placed: list[Placed] = field(default_factory=list)
    reverb_rt60_s: float = 0.0
    snr_db: float | None = None
    noise_kind: str = ""

    def __post_init__(self) -> None:
        self.canvas = np.zeros(int(self.seconds * RATE), np.float32)

    def add(self, label: str, category: str, sound: Audio, at_s: float, gain_db: float = 0.0) -> Placed:
        first = int(at_s * RATE)
        piece = sound[: max(0, len(self.canvas) - first)] * np.float32(10 ** (gain_db / 20))
        self.canvas[first : first + len(piece)] += piece
        end = at_s + audible_s(sound) + 0.05
        item = Placed(label, category, round(at_s, 3), round(min(end, self.seconds), 3), gain_db)
        self.placed.append(item)
        return item

    def finish(self, *, reverb: bool = True, noise: bool = True, silent_floor_dbfs: float | None = None) -> Audio:
        x = self.canvas.astype(np.float64)
        if reverb:
            self.reverb_rt60_s = float(self.rng.uniform(0.15, 0.6))
            x = add_reverb(x, self.reverb_rt60_s, float(self.rng.uniform(0.15, 0.35)), self.rng)
            self.placed = [
                Placed(
                    p.label,
                    p.category,
                    p.start,
                    round(min(self.seconds, p.end + 0.25 * self.reverb_rt60_s), 3),
                    p.gain_db,
                )
                for p in self.placed
            ]
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if peak > 0:
            x *= float(self.rng.uniform(0.5, 0.9)) / peak
        if noise:
            self.noise_kind = "vinyl" if self.rng.random() < 0.3 else "pink"
            bed = noise_bed(len(x), self.noise_kind, self.rng)
            if silent_floor_dbfs is not None or peak == 0:
                level = silent_floor_dbfs if silent_floor_dbfs is not None else -60.0
                x += bed * 10 ** (level / 20) / rms(bed)
            else:
                self.snr_db = float(self.rng.uniform(15.0, 30.0))
                x += bed * active_rms(x) / 10 ** (self.snr_db / 20) / rms(bed)
        return np.clip(x, -1.0, 1.0).astype(np.float32)


def rms(x: NDArray[np.float64]) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) or 1e-12


def active_rms(x: NDArray[np.float64]) -> float:
    """RMS of the sounding part (frames within 30 dB of the loudest): the 'signal' of the SNR."""
    n = int(0.05 * RATE)
    frames = x[: len(x) // n * n].reshape(-1, n)
    levels = np.sqrt(np.mean(frames**2, axis=1)) + 1e-12
    loud = levels[levels >= levels.max() * 10 ** (-30 / 20)]
    return float(np.sqrt(np.mean(loud**2)))


def audible_s(sound: Audio) -> float:
    """Seconds until the sound's envelope last sits within ``AUDIBLE_DB`` of its peak."""
    n = int(0.01 * RATE)
    frames = np.abs(sound[: len(sound) // n * n]).reshape(-1, n).max(axis=1)
    if frames.size == 0 or frames.max() == 0:
        return len(sound) / RATE
    above = np.flatnonzero(frames >= frames.max() * 10 ** (-AUDIBLE_DB / 20))
    return float((above[-1] + 1) * n / RATE)


def add_reverb(x: NDArray[np.float64], rt60_s: float, wet: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """Convolution with exponentially decaying noise (60 dB down at ``rt60_s``), mixed ``wet`` into the dry."""
    n = int(rt60_s * RATE)
    t = np.arange(n) / RATE
    ir = rng.standard_normal(n) * np.exp(-6.91 * t / rt60_s)
    ir /= np.sqrt(np.sum(ir**2)) or 1.0
    tail = np.asarray(fftconvolve(x, ir)[: len(x)], dtype=np.float64)
    mixed: NDArray[np.float64] = (1 - wet) * x + wet * tail * (rms(x) / rms(tail) if rms(tail) > 1e-9 else 0.0)
    return mixed


def noise_bed(n: int, kind: str, rng: np.random.Generator) -> NDArray[np.float64]:
    if kind == "vinyl":
        hiss = decode_sound(sound_path("sonic-pi:vinyl_hiss"), RATE).astype(np.float64)
        return np.resize(np.roll(hiss, -int(rng.integers(0, len(hiss)))), n)  # crackles at random times
    white = rng.standard_normal(n)
    spectrum = np.fft.rfft(white)
    f = np.fft.rfftfreq(n, 1 / RATE)
    spectrum[1:] /= np.sqrt(f[1:] / f[1])  # 1/f power: pink
    spectrum[0] = 0
    return np.fft.irfft(spectrum, n)


@lru_cache(maxsize=64)
def recording(name: str, cut_s: float | None = None) -> Audio:
    x = np.array(decode_sound(sound_path(name), RATE), dtype=np.float32)
    if cut_s is not None and len(x) > cut_s * RATE:
        x = x[: int(cut_s * RATE)].copy()
        fade = int(0.3 * RATE)
        x[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
    x.setflags(write=False)
    return x


def one_shot(sound: SoundDef) -> Audio:
    return recording(sound.recording, sound.cut_s)


def pitched(sound: Audio, semitones: float) -> Audio:
    """The sound played faster or slower (like a varispeed tape): its pitch moves by ``semitones``."""
    factor = 2 ** (semitones / 12)
    return resample(np.asarray(sound, np.float32), round(RATE * factor), RATE)


def looped(name: str, seconds: float) -> Audio:
    x = recording(name)
    n = int(seconds * RATE)
    out = np.tile(x, -(-n // len(x)))[:n].astype(np.float32)
    fade = int(0.05 * RATE)
    out[:fade] *= np.linspace(0, 1, fade, dtype=np.float32)
    out[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
    return out


def ramp(sound: Audio, start_db: float, end_db: float) -> Audio:
    gain = 10 ** (np.linspace(start_db, end_db, len(sound)) / 20)
    return (sound * gain).astype(np.float32)


@lru_cache(maxsize=64)
def spoken(text: str, voice: str, wpm: int) -> Audio:
    return Speech(text, voice=voice, words_per_minute=wpm, amplitude=0.8).render(RATE)
