"""Routes each claim to the checkers of its kind and combines their verdicts into the final one.

Per-claim checkers are asked claim by claim; a :class:`~sightsound_verifier.checkers.BatchChecker` (an
audio LLM) is asked once with every claim of its kinds, so a request costs one model call, not one per
claim. A checker that fails costs only its own verdicts (unverifiable), never the request.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sightsound.contracts.common import ClaimKind
from sightsound.contracts.verifier import Claim, ClaimResult, Verdict
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.checkers import BatchChecker, Checker, unverifiable
from sightsound_verifier.ensemble import NO_CHECKER, combine_verdicts

logger = logging.getLogger("sightsound.verifier")


class ClaimRouter:
    """Kind -> checkers, in the order given (the order breaks confidence ties in the ensemble)."""

    def __init__(self, checkers: Sequence[Checker]) -> None:
        self.checkers = list(checkers)
        self._by_kind: dict[ClaimKind, list[Checker]] = {}
        for checker in self.checkers:
            for kind in checker.kinds:
                self._by_kind.setdefault(kind, []).append(checker)

    def checkers_for(self, kind: ClaimKind) -> list[Checker]:
        return list(self._by_kind.get(kind, []))

    @property
    def covered_kinds(self) -> frozenset[ClaimKind]:
        return frozenset(self._by_kind)

    def check(self, claim: Claim, clip: ClipAnalysis) -> ClaimResult:
        return self.check_all([claim], clip)[0]

    def check_all(self, claims: Sequence[Claim], clip: ClipAnalysis) -> list[ClaimResult]:
        """One result per claim, in order; batch checkers see all their claims in one call."""
        verdicts: list[list[Verdict]] = [[] for _ in claims]
        for checker in self.checkers:
            mine = [i for i, claim in enumerate(claims) if claim.kind in checker.kinds]
            if not mine:
                continue
            if isinstance(checker, BatchChecker):
                found = _safe_batch(checker, [claims[i] for i in mine], clip)
            else:
                found = [_safe_check(checker, claims[i], clip) for i in mine]
            for i, verdict in zip(mine, found, strict=True):
                verdicts[i].append(verdict)
        results = []
        for claim, own in zip(claims, verdicts, strict=True):
            if not own:
                own = [unverifiable(NO_CHECKER, f"no analyzer for claim kind '{claim.kind.value}' yet")]
            results.append(ClaimResult(claim=claim, verdicts=own, final=combine_verdicts(own)))
        return results


def unchecked(claim: Claim, reason: str) -> ClaimResult:
    """A claim that no checker could look at (no audio, audio too short), with the reason as evidence."""
    verdict = unverifiable(NO_CHECKER, reason)
    return ClaimResult(claim=claim, verdicts=[verdict], final=verdict)


def _safe_check(checker: Checker, claim: Claim, clip: ClipAnalysis) -> Verdict:
    """A failing checker costs its own verdict (unverifiable), never the request."""
    try:
        return checker.check(claim, clip)
    except Exception as exc:
        logger.exception("checker %s failed on claim %d", checker.name, claim.index)
        return unverifiable(checker.name, f"checker failed ({type(exc).__name__}); the server log has details")


def _safe_batch(checker: BatchChecker, claims: list[Claim], clip: ClipAnalysis) -> list[Verdict]:
    try:
        found = checker.check_batch(claims, clip)
    except Exception as exc:
        logger.exception("checker %s failed on a batch of %d claims", checker.name, len(claims))
        reason = f"checker failed ({type(exc).__name__}); the server log has details"
        return [unverifiable(checker.name, reason) for _ in claims]
    if len(found) != len(claims):
        logger.error("checker %s answered %d verdicts for %d claims", checker.name, len(found), len(claims))
        return [unverifiable(checker.name, "checker answered the wrong number of verdicts") for _ in claims]
    return found
