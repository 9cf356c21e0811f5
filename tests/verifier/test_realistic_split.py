"""The realistic claim set's test half is pinned: tuning clips (``dev-extra``) never change it."""

from __future__ import annotations

import hashlib

from sightsound_devdata.realistic_claims import RealClip, build_realistic_set

#: sha256 over the test half's clip names and claims (``repr`` of each claim), seed 0, scale 1.
TEST_CLAIMS_SHA256 = "c4d3993c2d5119f6686f20f7a47d2cacbba33d78dfd66fdd5179394fd41953ce"
#: sha256 over the test half's audio (float32 samples), same build.
TEST_AUDIO_SHA256 = "4c3095850ba9fe5fa7f9960f3a34c808ec4ed4b26cdfa6decf07cc3893ee9027"


def digests(clips: list[RealClip]) -> tuple[str, str]:
    claims, audio = hashlib.sha256(), hashlib.sha256()
    for clip in clips:
        claims.update(clip.name.encode())
        for item in clip.claims:
            claims.update(repr(item).encode())
        audio.update(clip.samples.tobytes())
    return claims.hexdigest(), audio.hexdigest()


def test_the_test_half_is_byte_identical_to_the_pinned_one():
    clips = build_realistic_set(0, 1.0, None, "test")
    assert len(clips) == 47
    assert digests(clips) == (TEST_CLAIMS_SHA256, TEST_AUDIO_SHA256)


def test_dev_extra_clips_are_new_dev_only_clips():
    extra = build_realistic_set(0, 1.0, ("count", "singing"), "dev-extra", 1.0)
    test = build_realistic_set(0, 1.0, ("count", "singing"), "test")
    assert {c.split for c in extra} == {"dev-extra"}
    assert all(c.name.split("-", 1)[1].startswith("x") for c in extra)
    test_audio = {hashlib.sha256(c.samples.tobytes()).hexdigest() for c in test}
    assert not test_audio & {hashlib.sha256(c.samples.tobytes()).hexdigest() for c in extra}
    both = build_realistic_set(0, 1.0, ("singing",), "dev+extra", 1.0)
    assert [c.split for c in both] == ["dev", "dev", "dev-extra", "dev-extra", "dev-extra", "dev-extra"]
