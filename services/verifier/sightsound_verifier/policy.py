"""Accept or reject a trace from its claims' final verdicts (pure), with reasons a person can read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sightsound.config import Settings
from sightsound.contracts.common import TraceDecisionLabel, VerdictLabel
from sightsound.contracts.verifier import ClaimResult
from sightsound_verifier.verified_policy import NO_AUDIO_REASON, unverified_reasons

MAX_QUOTED = 100


@dataclass(frozen=True)
class PolicyDecision:
    label: TraceDecisionLabel
    reasons: list[str]


@dataclass(frozen=True)
class TracePolicy:
    """Reject when a claim is contradicted at ``reject_confidence`` or more; in strict mode, also reject a
    trace with no supported claim. Everything else is accepted, and the reasons say how much was verified.
    """

    reject_confidence: float = 0.6
    require_supported: bool = False
    require_verified: str = "none"

    @classmethod
    def from_settings(cls, settings: Settings) -> TracePolicy:
        return cls(
            settings.verifier_reject_confidence, settings.verifier_require_supported, settings.verifier_require_verified
        )

    @property
    def name(self) -> str:
        """E.g. ``contradiction>=0.60`` or ``contradiction>=0.60+strict``.

        >>> TracePolicy(0.75, True).name
        'contradiction>=0.75+strict'
        """
        name = f"contradiction>={self.reject_confidence:.2f}" + ("+strict" if self.require_supported else "")
        return name + (f"+verified:{self.require_verified}" if self.require_verified != "none" else "")

    def decide(
        self,
        results: Sequence[ClaimResult],
        *,
        unverified_because: str | None = None,
        parse_errors: int = 0,
        category: str | None = None,
        no_audio: bool = False,
    ) -> PolicyDecision:
        """Decision and reasons; ``unverified_because`` says why no claim could be checked (e.g. no audio).

        >>> TracePolicy().decide([]).reasons
        ['accepted without evidence: the trace makes no sound claim that could be extracted']
        """
        rejecting = [
            r
            for r in results
            if r.final.verdict is VerdictLabel.contradicted and r.final.confidence >= self.reject_confidence
        ]
        weak = [
            r
            for r in results
            if r.final.verdict is VerdictLabel.contradicted and r.final.confidence < self.reject_confidence
        ]
        supported = sum(r.final.verdict is VerdictLabel.supported for r in results)
        unverifiable = sum(r.final.verdict is VerdictLabel.unverifiable for r in results)
        why_none = self._why_nothing_verified(results, unverified_because, parse_errors)

        if no_audio:
            return PolicyDecision(TraceDecisionLabel.rejected, [NO_AUDIO_REASON])
        reasons = [describe(r) for r in rejecting]
        reasons += unverified_reasons(results, self.require_verified, category)
        if self.require_supported and supported == 0:
            reasons.append(f"strict mode needs at least one supported claim: {why_none}")
        if reasons:
            return PolicyDecision(TraceDecisionLabel.rejected, reasons)

        if supported == 0:
            reasons.append(f"accepted without evidence: {why_none}")
        else:
            reasons.append(
                f"no claim contradicted at confidence >= {self.reject_confidence:.2f} "
                f"({supported} supported, {unverifiable} unverifiable, {len(weak)} weakly contradicted)"
            )
        reasons += [describe(r) + f" (below {self.reject_confidence:.2f}: not rejecting)" for r in weak]
        return PolicyDecision(TraceDecisionLabel.accepted, reasons)

    def _why_nothing_verified(self, results: Sequence[ClaimResult], because: str | None, parse_errors: int) -> str:
        if not results:
            extra = f" ({parse_errors} parse error(s))" if parse_errors else ""
            return "the trace makes no sound claim that could be extracted" + extra
        contradicted = sum(r.final.verdict is VerdictLabel.contradicted for r in results)
        if contradicted:
            unverifiable = len(results) - contradicted
            return f"no claim is supported ({unverifiable} unverifiable, {contradicted} contradicted)"
        if because:
            return f"none of the {len(results)} claim(s) could be verified: {because}"
        return f"none of the {len(results)} claim(s) could be verified by the available analyzers"


def describe(result: ClaimResult) -> str:
    """``claim 0 'source=person; event=speech; present=yes' contradicted (confidence 0.93): no speech ...``"""
    text = result.claim.text if len(result.claim.text) <= MAX_QUOTED else result.claim.text[: MAX_QUOTED - 3] + "..."
    summary = result.final.evidence.get("summary", "")
    return (
        f"claim {result.claim.index} {text!r} {result.final.verdict.value} "
        f"(confidence {result.final.confidence:.2f})" + (f": {summary}" if summary else "")
    )
