"""Routes each claim to the checkers of its kind and combines their verdicts into the final one."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sightsound.contracts.common import ClaimKind
from sightsound.contracts.verifier import Claim, ClaimResult, Verdict
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.checkers import Checker, unverifiable
from sightsound_verifier.ensemble import NO_CHECKER, combine_verdicts

logger = logging.getLogger("sightsound.verifier")


class ClaimRouter:
    """Kind -> checkers, in the order given (the order breaks confidence ties in the ensemble)."""

    def __init__(self, checkers: Sequence[Checker]) -> None:
        self._by_kind: dict[ClaimKind, list[Checker]] = {}
        for checker in checkers:
            for kind in checker.kinds:
                self._by_kind.setdefault(kind, []).append(checker)

    def checkers_for(self, kind: ClaimKind) -> list[Checker]:
        return list(self._by_kind.get(kind, []))

    @property
    def covered_kinds(self) -> frozenset[ClaimKind]:
        return frozenset(self._by_kind)

    def check(self, claim: Claim, clip: ClipAnalysis) -> ClaimResult:
        checkers = self._by_kind.get(claim.kind)
        if not checkers:
            verdicts = [unverifiable(NO_CHECKER, f"no analyzer for claim kind '{claim.kind.value}' yet")]
        else:
            verdicts = [_safe_check(checker, claim, clip) for checker in checkers]
        return ClaimResult(claim=claim, verdicts=verdicts, final=combine_verdicts(verdicts))


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
