"""The audio-LLM answer format: valid, invalid and mixed answers (pure)."""

from __future__ import annotations

import pytest

from sightsound.contracts.common import VerdictLabel
from sightsound.contracts.verifier import Claim
from sightsound_verifier.llm_answers import claims_prompt, parse_answer, verdicts_from_answer

S, C, U = VerdictLabel.supported, VerdictLabel.contradicted, VerdictLabel.unverifiable


def labels(text: str, n: int) -> list[object]:
    return [a if isinstance(a, str) else (a.label, a.confidence) for a in parse_answer(text, n).answers]


@pytest.mark.parametrize(
    "text",
    [
        "1: supported (0.9)\n2: contradicted (0.75)",
        "  1: Supported (0.9)  \n\n2: CONTRADICTED (0.75)\n",
        "- 1: supported (0.9)\n- 2: contradicted (confidence: 0.75)",
        "Claim 1: **supported** (0.9)\nclaim 2. contradicted (0.75).",
        "2: contradicted (0.75)\n1: supported (0.9)",  # any order
        "1) supported (0.90)\n2) contradicted (.75)".replace("(.75)", "(0.75)"),
    ],
)
def test_valid_answers(text):
    assert labels(text, 2) == [(S, 0.9), (C, 0.75)]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no valid answer line for claim 1"),
        ("The dog barks.", "no valid answer line for claim 1"),
        ("1: supported", "no valid answer line for claim 1"),  # confidence is required
        ("1: maybe (0.5)", "no valid answer line for claim 1"),
        ("1: supported (1.5)", "no valid answer line for claim 1"),
        ("1: supported (high)", "no valid answer line for claim 1"),
        ("3: supported (0.9)", "no valid answer line for claim 1"),
        ("1: supported (0.9)\n1: contradicted (0.8)", "claim 1 answered twice, differently"),
    ],
)
def test_invalid_answers(text, problem):
    assert labels(text, 1) == [problem]


def test_mixed_answer_keeps_valid_lines_and_reports_the_rest():
    parsed = parse_answer("Sure! Here you go:\n1: supported (0.8)\n3: contradicted (0.9)\n1: supported (0.7)", 3)
    assert [a if isinstance(a, str) else a.label for a in parsed.answers] == [
        S,
        "no valid answer line for claim 2",
        C,
    ]
    assert parsed.answers[0].confidence == 0.8  # type: ignore[union-attr]  # the first of agreeing lines
    assert parsed.problems == ["malformed line 'Sure! Here you go:'"]


def test_verdicts_carry_reasons_and_unverifiable_has_no_confidence():
    verdicts = verdicts_from_answer("llm", "1: unverifiable (0.8)\n2: chatter", 2, model="m")
    assert [(v.verdict, v.confidence) for v in verdicts] == [(U, 0.0), (U, 0.0)]
    assert verdicts[1].evidence["summary"].startswith("audio LLM answer malformed: no valid answer line for claim 2")
    assert (
        verdicts[1].evidence["answer"] == "1: unverifiable (0.8)\n2: chatter" and verdicts[1].evidence["model"] == "m"
    )


def test_prompt_numbers_claims_from_one_with_their_kind():
    claims = [Claim(index=7, kind="pitch", text="pitch=440Hz"), Claim(index=9, kind="tempo", text="tempo=fast")]
    prompt = claims_prompt(claims)
    assert "1. [pitch] pitch=440Hz\n2. [tempo] tempo=fast" in prompt
    assert "supported|contradicted|unverifiable" in prompt
