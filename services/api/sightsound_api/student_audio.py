"""The audio of a student upload: received with a size limit, validated by decoding, stored as 16 kHz WAV.

An audio file (WAV, FLAC, MP3, OGG, ...) or a video (its audio track) is accepted by what it decodes as,
never by its name or MIME type. It is refused before anything is stored: not audio at all (415), no audio
track, cut short or corrupt, or longer than ``student_max_audio_s`` (422, with the limit). Only then is its
audio stored, content-addressed (the key is the upload's hash, the same key a clip's audio gets), so the
same file uploaded twice is stored once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import UploadFile
from starlette.concurrency import run_in_threadpool

from sightsound.config import Settings
from sightsound.media.audio import ingest_audio, probe_audio
from sightsound.media.errors import MediaError, TooLong
from sightsound.media.probe import MediaLimits
from sightsound.media.store import MediaStore
from sightsound.web import ProblemError

CHUNK = 1 << 20
#: 415 when the file is not audio (or video) at all, 422 when it is one we refuse.
STATUS = {"not_audio": 415, "no_audio_stream": 422, "corrupt": 422, "truncated": 422, "too_long": 422}


@dataclass(frozen=True)
class StoredAudio:
    url: str
    duration_s: float


async def receive_upload(upload: UploadFile, max_bytes: int, target: Path) -> str:
    """Copy the upload to ``target`` while hashing it; refuse it as soon as it passes ``max_bytes``."""
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise ProblemError(413, f"the file is larger than the limit of {max_bytes} bytes "
                                        "(SIGHTSOUND_MAX_UPLOAD_BYTES); send a shorter clip", kind="upload-too-large")
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise ProblemError(422, "the uploaded file is empty; send an audio file or a video with sound",
                           kind="invalid-media")
    return digest.hexdigest()


def _validate_and_store(path: Path, content_hash: str, settings: Settings) -> StoredAudio:
    limits = MediaLimits(max_duration_s=settings.student_max_audio_s, max_width=1, max_height=1, max_source_frames=1)
    try:
        probe_audio(path, limits)
    except TooLong as exc:
        raise ProblemError(
            422, f"the audio lasts at least {exc.measured:.1f} s; the student takes at most "
                 f"{settings.student_max_audio_s:g} s (SIGHTSOUND_STUDENT_MAX_AUDIO_S): cut it shorter",
            kind="media-too-long", limit_s=settings.student_max_audio_s,
        ) from exc
    except MediaError as exc:
        raise ProblemError(STATUS.get(exc.code, 422), str(exc), kind=f"media-{exc.code.replace('_', '-')}") from exc
    try:
        stored = ingest_audio(path, MediaStore(settings.media_root), content_hash=content_hash,
                              sample_rate=settings.audio_sample_rate)
    except MediaError as exc:
        raise ProblemError(422, str(exc), kind=f"media-{exc.code.replace('_', '-')}") from exc
    return StoredAudio(stored.audio_url, stored.audio_duration_s)


async def store_upload_audio(path: Path, content_hash: str, settings: Settings) -> StoredAudio:
    """Validate the received file as audio (off the event loop), then store its 16 kHz mono WAV."""
    return await run_in_threadpool(_validate_and_store, path, content_hash, settings)
