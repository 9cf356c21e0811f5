"""The review console (``/ui``) and the override routes, in process (TestClient) against the real PostgreSQL:
login by API key into a cookie, scopes, every page, overrides stored beside the machine's verdicts, counted in
``/v1/stats`` and honoured (or not) by snapshots."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sightsound.config import Settings
from sightsound.contracts.training import DatasetCreate, DatasetFilters
from sightsound.db.keys import create_key
from sightsound.db.models import Claim, ReviewOverride, Trace, TraceDecision
from sightsound.db.session import session_scope
from sightsound.snapshot.create import create_snapshot
from sightsound_api.console.door import COOKIE
from sightsound_api.main import create_app
from sightsound_devdata.review_rows import seed


@pytest.fixture(scope="module")
def clip_ids(settings: Settings, media_root: Path) -> list[uuid.UUID]:
    with session_scope(settings.database_url) as session:
        return seed(session, media_root, clips=12, k=3)


@pytest.fixture(scope="module")
def app_client(settings: Settings, clip_ids: list[uuid.UUID]) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        yield client


@pytest.fixture(scope="module")
def reviewer_key(settings: Settings) -> str:
    """A reviewer's key: `read` to see, `submit` to overrule."""
    with session_scope(settings.database_url) as session:
        return create_key(session, "reviewer", "read,submit").secret


def login(client: TestClient, key: str) -> None:
    client.cookies.clear()
    response = client.post("/ui/login", data={"key": key, "next": "/ui"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie


def test_without_a_cookie_pages_redirect_to_the_login(app_client: TestClient) -> None:
    app_client.cookies.clear()
    assert app_client.get("/ui/review").status_code == 401  # not a browser: the API's own answer
    response = app_client.get("/ui/review?x=1", headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=%2Fui%2Freview%3Fx%3D1"
    assert "API key" in app_client.get("/ui/login").text
    assert app_client.get("/ui/static/console.js").status_code == 200


def test_a_wrong_key_is_refused_and_the_next_target_stays_on_the_console(app_client: TestClient) -> None:
    response = app_client.post("/ui/login", data={"key": "ssk_nope", "next": "https://evil.example/"})
    assert response.status_code == 401 and "unknown or revoked" in response.text
    assert COOKIE not in app_client.cookies


def test_pages_render_for_a_read_key(app_client: TestClient, api_keys: dict[str, str],
                                     clip_ids: list[uuid.UUID]) -> None:
    login(app_client, api_keys["read"])
    overview = app_client.get("/ui")
    assert overview.status_code == 200 and "Acceptance funnel" in overview.text and "read only" in overview.text
    found = app_client.get("/ui", params={"kind": "silence", "verdict": "contradicted", "decision": "rejected"})
    assert "/ui/clips/" in found.text
    page = app_client.get(f"/ui/clips/{clip_ids[0]}")
    assert page.status_code == 200
    assert 'class="claim v-' in page.text, page.text
    assert "Overrule" not in page.text
    assert "mark window" in page.text
    assert app_client.get(f"/ui/clips/{clip_ids[0]}/waveform.png").content[:4] == b"\x89PNG"
    assert app_client.get(f"/ui/clips/{clip_ids[0]}/spectrogram.png").content[:4] == b"\x89PNG"
    assert app_client.get(f"/ui/clips/{clip_ids[0]}/audio.wav").content[:4] == b"RIFF"
    assert app_client.get(f"/ui/clips/{clip_ids[0]}/frames/0").headers["content-type"] == "image/jpeg"
    for path in ("/ui/review", "/ui/runs", "/ui/evaluations"):
        assert app_client.get(path).status_code == 200, path
    assert app_client.get(f"/ui/clips/{uuid.uuid4()}").status_code == 404


def test_a_read_key_cannot_overrule(app_client: TestClient, api_keys: dict[str, str]) -> None:
    login(app_client, api_keys["read"])
    response = app_client.post("/ui/traces/1/override", data={"decision": "rejected"}, follow_redirects=False)
    assert response.status_code == 403
    api = app_client.post("/v1/traces/1/overrides", json={"decision": "rejected"},
                          headers={"Authorization": f"Bearer {api_keys['read']}"})
    assert api.status_code == 403


def test_a_cross_site_post_is_refused(app_client: TestClient, reviewer_key: str) -> None:
    login(app_client, reviewer_key)
    response = app_client.post("/ui/traces/1/override", data={"decision": "rejected"},
                               headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert response.status_code == 403


def _first(settings: Settings, verdict: str) -> tuple[int, int]:
    with session_scope(settings.database_url) as session:
        claim = session.scalars(select(Claim).where(Claim.final_verdict == verdict).order_by(Claim.id)).first()
        assert claim is not None
        return claim.id, claim.trace_id


def test_overruling_keeps_the_machine_verdict_and_shows_beside_it(app_client: TestClient, settings: Settings,
                                                                   api_keys: dict[str, str], reviewer_key: str) -> None:
    claim_id, trace_id = _first(settings, "contradicted")
    login(app_client, reviewer_key)
    response = app_client.post(f"/ui/claims/{claim_id}/override",
                               data={"verdict": "supported", "comment": "audible", "next": "/ui/review"},
                               follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/ui/review#claim-{claim_id}"
    with session_scope(settings.database_url) as session:
        claim = session.get_one(Claim, claim_id)
        assert claim.final_verdict == "contradicted"  # never overwritten
        row = session.scalars(select(ReviewOverride).where(ReviewOverride.claim_id == claim_id)).one()
        assert (row.verdict, row.machine, row.comment) == ("supported", "contradicted", "audible")
        assert "(reviewer)" in row.reviewer and row.reviewer_key_id is not None
        clip_id = session.get_one(Trace, trace_id).job.question.clip_id
    page = app_client.get(f"/ui/clips/{clip_id}").text
    assert "set <b>supported</b>" in page and "machine: contradicted" in page and "audible" in page
    history = app_client.get(f"/v1/claims/{claim_id}/overrides", headers={"X-API-Key": api_keys["read"]}).json()
    assert [o["verdict"] for o in history["items"]] == ["supported"]


def test_json_override_routes_are_idempotent_and_counted_in_stats(app_client: TestClient, settings: Settings,
                                                                  api_keys: dict[str, str]) -> None:
    headers = {"Authorization": f"Bearer {api_keys['submit']}", "Idempotency-Key": "review-1"}
    with session_scope(settings.database_url) as session:
        trace_id = session.scalars(select(TraceDecision.trace_id).where(TraceDecision.decision == "accepted")
                                   .order_by(TraceDecision.trace_id)).first()
    body = {"decision": "rejected", "comment": "wrong clip"}
    first = app_client.post(f"/v1/traces/{trace_id}/overrides", json=body, headers=headers)
    again = app_client.post(f"/v1/traces/{trace_id}/overrides", json=body, headers=headers)
    assert first.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["machine"] == "accepted"
    assert app_client.post(f"/v1/traces/{trace_id}/overrides", json={"decision": "accepted"},
                           headers=headers).status_code == 409
    assert app_client.post("/v1/claims/999999999/overrides", json={"verdict": "supported"},
                           headers={"X-API-Key": api_keys["submit"]}).status_code == 404
    review = app_client.get("/v1/stats", headers={"X-API-Key": api_keys["read"]}).json()["review"]
    assert review["traces_overruled"] >= 1 and review["decision_changes"].get("accepted->rejected", 0) >= 1
    assert review["claims_overruled"] >= 1
    # the overruled trace left the queue
    login(app_client, api_keys["read"])
    assert f'id="item-{trace_id}"' not in app_client.get("/ui/review").text


def test_snapshots_honour_or_ignore_overrides(settings: Settings, tmp_path: Path) -> None:
    with session_scope(settings.database_url) as session:
        overruled = session.scalars(select(ReviewOverride.trace_id).where(ReviewOverride.decision == "rejected")).all()
        assert overruled
        honour = create_snapshot(session, DatasetCreate(name="honour"), tmp_path)
        ignore = create_snapshot(session, DatasetCreate(name="ignore", filters=DatasetFilters(overrides="ignore")),
                                 tmp_path)
        reviewed = create_snapshot(session, DatasetCreate(name="reviewed", filters=DatasetFilters(
            reviewed_only=True, overrides="ignore")), tmp_path)
    assert not set(overruled) & set(honour.dataset.trace_ids)
    assert set(overruled) <= set(ignore.dataset.trace_ids)
    assert honour.dataset.counts["review"]["rejected_by_reviewer"] == len(set(overruled))
    assert ignore.dataset.counts["review"]["overrides"] == "ignore"
    assert reviewed.dataset.counts["review"]["traces_reviewed"] == len(reviewed.dataset.trace_ids)


def test_the_queue_puts_the_least_sure_first_and_pages_by_cursor(app_client: TestClient,
                                                                 api_keys: dict[str, str]) -> None:
    login(app_client, api_keys["read"])
    first = app_client.get("/ui/review").text
    doubts = [float(d) for d in re.findall(r"doubt <b>([0-9.]+)</b>", first)]
    assert doubts == sorted(doubts, reverse=True) and len(doubts) == 20
    cursor = re.search(r'href="/ui/review\?cursor=([^"&]+)"', first)
    assert cursor is not None
    second = app_client.get(f"/ui/review?cursor={cursor.group(1)}").text
    later = [float(d) for d in re.findall(r"doubt <b>([0-9.]+)</b>", second)]
    assert later and max(later) <= min(doubts)
    items = set(re.findall(r'id="item-(\d+)"', first))
    assert not items & set(re.findall(r'id="item-(\d+)"', second))
