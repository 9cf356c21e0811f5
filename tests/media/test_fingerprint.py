"""The audio fingerprint: a re-encoded copy (other codec, bitrate, gain) matches; other audio does not."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from sightsound.media.fingerprint import TOLERANCE_DB, Fingerprint, distance, fingerprint, same_audio
from sightsound.media.waveform import extract_audio
from sightsound_devdata.clipgen import Concat, Noise, NoiseBursts, Silence, Speech, Tone

RATE = 16_000


def render(spec: object) -> np.ndarray:
    return spec.render(RATE).astype(np.float32)  # type: ignore[attr-defined]


def clip(name: str) -> np.ndarray:
    specs = {
        "speech": Concat([Silence(0.2), Speech("the dog barks at the red car", words_per_minute=170)]),
        "other speech": Concat([Silence(0.2), Speech("rain is falling on the roof", words_per_minute=170)]),
        "bursts": NoiseBursts(5, seed=1),
        "other bursts": NoiseBursts(3, gap_s=0.5, seed=2),
        "tones": Concat([Tone(440.0, 1.0), Tone(660.0, 1.0), Tone(330.0, 1.0)]),
    }
    return render(specs[name])


def reencode(samples: np.ndarray, folder: Path, codec_args: list[str], suffix: str) -> np.ndarray:
    """``samples`` through ffmpeg (a 44.1 kHz stereo lossy file) and back to 16 kHz mono."""
    source, target = folder / "in.wav", folder / f"out{suffix}"
    soundfile.write(source, samples, RATE)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), "-ar", "44100", "-ac", "2", *codec_args,
                    str(target)], check=True)
    decoded = extract_audio(target)
    assert decoded is not None
    return decoded


@pytest.mark.parametrize("name", ["speech", "bursts", "tones"])
@pytest.mark.parametrize(("codec", "suffix"), [(["-b:a", "32k"], ".mp3"), (["-b:a", "128k"], ".mp3"),
                                                (["-c:a", "aac", "-b:a", "48k"], ".m4a")])
def test_a_reencoded_copy_matches(name: str, codec: list[str], suffix: str, tmp_path: Path) -> None:
    original = clip(name)
    copy = reencode(original, tmp_path, codec, suffix)
    a, b = fingerprint(original), fingerprint(copy)
    assert a is not None and b is not None
    assert distance(a, b) <= TOLERANCE_DB, distance(a, b)
    assert same_audio(a, fingerprint(0.25 * copy))  # quieter too


def test_different_audio_does_not_match() -> None:
    names = ["speech", "other speech", "bursts", "other bursts", "tones"]
    prints = {n: fingerprint(clip(n)) for n in names}
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            gap = distance(prints[first], prints[second])  # type: ignore[arg-type]
            assert gap > 2 * TOLERANCE_DB, (first, second, gap)


def test_silence_has_no_fingerprint_and_matches_nothing() -> None:
    assert fingerprint(np.zeros(RATE * 2, np.float32)) is None
    assert fingerprint(render(Noise(2.0, 0.0001))) is None
    assert not same_audio(None, fingerprint(clip("speech")))


def test_what_sounds_the_same_matches_even_with_other_random_samples() -> None:
    """Coarse by design: white-noise bursts at the same times are the same sound to it (and to a listener)."""
    assert same_audio(fingerprint(render(NoiseBursts(5, seed=1))), fingerprint(render(NoiseBursts(5, seed=2))))


def test_it_round_trips_through_json() -> None:
    fp = fingerprint(clip("tones"))
    assert fp is not None
    again = Fingerprint.from_json(fp.to_json())
    assert again is not None and distance(fp, again) == 0.0 and again.duration_s == fp.duration_s
    assert Fingerprint.from_json({"version": 0, "cells": [[0] * 16]}) is None
