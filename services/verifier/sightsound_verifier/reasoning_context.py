"""The traces' reasoning of one request, kept beside its clip analysis for the audio-LLM checker.

The paper's checker reads the whole reasoning, not only the extracted claims; the router hands a
checker claims and the clip, so the verifier attaches the request's reasoning texts to the clip's
analysis here (weakly: they go when the analysis goes).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

from sightsound_verifier.analysis import ClipAnalysis

_TEXTS: weakref.WeakKeyDictionary[ClipAnalysis, tuple[str, ...]] = weakref.WeakKeyDictionary()


def attach(clip: ClipAnalysis, texts: Sequence[str]) -> None:
    _TEXTS[clip] = tuple(dict.fromkeys(texts))


def reasonings_of(clip: ClipAnalysis) -> tuple[str, ...]:
    return _TEXTS.get(clip, ())
