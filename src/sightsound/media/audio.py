"""Audio-only clips: validate an audio file by decoding it, and store its 16 kHz mono WAV.

Benchmarks such as MMAU ship audio files, not videos. They go through the same steps as an uploaded
video, minus the frames: FFmpeg (through PyAV) must open the file and find an audio track, the
header's duration is checked against the limits before anything is decoded, then every packet is
decoded (audio is cheap to decode, so this is the strongest check there is) while the decoded length
is checked against the limits again. A WAV file whose ``data`` chunk promises more bytes than the file
holds is refused as truncated (FFmpeg itself silently shortens it). Extension and MIME type are never
trusted. The stored audio is the same 16 kHz mono 16-bit WAV, under the same key, as the video path
writes, so the verifier and the student read both alike.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import av
import av.container
import soundfile

from sightsound.media.errors import CorruptMedia, NoAudioStream, NotAudio, TooLong, TruncatedMedia
from sightsound.media.ingest import _wav, audio_key
from sightsound.media.limits import check_audio_format, check_streams
from sightsound.media.probe import AV_ERRORS, IMAGE_FORMATS, MediaLimits, translate_av_errors
from sightsound.media.store import MediaStore, open_url
from sightsound.media.waveform import extract_audio

RIFF_HEADER_BYTES = 4096  # the ``data`` chunk header sits within the first few hundred bytes of any WAV
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)  # what streaming writers put in a size field they could not go back to fill


@dataclass(frozen=True)
class AudioProbeResult:
    duration_s: float  # decoded samples / sample rate, not the header's claim
    sample_rate: int
    channels: int
    codec: str
    container_format: str


@dataclass(frozen=True)
class AudioIngestResult:
    audio_url: str
    audio_duration_s: float


# --- pure logic ------------------------------------------------------------------------------------


def wav_truncation_problem(header: bytes, file_size: int) -> str | None:
    """Why a RIFF/WAVE file looks cut short, from its first bytes and its size; None when it does not.

    >>> fmt = b"fmt " + struct.pack("<I", 16) + bytes(16)
    >>> def wav(data_size, present):
    ...     body = b"WAVE" + fmt + b"data" + struct.pack("<I", data_size) + bytes(present)
    ...     return b"RIFF" + struct.pack("<I", len(body)) + body
    >>> whole = wav(1000, 1000)
    >>> wav_truncation_problem(whole, len(whole)) is None
    True
    >>> wav_truncation_problem(whole[:500], 500)
    'its data chunk holds 1000 bytes but the file ends after 456'
    >>> wav_truncation_problem(b"not a wav at all", 16) is None  # not RIFF: nothing to say
    True
    """
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        return None
    offset = 12
    while offset + 8 <= len(header):
        chunk_id = header[offset : offset + 4]
        (size,) = struct.unpack("<I", header[offset + 4 : offset + 8])
        start = offset + 8
        if chunk_id == b"data":
            present = file_size - start
            if size not in _UNKNOWN_SIZES and present < size:
                return f"its data chunk holds {size} bytes but the file ends after {max(present, 0)}"
            return None
        offset = start + size + (size & 1)  # chunks are padded to an even length
    return None


def check_audio_duration(duration_s: float, limits: MediaLimits, *, at_least: bool = False) -> None:
    if duration_s > limits.max_duration_s:
        raise TooLong(
            f"the audio lasts {'at least ' if at_least else ''}{duration_s:.1f} s; the longest accepted is "
            f"{limits.max_duration_s:g} s (SIGHTSOUND_MAX_DURATION_S): cut it shorter",
            limit=limits.max_duration_s,
            measured=duration_s,
        )


# --- I/O ------------------------------------------------------------------------------------------


def _open_audio(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r")
    except AV_ERRORS as exc:
        reason = str(getattr(exc, "strerror", None) or exc).strip() or type(exc).__name__
        raise NotAudio(
            f"the file is not a decodable audio file: {reason}; use WAV, FLAC, MP3, OGG or M4A (AAC)"
        ) from exc


def _header_duration_s(container: av.container.InputContainer, stream: av.AudioStream) -> float | None:
    if stream.duration and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return float(container.duration / av.time_base)
    return None


def probe_audio(path: str | Path, limits: MediaLimits) -> AudioProbeResult:
    """Validate ``path`` as audio by decoding all of it; raises a :class:`MediaError` for bad input.

    Any container works (a video's audio track too); only its first audio track is read. A missing
    file raises ``FileNotFoundError`` (that is the caller's bug, not a property of the file).
    """
    path = Path(path)
    file_size = path.stat().st_size
    if file_size == 0:
        raise NotAudio("the file is empty; provide the complete audio file")
    with path.open("rb") as handle:
        problem = wav_truncation_problem(handle.read(RIFF_HEADER_BYTES), file_size)
    if problem:
        raise TruncatedMedia(f"the audio file is truncated: {problem}; the download was probably interrupted")
    with _open_audio(path) as container:
        fmt = container.format.name
        if fmt in IMAGE_FORMATS or fmt.endswith("_pipe"):
            raise NotAudio(f"the file is a still image ({fmt}), not audio")
        if not container.streams.audio:
            kind = "it has only video" if container.streams.video else "it has no audio or video track"
            raise NoAudioStream(f"the file has no audio track ({kind}); provide a file that contains audio")
        stream = container.streams.audio[0]
        if stream.codec_context is None:
            raise NotAudio("the file's audio track uses a codec this server cannot decode; convert it to WAV or FLAC")
        rate = stream.codec_context.sample_rate
        if not rate:
            raise CorruptMedia("the audio track does not say its sample rate; convert it to WAV and try again")
        check_streams(len(container.streams), limits)
        check_audio_format(rate, stream.codec_context.channels, limits)
        header_s = _header_duration_s(container, stream)
        if header_s is not None:
            check_audio_duration(header_s, limits)
        samples = 0
        with translate_av_errors(CorruptMedia, "the audio is corrupt and does not decode"):
            for frame in container.decode(stream):
                samples += frame.samples
                check_audio_duration(samples / rate, limits, at_least=True)
        if samples == 0:
            raise CorruptMedia("the audio track holds no samples; provide a file with sound in it")
        return AudioProbeResult(
            duration_s=samples / rate,
            sample_rate=rate,
            channels=stream.codec_context.channels,
            codec=stream.codec_context.name,
            container_format=fmt,
        )


def ingest_audio(path: str | Path, store: MediaStore, *, content_hash: str, sample_rate: int) -> AudioIngestResult:
    """Store the file's audio as mono WAV at ``sample_rate`` under the clip's audio key; idempotent.

    Call :func:`probe_audio` first. What is already stored is not decoded again: a second call reads the
    stored WAV's header and returns the same URL.
    """
    key = audio_key(content_hash, sample_rate)
    if store.exists(key):
        with open_url(store.url(key)) as handle:
            info = soundfile.info(handle)
        return AudioIngestResult(store.url(key), info.frames / info.samplerate)
    samples = extract_audio(path, sample_rate)
    if samples is None or len(samples) == 0:
        raise CorruptMedia("the audio track holds no samples; provide a file with sound in it")
    return AudioIngestResult(store.put_bytes(key, _wav(samples, sample_rate)), len(samples) / sample_rate)
