"""Teacher output lengths at the default settings, and the claim kinds the embedded teacher's view gives.

Part 3 of ``perf/teacher.py`` (``--lengths N``; ``--lengths-only`` skips parts 1 and 2):

- lengths: N questions x K samples from the transformers backend's own path (``backend.generate``) on the
  tiny Qwen2.5-VL with RANDOM weights, structured decoding on, ``max_new_tokens`` = the default
  ``teacher_max_new_tokens``. Reported per part (reasoning, claims block): tokens and characters, min /
  median / mean / max, and claim lines per sample. Random weights never want to stop, so the reasoning
  runs to its token budget: this measures the budgets of the format at the defaults (how much room a
  real teacher gets), not what a real teacher writes.
- embedded claims: the scikit-image photos of the sample set through the EfficientNet-Lite0 tagger and
  :func:`sightsound_teacher.sound_sources.view_claims`, each line's claim kind as the verifier's parser
  infers it (what the main job's verifier will judge).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

import torch
from PIL import Image

from sightsound.answers.tagged import parse_answer
from sightsound.config import Settings
from sightsound.contracts.common import CLAIMS_CLOSE, CLAIMS_OPEN, THINK_CLOSE, THINK_OPEN
from sightsound.contracts.teacher import ReasonRequest, SamplingParams
from sightsound_teacher.backends.transformers_backend import TransformersBackend

CHOICES = ["A person speaking", "A dog barking", "Music playing", "Silence"]


def parts(text: str) -> tuple[str, str]:
    """The reasoning and the claims block body of one sample ('' where missing)."""
    think = text.split(THINK_OPEN, 1)[-1].split(THINK_CLOSE, 1)[0] if THINK_CLOSE in text else ""
    claims = text.split(CLAIMS_OPEN + "\n", 1)[-1].split(CLAIMS_CLOSE, 1)[0] if CLAIMS_CLOSE in text else ""
    return think, claims


def summary(values: Sequence[int]) -> dict[str, float]:
    """min / median / mean / max.

    >>> summary([1, 2, 6])
    {'min': 1, 'median': 2, 'mean': 3.0, 'max': 6}
    """
    return {
        "min": min(values),
        "median": statistics.median(values),
        "mean": round(statistics.fmean(values), 1),
        "max": max(values),
    }


def tiny_lengths(questions: int, k: int, max_new_tokens: int | None = None) -> dict[str, Any]:
    """Samples of the tiny RANDOM teacher at ``max_new_tokens`` (default: the settings' default)."""
    max_new = max_new_tokens or Settings().teacher_max_new_tokens
    backend = TransformersBackend("tiny-random", device="cpu", structured=True)
    backend.load()
    tokenizer = backend._require().tokenizer
    colours = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40)]
    rows: dict[str, list[int]] = {k_: [] for k_ in ("think_tokens", "think_chars", "claims_tokens", "claims_chars")}
    lines: list[int] = []
    completion: list[int] = []
    parsed = 0
    for q in range(questions):
        frames = [Image.new("RGB", (448, 448), colours[(q + i) % 4]) for i in range(4)]
        sampling = SamplingParams(temperature=1.0, top_p=1.0, max_new_tokens=max_new, seed=q)
        request = ReasonRequest(
            question="What can be heard in this clip?", choices=CHOICES, frame_urls=["file:///b"] * 4, k=k,
            sampling=sampling,
        )  # fmt: skip
        for g in backend.generate(request, frames):
            think, claims = parts(g.text)
            rows["think_tokens"].append(len(tokenizer.encode(think, add_special_tokens=False)))
            rows["think_chars"].append(len(think))
            rows["claims_tokens"].append(len(tokenizer.encode(claims, add_special_tokens=False)))
            rows["claims_chars"].append(len(claims))
            lines.append(len(claims.splitlines()))
            completion.append(g.completion_tokens)
            parsed += parse_answer(g.text, CHOICES)[1] is None
    return {
        "model": "random-qwen2.5-vl-tiny (RANDOM weights: lengths are the format's budgets, not a teacher's)",
        "max_new_tokens": max_new,
        "samples": len(completion),
        "parsed": parsed,
        "completion_tokens": summary(completion),
        **{name: summary(values) for name, values in rows.items()},
        "claim_lines": summary(lines),
    }


def embedded_claim_kinds() -> dict[str, Any]:
    """Claim lines the embedded teacher writes for each sample-set photo, and their kinds."""
    from sightsound_devdata.photos import PHOTOS, load_photo
    from sightsound_teacher.sound_sources import view_claims
    from sightsound_teacher.tagger import load_tagger
    from sightsound_verifier.claims import extract_claims

    torch.set_num_threads(1)
    tagger = load_tagger()
    per_photo: dict[str, list[str]] = {}
    kinds: Counter[str] = Counter()
    for name in PHOTOS:
        photo = load_photo(name)
        tags = tagger.tag([photo, photo], 3)
        claims = view_claims(tags)
        block = f"{CLAIMS_OPEN}\n" + "".join(line + "\n" for line in claims.lines) + CLAIMS_CLOSE
        extracted = extract_claims(block, 32).claims
        per_photo[name] = [f"{claim.kind}: {claim.text}" for claim in extracted]
        kinds.update(str(claim.kind) for claim in extracted)
    return {"photos": per_photo, "kinds": dict(kinds.most_common()), "distinct_kinds": len(kinds)}
