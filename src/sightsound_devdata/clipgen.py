"""Generator of small test clips with known content, for the tests and the README demo.

Audio is described by composable :class:`AudioSpec` blocks (tones, noise bursts, espeak-ng speech,
silence, loudness ramps, concatenation and mixing) whose ground truth is known by construction: a
test can assert "three bursts", "a 440 Hz tone", "speech then silence" against what the analyzers find.
Video is drawn with Pillow (a coloured background, a shape moving left to right, an optional caption),
so a test can also tell *which* frame was sampled from where the shape is.

Clips are muxed by PyAV into MP4 (H.264 via libx264, or MPEG-4 part 2 if this PyAV build lacks
libx264; AAC audio). Helpers also make bad inputs: truncated files and text with a ``.mp4`` name.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal, cast

import av
import numpy as np
import numpy.typing as npt
import soundfile
from PIL import Image, ImageDraw, ImageFont

from sightsound.media import isobmff

FloatArray = npt.NDArray[np.float32]
RGB = tuple[int, int, int]

FADE_S = 0.005  # short fades keep block edges from clicking (a click is a broadband onset)


class ClipGenError(RuntimeError):
    """A clip could not be generated (e.g. espeak-ng is not installed)."""


def _fade(x: FloatArray, sample_rate: int, fade_s: float = FADE_S) -> FloatArray:
    n = min(int(fade_s * sample_rate), len(x) // 2)
    if n > 0:
        ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
        x = x.copy()
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def _samples(seconds: float, sample_rate: int) -> int:
    return max(0, round(seconds * sample_rate))


def resample(x: FloatArray, source_rate: int, target_rate: int) -> FloatArray:
    """Resample mono float audio with libswresample (through PyAV)."""
    if source_rate == target_rate or len(x) == 0:
        return x.astype(np.float32)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x, np.float32)[None, :], format="flt", layout="mono")
    frame.sample_rate = source_rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=target_rate)
    chunks = [f.to_ndarray()[0] for f in [*resampler.resample(frame), *resampler.resample(None)]]
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


class AudioSpec(ABC):
    """A piece of mono audio that renders itself at any sample rate; ``a + b`` concatenates."""

    @abstractmethod
    def render(self, sample_rate: int) -> FloatArray:
        """Samples in [-1, 1], float32, mono."""

    def __add__(self, other: AudioSpec) -> Concat:
        return Concat((self, other))


@dataclass(frozen=True)
class Silence(AudioSpec):
    seconds: float

    def render(self, sample_rate: int) -> FloatArray:
        return np.zeros(_samples(self.seconds, sample_rate), np.float32)


@dataclass(frozen=True)
class Tone(AudioSpec):
    freq_hz: float
    seconds: float
    amplitude: float = 0.5

    def render(self, sample_rate: int) -> FloatArray:
        t = np.arange(_samples(self.seconds, sample_rate)) / sample_rate
        x = (self.amplitude * np.sin(2 * np.pi * self.freq_hz * t)).astype(np.float32)
        return _fade(x, sample_rate)


@dataclass(frozen=True)
class Noise(AudioSpec):
    """White noise (seeded, so a clip is reproducible byte for byte)."""

    seconds: float
    amplitude: float = 0.3
    seed: int = 0

    def render(self, sample_rate: int) -> FloatArray:
        rng = np.random.default_rng(self.seed)
        n = _samples(self.seconds, sample_rate)
        x = rng.uniform(-self.amplitude, self.amplitude, n).astype(np.float32)
        return _fade(x, sample_rate)


@dataclass(frozen=True)
class NoiseBursts(AudioSpec):
    """``count`` bursts of noise: ``lead_s`` silence, then burst/gap pairs (the last gap is the tail)."""

    count: int
    burst_s: float = 0.15
    gap_s: float = 0.35
    amplitude: float = 0.8
    lead_s: float = 0.2
    seed: int = 0

    def render(self, sample_rate: int) -> FloatArray:
        parts: list[AudioSpec] = [Silence(self.lead_s)]
        for i in range(self.count):
            parts += [Noise(self.burst_s, self.amplitude, self.seed + i), Silence(self.gap_s)]
        return Concat(tuple(parts)).render(sample_rate)


@dataclass(frozen=True)
class Ramp(AudioSpec):
    """Noise or a tone whose level moves linearly in dB from ``start_db`` to ``end_db`` (dBFS peak)."""

    seconds: float
    direction: Literal["rising", "falling"] = "rising"
    source: Literal["noise", "tone"] = "noise"
    freq_hz: float = 440.0
    quiet_db: float = -40.0
    loud_db: float = -3.0
    seed: int = 0

    def render(self, sample_rate: int) -> FloatArray:
        base = (
            Noise(self.seconds, 1.0, self.seed) if self.source == "noise" else Tone(self.freq_hz, self.seconds, 1.0)
        ).render(sample_rate)
        start, end = (self.quiet_db, self.loud_db) if self.direction == "rising" else (self.loud_db, self.quiet_db)
        gain = 10.0 ** (np.linspace(start, end, len(base)) / 20.0)
        return (base * gain).astype(np.float32)


@dataclass(frozen=True)
class Speech(AudioSpec):
    """``text`` spoken by espeak-ng (``espeak-ng -w``), resampled to the requested rate."""

    text: str
    voice: str = "en-us"
    words_per_minute: int = 160
    amplitude: float = 0.9

    def render(self, sample_rate: int) -> FloatArray:
        exe = shutil.which("espeak-ng")
        if exe is None:
            raise ClipGenError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "speech.wav"
            # Text goes through stdin so that a text starting with "-" is never read as an option.
            subprocess.run(
                [exe, "-v", self.voice, "-s", str(self.words_per_minute), "-w", str(wav), "--stdin"],
                input=self.text.encode(),
                check=True,
                capture_output=True,
                timeout=60,
            )
            data, rate = soundfile.read(wav, dtype="float32", always_2d=True)
        x = resample(data.mean(axis=1).astype(np.float32), int(rate), sample_rate)
        peak = float(np.max(np.abs(x))) if len(x) else 0.0
        return (x * (self.amplitude / peak)).astype(np.float32) if peak > 0 else x


@dataclass(frozen=True)
class Concat(AudioSpec):
    parts: tuple[AudioSpec, ...]

    def render(self, sample_rate: int) -> FloatArray:
        chunks = [p.render(sample_rate) for p in self.parts]
        return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


@dataclass(frozen=True)
class Mix(AudioSpec):
    """Parts played at once (summed, padded to the longest, clipped to [-1, 1])."""

    parts: tuple[AudioSpec, ...]

    def render(self, sample_rate: int) -> FloatArray:
        chunks = [p.render(sample_rate) for p in self.parts]
        out = np.zeros(max((len(c) for c in chunks), default=0), np.float32)
        for c in chunks:
            out[: len(c)] += c
        return np.clip(out, -1.0, 1.0)


def fit_length(x: FloatArray, n: int) -> FloatArray:
    """Pad with silence or cut to exactly ``n`` samples."""
    return x[:n] if len(x) >= n else np.concatenate([x, np.zeros(n - len(x), np.float32)])


@dataclass(frozen=True)
class VideoSpec:
    """Drawn frames: a background, a shape that crosses from left to right, an optional caption."""

    width: int = 160
    height: int = 120
    fps: int = 15
    background: RGB = (20, 40, 110)
    shape: Literal["circle", "square", "none"] = "circle"
    shape_color: RGB = (250, 210, 30)
    shape_size: float = 0.25  # fraction of the frame height
    caption: str | None = None
    caption_color: RGB = (255, 255, 255)

    def shape_center(self, t: float, duration_s: float) -> tuple[float, float]:
        """Where the shape's center is at time ``t``: it moves linearly from 1/8 to 7/8 of the width."""
        progress = 0.0 if duration_s <= 0 else min(max(t / duration_s, 0.0), 1.0)
        return (self.width * (0.125 + 0.75 * progress), self.height / 2)

    def draw(self, t: float, duration_s: float) -> Image.Image:
        img = Image.new("RGB", (self.width, self.height), self.background)
        pen = ImageDraw.Draw(img)
        if self.shape != "none":
            cx, cy = self.shape_center(t, duration_s)
            r = self.shape_size * self.height / 2
            box = (cx - r, cy - r, cx + r, cy + r)
            (pen.ellipse if self.shape == "circle" else pen.rectangle)(box, fill=self.shape_color)
        if self.caption:
            font = ImageFont.load_default(size=max(10, self.height // 10))
            pen.text((4, self.height - self.height // 7 - 4), self.caption, fill=self.caption_color, font=font)
        return img


def video_codec_name() -> str:
    """libx264 when PyAV's bundled FFmpeg has it (the PyPI wheels do), otherwise MPEG-4 part 2."""
    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


@dataclass(frozen=True)
class ClipInfo:
    path: Path
    duration_s: float
    frames: int
    audio_samples: FloatArray | None = field(repr=False)
    audio_rate: int


def make_clip(
    path: str | Path,
    video: VideoSpec | None = None,
    audio: AudioSpec | None = None,
    duration_s: float | None = None,
    *,
    audio_rate: int = 44_100,
    faststart: bool = False,
    keyframe_every_s: float = 1.0,
    container: Literal["mp4", "matroska"] = "mp4",
) -> Path:
    """Mux a clip (MP4 by default); ``audio=None`` writes no audio track.

    ``duration_s`` defaults to the audio's length (or 2 s without audio); audio is padded with silence or
    cut to it. ``faststart=True`` puts the ``moov`` index before the media data (as web uploads often
    have), otherwise the muxer writes it at the end. ``container="matroska"`` writes MKV with the same
    codecs, for the code paths that differ between containers. A keyframe every ``keyframe_every_s``
    gives seeking something to land on, as in real footage.
    """
    return make_clip_info(
        path,
        video,
        audio,
        duration_s,
        audio_rate=audio_rate,
        faststart=faststart,
        keyframe_every_s=keyframe_every_s,
        container=container,
    ).path


def make_clip_info(
    path: str | Path,
    video: VideoSpec | None = None,
    audio: AudioSpec | None = None,
    duration_s: float | None = None,
    *,
    audio_rate: int = 44_100,
    faststart: bool = False,
    keyframe_every_s: float = 1.0,
    container: Literal["mp4", "matroska"] = "mp4",
) -> ClipInfo:
    """Like :func:`make_clip`, also returning the rendered audio (the ground truth) and frame count."""
    video = video or VideoSpec()
    if video.width % 2 or video.height % 2:
        raise ValueError("width and height must be even (yuv420p)")
    samples = audio.render(audio_rate) if audio is not None else None
    if duration_s is None:
        duration_s = len(samples) / audio_rate if samples is not None and len(samples) else 2.0
    n_frames = max(1, round(duration_s * video.fps))
    if samples is not None:
        samples = fit_length(samples, round(duration_s * audio_rate))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": "+faststart"} if faststart and container == "mp4" else {}
    with av.open(str(out), mode="w", format=container, options=options) as muxer:
        vstream = cast("av.VideoStream", muxer.add_stream(video_codec_name(), rate=video.fps))
        vstream.width, vstream.height, vstream.pix_fmt = video.width, video.height, "yuv420p"
        vstream.codec_context.gop_size = max(1, round(keyframe_every_s * video.fps))
        if vstream.codec_context.name == "libx264":
            vstream.codec_context.options = {"preset": "ultrafast", "crf": "23"}
        astream = muxer.add_stream("aac", rate=audio_rate, layout="mono") if samples is not None else None
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(np.asarray(video.draw(i / video.fps, duration_s)), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, video.fps)
            muxer.mux(vstream.encode(frame))
        muxer.mux(vstream.encode(None))
        if astream is not None and samples is not None:
            chunk = 1024  # the AAC frame size
            for start in range(0, len(samples), chunk):
                block = fit_length(samples[start : start + chunk], chunk)
                aframe = av.AudioFrame.from_ndarray(block[None, :], format="fltp", layout="mono")
                aframe.sample_rate, aframe.pts = audio_rate, start
                aframe.time_base = Fraction(1, audio_rate)
                muxer.mux(astream.encode(aframe))
            muxer.mux(astream.encode(None))
    return ClipInfo(out, duration_s, n_frames, samples, audio_rate)


# --- bad inputs ------------------------------------------------------------------------------------


def make_truncated(src: str | Path, dst: str | Path, keep_fraction: float, *, fix_boxes: bool = False) -> Path:
    """Copy the first ``keep_fraction`` of ``src``'s bytes, as an interrupted upload would leave them.

    ``fix_boxes=True`` then rewrites the size of the last MP4 top-level box to end where the file now
    ends, so the box structure looks whole (as when a recorder writes ``mdat`` with size 0, "to the end
    of the file"): such a cut can only be found by reading and decoding the packets.
    """
    if not 0.0 <= keep_fraction < 1.0:
        raise ValueError("keep_fraction must be in [0, 1)")
    data = bytearray(Path(src).read_bytes()[: math.floor(Path(src).stat().st_size * keep_fraction)])
    if fix_boxes:
        cut = [b for b in isobmff.top_level_boxes(src) if b.offset + 8 <= len(data) < b.end]
        if cut:
            data[cut[0].offset : cut[0].offset + 4] = (len(data) - cut[0].offset).to_bytes(4, "big")
    out = Path(dst)
    out.write_bytes(bytes(data))
    return out


def make_corrupt_tail(src: str | Path, dst: str | Path) -> Path:
    """Overwrite with zeros every video packet from the last keyframe on; sizes and index stay intact.

    The start of the clip still decodes and demuxing sees every packet: only decoding the end finds it.
    """
    data = bytearray(Path(src).read_bytes())
    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        packets = [(p.pts or 0, p.pos, p.size, p.is_keyframe) for p in container.demux(stream) if p.size]
    last_key = max(pts for pts, _, _, key in packets if key)
    for pts, pos, size, _ in packets:
        if pts >= last_key and pos is not None and pos >= 0:
            data[pos : pos + size] = bytes(size)
    out = Path(dst)
    out.write_bytes(bytes(data))
    return out


def make_fake_mp4(dst: str | Path, text: str = "this is not a video, just text with an .mp4 name\n") -> Path:
    out = Path(dst)
    out.write_bytes(text.encode() * 20)
    return out


# --- CLI -------------------------------------------------------------------------------------------

KINDS: dict[str, tuple[AudioSpec | None, str]] = {
    "speech": (Silence(0.3) + Speech("the dog barks twice and then a bell rings") + Silence(0.3), "speech"),
    "tone": (Tone(440.0, 3.0), "440 Hz tone"),
    "bursts": (NoiseBursts(3), "3 noise bursts"),
    "silence": (Silence(2.0), "silence"),
    "ramp": (Ramp(3.0, "rising"), "rising noise"),
    "noaudio": (None, "no audio track"),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sightsound_devdata.clipgen", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="output .mp4 path")
    parser.add_argument("--kind", choices=sorted(KINDS), default="tone")
    parser.add_argument("--duration", type=float, default=None, help="seconds (default: the audio's length)")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--faststart", action="store_true", help="write the moov index first")
    args = parser.parse_args(argv)
    audio, caption = KINDS[args.kind]
    video = VideoSpec(width=args.width, height=args.height, fps=args.fps, caption=caption)
    info = make_clip_info(args.out, video, audio, args.duration, faststart=args.faststart)
    print(f"{info.path}: {info.duration_s:.2f} s, {info.frames} frames, {caption}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
