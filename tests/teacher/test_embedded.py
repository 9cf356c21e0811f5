"""The embedded teacher with its real shipped weights, offline: a generated clip's frames -> EfficientNet-Lite0
tags -> SmolLM2-135M-Instruct -> K structured chains of thought that parse, each answering the letter drawn
from the choices' likelihoods. Few tokens keep it quick. (Real pretrained weights, but a 135M model reading
ImageNet labels: the tests check that answers follow the labels, not that they are right.)"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from sightsound.answers.tagged import parse_answer
from sightsound.config import Settings
from sightsound.contracts.teacher import ReasonRequest, ReasonResponse
from sightsound.media.ingest import extract_frames
from sightsound_devdata.demo_clip import DEMO_CHOICES, DEMO_QUESTION, demo_clip
from sightsound_devdata.synthetic_recipes import PRESENCE_CHOICES, PRESENCE_QUESTION
from sightsound_teacher.app import create_app
from sightsound_teacher.backends.embedded_backend import EMBEDDED_MODEL_ID, EmbeddedBackend
from sightsound_teacher.backends.hf_generate import seeded_generate_rows
from sightsound_teacher.choice_scoring import choice_distribution, continuation_logprobs, scoring_context
from sightsound_teacher.frames import load_frames
from sightsound_teacher.prompt import PROMPT_VERSION_TAGS_SCORED, describe_frames, likely_answer_line
from sightsound_teacher.sound_sources import view_claims
from tests.conftest import SERVICE_HEADERS

pytestmark = pytest.mark.slow
MakeRequest = Callable[..., ReasonRequest]


@pytest.fixture(scope="module")
def embedded() -> EmbeddedBackend:
    backend = EmbeddedBackend(device="cpu", structured=True)
    backend.load()
    return backend


@pytest.fixture(scope="module")
def clip_frame_urls(media_dir: Path) -> list[str]:
    """Three frames of the README demo clip (a drawn scene, espeak-ng speech), as media-root JPEGs."""
    folder = media_dir / "demo-clip"
    folder.mkdir()
    clip = demo_clip(folder / "demo.mp4")
    urls = []
    for i, frame in enumerate(extract_frames(clip, 3, 224)):
        path = folder / f"{i:03d}.jpg"
        frame.save(path, format="JPEG", quality=90)
        urls.append(path.as_uri())
    return urls


def request_for(urls: list[str], k: int, max_new_tokens: int, seed: int = 0) -> ReasonRequest:
    return ReasonRequest.model_validate(
        {
            "question": DEMO_QUESTION,
            "choices": list(DEMO_CHOICES),
            "frame_urls": urls,
            "k": k,
            "sampling": {"temperature": 0.8, "top_p": 0.95, "max_new_tokens": max_new_tokens, "seed": seed},
        }
    )


def test_k_parseable_samples_from_a_real_clip(
    embedded: EmbeddedBackend, clip_frame_urls: list[str], media_dir: Path
) -> None:
    frames = load_frames(clip_frame_urls, 1024, media_dir)
    tags = embedded.frame_tags(frames)
    assert len(tags) == 3 and all(len(row) == 3 and row[0].endswith("%)") for row in tags)
    max_new = embedded.min_new_tokens() + 12
    request = request_for(clip_frame_urls, k=2, max_new_tokens=max_new)
    prompts = [embedded.build_inputs(request, frames, likely)["input_ids"] for likely in range(4)]
    text = embedded._tokenizer.decode(prompts[2][0])
    assert describe_frames(embedded.tags(frames)) in text and "A. A person speaking" in text
    assert text.count(likely_answer_line(request.choices, 2)) == 1
    generations = embedded.generate(request, frames)
    assert len(generations) == 2
    for g in generations:
        answer, error = parse_answer(g.text, request.choices)
        assert error is None and answer is not None, g.text
        assert g.text.startswith("<think>") and "<claims>\n" in g.text and g.text.endswith("</answer>")
        # Each row's own prompt: the shared part plus the line stating its answer.
        assert g.prompt_tokens == prompts[answer].shape[1] and 0 < g.completion_tokens <= max_new


def test_embedded_teacher_through_the_app(
    embedded: EmbeddedBackend, clip_frame_urls: list[str], media_dir: Path
) -> None:
    settings = Settings(environment="test", media_root=media_dir, teacher_backend="embedded")
    with TestClient(create_app(settings, backend=embedded), headers=SERVICE_HEADERS) as client:
        ready = client.get("/readyz").json()
        body = request_for(clip_frame_urls, k=2, max_new_tokens=embedded.min_new_tokens() + 4).model_dump()
        response = client.post("/v1/reason", json=body)
    assert ready == {"status": "ready", "model": EMBEDDED_MODEL_ID, "backend": "embedded"}
    assert response.status_code == 200, response.text
    result = ReasonResponse.model_validate(response.json())
    assert result.prompt_version == PROMPT_VERSION_TAGS_SCORED and result.consensus.traces_parsed == 2


def test_backend_from_settings_builds_the_embedded_teacher() -> None:
    from sightsound_teacher.backends import backend_from_settings

    teacher = backend_from_settings(Settings(environment="test", teacher_backend="embedded", teacher_embedded_tags=5))
    assert isinstance(teacher, EmbeddedBackend) and teacher.tags_per_frame == 5 and not teacher.ready


# --- the answer is a judgement of the frames ------------------------------------------------------------

SOURCE_CHOICES = ["An alarm clock ringing", "A cat meowing", "A dog barking", "Rain falling"]


def photo(name: str) -> Image.Image:
    """A scikit-image sample photo (``clock``: a wall clock; ``chelsea``: a cat)."""
    from skimage import data

    return Image.fromarray(getattr(data, name)()).convert("RGB")


def source_request(k: int, temperature: float, seed: int | None = 0, max_new_tokens: int = 60) -> ReasonRequest:
    return ReasonRequest.model_validate(
        {
            "question": "What is making the sound in this clip?",
            "choices": SOURCE_CHOICES,
            "frame_urls": ["file:///unused.jpg"],
            "k": k,
            "sampling": {"temperature": temperature, "max_new_tokens": max_new_tokens, "seed": seed},
        }
    )


def test_choice_scores_are_the_models_likelihoods(embedded: EmbeddedBackend) -> None:
    """The batched, cache-sharing scorer gives each continuation's mean log-probability of a plain forward."""
    model, tokenizer = embedded._model, embedded._tokenizer
    context = scoring_context(["tabby", "tiger cat"], "What is making the sound in this clip?")
    continuations = [" " + c for c in SOURCE_CHOICES]
    fast = continuation_logprobs(model, tokenizer, context, continuations)
    context_ids = tokenizer(context, add_special_tokens=False)["input_ids"]
    for text, got in zip(continuations, fast, strict=True):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            logprobs = model(input_ids=torch.tensor([context_ids + ids])).logits.log_softmax(-1)[0]
        expected = sum(float(logprobs[len(context_ids) - 1 + j, t]) for j, t in enumerate(ids)) / len(ids)
        assert got == pytest.approx(expected, abs=1e-4)


def test_rows_with_different_prompt_ends_decode_as_if_alone(embedded: EmbeddedBackend) -> None:
    """One call, a shared prefill, suffixes of different lengths padded in between: each row's greedy
    tokens are those of its own unpadded prompt."""
    model, tokenizer = embedded._model, embedded._tokenizer
    prefix = tokenizer("<|im_start|>user\nName a sound that", add_special_tokens=False)["input_ids"]
    suffixes = [
        tokenizer(" a cat makes.<|im_end|>\n<|im_start|>assistant\n", add_special_tokens=False)["input_ids"],
        tokenizer(" a big old wall clock makes.<|im_end|>\n<|im_start|>assistant\n", add_special_tokens=False)[
            "input_ids"
        ],
    ]
    assert len(suffixes[0]) != len(suffixes[1])
    kwargs = {"max_new_tokens": 8, "do_sample": False, "pad_token_id": 2, "eos_token_id": [2]}
    lock = threading.Lock()
    output, _ = seeded_generate_rows(model, torch.tensor([prefix]), suffixes, kwargs, None, lock, pad_id=2)
    width = len(prefix) + max(len(s) for s in suffixes)
    for row, suffix in zip(output, suffixes, strict=True):
        alone = torch.tensor([prefix + suffix])
        with torch.inference_mode():
            expected = model.generate(input_ids=alone, attention_mask=torch.ones_like(alone), **kwargs)
        assert row[width:].tolist()[:8] == expected[0, alone.shape[1] :].tolist()[:8]


def test_each_sample_answers_its_drawn_letter_and_a_seed_repeats(embedded: EmbeddedBackend) -> None:
    frames = [photo("chelsea")] * 2
    request = source_request(k=4, temperature=1.5, seed=11, max_new_tokens=embedded.min_new_tokens() + 6)
    judgement = embedded.judge(request, embedded.tags(frames))
    assert judgement.scores.labels and len(judgement.letters) == 4
    assert judgement.probabilities == choice_distribution(judgement.scores.scores, 1.5, 1.0)
    first = embedded.generate(request, frames)
    answers = [parse_answer(g.text, SOURCE_CHOICES)[0] for g in first]
    assert answers == judgement.letters  # the grammar forced each row's drawn letter
    again = embedded.generate(request, frames)
    assert [g.text for g in again] == [g.text for g in first]
    other_seeds = {
        tuple(embedded.judge(source_request(4, 1.5, seed=s), embedded.tags(frames)).letters) for s in range(6)
    }
    assert len(other_seeds) > 1  # the seed matters: the letters are drawn, not fixed


def test_different_frames_give_different_answers(embedded: EmbeddedBackend) -> None:
    """Greedy (temperature 0): the cat photo's labels make "A cat meowing" the answer, the clock photo's
    make "An alarm clock ringing"; K greedy samples are one row, repeated."""
    request = source_request(k=2, temperature=0.0, max_new_tokens=embedded.min_new_tokens() + 6)
    answers = {}
    for name in ("chelsea", "clock"):
        frames = [photo(name)] * 2
        generations = embedded.generate(request, frames)
        parsed = {parse_answer(g.text, SOURCE_CHOICES)[0] for g in generations}
        assert len(generations) == 2 and len(parsed) == 1
        answers[name] = parsed.pop()
        think = generations[0].text.split("</think>")[0].lower()
        assert "podium" not in think
    assert answers == {"chelsea": 1, "clock": 0}


def test_claims_are_what_the_view_supports_in_the_block_and_in_the_prose(embedded: EmbeddedBackend) -> None:
    """Issue 10: the embedded teacher claimed only loudness. Now each source in view is claimed (the cat
    photo: a cat meows) in the claims block AND said in the reasoning; SmolLM2 writes the rest."""
    frames = [photo("chelsea")] * 2
    expected = view_claims(embedded.tags(frames))
    assert expected.lines[0] == "source=cat; event=meow; present=yes"
    request = source_request(k=2, temperature=0.8, seed=3, max_new_tokens=160)
    for g in embedded.generate(request, frames):
        think, rest = g.text.split("</think>")
        block = rest.split("<claims>\n")[1].split("</claims>")[0].splitlines()
        assert tuple(block) == expected.lines
        assert think.startswith("<think>" + expected.prose()) and len(think) > len(expected.prose()) + 20, think
        assert parse_answer(g.text, SOURCE_CHOICES)[1] is None


def test_short_budgets_drop_the_sentences_before_the_claims(embedded: EmbeddedBackend) -> None:
    claims = view_claims(embedded.tags([photo("chelsea")]))
    tight = embedded.row_format(claims, 1, embedded.min_new_tokens() + 6)
    roomy = embedded.row_format(claims, 1, 160)
    assert roomy.think_prefix == claims.prose() and roomy.claims == claims.lines
    assert tight.think_prefix == "" and tight.letter == "B"


def test_the_view_decides_whether_the_teacher_expects_sound(embedded: EmbeddedBackend) -> None:
    """Grounded in its view claims, the teacher answers the main job's presence question from the picture:
    a still, empty scene -> silent; a cat -> something sounds. Without the grounding term, SmolLM2's
    likelihoods alone leave both near chance (what the main job's misleading pictures rely on is the former)."""
    request = ReasonRequest(question=PRESENCE_QUESTION, choices=list(PRESENCE_CHOICES), frame_urls=["file:///x"],
                            k=2, sampling={"temperature": 0.7, "seed": 0})
    expected = {"brick": 0, "chelsea": 1}
    ungrounded = EmbeddedBackend(device="cpu", grounded=False)
    ungrounded._tagger, ungrounded._model, ungrounded._tokenizer = (  # share the loaded models
        embedded._tagger, embedded._model, embedded._tokenizer)
    for name, answer in expected.items():
        tags = embedded.tags([photo(name)] * 2)
        judgement = embedded.judge(request, tags)
        assert judgement.probabilities[answer] > 0.8, (name, judgement.probabilities)
        greedy = request.model_copy(update={"sampling": request.sampling.model_copy(update={"temperature": 0.0})})
        assert embedded.judge(greedy, tags).letters == [answer]
        assert judgement.scores.agreement[answer] == 1.0 or (answer == 1 and judgement.scores.agreement[1] == 0.5)
        plain = ungrounded.judge(request, tags)
        assert plain.scores.agreement == () and plain.probabilities[answer] < 0.6, (name, plain.probabilities)
