"""The review console in a real headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright) against the
real API (uvicorn on a free loopback port) and PostgreSQL (this module's database): log in, open the overview and a
clip, play its audio, see a claim highlighted with its evidence on the waveform, overrule a verdict, see it in the
stats and in a new snapshot's counts, and walk the review queue by keyboard (and without JavaScript)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sightsound.config import Settings
from sightsound.db.keys import create_key
from sightsound.db.session import session_scope
from sightsound_devdata.review_rows import seed
from sightsound_ops.stack import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"]  # play() from the test, with no click

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent: install the Debian package "
                       "`chromium` (scripts/system_setup.sh does)"),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="the `playwright` package is not installed")


@pytest.fixture(scope="module")
def keys(settings: Settings, media_root: Path) -> dict[str, str]:
    with session_scope(settings.database_url) as session:
        seed(session, media_root, clips=30, k=3)
        return {"reviewer": create_key(session, "browser reviewer", "read,submit").secret,
                "admin": create_key(session, "browser admin", "admin").secret}


@pytest.fixture(scope="module")
def api(settings: Settings, keys: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGHTSOUND_")}
    env.update({"SIGHTSOUND_ENVIRONMENT": "test", "SIGHTSOUND_DATABASE_URL": settings.database_url,
                "SIGHTSOUND_REDIS_URL": settings.redis_url, "SIGHTSOUND_MEDIA_ROOT": str(settings.media_root),
                "SIGHTSOUND_DATASET_ROOT": str(tmp_path_factory.mktemp("datasets")), "HF_HUB_OFFLINE": "1"})
    log = tmp_path_factory.mktemp("console") / "api.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "sightsound_api", "--port", str(port)], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"the API exited: {log.read_text()[-3000:]}")
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def page(browser: Any, api: str, keys: dict[str, str]) -> Iterator[Any]:
    context = browser.new_context(base_url=api, viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.goto("/ui")
    assert "/ui/login" in tab.url
    tab.fill("input[name=key]", keys["reviewer"])
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{api}/ui")
    yield tab
    context.close()


def stats(api: str, key: str) -> dict[str, Any]:
    response = httpx.get(f"{api}/v1/stats", headers={"Authorization": f"Bearer {key}"})
    response.raise_for_status()
    return dict(response.json())


def test_overview_shows_the_funnel_and_searches(page: Any) -> None:
    assert page.locator("h2", has_text="Acceptance funnel").is_visible()
    assert page.locator("text=Recent failures").is_visible()
    page.select_option("select[name=decision]", "rejected")
    page.select_option("select[name=kind]", "silence")
    page.click("form.search button")
    rows = page.locator("table.results tr")
    assert rows.count() > 1
    assert "rejected" in rows.nth(1).inner_text()


def test_clip_page_plays_audio_and_draws_a_claims_evidence(page: Any) -> None:
    page.locator("table.results tr").nth(1).locator("a").nth(1).click()
    page.wait_for_selector("#audio")
    assert page.locator(".filmstrip img").count() == 6
    assert page.locator(".traces article.trace").count() == 3
    page.wait_for_function("[...document.querySelectorAll('.track img')].every(i => i.naturalWidth > 0)",
                           timeout=15000)  # the waveform and spectrogram PNGs loaded
    page.evaluate("document.getElementById('audio').play()")
    page.wait_for_function("document.getElementById('audio').currentTime > 0.3", timeout=15000)
    left = page.evaluate("parseFloat(document.querySelector('.track .cursor').style.left)")
    assert left > 0, "the shared time cursor did not move while the audio played"
    page.evaluate("document.getElementById('audio').pause()")
    box = page.locator(".track").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)  # seek by clicking the waveform
    page.wait_for_function("Math.abs(document.getElementById('audio').currentTime - 2.25) < 0.2", timeout=10000)
    claim = page.locator("mark.claim.v-contradicted").first
    claim.click()
    claim_id = claim.get_attribute("data-claim")
    assert page.locator(f'.marks.active[data-claim="{claim_id}"] .mark').count() > 0
    card = page.locator(f"#claim-{claim_id}")
    assert "rms-silence" in card.inner_text() and "contradicted" in card.inner_text()
    assert card.locator(".timeline .mark").count() > 0


def test_overruling_a_verdict_shows_in_the_page_the_stats_and_a_snapshot(page: Any, api: str,
                                                                         keys: dict[str, str]) -> None:
    before = stats(api, keys["admin"])["review"]["claims_overruled"]
    card = page.locator(".claim-card.selected").first
    claim_id = card.get_attribute("data-claim")
    card.locator("select[name=verdict]").select_option("supported")
    card.locator("input[name=comment]").fill("the scene is not silent at the end, but the claim says so loosely")
    card.locator("button", has_text="Overrule").click()
    page.wait_for_load_state()
    card = page.locator(f"#claim-{claim_id}")
    assert "set supported" in card.inner_text() and "machine: contradicted" in card.inner_text()
    assert stats(api, keys["admin"])["review"]["claims_overruled"] == before + 1
    page.goto("/ui")
    assert int(page.locator('#review-counts [data-count="claims_overruled"]').inner_text()) == before + 1
    # the reviewer also accepts the trace the machine rejected for that claim: a new snapshot takes it
    page.go_back()
    trace = page.locator(f"#claim-{claim_id}").locator("xpath=ancestor::article[contains(@class, 'trace')]")
    trace.locator("form.decide input[name=comment]").fill("accepted after review")
    trace.locator("form.decide button", has_text="Accept").click()
    page.wait_for_load_state()
    created = httpx.post(f"{api}/v1/datasets", json={"name": f"reviewed-{uuid.uuid4().hex[:6]}",
                                                     "filters": {"reviewed_only": True}},
                         headers={"Authorization": f"Bearer {keys['admin']}"}, timeout=120)
    assert created.status_code == 201, created.text
    review = created.json()["counts"]["review"]
    assert review["claims_overruled"] >= 1 and review["accepted_by_reviewer"] >= 1, review


def test_the_review_queue_walks_by_keyboard(page: Any, api: str, keys: dict[str, str]) -> None:
    page.goto("/ui/review")
    items = page.locator(".qitem")
    assert items.count() == 20
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert "current" in (items.nth(1).get_attribute("class") or "")
    second, third = items.nth(1).get_attribute("data-trace"), items.nth(2).get_attribute("data-trace")
    page.keyboard.press("a")
    page.wait_for_selector(f'#item-{second}.done')
    assert "current" in (items.nth(2).get_attribute("class") or "")
    page.keyboard.press("r")
    page.wait_for_selector(f'#item-{third}.done')
    for trace_id, decision in ((second, "accepted"), (third, "rejected")):
        history = httpx.get(f"{api}/v1/traces/{trace_id}/overrides",
                            headers={"Authorization": f"Bearer {keys['admin']}"}).json()["items"]
        assert history[-1]["decision"] == decision
    page.reload()
    assert page.locator(f"#item-{second}").count() == 0  # reviewed traces leave the queue


def test_the_queue_works_without_javascript(browser: Any, api: str, keys: dict[str, str]) -> None:
    context = browser.new_context(base_url=api, java_script_enabled=False)
    tab = context.new_page()
    tab.goto("/ui/login")
    tab.fill("input[name=key]", keys["reviewer"])
    tab.click("button[type=submit]")
    tab.goto("/ui/review")
    first = tab.locator(".qitem").first.get_attribute("data-trace")
    tab.locator(".qitem").first.locator("button", has_text="Reject").click()
    tab.wait_for_load_state()
    assert "/ui/review" in tab.url and tab.locator(f"#item-{first}").count() == 0
    context.close()
