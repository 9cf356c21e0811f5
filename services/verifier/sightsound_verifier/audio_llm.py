"""What every audio-LLM checker shares: all claims of a clip in one question, one verdict per claim.

The router hands a batch checker every claim of the request at once. Claims repeated across traces
(K samples often make the same claim) are asked once; more than ``max_claims`` distinct claims are
asked in several calls of ``max_claims`` each. A backend only implements :meth:`AudioLLMChecker.ask`:
prompt text and clip in, the model's raw answer out, or :class:`AudioLLMError` with a reason.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from sightsound.contracts.common import ClaimKind
from sightsound.contracts.verifier import Claim, Verdict
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.llm_answers import claims_prompt, failed_verdicts, verdicts_from_answer
from sightsound_verifier.reasoning_context import reasonings_of
from sightsound_verifier.usage import checker_call


class AudioLLMError(Exception):
    """The model could not answer (timeout, HTTP error, bad response shape); the message says why."""


class AudioLLMChecker(ABC):
    """Base of the audio-LLM checkers: covers every claim kind."""

    kinds: frozenset[ClaimKind] = frozenset(ClaimKind)

    def __init__(self, name: str, model: str, max_claims: int) -> None:
        self.name = name
        self.model = model
        self.max_claims = max_claims

    def warm_up(self) -> None:
        """Load what the first request would otherwise wait for (a local model); nothing by default."""
        return None

    @abstractmethod
    def ask(self, prompt: str, clip: ClipAnalysis) -> str:
        """The model's answer to ``prompt`` about ``clip``'s audio."""

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        return self.check_batch([claim], clip)[0]

    def check_batch(self, claims: Sequence[Claim], clip: ClipAnalysis) -> list[Verdict]:
        distinct: dict[tuple[ClaimKind, str], int] = {}
        asked: list[Claim] = []
        for claim in claims:
            key = (claim.kind, claim.text)
            if key not in distinct:
                distinct[key] = len(asked)
                asked.append(claim)
        answers: list[Verdict] = []
        for first in range(0, len(asked), self.max_claims):
            chunk = asked[first : first + self.max_claims]
            try:
                with checker_call():
                    text = self.ask(claims_prompt(chunk, reasonings_of(clip)), clip)
            except AudioLLMError as exc:
                answers += failed_verdicts(self.name, str(exc), len(chunk), model=self.model)
                continue
            answers += verdicts_from_answer(self.name, text, len(chunk), model=self.model)
        return [answers[distinct[(claim.kind, claim.text)]] for claim in claims]
