"""The embedded teacher's answer: which choice the frame tags make likely, judged by SmolLM2's likelihoods.

Left to its grammar-constrained logits, the 135M model picks a letter by position, not by content (it
answered ``D`` for every trace on the synthetic set). So the letter is chosen before generation:

1. The frames' tags are summarised into a few labels (:func:`evidence_labels`: mean tagger probability
   over the frames, most probable first).
2. Each choice is scored by its mean token log-probability after a short plain-text context
   (:func:`scoring_context`: ``The frames show: <labels>. Question: ... The sound is most likely:``),
   minus the same under a content-free context (``The frames show: nothing.``). The difference
   (contextual calibration, Zhao et al. 2021; domain-conditional PMI, Holtzman et al. 2021) is what the
   labels add: without it, a choice the model finds likely after any question (a frequent word, a
   short phrase) wins whatever the frames show. One batched forward pass per context: the context is
   run once and its KV cache is shared by the 4 continuations.
3. The scores become a distribution (:func:`choice_distribution`: softmax at the request's temperature,
   top-p applied; greedy at temperature 0), from which each of the K rows draws its letter with the
   request's seed (:func:`draw_choices`). Clear evidence gives K equal letters; weak evidence spreads
   them, so the self-consistency vote drops the question instead of keeping a positional guess.

This is still a 135M model reading ImageNet labels: a judgement of the tags, often wrong, never a
judgement of the sound.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from sightsound_teacher.tagger import Tag

#: What the frames "show" in the calibration context: nothing.
CONTENT_FREE = "nothing"


# --- pure logic ---------------------------------------------------------------------------------------


def evidence_labels(frame_tags: Sequence[Sequence[Tag]], n: int = 3) -> list[str]:
    """The ``n`` labels with the highest mean probability over all frames (0 where a frame lacks one).

    >>> evidence_labels([[Tag("tabby", 0.6), Tag("lynx", 0.2)], [Tag("tabby", 0.4), Tag("cup", 0.3)]], 2)
    ['tabby', 'cup']
    """
    totals: dict[str, float] = {}
    for row in frame_tags:
        for tag in row:
            totals[tag.label] = totals.get(tag.label, 0.0) + tag.probability
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return [label for label, _ in ranked[:n]]


def scoring_context(labels: Sequence[str], question: str) -> str:
    """The plain-text context each choice continues (``labels`` empty: the content-free context).

    >>> scoring_context(["tabby", "lynx"], "What is heard?")
    'The frames show: tabby, lynx.\\nQuestion: What is heard?\\nThe sound is most likely:'
    """
    shown = ", ".join(labels) if labels else CONTENT_FREE
    return f"The frames show: {shown}.\nQuestion: {question.strip()}\nThe sound is most likely:"


def calibrated_scores(with_labels: Sequence[float], content_free: Sequence[float]) -> list[float]:
    """What the labels add to each choice's mean log-probability.

    >>> calibrated_scores([-1.0, -2.0], [-1.5, -1.0])
    [0.5, -1.0]
    """
    if len(with_labels) != len(content_free):
        raise ValueError("one score per choice in both contexts")
    return [a - b for a, b in zip(with_labels, content_free, strict=True)]


def choice_distribution(scores: Sequence[float], temperature: float, top_p: float = 1.0) -> list[float]:
    """Probabilities of the choices: ``softmax(scores / temperature)``, then the top-p nucleus
    (the most probable choices whose mass reaches ``top_p``, renormalised). ``temperature == 0``: all
    mass on the best score (the first one on ties).

    >>> choice_distribution([0.0, 0.0], 1.0)
    [0.5, 0.5]
    >>> choice_distribution([1.0, 3.0, 3.0], 0.0)
    [0.0, 1.0, 0.0]
    >>> [round(p, 3) for p in choice_distribution([2.0, 1.0, 0.0], 1.0, top_p=0.7)]
    [0.731, 0.269, 0.0]
    """
    if not scores:
        raise ValueError("no choices to score")
    if temperature < 0 or not 0 < top_p <= 1:
        raise ValueError("temperature must be >= 0 and top_p in (0, 1]")
    values = np.asarray(scores, dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError(f"choice scores must be finite, got {list(scores)}")
    if temperature == 0:
        onehot = np.zeros_like(values)
        onehot[int(np.argmax(values))] = 1.0
        return [float(p) for p in onehot]
    logits = values / temperature
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    if top_p < 1:
        order = np.argsort(-probs, kind="stable")
        before = np.cumsum(probs[order]) - probs[order]  # mass of the more probable choices
        keep = np.zeros(len(probs), dtype=bool)
        keep[order[before < top_p]] = True
        probs = np.where(keep, probs, 0.0)
        probs /= probs.sum()
    return [float(p) for p in probs]


def draw_choices(probabilities: Sequence[float], k: int, seed: int | None, salt: str = "") -> list[int]:
    """``k`` independent draws of a choice index. The same ``seed`` and ``salt`` give the same draws;
    ``seed=None`` draws fresh ones.

    ``salt`` names the request (question, choices, labels): callers often send one seed with every
    request (the pipeline's ``teacher_seed``), and with the seed alone every request would draw from the
    same random numbers, so near-uniform distributions would get the same letters everywhere (a
    positional pattern again).

    >>> draw_choices([0.0, 1.0, 0.0, 0.0], 3, seed=0)
    [1, 1, 1]
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.ndim != 1 or (probs < 0).any() or not np.isclose(probs.sum(), 1.0):
        raise ValueError(f"not a probability distribution: {list(probabilities)}")
    salt_key = int.from_bytes(hashlib.sha256(salt.encode()).digest()[:8], "big")
    rng = np.random.default_rng(None if seed is None else [seed, salt_key])
    return [int(i) for i in rng.choice(len(probs), size=k, p=probs / probs.sum())]


# --- the model's likelihoods -------------------------------------------------------------------------


def continuation_logprobs(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, context: str, continuations: Sequence[str]
) -> list[float]:
    """Mean log-probability per token of each continuation after ``context``.

    The context runs once; its KV cache is repeated for one batched pass over the continuations (right
    padded, masked). Continuations are tokenized on their own (give them a leading space). Call under
    the model's lock.
    """
    context_ids = tokenizer(context, add_special_tokens=False, return_tensors="pt")["input_ids"]
    pieces = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in continuations]
    if not pieces or any(len(ids) == 0 for ids in pieces):
        raise ValueError("every continuation needs at least one token")
    rows, width = len(pieces), max(len(ids) for ids in pieces)
    pad = tokenizer.pad_token_id if isinstance(tokenizer.pad_token_id, int) else 0
    batch = torch.full((rows, width), pad, dtype=torch.long)
    mask = torch.zeros((rows, width), dtype=torch.long)
    for i, ids in enumerate(pieces):
        batch[i, : len(ids)] = torch.tensor(ids)
        mask[i, : len(ids)] = 1
    runner: Any = model
    with torch.inference_mode():
        first = runner(input_ids=context_ids, use_cache=True, logits_to_keep=1)  # only the last position
        cache = first.past_key_values
        cache.batch_repeat_interleave(rows)
        attention = torch.cat([torch.ones((rows, context_ids.shape[1]), dtype=torch.long), mask], dim=1)
        rest = runner(input_ids=batch, attention_mask=attention, past_key_values=cache, use_cache=True)
        # Token j of a continuation is predicted by the context's last position (j = 0) or by token j - 1.
        logits = torch.cat([first.logits[:, -1:, :].expand(rows, -1, -1), rest.logits[:, :-1, :]], dim=1)
        token_logprobs = logits.float().log_softmax(dim=-1).gather(-1, batch[..., None])[..., 0]
    sums = (token_logprobs * mask).sum(dim=1)
    return [float(s) / len(ids) for s, ids in zip(sums, pieces, strict=True)]


@dataclass(frozen=True)
class ChoiceScores:
    """The likelihoods behind an answer: the summarised labels, each choice's mean log-probability
    with them and with the content-free context, and the calibrated difference that decides."""

    labels: tuple[str, ...]
    with_labels: tuple[float, ...]
    content_free: tuple[float, ...]
    #: Each choice's agreement with the view's claims (:mod:`sightsound_teacher.view_agreement`); empty: none.
    agreement: tuple[float, ...] = ()
    grounding_weight: float = 0.0

    @property
    def scores(self) -> list[float]:
        calibrated = calibrated_scores(self.with_labels, self.content_free)
        if not self.agreement:
            return calibrated
        return [s + self.grounding_weight * a for s, a in zip(calibrated, self.agreement, strict=True)]


def request_salt(question: str, choices: Sequence[str], labels: Sequence[str]) -> str:
    """What makes one request's draws its own (see :func:`draw_choices`)."""
    return "\n".join([question.strip(), *(c.strip() for c in choices), ", ".join(labels)])


def score_choices(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    labels: Sequence[str],
    question: str,
    choices: Sequence[str],
) -> ChoiceScores:
    """Score ``choices`` given the frame ``labels`` (two batched passes: with the labels, content-free)."""
    continuations = [" " + choice.strip() for choice in choices]
    with_labels = continuation_logprobs(model, tokenizer, scoring_context(labels, question), continuations)
    content_free = continuation_logprobs(model, tokenizer, scoring_context([], question), continuations)
    return ChoiceScores(tuple(labels), tuple(with_labels), tuple(content_free))
