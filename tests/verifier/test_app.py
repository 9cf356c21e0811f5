"""The HTTP service through FastAPI's TestClient: good traces, bad traces, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from sightsound.config import Settings
from sightsound_verifier.app import create_app
from tests.conftest import SERVICE_HEADERS

SPEECH_YES = "source=person; event=speech; present=yes"


def trace(*lines: str, index: int = 0, answer: str = "A") -> dict[str, object]:
    body = "\n".join(lines)
    return {
        "trace_index": index,
        "text": f"<think>...</think>\n<claims>\n{body}\n</claims>\n<answer>{answer}</answer>",
    }


@pytest.fixture(scope="module")
def client(verifier_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(verifier_settings),
                    headers=SERVICE_HEADERS) as test_client:  # ``with``: runs the lifespan (warm-up)
        yield test_client


@pytest.fixture(scope="module")
def strict_client(verifier_settings: Settings) -> Iterator[TestClient]:
    strict = verifier_settings.model_copy(update={"verifier_require_supported": True})
    with TestClient(create_app(strict), headers=SERVICE_HEADERS) as test_client:
        yield test_client


def verify(client: TestClient, audio_url: str | None, *traces: dict[str, object]) -> dict[str, Any]:
    response = client.post("/v1/verify", json={"audio_url": audio_url, "traces": list(traces)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_health_ready_and_openapi(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert "/v1/verify" in client.get("/openapi.json").json()["paths"]


def test_not_ready_before_warm_up(verifier_settings):
    bare = TestClient(create_app(verifier_settings), headers=SERVICE_HEADERS)  # no ``with``: the lifespan never ran
    response = bare.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"


def test_speech_clip_accepts_true_and_rejects_false_traces(client, wav_url, speech_samples):
    body = verify(
        client,
        wav_url(speech_samples),
        trace(SPEECH_YES, "source=scene; event=silence; present=no", index=0),
        trace("source=person; event=speech; present=no", index=1),
    )
    assert body["policy"] == "contradiction>=0.60"
    assert body["audio"]["has_audio"] and body["audio"]["duration_s"] == pytest.approx(3.95, abs=0.3)
    good, bad = body["traces"]
    assert good["decision"] == "accepted" and [c["final"]["verdict"] for c in good["claims"]] == ["supported"] * 2
    assert good["claims"][0]["final"]["checker"] == "silero-vad"
    assert good["claims"][0]["final"]["evidence"]["speech_segments_s"]
    assert bad["decision"] == "rejected"
    assert bad["reasons"][0].startswith(
        "claim 0 'source=person; event=speech; present=no' contradicted (confidence 1.00): speech detected"
    )


def test_tone_clip_rejects_a_speech_claim(client, wav_url, signals):
    body = verify(client, wav_url(signals.tone(2.0)), trace(SPEECH_YES, "source=scene; event=sound; loudness=steady"))
    (result,) = body["traces"]
    assert result["decision"] == "rejected"
    assert [c["final"]["verdict"] for c in result["claims"]] == ["contradicted", "supported"]
    assert "no speech detected" in result["reasons"][0]


def test_no_audio_track_lenient_and_strict(client, strict_client):
    lenient = verify(client, None, trace(SPEECH_YES))
    assert lenient["audio"] == {"has_audio": False, "duration_s": None, "note": "no audio track"}
    (result,) = lenient["traces"]
    # Issue 10: a question about audio on a clip without audio never yields training data, in any mode.
    assert result["decision"] == "rejected"
    assert result["claims"][0]["final"]["verdict"] == "unverifiable"
    assert result["claims"][0]["final"]["evidence"]["summary"] == "no audio track"
    assert result["reasons"] == ["no audio track: the question needs audio"]
    assert (result["claims_verified"], result["claims_unverifiable"]) == (0, 1)
    strict = verify(strict_client, None, trace(SPEECH_YES))
    assert strict["policy"] == "contradiction>=0.60+strict"
    assert strict["traces"][0]["decision"] == "rejected"
    assert "no audio track" in strict["traces"][0]["reasons"][0]


def test_silent_audio(client, wav_url, signals):
    body = verify(
        client,
        wav_url(signals.silence(2.0)),
        trace("source=scene; event=silence; present=yes", index=0),
        trace(SPEECH_YES, index=1),
    )
    silent, talking = body["traces"]
    assert silent["decision"] == "accepted" and silent["claims"][0]["final"]["verdict"] == "supported"
    assert talking["decision"] == "rejected"


def test_audio_shorter_than_a_tenth_of_a_second(client, wav_url, signals):
    body = verify(client, wav_url(signals.tone(0.05)), trace(SPEECH_YES, "event=silence"))
    assert body["audio"]["has_audio"] and body["audio"]["duration_s"] == 0.05
    assert "too short to analyse" in body["audio"]["note"]
    claims = body["traces"][0]["claims"]
    assert all(c["final"]["verdict"] == "unverifiable" for c in claims)
    assert all("too short to analyse" in c["final"]["evidence"]["summary"] for c in claims)
    assert body["traces"][0]["decision"] == "accepted"


def test_claim_block_that_does_not_parse(client, wav_url, signals):
    text = "<claims>\nspeech yes\nsource=person; present=maybe\n</claims><answer>A</answer>"
    body = verify(client, wav_url(signals.tone(1.0)), {"trace_index": 3, "text": text})
    (result,) = body["traces"]
    assert result["trace_index"] == 3 and result["claims"] == []
    assert len(result["parse_errors"]) == 2
    assert result["decision"] == "accepted"
    assert result["reasons"] == [
        "accepted without evidence: the trace makes no sound claim that could be extracted (2 parse error(s))"
    ]


def test_free_text_trace_is_checked(client, wav_url, signals):
    text = "<think>A man is talking to the crowd.</think><answer>B</answer>"
    body = verify(client, wav_url(signals.tone(1.0)), {"trace_index": 0, "text": text})
    (result,) = body["traces"]
    assert result["claims"][0]["claim"]["attributes"]["extracted_from"] == "prose"
    assert result["decision"] == "rejected"


def test_thousand_claims_are_capped(client, wav_url, signals):
    lines = [SPEECH_YES if i % 2 else "source=scene; event=sound" for i in range(1000)]
    body = verify(client, wav_url(signals.tone(1.0)), trace(*lines))
    (result,) = body["traces"]
    assert len(result["claims"]) == 64
    assert "1000 claims found; only the first 64 are checked" in result["parse_errors"][-1]
    assert result["decision"] == "rejected" and len(result["reasons"]) == 32


@pytest.mark.parametrize("what", ["missing", "not-audio"])
def test_unreadable_audio_is_a_422_problem(client, verifier_media_root, what):
    path = verifier_media_root / f"unreadable-{what}.wav"
    if what == "not-audio":
        path.write_text("definitely not a wav")
    response = client.post("/v1/verify", json={"audio_url": path.as_uri(), "traces": [trace(SPEECH_YES)]})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/unreadable-audio") and problem["audio_url"] == path.as_uri()
    assert ("cannot read audio" if what == "missing" else "not a readable audio file") in problem["detail"]


@pytest.mark.parametrize(
    "payload",
    [
        {"audio_url": None, "traces": []},
        {"audio_url": None, "traces": [{"trace_index": -1, "text": "x"}]},
        {"audio_url": None, "traces": [{"trace_index": 0, "text": "x"}], "extra": 1},
        {"traces": "nope"},
    ],
)
def test_invalid_requests_are_422_problems(client, payload):
    response = client.post("/v1/verify", json=payload)
    assert response.status_code == 422
    assert response.json()["type"].endswith("/validation-error")


def test_metrics_count_claims_and_decisions(wav_url, signals, verifier_settings):
    with TestClient(create_app(verifier_settings), headers=SERVICE_HEADERS) as fresh:
        verify(fresh, wav_url(signals.tone(1.0)), trace(SPEECH_YES), trace("event=silence; present=no", index=1))
        text = fresh.get("/metrics").text
    assert 'sightsound_verifier_claims_total{kind="speech_presence",verdict="contradicted"} 1.0' in text
    assert 'sightsound_verifier_claims_total{kind="silence",verdict="supported"} 1.0' in text
    assert 'sightsound_verifier_traces_total{decision="rejected"} 1.0' in text
    assert 'sightsound_verifier_traces_total{decision="accepted"} 1.0' in text
    assert 'sightsound_http_requests_total{method="POST",route="/v1/verify",service="verifier",status="200"}' in text


def test_stereo_float_wav_at_another_rate(client, wav_url, signals):
    left = signals.tone(1.0, amplitude=0.3, rate=48_000)
    body = verify(client, wav_url(np.stack([left, left], axis=1), 48_000), trace("event=silence; present=no"))
    assert body["audio"]["duration_s"] == pytest.approx(1.0, abs=0.01)
    assert body["traces"][0]["claims"][0]["final"]["verdict"] == "supported"


# --- the media store is the only place audio is read from ---------------------------------------


def refused(client: TestClient, url: str) -> dict[str, Any]:
    response = client.post("/v1/verify", json={"audio_url": url, "traces": [trace(SPEECH_YES)]})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["type"].endswith("/audio-url-refused") and problem["audio_url"] == url
    return problem


def test_audio_outside_the_media_root_is_refused(client, tmp_path, signals, verifier_media_root):
    outside = tmp_path / "outside.wav"
    sf.write(outside, signals.tone(1.0), signals.rate)
    assert "inside the media root" in refused(client, outside.as_uri())["detail"]
    # ``..`` out of the root, plain and percent-encoded
    sneaky = f"{verifier_media_root.as_uri()}/../{outside.parent.name}/outside.wav"
    refused(client, sneaky)
    refused(client, sneaky.replace("..", "%2E%2E"))
    # a symlink inside the root that points out of it
    link = verifier_media_root / "link.wav"
    link.unlink(missing_ok=True)
    link.symlink_to(outside)
    refused(client, link.as_uri())
    refused(client, verifier_media_root.as_uri())  # the root itself is no audio file


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/clip.wav",
        "https://example.org/clip.wav",
        "s3://bucket/clip.wav",
        "/etc/passwd",
        "file://otherhost/etc/passwd",
        "file:///etc/passwd",
        "memory://clip.wav",
    ],
)
def test_other_schemes_hosts_and_paths_are_refused(client, url):
    refused(client, url)


def test_a_query_string_is_refused(client, wav_url, signals):
    assert "query string" in refused(client, wav_url(signals.tone(0.5)) + "?x=1")["detail"]
