"""The realistic claim set's test half is pinned: tuning clips (``dev-extra``) never change it.

The pin moved once, on purpose (both changes apply to every half alike): (1) a label defect in the
generator, found by the previous session on test errors: music loudness labels were the applied gain
only, so a looped guitar chord whose own decay falls under a "steady" gain was labelled steady; labels now
follow the rendered envelope (``measured_trend``), and an ambiguous envelope gets no loudness claim (in the
test half, music-07 and music-11 lost their two loudness claims; no other clip's claims or audio changed);
(2) more speech (12 -> 24) and singing (4 -> 16) clips from new seeds by the same split rule, so the test
half went from 47 to 59 clips; the 47 clips it had are byte-identical apart from those two claim pairs.
"""

from __future__ import annotations

import hashlib

from sightsound_devdata.realistic_claims import RealClip, build_realistic_set

#: sha256 over the test half's clip names and claims (``repr`` of each claim), seed 0, scale 1.
TEST_CLAIMS_SHA256 = "27a7f6e802a784f560b6a34fbb2b3170a8df4a19990bf313453c3f33b1374ea4"
#: sha256 over the test half's audio (float32 samples), same build.
TEST_AUDIO_SHA256 = "8c4e82ec4d12f9cad813e59a5463712d0c70c9f85f020da242368c512d434f59"


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
    assert len(clips) == 59
    assert digests(clips) == (TEST_CLAIMS_SHA256, TEST_AUDIO_SHA256)


def test_dev_extra_clips_are_new_dev_only_clips():
    extra = build_realistic_set(0, 1.0, ("count", "singing"), "dev-extra", 1.0)
    test = build_realistic_set(0, 1.0, ("count", "singing"), "test")
    assert {c.split for c in extra} == {"dev-extra"}
    assert all(c.name.split("-", 1)[1].startswith("x") for c in extra)
    test_audio = {hashlib.sha256(c.samples.tobytes()).hexdigest() for c in test}
    assert not test_audio & {hashlib.sha256(c.samples.tobytes()).hexdigest() for c in extra}
    both = build_realistic_set(0, 1.0, ("singing",), "dev+extra", 1.0)
    assert [c.split for c in both] == ["dev"] * 8 + ["dev-extra"] * 16


def test_music_loudness_labels_follow_the_rendered_envelope():
    from sightsound_devdata.realistic_audio import looped, ramp
    from sightsound_devdata.realistic_claims import measured_trend

    guitar = looped("sonic-pi:guit_em9", 8.0)  # one chord that decays on its own
    assert measured_trend(ramp(guitar, -3.0, -3.0)) == "falling"  # a 'steady' gain does not make it steady
    drums = looped("sonic-pi:loop_amen_full", 8.0)
    assert measured_trend(ramp(drums, -3.0, -3.0)) == "steady"
    assert measured_trend(ramp(drums, -18.0, 0.0)) == "rising"
