"""The synthetic set: short clips made from real sounds and photos, each with a 4-choice audio question.

``build_synthetic_set(out_dir, train=.., test=..)`` writes one MP4 per item (224x160 at 10 fps, 3-5 s,
AAC audio) and ``manifest.json``; everything is known by construction, so the answers are right.
Categories, in turn (see :mod:`sightsound_devdata.synthetic_recipes` for how each is built): ``sound_source``,
``speech_content``, ``music_or_speech``, ``event_count``, ``loudness``.

Where the material comes from, and its licence:

- Recorded sounds: Debian ``sonic-pi-samples`` (``/usr/share/sonic-pi/samples``; freesound.org
  recordings under CC0 per ``/usr/share/doc/sonic-pi-samples/copyright``: drum loops, guitar, tabla,
  a crow, a choir, hits) and ``sound-theme-freedesktop`` (``/usr/share/sounds/freedesktop/stereo``;
  per ``/usr/share/doc/sound-theme-freedesktop/copyright``: the alarm clock and camera shutter are
  CC-BY-SA-3.0, the bell CC-BY-3.0, the phone ring GPL-2+). See :mod:`sightsound_devdata.sounds`.
- Speech: espeak-ng (GPL-3+) speaking sentences written here, in four voices.
- Photos: scikit-image's bundled ``skimage.data`` images (public domain or CC0; the list with each
  origin is in :mod:`sightsound_devdata.photos`).

A clip made from a CC-BY(-SA) or GPL sound carries that sound's licence: the manifest lists the sounds
of every clip (``sounds``) so a user who shares the clips can attribute them.

Deterministic: the same ``seed``, ``train`` and ``test`` give the same questions, answers, splits and
audio (item ``i`` depends only on ``seed`` and ``i``, so a larger set extends a smaller one). The test
split is stratified: it takes items from each category in turn.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sightsound_devdata.clipgen import AudioSpec, FloatArray, fit_length, make_clip
from sightsound_devdata.photos import PhotoScene
from sightsound_devdata.synthetic_recipes import CATEGORIES, RECIPES, Recipe

SOURCE = "sightsound-synthetic"  # the question source the set is uploaded under
MANIFEST = "manifest.json"
FORMAT = "sightsound-synthetic-set/1"
WIDTH, HEIGHT, FPS = 224, 160, 10
AUDIO_RATE = 44_100
MAX_DURATION_S = 5.0
SplitName = Literal["train", "test"]


@dataclass(frozen=True)
class SyntheticItem:
    path: Path
    question: str
    choices: tuple[str, str, str, str]
    answer_index: int
    category: str
    split: SplitName
    name: str
    duration_s: float
    photo: str
    sounds: tuple[str, ...]
    picture_gives_answer: bool

    @property
    def answer(self) -> str:
        return self.choices[self.answer_index]

    def manifest_entry(self) -> dict[str, Any]:
        entry = asdict(self)
        entry["path"] = self.path.name
        return entry


@dataclass(frozen=True, eq=False)
class _Rendered(AudioSpec):
    """Samples rendered once at :data:`AUDIO_RATE` (so the builder can measure them before muxing)."""

    samples: FloatArray

    def render(self, sample_rate: int) -> FloatArray:
        if sample_rate != AUDIO_RATE:
            raise ValueError(f"rendered at {AUDIO_RATE} Hz, asked for {sample_rate}")
        return self.samples


def item_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index])


def plan_recipes(n: int, seed: int, categories: Sequence[str] = CATEGORIES) -> list[Recipe]:
    """The recipes of items ``0..n-1``: ``categories`` in turn, each drawn from its own generator."""
    unknown = [c for c in categories if c not in RECIPES]
    if unknown or not categories:
        raise ValueError(f"unknown categories {unknown}; choose from {sorted(RECIPES)}")
    return [RECIPES[categories[i % len(categories)]](i // len(categories), item_rng(seed, i)) for i in range(n)]


def assign_splits(categories: list[str], test: int, seed: int) -> list[SplitName]:
    """``test`` items go to the test split, taken from each category in turn (shuffled within it).

    >>> assign_splits(["a", "b", "a", "b"], 2, seed=0).count("test")
    2
    >>> sorted(c for c, s in zip(["a", "b", "a", "b"], assign_splits(["a", "b", "a", "b"], 2, 0)) if s == "test")
    ['a', 'b']
    """
    if not 0 <= test <= len(categories):
        raise ValueError(f"test={test} must be between 0 and the number of items ({len(categories)})")
    rng = np.random.default_rng([seed, 1_000_003])
    by_category: dict[str, list[int]] = {}
    for i, category in enumerate(categories):
        by_category.setdefault(category, []).append(i)
    queues = [list(rng.permutation(ids)) for _, ids in sorted(by_category.items())]
    chosen: set[int] = set()
    while len(chosen) < test:
        for queue in queues:
            if queue and len(chosen) < test:
                chosen.add(int(queue.pop()))
    return ["test" if i in chosen else "train" for i in range(len(categories))]


def arrange_choices(recipe: Recipe, rng: np.random.Generator) -> tuple[tuple[str, str, str, str], int]:
    """The answer and its three distractors in a random order (in the recipe's fixed order where it has
    one), and where the answer landed."""
    options = [recipe.answer, *recipe.distractors]
    if len(set(options)) != 4:
        raise ValueError(f"choices of a {recipe.category} item are not 4 distinct strings: {options}")
    if not recipe.shuffle:
        if sorted(recipe.fixed_choices) != sorted(options):
            raise ValueError(f"the fixed choices of a {recipe.category} item are not its answer and distractors")
        a, b, c, d = recipe.fixed_choices
        return (a, b, c, d), recipe.fixed_choices.index(recipe.answer)
    order = [int(i) for i in rng.permutation(4)]
    a, b, c, d = (options[i] for i in order)
    return (a, b, c, d), order.index(0)


def clip_duration(samples: FloatArray, min_duration_s: float) -> float:
    """The audio's length, at least ``min_duration_s`` and 3 s, rounded up to 0.5 s; at most 5 s."""
    seconds = max(3.0, min_duration_s, len(samples) / AUDIO_RATE)
    duration = math.ceil(seconds * 2 - 1e-6) / 2
    if duration > MAX_DURATION_S:
        raise ValueError(f"audio is {len(samples) / AUDIO_RATE:.2f} s, longer than {MAX_DURATION_S} s")
    return duration


def _render_item(recipe: Recipe, index: int, split: SplitName, seed: int, out_dir: Path) -> SyntheticItem:
    samples = recipe.audio.render(AUDIO_RATE)
    duration = clip_duration(samples, recipe.min_duration_s)
    samples = fit_length(samples, round(duration * AUDIO_RATE))
    name = f"{index:03d}-{recipe.category}"
    path = out_dir / f"{name}.mp4"
    video = PhotoScene(width=WIDTH, height=HEIGHT, fps=FPS, photo=recipe.photo)
    make_clip(path, video=video, audio=_Rendered(samples), duration_s=duration, audio_rate=AUDIO_RATE)
    choices, answer_index = arrange_choices(recipe, np.random.default_rng([seed, index, 7]))
    return SyntheticItem(
        path=path,
        question=recipe.question,
        choices=choices,
        answer_index=answer_index,
        category=recipe.category,
        split=split,
        name=name,
        duration_s=duration,
        photo=recipe.photo,
        sounds=recipe.sounds,
        picture_gives_answer=recipe.picture_gives_answer,
    )


def build_synthetic_set(out_dir: Path, *, train: int, test: int, seed: int = 0,
                        categories: Sequence[str] = CATEGORIES) -> list[SyntheticItem]:
    """Write ``train + test`` clips and ``manifest.json`` into ``out_dir``; return the items in order.
    ``categories``: the categories items take in turn (the five general ones by default; the main job asks
    for ``sound_presence``).

    Needs espeak-ng and the Debian packages ``sonic-pi-samples`` and ``sound-theme-freedesktop``
    (:class:`sightsound_devdata.sounds.MissingSound` names what is missing).
    """
    if train < 0 or test < 0 or train + test == 0:
        raise ValueError("train and test must be >= 0, and at least one item is needed")
    out_dir.mkdir(parents=True, exist_ok=True)
    recipes = plan_recipes(train + test, seed, categories)
    splits = assign_splits([r.category + (f":{r.stratum}" if r.stratum else "") for r in recipes], test, seed)
    items = [_render_item(r, i, s, seed, out_dir) for i, (r, s) in enumerate(zip(recipes, splits, strict=True))]
    manifest = {
        "format": FORMAT,
        "source": SOURCE,
        "seed": seed,
        "train": train,
        "test": test,
        "categories": list(categories),
        "items": [item.manifest_entry() for item in items],
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return items


def load_synthetic_set(out_dir: Path) -> list[SyntheticItem]:
    """The items of a set written by :func:`build_synthetic_set` (paths resolved against ``out_dir``)."""
    manifest = json.loads((out_dir / MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{out_dir / MANIFEST} is not a {FORMAT} manifest")
    items = []
    for entry in manifest["items"]:
        a, b, c, d = entry["choices"]
        items.append(
            SyntheticItem(
                **{**entry, "path": out_dir / entry["path"], "choices": (a, b, c, d), "sounds": tuple(entry["sounds"])}
            )
        )
    return items
