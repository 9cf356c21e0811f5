"""The console's pages: the overview (with search) and the clip page with its media (frames, audio, waveform and
spectrogram pictures)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from sightsound.auth import Principal
from sightsound.db.models import Clip
from sightsound.media.store import read_url
from sightsound.web import ProblemError
from sightsound_api.console import audio_images, clip_view, queries
from sightsound_api.console.render import render, viewer
from sightsound_api.deps import SessionDep

router = APIRouter(prefix="/ui", include_in_schema=False)
Viewer = Annotated[Principal, Depends(viewer)]
IMMUTABLE = {"Cache-Control": "private, max-age=86400, immutable"}


@router.get("", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, _: Viewer,
             cursor: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    form = queries.Search.of(request.query_params)
    results, next_cursor = queries.search(session, form, cursor) if form.any() or cursor else ([], None)
    return render(request, "overview.html", title="Overview", **queries.overview(session), form=form,
                  results=results, next_cursor=next_cursor, searched=form.any() or bool(cursor),
                  categories=queries.categories(session), decisions=queries.DECISIONS)


def _clip(session: SessionDep, clip_id: uuid.UUID) -> Clip:
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise ProblemError(404, f"no clip with id {clip_id}", kind="clip-not-found")
    return clip


@router.get("/clips/{clip_id}", response_class=HTMLResponse)
def clip_page(request: Request, clip_id: uuid.UUID, session: SessionDep, _: Viewer) -> Response:
    loaded = clip_view.load_clip(session, clip_id)
    if loaded is None:
        return render(request, "missing.html", status_code=404, title="Not found", what=f"clip {clip_id}")
    clip, questions = loaded
    frames = list(clip.frame_urls or [])
    return render(request, "clip.html", title=f"Clip {str(clip.id)[:8]}", clip=clip, questions=questions,
                  frames=range(len(frames)), letter=clip_view.letter, summary=clip_view.summary(questions),
                  next=request.url.path)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) bytes a ``Range: bytes=…`` header asks for (one range), or None for the whole body.

    >>> byte_range("bytes=10-", 100), byte_range("bytes=-10", 100), byte_range("bytes=5-9", 100), byte_range(None, 9)
    ((10, 99), (90, 99), (5, 9), None)
    """
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].strip().partition("-")
    try:
        if not first:
            return max(size - int(last), 0), size - 1
        return int(first), min(int(last), size - 1) if last else size - 1
    except ValueError:
        return None


@router.get("/clips/{clip_id}/audio.wav")
async def clip_audio(request: Request, clip_id: uuid.UUID, session: SessionDep, _: Viewer) -> Response:
    """The stored 16 kHz audio; byte ranges are served (browsers seek with them)."""
    clip = _clip(session, clip_id)
    if not clip.audio_url:
        raise ProblemError(404, "this clip has no extracted audio (yet)", kind="audio-not-found")
    data = await run_in_threadpool(read_url, clip.audio_url)
    headers = {**IMMUTABLE, "Accept-Ranges": "bytes"}
    wanted = byte_range(request.headers.get("range"), len(data))
    if wanted is None:
        return Response(data, media_type="audio/wav", headers=headers)
    first, last = wanted
    if first > last or first >= len(data):
        return Response(status_code=416, headers={"Content-Range": f"bytes */{len(data)}"})
    return Response(data[first:last + 1], status_code=206, media_type="audio/wav",
                    headers={**headers, "Content-Range": f"bytes {first}-{last}/{len(data)}"})


@router.get("/clips/{clip_id}/frames/{index}")
async def clip_frame(clip_id: uuid.UUID, index: int, session: SessionDep, _: Viewer) -> Response:
    frames = list(_clip(session, clip_id).frame_urls or [])
    if not 0 <= index < len(frames):
        raise ProblemError(404, f"the clip has {len(frames)} frames", kind="frame-not-found")
    data = await run_in_threadpool(read_url, str(frames[index]))
    kind = "image/png" if str(frames[index]).endswith(".png") else "image/jpeg"
    return Response(data, media_type=kind, headers=IMMUTABLE)


@router.get("/clips/{clip_id}/{picture}.png")
async def clip_picture(clip_id: uuid.UUID, picture: str, session: SessionDep, _: Viewer) -> Response:
    if picture not in ("waveform", "spectrogram"):
        raise ProblemError(404, "pictures are waveform.png and spectrogram.png", kind="not-found")
    clip = _clip(session, clip_id)
    if not clip.audio_url:
        raise ProblemError(404, "this clip has no extracted audio (yet)", kind="audio-not-found")
    draw = audio_images.waveform_png if picture == "waveform" else audio_images.spectrogram_png
    url = clip.audio_url

    def drawn() -> bytes:
        return draw(audio_images.samples(url))

    return Response(await run_in_threadpool(drawn), media_type="image/png", headers=IMMUTABLE)
