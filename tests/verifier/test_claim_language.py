"""Claim language v2 contract: which lines are valid (pure, no audio)."""

from __future__ import annotations

import random

import pytest

from sightsound.contracts.common import (
    CLAIM_FORMAT_VERSION,
    CLAIM_KEYS,
    CLAIM_KEYS_V1,
    CLAIM_VALUE_SYNTAX,
    INEQUALITY_KEYS,
    ClaimKind,
    claim_line_regex,
    claim_value_error,
    is_valid_claim_line,
)

V1_LINES = [
    "source=person; event=speech; present=yes",
    "source=scene; event=sound; loudness=rising",
    'source=man; event=speech; words="stop; now"',
    "source=dog; event=bark; count=3",
    "event=speech; order=before music; time=0-2s",
    "source=bird; pitch=2000Hz",
    "source=music; tempo=120bpm",
]

V2_LINES = [
    "source=dog; event=bark; count>=3; window=final 2s",
    "source=scene; event=silence; except=dog bark; coverage=most",
    "source=door; event=knock; pattern=groups of 3; gap=yes",
    "source=man; event=speech; overlap=music",
    "source=man; event=speech; between=knock and knock",
    "source=door; event=knock; compare=first louder than last",
    "source=piano; event=note; compare=second higher than first",
    "source=music; instrument=violin, piano",
    "source=person; event=speech; voice=child",
    "source=bird; event=chirp; pitch<200Hz; duration<2s; hedged=yes",
    "source=music; tempo>=120bpm",
    "source=dog; event=bark; count=more than 5",
    "source=engine; event=sound; window=the very start",
    "source=music; coverage=whole; window=0-5s",
    "source=scene; event=silence; gap>0.5s",
]

INVALID_LINES = [
    "source dog",
    "source=dog; present>yes",
    "source=dog; event=bark; count=lots",
    "=dog",
    "source=dog; event=bark; pattern=sometimes",
    "source=door; compare=louder",
    "source=bird; window=next week",
    'source=man; words="unclosed',
    "",
]


def test_version_and_keys():
    assert CLAIM_FORMAT_VERSION == 2
    assert set(CLAIM_KEYS_V1) <= set(CLAIM_KEYS)
    for key in ("window", "coverage", "except", "gap", "overlap", "between", "compare", "pattern"):
        assert key in CLAIM_KEYS
    assert set(INEQUALITY_KEYS) <= set(CLAIM_KEYS)
    assert set(CLAIM_VALUE_SYNTAX) == set(CLAIM_KEYS)


def test_new_kinds_exist():
    for name in ("instrument", "voice", "gap", "overlap", "comparison", "pattern", "coverage", "exception"):
        assert ClaimKind(name).value == name


# --- valid ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("line", V1_LINES)
def test_v1_lines_are_valid_v2(line):
    assert is_valid_claim_line(line)
    assert claim_line_regex().fullmatch(line)


@pytest.mark.parametrize("line", V2_LINES)
def test_v2_lines_are_valid(line):
    assert is_valid_claim_line(line), line


# --- invalid -------------------------------------------------------------------------------------


@pytest.mark.parametrize("line", INVALID_LINES)
def test_invalid_lines(line):
    assert not is_valid_claim_line(line)


def test_inequality_only_on_measurable_keys():
    assert claim_value_error("count", ">", "5") is None
    assert claim_value_error("source", ">", "dog") is not None


# --- mixed / property ----------------------------------------------------------------------------


def test_any_join_of_valid_lines_pairs_is_valid():
    rng = random.Random(7)
    pairs = [p.strip() for line in V1_LINES + V2_LINES for p in line.split(";") if '"' not in p]
    for _ in range(200):
        chosen = rng.sample(pairs, rng.randint(1, 5))
        assert is_valid_claim_line("; ".join(chosen)), chosen


def test_a_bad_pair_spoils_the_line():
    rng = random.Random(3)
    for _ in range(100):
        good = rng.choice(V2_LINES)
        assert not is_valid_claim_line(good + "; present>no")
