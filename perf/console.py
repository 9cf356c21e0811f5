"""Benchmark of the review console's pages: server time per page with 10,000 clips in a scratch database.

    python perf/console.py                   # 10,000 clips (K=4), writes perf/results/console-cpu.json
    python perf/console.py --clips 2000 --keep-db

A scratch PostgreSQL database (``sightsound_console_bench_<random>``) is created next to the tests' (the server in
``SIGHTSOUND_TEST_PG_ADMIN_URL``, default ``postgres@127.0.0.1:5432``), migrated with Alembic, filled by
:func:`sightsound_devdata.review_rows.seed` (clips with frames and audio, questions, jobs, K traces with claims,
verdicts with evidence, decisions; 2% failed jobs), plus a training run with a curve and some overrides, and
dropped at the end. The API app runs in-process (Starlette's TestClient, so the time is the server's: routing,
the gate's key lookup, SQL, rendering; no network), behind a real API key. Each page is requested once to warm up,
then ``--repeat`` times; the table shows the median and the slowest. Target: under 300 ms per page.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from sightsound.config import Settings
from sightsound.db.keys import create_key
from sightsound.db.migrate import upgrade
from sightsound.db.models import Claim, Dataset, RunState, TraceDecision, TrainingRun
from sightsound.db.overrides import Reviewer, overrule_claim, overrule_trace
from sightsound.db.session import get_engine, session_scope
from sightsound_api.main import create_app
from sightsound_devdata.review_rows import seed

ADMIN_URL = os.environ.get("SIGHTSOUND_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TARGET_MS = 300.0
OUT = Path(__file__).parent / "results" / "console-cpu.json"


def admin_execute(sql: str) -> None:
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def fill(url: str, media_root: Path, clips: int, k: int) -> dict[str, Any]:
    started = time.perf_counter()
    with session_scope(url) as session:
        clip_ids = seed(session, media_root, clips=clips, k=k)
        dataset = Dataset(name="bench", version=1, filters={}, counts={}, trace_ids=[])
        session.add(dataset)
        session.flush()
        history = [{"stage": "sft", "step": s, "loss": round(3.0 * 0.93 ** s, 4)} for s in range(1, 41)] + [
            {"stage": "grpo", "step": s, "loss": round(0.2 + 0.01 * (s % 3), 4), "reward": round(0.1 + 0.02 * s, 4),
             "kl": round(0.001 * s, 5)} for s in range(1, 21)]
        run = TrainingRun(dataset_id=dataset.id, student_model="embedded", stages=["sft", "grpo"],
                          state=RunState.running, progress={"stage": "grpo", "step": 20, "total_steps": 40,
                                                            "history": history})
        session.add(run)
        reviewer = Reviewer("bench reviewer")
        for claim_id in session.scalars(select(Claim.id).order_by(Claim.id).limit(200)):
            overrule_claim(session, claim_id, "supported", "bench", reviewer)  # type: ignore[arg-type]
        for trace_id in session.scalars(select(TraceDecision.trace_id).order_by(TraceDecision.trace_id).limit(200)):
            overrule_trace(session, trace_id, "rejected", "bench", reviewer)  # type: ignore[arg-type]
        session.flush()
        counts = {name: int(session.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())
                  for name in ("clips", "traces", "claims", "verdicts", "trace_decisions", "review_overrides")}
        run_id = run.id
    analyze = create_engine(url, isolation_level="AUTOCOMMIT")  # fresh planner statistics, as autovacuum would
    with analyze.connect() as conn:
        conn.execute(text("ANALYZE"))
    analyze.dispose()
    return {"clip_id": str(clip_ids[len(clip_ids) // 2]), "run_id": str(run_id), "rows": counts,
            "fill_s": round(time.perf_counter() - started, 1)}


def measure(client: TestClient, path: str, repeat: int) -> dict[str, Any]:
    first = time.perf_counter()
    response = client.get(path)
    first_ms = (time.perf_counter() - first) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - start) * 1000)
    return {"path": path, "first_ms": round(first_ms, 1), "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1), "bytes": len(response.content)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=10_000)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep-db", action="store_true", help="Do not drop the scratch database.")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    name = f"sightsound_console_bench_{uuid.uuid4().hex[:8]}"
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    admin_execute(f'CREATE DATABASE "{name}"')
    try:
        upgrade(url)
        with tempfile.TemporaryDirectory() as media:
            filled = fill(url, Path(media), args.clips, args.k)
            print(f"filled {filled['rows']} in {filled['fill_s']} s", file=sys.stderr)
            settings = Settings(environment="test", database_url=url, media_root=Path(media))
            with session_scope(url) as session:
                key = create_key(session, "bench", "read,submit").secret
            with TestClient(create_app(settings)) as client:
                client.post("/ui/login", data={"key": key, "next": "/ui"})
                started = time.perf_counter()  # the first queue page computes every trace's doubt (once)
                page2 = client.get("/ui/review").text.split('href="/ui/review?cursor=')[1].split('"')[0]
                first_fill_ms = round((time.perf_counter() - started) * 1000, 1)
                search2 = client.get("/ui?decision=accepted").text.split("&cursor=")[1].split("#")[0]
                clip = filled["clip_id"]
                pages = [
                    ("overview", "/ui"),
                    ("overview + search (kind, verdict)", "/ui?kind=silence&verdict=contradicted"),
                    ("overview + search (question words)", "/ui?question=clip+99"),
                    ("search, next page (cursor)", f"/ui?decision=accepted&cursor={search2}"),
                    ("clip page", f"/ui/clips/{clip}"),
                    ("waveform.png", f"/ui/clips/{clip}/waveform.png"),
                    ("spectrogram.png", f"/ui/clips/{clip}/spectrogram.png"),
                    ("review queue", "/ui/review"),
                    ("review queue, page 2 (cursor)", f"/ui/review?cursor={page2}"),
                    ("runs", "/ui/runs"),
                    ("run page (curves)", f"/ui/runs/{filled['run_id']}"),
                    ("evaluations", "/ui/evaluations"),
                    ("/v1/stats (with review counts)", "/v1/stats"),
                ]
                client.headers["X-API-Key"] = key  # for /v1/stats (the console pages use the cookie)
                results = [{"page": label, **measure(client, path, args.repeat)} for label, path in pages]
    finally:
        get_engine(url).dispose()
        if not args.keep_db:
            admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    width = max(len(r["page"]) for r in results)
    print(f"{'page':<{width}}  first ms  median ms  max ms   KiB")
    for r in results:
        flag = "" if r["median_ms"] < TARGET_MS else "  (over target)"
        print(f"{r['page']:<{width}}  {r['first_ms']:8.1f}  {r['median_ms']:9.1f}  {r['max_ms']:6.1f}  "
              f"{r['bytes'] / 1024:5.1f}{flag}")
    report = {"benchmark": "review console, server time per page (in-process, behind an API key)",
              "clips": args.clips, "traces_per_question": args.k, "repeat": args.repeat, "target_ms": TARGET_MS,
              "rows": filled["rows"], "fill_s": filled["fill_s"], "pages": results,
              "queue_first_page_with_all_doubts_ms": first_fill_ms,
              "all_under_target": all(r["median_ms"] < TARGET_MS for r in results),
              "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                          "python": platform.python_version()}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"first review-queue page (computes the doubt of all {filled['rows']['traces']} traces once): "
          f"{first_fill_ms} ms")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
