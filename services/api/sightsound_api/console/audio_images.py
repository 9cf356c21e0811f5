"""Waveform and spectrogram pictures of a clip's stored 16 kHz audio, drawn server-side with numpy (a
matplotlib colour map for the spectrogram) into PNGs; both span the clip's duration edge to edge, so a time maps
to the same horizontal position on each (the page's shared time cursor)."""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from PIL import Image

from sightsound.media.store import read_url
from sightsound.media.waveform import SAMPLE_RATE, decode_bytes

WIDTH = 1200
WAVE_HEIGHT = 120
SPEC_HEIGHT = 160
N_FFT = 512
HOP = 160  # 10 ms at 16 kHz
MAX_SECONDS = 600.0


@lru_cache(maxsize=32)
def samples(audio_url: str) -> npt.NDArray[np.float32]:
    """The stored audio as mono float32 at 16 kHz (cached: a page asks for both pictures and the audio)."""
    wave = decode_bytes(read_url(audio_url), SAMPLE_RATE)
    if wave is None:
        return np.zeros(0, np.float32)
    return wave[: int(MAX_SECONDS * SAMPLE_RATE)]


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def waveform_png(wave: npt.NDArray[np.float32], width: int = WIDTH, height: int = WAVE_HEIGHT) -> bytes:
    """Min/max envelope per pixel column, dark blue on white, a grey centre line.

    >>> waveform_png(np.zeros(16000, np.float32))[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    canvas = np.full((height, width, 3), 255, np.uint8)
    mid = height // 2
    canvas[mid, :] = (200, 200, 200)
    if wave.size:
        edges = np.linspace(0, wave.size, width + 1).astype(int)
        peak = float(np.max(np.abs(wave))) or 1.0
        for x in range(width):
            chunk = wave[edges[x]: max(edges[x + 1], edges[x] + 1)]
            low, high = float(chunk.min()) / peak, float(chunk.max()) / peak
            top = int(mid - high * (mid - 2))
            bottom = int(mid - low * (mid - 2))
            canvas[min(top, bottom): max(top, bottom) + 1, x] = (31, 78, 121)
    return _png(Image.fromarray(canvas))


def spectrogram_png(wave: npt.NDArray[np.float32], width: int = WIDTH, height: int = SPEC_HEIGHT) -> bytes:
    """Log-magnitude STFT (512-point Hann window, 10 ms hop, 0-8 kHz bottom to top), 80 dB range, viridis.

    >>> spectrogram_png(np.zeros(100, np.float32))[:4] == b"\\x89PNG"
    True
    """
    from matplotlib import colormaps

    if wave.size < N_FFT:
        wave = np.pad(wave, (0, N_FFT - wave.size))
    frames = 1 + (wave.size - N_FFT) // HOP
    index = np.arange(N_FFT)[None, :] + HOP * np.arange(frames)[:, None]
    spectrum = np.abs(np.fft.rfft(wave[index] * np.hanning(N_FFT).astype(np.float32), axis=1))
    db = 20 * np.log10(np.maximum(spectrum, 1e-6))
    db = np.clip((db - (db.max() - 80.0)) / 80.0, 0.0, 1.0).T[::-1]  # frequency bottom-up
    rgb = (colormaps["viridis"](db)[:, :, :3] * 255).astype(np.uint8)
    return _png(Image.fromarray(rgb).resize((width, height), Image.Resampling.BILINEAR))
