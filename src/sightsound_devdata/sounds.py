"""Real recorded sounds shipped by Debian packages, as :class:`~sightsound_devdata.clipgen.AudioSpec` blocks.

Two packages carry short, freely licensed recordings that work offline:

- ``sonic-pi-samples`` (``/usr/share/sonic-pi/samples/*.flac``): drum hits and loops, bass, ambient
  drones, guitar, percussion, a crow, a choir. Nearly all are freesound.org recordings under CC0
  (``/usr/share/doc/sonic-pi-samples/copyright`` lists each file's author and source).
- ``sound-theme-freedesktop`` (``/usr/share/sounds/freedesktop/stereo/*.oga``): desktop bells, an alarm
  clock, a phone ringing, a camera shutter. Licences per file in
  ``/usr/share/doc/sound-theme-freedesktop/copyright`` (CC-BY-3.0, CC-BY-SA-3.0, GPL-2+).

The files are decoded with libsndfile (FLAC and Ogg Vorbis), mixed down to mono, resampled with
libswresample and peak-normalised, so a sound's level in a clip is set by the clip, not the recording.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile

from sightsound_devdata.clipgen import AudioSpec, FloatArray, fit_length, resample

SONIC_PI = Path("/usr/share/sonic-pi/samples")
FREEDESKTOP = Path("/usr/share/sounds/freedesktop/stereo")
#: Debian package -> a file that proves it is installed.
PACKAGES = {
    "sonic-pi-samples": SONIC_PI / "loop_amen.flac",
    "sound-theme-freedesktop": FREEDESKTOP / "bell.oga",
}


EDGE_FADE_S = 0.02  # a cut recording fades in and out, or the cut itself would be heard as a click


class MissingSound(FileNotFoundError):
    """A recorded sound is not on this machine (its Debian package is not installed)."""


def missing_sound_packages() -> list[str]:
    """Debian packages with sounds that are not installed (empty when all are there)."""
    return [name for name, probe in PACKAGES.items() if not probe.exists()]


def sound_path(name: str) -> Path:
    """The file of a named sound: ``"sonic-pi:loop_amen"`` or ``"freedesktop:bell"``.

    >>> sound_path("freedesktop:bell").name
    'bell.oga'
    >>> sound_path("sonic-pi:loop_amen").name
    'loop_amen.flac'
    """
    library, _, stem = name.partition(":")
    if library == "sonic-pi":
        return SONIC_PI / f"{stem}.flac"
    if library == "freedesktop":
        return FREEDESKTOP / f"{stem}.oga"
    raise ValueError(f"unknown sound library in {name!r} (expected 'sonic-pi:' or 'freedesktop:')")


@lru_cache(maxsize=128)
def decode_sound(path: Path, sample_rate: int) -> FloatArray:
    """A recording as mono float32 at ``sample_rate``, peak 1.0 (read-only: it is cached)."""
    if not path.exists():
        missing = ", ".join(missing_sound_packages()) or "the package that ships it"
        raise MissingSound(f"{path} is missing (Debian: apt-get install {missing})")
    data, rate = soundfile.read(path, dtype="float32", always_2d=True)
    mono = resample(data.mean(axis=1).astype(np.float32), int(rate), sample_rate)
    peak = float(np.max(np.abs(mono))) if len(mono) else 0.0
    out = (mono / peak).astype(np.float32) if peak > 0 else mono
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class Recorded(AudioSpec):
    """A recorded sound (see :func:`sound_path` for names) at peak ``amplitude``.

    ``seconds=None`` plays it once, whole. Otherwise it is cut to ``seconds`` (with a short fade, so a
    cut never clicks) or, with ``loop=True``, tiled until it fills ``seconds``. ``start_s`` starts it that far
    in (into the tiling, with ``loop=True``).
    """

    name: str
    seconds: float | None = None
    loop: bool = False
    amplitude: float = 0.8
    start_s: float = 0.0

    def render(self, sample_rate: int) -> FloatArray:
        x = decode_sound(sound_path(self.name), sample_rate)
        skip = round(self.start_s * sample_rate)
        if self.seconds is not None:
            n = round(self.seconds * sample_rate) + skip
            if self.loop and 0 < len(x) < n:
                x = np.tile(x, -(-n // len(x)))
            x = fit_length(x, n)
        x = x[skip:] * np.float32(self.amplitude)
        n_fade = min(round(EDGE_FADE_S * sample_rate), len(x) // 2)
        if n_fade > 0:
            ramp = np.linspace(0.0, 1.0, n_fade, dtype=np.float32)
            x[:n_fade] *= ramp
            x[-n_fade:] *= ramp[::-1]
        return x.astype(np.float32)


@dataclass(frozen=True)
class LevelRamp(AudioSpec):
    """Another block with its level moving linearly in dB from ``start_db`` to ``end_db`` (0 dB: as is)."""

    part: AudioSpec
    start_db: float
    end_db: float

    def render(self, sample_rate: int) -> FloatArray:
        x = self.part.render(sample_rate)
        gain = 10.0 ** (np.linspace(self.start_db, self.end_db, len(x)) / 20.0)
        return (x * gain).astype(np.float32)
