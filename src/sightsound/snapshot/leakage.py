"""The leakage guard of dataset snapshots: nothing of a held-out (test or validation) question feeds training.

A snapshot row is excluded, with its reason, when

- ``held_out_question``: its question is itself of the test or validation split;
- ``same_clip``: its clip (one content hash: uploads are deduplicated by it) also holds a test or validation
  question;
- ``same_audio``: its clip's audio has the fingerprint of a held-out clip's audio
  (:mod:`sightsound.media.fingerprint`): a re-encoded, re-muxed or louder copy of a test clip.

Fingerprints are computed from the stored 16 kHz audio the first time a snapshot needs them and kept in
``clips.audio_fingerprint``. A clip whose audio cannot be read, or is silent, has none and is matched by
its content hash only (counted in ``fingerprints.unavailable``).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sightsound.db.models import Clip, Question, Split
from sightsound.media.fingerprint import TOLERANCE_DB, VERSION, Fingerprint, distance, fingerprint
from sightsound.snapshot.records import TraceRow

HELD_OUT = (Split.test, Split.validation)
#: At most this many excluded clips are listed one by one in a snapshot's provenance (all are counted).
MAX_LISTED = 100


@dataclass
class Guarded:
    rows: list[TraceRow]
    excluded_rows: Counter[str] = field(default_factory=Counter)
    excluded_clips: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    fingerprints: Counter[str] = field(default_factory=Counter)

    def counts(self) -> dict[str, Any]:
        by_reason = Counter(e["reason"] for e in self.excluded_clips.values())
        return {"rows": dict(self.excluded_rows), "clips": dict(by_reason)}

    def provenance(self) -> dict[str, Any]:
        return {
            "held_out_splits": [s.value for s in HELD_OUT],
            "fingerprint": f"band-energy v{VERSION}, same audio at <= {TOLERANCE_DB} dB mean difference",
            "fingerprints": dict(self.fingerprints),
            "excluded_clips": [{"clip_id": str(k), **v} for k, v in list(self.excluded_clips.items())[:MAX_LISTED]],
        }


def _stored(clip: Clip) -> tuple[bool, Fingerprint | None]:
    """(known, fingerprint): known when a signature of this version is stored (an empty one: silent)."""
    data = clip.audio_fingerprint
    if not data or data.get("version") != VERSION:
        return False, None
    return True, Fingerprint.from_json(data)


def clip_fingerprint(clip: Clip, tally: Counter[str]) -> Fingerprint | None:
    """The clip's stored signature, computed from its 16 kHz audio (and stored on the row) when missing."""
    known, found = _stored(clip)
    if known:
        tally["stored"] += 1
        return found
    if not clip.audio_url:
        tally["unavailable"] += 1
        return None
    from sightsound.media.store import read_url
    from sightsound.media.waveform import decode_bytes

    try:
        waveform = decode_bytes(read_url(clip.audio_url))
    except Exception:  # a missing or unreadable file: this clip is matched by content hash only
        tally["unavailable"] += 1
        return None
    found = fingerprint(waveform) if waveform is not None else None
    clip.audio_fingerprint = found.to_json() if found is not None else {"version": VERSION, "cells": []}
    tally["computed"] += 1
    if found is None:
        tally["silent"] += 1
    return found


def guard(session: Session, rows: Sequence[TraceRow]) -> Guarded:
    """``rows`` without anything of a held-out question, and what was excluded, why."""
    held_out_clip_ids = set(session.scalars(select(Question.clip_id).where(Question.split.in_(HELD_OUT))))
    result = Guarded(rows=[])
    candidates = {r.clip_id for r in rows if r.split not in HELD_OUT and r.clip_id not in held_out_clip_ids}
    same_audio: dict[uuid.UUID, dict[str, Any]] = {}
    if candidates and held_out_clip_ids:
        held = list(session.scalars(select(Clip).where(Clip.id.in_(held_out_clip_ids))))
        held_prints = [(c.id, fp) for c in held if (fp := clip_fingerprint(c, result.fingerprints)) is not None]
        for clip in session.scalars(select(Clip).where(Clip.id.in_(candidates))):
            mine = clip_fingerprint(clip, result.fingerprints)
            if mine is None:
                continue
            for other_id, other in held_prints:
                gap = distance(mine, other)
                if gap <= TOLERANCE_DB:
                    same_audio[clip.id] = {"reason": "same_audio", "held_out_clip_id": str(other_id),
                                           "distance_db": round(gap, 2)}
                    break
    for row in rows:
        if row.split in HELD_OUT:
            reason: str | None = "held_out_question"
            detail: dict[str, Any] = {"reason": reason}
        elif row.clip_id in held_out_clip_ids:
            reason, detail = "same_clip", {"reason": "same_clip"}
        elif row.clip_id in same_audio:
            reason, detail = "same_audio", same_audio[row.clip_id]
        else:
            reason = None
        if reason is None:
            result.rows.append(row)
            continue
        result.excluded_rows[reason] += 1
        result.excluded_clips.setdefault(row.clip_id, detail)
    return result
