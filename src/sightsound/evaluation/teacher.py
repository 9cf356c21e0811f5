"""Evaluating the vision teacher (pure): which questions it can be asked, and what its prediction is.

The teacher answers from a clip's silent frames and takes exactly 4 choices (its prompt and contract),
so a question with fewer choices, or of a clip without frames (an audio-only benchmark item), is skipped
with the reason. Its prediction is the consensus answer when its self-consistency vote reached one,
else the plurality of its parsed sample answers (a tie is no answer): the paper's teacher baseline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sightsound.contracts.common import CHOICE_LETTERS
from sightsound.contracts.teacher import ReasonResponse

TEACHER_CHOICES = 4
SKIP_CHOICES = "not 4 choices (the teacher takes 4)"
SKIP_NO_FRAMES = "clip has no frames (audio-only)"


def teacher_skip_reason(n_choices: int, frame_urls: Sequence[str] | None) -> str | None:
    """Why the teacher cannot be asked this question, or None when it can.

    >>> teacher_skip_reason(4, ["f0.jpg"]) is None
    True
    >>> teacher_skip_reason(2, ["f0.jpg"])
    'not 4 choices (the teacher takes 4)'
    >>> teacher_skip_reason(4, None)
    'clip has no frames (audio-only)'
    """
    if n_choices != TEACHER_CHOICES:
        return SKIP_CHOICES
    if not frame_urls:
        return SKIP_NO_FRAMES
    return None


def plurality(answers: Sequence[int | None]) -> int | None:
    """The most common parsed answer; None when none parsed or the top is tied.

    >>> plurality([1, 1, 2, None]), plurality([0, 2]), plurality([None, None])
    (1, None, None)
    """
    counts = Counter(a for a in answers if a is not None).most_common(2)
    if not counts or (len(counts) == 2 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0]


def teacher_prediction(response: ReasonResponse) -> int | None:
    """The consensus answer if the vote reached one, else the plurality of the samples' answers."""
    if response.consensus.reached and response.consensus.answer_index is not None:
        return response.consensus.answer_index
    return plurality([s.answer_index for s in response.traces])


def teacher_output(response: ReasonResponse) -> str:
    """What an evaluation item keeps of the teacher's answer: the vote, then the first sample's text.

    >>> from sightsound.contracts.teacher import Consensus, SamplingParams, TeacherTrace
    >>> s = [TeacherTrace(index=i, text=f"<answer>{l}</answer>", answer_index=a, latency_ms=1.0,
    ...                    prompt_tokens=1, completion_tokens=1) for i, (l, a) in enumerate([("B", 1), ("B", 1)])]
    >>> r = ReasonResponse(model="m", backend="b", prompt_version="v", sampling=SamplingParams(), traces=s,
    ...                    consensus=Consensus(policy="majority", reached=True, answer_index=1, agreement=1.0,
    ...                                        traces_used=2))
    >>> print(teacher_output(r))
    votes: B B; consensus: B (majority, agreement 1.00)
    <answer>B</answer>
    """
    letters = " ".join("-" if s.answer_index is None else CHOICE_LETTERS[s.answer_index] for s in response.traces)
    consensus = response.consensus
    decided = "none"
    if consensus.reached and consensus.answer_index is not None:
        decided = CHOICE_LETTERS[consensus.answer_index]
    head = f"votes: {letters}; consensus: {decided} ({consensus.policy}, agreement {consensus.agreement:.2f})"
    first = response.traces[0].text if response.traces else ""
    return f"{head}\n{first}".strip()
