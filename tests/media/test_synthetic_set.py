"""The synthetic set: real sounds and photos, questions whose answers hold in the audio that was written."""

from __future__ import annotations

import hashlib
import shutil
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from sightsound.media.fingerprint import fingerprint, same_audio
from sightsound.media.ingest import extract_audio, extract_frames
from sightsound.media.probe import MediaLimits, probe_video
from sightsound_devdata.sounds import missing_sound_packages
from sightsound_devdata.synthetic_recipes import CATEGORIES, PRESENCE_CHOICES, SOURCE_PHOTOS, STILL_PHOTOS
from sightsound_devdata.synthetic_set import (
    FPS,
    HEIGHT,
    MANIFEST,
    WIDTH,
    SyntheticItem,
    assign_splits,
    build_synthetic_set,
    load_synthetic_set,
    plan_recipes,
)

pytestmark = pytest.mark.skipif(
    bool(missing_sound_packages()) or shutil.which("espeak-ng") is None,
    reason="needs espeak-ng, sonic-pi-samples and sound-theme-freedesktop (apt-get install them)",
)
LIMITS = MediaLimits(max_duration_s=60, max_width=1920, max_height=1080, max_source_frames=10_000)
RATE = 16_000


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[SyntheticItem], float]:
    start = time.perf_counter()
    items = build_synthetic_set(tmp_path_factory.mktemp("sampleset"), train=28, test=8, seed=0)
    return items, time.perf_counter() - start


@pytest.fixture(scope="module")
def items(built: tuple[list[SyntheticItem], float]) -> list[SyntheticItem]:
    return built[0]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _frame_db(samples: np.ndarray, frame_s: float = 0.01) -> np.ndarray:
    n = int(frame_s * RATE)
    frames = samples[: len(samples) // n * n].reshape(-1, n)
    return np.asarray(20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-9))


def test_the_36_clip_set_builds_within_a_minute(built: tuple[list[SyntheticItem], float]) -> None:
    items, seconds = built
    assert len(items) == 36
    assert seconds < 60, f"{seconds:.1f} s"


def test_splits_have_the_asked_sizes_and_every_category(items: list[SyntheticItem]) -> None:
    splits = Counter(item.split for item in items)
    assert splits == {"train": 28, "test": 8}
    for split in ("train", "test"):
        assert {i.category for i in items if i.split == split} == set(CATEGORIES)
    assert len(CATEGORIES) >= 5


def test_answers_are_in_range_and_choices_distinct(items: list[SyntheticItem]) -> None:
    for item in items:
        assert len(item.choices) == 4 and len(set(item.choices)) == 4, item
        assert 0 <= item.answer_index < 4
        assert item.question.endswith("?")
    # The answer is not always in the same place, or position alone would answer it.
    assert len({item.answer_index for item in items}) == 4


def test_some_questions_cannot_be_answered_from_the_picture(items: list[SyntheticItem]) -> None:
    helped = [i for i in items if i.picture_gives_answer]
    assert helped and len(helped) < len(items) / 2
    clock = [i for i in items if i.answer == "an alarm clock ringing"]
    assert any(i.picture_gives_answer and i.photo == "clock" for i in clock)


def test_every_clip_decodes_with_its_duration_frames_and_audio(items: list[SyntheticItem]) -> None:
    for item in items:
        probe = probe_video(item.path, LIMITS)
        assert 3.0 <= item.duration_s <= 5.0
        assert probe.duration_s == pytest.approx(item.duration_s, abs=0.1), item.name
        assert (probe.width, probe.height) == (WIDTH, HEIGHT)
        assert probe.frame_count == round(item.duration_s * FPS)
        assert probe.has_audio, item.name
        audio = extract_audio(item.path, RATE)
        assert audio is not None and len(audio) / RATE == pytest.approx(item.duration_s, abs=0.1)
        loudest = float(_frame_db(audio).max())
        if item.answer == "near silence":
            assert loudest < -50, (item.name, loudest)
        else:
            assert loudest > -35, (item.name, loudest)


def test_frames_show_a_photo_not_a_flat_colour(items: list[SyntheticItem]) -> None:
    frames = extract_frames(items[1].path, 2, WIDTH)
    pixels = np.asarray(frames[0], dtype=np.float32)
    assert pixels.std() > 10  # a photo has texture; clipgen's plain background would be ~0
    assert np.abs(pixels - np.asarray(frames[1], dtype=np.float32)).mean() > 0.5  # the slow pan moves


def test_event_counts_match_the_onsets_in_the_audio(items: list[SyntheticItem]) -> None:
    counted = [i for i in items if i.category == "event_count"]
    assert len({i.answer for i in counted}) >= 3
    for item in counted:
        audio = extract_audio(item.path, RATE)
        assert audio is not None
        db = _frame_db(audio)
        loud = db > db.max() - 30
        onsets = int(loud[0]) + int(np.sum(loud[1:] & ~loud[:-1]))
        assert onsets == int(item.answer), (item.name, item.sounds, onsets)


def test_loudness_answers_match_the_level_over_time(items: list[SyntheticItem]) -> None:
    for item in (i for i in items if i.category == "loudness"):
        audio = extract_audio(item.path, RATE)
        assert audio is not None
        db = _frame_db(audio, frame_s=0.5)
        first, last = float(db[:2].mean()), float(db[-2:].mean())
        if item.answer == "it gets louder":
            assert last - first > 20, item.name
        elif item.answer == "it gets quieter":
            assert first - last > 20, item.name
        elif item.answer == "it stays about the same":
            assert abs(first - last) < 8, item.name
        else:
            assert db[-1] < -80 < db[0], item.name


def test_the_manifest_reloads_to_the_same_items(items: list[SyntheticItem]) -> None:
    out_dir = items[0].path.parent
    assert (out_dir / MANIFEST).exists()
    assert load_synthetic_set(out_dir) == items


def test_the_same_seed_gives_identical_files_and_another_seed_differs(
    items: list[SyntheticItem], tmp_path: Path
) -> None:
    again = build_synthetic_set(tmp_path / "again", train=28, test=8, seed=0)
    assert [(i.question, i.choices, i.answer_index, i.split) for i in again] == [
        (i.question, i.choices, i.answer_index, i.split) for i in items
    ]
    assert [_digest(i.path) for i in again] == [_digest(i.path) for i in items]
    other = plan_recipes(36, seed=1)
    assert [(r.answer, r.photo, r.sounds) for r in other] != [(i.answer, i.photo, i.sounds) for i in items]


def test_a_larger_set_extends_a_smaller_one() -> None:
    small, large = plan_recipes(10, seed=3), plan_recipes(20, seed=3)
    assert [(r.question, r.answer, r.distractors, r.photo) for r in small] == [
        (r.question, r.answer, r.distractors, r.photo) for r in large[:10]
    ]


def test_split_assignment_is_stratified_and_checked() -> None:
    categories = [CATEGORIES[i % 5] for i in range(20)]
    splits = assign_splits(categories, 5, seed=0)
    assert sorted(c for c, s in zip(categories, splits, strict=True) if s == "test") == sorted(CATEGORIES)
    assert assign_splits(categories, 5, seed=0) == splits
    with pytest.raises(ValueError, match="between 0"):
        assign_splits(categories, 21, seed=0)
    with pytest.raises(ValueError, match="at least one"):
        build_synthetic_set(Path("/nonexistent"), train=0, test=0)


# --- the main job's learnable category ------------------------------------------------------------------


@pytest.fixture(scope="module")
def presence(tmp_path_factory: pytest.TempPathFactory) -> list[SyntheticItem]:
    return build_synthetic_set(tmp_path_factory.mktemp("presence"), train=30, test=40, seed=0,
                               categories=["sound_presence"])


def test_sound_presence_pictures_mislead_in_three_clips_of_ten(presence: list[SyntheticItem]) -> None:
    """4 quiet rooms under still pictures and 3 sounds under pictures of a source (the picture agrees), 3
    sounds under still pictures (it misleads), in the train and the test split alike."""
    for split, n in (("train", 30), ("test", 40)):
        chosen = [i for i in presence if i.split == split]
        assert len(chosen) == n
        quiet = [i for i in chosen if i.answer == PRESENCE_CHOICES[0]]
        misleading = [i for i in chosen if not i.picture_gives_answer]
        assert len(quiet) == 4 * n // 10 and len(misleading) == 3 * n // 10, split
        assert all(i.answer == PRESENCE_CHOICES[1] and i.photo in STILL_PHOTOS for i in misleading)
        assert all(i.photo in STILL_PHOTOS for i in quiet)
        assert {i.photo for i in chosen if i.picture_gives_answer and i not in quiet} <= set(SOURCE_PHOTOS)
    assert all(i.choices == PRESENCE_CHOICES for i in presence)  # one fixed order
    sounds = Counter(s.split(":")[0] for i in presence if not i.picture_gives_answer for s in i.sounds)
    assert sounds["espeak-ng"] >= 5 and len(sounds) >= 3  # off-screen voices among other hidden sounds


def test_sound_presence_audio_is_quiet_or_sounding_as_answered(presence: list[SyntheticItem]) -> None:
    for item in presence[:20]:
        audio = extract_audio(item.path, RATE)
        assert audio is not None
        loudest = float(_frame_db(audio).max())
        if item.answer == PRESENCE_CHOICES[0]:
            assert loudest < -50, (item.name, loudest)
        else:
            assert loudest > -35, (item.name, loudest)


def test_unknown_categories_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown categories"):
        build_synthetic_set(tmp_path, train=2, test=0, categories=["no-such-category"])


def test_no_train_clip_shares_its_audio_with_a_test_clip(presence: list[SyntheticItem]) -> None:
    """Recordings recur across the set, so each clip plays its own part of one (random start, lead and level
    tilt): otherwise the snapshot's leakage guard rightly drops a train clip whose audio a test clip has."""
    signatures = {}
    for item in presence:
        audio = extract_audio(item.path, RATE)
        assert audio is not None
        signatures[item.name] = (item.split, fingerprint(audio, RATE))
    sounding = [name for name, (_, sig) in signatures.items() if sig is not None]
    assert len(sounding) >= 0.5 * len(presence)
    shared = [(a, b) for a in sounding for b in sounding
              if signatures[a][0] == "train" and signatures[b][0] == "test"
              and same_audio(signatures[a][1], signatures[b][1])]
    assert shared == []
