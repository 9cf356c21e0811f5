"""Which frame URLs the teacher reads: only what lies under the media root."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from sightsound_teacher.frames import FrameError, MediaRoot, load_frames


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    (folder / "frames").mkdir(parents=True)
    Image.new("RGB", (16, 16), (1, 2, 3)).save(folder / "frames" / "0.jpg")
    return folder


class TestLocalRoot:
    def test_inside(self, root: Path) -> None:
        media = MediaRoot.of(root)
        url = (root / "frames" / "0.jpg").as_uri()
        assert media.locate(url) == (root / "frames" / "0.jpg").resolve()
        assert media.locate(url.replace("file://", "file://localhost")) is not None

    def test_relative_root_is_resolved(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(root.parent)
        media = MediaRoot.of("./media")
        assert media.path == root.resolve() and media.url == root.resolve().as_uri()

    def test_root_given_as_file_url(self, root: Path) -> None:
        assert MediaRoot.of(root.as_uri()).path == root.resolve()

    @pytest.mark.parametrize(
        "suffix",
        [
            "/../outside.jpg",
            "/frames/../../outside.jpg",
            "/%2e%2e/outside.jpg",
            "",  # the root itself is not a frame
            "-sibling/0.jpg",  # a folder whose name only starts like the root's
            "/frames/0.jpg?x=1",
            "/frames/0.jpg#frag",
        ],
    )
    def test_outside(self, root: Path, suffix: str) -> None:
        assert MediaRoot.of(root).locate(root.resolve().as_uri() + suffix) is None

    def test_other_host_and_schemes(self, root: Path) -> None:
        media = MediaRoot.of(root)
        resolved = str(root.resolve())
        assert media.locate(f"file://evil{resolved}/frames/0.jpg") is None
        assert media.locate(f"s3://bucket{resolved}/frames/0.jpg") is None

    def test_symlinks_are_followed(self, root: Path, tmp_path: Path) -> None:
        secret = tmp_path / "secret.jpg"
        secret.write_bytes(b"x")
        (root / "frames" / "link.jpg").symlink_to(secret)
        (root / "frames" / "inner.jpg").symlink_to(root / "frames" / "0.jpg")
        media = MediaRoot.of(root)
        assert media.locate((root / "frames" / "link.jpg").as_uri()) is None
        assert media.locate((root / "frames" / "inner.jpg").as_uri()) == (root / "frames" / "0.jpg").resolve()


class TestObjectStoreRoot:
    def test_prefix(self) -> None:
        media = MediaRoot.of("s3://bucket/media/")
        assert media.url == "s3://bucket/media" and media.path is None
        assert media.locate("s3://bucket/media/frames/ab/0.jpg") == "s3://bucket/media/frames/ab/0.jpg"

    @pytest.mark.parametrize(
        "url",
        [
            "s3://bucket/media-other/0.jpg",
            "s3://bucket/media/../secrets/0.jpg",
            "s3://bucket/media/frames/%2E%2E/%2E%2E/x.jpg",
            "s3://bucket/media//0.jpg",
            "s3://other/media/0.jpg",
            "file:///bucket/media/0.jpg",
        ],
    )
    def test_refused(self, url: str) -> None:
        assert MediaRoot.of("s3://bucket/media").locate(url) is None


def test_load_frames_checks_every_url_before_reading(root: Path, tmp_path: Path) -> None:
    good = (root / "frames" / "0.jpg").as_uri()
    outside = tmp_path / "x.jpg"
    Image.new("RGB", (8, 8)).save(outside)
    assert len(load_frames([good, good], 64, root)) == 2
    with pytest.raises(FrameError) as info:
        load_frames([good, outside.as_uri()], 64, root)
    assert (info.value.index, info.value.kind) == (1, "frame-outside-media-root")
    with pytest.raises(FrameError) as info:
        load_frames(["http://169.254.169.254/x.jpg"], 64, root)
    assert info.value.kind == "frame-unsupported-url"
