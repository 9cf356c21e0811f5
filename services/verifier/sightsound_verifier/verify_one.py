"""One trace text against one audio file, per-claim verdicts out: the entry point for the bench and the
teacher's own checks (no HTTP, no media store).

    >>> from sightsound_verifier.verify_one import verify_trace  # doctest: +SKIP
    >>> result = verify_trace(text, "clip.wav", category="sound")  # doctest: +SKIP
    >>> [(r.claim.text, r.final.verdict.value) for r in result.claims], result.decision  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from sightsound.config import Settings
from sightsound.contracts.verifier import TraceIn, TraceVerification, VerifyRequest
from sightsound_verifier.audio import AudioClip, decode_audio
from sightsound_verifier.verification import Verifier

RATE = 16_000
MAX_DURATION_S = 600.0


def verify_trace(
    text: str,
    audio: str | Path | NDArray[np.float32] | None,
    *,
    category: str | None = None,
    settings: Settings | None = None,
    sample_rate: int = RATE,
    verifier: Verifier | None = None,
) -> TraceVerification:
    """Claims of ``text`` (block and prose) checked against ``audio`` (a path, 16 kHz mono samples, or
    ``None`` for a clip without an audio track), decided by the settings' policy.

    Pass one ``verifier`` (``Verifier.from_settings(settings)``) to check many traces without rebuilding it.
    """
    chosen = verifier or Verifier.from_settings(settings or Settings())
    if audio is None:
        clip = None
    elif isinstance(audio, (str, Path)):
        clip = decode_audio(Path(audio).read_bytes(), RATE, MAX_DURATION_S)
    else:
        clip = AudioClip(np.asarray(audio, dtype=np.float32), sample_rate)
    request = VerifyRequest(audio_url=None, traces=[TraceIn(trace_index=0, text=text)], category=category)
    return chosen.verify(request, clip).traces[0]
