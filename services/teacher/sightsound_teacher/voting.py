"""Self-consistency vote over the K answers of one question. Pure.

SightSound-R1 keeps a question only when the teacher's K chains of thought agree. Two policies:

- ``unanimous`` (the paper's): every sample parsed and all gave the same answer. An unparsed sample
  breaks unanimity: a sample that cannot be read is not a vote for the majority.
- ``majority``: the most frequent answer's share of **all** K samples (unparsed ones count in the
  denominator) must be strictly greater than ``threshold``. A tie for first place never reaches
  consensus, whatever the threshold: picking one of the tied answers would be arbitrary.

``answer_index`` is the consensus answer and stays ``None`` when no consensus is reached, so a caller
cannot use an unagreed answer by mistake. ``agreement`` is always the most frequent answer's share of
all samples (0.0 when nothing parsed), reached or not, so it compares across policies and questions;
``traces_used`` is the number of samples drawn (all of ``answers``; adaptive sampling may draw fewer than
K) and ``traces_parsed`` the number that parsed to an answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Literal

from sightsound.contracts.teacher import Consensus

VotePolicy = Literal["unanimous", "majority"]


def vote(answers: Sequence[int | None], policy: VotePolicy = "unanimous", threshold: float = 0.5) -> Consensus:
    """Vote over parsed answers (``None`` = the sample did not parse).

    >>> vote([1, 1, 1]).reached, vote([1, 1, None]).reached
    (True, False)
    >>> c = vote([1, 1, 2, None], "majority", 0.5)
    >>> c.reached, c.agreement
    (False, 0.5)
    >>> vote([1, 1, 2], "majority", 0.5).answer_index
    1
    >>> print(vote([1, 1, 2], "unanimous").answer_index)
    None
    >>> vote([0, 0, 3, 3], "majority", 0.25).reached  # tie for first place
    False
    """
    if policy not in ("unanimous", "majority"):
        raise ValueError(f"unknown vote policy {policy!r}")
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    total = len(answers)
    parsed = [a for a in answers if a is not None]
    if total == 0 or not parsed:
        return Consensus(
            policy=policy, reached=False, answer_index=None, agreement=0.0, traces_used=total, traces_parsed=0
        )

    ranked = Counter(parsed).most_common()
    top_answer, top_count = ranked[0]
    tied = len(ranked) > 1 and ranked[1][1] == top_count
    agreement = top_count / total

    # Unanimity: every sample parsed and agreed. Majority: a strict winner above the threshold.
    reached = top_count == total if policy == "unanimous" else (not tied and agreement > threshold)
    return Consensus(
        policy=policy,
        reached=reached,
        answer_index=top_answer if reached else None,
        agreement=agreement,
        traces_used=total,
        traces_parsed=len(parsed),
    )
