"""A few clips of the labelled claim set (the whole set is ``perf/verifier.py``'s job, not a test's)."""

from __future__ import annotations

import shutil

import pytest

from sightsound.config import Settings
from sightsound.contracts.common import VerdictLabel
from sightsound.contracts.verifier import TraceIn, VerifyRequest
from sightsound_devdata.labelled_claims import RATE, build_labelled_set, missing_sources
from sightsound_verifier.audio import AudioClip
from sightsound_verifier.claims import extract_claims
from sightsound_verifier.verification import Verifier

pytestmark = pytest.mark.skipif(
    bool(missing_sources()) or shutil.which("espeak-ng") is None,
    reason="needs Debian's sonic-pi-samples, sound-theme-freedesktop and espeak-ng",
)


def test_the_set_is_deterministic_and_labels_parse():
    first = build_labelled_set(seed=3, scale=0.1)
    again = build_labelled_set(seed=3, scale=0.1)
    assert [c.name for c in first] == [c.name for c in again]
    assert all((a.samples == b.samples).all() for a, b in zip(first, again, strict=True))
    assert {c.family for c in first} == {
        "speech",
        "music",
        "singing",
        "tone",
        "count",
        "tempo",
        "order",
        "silence",
        "loudness",
    }
    for clip in first:
        assert clip.claims and {c.truth for c in clip.claims} == {"supported", "contradicted"}, clip.name
        for claim in clip.claims:  # every line parses with the verifier's own parser
            parsed = extract_claims(f"<claims>\n{claim.line}\n</claims>", 1)
            assert parsed.claims and not parsed.errors, claim.line
        assert 1.0 < clip.duration_s < 12.0


def test_a_few_clips_are_verified_as_built():
    clips = build_labelled_set(seed=1, scale=0.1, families=("count", "tone", "order", "music"))
    verifier = Verifier.from_settings(Settings(verifier_cpu_threads=1))
    flagged_wrongly, decided, total = [], 0, 0
    for clip in clips:
        request = VerifyRequest(audio_url=None, traces=[TraceIn(trace_index=0, text=clip.trace_text())])
        (trace,) = verifier.verify(request, AudioClip(clip.samples, RATE)).traces
        for labelled, result in zip(clip.claims, trace.claims, strict=True):
            total += 1
            final = result.final
            if final.verdict is VerdictLabel.contradicted and final.confidence >= 0.6 and labelled.truth == "supported":
                flagged_wrongly.append((clip.name, labelled.line))
            decided += final.verdict.value == labelled.truth
    assert flagged_wrongly == []
    assert decided >= 0.8 * total
