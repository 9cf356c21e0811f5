"""One final verdict per claim from the verdicts of every checker that covers its kind (pure).

Which checker wins when the audio LLM and an acoustic analyzer disagree, by kind:

- Kinds only the audio LLM can decide (``sound_source`` / ``other`` on sounding audio, instrument
  identity while music plays, ``voice=robotic``, the words of ``speech_content`` when speech-to-text
  is unsure): the analyzers answer ``unverifiable``, so the LLM's verdict is final as it is.
- Measured kinds (silence, loudness, counts, pitch, tempo, order, gaps, overlap, comparisons, patterns,
  coverage, exceptions, durations, inequalities) and presence of speech / music / singing: both are
  decisive, the more confident wins, and its confidence drops to the margin over the dissent, so an
  LLM that disagrees with a clear measurement (or the reverse) can never reject a trace by itself
  unless it is far more confident. Acoustic checkers come first in the line-up and win exact ties
  of confidence against each other; an exact tie between opposite verdicts is unverifiable.
- A checker that fails (timeout, malformed answer) is ``unverifiable`` and never outvotes anyone.
"""

from __future__ import annotations

from collections.abc import Sequence

from sightsound.contracts.common import VerdictLabel
from sightsound.contracts.verifier import Verdict

NO_CHECKER = "none"


def combine_verdicts(verdicts: Sequence[Verdict]) -> Verdict:
    """The rule: the most confident *decisive* verdict (supported or contradicted) wins.

    - No decisive verdict: the first verdict (unverifiable) is final; with no verdicts at all, an
      unverifiable one from checker ``none``.
    - Decisive verdicts that all agree: the winner is final as it is.
    - Disagreement: the winner's label stands, but its confidence becomes the margin over the most
      confident dissenting verdict, and the dissent is listed in the evidence; an exact tie is
      unverifiable. So two checkers that disagree can never reject a trace at high confidence.

    >>> s = Verdict(checker="a", verdict="supported", confidence=0.9)
    >>> c = Verdict(checker="b", verdict="contradicted", confidence=0.3)
    >>> final = combine_verdicts([s, c])
    >>> final.verdict.value, final.confidence, final.checker
    ('supported', 0.6, 'a')
    """
    if not verdicts:
        return Verdict(
            checker=NO_CHECKER,
            verdict=VerdictLabel.unverifiable,
            confidence=0.0,
            evidence={"summary": "no checker ran"},
        )
    decisive = [v for v in verdicts if v.verdict is not VerdictLabel.unverifiable]
    if not decisive:
        return verdicts[0]
    winner = max(decisive, key=lambda v: v.confidence)  # first of equals: checker order breaks ties
    dissent = [v for v in decisive if v.verdict is not winner.verdict]
    if not dissent:
        return winner
    strongest = max(v.confidence for v in dissent)
    margin = round(winner.confidence - strongest, 3)
    listed = [{"checker": v.checker, "verdict": v.verdict.value, "confidence": v.confidence} for v in dissent]
    if margin <= 0:
        return Verdict(
            checker=NO_CHECKER,
            verdict=VerdictLabel.unverifiable,
            confidence=0.0,
            evidence={
                "summary": "checkers disagree with equal confidence",
                "dissent": [
                    *listed,
                    {
                        "checker": winner.checker,
                        "verdict": winner.verdict.value,
                        "confidence": winner.confidence,
                    },
                ],
            },
        )
    evidence = {**winner.evidence, "dissent": listed}
    evidence["summary"] = f"{winner.evidence.get('summary', winner.verdict.value)} (other checkers disagree)"
    return Verdict(checker=winner.checker, verdict=winner.verdict, confidence=margin, evidence=evidence)
