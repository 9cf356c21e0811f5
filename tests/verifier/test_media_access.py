"""The audio-URL rule on its own: local roots, remote roots, traversal, symlinks."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightsound_verifier.media_access import AudioURLRefusedError, allowed_audio_url, remote_root


def test_local_root_accepts_files_inside_and_resolves_them(tmp_path: Path):
    root = tmp_path / "media"
    (root / "audio" / "ab").mkdir(parents=True)
    clip = root / "audio" / "ab" / "abcd.wav"
    clip.write_bytes(b"RIFF")
    assert allowed_audio_url(clip.as_uri(), root) == clip.resolve().as_uri()
    assert allowed_audio_url(f"file://localhost{clip}", root) == clip.resolve().as_uri()
    # ``..`` that stays inside is fine, and the answer is the resolved path
    inside = f"{root.as_uri()}/audio/ab/../ab/abcd.wav"
    assert allowed_audio_url(inside, root) == clip.resolve().as_uri()
    # a root given as a file:// URL or a relative path works the same
    assert allowed_audio_url(clip.as_uri(), root.as_uri()) == clip.resolve().as_uri()


def test_local_root_follows_symlinks_before_deciding(tmp_path: Path):
    root = tmp_path / "media"
    root.mkdir()
    (tmp_path / "secret.wav").write_bytes(b"x")
    (root / "out.wav").symlink_to(tmp_path / "secret.wav")
    with pytest.raises(AudioURLRefusedError):
        allowed_audio_url((root / "out.wav").as_uri(), root)
    # a symlinked root is resolved too: files inside its target are accepted
    target = tmp_path / "real-media"
    target.mkdir()
    (target / "a.wav").write_bytes(b"x")
    alias = tmp_path / "alias"
    alias.symlink_to(target)
    assert allowed_audio_url((alias / "a.wav").as_uri(), alias) == (target / "a.wav").as_uri()


def test_remote_root_accepts_only_its_own_objects():
    root = "s3:/bucket/media"  # what pydantic's Path makes of s3://bucket/media
    assert remote_root(root) == "s3://bucket/media"
    assert allowed_audio_url("s3://bucket/media/audio/ab/x.wav", root) == "s3://bucket/media/audio/ab/x.wav"
    for url in (
        "s3://bucket/media-other/x.wav",
        "s3://bucket/other/x.wav",
        "s3://bucket/media/../secrets/x.wav",
        "s3://bucket/media/a/%2e%2e/b.wav",
        "s3://bucket/media//x.wav",
        "file:///bucket/media/x.wav",
        "http://bucket/media/x.wav",
    ):
        with pytest.raises(AudioURLRefusedError):
            allowed_audio_url(url, root)
