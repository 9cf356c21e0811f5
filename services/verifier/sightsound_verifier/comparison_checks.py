"""Checks on the separate events of a sound: comparisons of two of them ("the first knock is louder
than the last": peak level, median pitch or length of the i-th vs the j-th detected event), patterns
("in groups of three" by inter-onset gaps, alternating levels, regular spacing, speeding up) and gaps
(silence between consecutive events).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from sightsound.contracts.common import ClaimKind
from sightsound.contracts.verifier import Claim, Verdict
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.checkers import oriented, ranges_s, resolve_window, unverifiable
from sightsound_verifier.claim_bounds import holds, split_bound
from sightsound_verifier.claims import asserts_presence
from sightsound_verifier.prose_modifiers import ORDINALS, number
from sightsound_verifier.subjects import events_of, median_hz, peak_db

#: Smallest difference that decides a comparison: level (dB), pitch (semitones), length (ratio).
MIN_DB, MIN_SEMITONES, MIN_LENGTH_RATIO = 1.5, 0.5, 1.15
_RELATIONS = {"louder": 1, "quieter": -1, "softer": -1, "higher": 1, "lower": -1, "longer": 1, "shorter": -1}
_COMPARE = re.compile(
    r"^\s*(?:the\s+)?(\S+?)\s+(?:is\s+)?(louder|quieter|softer|higher|lower|longer|shorter)\s+(?:than\s+)?"
    r"(?:the\s+)?(\S+?)\s*$"
)


def ordinal_index(word: str, n: int) -> int | None:
    """Index of ``first`` / ``last`` / ``2nd`` among ``n`` events, ``None`` when out of range."""
    word = word.replace("second-to-last", "penultimate").replace("second to last", "penultimate")
    value = ORDINALS.get(word)
    if value is None:
        match = re.fullmatch(r"(\d+)(?:st|nd|rd|th)", word)
        value = int(match.group(1)) if match else None
    if value is None:
        return None
    index = value - 1 if value > 0 else n + value
    return index if 0 <= index < n else None


class ComparisonChecker:
    name = "event-comparison"
    kinds = frozenset({ClaimKind.comparison})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        raw = str(claim.attributes.get("compare", "")).strip().lower()
        match = _COMPARE.match(raw)
        if match is None:
            return unverifiable(self.name, f"comparison {raw!r} not understood (e.g. 'first louder than last')")
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        found = events_of(claim, clip, window)
        evidence: dict[str, Any] = {"events_s": ranges_s(found.events), "compare": raw}
        a, b = ordinal_index(match.group(1), found.count), ordinal_index(match.group(3), found.count)
        if found.count < 2 or a is None or b is None or a == b:
            return unverifiable(self.name, f"{found.count} separate event(s) found: cannot compare {raw!r}", **evidence)
        relation = match.group(2)
        first, second = found.events[a], found.events[b]
        if relation in {"louder", "quieter", "softer"}:
            x, y, unit, needed = peak_db(clip, first), peak_db(clip, second), "dB", MIN_DB
        elif relation in {"higher", "lower"}:
            x_hz, y_hz = median_hz(clip, first), median_hz(clip, second)
            if x_hz is None or y_hz is None:
                return unverifiable(self.name, "no clear pitch in one of the two events", **evidence)
            x, y, unit, needed = 12 * np.log2(x_hz), 12 * np.log2(y_hz), "semitones", MIN_SEMITONES
        else:
            x, y = first[1] - first[0], second[1] - second[0]
            unit, needed = "s", 0.0
        if x is None or y is None:
            return unverifiable(self.name, "one of the two events has no level", **evidence)
        difference = float(x - y)
        evidence |= {"difference": round(difference, 3), "unit": unit}
        if unit == "s":
            ratio = max(x, y) / max(min(x, y), 1e-3)
            decided = ratio >= MIN_LENGTH_RATIO
        else:
            decided = abs(difference) >= needed
        summary = f"event {a + 1} vs event {b + 1} of {found.count}: {difference:+.2f} {unit}"
        if not decided:
            return unverifiable(self.name, summary + ": too close to tell", **evidence)
        holds_ = (difference > 0) == (_RELATIONS[relation] > 0)
        return oriented(self.name, holds_, asserts_presence(claim), found.confidence * 0.9, summary, **evidence)


def group_sizes(onsets: list[float]) -> list[int] | None:
    """Sizes of the groups of onsets separated by gaps clearly longer than the gaps inside groups."""
    if len(onsets) < 3:
        return None
    gaps = np.diff(onsets)
    if gaps.max() < 1.8 * gaps.min():
        return [len(onsets)]
    threshold = float(np.sqrt(gaps.min() * gaps.max()))
    sizes, size = [], 1
    for gap in gaps:
        if gap > threshold:
            sizes.append(size)
            size = 1
        else:
            size += 1
    sizes.append(size)
    return sizes


class PatternChecker:
    name = "event-pattern"
    kinds = frozenset({ClaimKind.pattern})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        raw = str(claim.attributes.get("pattern", "")).strip().lower()
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        found = events_of(claim, clip, window)
        onsets = [s for s, _ in found.events]
        evidence: dict[str, Any] = {"events_s": ranges_s(found.events), "pattern": raw}
        if found.count < 3 or not found.countable:
            return unverifiable(self.name, f"{found.count} separate event(s): too few for a pattern", **evidence)
        asserted, confidence = asserts_presence(claim), found.confidence * 0.9
        gaps = np.diff(onsets)
        groups = re.search(r"groups? of (\S+)", raw)
        if groups:
            n = number(groups.group(1))
            sizes = group_sizes(onsets)
            evidence["group_sizes"] = sizes
            if n is None or sizes is None:
                return unverifiable(self.name, f"pattern {raw!r} not understood", **evidence)
            holds_ = len(sizes) >= 2 and all(size == int(n) for size in sizes)
            return oriented(self.name, holds_, asserted, confidence, f"groups of sizes {sizes}", **evidence)
        cv = float(gaps.std() / max(gaps.mean(), 1e-6))
        evidence["onset_gap_cv"] = round(cv, 3)
        if raw in {"regular", "steady", "irregular"}:
            if 0.2 <= cv <= 0.35:
                return unverifiable(
                    self.name, f"spacing variation {cv:.2f}: neither clearly regular nor not", **evidence
                )
            regular = cv < 0.2
            return oriented(
                self.name,
                regular == (raw != "irregular"),
                asserted,
                confidence,
                f"onset gap variation {cv:.2f}",
                **evidence,
            )
        if raw in {"accelerating", "speeding up", "slowing", "slowing down"}:
            change = float(gaps[-1] / max(gaps[0], 1e-6))
            faster = change < 0.8
            slower = change > 1.25
            if not (faster or slower):
                return unverifiable(self.name, f"last gap / first gap {change:.2f}: no clear change", **evidence)
            holds_ = faster if raw.startswith(("acc", "speed")) else slower
            return oriented(self.name, holds_, asserted, confidence, f"last gap / first gap {change:.2f}", **evidence)
        if raw == "alternating":
            levels = [peak_db(clip, event) for event in found.events]
            steps = np.diff([level for level in levels if level is not None])
            if steps.size < 2 or np.min(np.abs(steps)) < MIN_DB:
                return unverifiable(self.name, "event levels too close to tell an alternation", **evidence)
            holds_ = bool(np.all(np.sign(steps[1:]) != np.sign(steps[:-1])))
            return oriented(self.name, holds_, asserted, 0.6, "levels of consecutive events", **evidence)
        return unverifiable(self.name, f"pattern {raw!r} not understood", **evidence)


class GapChecker:
    """Silence between consecutive events (``gap=yes``), none (``gap=no``), or its length (``gap>0.5s``)."""

    name = "event-gaps"
    kinds = frozenset({ClaimKind.gap})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        raw = str(claim.attributes.get("gap", "yes")).strip().lower()
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        found = events_of(claim, clip, window)
        gaps = [b[0] - a[1] for a, b in zip(found.events, found.events[1:], strict=False)]
        evidence: dict[str, Any] = {"events_s": ranges_s(found.events), "gaps_s": [round(g, 3) for g in gaps]}
        if found.note:
            return unverifiable(self.name, f"events cannot be separated: {found.note}", **evidence)
        asserted = asserts_presence(claim)
        if found.count == 0:
            return oriented(self.name, False, asserted, 0.6, "no sound event at all", **evidence)
        has_gaps = found.count >= 2 and min(gaps) >= 0.05
        if raw in {"yes", "no"}:
            summary = f"{found.count} event(s) with {len(gaps)} quiet gap(s) between them"
            return oriented(self.name, has_gaps == (raw == "yes"), asserted, found.confidence, summary, **evidence)
        op, rest = split_bound(raw)
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds?)?", rest)
        if match is None or not gaps:
            return unverifiable(self.name, f"gap {raw!r} not understood or fewer than two events", **evidence)
        bound = float(match.group(1))
        shortest = min(gaps)
        holds_ = holds(shortest, op, bound) if op != "=" else abs(float(np.median(gaps)) - bound) <= 0.25 * bound
        summary = f"shortest gap {shortest:.2f} s, median {float(np.median(gaps)):.2f} s; claimed {raw}"
        return oriented(self.name, holds_, asserted, found.confidence * 0.9, summary, **evidence)
