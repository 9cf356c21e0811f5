"""One verify request: claims of every trace, checked against one shared analysis of the clip, decided.

No I/O here: the caller loads the audio (or passes ``None`` for a clip without an audio track).
"""

from __future__ import annotations

from dataclasses import dataclass

from sightsound.config import Settings
from sightsound.contracts.verifier import (
    AudioSummary,
    TraceIn,
    TraceVerification,
    VerifyRequest,
    VerifyResponse,
)
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio import AudioClip
from sightsound_verifier.checkers import default_checkers
from sightsound_verifier.claims import extract_claims
from sightsound_verifier.policy import TracePolicy
from sightsound_verifier.router import ClaimRouter, unchecked

NO_AUDIO = "no audio track"


@dataclass(frozen=True)
class Verifier:
    router: ClaimRouter
    policy: TracePolicy
    max_claims: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Verifier:
        return cls(ClaimRouter(default_checkers()), TracePolicy.from_settings(settings), settings.verifier_max_claims)

    def verify(self, request: VerifyRequest, clip: AudioClip | None) -> VerifyResponse:
        reason: str | None
        if clip is None:
            summary = AudioSummary(has_audio=False, note=NO_AUDIO)
            analysis, reason = None, NO_AUDIO
        else:
            reason = clip.unusable_reason()
            summary = AudioSummary(has_audio=True, duration_s=round(clip.duration_s, 3), note=reason)
            analysis = ClipAnalysis(clip) if reason is None else None
        traces = [self.verify_trace(trace, analysis, reason) for trace in request.traces]
        return VerifyResponse(policy=self.policy.name, audio=summary, traces=traces)

    def verify_trace(self, trace: TraceIn, analysis: ClipAnalysis | None, reason: str | None) -> TraceVerification:
        """``analysis`` is ``None`` exactly when ``reason`` says why the audio cannot be analysed."""
        extraction = extract_claims(trace.text, self.max_claims)
        if analysis is None:
            why = reason or NO_AUDIO
            results = [unchecked(claim, why) for claim in extraction.claims]
        else:
            results = [self.router.check(claim, analysis) for claim in extraction.claims]
        decision = self.policy.decide(results, unverified_because=reason, parse_errors=len(extraction.errors))
        return TraceVerification(
            sample_index=trace.sample_index,
            claims=results,
            parse_errors=extraction.errors,
            decision=decision.label,
            reasons=decision.reasons,
        )
