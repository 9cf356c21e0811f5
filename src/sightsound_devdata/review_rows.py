"""Rows a review console can show, written straight into PostgreSQL: clips with frames and 16 kHz audio in the
media store, a question each, a finished job, K traces with claims (claims block and prose), checkers' verdicts
with evidence that has times, and decisions. For the console's tests, its benchmark and its screenshots; no
teacher or verifier runs.

Every clip shares one generated audio file and one set of frames (content-addressed, so they are stored once):
3 s of a tone burst, speech-like noise bursts and silence, and a few coloured frames.
"""

from __future__ import annotations

import hashlib
import io
import random
import uuid
import wave
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from sqlalchemy import insert
from sqlalchemy.orm import Session

from sightsound.db.models import (
    Claim,
    Clip,
    Job,
    JobState,
    Question,
    Split,
    Trace,
    TraceDecision,
    Verdict,
)
from sightsound.media.store import MediaStore

RATE = 16_000
DURATION_S = 3.0
CHOICES = ["A dog barking", "A person speaking", "Piano music", "Nothing at all"]
CATEGORIES = ["sound_source", "speech_content", "event_count", "loudness"]
#: (kind, claims-block line, checker, verdict, confidence, evidence)
CLAIMS: list[tuple[str, str, str, str, float, dict[str, Any]]] = [
    ("speech_presence", "source=person; event=speech; present=yes", "silero-vad", "supported", 0.93,
     {"summary": "speech detected: 2 segment(s), 1.10 s of 3.00 s", "window_s": [0.0, 3.0],
      "speech_segments_s": [[0.9, 1.4], [1.7, 2.3]], "speech_ratio": 0.367, "max_speech_probability": 0.93}),
    ("silence", "source=scene; event=silence; present=yes; time=end", "rms-silence", "contradicted", 0.71,
     {"summary": "not silent: 2.10 s above -50 dBFS", "window_s": [2.0, 3.0], "silent_fraction": 0.3,
      "sounding_ranges_s": [[0.0, 0.6], [0.9, 2.3]], "level_max_dbfs": -6.2}),
    ("event_count", "source=dog; event=bark; count=3", "librosa-onsets", "unverifiable", 0.4,
     {"summary": "4 onsets found; cannot tell which are barks", "onsets_s": [0.05, 0.95, 1.72, 2.31],
      "events_s": [[0.0, 0.6], [0.9, 1.4], [1.7, 2.3]]}),
    ("loudness", "source=scene; event=sound; loudness=rising", "rms-loudness", "supported", 0.55,
     {"summary": "loudness rising: +4.2 dB over the sounding span", "window_s": [0.0, 3.0], "direction": "rising",
      "slope_db_per_s": 1.6, "change_db": 4.2}),
]
PROSE = "The dog is barking loudly near the door."


def audio_wav() -> bytes:
    """3 s of 16 kHz mono PCM: a 440 Hz burst, two noise bursts (speech-like), silence at the end."""
    t = np.arange(int(DURATION_S * RATE)) / RATE
    rng = np.random.default_rng(0)
    signal = np.where(t < 0.6, 0.5 * np.sin(2 * np.pi * 440 * t), 0.0)
    for start, end in ((0.9, 1.4), (1.7, 2.3)):
        inside = (t >= start) & (t < end)
        signal[inside] += 0.3 * rng.standard_normal(int(inside.sum())) * np.sin(2 * np.pi * 4 * t[inside]) ** 2
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes((np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()


def frame_jpeg(index: int, count: int) -> bytes:
    image = Image.new("RGB", (160, 96), (40 + 50 * index % 200, 90, 160 - 30 * index % 120))
    ImageDraw.Draw(image).text((8, 8), f"frame {index + 1}/{count}", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


@dataclass(frozen=True)
class Media:
    audio_url: str
    frame_urls: list[str]


def store_media(media_root: Path, frames: int = 6) -> Media:
    store = MediaStore(media_root)
    audio = audio_wav()
    audio_url = store.put_bytes(f"audio/review-{hashlib.sha256(audio).hexdigest()[:16]}.wav", audio)
    urls = []
    for i in range(frames):
        data = frame_jpeg(i, frames)
        urls.append(store.put_bytes(f"frames/review-{hashlib.sha256(data).hexdigest()[:16]}.jpg", data))
    return Media(audio_url, urls)


ClaimPlan = tuple[str, str, str, str, float, dict[str, Any]]


def trace_text(claims: list[ClaimPlan], answer: str, prose: bool) -> str:
    think = "The frames show a dog by a door and a person talking. " + (PROSE if prose else "")
    block = "\n".join(line for _, line, *_ in claims)
    return f"<think>{think}</think>\n<claims>\n{block}\n</claims>\n<answer>{answer}</answer>"


def seed(session: Session, media_root: Path, clips: int, k: int = 4, seed_value: int = 0,
         source: str = "review-demo", batch: int = 500) -> list[uuid.UUID]:
    """Write ``clips`` clips (each with one question, a finished job and ``k`` decided traces); returns the clip
    ids. Bulk inserts, committed per batch, so 10,000 clips take seconds."""
    rng = random.Random(seed_value)
    media = store_media(media_root)
    ids: list[uuid.UUID] = []
    start = datetime.now(UTC) - timedelta(hours=1)
    for first in range(0, clips, batch):
        n = min(batch, clips - first)
        clip_rows: list[dict[str, Any]] = []
        question_rows: list[dict[str, Any]] = []
        job_rows: list[dict[str, Any]] = []
        for i in range(first, first + n):
            clip_id, question_id = uuid.uuid4(), uuid.uuid4()
            ids.append(clip_id)
            clip_rows.append({"id": clip_id, "content_hash": hashlib.sha256(clip_id.bytes).hexdigest(),
                              "media_url": media.audio_url, "filename": f"clip-{i:05d}.mp4", "size_bytes": 48_000,
                              "duration_s": DURATION_S, "fps": 25.0, "width": 160, "height": 96, "has_audio": True,
                              "frame_urls": media.frame_urls, "audio_url": media.audio_url})
            question_rows.append({"id": question_id, "clip_id": clip_id, "fingerprint": uuid.uuid4().hex,
                                  "text": f"What can be heard in clip {i}?", "choices": CHOICES,
                                  "answer_index": i % 4, "category": CATEGORIES[i % len(CATEGORIES)],
                                  "split": Split.train, "source": source})
            failed = rng.random() < 0.02
            job_rows.append({"id": uuid.uuid4(), "question_id": question_id,
                             "state": JobState.failed if failed else JobState.accepted,
                             "error": "verify: the verifier answered 503 five times" if failed else None,
                             "consensus_answer_index": None if failed else i % 4,
                             "agreement": None if failed else 1.0, "traces_used": 0 if failed else k,
                             "created_at": start, "updated_at": start + timedelta(seconds=i)})
        session.execute(insert(Clip), clip_rows)
        session.execute(insert(Question), question_rows)
        session.execute(insert(Job), job_rows)
        _traces(session, rng, [j for j in job_rows if j["state"] == JobState.accepted], k)
        session.commit()
    return ids


def _traces(session: Session, rng: random.Random, jobs: list[dict[str, Any]], k: int) -> None:
    plans, trace_rows = [], []
    for job in jobs:
        for index in range(k):
            chosen = rng.sample(CLAIMS, rng.randint(2, 4))
            prose = rng.random() < 0.5
            answer = "ABCD"[int(str(job["consensus_answer_index"]))]
            plans.append((chosen, prose))
            trace_rows.append({"job_id": job["id"], "trace_index": index, "text": trace_text(chosen, answer, prose),
                               "answer_index": "ABCD".index(answer), "model": "review-demo", "backend": "embedded",
                               "prompt_version": "v1", "sampling": {"temperature": 0.7}, "latency_ms": 900.0,
                               "prompt_tokens": 300, "completion_tokens": 90})
    trace_ids = list(session.scalars(insert(Trace).returning(Trace.id, sort_by_parameter_order=True), trace_rows))
    claim_rows, verdict_plan, decision_rows = [], [], []
    for trace_id, (chosen, prose) in zip(trace_ids, plans, strict=True):
        claims = [(kind, line, checker, verdict, conf * rng.uniform(0.8, 1.0), evidence)
                  for kind, line, checker, verdict, conf, evidence in chosen]
        if prose:
            claims.append(("sound_source", PROSE, "rms-presence", "unverifiable", 0.5,
                           {"summary": "sound is present but its source cannot be identified acoustically",
                            "window_s": [0.0, 3.0]}))
        for index, (kind, line, checker, verdict, conf, evidence) in enumerate(claims):
            origin = "prose" if line == PROSE else "claims_block"
            claim_rows.append({"trace_id": trace_id, "claim_index": index, "kind": kind, "text": line,
                               "attributes": {"extracted_from": origin}, "final_verdict": verdict,
                               "final_confidence": round(conf, 3)})
            dissent = rng.random() < 0.1 and verdict != "unverifiable"
            verdict_plan.append([(checker, verdict, round(conf, 3), evidence)] + (
                [("audio-llm", "contradicted" if verdict == "supported" else "supported", 0.6,
                  {"summary": "the audio LLM disagrees", "reason": "I hear no such sound in the clip."})]
                if dissent else []))
        contradicted = any(v == "contradicted" and c >= 0.6 for _, _, _, v, c, _ in claims)
        decision_rows.append({"trace_id": trace_id, "decision": "rejected" if contradicted else "accepted",
                              "policy": "contradiction>=0.60",
                              "reasons": ["contradicted: silence (rms-silence 0.71)"] if contradicted else
                              ["no claim contradicted at or above 0.60"]})
    claim_ids = list(session.scalars(insert(Claim).returning(Claim.id, sort_by_parameter_order=True), claim_rows))
    verdict_rows = [{"claim_id": claim_id, "checker": checker, "verdict": verdict, "confidence": conf,
                     "evidence": evidence}
                    for claim_id, plan in zip(claim_ids, verdict_plan, strict=True)
                    for checker, verdict, conf, evidence in plan]
    session.execute(insert(Verdict), verdict_rows)
    session.execute(insert(TraceDecision), decision_rows)
