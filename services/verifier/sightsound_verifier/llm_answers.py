"""The audio-LLM checkers' prompt and the strict answer format they must follow (pure: text in, text out).

All claims of a clip go in one prompt, numbered from 1. The model must answer one line per claim:

    1: supported (0.9)
    2: contradicted (0.75)
    3: unverifiable (0.0)

Anything else is malformed. A claim whose line is missing, malformed or given twice with different
answers gets an ``unverifiable`` verdict whose evidence says what was wrong (and quotes the answer),
so a chatty or broken model can never reject a trace by accident.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sightsound.contracts.common import VerdictLabel
from sightsound.contracts.verifier import Claim, Verdict

SYSTEM_PROMPT = (
    "You are an audio fact checker. You hear an audio clip, read the reasoning a model wrote about it without "
    "hearing it, and numbered claims about its sound taken from that reasoning. Judge each claim only by what you "
    "hear. Answer with exactly one line per claim, in order, in the form "
    "`<number>: <supported|contradicted|unverifiable> (<confidence between 0 and 1>)`, and nothing else."
)
MAX_QUOTED_ANSWER = 300
#: At most this many distinct reasoning texts, each cut to this many characters, go into one prompt.
MAX_REASONINGS = 4
MAX_REASONING_CHARS = 4000
CLAIM_KEY_HELP = (
    "Claims (key=value; `present=no` negates the whole claim; `time`/`window` is the part of the clip; "
    "`count>5` etc. are inequalities; `except`, `gap`, `overlap`, `between`, `compare`, `pattern`, `coverage`, "
    "`instrument`, `voice` qualify the sound):"
)

_LINE = re.compile(
    r"^\s*(?:[-*]\s*)?(?:claim\s*)?(\d{1,4})\s*[:.)]\s*\**\s*(supported|contradicted|unverifiable)\s*\**\s*"
    r"\(\s*(?:confidence\s*[:=]?\s*)?(\d+(?:\.\d+)?)\s*\)\s*\.?\s*$",
    re.IGNORECASE,
)


def claims_prompt(claims: Sequence[Claim], reasonings: Sequence[str] = ()) -> str:
    """The user message: the whole reasoning (when given), the claims numbered from 1, the answer format.

    >>> prompt = claims_prompt([Claim(index=4, kind="music", text="source=piano; event=music")], ["A piano plays."])
    >>> prompt.splitlines()[:2]
    ['Reasoning 1 (written without hearing the clip):', 'A piano plays.']
    >>> prompt.splitlines()[3]
    '1. [music] source=piano; event=music'
    """
    lines = [f"{i}. [{c.kind.value}] {c.text}" + _qualifiers(c) for i, c in enumerate(claims, start=1)]
    shown = [r if len(r) <= MAX_REASONING_CHARS else r[: MAX_REASONING_CHARS - 3] + "..." for r in reasonings]
    context = [
        f"Reasoning {i} (written without hearing the clip):\n{r}" for i, r in enumerate(shown[:MAX_REASONINGS], 1)
    ]
    return "\n".join(
        [
            *context,
            CLAIM_KEY_HELP if not context else CLAIM_KEY_HELP.replace("Claims", "Claims taken from the reasoning"),
            *lines,
            "Answer one line per claim: `<number>: <supported|contradicted|unverifiable> (<confidence 0-1>)`.",
        ]
    )


def _qualifiers(claim: Claim) -> str:
    """Facts of a prose claim the sentence does not say in key=value form (its origin, hedging)."""
    notes = []
    if claim.attributes.get("extracted_from") == "prose":
        notes.append("from the prose")
    if claim.attributes.get("hedged") == "yes":
        notes.append("hedged")
    return f" ({', '.join(notes)})" if notes else ""


@dataclass(frozen=True)
class LineAnswer:
    label: VerdictLabel
    confidence: float
    line: str


@dataclass(frozen=True)
class ParsedAnswer:
    """One entry per claim: its answer, or the reason it has none."""

    answers: list[LineAnswer | str]
    problems: list[str]


def parse_answer(text: str, n_claims: int) -> ParsedAnswer:
    """Read a model's answer for ``n_claims`` claims.

    >>> parsed = parse_answer("1: supported (0.9)\\n2: maybe", 3)
    >>> parsed.answers[0].label.value, parsed.answers[1], parsed.answers[2]
    ('supported', 'no valid answer line for claim 2', 'no valid answer line for claim 3')
    >>> parsed.problems
    ["malformed line '2: maybe'"]
    """
    found: dict[int, LineAnswer] = {}
    conflicting: set[int] = set()
    problems: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = _LINE.match(line)
        if match is None:
            problems.append(f"malformed line {_short(line)!r}")
            continue
        number, label, confidence = int(match.group(1)), VerdictLabel(match.group(2).lower()), float(match.group(3))
        if not 1 <= number <= n_claims:
            problems.append(f"answer for claim {number}, but there are {n_claims}")
            continue
        if confidence > 1.0:
            problems.append(f"confidence {confidence:g} outside 0-1 in {_short(line)!r}")
            continue
        previous = found.get(number)
        if previous is not None and previous.label is not label:
            conflicting.add(number)
        found.setdefault(number, LineAnswer(label, confidence, line))
    answers: list[LineAnswer | str] = []
    for number in range(1, n_claims + 1):
        if number in conflicting:
            answers.append(f"claim {number} answered twice, differently")
        elif number in found:
            answers.append(found[number])
        else:
            answers.append(f"no valid answer line for claim {number}")
    return ParsedAnswer(answers, problems)


def verdicts_from_answer(checker: str, text: str, n_claims: int, **context: object) -> list[Verdict]:
    """One verdict per claim; unanswered claims are unverifiable with the reason and the quoted answer."""
    parsed = parse_answer(text, n_claims)
    verdicts = []
    for answer in parsed.answers:
        if isinstance(answer, str):
            summary = f"audio LLM answer malformed: {answer}"
            if parsed.problems:
                summary += f" ({'; '.join(parsed.problems[:3])})"
            verdicts.append(
                Verdict(
                    checker=checker,
                    verdict=VerdictLabel.unverifiable,
                    confidence=0.0,
                    evidence={"summary": summary, "answer": _short(text, MAX_QUOTED_ANSWER), **context},
                )
            )
            continue
        confidence = 0.0 if answer.label is VerdictLabel.unverifiable else answer.confidence
        verdicts.append(
            Verdict(
                checker=checker,
                verdict=answer.label,
                confidence=round(confidence, 3),
                evidence={
                    "summary": f"audio LLM says {answer.label.value} ({answer.confidence:g})",
                    "answer_line": answer.line,
                    **context,
                },
            )
        )
    return verdicts


def failed_verdicts(checker: str, reason: str, n_claims: int, **context: object) -> list[Verdict]:
    """Every claim unverifiable because the model could not be asked (timeout, HTTP error, ...)."""
    return [
        Verdict(
            checker=checker,
            verdict=VerdictLabel.unverifiable,
            confidence=0.0,
            evidence={"summary": f"audio LLM unavailable: {reason}", **context},
        )
        for _ in range(n_claims)
    ]


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
