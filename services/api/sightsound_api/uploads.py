"""Receiving a video upload: size limit while streaming, content hash, decode-based validation."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fastapi import UploadFile
from starlette.concurrency import run_in_threadpool

from sightsound.config import Settings
from sightsound.media.errors import MediaError
from sightsound.media.probe import MediaLimits, ProbeResult, probe_video
from sightsound.media.store import MediaStore, original_key
from sightsound.web import ProblemError

CHUNK = 1 << 20
#: Room for multipart framing and the other form fields around the file.
FORM_OVERHEAD_BYTES = 64 * 1024

#: HTTP status for each media error code: 415 when it is not a video at all, 422 when it is one we refuse.
MEDIA_ERROR_STATUS = {
    "not_a_video": 415,
    "no_video_stream": 415,
    "corrupt": 422,
    "truncated": 422,
    "too_long": 422,
    "resolution_too_large": 422,
    "too_many_frames": 422,
}


def body_caps(settings: Settings) -> dict[str, int]:
    """The body cap of each route that takes an upload (the others get ``max_request_bytes``); base64 audio in an
    OpenAI request grows the file by a third."""
    upload = settings.max_upload_bytes + FORM_OVERHEAD_BYTES
    return {"/v1/clips": upload, "/v1/student/answer": upload,
            "/v1/chat/completions": settings.max_upload_bytes * 4 // 3 + FORM_OVERHEAD_BYTES}


@dataclass
class ReceivedVideo:
    path: Path
    content_hash: str
    size_bytes: int
    filename: str | None


async def receive(upload: UploadFile, settings: Settings, workdir: Path) -> ReceivedVideo:
    """Copy the upload to ``workdir`` while hashing it; refuse it as soon as it passes the size limit."""
    digest = hashlib.sha256()
    size = 0
    target = workdir / "upload"
    with target.open("wb") as out:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > settings.max_upload_bytes:
                raise ProblemError(
                    413,
                    f"the upload is larger than the limit of {settings.max_upload_bytes} bytes "
                    "(SIGHTSOUND_MAX_UPLOAD_BYTES); send a shorter or more compressed video",
                    kind="upload-too-large",
                )
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise ProblemError(422, "the uploaded video is empty", kind="invalid-media")
    return ReceivedVideo(target, digest.hexdigest(), size, upload.filename)


async def validate(video: ReceivedVideo, settings: Settings) -> ProbeResult:
    """Decode the file (never trust the extension or MIME type) and check the configured limits."""
    try:
        return await run_in_threadpool(probe_video, video.path, MediaLimits.from_settings(settings))
    except MediaError as exc:
        status = MEDIA_ERROR_STATUS.get(exc.code, 422)
        raise ProblemError(status, str(exc), kind=f"media-{exc.code.replace('_', '-')}") from exc


async def store_original(video: ReceivedVideo, settings: Settings) -> str:
    store = MediaStore(settings.media_root)
    return await run_in_threadpool(store.put_file, original_key(video.content_hash), video.path)


def upload_workdir(settings: Settings) -> tempfile.TemporaryDirectory[str]:
    root = Path(settings.media_root) / "tmp" if "://" not in str(settings.media_root) else None
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(dir=root, prefix="upload-")
