"""Generated audio whose truth is known, written as WAV files for the verifier tests."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from sightsound.config import Settings

# Two cores shared with other work: one thread per library keeps the suite predictable.
torch.set_num_threads(1)

RATE = 16_000


def tone(seconds: float = 2.0, freq: float = 440.0, amplitude: float = 0.5, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def noise_ramp(seconds: float = 3.0, start_db: float = -40.0, end_db: float = -6.0, seed: int = 0) -> np.ndarray:
    """White noise whose gain moves linearly in dB from ``start_db`` to ``end_db``."""
    n = int(seconds * RATE)
    gain = 10.0 ** (np.linspace(start_db, end_db, n) / 20.0)
    noise = np.random.default_rng(seed).standard_normal(n) * 0.3
    return np.clip(noise * gain, -1.0, 1.0).astype(np.float32)


def silence(seconds: float = 2.0) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.float32)


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    sf.write(path, samples, rate, subtype="FLOAT" if samples.dtype == np.float32 else "PCM_16")
    return path


@pytest.fixture(scope="session")
def speech_samples(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """About 4 s of espeak-ng speech, resampled to 16 kHz mono."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install -y espeak-ng)")
    path = tmp_path_factory.mktemp("speech") / "espeak.wav"
    text = "Hello there. The weather is lovely today and we are going to the park."
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True, timeout=60)
    from sightsound_verifier.audio import decode_audio

    return decode_audio(path.read_bytes(), RATE, 600.0).samples


@pytest.fixture(scope="session")
def verifier_media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The media root the verifier apps of these tests read from (audio URLs outside it are refused)."""
    return tmp_path_factory.mktemp("verifier-media")


@pytest.fixture(scope="session")
def verifier_settings(verifier_media_root: Path) -> Settings:
    return Settings(media_root=verifier_media_root, verifier_cpu_threads=1)


@pytest.fixture
def wav_url(verifier_media_root: Path) -> Callable[..., str]:
    """Write samples to a WAV under the media root and hand back its ``file://`` URL."""
    folder = Path(tempfile.mkdtemp(dir=verifier_media_root, prefix="clips-"))
    counter = iter(range(1_000_000))

    def make(samples: np.ndarray, rate: int = RATE) -> str:
        return write_wav(folder / f"clip{next(counter)}.wav", samples, rate).as_uri()

    return make


class Signals:
    """The generators above, handed to tests as a fixture (conftest modules are not importable)."""

    rate = RATE
    tone = staticmethod(tone)
    noise_ramp = staticmethod(noise_ramp)
    silence = staticmethod(silence)


@pytest.fixture(scope="session")
def signals() -> type[Signals]:
    return Signals
