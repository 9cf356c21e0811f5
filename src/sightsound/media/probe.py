"""Validate an uploaded video by decoding it, and describe it.

A file is accepted only if FFmpeg (through PyAV) can open it, it has a video track, its first video
frame (and first audio frame, if it has audio) decodes, every packet up to the end can be read, and
the last group of pictures decodes too. Extension and MIME type are never trusted. The cheap checks
run first (header limits before reading the whole file; packet demuxing, which does not decode,
before any decoding), so an oversized or broken upload is refused quickly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import av.container
import av.stream

from sightsound.media import isobmff
from sightsound.media.errors import CorruptMedia, MediaError, NotAVideo, NoVideoStream, TruncatedMedia
from sightsound.media.limits import MediaLimits as MediaLimits  # re-exported: the limits' historical home
from sightsound.media.limits import (
    check_audio_format,
    check_decode_cost,
    check_duration,
    check_frame_count,
    check_resolution,
    check_streams,
)

# Exceptions PyAV raises for bad input: FFmpegError (which also subclasses OSError/ValueError per errno),
# plus plain ValueError/EOFError for malformed metadata and streams.
AV_ERRORS: tuple[type[BaseException], ...] = (av.FFmpegError, ValueError, EOFError)

# Demuxers that read still images: a PNG or JPEG opens with a one-frame "video" stream.
IMAGE_FORMATS = ("image2", "webp_pipe")

# Containers whose header duration is written by the muxer (not estimated from the bitrate), so data
# that stops well before it means the file was cut.
PRECISE_DURATION_FORMATS = ("matroska,webm", "flv", "asf", "avi")


@dataclass(frozen=True)
class ProbeResult:
    duration_s: float
    fps: float
    width: int
    height: int
    frame_count: int  # counted from the demuxed video packets, so exact even when the header lacks it
    has_audio: bool  # an audio track exists and at least one of its frames decodes
    audio_sample_rate: int | None
    video_codec: str
    audio_codec: str | None
    container_format: str


@contextmanager
def translate_av_errors(error: type[MediaError], what: str) -> Iterator[None]:
    """Turn any PyAV/FFmpeg exception inside the block into ``error`` with a message about ``what``."""
    try:
        yield
    except MediaError:
        raise
    except AV_ERRORS as exc:
        raise error(f"{what}: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    strerror = getattr(exc, "strerror", None)
    return str(strerror or exc).strip() or type(exc).__name__


# --- pure checks -----------------------------------------------------------------------------------


@dataclass
class StreamTally:
    """What demuxing (without decoding) saw of one stream."""

    packets: int = 0
    corrupt: int = 0
    first_pts: int | None = None
    end_pts: int | None = None  # largest pts + duration
    last_key_pts: int | None = None
    gop: int = 0  # packets since the last keyframe, that one included
    longest_gop: int = 0  # the most packets one decode from a keyframe may need

    def add(self, pts: int | None, duration: int, is_key: bool, is_corrupt: bool) -> None:
        self.packets += 1
        self.corrupt += int(is_corrupt)
        self.gop = 1 if is_key else self.gop + 1
        self.longest_gop = max(self.longest_gop, self.gop)
        if pts is not None:
            self.first_pts = pts if self.first_pts is None else min(self.first_pts, pts)
            end = pts + max(duration, 0)
            self.end_pts = end if self.end_pts is None else max(self.end_pts, end)
            if is_key:
                self.last_key_pts = pts if self.last_key_pts is None else max(self.last_key_pts, pts)


def duration_shortfall(kind: str, header_s: float | None, measured_s: float | None, fps: float) -> str | None:
    """Why a track looks cut short when its data ends before its header says it does.

    The slack (2.5 frames, at least 0.1 s) absorbs the last packet lacking a duration in some
    containers; a cut smaller than that is not seen here.

    >>> duration_shortfall("video", 3.0, 2.0, 15.0)
    'its header says the video lasts 3.00 s but its data stops at 2.00 s'
    >>> duration_shortfall("video", 3.0, 2.95, 15.0) is None
    True
    """
    if not header_s or measured_s is None:
        return None
    tolerance = max(0.1, 2.5 / fps if fps > 0 else 0.0)
    if measured_s < header_s - tolerance:
        return f"its header says the {kind} lasts {header_s:.2f} s but its data stops at {measured_s:.2f} s"
    return None


def truncation_reason(kind: str, tally: StreamTally, header_frames: int) -> str | None:
    """Why one stream looks cut short, from what demuxing saw against what the header promises.

    >>> truncation_reason("video", StreamTally(packets=40), 45)
    'its header lists 45 video packets but only 40 are present'
    >>> truncation_reason("audio", StreamTally(packets=45, corrupt=1), 45)
    '1 audio packet(s) are incomplete'
    >>> truncation_reason("video", StreamTally(packets=45), 0) is None  # the header does not say
    True
    """
    if tally.corrupt:
        return f"{tally.corrupt} {kind} packet(s) are incomplete"
    if header_frames > 0 and tally.packets < header_frames:
        return f"its header lists {header_frames} {kind} packets but only {tally.packets} are present"
    return None


# --- I/O ------------------------------------------------------------------------------------------


def _open(path: Path, boxes: list[isobmff.Box]) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r")
    except AV_ERRORS as exc:
        if isobmff.looks_like_isobmff(boxes):
            problem = isobmff.truncation_problem(boxes, path.stat().st_size)
            if problem:
                raise TruncatedMedia(
                    f"the video is truncated: {problem}; the upload or recording was probably interrupted, "
                    "upload the complete file"
                ) from exc
            raise CorruptMedia(f"the MP4/MOV file is corrupt and cannot be opened: {_reason(exc)}") from exc
        raise NotAVideo(
            f"the file is not a decodable video: {_reason(exc)}; upload a video file such as MP4 "
            "(H.264/AAC), WebM or MKV"
        ) from exc


def find_video_stream(container: av.container.InputContainer) -> av.VideoStream:
    """The first real video track (cover art in audio files is a one-picture 'video' and is skipped)."""
    streams = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not streams:
        has_audio = bool(container.streams.audio)
        hint = "it has only audio" if has_audio else "it has no video or audio track"
        raise NoVideoStream(f"the file has no video track ({hint}); upload a clip that contains video")
    return streams[0]


def _seconds(value: int | None, stream: av.stream.Stream) -> float | None:
    if value is None or stream.time_base is None:
        return None
    return float(value * stream.time_base)


def _header_duration(stream: av.stream.Stream, container: av.container.InputContainer) -> float | None:
    if stream.duration:
        return _seconds(stream.duration, stream)
    if container.duration:
        return float(container.duration / av.time_base)
    return None


def _demux_all(
    container: av.container.InputContainer,
    video: av.stream.Stream,
    audio: av.stream.Stream | None,
    limits: MediaLimits,
) -> dict[int, StreamTally]:
    """Read every packet of the two streams without decoding; stop early once a limit is passed."""
    tallies = {video.index: StreamTally()}
    if audio is not None:
        tallies[audio.index] = StreamTally()
    streams: list[Any] = [video] if audio is None else [video, audio]
    vt = tallies[video.index]
    with translate_av_errors(CorruptMedia, "the video is corrupt: reading its packets failed"):
        for packet in container.demux(streams):
            if packet.size == 0 and packet.pts is None:  # the flush packet PyAV yields at the end
                continue
            tallies[packet.stream.index].add(packet.pts, packet.duration or 0, packet.is_keyframe, packet.is_corrupt)
            if packet.stream.index == video.index:
                check_frame_count(vt.packets, limits, at_least=True)
                check_decode_cost(vt.longest_gop, limits, at_least=True)
                span = _span_s(vt, video)
                if span is not None:
                    check_duration(span, limits, at_least=True)
            elif audio is not None:
                span = _span_s(tallies[audio.index], audio)
                if span is not None:
                    check_duration(span, limits, at_least=True, what="audio track")
    return tallies


def _decode_first(path: Path, stream_index: int) -> bool:
    """Whether one frame of the stream decodes, decoding from the start of the file."""
    with av.open(str(path)) as container:
        for _frame in container.decode(container.streams[stream_index]):
            return True
    return False


def _decode_tail(path: Path, video_index: int, seek_pts: int) -> int:
    """Seek to the last video keyframe, decode every video and audio packet to the end; count video frames."""
    frames = 0
    with av.open(str(path)) as container:
        video = container.streams[video_index]
        container.seek(seek_pts, stream=video, backward=True)
        streams: list[Any] = [video, *container.streams.audio[:1]]
        for packet in container.demux(streams):
            decoded = packet.decode()
            if packet.stream.index == video_index:
                frames += len(decoded)
    return frames


@dataclass(frozen=True)
class _Header:
    """What the container's header says, before any packet is read."""

    format_name: str
    video_index: int
    audio_index: int | None
    width: int
    height: int
    fps: float
    video_codec: str
    audio_codec: str | None
    audio_rate: int | None
    audio_channels: int
    streams: int
    duration_s: float | None  # of the video track, else of the container
    video_track_s: float | None
    audio_track_s: float | None
    video_frames: int  # 0 when the container does not say
    audio_frames: int


def _read_header(container: av.container.InputContainer) -> _Header:
    with translate_av_errors(NotAVideo, "the file is not a decodable video"):
        fmt = container.format.name
        if fmt in IMAGE_FORMATS or fmt.endswith("_pipe"):
            raise NotAVideo(f"the file is a still image ({fmt}), not a video; upload a video clip")
        video = find_video_stream(container)
        audio = container.streams.audio[0] if container.streams.audio else None
        if video.codec_context is None or (audio is not None and audio.codec_context is None):
            track = "video" if video.codec_context is None else "audio"
            raise NotAVideo(
                f"the file is not a decodable video: its {track} track uses a codec this server "
                "cannot decode; re-encode it as H.264 video with AAC audio"
            )
        rate = video.average_rate or video.guessed_rate or video.base_rate
        return _Header(
            format_name=fmt,
            video_index=video.index,
            audio_index=audio.index if audio else None,
            width=video.codec_context.width,
            height=video.codec_context.height,
            fps=float(rate) if rate else 0.0,
            video_codec=video.codec_context.name,
            audio_codec=audio.codec_context.name if audio else None,
            audio_rate=audio.codec_context.sample_rate if audio else None,
            audio_channels=audio.codec_context.channels if audio else 0,
            streams=len(container.streams),
            duration_s=_header_duration(video, container),
            video_track_s=_seconds(video.duration, video) if video.duration else None,
            audio_track_s=_seconds(audio.duration, audio) if audio and audio.duration else None,
            video_frames=video.frames,
            audio_frames=audio.frames if audio else 0,
        )


def _span_s(tally: StreamTally, stream: av.stream.Stream) -> float | None:
    if tally.end_pts is None or tally.first_pts is None or stream.time_base is None:
        return None
    return float((tally.end_pts - tally.first_pts) * stream.time_base)


def _truncated(problem: str) -> TruncatedMedia:
    return TruncatedMedia(
        f"the video is truncated: {problem}; the upload or recording was probably interrupted, upload the complete file"
    )


def probe_video(path: str | Path, limits: MediaLimits) -> ProbeResult:
    """Validate ``path`` by decoding it and describe it; raises a :class:`MediaError` for bad input.

    A missing file raises ``FileNotFoundError`` (that is the caller's bug, not the uploader's).
    """
    path = Path(path)
    file_size = path.stat().st_size
    if file_size == 0:
        raise NotAVideo("the file is empty; upload the complete video file")
    boxes = isobmff.top_level_boxes(path)
    with _open(path, boxes) as container:
        if "mp4" in container.format.name or "mov" in container.format.name:
            problem = isobmff.truncation_problem(boxes, file_size)
            if problem:
                raise _truncated(problem)
        head = _read_header(container)
        if head.width <= 0 or head.height <= 0:
            raise CorruptMedia("the video track does not say its frame size; re-encode it and upload it again")
        # Limits from the header first: an over-long upload is refused without reading it all.
        check_resolution(head.width, head.height, limits)
        check_streams(head.streams, limits)
        if head.duration_s is not None:
            check_duration(head.duration_s, limits)
        if head.audio_track_s is not None:
            check_duration(head.audio_track_s, limits, what="audio track")
        if head.audio_index is not None:
            check_audio_format(head.audio_rate or 0, head.audio_channels, limits)
        check_frame_count(head.video_frames, limits)

        video = container.streams[head.video_index]
        audio = container.streams[head.audio_index] if head.audio_index is not None else None
        tallies = _demux_all(container, video, audio, limits)
        vt = tallies[head.video_index]
        at = tallies.get(head.audio_index) if head.audio_index is not None else None
        if vt.packets == 0:
            raise CorruptMedia("the video track holds no frames; upload a clip that contains video")
        video_span = _span_s(vt, video)
        fps = head.fps or (vt.packets / video_span if video_span else 0.0)
        audio_span = _span_s(at, audio) if audio is not None and at is not None else None
        problems = [
            truncation_reason("video", vt, head.video_frames),
            duration_shortfall("video track", head.video_track_s, video_span, fps),
            truncation_reason("audio", at, head.audio_frames) if at is not None else None,
            duration_shortfall("audio track", head.audio_track_s, audio_span, fps),
        ]
        if head.format_name in PRECISE_DURATION_FORMATS and head.video_track_s is None:
            # No per-track index (MKV, WebM, ...): the container's duration is the only promise to hold.
            ends = [s for s in (video_span, audio_span) if s is not None]
            problems.append(duration_shortfall("video", head.duration_s, max(ends, default=None), fps))
        problem = next((p for p in problems if p), None)
        if problem:
            raise _truncated(problem)

    duration = video_span or head.duration_s or 0.0
    check_duration(duration, limits)
    if audio_span is not None:
        check_duration(audio_span, limits, what="audio track")
    check_frame_count(vt.packets, limits)
    check_decode_cost(vt.longest_gop, limits)
    with translate_av_errors(CorruptMedia, "the video is corrupt: its first frame does not decode"):
        if not _decode_first(path, head.video_index):
            raise CorruptMedia("the video is corrupt: none of its frames decode; re-encode it and upload it again")
    has_audio = False
    if head.audio_index is not None and at is not None and at.packets > 0:
        with translate_av_errors(CorruptMedia, "the audio track is corrupt: its first frame does not decode"):
            has_audio = _decode_first(path, head.audio_index)
        if not has_audio:
            raise CorruptMedia("the audio track is corrupt: none of its frames decode; re-encode the clip")
    last_key = vt.last_key_pts if vt.last_key_pts is not None else (vt.first_pts or 0)
    with translate_av_errors(CorruptMedia, "the end of the video is corrupt and does not decode"):
        if _decode_tail(path, head.video_index, last_key) == 0:
            raise _truncated("its last frames do not decode")
    return ProbeResult(
        duration_s=duration,
        fps=fps,
        width=head.width,
        height=head.height,
        frame_count=vt.packets,
        has_audio=has_audio,
        audio_sample_rate=head.audio_rate if has_audio else None,
        video_codec=head.video_codec,
        audio_codec=head.audio_codec if has_audio else None,
        container_format=head.format_name,
    )
