"""Derive what the models consume from a validated clip: sampled frames and 16 kHz mono audio.

The teacher sees ``n`` frames taken uniformly (the centers of ``n`` equal segments, so the first and
last moments are not over-represented); the verifier and the student hear the audio resampled to
16 kHz mono. Derived files go to the content-addressed media store under keys made from the clip's
hash and the extraction parameters, so ingesting the same clip twice writes nothing new.

Call :func:`sightsound.media.probe.probe_video` first: these functions assume a decodable file and
translate any decoding failure into :class:`~sightsound.media.errors.CorruptMedia`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import TypeVar

import av
import av.container
import numpy as np
import numpy.typing as npt
import soundfile
from PIL import Image

from sightsound.media.errors import CorruptMedia
from sightsound.media.limits import check_decoded
from sightsound.media.probe import find_video_stream, translate_av_errors
from sightsound.media.store import MediaStore, open_url, sharded
from sightsound.media.waveform import extract_audio

T = TypeVar("T")

JPEG_QUALITY = 90
# A target further ahead than this is reached by seeking to the keyframe before it rather than by
# decoding every frame in between (decoding a GOP of a few seconds costs less than a seek + GOP).
SEEK_AHEAD_S = 2.0
_HASH = re.compile(r"[0-9a-f]{16,128}")


# --- pure logic ------------------------------------------------------------------------------------


def sample_frame_times(duration_s: float, n: int) -> list[float]:
    """Times of ``n`` uniformly sampled frames: the centers of ``n`` equal segments of the clip.

    >>> sample_frame_times(4.0, 4)
    [0.5, 1.5, 2.5, 3.5]
    >>> sample_frame_times(0.0, 2)
    [0.0, 0.0]
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    duration_s = max(duration_s, 0.0)
    return [(i + 0.5) * duration_s / n for i in range(n)]


def fit_within(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Size with the longest side at most ``max_side``, aspect kept; never enlarges.

    >>> fit_within(1920, 1080, 448)
    (448, 252)
    >>> fit_within(320, 240, 448)
    (320, 240)
    """
    if max_side < 1:
        raise ValueError("max_side must be at least 1")
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def pick_nearest(timed: Iterable[tuple[float, T]], targets: list[float]) -> list[T]:
    """For each target time (ascending), the item whose time is nearest; one pass, ties go to the earlier.

    ``timed`` must be in ascending time. Targets past the last item get the last item.

    >>> pick_nearest([(0.0, "a"), (1.0, "b"), (2.0, "c")], [0.4, 0.6, 1.5, 9.0])
    ['a', 'b', 'b', 'c']
    """
    if any(b < a for a, b in pairwise(targets)):
        raise ValueError("targets must be ascending")
    picked: list[T] = []
    previous: tuple[float, T] | None = None
    for t, item in timed:
        while len(picked) < len(targets) and t >= targets[len(picked)]:
            target = targets[len(picked)]
            use_prev = previous is not None and target - previous[0] <= t - target
            picked.append(previous[1] if use_prev and previous is not None else item)
        if len(picked) == len(targets):
            break
        previous = (t, item)
    if previous is not None:
        picked += [previous[1]] * (len(targets) - len(picked))
    return picked


def frame_key(content_hash: str, frames: int, max_side: int, index: int) -> str:
    return f"frames/{sharded(content_hash)}/{frames}x{max_side}/{index:03d}.jpg"


def audio_key(content_hash: str, sample_rate: int) -> str:
    return f"audio/{sharded(content_hash)}-{sample_rate}.wav"


# --- decoding --------------------------------------------------------------------------------------


def _duration_s(container: av.container.InputContainer, stream: av.VideoStream, time_base: Fraction) -> float:
    if stream.duration:
        return float(stream.duration * time_base)
    if container.duration:
        return float(container.duration / av.time_base)
    # No duration in the header: find where the packets end (demux only, no decoding).
    start, end = None, 0.0
    for packet in container.demux(stream):
        if packet.pts is not None:
            t = float(packet.pts * time_base)
            start = t if start is None else min(start, t)
            end = max(end, float((packet.pts + (packet.duration or 0)) * time_base))
    container.seek(0)
    return end - (start or 0.0)


def _timed_frames(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    time_base: Fraction,
    targets: list[float],
    start_s: float,
    max_decoded_frames: int | None = None,
) -> Iterator[tuple[float, av.VideoFrame]]:
    """Decoded frames with their times (from the stream start), seeking ahead when the next target is far.

    Frames come in ascending time, as :func:`pick_nearest` needs: after a seek, frames before the
    last yielded time are skipped. Every decoded frame counts against ``max_decoded_frames`` (skipped ones
    too: a clip with few keyframes decodes a whole GOP per target).
    """
    last_t = -1.0
    decoded = 0
    pending = list(targets)
    while pending:
        target = pending[0]
        if target - max(last_t, 0.0) > SEEK_AHEAD_S or last_t < 0:
            container.seek(int((start_s + target) / time_base), stream=stream, backward=True)
        reached = False
        for frame in container.decode(stream):
            decoded += 1
            if max_decoded_frames is not None:
                check_decoded(decoded, max_decoded_frames)
            if frame.time is None:
                continue
            t = frame.time - start_s
            if t <= last_t:
                continue
            last_t = t
            yield t, frame
            while pending and t >= pending[0]:
                pending.pop(0)
            if pending and pending[0] - t > SEEK_AHEAD_S:
                reached = True
                break
        if not reached:
            return


def extract_frames(path: str | Path, n: int, max_side: int, *, max_decoded_frames: int | None = None
                   ) -> list[Image.Image]:
    """``n`` RGB frames nearest the :func:`sample_frame_times`, the longest side at most ``max_side``; at most
    ``max_decoded_frames`` frames are decoded (:class:`~sightsound.media.errors.TooCostlyToDecode` past it)."""
    with translate_av_errors(CorruptMedia, "the video could not be decoded"), av.open(str(path)) as container:
        stream = find_video_stream(container)
        time_base = stream.time_base
        if time_base is None:
            raise CorruptMedia("the video track has no time base; re-encode it and upload it again")
        stream.thread_type = "AUTO"
        duration = _duration_s(container, stream, time_base)
        start_s = float(stream.start_time * time_base) if stream.start_time is not None else 0.0
        targets = sample_frame_times(duration, n)
        timed = _timed_frames(container, stream, time_base, targets, start_s, max_decoded_frames)
        frames = pick_nearest(timed, targets)
        if len(frames) < n:
            raise CorruptMedia("the video has no decodable frames; re-encode it and upload it again")
        images = []
        for frame in frames:
            width, height = fit_within(frame.width, frame.height, max_side)
            rgb = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA")
            images.append(Image.fromarray(rgb.to_ndarray(), mode="RGB"))
        return images


# --- storing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestResult:
    frame_urls: list[str]
    audio_url: str | None
    audio_duration_s: float | None
    frame_size: tuple[int, int]  # (width, height) of the stored frames


def _has_audio_track(path: Path) -> bool:
    with translate_av_errors(CorruptMedia, "the video could not be opened"), av.open(str(path)) as container:
        return bool(container.streams.audio)


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def _wav(samples: npt.NDArray[np.float32], sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(samples, -1.0, 1.0), sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def ingest_clip(
    path: str | Path, store: MediaStore, *, content_hash: str, frames: int, max_side: int, sample_rate: int,
    max_audio_s: float | None = None, max_decoded_frames: int | None = None,
) -> IngestResult:
    """Extract frames and audio of a validated clip into ``store``; idempotent.

    ``max_audio_s`` and ``max_decoded_frames`` bound the work whatever the file's header claims: decoding
    stops with a :class:`~sightsound.media.errors.MediaLimitExceeded` once either is passed.

    Keys depend only on ``content_hash`` and the parameters. What is already stored is not decoded or
    written again: a second call reads the stored frame size and WAV header and returns the same URLs.
    """
    if not _HASH.fullmatch(content_hash):
        raise ValueError("content_hash must be a lowercase hex digest")
    path = Path(path)
    frame_keys = [frame_key(content_hash, frames, max_side, i) for i in range(frames)]
    if all(store.exists(k) for k in frame_keys):
        with open_url(store.url(frame_keys[0])) as handle, Image.open(handle) as stored:
            frame_size = stored.size
    else:
        images = extract_frames(path, frames, max_side, max_decoded_frames=max_decoded_frames)
        for key, image in zip(frame_keys, images, strict=True):
            if not store.exists(key):
                store.put_bytes(key, _jpeg(image))
        frame_size = images[0].size
    audio_url, audio_duration = None, None
    if _has_audio_track(path):
        key = audio_key(content_hash, sample_rate)
        if store.exists(key):
            with open_url(store.url(key)) as handle:
                info = soundfile.info(handle)
            audio_url, audio_duration = store.url(key), info.frames / info.samplerate
        else:
            samples = extract_audio(path, sample_rate, max_duration_s=max_audio_s)
            if samples is not None and len(samples) > 0:
                audio_url, audio_duration = store.put_bytes(key, _wav(samples, sample_rate)), len(samples) / sample_rate
    return IngestResult([store.url(k) for k in frame_keys], audio_url, audio_duration, frame_size)
