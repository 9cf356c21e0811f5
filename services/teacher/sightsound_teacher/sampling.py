"""Draw a question's samples from a backend, in one call or in adaptive rounds, parse them and vote.

Without adaptive sampling this is one backend call for K samples. With it (``adaptive=True``), the
samples come in rounds (:func:`~sightsound_teacher.adaptive.next_round_size`) and drawing stops as soon
as :func:`~sightsound_teacher.adaptive.decided` says the vote over all K cannot change. Round ``r`` asks
the backend with the request's seed plus the number of samples drawn before it, so a seeded request
stays reproducible and rounds do not repeat each other. Greedy requests (temperature 0) are one call:
their K samples are identical anyway.

Blocking (it calls the backend): run it off the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from sightsound.answers.tagged import parse_answer
from sightsound.contracts.teacher import Consensus, ReasonRequest, TeacherTrace
from sightsound_teacher.adaptive import next_round_size
from sightsound_teacher.backends.base import Generation, TeacherBackend
from sightsound_teacher.voting import VotePolicy, vote


@dataclass(frozen=True)
class Drawn:
    """What one question cost and gave: the backend calls (one list of generations each), the parsed
    samples in order, and the vote."""

    calls: list[list[Generation]]
    samples: list[TeacherTrace]
    consensus: Consensus


def to_samples(generations: Sequence[Generation], choices: Sequence[str]) -> list[TeacherTrace]:
    """Parse each raw generation into a :class:`TeacherTrace` (pure)."""
    samples = []
    for index, generation in enumerate(generations):
        answer, error = parse_answer(generation.text, choices)
        samples.append(
            TeacherTrace(
                index=index,
                text=generation.text,
                answer_index=answer,
                parse_error=error,
                latency_ms=generation.latency_ms,
                prompt_tokens=generation.prompt_tokens,
                completion_tokens=generation.completion_tokens,
                completion_tokens_estimated=generation.completion_tokens_estimated,
            )
        )
    return samples


def adaptive_applies(request: ReasonRequest, adaptive: bool) -> bool:
    """Greedy requests and K=1 are one call whatever the setting."""
    return adaptive and request.sampling.temperature > 0.0 and request.k > 1


def draw(
    teacher: TeacherBackend,
    request: ReasonRequest,
    frames: Sequence[Image.Image],
    *,
    policy: VotePolicy = "unanimous",
    threshold: float = 0.5,
    adaptive: bool = False,
    first_round: int = 2,
) -> Drawn:
    """Samples for ``request`` (all K, or fewer when adaptive sampling decided early) and their vote."""
    calls: list[list[Generation]] = []
    generations: list[Generation] = []
    answers: list[int | None] = []
    rounds = adaptive_applies(request, adaptive)
    while len(answers) < request.k:
        size = next_round_size(answers, request.k, policy, threshold, first_round) if rounds else request.k
        if size == 0:
            break
        seed = request.sampling.seed
        sampling = request.sampling.model_copy(update={"seed": None if seed is None else seed + len(generations)})
        batch = teacher.generate(request.model_copy(update={"k": size, "sampling": sampling}), frames)
        if len(batch) != size:
            raise RuntimeError(f"backend {teacher.name} returned {len(batch)} samples for k={size}")
        calls.append(batch)
        generations += batch
        answers += [parse_answer(g.text, request.choices)[0] for g in batch]
    return Drawn(calls, to_samples(generations, request.choices), vote(answers, policy, threshold))
