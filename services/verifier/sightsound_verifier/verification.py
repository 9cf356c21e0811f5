"""One verify request: claims of every trace, checked against one shared analysis of the clip, decided.

No I/O here: the caller loads the audio (or passes ``None`` for a clip without an audio track). The
claims of all traces are checked together, so a batch checker (an audio LLM) is asked once per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sightsound.config import Settings
from sightsound.contracts.verifier import (
    AudioSummary,
    Claim,
    ClaimResult,
    TraceVerification,
    VerifyRequest,
    VerifyResponse,
)
from sightsound_verifier.analysis import AnalyzerOptions, ClipAnalysis
from sightsound_verifier.audio import AudioClip
from sightsound_verifier.claims import ClaimExtraction, extract_claims
from sightsound_verifier.lineup import build_checkers
from sightsound_verifier.policy import TracePolicy
from sightsound_verifier.reasoning_context import attach
from sightsound_verifier.router import ClaimRouter, unchecked
from sightsound_verifier.verified_policy import counts
from sightsound_verifier.windows import with_absolute_time

NO_AUDIO = "no audio track"


@dataclass(frozen=True)
class Verifier:
    router: ClaimRouter
    policy: TracePolicy
    max_claims: int
    options: AnalyzerOptions = field(default_factory=AnalyzerOptions)

    @classmethod
    def from_settings(cls, settings: Settings) -> Verifier:
        return cls(
            ClaimRouter(build_checkers(settings)),
            TracePolicy.from_settings(settings),
            settings.verifier_max_claims,
            AnalyzerOptions(asr_model=settings.verifier_asr_model, cpu_threads=settings.verifier_cpu_threads),
        )

    def analysis(self, clip: AudioClip) -> ClipAnalysis:
        return ClipAnalysis(clip, self.options)

    def verify(self, request: VerifyRequest, clip: AudioClip | None) -> VerifyResponse:
        reason: str | None
        if clip is None:
            summary = AudioSummary(has_audio=False, note=NO_AUDIO)
            analysis, reason = None, NO_AUDIO
        else:
            reason = clip.unusable_reason()
            summary = AudioSummary(has_audio=True, duration_s=round(clip.duration_s, 3), note=reason)
            analysis = self.analysis(clip) if reason is None else None
        extractions = [extract_claims(trace.text, self.max_claims) for trace in request.traces]
        if analysis is not None:
            attach(analysis, [trace.text for trace in request.traces])
        results = self.check(extractions, analysis, reason)
        traces = []
        for trace, extraction, trace_results in zip(request.traces, extractions, results, strict=True):
            decision = self.policy.decide(
                trace_results,
                unverified_because=reason,
                parse_errors=len(extraction.errors),
                category=request.category,
                no_audio=clip is None,
            )
            verified, unverifiable_ = counts(trace_results)
            traces.append(
                TraceVerification(
                    trace_index=trace.trace_index,
                    claims=trace_results,
                    parse_errors=extraction.errors,
                    decision=decision.label,
                    reasons=decision.reasons,
                    claims_verified=verified,
                    claims_unverifiable=unverifiable_,
                )
            )
        return VerifyResponse(policy=self.policy.name, audio=summary, traces=traces)

    def check(
        self, extractions: list[ClaimExtraction], analysis: ClipAnalysis | None, reason: str | None
    ) -> list[list[ClaimResult]]:
        """Results per trace; ``analysis`` is ``None`` exactly when ``reason`` says why it cannot be analysed."""
        if analysis is None:
            why = reason or NO_AUDIO
            return [[unchecked(claim, why) for claim in extraction.claims] for extraction in extractions]
        every: list[Claim] = [claim for extraction in extractions for claim in extraction.claims]
        resolved = [with_absolute_time(claim, analysis.duration_s) for claim in every]
        checked = iter(self.router.check_all(resolved, analysis))
        return [[next(checked) for _ in extraction.claims] for extraction in extractions]
