"""The media store on S3-compatible object storage, against a real server: moto's server mode on a free loopback
port (``moto[server]``, pinned in the dev extras). Every reader of media works with ``s3://`` URLs: the store
itself, ingest, the teacher's frame loading, the verifier's audio loading, training batches and student serving;
credentials from settings are sent; a missing object, a refused endpoint and a stalled one end in clear errors
within the settings' timeouts."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from sightsound.config import get_settings
from sightsound.media.ingest import ingest_clip
from sightsound.media.remote import MediaUnavailableError
from sightsound.media.store import MediaStore, read_url, sha256_file
from sightsound_ops.stack import free_port
from sightsound_student.audio_input import AudioLimits, waveform_from_url
from sightsound_student_model.batches import load_waveform
from sightsound_teacher.frames import load_frames
from sightsound_verifier.audio import AudioUnavailableError, load_clip

BUCKET = "sightsound-media"
ROOT = f"s3://{BUCKET}/media"
KEY_ID, SECRET = "AKIASIGHTSOUNDTEST", "sightsound-test-secret"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=KEY_ID,
                 aws_secret_access_key=SECRET).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def use_s3(monkeypatch: pytest.MonkeyPatch, endpoint: str, **extra: str) -> None:
    """Point this process's settings at ``endpoint`` (what SIGHTSOUND_* variables do for a service)."""
    for name, value in {"SIGHTSOUND_MEDIA_ROOT": ROOT, "SIGHTSOUND_MEDIA_S3_ENDPOINT_URL": endpoint,
                        "SIGHTSOUND_MEDIA_S3_ACCESS_KEY_ID": KEY_ID, "SIGHTSOUND_MEDIA_S3_SECRET_ACCESS_KEY": SECRET,
                        "SIGHTSOUND_MEDIA_S3_REGION": "us-east-1", "SIGHTSOUND_MEDIA_MAX_RETRIES": "0",
                        "SIGHTSOUND_MEDIA_CONNECT_TIMEOUT_S": "2", "SIGHTSOUND_MEDIA_READ_TIMEOUT_S": "2",
                        **extra}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch, s3_endpoint: str) -> Iterator[MediaStore]:
    use_s3(monkeypatch, s3_endpoint)
    yield MediaStore(get_settings().media_root)
    monkeypatch.undo()
    get_settings.cache_clear()


def test_store_writes_and_reads_objects(s3: MediaStore) -> None:
    url = s3.put_bytes("test/hello.bin", b"hello")
    assert url == f"{ROOT}/test/hello.bin" and s3.exists("test/hello.bin")
    assert read_url(url) == b"hello"
    assert s3.put_bytes("test/hello.bin", b"hello") == url  # content-addressed: written once


def test_ingest_then_every_reader_uses_the_s3_urls(s3: MediaStore, speech_clip: Path) -> None:
    result = ingest_clip(speech_clip, s3, content_hash=sha256_file(speech_clip), frames=4, max_side=112,
                         sample_rate=16_000, max_audio_s=60, max_decoded_frames=2000)
    assert all(url.startswith(f"{ROOT}/") for url in result.frame_urls)
    assert result.audio_url is not None and result.audio_url.startswith(f"{ROOT}/")
    # teacher: frames by URL, checked against the remote media root
    images = load_frames(result.frame_urls, 112, ROOT)
    assert len(images) == 4 and max(images[0].size) <= 112
    # verifier: the 16 kHz audio
    clip = load_clip(result.audio_url, 16_000, 60, 10_000_000)
    assert clip.duration_s > 1.0
    # training batches and student serving
    assert len(load_waveform(result.audio_url)) == len(clip.samples)
    served = waveform_from_url(result.audio_url, ROOT, AudioLimits(max_seconds=60, max_bytes=10_000_000))
    assert len(served) == len(clip.samples)
    # a second ingest finds everything stored and writes nothing new
    again = ingest_clip(speech_clip, s3, content_hash=sha256_file(speech_clip), frames=4, max_side=112,
                        sample_rate=16_000, max_audio_s=60, max_decoded_frames=2000)
    assert again.frame_urls == result.frame_urls and again.audio_url == result.audio_url


def test_a_missing_object_says_which(s3: MediaStore) -> None:
    url = f"{ROOT}/audio/00/missing.wav"
    with pytest.raises(FileNotFoundError, match=r"missing\.wav"):
        read_url(url)
    with pytest.raises(AudioUnavailableError):
        load_clip(url, 16_000, 60, 10_000_000)


class StallingServer:
    """Accepts connections, records what it receives, answers nothing: a stalled endpoint."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            conn.settimeout(5)
            with contextlib.suppress(OSError):
                self.received += conn.recv(65536)

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        self.sock.close()


def test_a_stalled_endpoint_times_out_with_the_url_and_gets_the_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    server = StallingServer()
    try:
        use_s3(monkeypatch, f"http://127.0.0.1:{server.port}")
        start = time.monotonic()
        with pytest.raises(MediaUnavailableError, match=re.escape(f"{ROOT}/audio/ab/x.wav")):
            read_url(f"{ROOT}/audio/ab/x.wav")
        assert time.monotonic() - start < 20  # read timeout 2 s, no retries (s3fs and botocore each try once)
        assert f"Credential={KEY_ID}/".encode() in server.received  # the configured key signed the request
    finally:
        server.close()
        get_settings.cache_clear()


def test_a_refused_endpoint_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    use_s3(monkeypatch, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    start = time.monotonic()
    with pytest.raises(MediaUnavailableError, match="could not read s3://"):
        read_url(f"{ROOT}/audio/ab/y.wav")
    assert time.monotonic() - start < 20
    get_settings.cache_clear()
