"""Screenshots of the review console for the README (docs/console-*.png), from generated rows.

    .venv/bin/python scripts/console_screenshots.py

A scratch database (dropped at the end) gets 40 generated clips (sightsound_devdata.review_rows), a training run
with a curve and a few overrides; the API runs under uvicorn on a free port; Debian's headless Chromium (Playwright,
/usr/bin/chromium) logs in with a fresh key and saves the overview, a clip page and the run page.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from sightsound.contracts.common import TraceDecisionLabel, VerdictLabel
from sightsound.db.keys import create_key
from sightsound.db.migrate import upgrade
from sightsound.db.models import Claim, Dataset, RunState, TrainingRun
from sightsound.db.overrides import Reviewer, overrule_claim, overrule_trace
from sightsound.db.session import get_engine, session_scope
from sightsound_devdata.review_rows import seed
from sightsound_ops.stack import free_port

ADMIN_URL = os.environ.get("SIGHTSOUND_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DOCS = Path(__file__).resolve().parents[1] / "docs"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def admin(sql: str) -> None:
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def fill(url: str, media: Path) -> tuple[str, str, str]:
    with session_scope(url) as session:
        clips = seed(session, media, clips=40, k=3, seed_value=3)
        dataset = Dataset(name="demo", version=1, filters={}, counts={}, trace_ids=[])
        session.add(dataset)
        session.flush()
        history = [{"stage": "sft", "step": s, "loss": round(2.4 * 0.92 ** s + 0.3, 4)} for s in range(1, 31)] + [
            {"stage": "grpo", "step": s, "loss": round(0.05 + 0.01 * (s % 4), 4),
             "reward": round(0.2 + 0.03 * s + 0.05 * (s % 3), 4), "kl": round(0.002 * s, 5)} for s in range(1, 16)]
        run = TrainingRun(dataset_id=dataset.id, student_model="embedded", stages=["sft", "grpo"],
                          state=RunState.running, hyperparameters={"sft": {"epochs": 10, "lr": 2e-4}},
                          progress={"stage": "grpo", "step": 15, "total_steps": 20, "loss": 0.08, "reward": 0.72,
                                    "kl": 0.03, "eta_s": 42, "history": history})
        session.add(run)
        reviewer = Reviewer("API key ssk_demo… (reviewer)")
        claim = session.scalars(select(Claim).where(Claim.final_verdict == "contradicted").order_by(Claim.id)).first()
        assert claim is not None
        overrule_claim(session, claim.id, VerdictLabel.supported, "the tone stops at 0.6 s; the end is quiet enough",
                       reviewer)
        overrule_trace(session, claim.trace_id, TraceDecisionLabel.accepted, "accepted after review", reviewer)
        clip_id = str(claim.trace.job.question.clip_id) if clips else ""
        key = create_key(session, "screenshots", "read,submit").secret
        return clip_id, str(run.id), key


def main() -> None:
    name = f"sightsound_console_shots_{uuid.uuid4().hex[:8]}"
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    admin(f'CREATE DATABASE "{name}"')
    proc = None
    try:
        upgrade(url)
        with tempfile.TemporaryDirectory() as media:
            clip_id, run_id, key = fill(url, Path(media))
            port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("SIGHTSOUND_")}
            env.update({"SIGHTSOUND_ENVIRONMENT": "test", "SIGHTSOUND_DATABASE_URL": url,
                        "SIGHTSOUND_MEDIA_ROOT": media})
            proc = subprocess.Popen([sys.executable, "-m", "sightsound_api", "--port", str(port)], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            base = f"http://127.0.0.1:{port}"
            for _ in range(120):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.25)
            DOCS.mkdir(exist_ok=True)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
                page = browser.new_page(base_url=base, viewport={"width": 1440, "height": 1000})
                page.goto("/ui/login")
                page.fill("input[name=key]", key)
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/ui")
                page.goto("/ui?decision=rejected&kind=silence#search")
                page.screenshot(path=str(DOCS / "console-overview.png"), full_page=True)
                page.goto(f"/ui/clips/{clip_id}")
                page.wait_for_function("[...document.querySelectorAll('.track img')].every(i => i.naturalWidth > 0)")
                page.locator("article.trace").last.locator("mark.claim.v-contradicted").first.click()
                page.wait_for_function("document.getElementById('audio').readyState >= 1")
                page.evaluate("document.getElementById('audio').currentTime = 1.2")
                page.evaluate("window.scrollTo(0, 0)")
                page.wait_for_timeout(300)
                page.screenshot(path=str(DOCS / "console-clip.png"), full_page=True,
                                clip={"x": 0, "y": 0, "width": 1440, "height": 1300})
                page.goto(f"/ui/runs/{run_id}")
                page.screenshot(path=str(DOCS / "console-run.png"), full_page=True)
                browser.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
        get_engine(url).dispose()
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"wrote {DOCS}/console-overview.png, console-clip.png, console-run.png")


if __name__ == "__main__":
    main()
